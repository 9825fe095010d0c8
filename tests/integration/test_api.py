"""The HTTP API on the real AssistantService (real model, local Qdrant, sample corpus)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.models import Hit
from assistant.service import AssistantService

pytestmark = pytest.mark.integration

HIT_KEYS = set(Hit.model_fields)
WIFI_QUESTION = "Hi ha ajuts per posar wifi a la plaça?"


@pytest.fixture(scope="module")
def client(assistant_service: AssistantService) -> Iterator[TestClient]:
    with TestClient(create_app(service=assistant_service)) as test_client:
        yield test_client


def feedback_rows(sqlite_path: Path) -> list[dict[str, Any]]:
    """Every row of the feedback table(s), whatever the storage names its columns."""
    with closing(sqlite3.connect(sqlite_path)) as db:
        db.row_factory = sqlite3.Row
        tables = [
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%feedback%'"
            )
        ]
        return [dict(row) for t in tables for row in db.execute(f'SELECT * FROM "{t}"')]


def parse_sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.replace("\r\n", "\n").strip().split("\n\n"):
        name, data = "message", []
        for line in block.splitlines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events


def codis(hits: list[dict[str, Any]]) -> list[str | None]:
    return [hit["codi"] for hit in hits]


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").status_code == 200


def test_search_returns_hits_of_the_exact_shape(client: TestClient) -> None:
    response = client.post("/api/search", json={"query": "wifi a la plaça", "top_k": 5})
    assert response.status_code == 200
    results = response.json()["results"]
    assert 0 < len(results) <= 5
    for hit in results:
        assert set(hit) == HIT_KEYS
        assert hit["kind"] in ("recurs", "normativa", "faq")
        assert isinstance(hit["score"], float) and hit["title"] and hit["source"]
    assert "22133" in codis(results)
    scores = [hit["score"] for hit in results]
    assert scores == sorted(scores, reverse=True)


def test_search_filters_apply(client: TestClient) -> None:
    body = {"query": "ajuts per arreglar camins", "top_k": 10, "filters": {"tipologia": "econòmic"}}
    results = client.post("/api/search", json=body).json()["results"]
    assert results
    assert {hit["metadata"].get("tipologia") for hit in results} == {"econòmic"}
    body = {"query": "justificació de l'ajut", "filters": {"kind": "normativa"}}
    results = client.post("/api/search", json=body).json()["results"]
    assert results and {hit["kind"] for hit in results} == {"normativa"}


def test_search_unknown_filter_is_a_catalan_422(client: TestClient) -> None:
    response = client.post("/api/search", json={"query": "wifi", "filters": {"municipi": "Vic"}})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("Filtre desconegut: municipi.")


def test_ask_cites_the_right_resource(client: TestClient) -> None:
    response = client.post("/api/ask", json={"question": WIFI_QUESTION})
    assert response.status_code == 200
    answer = response.json()
    assert answer["grounded"] is True
    assert "22133" in codis(answer["sources"])
    assert answer["answer"].strip() and answer["conversation_id"]
    for hit in answer["sources"]:
        assert set(hit) == HIT_KEYS


def test_ask_long_question_is_rejected(client: TestClient) -> None:
    response = client.post("/api/ask", json={"question": "subvenció " * 1000})
    assert response.status_code == 422
    assert "massa llarga" in response.json()["detail"]


def test_stream_yields_start_deltas_then_sources(client: TestClient) -> None:
    response = client.post("/api/ask/stream", json={"question": WIFI_QUESTION})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    names = [name for name, _ in events]
    assert names[0] == "start" and names[-1] == "sources"
    assert names.count("start") == 1 and names.count("sources") == 1
    assert set(names[1:-1]) == {"delta"}
    start, final = events[0][1], events[-1][1]
    assert start["conversation_id"] == final["conversation_id"]
    assert final["message_id"]
    # The service stores the turn (and so names the message) only once it is answered.
    assert start.get("message_id") in (None, final["message_id"])
    streamed = "".join(data["text"] for name, data in events if name == "delta")
    assert streamed.strip() and final["answer"].strip()
    assert "22133" in codis(final["sources"])


def test_feedback_is_stored(client: TestClient, assistant_service: AssistantService) -> None:
    answer = client.post("/api/ask", json={"question": WIFI_QUESTION}).json()
    sqlite_path = assistant_service.settings.sqlite_path
    before = len(feedback_rows(sqlite_path))
    body = {
        "conversation_id": answer["conversation_id"],
        "message_id": answer["message_id"],
        "rating": -1,
        "comment": "Falta el termini",
    }
    response = client.post("/api/feedback", json=body)
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    rows = feedback_rows(sqlite_path)
    assert len(rows) == before + 1
    assert any(answer["conversation_id"] in row.values() and -1 in row.values() for row in rows)


def test_feedback_for_an_unknown_conversation_is_rejected(client: TestClient) -> None:
    response = client.post("/api/feedback", json={"conversation_id": "no-existeix", "rating": 1})
    assert response.status_code == 404
    assert response.json()["detail"]


def test_follow_up_keeps_the_context(client: TestClient) -> None:
    first = client.post("/api/ask", json={"question": WIFI_QUESTION}).json()
    follow_up = client.post(
        "/api/ask",
        json={
            "question": "I fins quan es pot demanar?",
            "conversation_id": first["conversation_id"],
        },
    ).json()
    assert follow_up["conversation_id"] == first["conversation_id"]
    assert "22133" in codis(follow_up["sources"])
    assert client.delete(f"/api/conversations/{first['conversation_id']}").status_code == 204


def test_resource_card_and_unknown_code(client: TestClient) -> None:
    hit = client.get("/api/resources/22133").json()
    assert hit["codi"] == "22133" and hit["kind"] == "recurs" and set(hit) == HIT_KEYS
    missing = client.get("/api/resources/00000")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "No hi ha cap recurs del catàleg amb el codi 00000."}


def test_open_resources_contain_the_date(client: TestClient) -> None:
    results = client.get("/api/open", params={"date": "2022-03-15", "limit": 50}).json()["results"]
    assert results
    for hit in results:
        meta = hit["metadata"]
        assert hit["kind"] == "recurs"
        assert meta["termini_inici"] <= "2022-03-15" <= meta["termini_fi"]


# The catalogue for the front ends: reference date, facets, cards ------------------------
@pytest.fixture(scope="module")
def dated_client(
    assistant_service: AssistantService, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """The app on a service whose reference date is fixed (CONCERTA_TODAY=2022-03-01)."""
    from tests.support.browser import dated_service

    with (
        dated_service(assistant_service, tmp_path_factory.mktemp("api-dated")) as service,
        TestClient(create_app(service=service)) as test_client,
    ):
        yield test_client


def test_the_reference_date_is_the_fixed_one(
    dated_client: TestClient, client: TestClient, assistant_service: AssistantService
) -> None:
    assert dated_client.get("/api/reference-date").json() == {
        "date": "2022-03-01",
        "text": "1 de març de 2022",
        "fixed": True,
    }
    # The session service runs on today's date (unless CONCERTA_TODAY is in the environment).
    today = client.get("/api/reference-date").json()
    assert today["date"] == assistant_service.today().isoformat()
    assert today["fixed"] is (assistant_service.settings.today is not None)


def test_open_defaults_to_the_reference_date(dated_client: TestClient) -> None:
    default = dated_client.get("/api/open", params={"limit": 100}).json()["results"]
    given = dated_client.get("/api/open", params={"date": "2022-03-01", "limit": 100}).json()
    assert default and [h["codi"] for h in default] == [h["codi"] for h in given["results"]]
    for hit in default:
        assert hit["metadata"]["termini_inici"] <= "2022-03-01" <= hit["metadata"]["termini_fi"]


def test_facets_count_the_catalogue(dated_client: TestClient) -> None:
    facets = dated_client.get("/api/facets").json()
    assert facets["resources"] == 144
    assert sum(f["count"] for f in facets["area"]) == 144
    assert {f["value"] for f in facets["tipologia"]} == {"tècnic", "econòmic", "material"}
    assert len(facets["area"]) == 12 and all(f["count"] == 12 for f in facets["area"])
    assert "Fons de prestació" in {f["value"] for f in facets["classe"]}
    assert facets["destinataris"][0] == {"value": "Ajuntaments", "count": 143}


def test_the_engines_facet_counts_equal_a_count_of_every_resource(
    assistant_service: AssistantService,
) -> None:
    from assistant.cards import facets_of

    counted = facets_of(assistant_service.catalogue_resources())
    assert assistant_service.catalogue_facets() == counted


def test_cards_by_code_with_the_window_on_the_reference_date(dated_client: TestClient) -> None:
    body = dated_client.get("/api/cards", params=[("codi", "22133"), ("codi", "22101")]).json()
    assert body["reference_date"]["date"] == "2022-03-01"
    wifi, plan = body["cards"]
    assert (wifi["codi"], plan["codi"]) == ("22133", "22101")  # in the order asked
    assert wifi["window"] == {
        "state": "upcoming",
        "opens": "2022-03-15",
        "closes": "2022-05-13",
        "text": "s'obre el 15 de març de 2022",
        "open_now": False,
    }
    assert plan["window"]["text"] == "obert fins al 31 de març de 2022"
    assert wifi["import"] == "Fins a 20.000 € per ens"
    assert wifi["contacts"][0] == {
        "kind": "phone",
        "label": "93 400 17 70",
        "href": "tel:+34934001770",
    }
    assert wifi["source_title"] == "Catàleg de serveis 2022"
    bad = dated_client.get("/api/cards", params={"codi": "../admin"})
    assert bad.status_code == 422 and "cinc xifres" in bad.json()["detail"]


def test_cards_by_state_and_filter(dated_client: TestClient) -> None:
    body = dated_client.get(
        "/api/cards", params=[("state", "open"), ("tipologia", "econòmic")]
    ).json()
    cards = body["cards"]
    assert cards and all(c["window"]["state"] == "open" for c in cards)
    assert all(c["tipologia"] == "econòmic" for c in cards)
    closes = [c["window"]["closes"] for c in cards]
    assert closes == sorted(closes)  # closing soonest first
    every = dated_client.get("/api/cards").json()["cards"]
    assert len(every) == 144
    assert dated_client.get("/api/cards", params={"state": "ara"}).status_code == 422


def test_docs_assets_are_served_locally(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "/docs/assets/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower() and "<script>" not in page.text
    bundle = client.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and bundle.headers["content-type"].startswith(
        "text/javascript"
    )
    redoc = client.get("/docs/assets/redoc.standalone.js")
    assert redoc.status_code == 200 and b"cdn.redoc.ly" not in redoc.content
    assert client.get("/redoc").status_code == 200
    assert client.get("/docs/assets/passwd").status_code == 404
    assert client.get("/openapi.json").json()["paths"]["/api/cards"]
