"""The HTTP edge: request validation and error mapping, with Catalan messages.

These tests exercise FastAPI's handling of bodies and errors, not retrieval, so the
service is a small hand-written double (retrieval is covered by the integration tests).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any, ClassVar, cast

import pytest
from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.errors import IndexNotReadyError, QueryError
from assistant.models import Answer, Hit, StreamEvent
from assistant.service import AssistantService
from index_config import Settings

HIT = Hit(
    id="22133#0",
    doc_id="22133",
    kind="recurs",
    title="Wifi a l'espai públic",
    snippet="Ajut per instal·lar punts d'accés wifi",
    score=0.9,
    url="https://cataleg.exemple.cat/recurs/22133",
    source="cataleg-2022.jsonl",
    codi="22133",
    metadata={"tipologia": "econòmic"},
)


class ServiceDouble:
    """Answers like AssistantService, or raises what a test asks it to."""

    def __init__(self) -> None:
        self.settings = Settings(cors_origins=["https://portal.exemple.cat"])
        self.ready = True
        self.error: Exception | None = None
        self.stream_error_after_start: Exception | None = None
        self.calls: list[tuple[str, Any]] = []

    def _maybe_fail(self) -> None:
        if self.error is not None:
            raise self.error

    def is_ready(self) -> bool:
        return self.ready

    def search(self, query: str, top_k: int = 10, filters: dict[str, Any] | None = None):
        self.calls.append(("search", (query, top_k, filters)))
        self._maybe_fail()
        return [HIT]

    def ask(
        self, question: str, conversation_id: str | None = None, filters=None, focus=None
    ) -> Answer:
        self.calls.append(("ask", (question, conversation_id, filters)))
        self._maybe_fail()
        return Answer(answer="Sí [1].", grounded=True, sources=[HIT], conversation_id="c1")

    def ask_stream(self, question: str, conversation_id=None, filters=None, focus=None):
        self.calls.append(("ask_stream", (question, conversation_id, filters)))

        def events() -> Iterator[StreamEvent]:
            self._maybe_fail()
            yield StreamEvent(event="start", data={"conversation_id": "c1", "message_id": "m1"})
            if self.stream_error_after_start is not None:
                raise self.stream_error_after_start
            yield StreamEvent(event="delta", data={"text": "Sí "})
            yield StreamEvent(event="delta", data={"text": "[1]."})
            answer = Answer(
                answer="Sí [1].",
                grounded=True,
                sources=[HIT],
                conversation_id="c1",
                message_id="m1",
            )
            yield StreamEvent(event="sources", data=answer.model_dump(mode="json"))

        return events()

    def feedback(self, conversation_id, rating, message_id=None, comment=None) -> None:
        self.calls.append(("feedback", (conversation_id, rating, message_id, comment)))
        self._maybe_fail()

    def reset_conversation(self, conversation_id: str) -> None:
        self.calls.append(("reset", conversation_id))

    def resource(self, codi: str) -> Hit | None:
        return HIT if codi == "22133" else None

    def open_resources(self, on: dt.date | None = None, limit: int = 20) -> list[Hit]:
        self.calls.append(("open", (on, limit)))
        return [HIT]


@pytest.fixture
def double() -> ServiceDouble:
    return ServiceDouble()


@pytest.fixture
def client(double: ServiceDouble) -> Iterator[TestClient]:
    app = create_app(service=cast(AssistantService, double))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def detail(response) -> str:
    body = response.json()
    assert set(body) == {"detail"}
    assert isinstance(body["detail"], str)
    return body["detail"]


def test_health_and_ready(client: TestClient, double: ServiceDouble) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").status_code == 200
    double.ready = False
    assert client.get("/ready").status_code == 503


def test_search_passes_body_to_service(client: TestClient, double: ServiceDouble) -> None:
    response = client.post(
        "/api/search", json={"query": "wifi", "top_k": 3, "filters": {"tipologia": "econòmic"}}
    )
    assert response.status_code == 200
    assert response.json()["results"][0]["codi"] == "22133"
    assert double.calls == [("search", ("wifi", 3, {"tipologia": "econòmic"}))]


@pytest.mark.parametrize("question", ["", "   \n\t "])
def test_blank_question_is_rejected_in_catalan(client: TestClient, question: str) -> None:
    response = client.post("/api/ask", json={"question": question})
    assert response.status_code == 422
    assert detail(response) == "Escriviu una pregunta: la pregunta no pot estar buida."


def test_ten_thousand_character_question_is_rejected(
    client: TestClient, double: ServiceDouble
) -> None:
    for route in ("/api/ask", "/api/ask/stream"):
        response = client.post(route, json={"question": "a" * 10_000})
        assert response.status_code == 422
        assert detail(response) == "La pregunta és massa llarga: el màxim són 2.000 caràcters."
    assert double.calls == []


def test_question_at_the_limit_is_accepted(client: TestClient) -> None:
    assert client.post("/api/ask", json={"question": "a" * 2000}).status_code == 200


@pytest.mark.parametrize("top_k", [0, 51, -3])
def test_top_k_out_of_range(client: TestClient, top_k: int) -> None:
    response = client.post("/api/search", json={"query": "wifi", "top_k": top_k})
    assert response.status_code == 422
    assert detail(response) == "El nombre de resultats (top_k) ha de ser entre 1 i 50."


def test_unknown_filter_key_is_rejected_before_the_service(
    client: TestClient, double: ServiceDouble
) -> None:
    response = client.post("/api/search", json={"query": "wifi", "filters": {"color": "blau"}})
    assert response.status_code == 422
    assert detail(response).startswith("Filtre desconegut: color.")
    response = client.post("/api/ask/stream", json={"question": "wifi", "filters": {"x": 1}})
    assert response.status_code == 422
    assert double.calls == []


def test_bad_filter_value(client: TestClient) -> None:
    response = client.post(
        "/api/search", json={"query": "wifi", "filters": {"obert_a": "demà passat"}}
    )
    assert response.status_code == 422
    assert detail(response).startswith("Valor de filtre no vàlid")


def test_malformed_json(client: TestClient) -> None:
    response = client.post(
        "/api/ask", content=b'{"question": "hola"', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert detail(response) == "El cos de la petició no és un JSON vàlid."


def test_missing_field_and_wrong_types(client: TestClient) -> None:
    assert detail(client.post("/api/ask", json={})) == "Falta la pregunta."
    assert detail(client.post("/api/search", json={"query": 3})) == "La cerca ha de ser un text."
    response = client.post("/api/search", json={"query": "x", "filters": ["a"]})
    assert detail(response) == "Els filtres han de ser un objecte JSON."
    response = client.post("/api/ask", json=["una", "llista"])
    assert response.status_code == 422
    assert "objecte JSON" in detail(response)


def test_unknown_body_field(client: TestClient) -> None:
    response = client.post("/api/ask", json={"question": "hola", "pregunta": "hola"})
    assert detail(response) == "El camp «pregunta» no s'accepta en aquesta petició."


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (QueryError("La pregunta no té cap paraula que es pugui cercar."), 422),
        (IndexNotReadyError("no index"), 503),
    ],
)
def test_domain_errors_are_mapped(
    client: TestClient, double: ServiceDouble, error: Exception, status: int
) -> None:
    double.error = error
    for route, body in (("/api/ask", {"question": "?"}), ("/api/search", {"query": "?"})):
        response = client.post(route, json=body)
        assert response.status_code == status
        message = detail(response)
        assert "no index" not in message
        if status == 422:
            assert message == str(error)


def test_stream_errors_before_the_first_event_keep_their_status(
    client: TestClient, double: ServiceDouble
) -> None:
    double.error = IndexNotReadyError("no index")
    response = client.post("/api/ask/stream", json={"question": "wifi?"})
    assert response.status_code == 503
    assert "índex" in detail(response)


def test_unexpected_error_is_generic_and_catalan(
    client: TestClient, double: ServiceDouble, caplog: pytest.LogCaptureFixture
) -> None:
    double.error = RuntimeError("secret stack detail")
    response = client.post("/api/ask", json={"question": "wifi?"})
    assert response.status_code == 500
    message = detail(response)
    assert "secret" not in message and "Traceback" not in response.text
    assert message.startswith("S'ha produït un error inesperat.")
    assert "unexpected error on POST /api/ask" in caplog.text


def parse_sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            events.append((fields["event"], json.loads(fields["data"])))
    return events


def test_stream_is_server_sent_events_in_order(client: TestClient) -> None:
    response = client.post("/api/ask/stream", json={"question": "wifi a la plaça?"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    assert [name for name, _ in events] == ["start", "delta", "delta", "sources"]
    assert events[0][1] == {"conversation_id": "c1", "message_id": "m1"}
    assert "".join(data["text"] for name, data in events if name == "delta") == "Sí [1]."
    assert events[-1][1]["sources"][0]["codi"] == "22133"


def test_stream_failure_after_start_becomes_an_error_event(
    client: TestClient, double: ServiceDouble
) -> None:
    double.stream_error_after_start = RuntimeError("boom")
    response = client.post("/api/ask/stream", json={"question": "wifi?"})
    assert response.status_code == 200
    events = parse_sse(response.text)
    assert [name for name, _ in events] == ["start", "error"]
    assert events[-1][1]["message"].startswith("S'ha produït un error inesperat.")


def test_feedback_validation(client: TestClient, double: ServiceDouble) -> None:
    ok = client.post("/api/feedback", json={"conversation_id": "c1", "rating": -1})
    assert ok.status_code == 200 and ok.json() == {"status": "ok"}
    assert double.calls == [("feedback", ("c1", -1, None, None))]
    bad = client.post("/api/feedback", json={"conversation_id": "c1", "rating": 5})
    assert bad.status_code == 422
    assert detail(bad) == "La valoració ha de ser 1 (útil) o -1 (no útil)."


def test_resources_open_and_reset(client: TestClient, double: ServiceDouble) -> None:
    assert client.get("/api/resources/22133").json()["codi"] == "22133"
    missing = client.get("/api/resources/99999")
    assert missing.status_code == 404
    assert detail(missing) == "No hi ha cap recurs del catàleg amb el codi 99999."
    assert client.get("/api/open?date=2022-03-01&limit=5").json()["results"][0]["codi"]
    assert ("open", (dt.date(2022, 3, 1), 5)) in double.calls
    assert (
        detail(client.get("/api/open?date=1-3-2022")) == "La data ha de tenir el format AAAA-MM-DD."
    )
    assert client.delete("/api/conversations/c1").status_code == 204
    assert ("reset", "c1") in double.calls


def test_unknown_path_is_catalan_404(client: TestClient) -> None:
    response = client.get("/api/no-existeix")
    assert response.status_code == 404
    assert detail(response) == "No s'ha trobat el que demaneu."


def test_pages_are_served(client: TestClient) -> None:
    assert "text/javascript" in client.get("/widget.js").headers["content-type"]
    demo = client.get("/demo")
    assert demo.status_code == 200 and '<script src="/widget.js"' in demo.text
    staff = client.get("/")
    assert staff.status_code == 200 and 'lang="ca"' in staff.text
    assert client.get("/docs").status_code == 200


def test_cors_allows_configured_portal_only(client: TestClient) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    allowed = client.options(
        "/api/ask", headers={"Origin": "https://portal.exemple.cat", **preflight}
    )
    assert allowed.headers["access-control-allow-origin"] == "https://portal.exemple.cat"
    other = client.options("/api/ask", headers={"Origin": "https://altre.exemple.cat", **preflight})
    assert "access-control-allow-origin" not in other.headers


class OwnedServiceDouble(ServiceDouble):
    """Stands in for the AssistantService that create_app builds when given none."""

    instances: ClassVar[list[OwnedServiceDouble]] = []
    fail_warm_up = False

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.ready = False
        self.events: list[str] = []
        OwnedServiceDouble.instances.append(self)

    def warm_up(self) -> None:
        self.events.append("warm_up")
        if self.fail_warm_up:
            raise IndexNotReadyError("no index")
        self.ready = True

    def close(self) -> None:
        self.events.append("close")


@pytest.mark.parametrize("index_exists", [True, False])
def test_app_owns_its_service_lifecycle(
    monkeypatch: pytest.MonkeyPatch, tmp_path, index_exists: bool
) -> None:
    monkeypatch.setattr("assistant.api.app.AssistantService", OwnedServiceDouble)
    monkeypatch.setattr(OwnedServiceDouble, "instances", [])
    monkeypatch.setattr(OwnedServiceDouble, "fail_warm_up", not index_exists)
    seen: list[str] = []

    async def on_start(service: AssistantService) -> None:
        seen.append(f"start:{cast(OwnedServiceDouble, service).events}")

    async def on_stop(service: AssistantService) -> None:
        seen.append("stop")

    app = create_app(
        settings=Settings(data_dir=tmp_path), on_startup=[on_start], on_shutdown=[on_stop]
    )
    (service,) = OwnedServiceDouble.instances
    assert service.events == []  # nothing heavy happens before the server starts
    with TestClient(app) as client:
        assert client.get("/ready").status_code == (200 if index_exists else 503)
        assert client.get("/health").status_code == 200
    assert seen == ["start:['warm_up']", "stop"]
    assert service.events == ["warm_up", "close"]


def test_injected_service_is_left_to_its_owner(double: ServiceDouble) -> None:
    # The double has no warm_up or close: calling either would fail the lifespan.
    with TestClient(create_app(service=cast(AssistantService, double))) as client:
        assert client.get("/ready").status_code == 200
