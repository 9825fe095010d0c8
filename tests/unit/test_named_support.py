"""EvidenceReader on constructed resources and statistics (no index): does a resource
found serve the support a question names ("ajuts per a X")? How much does a word weigh?"""

from __future__ import annotations

from haystack import Document

from assistant.ask.analysis import analyse
from assistant.ask.evidence import EvidenceReader
from assistant.ask.spelling import SpellingMatcher
from assistant.models import Hit
from index_config.analyzer import CatalanAnalyzer
from index_config.term_stats import TermStatistics

ANALYZER = CatalanAnalyzer()
CATALOGUE = [
    "Ajuts per a la gestió ètica de colònies felines: control de colònies de gats",
    "Ajuts per a la millora d'equipaments esportius municipals",
    "Ajuts per al desplegament de xarxes wifi públiques municipals",
    "Dinamització del comerç del carrer major i dels mercats",
    "Arranjament de camins rurals",
    "Pla local de joventut",
]
STATS = TermStatistics(ANALYZER, [Document(content=text) for text in CATALOGUE])


def resource(title: str, actions: list[str] | None = None) -> Hit:
    return Hit(
        id=f"recurs:{title[:5]}#0",
        doc_id="recurs",
        kind="recurs",
        title=title,
        snippet="",
        score=1.0,
        source="cataleg.jsonl",
        codi="22000",
        metadata={"actuacions": actions or [], "etiquetes": []},
    )


def found(question: str, *resources: Hit, share: float = 0.5) -> bool | None:
    reader = EvidenceReader(ANALYZER, named_support_share=share)
    return reader.named_support_found(analyse(question, ANALYZER), list(resources), STATS)


FELINES = resource(
    "Ajuts per a la gestió ètica de colònies felines", ["Control de colònies de gats"]
)
SPORTS = resource("Ajuts per a la millora d'equipaments esportius municipals")


def test_a_named_support_is_found_when_most_of_its_weighted_words_are_there() -> None:
    # "carrer" is missing from the resource, "colònies" and "gats" are not.
    assert found("Hi ha ajuts per controlar les colònies de gats del carrer?", FELINES)


def test_a_named_support_about_something_else_is_a_false_premise() -> None:
    assert found("Hi ha ajuts per arreglar les colònies de gats?", SPORTS) is False
    assert found("Hi ha ajuts per a comprar gats de carrer?", SPORTS) is False


def test_the_share_needed_is_a_setting() -> None:
    question = "Hi ha ajuts per controlar les colònies de gats del carrer?"
    assert found(question, FELINES, share=1.0) is False  # every word would be needed


def test_a_question_that_names_no_support_is_not_judged() -> None:
    assert found("Quin termini hi ha per justificar?", SPORTS) is None


def test_a_word_weighs_as_its_rarest_form_the_index_has() -> None:
    reader = EvidenceReader(ANALYZER)
    forms = sorted(t for t, _ in ANALYZER._terms_of("humit"))
    assert len(forms) == 2  # its stem and a lighter one
    # The index has one of its forms only: the other, never seen, does not make the word
    # weigh as much as a word the index has never seen.
    stats = TermStatistics.from_counts({forms[0]: 5, "municipal": 90}, n=100)
    assert reader.weight("humit", stats) == stats.idf(forms[0])
    assert reader.weight("humit", stats) < reader.weight("soterrani", stats)
    assert reader.weight("municipal", stats) < reader.weight("humit", stats)


def test_a_misspelt_general_word_weighs_as_the_word_it_stands_for() -> None:
    # "mantenimnet" is no word of the index: weighed as unseen, it would outweigh the
    # rare "cementiri", and a resource about maintenance alone would pass as the support
    # the question names. Weighed as "manteniment", most of the weight is the cemetery's.
    catalogue = [f"Manteniment de {thing}" for thing in ("camins", "parcs", "edificis")]
    catalogue += ["Ampliació del cementiri municipal", "Pla local de joventut"]
    stats = TermStatistics(ANALYZER, [Document(content=text) for text in catalogue])
    spelling = SpellingMatcher(ANALYZER, stats.df)
    reader = EvidenceReader(ANALYZER, named_support_share=0.5)
    assert reader.weight("mantenimnet", stats, spelling) == reader.weight("manteniment", stats)
    assert reader.weight("mantenimnet", stats) > reader.weight("cementiri", stats)

    question = analyse("Hi ha ajuts per al mantenimnet del cementiri?", ANALYZER)
    roads = resource("Manteniment de camins")
    assert reader.named_support_found(question, [roads], stats, spelling) is False
    cemetery = resource("Manteniment del cementiri")
    assert reader.named_support_found(question, [cemetery], stats, spelling) is True


def near(question: str, *resources: Hit) -> tuple[str, ...]:
    return EvidenceReader(ANALYZER).named_support_near(
        analyse(question, ANALYZER), list(resources), STATS
    )


def test_what_exists_instead_is_about_the_most_specific_word_named() -> None:
    paths = resource("Arranjament de camins rurals").model_copy(update={"id": "recurs:camins#0"})
    sports = SPORTS.model_copy(update={"id": "recurs:sports#0"})
    # "camins" is rarer than "municipals": the sports resource, which shares only the
    # general word, is not offered instead.
    assert near("Hi ha ajuts per a camins municipals?", sports, paths) == ("recurs:camins#0",)
    assert near("Hi ha ajuts per a comprar gats de carrer?", sports) == ()


def test_nothing_is_near_when_no_support_is_named() -> None:
    assert near("Quin termini hi ha per justificar?", SPORTS) == ()
