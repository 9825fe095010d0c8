"""The HTTP backend speaks the API contract of DESIGN.md and maps errors to domain errors."""

from __future__ import annotations

import json

import httpx
import pytest

from assistant.errors import IndexNotReadyError, QueryError
from bots.telegram.backend import (
    AssistantBackend,
    BackendUnavailableError,
    HttpBackend,
    RateLimitedError,
)

HIT = {
    "id": "c1",
    "doc_id": "recurs-22231",
    "kind": "recurs",
    "title": "Ajuts per a la supressió de barreres arquitectòniques",
    "snippet": "Rebaix de voreres",
    "score": 0.9,
    "url": "https://cataleg.exemple.cat/recurs/22231",
    "source": "cataleg-2022.jsonl",
    "codi": "22231",
    "article": None,
    "metadata": {"import": "Fins a 25.000 € per ens"},
}


REFERENCE = {"date": "2022-05-10", "text": "10 de maig de 2022", "fixed": True}
CARD = {
    "codi": "22231",
    "title": "Ajuts per a la supressió de barreres arquitectòniques",
    "url": "https://cataleg.exemple.cat/recurs/22231",
    "window": {
        "state": "open",
        "opens": "2022-04-25",
        "closes": "2022-06-03",
        "text": "obert fins al 3 de juny de 2022",
        "open_now": True,
    },
    "import": "Fins a 25.000 € per ens",
    "source_title": "Catàleg de serveis 2022",
    "reference_date": "2022-05-10",
}


class Api:
    """Records requests and answers like `concerta serve` would."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path, method = request.url.path, request.method
        if (method, path) == ("POST", "/api/ask"):
            body = json.loads(request.content)
            if not body["question"].strip():
                return httpx.Response(422, json={"detail": "La pregunta és buida."})
            return httpx.Response(
                200,
                json={
                    "answer": "Sí [1].",
                    "grounded": True,
                    "sources": [HIT],
                    "conversation_id": body["conversation_id"] or "conv-1",
                    "message_id": "m-1",
                },
            )
        if (method, path) == ("POST", "/api/search"):
            return httpx.Response(200, json={"results": [HIT]})
        if (method, path) == ("POST", "/api/feedback"):
            return httpx.Response(200, json={"status": "ok"})
        if (method, path) == ("GET", "/api/cards") and request.url.params.get("codi"):
            found = [CARD] if request.url.params["codi"] == "22231" else []
            return httpx.Response(200, json={"reference_date": REFERENCE, "cards": found})
        if (method, path) == ("GET", "/api/cards"):
            return httpx.Response(503, json={"detail": "L'índex no està preparat."})
        if method == "DELETE" and path.startswith("/api/conversations/"):
            return httpx.Response(204)
        return httpx.Response(404)


@pytest.fixture
def api():
    return Api()


@pytest.fixture
async def backend(api):
    client = HttpBackend("http://concerta.test/", transport=httpx.MockTransport(api))
    yield client
    await client.aclose()


async def test_satisfies_protocol(backend):
    assert isinstance(backend, AssistantBackend)


async def test_ask_search_resource_feedback_reset(api, backend):
    answer = await backend.ask("Hi ha ajuts per a rampes?", None)
    assert answer.conversation_id == "conv-1" and answer.sources[0].codi == "22231"
    follow_up = await backend.ask("I quant?", "conv-1")
    assert follow_up.conversation_id == "conv-1"
    assert json.loads(api.requests[1].content) == {
        "question": "I quant?",
        "conversation_id": "conv-1",
        "filters": {},
    }
    assert [h.codi for h in await backend.search("rampes", 3)] == ["22231"]
    assert json.loads(api.requests[2].content)["top_k"] == 3
    card = await backend.card("22231")
    assert card is not None and card.import_ == "Fins a 25.000 € per ens"
    assert card.window.text == "obert fins al 3 de juny de 2022"
    assert await backend.card("00000") is None
    assert await backend.card("../admin") is None  # never sent: not a code
    await backend.feedback("conv-1", -1, "m-1")
    assert json.loads(api.requests[-1].content) == {
        "conversation_id": "conv-1",
        "rating": -1,
        "message_id": "m-1",
    }
    await backend.reset_conversation("conv/1")
    assert api.requests[-1].url.raw_path == b"/api/conversations/conv%2F1"


async def test_errors_become_domain_errors(backend):
    with pytest.raises(QueryError, match="buida"):
        await backend.ask(" ", None)
    with pytest.raises(IndexNotReadyError):
        await backend.window_cards(5)


async def test_a_rate_limited_request_carries_the_servers_words() -> None:
    detail = "Heu enviat moltes preguntes seguides. Torneu-ho a provar d'aquí a 30 segons."

    def busy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json={"detail": detail}, headers={"Retry-After": "30"})

    backend = HttpBackend("http://concerta.test", transport=httpx.MockTransport(busy))
    with pytest.raises(RateLimitedError, match="30 segons"):
        await backend.ask("Hi ha ajuts?", None)
    await backend.aclose()


async def test_focus_is_sent_only_when_picked(api, backend) -> None:
    await backend.ask("I l'import?", "conv-1", focus="22231")
    assert json.loads(api.requests[-1].content)["focus"] == "22231"


async def test_unreachable_api():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    backend = HttpBackend("http://127.0.0.1:9", transport=httpx.MockTransport(refuse))
    with pytest.raises(BackendUnavailableError):
        await backend.search("x")
    await backend.aclose()
