"""CatalanLemmas and the analyzer's root terms, on Apertium's real Catalan dictionary
(`make test` installs it, like chromium); skipped where it is not installed."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from index_config.analyzer import CatalanAnalyzer
from index_config.embedders import index_fingerprint
from index_config.lemmas import CatalanLemmas, shared_lemmas
from index_config.settings import AnalyzerSettings, Settings

DICTIONARY = Path(AnalyzerSettings().lemma_dictionary)
pytestmark = pytest.mark.skipif(
    not DICTIONARY.is_file() or shutil.which("lt-proc") is None,
    reason="Apertium's Catalan dictionary is not installed (make translation-deps)",
)


@pytest.fixture(scope="module")
def lemmas() -> Iterator[CatalanLemmas]:
    lemmas = CatalanLemmas(DICTIONARY)
    yield lemmas
    lemmas.close()


@pytest.mark.parametrize(
    ("word", "root"),
    [
        ("revoquen", "revocar"),  # c/qu alternation that Snowball keeps apart
        ("paguin", "pagar"),
        ("justifiquem", "justificar"),
        ("gossos", "gos"),
        ("honoraris", "honorari"),
    ],
)
def test_inflected_forms_give_their_lemma(lemmas: CatalanLemmas, word: str, root: str) -> None:
    assert root in lemmas.roots([word])[word]


@pytest.mark.parametrize(
    ("noun", "verb"),
    [
        ("revocació", "revocar"),
        ("redacció", "redactar"),
        ("execució", "executar"),
        ("distribució", "distribuir"),
        ("pagament", "pagar"),
        ("compliment", "complir"),
        ("sol·licitud", "sol·licitar"),
    ],
)
def test_a_noun_of_action_is_led_back_to_its_verb(
    lemmas: CatalanLemmas, noun: str, verb: str
) -> None:
    assert lemmas.roots([noun])[noun] == (verb,)


def test_a_suffix_without_a_known_verb_keeps_the_noun(lemmas: CatalanLemmas) -> None:
    # "subvencionar" is not made by dropping -ció: no verb "subvenar" exists.
    assert lemmas.roots(["subvenció"])["subvenció"] == ("subvenció",)
    assert lemmas.roots(["emergències"])["emergències"] == ("emergència",)


def test_unknown_words_have_no_root(lemmas: CatalanLemmas) -> None:
    found = lemmas.roots(["subvencio", "xyzzy", "pgi"])
    assert found == {"subvencio": (), "xyzzy": (), "pgi": ()}


def test_several_readings_give_several_roots(lemmas: CatalanLemmas) -> None:
    assert set(lemmas.roots(["obres"])["obres"]) >= {"obra"}
    assert len(lemmas.roots(["obres"])["obres"]) >= 2


def test_words_are_looked_up_once(lemmas: CatalanLemmas) -> None:
    lemmas.roots(["comarcals"])
    lemmas._lt_proc.close()
    lemmas._lt_proc.binary = Path("/nonexistent")  # a second lookup would fail
    try:
        assert lemmas.roots(["comarcals"])["comarcals"] == ("comarcal",)
    finally:
        lemmas._lt_proc.binary = DICTIONARY


def test_a_missing_dictionary_warns_once_and_gives_no_roots(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = CatalanLemmas(tmp_path / "cat.automorf.bin")
    with caplog.at_level(logging.WARNING):
        assert missing.roots(["revoquen"]) == {"revoquen": ()}
        assert missing.roots(["paguin"]) == {"paguin": ()}
    assert sum("not be lemmatised" in r.message for r in caplog.records) == 1


# In the analyzer ------------------------------------------------------------------------
def test_a_question_verb_shares_a_term_with_the_regulations_noun() -> None:
    analyzer = CatalanAnalyzer()
    query = set(analyzer.query_terms("si ens revoquen l'ajut"))
    document = set(analyzer.term_weights("La revocació de l'ajut comporta el reintegrament."))
    assert "@revocar" in query & document
    # Snowball alone does not join them.
    assert not {t for t in query & document if t.startswith("~revo")}


def test_root_terms_weigh_the_lemma_weight_split_among_readings() -> None:
    analyzer = CatalanAnalyzer(AnalyzerSettings(lemma_weight=0.4))
    weights = analyzer.term_weights("revocació obres")
    assert weights["@revocar"] == pytest.approx(0.4)
    roots = [t for t in weights if t.startswith("@obr")]
    assert sum(weights[t] for t in roots) == pytest.approx(0.4)


def test_the_punt_volat_is_kept_for_the_dictionary() -> None:
    analyzer = CatalanAnalyzer()
    for spelling in ("sol·licitud", "sol.licitud"):
        assert "@sollicitar" in analyzer.term_weights(spelling)


def test_a_folded_token_gets_the_roots_its_text_gave() -> None:
    analyzer = CatalanAnalyzer()
    analyzer.term_weights("la redacció del projecte")
    assert ("@redactar", analyzer.settings.lemma_weight) in analyzer._terms_of("redaccio")


def test_lemmas_switched_off_add_no_root_terms() -> None:
    analyzer = CatalanAnalyzer(AnalyzerSettings(lemmas=False))
    assert not [t for t in analyzer.term_weights("revocació dels ajuts") if t.startswith("@")]


def test_an_index_made_without_the_dictionary_is_remade_once_it_is_installed() -> None:
    settings = Settings()
    lemmas = shared_lemmas(Path(settings.analyzer.lemma_dictionary))
    with_lemmas = index_fingerprint(settings)
    lemmas._available = False
    try:
        without = index_fingerprint(settings)
    finally:
        lemmas._available = None
    assert without != with_lemmas
    assert index_fingerprint(settings) == with_lemmas


def test_a_word_of_the_dictionary_is_not_respelt_as_a_lexicon_word() -> None:
    """The word "posat" is one edit from the lexicon's "posar", but Catalan's dictionary knows it:
    it is what the official wrote, not a typo; "possar" it does not know."""
    from assistant.ask.spelling import SpellingMatcher

    analyzer = CatalanAnalyzer()
    spelling = SpellingMatcher(analyzer, {"ajut": 1})
    analyzer.query_terms("ja ho hem posat, com ho hem de possar")
    assert analyzer.in_dictionary("posat") and not analyzer.in_dictionary("possar")
    vocabulary = frozenset({"posar"})
    assert spelling.respell("ja ho hem posat", vocabulary) == "ja ho hem posat"
    assert spelling.respell("com ho hem de possar", vocabulary) == "com ho hem de posar"


def test_a_short_stem_makes_a_word_known_only_when_the_dictionary_knows_it() -> None:
    """A typo ("ineres" for "interès") and a real word ("dinar") share only a two- or
    three-letter Snowball stem with the index ("inici", "diners"): the typo gets the near
    spelling "inter", the real word is known and never read as "diner"."""
    from assistant.ask.spelling import SpellingMatcher

    analyzer = CatalanAnalyzer()
    df: dict[str, int] = {}
    for text in ("Interès de demora", "Inici de les obres", "Diners per a camins"):
        for term in analyzer.term_weights(text):
            df[term] = df.get(term, 0) + 1
    spelling = SpellingMatcher(analyzer, df)
    analyzer.query_terms("quin ineres ens aplicaran si anem a dinar")
    assert not spelling.known("ineres") and spelling.corrections("ineres") == ("inter",)
    assert spelling.known("dinar") and spelling.corrections("dinar") == ()
    assert spelling.known("interes") and spelling.known("inici")


@pytest.mark.parametrize(
    ("question", "asking", "topic"),
    [
        # Forms of the verbs of asking that no list of forms has: any inflection is one.
        ("Què farem amb l'enllumenat que tindran els carrers?", {"farem", "tindran"},
         {"enllumenat", "carrers"}),
        ("L'any que ve volem canviar la caldera", {"ve"}, {"any", "caldera"}),
        ("Ens diuen que hagin aprovat el pressupost", {"diuen", "hagin"},
         {"aprovat", "pressupost"}),
        # A form that is also a noun keeps its topic: "estat" (the State, a state).
        ("Ha estat l'estat qui ho ha pagat?", set(), {"estat"}),
        # A verb that names a procedure of the plan stays: it is what is asked about.
        ("Quan hem de justificar la despesa?", set(), {"justificar", "despesa"}),
    ],
)  # fmt: skip
def test_every_form_of_a_verb_of_asking_is_a_filler(
    question: str, asking: set[str], topic: set[str]
) -> None:
    from assistant.ask.analysis import analyse

    analysis = analyse(question, CatalanAnalyzer(AnalyzerSettings()))
    assert not asking & set(analysis.informative)
    assert topic <= set(analysis.informative)


def test_a_dictionary_word_the_index_lacks_takes_words_of_like_meaning() -> None:
    from assistant.ask.spelling import SpellingMatcher
    from index_config.thesaurus import CatalanThesaurus, parse

    analyzer = CatalanAnalyzer(AnalyzerSettings())
    analyzer.query_terms("Si l'obra s'endarrereix")  # the question is read first
    df = {term: 3 for term in analyzer.term_weights("una pròrroga del termini")}
    thesaurus = CatalanThesaurus(parse("UTF-8\nendarrerir|1\n-|ajornar|prorrogar\n"))
    plain = SpellingMatcher(analyzer, df)
    helped = SpellingMatcher(analyzer, df, thesaurus=thesaurus)
    assert plain.corrections("endarrereix") == ()
    # "prorrogar" shares its stem with the index's "pròrroga"; "ajornar" is not indexed.
    assert helped.corrections("endarrereix") == ("~prorrog",)
