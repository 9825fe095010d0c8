"""SpanishReader: which questions are read as Spanish, and what the ask path then reads.

The dictionaries here are word lists standing in for Apertium's two compiled ones (the
real programs are exercised in tests/integration/test_language.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from assistant.ask.language import ApertiumError, SpanishReader
from assistant.composer import AnswerComposer, Composed
from index_config.analyzer import CatalanAnalyzer
from index_config.settings import LanguageSettings


def words(text: str) -> set[str]:
    return set(text.split())


CATALAN = words("hi ha ajuts per a la el de les els del fons pagar sou quan tenim un una")
SPANISH = words("hay ayudas para la el de las los del fondo pagar sueldo cuando tenemos y")
SPANISH |= {"un", "una", "plazo", "a"}


class WordList:
    def __init__(self, known: set[str]) -> None:
        self.known = known
        self.asked = 0

    def unknown(self, words: list[str]) -> int:
        self.asked += 1
        return sum(w.lower() not in self.known for w in words)

    def close(self) -> None:
        pass


def reader(translations: dict[str, str] | None = None, **settings: object) -> SpanishReader:
    asked: list[str] = []

    def translate(text: str) -> str:
        asked.append(text)
        if translations is None or text not in translations:
            raise ApertiumError("no translation")
        return translations[text]

    made = SpanishReader(
        LanguageSettings.model_validate(settings),
        dictionaries=(WordList(CATALAN), WordList(SPANISH)),
        translator=translate,
    )
    made.translated_texts = asked  # type: ignore[attr-defined]
    return made


def test_a_spanish_question_is_read_in_catalan() -> None:
    question = "¿Hay ayudas para pagar el sueldo?"
    spanish = reader({question: "Hi ha ajuts per a pagar el sou?"})
    reading = spanish.read(question)
    assert reading.language == "es" and reading.translated
    assert reading.text == "Hi ha ajuts per a pagar el sou?"
    assert reading.original == question


def test_a_catalan_question_is_read_as_written_and_never_translated() -> None:
    catalan = reader({})
    reading = catalan.read("Hi ha ajuts per a pagar el sou?")
    assert reading.language == "ca" and not reading.translated
    assert catalan.translated_texts == []  # type: ignore[attr-defined]


def test_names_codes_and_misspellings_unknown_to_both_do_not_make_a_question_spanish() -> None:
    # "Xarxa", "wifi" and "ajutts" are in neither list: they cancel out.
    assert reader({}).language("ajutts del fons Xarxa wifi 22133") == "ca"


def test_one_spanish_word_in_a_catalan_question_is_not_enough() -> None:
    # "plazo" is Spanish only: one word more unknown to Catalan, under the margin of 2.
    assert reader({}).language("quan tenim el plazo de les ajuts del fons") == "ca"


def test_a_short_spanish_follow_up_is_spanish_by_its_share_of_words() -> None:
    # Two words of three unknown to Catalan: over the margin and over a quarter.
    assert reader({}).language("¿Y el plazo?") == "es"
    # The share counts too: two Spanish-only words among many both languages share (the
    # margin is 2, under a quarter of 14 words) are not enough.
    shared = "el de la del un una a pagar el de la del plazo y"
    assert reader({}).language(shared) == "ca"


def test_switched_off_every_question_is_read_as_written() -> None:
    off = reader({"¿Hay ayudas?": "Hi ha ajuts?"}, enabled=False)
    assert off.read("¿Hay ayudas?").text == "¿Hay ayudas?"


def test_a_failed_translation_reads_the_question_as_written() -> None:
    failing = reader({})
    reading = failing.read("¿Hay ayudas para el fondo?")
    assert reading.language == "es" and reading.text == "¿Hay ayudas para el fondo?"


def test_a_translation_is_made_once_per_text() -> None:
    question = "¿Hay ayudas para el fondo?"
    spanish = reader({question: "Hi ha ajuts per al fons?"})
    for _ in range(3):
        assert spanish.read(question).text == "Hi ha ajuts per al fons?"
    assert spanish.translated_texts == [question]  # type: ignore[attr-defined]


def test_without_apertium_installed_questions_are_read_as_written_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = SpanishReader(LanguageSettings(apertium_data=tmp_path / "none"))
    with caplog.at_level(logging.WARNING, logger="assistant.ask.language"):
        reading = missing.read("¿Hay ayudas para pagar el sueldo?")
        missing.read("¿Hay ayudas para pagar el fondo?")
    assert reading.text == reading.original and reading.language == "ca"
    warnings = [r for r in caplog.records if "will not be translated" in r.getMessage()]
    assert len(warnings) == 1  # said once, not per question


def test_the_answer_to_a_translated_question_says_how_it_was_read() -> None:
    composer = AnswerComposer(CatalanAnalyzer(), "l'Oficina")
    composed = composer.read_as(Composed("Resposta.", []), "Hi ha ajuts per a **pagar** el sou?")
    first, _, rest = composed.text.partition("\n\n")
    assert "«Hi ha ajuts per a pagar el sou?»" in first  # the user's text, made inert
    assert rest == "Resposta."


def test_the_language_of_a_text_is_told_once_and_a_failure_is_not_kept() -> None:
    class Flaky(WordList):
        fail = True

        def unknown(self, words: list[str]) -> int:
            if self.fail:
                self.fail = False
                raise ApertiumError("lt-proc ended")
            return super().unknown(words)

    catalan = Flaky(CATALAN)
    told = SpanishReader(
        LanguageSettings(), dictionaries=(catalan, WordList(SPANISH)), translator=str.upper
    )
    question = "¿Hay ayudas para el fondo?"
    assert told.language(question) == "ca"  # the dictionary failed: read as written
    # Asked again (an earlier turn of the conversation): told now, then kept.
    assert told.language(question) == "es"
    assert told.language(question) == "es"
    assert catalan.asked == 1
