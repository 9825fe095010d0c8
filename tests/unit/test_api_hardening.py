"""The HTTP edge on a public portal: short error bodies, a truthful OpenAPI document,
security headers, and 413/429 that reach a widget on another origin.

The service is the hand-written double of test_api_validation.py (these tests are about
the edge, not retrieval); the real service is in tests/integration/test_portal.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.api.schemas import NOT_BLANK
from assistant.api.security_headers import page_policy
from assistant.errors import NotFoundError
from assistant.service import AssistantService
from index_config import Settings
from index_config.settings import LimitSettings, RateLimit
from tests.unit.test_api_validation import ServiceDouble

PORTAL = "https://portal.exemple.cat"
MAX_ERROR_BYTES = 2048


@pytest.fixture
def double() -> ServiceDouble:
    return ServiceDouble()


def app_client(double: ServiceDouble, **limits: Any) -> TestClient:
    settings = Settings(cors_origins=[PORTAL], limits=LimitSettings(**limits))
    app = create_app(service=cast(AssistantService, double), settings=settings)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def client(double: ServiceDouble) -> Iterator[TestClient]:
    with app_client(double) as test_client:
        yield test_client


def only_detail(response: Any) -> str:
    body = response.json()
    assert set(body) == {"detail"} and isinstance(body["detail"], str)
    assert len(response.content) < MAX_ERROR_BYTES
    return str(body["detail"])


# ---- error bodies never echo the request -------------------------------------------------
BAD_BODIES: list[tuple[str, Any]] = [
    ("/api/search", {"query": "wifi", "filters": {f"k{i}": 1 for i in range(5000)}}),
    ("/api/search", {"query": "wifi", "filters": {"area": "x" * 60_000}}),
    ("/api/search", {"query": "wifi", "x" * 60_000: 1}),
    ("/api/search", {"query": "wifi", **{f"extra{i}": i for i in range(3000)}}),
    ("/api/search", [{"query": "x" * 100}] * 500),
    ("/api/search", {"query": "wifi", "filters": {"obert_a": "y" * 50_000}}),
    ("/api/ask", {"question": "q" * 60_000}),
    ("/api/ask", {"question": "hola", "conversation_id": "c" * 60_000}),
    ("/api/ask", {"question": "hola", "focus": "f" * 60_000}),
    ("/api/feedback", {"conversation_id": "c", "rating": 1, "comment": "z" * 60_000}),
    ("/api/feedback", {"conversation_id": "c", "rating": "é" * 20_000}),
]


@pytest.mark.parametrize(("route", "body"), BAD_BODIES)
def test_error_bodies_stay_short(client: TestClient, route: str, body: Any) -> None:
    content = json.dumps(body, ensure_ascii=False).encode()
    assert len(content) < 64 * 1024  # under the body limit: these reach validation
    response = client.post(route, content=content, headers={"content-type": "application/json"})
    assert response.status_code == 422
    detail = only_detail(response)
    assert "x" * 50 not in detail and "é" * 50 not in detail


def test_unknown_filters_are_named_briefly(client: TestClient) -> None:
    one = client.post("/api/search", json={"query": "wifi", "filters": {"municipi": "Vic"}})
    assert only_detail(one).startswith("Filtre desconegut: municipi. Els filtres acceptats són:")
    many = {f"k{i}": 1 for i in range(800)}
    detail = only_detail(client.post("/api/search", json={"query": "wifi", "filters": many}))
    assert detail.startswith("Filtres desconeguts: k0, k1, k2 i 797 més.")


def test_a_filter_value_has_a_length_limit(client: TestClient, double: ServiceDouble) -> None:
    response = client.post("/api/search", json={"query": "wifi", "filters": {"area": "a" * 201}})
    assert response.status_code == 422
    assert only_detail(response) == "Valor de filtre no vàlid: area és massa llarg."
    assert double.calls == []


@pytest.mark.parametrize(
    ("route", "body", "message"),
    [
        ("/api/search", {"query": "wifi", "top_k": True}, "top_k"),
        ("/api/search", {"query": "wifi", "top_k": "5"}, "top_k"),
        ("/api/search", {"query": "wifi", "top_k": 5.5}, "top_k"),
        ("/api/search", {"query": "wifi", "filters": {"obert_a": 0}}, "obert_a"),
        ("/api/search", {"query": "wifi", "filters": {"any": True}}, "any"),
        ("/api/feedback", {"conversation_id": "c1", "rating": True}, "valoració"),
    ],
)
def test_json_true_is_not_one_and_zero_is_not_a_date(
    client: TestClient, route: str, body: dict[str, Any], message: str
) -> None:
    response = client.post(route, json=body)
    assert response.status_code == 422
    assert message in only_detail(response)


def test_open_date_must_be_a_date(client: TestClient) -> None:
    for value in ("0", "20220301", "1646092800"):
        response = client.get(f"/api/open?date={value}")
        assert response.status_code == 422
        assert only_detail(response) == "La data ha de tenir el format AAAA-MM-DD."


# Blank for Python (U+001D, U+0085) or for JSON Schema's regular expressions (U+FEFF):
# blank for both, so the schema and the API agree.
@pytest.mark.parametrize("query", ["", " ", "\t\n", "\x1d", "\x85", "\ufeff", "\u3000 "])
def test_an_empty_query_is_rejected_like_a_blank_one(client: TestClient, query: str) -> None:
    response = client.post("/api/search", json={"query": query})
    assert response.status_code == 422
    assert only_detail(response) == "Escriviu què voleu cercar: la cerca no pot estar buida."


def test_feedback_for_an_unknown_conversation_is_404(
    client: TestClient, double: ServiceDouble
) -> None:
    double.error = NotFoundError("No es troba aquesta conversa.")
    response = client.post("/api/feedback", json={"conversation_id": "admin", "rating": 1})
    assert response.status_code == 404
    assert only_detail(response) == "No es troba aquesta conversa."


# ---- 413 and 429, on this origin and another ---------------------------------------------
def test_413_and_429_carry_cors_headers_and_a_catalan_detail(double: ServiceDouble) -> None:
    with app_client(double, ask=RateLimit(per_minute=1, burst=1)) as client:
        origin = {"Origin": PORTAL}
        big = client.post("/api/search", content=b"{" + b" " * 70_000 + b"}", headers=origin)
        assert big.status_code == 413
        assert big.headers["access-control-allow-origin"] == PORTAL
        assert only_detail(big).startswith("La petició és massa gran: el màxim són 64 KB.")
        assert (
            client.post("/api/ask", json={"question": "wifi?"}, headers=origin).status_code == 200
        )
        limited = client.post("/api/ask/stream", json={"question": "wifi?"}, headers=origin)
        assert limited.status_code == 429
        assert limited.headers["access-control-allow-origin"] == PORTAL
        assert "Retry-After" in limited.headers["access-control-expose-headers"]
        assert int(limited.headers["retry-after"]) >= 1
        assert only_detail(limited).startswith("Heu enviat massa peticions en poc temps.")
        assert limited.headers["x-request-id"]
        metrics = client.get("/metrics").text
        assert "concerta_rate_limited_total 1.0" in metrics
        assert 'route="/api/ask/stream",status="429"' in metrics
    assert [name for name, _ in double.calls] == ["ask"]  # the limited request never got in


# ---- security headers --------------------------------------------------------------------
def test_pages_get_a_policy_without_inline_script(client: TestClient) -> None:
    for path in ("/", "/demo"):
        for response in (client.get(path), client.head(path)):
            assert response.status_code == 200, path
            headers = response.headers
            policy = headers["content-security-policy"]
            assert "script-src 'self';" in policy
            assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
            assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["referrer-policy"] == "no-referrer"
            assert headers["x-frame-options"] == "DENY"


def test_a_pages_own_style_blocks_are_allowed_by_hash_only() -> None:
    policy = page_policy("<style>body { color: red }</style><script>alert(1)</script>")
    assert "'sha256-" in policy.split("style-src")[1].split(";")[0]
    assert policy.split("script-src")[1].split(";")[0].strip() == "'self'"
    docs = page_policy(
        '<link href="https://cdn.example/ui.css"><script src="https://cdn.example/ui.js">'
        "</script><script>start()</script>",
        docs=True,
    )
    scripts = docs.split("script-src")[1].split(";")[0]
    assert "https://cdn.example" in scripts and "'sha256-" in scripts


def test_only_the_redoc_page_allows_styles_its_script_inserts(client: TestClient) -> None:
    redoc = client.get("/redoc").headers["content-security-policy"]
    assert "style-src 'self' 'unsafe-inline';" in redoc and "worker-src 'self' blob:" in redoc
    assert "script-src 'self';" in redoc
    for path in ("/", "/demo", "/docs"):
        policy = client.get(path).headers["content-security-policy"]
        assert "'unsafe-inline'" not in policy and "worker-src" not in policy


def test_scripts_styles_json_and_errors_get_headers_too(client: TestClient) -> None:
    widget = client.get("/widget.js")
    css = client.get("/static/widget.css")
    for response in (widget, css):
        assert response.headers["cross-origin-resource-policy"] == "cross-origin"
        assert response.headers["x-content-type-options"] == "nosniff"
    assert widget.headers["content-type"].startswith("text/javascript")
    assert css.headers["content-type"].startswith("text/css")
    for response in (
        client.post("/api/search", json={"query": "wifi"}),
        client.get("/api/no-existeix"),
        client.post("/api/search", json={}),
        client.post("/api/ask/stream", json={"question": "wifi?"}),
    ):
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"


# ---- the OpenAPI document ----------------------------------------------------------------
def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def test_the_openapi_document_declares_the_real_error_shapes(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert schemas["ErrorResponse"]["required"] == ["detail"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) and path != "/ready":  # {"status": ...}
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (path, status)
            if method == "post":
                assert {"413", "422", "429"} <= set(operation["responses"]), path
                assert operation["responses"]["429"]["headers"]["Retry-After"]["required"]


def test_every_string_a_client_sends_has_a_limit_in_the_schema(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    requests = ["SearchRequest", "AskRequest", "FeedbackRequest", "FilterValues"]
    for name in requests:
        assert schemas[name]["additionalProperties"] is False, name
        for node in walk(schemas[name]):
            if node.get("type") == "string":
                assert (
                    "maxLength" in node
                    or "enum" in node
                    or "format" in node
                    or ("pattern" in node and node["pattern"].startswith("^"))
                ), (name, node)
            assert node.get("type") != "array" or "maxItems" in node, (name, node)
    for path, operations in document["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                for node in walk(parameter["schema"]):
                    if node.get("type") == "string":
                        assert {"maxLength", "pattern", "format", "enum"} & set(node), (
                            path,
                            parameter,
                        )
    # Constraints written as JSON Schema keywords, never pydantic's own names.
    for node in walk(document):
        assert not {"ge", "le", "gt", "lt"} & set(node), node
    assert schemas["FilterValues"]["properties"]["any"]["anyOf"][0] == {
        "type": "integer", "minimum": 1900, "maximum": 2100,
    }  # fmt: skip
    search = schemas["SearchRequest"]["properties"]
    assert search["query"]["minLength"] == 1 and search["query"]["pattern"] == NOT_BLANK
    assert search["top_k"] == {
        "type": "integer", "maximum": 50, "minimum": 1, "title": "Top K",
        "description": "Nombre de resultats.", "default": 10,
    }  # fmt: skip


def test_json_integers_as_json_schema_reads_them(client: TestClient, double: ServiceDouble) -> None:
    response = client.post("/api/search", json={"query": "wifi", "top_k": 5.0})
    assert response.status_code == 200
    assert double.calls == [("search", ("wifi", 5, {}))]


def test_a_body_that_is_not_utf8_is_bad_json_not_an_undocumented_400(client: TestClient) -> None:
    response = client.post(
        "/api/feedback", content=b"\xff\xfe\xfa", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert only_detail(response) == "El cos de la petició no és un JSON vàlid."
