"""The LLM answer path against a real OpenAI-compatible HTTP server on 127.0.0.1."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from assistant.llm import REFUSAL, SYSTEM_PROMPT, LLMAnswerer, LLMError, is_refusal
from assistant.models import Hit
from index_config import Settings
from tests.support.openai_server import (
    Behaviour,
    BreakStream,
    Compute,
    Fail,
    OpenAICompatibleServer,
    Reply,
)

pytestmark = pytest.mark.integration

TIMEOUT = 1.0
# How late an error may come after the timeout: client and thread overheads, a busy CI.
SLACK = 1.5

CAMINS = Hit(
    id="22207#0",
    doc_id="cataleg:22207",
    kind="recurs",
    title="Fons de prestació per a la conservació de camins municipals",
    snippet="Fons econòmic que la Diputació distribueix entre els municipis per cobrir "
    "despeses ordinàries de manteniment de la xarxa de camins rurals. Els ajuntaments "
    "no han de presentar cap sol·licitud.",
    score=0.91,
    url="https://cataleg.exemple.cat/recurs/22207",
    source="cataleg-2022.jsonl",
    codi="22207",
    metadata={
        "tipologia": "econòmic",
        "classe": "Fons de prestació",
        "destinataris": ["Ajuntaments", "Entitats municipals descentralitzades"],
        "tram_poblacio": "Municipis de menys de 20.000 habitants",
        "import": "Segons fórmula de distribució (mínim de 3.000 € per municipi)",
        "contacte": {"telefon": "93 400 21 18", "email": "fonscamins@exemple.cat"},
    },
)
MAQUINARIA = Hit(
    id="22211#0",
    doc_id="cataleg:22211",
    kind="recurs",
    title="Brigada de maquinària per a l'arranjament de camins",
    snippet="La Diputació desplaça una brigada amb maquinària per arranjar camins "
    "municipals en municipis de menys de 5.000 habitants.",
    score=0.83,
    url="https://cataleg.exemple.cat/recurs/22211",
    source="cataleg-2022.jsonl",
    codi="22211",
    metadata={"tipologia": "material", "classe": "Prestació de serveis"},
)
SOURCES = [CAMINS, MAQUINARIA]
QUESTION = "Som un poble de 900 habitants, què podem demanar per arreglar camins?"

GOOD = (
    "Teniu dues opcions:\n\n"
    "- El **Fons de prestació per a la conservació de camins municipals** (22207), "
    "sense sol·licitud, amb un mínim de 3.000 € per municipi [1].\n"
    "- La **Brigada de maquinària** (22211), per a municipis de menys de 5.000 "
    "habitants [2]."
)
INVENTED_AMOUNT = "El fons 22207 us dona fins a 25.000 € per arreglar camins [1]."


@pytest.fixture(scope="module")
def server() -> Iterator[OpenAICompatibleServer]:
    with OpenAICompatibleServer(model="concerta-test-model") as running:
        yield running


@pytest.fixture
def llm(server: OpenAICompatibleServer) -> Iterator[LLMAnswerer]:
    server.reset()
    answerer = LLMAnswerer(
        Settings(llm_base_url=server.base_url, llm_model="qwen-local", llm_timeout=TIMEOUT)
    )
    answerer.warm_up()
    yield answerer
    answerer.close()
    assert server.pending() == 0, "a scripted behaviour was not used"


def test_generate_returns_the_answer_and_sends_prompt_and_sources(
    llm: LLMAnswerer, server: OpenAICompatibleServer
) -> None:
    server.script(Reply(GOOD))
    history = [("Què és el Pla XGL?", "És el pla de concertació 2020-2023 [1].")]

    answer = llm.generate(QUESTION, SOURCES, history)

    assert answer == GOOD
    assert llm.check(answer, SOURCES) == []
    [request] = server.requests
    assert request["model"] == "qwen-local"
    assert request["stream"] is False
    assert request["temperature"] == 0.1 and request["max_tokens"] == 700
    roles = [m["role"] for m in request["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    assert request["messages"][0]["content"] == SYSTEM_PROMPT
    assert request["messages"][2]["content"] == "És el pla de concertació 2020-2023."
    last = request["messages"][-1]["content"]
    assert last.index('<font n="1">') < last.index("Codi: 22207") < last.index('<font n="2">')
    assert last.index("Codi: 22211") < last.index("</fonts>") < last.index(QUESTION)
    assert "Import: Segons fórmula de distribució (mínim de 3.000 € per municipi)" in last
    assert server.headers[0]["authorization"] == "Bearer sense-clau"


def test_stream_yields_several_deltas(llm: LLMAnswerer, server: OpenAICompatibleServer) -> None:
    server.script(Reply(GOOD, pieces=6))

    deltas = list(llm.stream(QUESTION, SOURCES, []))

    assert len(deltas) >= 5
    assert "".join(deltas) == GOOD
    assert server.requests[0]["stream"] is True
    assert server.requests[0]["messages"][0]["content"] == SYSTEM_PROMPT


def test_stream_deltas_arrive_before_the_answer_is_complete(
    llm: LLMAnswerer, server: OpenAICompatibleServer
) -> None:
    server.script(Reply(GOOD, pieces=4, chunk_delay=0.3))
    started = time.monotonic()
    stream = llm.stream(QUESTION, SOURCES, [])
    first = next(stream)
    first_at = time.monotonic() - started
    rest = list(stream)
    assert first and rest
    assert first_at < time.monotonic() - started - 0.5  # the rest took longer to arrive


def test_check_flags_an_invented_amount(llm: LLMAnswerer, server: OpenAICompatibleServer) -> None:
    server.script(Reply(INVENTED_AMOUNT))
    answer = llm.generate(QUESTION, SOURCES, [])
    assert llm.check(answer, SOURCES) == ["amount '25.000 €' is not in any source"]


def test_a_refusal_is_recognised(llm: LLMAnswerer, server: OpenAICompatibleServer) -> None:
    server.script(Reply(REFUSAL))
    answer = llm.generate("Quin temps farà demà?", SOURCES, [])
    assert is_refusal(answer)
    assert llm.check(answer, SOURCES) == []


def test_a_reasoning_block_is_removed(llm: LLMAnswerer, server: OpenAICompatibleServer) -> None:
    server.script(Reply(f"<think>El fons és el 22207.</think>\n\n{GOOD}"))
    assert llm.generate(QUESTION, SOURCES, []) == GOOD
    server.script(Reply(f"<think>El fons és el 22207.</think>\n\n{GOOD}", pieces=8))
    assert "".join(llm.stream(QUESTION, SOURCES, [])) == GOOD


def test_a_slow_server_times_out(llm: LLMAnswerer, server: OpenAICompatibleServer) -> None:
    server.script(Reply(GOOD, delay=TIMEOUT + 3))
    started = time.monotonic()
    with pytest.raises(LLMError, match=r"[Tt]imed? ?out"):
        llm.generate(QUESTION, SOURCES, [])
    assert TIMEOUT - 0.1 <= time.monotonic() - started < TIMEOUT + SLACK


def test_a_slow_stream_times_out(llm: LLMAnswerer, server: OpenAICompatibleServer) -> None:
    server.script(Reply(GOOD, delay=TIMEOUT + 3))
    started = time.monotonic()
    with pytest.raises(LLMError, match=r"[Tt]imed? ?out"):
        list(llm.stream(QUESTION, SOURCES, []))
    assert time.monotonic() - started < TIMEOUT + SLACK


def test_a_stream_that_stalls_mid_way_times_out(
    llm: LLMAnswerer, server: OpenAICompatibleServer
) -> None:
    server.script(Reply(GOOD, pieces=3, chunk_delay=TIMEOUT + 2))
    started = time.monotonic()
    with pytest.raises(LLMError):
        list(llm.stream(QUESTION, SOURCES, []))
    assert time.monotonic() - started < TIMEOUT + SLACK


def test_http_500_raises_at_once(llm: LLMAnswerer, server: OpenAICompatibleServer) -> None:
    server.script(Fail(500), Fail(503))
    started = time.monotonic()
    with pytest.raises(LLMError, match="500"):
        llm.generate(QUESTION, SOURCES, [])
    with pytest.raises(LLMError, match="503"):
        list(llm.stream(QUESTION, SOURCES, []))
    # max_retries=0: one request each, no back-off before the fallback.
    assert len(server.requests) == 2
    assert time.monotonic() - started < TIMEOUT


def test_a_broken_stream_raises_after_its_first_deltas(
    llm: LLMAnswerer, server: OpenAICompatibleServer
) -> None:
    server.script(BreakStream(GOOD, pieces_before_break=2, pieces=5))
    received: list[str] = []
    with pytest.raises(LLMError, match="stream"):
        for delta in llm.stream(QUESTION, SOURCES, []):
            received.append(delta)
    assert len(received) == 2
    assert GOOD.startswith("".join(received))


def test_a_cut_answer_is_an_error(llm: LLMAnswerer, server: OpenAICompatibleServer) -> None:
    server.script(Reply(GOOD, finish_reason="length"), Reply(GOOD, finish_reason="length"))
    with pytest.raises(LLMError, match="max_tokens"):
        llm.generate(QUESTION, SOURCES, [])
    with pytest.raises(LLMError, match="max_tokens"):
        list(llm.stream(QUESTION, SOURCES, []))


def test_an_empty_answer_is_an_error(llm: LLMAnswerer, server: OpenAICompatibleServer) -> None:
    server.script(Reply("  "))
    with pytest.raises(LLMError, match="empty"):
        llm.generate(QUESTION, SOURCES, [])


def test_an_abandoned_stream_leaves_the_client_usable(
    llm: LLMAnswerer, server: OpenAICompatibleServer
) -> None:
    server.script(Reply(GOOD, pieces=6, chunk_delay=0.05), Reply(GOOD))
    stream = llm.stream(QUESTION, SOURCES, [])
    assert next(stream)
    stream.close()
    assert llm.generate(QUESTION, SOURCES, []) == GOOD


def test_the_server_lists_its_model_like_openai(server: OpenAICompatibleServer) -> None:
    with openai.OpenAI(base_url=server.base_url, api_key="sense-clau", max_retries=0) as client:
        assert [model.id for model in client.models.list()] == ["concerta-test-model"]


# End to end: AssistantService with the LLM configured -------------------------------

E2E_QUESTION = "Quins ajuts hi ha per arreglar camins municipals?"


def _first_source(body: dict[str, Any]) -> tuple[str, str | None]:
    """Title and code of source [1] in the prompt the service really sent."""
    prompt = body["messages"][-1]["content"]
    block = prompt[prompt.index('<font n="1">') : prompt.index("</font>")]
    title = re.search(r"^Títol: (.+)$", block, re.MULTILINE)
    codi = re.search(r"^Codi: (\d{5})$", block, re.MULTILINE)
    assert title is not None
    return title.group(1), codi.group(1) if codi else None


def _good_answer(body: dict[str, Any]) -> Reply:
    title, codi = _first_source(body)
    code = f" ({codi})" if codi else ""
    return Reply(f"Us pot interessar **{title}**{code} [1].", pieces=4)


def _invented_amount(body: dict[str, Any]) -> Reply:
    title, _ = _first_source(body)
    return Reply(f"**{title}** us dona fins a 987.654 € [1].", pieces=4)


@pytest.fixture(scope="module")
def llm_service(
    indexed_settings: Settings,
    server: OpenAICompatibleServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    from assistant.service import AssistantService

    # Local Qdrant allows one client per folder and the session's `assistant_service`
    # (the composer-only baseline) holds the shared one: answer from a copy.
    data_dir = tmp_path_factory.mktemp("llm-index") / "data"
    shutil.copytree(indexed_settings.data_dir, data_dir)
    settings = indexed_settings.model_copy(
        update={"data_dir": data_dir, "llm_base_url": server.base_url, "llm_timeout": TIMEOUT}
    )
    service = AssistantService(settings)
    service.warm_up()
    yield service
    service.close()


@pytest.fixture
def composer_answer(assistant_service: Any) -> str:
    """What the service answers without an LLM (the fallback)."""
    answer: str = assistant_service.ask(E2E_QUESTION).answer
    return answer


@pytest.fixture
def fresh_server(server: OpenAICompatibleServer) -> Iterator[OpenAICompatibleServer]:
    server.reset()
    yield server
    assert server.pending() == 0, "the service did not call the LLM"


def test_service_shows_a_good_llm_answer(
    llm_service: Any, fresh_server: OpenAICompatibleServer
) -> None:
    fresh_server.script(Compute(_good_answer))
    answer = llm_service.ask(E2E_QUESTION)
    [request] = fresh_server.requests
    title, _ = _first_source(request)
    assert answer.grounded is True
    assert answer.answer.startswith(f"Us pot interessar **{title}**")
    assert answer.answer.endswith("[1].")
    assert answer.sources and answer.sources[0].title == title
    assert request["messages"][0]["content"] == SYSTEM_PROMPT


def test_service_streams_a_good_llm_answer(
    llm_service: Any, fresh_server: OpenAICompatibleServer
) -> None:
    fresh_server.script(Compute(_good_answer))
    events = list(llm_service.ask_stream(E2E_QUESTION))
    deltas = [e.data["text"] for e in events if e.event == "delta"]
    final = events[-1]
    assert [events[0].event, final.event] == ["start", "sources"]
    assert len(deltas) >= 2
    assert final.data["answer"] == "".join(deltas)
    assert final.data["grounded"] is True
    assert fresh_server.requests[0]["stream"] is True


def test_an_llm_is_never_given_a_resource_the_asker_cannot_get(
    llm_service: Any, fresh_server: OpenAICompatibleServer
) -> None:
    """The closer resource for smaller towns is named after the LLM's answer, by the
    composer, and is not among the sources the LLM may recommend."""
    fresh_server.script(Compute(_good_answer))
    answer = llm_service.ask(
        "Som 30.000 habitants i no tenim gabinet de premsa: ens poden fer un pla de "
        "comunicació institucional?"
    )
    [request] = fresh_server.requests
    prompt = request["messages"][-1]["content"]
    assert "Codi: 22101" not in prompt
    notice, llm_text = answer.answer.split("\n\n", 1)
    assert "(codi 22101) [1]" in notice and "menys de 20.000 habitants" in notice
    # The LLM's own [1] follows its source, now the second.
    assert llm_text.startswith("Us pot interessar") and llm_text.endswith("[2].")
    assert answer.sources[0].codi == "22101" and len(answer.sources) >= 2


FAILURES: dict[str, Behaviour] = {
    "invented amount": Compute(_invented_amount),
    "timeout": Reply("Massa tard [1].", delay=TIMEOUT + 3),
    "http 500": Fail(500),
}


@pytest.mark.parametrize("failure", list(FAILURES))
def test_service_falls_back_to_the_composer(
    llm_service: Any, fresh_server: OpenAICompatibleServer, composer_answer: str, failure: str
) -> None:
    fresh_server.script(FAILURES[failure])
    started = time.monotonic()
    answer = llm_service.ask(E2E_QUESTION)
    assert time.monotonic() - started < TIMEOUT + SLACK + 2  # retrieval and composing too
    assert "987.654" not in answer.answer
    assert answer.answer == composer_answer
    assert len(fresh_server.requests) == 1


def test_service_stream_ends_with_the_fallback_after_a_bad_llm_answer(
    llm_service: Any, fresh_server: OpenAICompatibleServer, composer_answer: str
) -> None:
    fresh_server.script(Compute(_invented_amount))
    events = list(llm_service.ask_stream(E2E_QUESTION))
    final = events[-1]
    assert final.event == "sources"
    # The deltas showed the LLM's text; the authoritative final answer replaces it.
    assert final.data["answer"] == composer_answer
