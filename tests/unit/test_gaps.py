"""GapFinder and GapLabeller on constructed questions, with a deterministic stand-in for
the dense model: each question's vector is the sum of the axes of the needs it mentions
(offline and fast; the real model is exercised in tests/integration/test_admin.py)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from assistant.reporting.gaps import GapFinder
from assistant.reporting.labels import GapLabeller
from index_config.analyzer import CatalanAnalyzer

# Stand-in "meanings": words that point to one axis each.
AXES = {
    "socorrista": 0, "socorristes": 0, "vigilants": 0, "piscina": 0, "bany": 0,
    "cotxe": 1, "cotxes": 1, "vehicles": 1, "grua": 1, "abandonats": 1, "abandonat": 1,
    "paella": 2, "cuina": 2,
}  # fmt: skip
DIM = 8

LIFEGUARDS = [
    "Hi ha algun ajut per contractar socorristes per a la piscina municipal?",
    "Necessitem socorristes per a la piscina d'estiu",
    "Com podem pagar els vigilants de la piscina?",
]
TOWING = [
    "Qui ens pot retirar els cotxes abandonats al carrer?",
    "Hi ha servei de grua per treure vehicles abandonats?",
]


def stand_in_embedding(text: str) -> list[float]:
    vector = np.zeros(DIM)
    for word in text.lower().replace("?", " ").split():
        if word in AXES:
            vector[AXES[word]] += 1.0
    # A small, fixed, per-text wobble, so no two phrasings are identical.
    seed = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
    vector += np.random.default_rng(seed).normal(0, 0.05, DIM)
    return list(vector)


@pytest.fixture
def finder() -> GapFinder:
    return GapFinder(stand_in_embedding, max_distance=0.3)


def test_phrasings_of_one_need_form_one_group_and_needs_stay_apart(finder: GapFinder) -> None:
    groups = finder.group([LIFEGUARDS[0], TOWING[0], LIFEGUARDS[1], TOWING[1], LIFEGUARDS[2]])
    assert [sorted(g.questions) for g in groups] == [sorted(LIFEGUARDS), sorted(TOWING)]
    assert [g.count for g in groups] == [3, 2]


def test_repeats_count_but_are_listed_once(finder: GapFinder) -> None:
    groups = finder.group([TOWING[0], " qui ens pot retirar els  cotxes abandonats al carrer? "])
    assert len(groups) == 1
    assert groups[0].questions == [TOWING[0]]
    assert groups[0].count == 2


def test_the_most_central_question_comes_first() -> None:
    # Two close phrasings and one at the edge: the centre is one of the close pair.
    def embed(text: str) -> list[float]:
        return {"a": [1.0, 0.0], "b": [0.98, 0.2], "c": [0.9, 0.44]}[text]

    (group,) = GapFinder(embed, max_distance=0.2).group(["c", "a", "b"])
    assert group.central == "b"  # closest on average to both others
    assert group.questions[-1] in ("a", "c")


def test_the_threshold_decides_what_merges() -> None:
    questions = LIFEGUARDS + TOWING
    assert len(GapFinder(stand_in_embedding, max_distance=0.0).group(questions)) == 5
    assert len(GapFinder(stand_in_embedding, max_distance=2.0).group(questions)) == 1


def test_no_questions_no_groups(finder: GapFinder) -> None:
    assert finder.group([]) == []
    assert finder.group(["   "]) == []
    (single,) = finder.group(["Com es fa una paella?"])
    assert single.questions == ["Com es fa una paella?"] and single.count == 1


@pytest.fixture(scope="module")
def labeller() -> GapLabeller:
    return GapLabeller(CatalanAnalyzer())


def test_label_names_the_need_not_the_way_of_asking(labeller: GapLabeller) -> None:
    period = [*LIFEGUARDS, *TOWING, "Hi ha ajuts per posar wifi a la plaça?"]
    words = labeller.top_words(LIFEGUARDS, period, terms=2)
    assert set(words) == {"piscina", "socorristes"}
    label = labeller.label(TOWING, period, terms=3)
    assert "abandonats" in label.split(" · ")
    for asking in ("hi", "ha", "algun", "ajut", "podem", "necessitem", "ens", "pot"):
        assert asking not in label.split(" · ")


def test_words_common_to_every_question_rank_below_distinctive_ones(
    labeller: GapLabeller,
) -> None:
    group = ["Ajuts per a la piscina municipal", "Socorristes per a la piscina municipal"]
    period = [*group, "Camins municipals", "Enllumenat municipal", "Biblioteca municipal"]
    assert labeller.top_words(group, period, terms=1) == ["piscina"]


def test_singular_and_plural_count_as_one_word_shown_as_typed_most(
    labeller: GapLabeller,
) -> None:
    group = ["Socorristes per a la piscina", "Contractar socorristes", "Un socorrista per l'estiu"]
    words = labeller.top_words(group, group, terms=1)
    assert words == ["socorristes"]


def test_accents_are_kept_in_the_label(labeller: GapLabeller) -> None:
    group = ["Retirada de vehicles de la via pública", "Vehicles a la via pública"]
    assert "pública" in labeller.top_words(group, group, terms=3)


def test_topic_text_drops_the_words_of_asking(labeller: GapLabeller) -> None:
    text = labeller.topic_text("Hi ha algun ajut per contractar socorristes per a la piscina?")
    assert text == "contractar socorristes piscina"
    # A question made only of asking words is left as it was.
    assert labeller.topic_text("Ens podeu ajudar?") == "Ens podeu ajudar?"
