"""Spanish questions through the real Apertium pair (Debian apertium-spa-cat, installed by
`make test`) and the real assistant on the sample index. Constructed questions, none of
the dev sets'."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from assistant.ask.language import MorphDictionary, SpanishReader
from assistant.service import AssistantService
from index_config.settings import LanguageSettings

pytestmark = pytest.mark.integration
SETTINGS = LanguageSettings()


@pytest.fixture(scope="module")
def reader() -> Iterator[SpanishReader]:
    made = SpanishReader(SETTINGS)
    assert made.available, "Apertium's spa-cat pair is missing: `make translation-deps`"
    yield made
    made.close()


@pytest.mark.parametrize(
    "question",
    [
        "¿Qué ayudas hay para instalar placas solares en el polideportivo?",
        "Somos un ayuntamiento pequeño y queremos saber cuándo se cierra el plazo",
        "¿Y cuánto nos dan?",
    ],
)
def test_spanish_questions_are_told_and_translated(reader: SpanishReader, question: str) -> None:
    reading = reader.read(question)
    assert reading.language == "es" and reading.translated
    # The translation is Catalan: the Catalan dictionary knows (nearly) all its words.
    assert reader.language(reading.text) == "ca"


@pytest.mark.parametrize(
    "question",
    [
        "Quins ajuts hi ha per posar plaques solars al poliesportiu?",
        "q podem demanar x arreglar els camins? tenim molts forats",  # SMS style
        "exposisio sobre el paisatje del municipi",  # misspelt
        "ajut 22133 wifi",  # a code and a loanword
        "I al PGI?",
    ],
)
def test_catalan_questions_are_read_as_written(reader: SpanishReader, question: str) -> None:
    reading = reader.read(question)
    assert reading.language == "ca" and reading.text == question


def test_the_translation_keeps_numbers_codes_and_amounts(reader: SpanishReader) -> None:
    reading = reader.read("¿El recurso 22133 da hasta 15.000 € a municipios de 3.000 habitantes?")
    for kept in ("22133", "15.000 €", "3.000"):
        assert kept in reading.text


def test_a_dictionary_that_dies_is_started_again() -> None:
    dictionary = MorphDictionary(
        SETTINGS.apertium_data / "cat-spa.automorf.bin", SETTINGS.timeout_seconds
    )
    try:
        assert dictionary.unknown(["ajuts", "xyzzyq"]) == 1
        process = dictionary._lt_proc._process
        assert process is not None
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        assert dictionary.unknown(["ajuts", "per", "camins"]) == 0
    finally:
        dictionary.close()


def test_a_spanish_question_is_answered_like_its_catalan_version(
    assistant_service: AssistantService,
) -> None:
    catalan = assistant_service.ask("Quins ajuts hi ha per a la gestió de colònies de gats?")
    spanish = assistant_service.ask("¿Qué ayudas hay para gestionar colonias de gatos?")
    assert catalan.grounded and spanish.grounded
    assert spanish.sources[0].codi == catalan.sources[0].codi
    # The answer says how the question was read; a Catalan one does not.
    assert spanish.answer.startswith("He llegit la vostra pregunta en català així: «")
    assert "He llegit" not in catalan.answer


def test_a_spanish_follow_up_continues_the_conversation(
    assistant_service: AssistantService,
) -> None:
    first = assistant_service.ask("¿Qué ayudas hay para gestionar colonias de gatos?")
    second = assistant_service.ask("¿Y cuánto nos pueden dar como máximo?", first.conversation_id)
    assert second.grounded
    assert first.sources[0].codi in {hit.codi for hit in second.sources}
    assert "€" in second.answer  # the amount of the resource just shown


def test_a_spanish_question_about_another_administration_is_refused(
    assistant_service: AssistantService,
) -> None:
    answer = assistant_service.ask("¿Cómo solicito la prestación por desempleo en el SEPE?")
    assert not answer.grounded and answer.refusal_reason == "other_administration"


def test_staff_search_reads_a_spanish_query_in_catalan(
    assistant_service: AssistantService,
) -> None:
    catalan = assistant_service.search("colònies de gats", top_k=3)
    spanish = assistant_service.search("colonias de gatos", top_k=3)
    assert [h.id for h in spanish] == [h.id for h in catalan]
