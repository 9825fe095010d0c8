"""Operators on the real app and service (real model, the session's sample index): the
token, the report and its gaps, the CSV, /metrics, request ids and request logs.

Each test gets a service with an empty conversation store of its own (a fresh data
folder) that shares the session's searcher, so the counts are exactly what it caused.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from assistant.api import create_app
from assistant.conversation import ConversationStore
from assistant.llm import LLMAnswerer
from assistant.models import Hit
from assistant.reporting.csv_export import HEADER
from assistant.service import AssistantService
from tests.conftest import make_settings
from tests.support.openai_server import Compute, Fail, OpenAICompatibleServer, Reply

pytestmark = pytest.mark.integration

TOKEN = "clau-de-proves-" + "7f3a" * 8
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HIT_KEYS = set(Hit.model_fields)
OPERATOR_ROUTES = ("/admin", "/api/admin/report", "/api/admin/report.csv")

ANSWERABLE = [
    "Hi ha ajuts per posar wifi a la plaça?",
    "Quins ajuts hi ha per arreglar camins municipals?",
    "Fins quan es poden justificar els recursos econòmics del Catàleg 2022?",
]
# Two needs the sample catalogue does not cover, each asked several ways.
LIFEGUARDS = [
    "Hi ha algun ajut per contractar socorristes per a la piscina municipal?",
    "Necessitem socorristes per a la piscina d'estiu, ens podeu ajudar?",
    "Com podem pagar els socorristes de la piscina municipal?",
    "Subvenció per a vigilants de la piscina municipal a l'estiu",
]
TOWING = [
    "Qui ens pot retirar els cotxes abandonats al carrer?",
    "Hi ha servei de grua per treure vehicles abandonats?",
    "Com retirem un cotxe abandonat de la via pública?",
]
UNRELATED = ["Com es fa una paella?"]
NO_RESULT_QUERY = "plaques solars a la teulada de l'escola"
NO_RESULT_FILTERS = {"any": 2031}  # no resource of that year: nothing matches
MINI = Path(__file__).resolve().parents[1] / "data" / "mini"


def operator_service(assistant_service: AssistantService, data_dir: Path, **settings: Any) -> Any:
    """A service on the session's index with an empty conversation store of its own."""
    own = make_settings(data_dir, **settings)
    service = AssistantService(own, searcher=assistant_service.searcher)
    service.conversations = ConversationStore(own.sqlite_path)
    return service


@pytest.fixture
def service(assistant_service: AssistantService, tmp_path: Path) -> Iterator[Any]:
    own = operator_service(assistant_service, tmp_path / "data", admin_token=TOKEN)
    yield own
    own.conversations.close()


@pytest.fixture
def client(service: Any) -> Iterator[TestClient]:
    with TestClient(create_app(service=service)) as test_client:
        yield test_client


def metric_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def sample(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# ---- the token ------------------------------------------------------------------------
def test_without_a_token_the_operator_routes_do_not_exist(
    assistant_service: AssistantService, tmp_path: Path
) -> None:
    service = operator_service(assistant_service, tmp_path / "data", admin_token=None)
    with TestClient(create_app(service=service)) as client:
        for route in OPERATOR_ROUTES:
            for headers in ({}, AUTH):
                response = client.get(route, headers=headers)
                assert response.status_code == 404, route
                assert response.json() == {"detail": "No s'ha trobat el que demaneu."}
        assert client.get("/metrics").status_code == 200  # not an operator route by default
    service.conversations.close()


def test_with_a_token_operator_routes_need_it(client: TestClient) -> None:
    for route in ("/api/admin/report", "/api/admin/report.csv"):
        for headers in ({}, {"Authorization": "Bearer no-es-aquesta"}, {"Authorization": TOKEN}):
            response = client.get(route, headers=headers)
            assert response.status_code == 401, (route, headers)
            assert response.headers["www-authenticate"] == "Bearer"
            assert "clau d'operador" in response.json()["detail"]
        assert client.get(route, headers=AUTH).status_code == 200
    # The page holds no data: it is served, and asks for the token itself.
    page = client.get("/admin")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'src="/static/admin.js"' in page.text and "<script>" not in page.text
    assert client.get("/metrics").status_code == 200


def test_metrics_can_require_the_token(assistant_service: AssistantService, tmp_path: Path) -> None:
    service = operator_service(
        assistant_service, tmp_path / "data", admin_token=TOKEN, metrics_require_token=True
    )
    with TestClient(create_app(service=service)) as client:
        assert client.get("/metrics").status_code == 401
        response = client.get("/metrics", headers=AUTH)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
    service.conversations.close()


def test_the_report_is_in_the_openapi(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/api/admin/report"]["get"]
    assert [p["name"] for p in operation["parameters"]] == ["from", "to"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Report"
    }
    report = schema["components"]["schemas"]["Report"]["properties"]
    for field in ("questions", "answered", "refused", "by_day", "feedback", "top_resources",
                  "top_articles", "zero_result_searches", "gaps"):  # fmt: skip
        assert field in report
    assert operation["security"] == [{"operador": []}]


def test_a_bad_period_is_a_catalan_422(client: TestClient) -> None:
    response = client.get("/api/admin/report?from=2026-12-05&to=2026-12-01", headers=AUTH)
    assert response.status_code == 422
    assert (
        response.json()["detail"] == "La data inicial ha de ser anterior o igual a la data final."
    )
    response = client.get("/api/admin/report?from=5/12/2026", headers=AUTH)
    assert response.status_code == 422
    assert response.json()["detail"] == "La data inicial (from) ha de tenir el format AAAA-MM-DD."


# ---- the report ------------------------------------------------------------------------
def ask_everything(client: TestClient) -> dict[str, dict[str, Any]]:
    """Ask every question; the uncovered needs' answers that were not refused get a thumbs
    down (what an official would do), and one good answer a thumbs up."""
    answers = {}
    for question in ANSWERABLE + LIFEGUARDS + TOWING + UNRELATED:
        response = client.post("/api/ask", json={"question": question})
        assert response.status_code == 200
        answers[question] = response.json()
    for question in LIFEGUARDS + TOWING:
        if answers[question]["grounded"]:
            rate(client, answers[question], -1, "No parla del que demanàvem")
    rate(client, answers[ANSWERABLE[0]], 1, "Molt clar")
    return answers


def rate(client: TestClient, answer: dict[str, Any], rating: int, comment: str) -> None:
    body = {
        "conversation_id": answer["conversation_id"],
        "message_id": answer["message_id"],
        "rating": rating,
        "comment": comment,
    }
    assert client.post("/api/feedback", json=body).status_code == 200


def search_twice_for_nothing(client: TestClient) -> None:
    for _ in range(2):
        body = {"query": NO_RESULT_QUERY, "filters": NO_RESULT_FILTERS}
        response = client.post("/api/search", json=body)
        assert response.status_code == 200 and response.json()["results"] == []
    assert client.post("/api/search", json={"query": "wifi a la plaça"}).json()["results"]


def test_the_report_counts_what_was_asked_and_groups_the_gaps(client: TestClient) -> None:
    answers = ask_everything(client)
    search_twice_for_nothing(client)
    downs = sum(answers[q]["grounded"] for q in LIFEGUARDS + TOWING)  # thumbs down given
    report = client.get("/api/admin/report", headers=AUTH).json()

    answered = sum(a["grounded"] for a in answers.values())
    assert report["questions"] == len(answers) == 11
    assert (report["answered"], report["refused"]) == (answered, len(answers) - answered)
    assert report["answered_rate"] == round(answered / len(answers), 4)
    assert report["conversations"] == len(answers)
    assert sum(d["questions"] for d in report["by_day"]) == len(answers)
    assert sum(d["refused"] for d in report["by_day"]) == len(answers) - answered
    assert sum(report["refusal_reasons"].values()) == len(answers) - answered

    feedback = report["feedback"]
    assert (feedback["up"], feedback["down"]) == (1, downs)
    comments = Counter(item["comment"] for item in feedback["items"])
    assert comments == {"No parla del que demanàvem": downs, "Molt clar": 1}

    # Each uncovered need is one gap holding all its phrasings, and nothing else.
    for need in (LIFEGUARDS, TOWING):
        [gap] = [g for g in report["gaps"] if set(g["examples"]) & set(need)]
        assert sorted(gap["examples"]) == sorted(need)
        assert gap["count"] == len(need)
        assert gap["nearest"] and all(set(hit) == HIT_KEYS for hit in gap["nearest"])
    labels = {g["label"] for g in report["gaps"]}
    assert any("socorristes" in label.split(" · ") for label in labels)
    assert any("abandonats" in label.split(" · ") for label in labels)
    # Only refused or thumbs-down questions make gaps.
    gap_questions = {q for g in report["gaps"] for q in g["examples"]}
    expected = {q for q, a in answers.items() if not a["grounded"]} | set(LIFEGUARDS + TOWING)
    assert gap_questions == expected

    # The most cited resources: each answer citing a resource counts once.
    cited = Counter(
        codi
        for a in answers.values()
        for codi in {h["codi"] for h in a["sources"] if h["kind"] == "recurs"}
    )
    listed = {r["codi"]: r["citations"] for r in report["top_resources"]}
    assert listed and all(cited[codi] == n for codi, n in listed.items())
    assert "22133" in listed  # the wifi resource
    assert report["searches"] == 3
    assert report["zero_result_searches"] == [
        {
            "query": NO_RESULT_QUERY,
            "filters": NO_RESULT_FILTERS,
            "count": 2,
            "last_seen": report["zero_result_searches"][0]["last_seen"],
        }
    ]


def test_the_csv_has_one_row_per_question(client: TestClient) -> None:
    answers = ask_everything(client)
    response = client.get("/api/admin/report.csv", headers=AUTH)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert tuple(rows[0]) == HEADER
    assert len(rows) == 1 + len(answers)
    by_question = {row[2]: dict(zip(HEADER, row, strict=True)) for row in rows[1:]}
    assert set(by_question) == set(answers)
    for question, answer in answers.items():
        row = by_question[question]
        assert row["conversation"] == answer["conversation_id"]
        assert row["answered"] == ("1" if answer["grounded"] else "0")
        assert bool(row["refusal_reason"]) is (not answer["grounded"])
    assert by_question[ANSWERABLE[0]]["rating"] == "1"
    assert "22133" in by_question[ANSWERABLE[0]]["sources"].split("; ")
    for question in LIFEGUARDS + TOWING:
        if answers[question]["grounded"]:
            assert by_question[question]["rating"] == "-1"


# ---- metrics ---------------------------------------------------------------------------
def test_metrics_show_what_the_test_caused(client: TestClient, service: Any) -> None:
    answers = ask_everything(client)
    search_twice_for_nothing(client)
    client.get("/no-existeix/12345")
    samples = metric_samples(client.get("/metrics").text)

    requests = "concerta_http_requests_total"
    ask = {"route": "/api/ask", "method": "POST"}
    assert sample(samples, requests, status="200", **ask) == len(answers)
    feedbacks = 1 + sum(a["grounded"] for q, a in answers.items() if q in LIFEGUARDS + TOWING)
    assert (
        sample(samples, requests, route="/api/feedback", method="POST", status="200") == feedbacks
    )
    assert sample(samples, requests, route="/api/search", method="POST", status="200") == 3
    # Unknown addresses share one label, whatever their path.
    assert sample(samples, requests, route="unmatched", method="GET", status="404") == 1
    latency = "concerta_http_request_duration_seconds_count"
    assert sample(samples, latency, **ask) == len(answers)
    assert sample(
        samples, "concerta_http_request_duration_seconds_bucket", le="+Inf", **ask
    ) == len(answers)

    answered = sum(a["grounded"] for a in answers.values())
    assert sample(samples, "concerta_answers_total", outcome="answered", reason="") == answered
    refused = sum(v for (name, labels), v in samples.items()
                  if name == "concerta_answers_total" and ("outcome", "refused") in labels)  # fmt: skip
    assert refused == len(answers) - answered
    assert sample(samples, "concerta_feedback_total", rating="up") == 1
    assert sample(samples, "concerta_feedback_total", rating="down") == feedbacks - 1
    assert sample(samples, "concerta_rate_limited_total") == 0
    assert sample(samples, "concerta_llm_calls_total") == 0

    opened = service.searcher.index.peek()
    assert sample(samples, "concerta_index_chunks") == opened.count > 0
    assert sample(samples, "concerta_index_info", version=opened.version) == 1
    assert sample(samples, "concerta_ingest_runs_total", result="ok") == 0


def test_metrics_count_llm_calls_and_fallbacks(
    assistant_service: AssistantService, tmp_path: Path
) -> None:
    with OpenAICompatibleServer() as server:
        service = operator_service(
            assistant_service, tmp_path / "data", llm_base_url=server.base_url, llm_timeout=5
        )
        service.llm = LLMAnswerer(service.settings)
        service.llm.warm_up()
        server.script(
            Compute(lambda body: Reply("Vegeu el recurs de la font [1].", pieces=2)),
            Compute(lambda body: Reply("Us donen 987.654 € [1].", pieces=2)),
            Fail(500),
        )
        with TestClient(create_app(service=service)) as client:
            for _ in range(3):
                answer = client.post("/api/ask", json={"question": ANSWERABLE[0]}).json()
                assert answer["grounded"] is True
            samples = metric_samples(client.get("/metrics").text)
        service.llm.close()
        service.conversations.close()
    assert sample(samples, "concerta_llm_calls_total") == 3
    assert sample(samples, "concerta_llm_fallbacks_total", reason="rejected") == 1
    assert sample(samples, "concerta_llm_fallbacks_total", reason="error") == 1
    assert sample(samples, "concerta_llm_fallbacks_total", reason="refusal") == 0


def test_metrics_read_the_last_ingest_run(
    assistant_service: AssistantService, tmp_path: Path
) -> None:
    """`concerta ingest` writes the status file that /metrics reads (it usually runs in
    a process of its own, so the server's registry cannot count it)."""
    from typer.testing import CliRunner

    from assistant.cli import app as cli

    data_dir = tmp_path / "data"
    env = {"CONCERTA_DATA_DIR": str(data_dir)}
    source, missing = str(MINI / "guia-justificacio.md"), str(tmp_path / "no-hi-es.md")
    assert CliRunner().invoke(cli, ["ingest", source], env=env).exit_code == 0
    assert CliRunner().invoke(cli, ["ingest", source, missing], env=env).exit_code == 2
    service = operator_service(assistant_service, data_dir)
    with TestClient(create_app(service=service)) as client:
        samples = metric_samples(client.get("/metrics").text)
    service.conversations.close()
    assert sample(samples, "concerta_ingest_runs_total", result="ok") == 1
    assert sample(samples, "concerta_ingest_runs_total", result="partial") == 1
    assert sample(samples, "concerta_ingest_runs_total", result="error") == 0
    assert sample(samples, "concerta_ingest_last_run_success") == 0
    assert sample(samples, "concerta_ingest_last_run_documents", change="failed") == 1
    assert sample(samples, "concerta_ingest_last_run_documents", change="unchanged") == 1
    assert sample(samples, "concerta_ingest_last_run_timestamp_seconds") > 0


# ---- request ids and logs --------------------------------------------------------------
def test_every_response_carries_a_request_id_that_the_log_line_names(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="concerta.requests")
    responses = [
        client.post("/api/ask", json={"question": ANSWERABLE[0]}),
        client.post("/api/ask", json={"question": ""}),
        client.get("/api/resources/00000"),
        client.get("/api/admin/report"),
        client.get("/health"),
    ]
    ids = [r.headers["x-request-id"] for r in responses]
    assert len(set(ids)) == len(ids) and all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    lines = [r.request for r in caplog.records if r.name == "concerta.requests"]  # type: ignore[attr-defined]
    assert [line["request_id"] for line in lines] == ids
    assert [(line["route"], line["status"]) for line in lines] == [
        ("/api/ask", 200),
        ("/api/ask", 422),
        ("/api/resources/{codi}", 404),
        ("/api/admin/report", 401),
        ("/health", 200),
    ]
    assert all(line["method"] in ("GET", "POST") and line["duration_ms"] >= 0 for line in lines)
    assert all(line["client"] == "testclient" for line in lines)
    # Privacy: the question is in no request log line.
    assert not any(ANSWERABLE[0] in r.getMessage() for r in caplog.records)


def test_an_unexpected_error_still_carries_the_request_id(
    assistant_service: AssistantService, tmp_path: Path
) -> None:
    service = operator_service(assistant_service, tmp_path / "data")
    service.conversations.close()  # a closed database: the next question fails inside
    with TestClient(create_app(service=service), raise_server_exceptions=False) as client:
        response = client.post("/api/ask", json={"question": ANSWERABLE[0]})
    assert response.status_code == 500
    assert response.json()["detail"].startswith("S'ha produït un error inesperat.")
    assert len(response.headers["x-request-id"]) == 32


# ---- concerta report -------------------------------------------------------------------
def test_concerta_report_prints_the_same_report(
    indexed_settings: Any, assistant_service: AssistantService, tmp_path: Path
) -> None:
    """The CLI opens a copy of the session index and a store where questions were asked."""
    import json
    import shutil

    from typer.testing import CliRunner

    from assistant.cli import app as cli

    data_dir = tmp_path / "data"
    shutil.copytree(
        indexed_settings.qdrant_dir, data_dir / "qdrant", ignore=shutil.ignore_patterns(".lock")
    )
    service = operator_service(assistant_service, data_dir)
    asked = [ANSWERABLE[0], *TOWING]
    answers = [service.ask(q) for q in asked]
    service.conversations.close()
    env = {"CONCERTA_DATA_DIR": str(data_dir), "COLUMNS": "200"}

    as_json = CliRunner().invoke(cli, ["report", "--json"], env=env)
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.stdout)
    assert report["questions"] == len(asked)
    assert report["answered"] == sum(a.grounded for a in answers)
    refused = [q for q, a in zip(asked, answers, strict=True) if not a.grounded]
    assert sorted(q for g in report["gaps"] for q in g["examples"]) == sorted(refused)

    tables = CliRunner().invoke(cli, ["report"], env=env)
    assert tables.exit_code == 0, tables.output
    assert "Xifres del període" in tables.stdout and "Preguntes" in tables.stdout
    if refused:
        assert "Necessitats sense resposta" in tables.stdout

    wrong = CliRunner().invoke(
        cli, ["report", "--from", "2026-12-05", "--to", "2026-12-01"], env=env
    )
    assert wrong.exit_code == 2
    assert "La data inicial ha de ser anterior o igual a la data final." in wrong.output
