"""SpellingMatcher: near spellings and clippings from the index's own vocabulary."""

from __future__ import annotations

from assistant.ask.spelling import SpellingMatcher
from index_config.analyzer import CatalanAnalyzer
from index_config.settings import AnalyzerSettings

ANALYZER = CatalanAnalyzer()


def matcher(*texts: str, analyzer: CatalanAnalyzer = ANALYZER) -> SpellingMatcher:
    df: dict[str, int] = {}
    for text in texts:
        for term in analyzer.term_weights(text):
            df[term] = df.get(term, 0) + 1
    return SpellingMatcher(analyzer, df)


def test_a_typo_is_matched_to_the_near_form_of_the_index() -> None:
    spelling = matcher("Subvencions per a camins rurals", "Manteniment de camins")
    assert spelling.corrections("subvencons") == ("subvencio",)  # light forms
    assert spelling.corrections("camins") == ()  # a word of the index is never corrected


def test_a_clipped_word_stands_for_the_longer_forms_it_begins() -> None:
    spelling = matcher(
        "Dinamització de la biblioteca municipal",
        "Fons per a biblioteques i arxius",
        "Préstec interbibliotecari",
        "Activitats a la biblioteca del poble",
    )
    found = spelling.corrections("biblio")
    assert found and all(form.startswith("biblio") for form in found)
    assert found[0] == "bibliotec"  # the most frequent completion first (light forms)
    # Too short to be read as a clipping, or no longer form begins with it.
    assert spelling.corrections("bibl") == ()
    assert spelling.corrections("zebrat") == ()


def test_expanded_query_terms_weigh_less_than_the_users_own() -> None:
    spelling = matcher("Dinamització de la biblioteca municipal")
    terms = spelling.expand({"biblio": 1.0}, ("biblio",))
    assert terms["bibliotec"] < terms["biblio"]


def test_two_letters_swapped_are_one_typo() -> None:
    spelling = matcher("Contractes de sis mesos de durada")
    assert spelling.corrections("druada") == ("durad",)  # six letters: one edit allowed


PLAIN = CatalanAnalyzer(AnalyzerSettings(lemmas=False))
LEXICON_WORDS = frozenset({"generalitat", "formulari", "correu", "fons", "model", "modul"})


def plain_matcher(*texts: str) -> SpellingMatcher:
    return matcher(*texts, analyzer=PLAIN)


def test_a_typo_in_a_lexicon_word_is_read_as_that_word() -> None:
    spelling = plain_matcher("Ajuts per a camins rurals")
    assert spelling.respell("la generalittat", LEXICON_WORDS) == "la generalitat"
    assert spelling.respell("on es el formmulari?", LEXICON_WORDS) == "on es el formulari?"


def test_respelling_stays_within_one_edit_below_nine_letters() -> None:
    spelling = plain_matcher("Ajuts per a camins rurals")
    # Two edits from "correu", but a seven-letter word: left as written.
    assert spelling.respell("quan cobrrem", LEXICON_WORDS) == "quan cobrrem"


def test_a_word_of_the_index_or_an_ambiguous_one_is_never_respelt() -> None:
    spelling = plain_matcher("Fonts d'energia renovable", "Fons de prestacio")
    assert spelling.respell("les fonts", LEXICON_WORDS) == "les fonts"  # the index has it
    # "modal" is one edit from both "model" and "modul": no way to tell which was meant.
    assert spelling.respell("un modal", LEXICON_WORDS) == "un modal"
