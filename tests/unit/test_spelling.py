"""SpellingMatcher: near spellings and clippings from the index's own vocabulary."""

from __future__ import annotations

from assistant.ask.spelling import SpellingMatcher
from index_config.analyzer import CatalanAnalyzer

ANALYZER = CatalanAnalyzer()


def matcher(*texts: str) -> SpellingMatcher:
    df: dict[str, int] = {}
    for text in texts:
        for term in ANALYZER.term_weights(text):
            df[term] = df.get(term, 0) + 1
    return SpellingMatcher(ANALYZER, df)


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
