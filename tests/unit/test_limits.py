"""Request limits at the edge: the body size middleware and the per-client rate limits.

On tiny Starlette apps (what the middleware wraps is not what is tested) and fake clocks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import Message, Scope

from assistant.api.limits import BodySizeLimit, too_large_message
from assistant.api.rate_limit import (
    CLIENT_STATE_KEY,
    RateLimitMiddleware,
    TokenBucketLimiter,
    client_address,
    parse_networks,
    too_many_message,
)
from index_config.settings import AskLimit, FeedbackLimit, LimitSettings, RateLimit, SearchLimit

LIMIT = 4096


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# ---- body size ---------------------------------------------------------------------------
def echo_app(seen: list[int]) -> Starlette:
    async def echo(request: Request) -> Response:
        body = await request.body()
        seen.append(len(body))
        return JSONResponse({"bytes": len(body)})

    async def ping(request: Request) -> Response:
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/echo", echo, methods=["POST"]), Route("/ping", ping)])
    app.add_middleware(BodySizeLimit, max_bytes=LIMIT)
    return app


@pytest.fixture
def seen() -> list[int]:
    return []


@pytest.fixture
def body_client(seen: list[int]) -> Iterator[TestClient]:
    with TestClient(echo_app(seen)) as client:
        yield client


def test_a_body_at_the_limit_reaches_the_app(body_client: TestClient, seen: list[int]) -> None:
    response = body_client.post("/echo", content=b"x" * LIMIT)
    assert response.status_code == 200 and response.json() == {"bytes": LIMIT}
    assert seen == [LIMIT]


def test_a_declared_length_over_the_limit_is_refused_unread(
    body_client: TestClient, seen: list[int]
) -> None:
    response = body_client.post("/echo", content=b"x" * (LIMIT + 1))
    assert response.status_code == 413
    assert response.json() == {"detail": too_large_message(LIMIT)}
    assert response.json()["detail"].startswith("La petició és massa gran: el màxim són 4 KB.")
    assert seen == []  # the app never saw it


def test_a_chunked_body_is_counted_as_it_arrives(seen: list[int]) -> None:
    """No Content-Length: the middleware stops reading at the limit and answers 413; the
    rest of the stream is never asked for."""
    chunk = b"y" * 1024
    pulled = 0

    async def body() -> Any:
        nonlocal pulled
        for _ in range(1000):  # a megabyte, if all of it were read
            pulled += 1
            yield chunk

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=echo_app(seen))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.post("/echo", content=body())

    response = asyncio.run(post())
    assert response.status_code == 413
    assert seen == []
    assert pulled <= LIMIT // len(chunk) + 2


def test_a_small_chunked_body_is_replayed_whole(seen: list[int]) -> None:
    async def body() -> Any:
        for piece in (b'{"a":', b" 1}"):
            yield piece

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=echo_app(seen))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.post("/echo", content=body())

    assert asyncio.run(post()).json() == {"bytes": 8}


def test_requests_without_a_body_pass(body_client: TestClient) -> None:
    assert body_client.get("/ping").json() == {"ok": True}


def test_the_app_still_hears_a_disconnect_after_the_body() -> None:
    """The replayed body is one message; the next receive() reaches the server."""
    messages: list[Message] = [
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.request", "body": b"c", "more_body": False},
        {"type": "http.disconnect"},
    ]
    received: list[Message] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        received.append(await receive())
        received.append(await receive())

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        raise AssertionError("nothing to send")

    scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    asyncio.run(BodySizeLimit(app, LIMIT)(scope, receive, send))
    assert received == [
        {"type": "http.request", "body": b"abc", "more_body": False},
        {"type": "http.disconnect"},
    ]


# ---- token bucket ----------------------------------------------------------------------
def test_a_bucket_allows_its_burst_then_refills_at_its_rate() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(RateLimit(per_minute=6, burst=3), max_keys=100, clock=clock)
    assert [limiter.acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("a") == pytest.approx(10.0)  # one token every 10 s
    assert limiter.acquire("b") == 0.0  # clients do not share buckets
    clock.advance(5)
    assert limiter.acquire("a") == pytest.approx(5.0)
    clock.advance(5)
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") == pytest.approx(10.0)
    clock.advance(3600)  # a long pause refills to the burst, never beyond
    assert [limiter.acquire("a") for _ in range(4)][-1] > 0


def test_the_bucket_table_is_bounded() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(RateLimit(per_minute=1, burst=1), max_keys=100, clock=clock)
    limiter.acquire("first")
    for n in range(500):
        limiter.acquire(f"10.0.{n // 256}.{n % 256}")
    assert len(limiter) == 100
    assert limiter.acquire("first") == 0.0  # forgotten: a full bucket again


# ---- who the client is ------------------------------------------------------------------
def scope_from(peer: str, forwarded: str | None = None, header: str = "x-forwarded-for") -> Scope:
    headers = [(header.encode(), forwarded.encode())] if forwarded is not None else []
    return {"type": "http", "client": (peer, 5000), "headers": headers}


TRUSTED = parse_networks(["10.0.0.1", "192.168.0.0/16"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.9", None, "203.0.113.9"),
        # A client cannot choose its address: the header counts only from a trusted proxy.
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),
        ("10.0.0.1", "198.51.100.1", "198.51.100.1"),
        # What the client wrote itself is on the left; the proxy appends what it saw.
        ("10.0.0.1", "1.2.3.4, 198.51.100.1", "198.51.100.1"),
        # Several trusted proxies in a row are skipped.
        ("10.0.0.1", "198.51.100.1, 192.168.4.4", "198.51.100.1"),
        ("10.0.0.1", "garbage, 198.51.100.1", "198.51.100.1"),
        ("10.0.0.1", "198.51.100.1, garbage", "10.0.0.1"),
        ("10.0.0.1", None, "10.0.0.1"),
        ("10.0.0.1", "2001:db8::7", "2001:db8::7"),
    ],
)
def test_client_address(peer: str, forwarded: str | None, expected: str) -> None:
    assert client_address(scope_from(peer, forwarded), TRUSTED, "X-Forwarded-For") == expected


def test_client_address_reads_the_configured_header_only() -> None:
    scope = scope_from("10.0.0.1", "198.51.100.1", header="x-real-ip")
    assert client_address(scope, TRUSTED, "X-Real-IP") == "198.51.100.1"
    assert client_address(scope, TRUSTED, "X-Forwarded-For") == "10.0.0.1"
    assert client_address(scope, (), "X-Real-IP") == "10.0.0.1"


# ---- the middleware ---------------------------------------------------------------------
class Metrics:
    def __init__(self) -> None:
        self.rate_limited = Counter("limited", "429s", registry=CollectorRegistry())

    def count(self) -> float:
        return float(self.rate_limited._value.get())


def limited_app(settings: LimitSettings, clock: FakeClock) -> tuple[Starlette, list[str]]:
    clients: list[str] = []

    async def answer(request: Request) -> Response:
        await request.body()
        clients.append(request.scope["state"][CLIENT_STATE_KEY])
        return JSONResponse({"ok": True})

    routes = [
        Route(path, answer, methods=["POST", "GET"])
        for path in ("/api/ask", "/api/ask/stream", "/api/search", "/api/feedback", "/api/open")
    ]
    app = Starlette(routes=routes)
    app.add_middleware(RateLimitMiddleware, settings=settings, clock=clock)
    app.state.metrics = Metrics()
    return app, clients


def test_429_after_the_limit_with_retry_after_and_a_catalan_detail() -> None:
    clock = FakeClock()
    settings = LimitSettings(ask=AskLimit(per_minute=2, burst=2))
    app, _ = limited_app(settings, clock)
    with TestClient(app) as client:
        assert client.post("/api/ask", json={}).status_code == 200
        assert client.post("/api/ask/stream", json={}).status_code == 200  # the same bucket
        refused = client.post("/api/ask", json={})
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "30"
        assert refused.json() == {"detail": too_many_message(30)}
        assert refused.json()["detail"].startswith("Heu enviat massa peticions en poc temps.")
        assert app.state.metrics.count() == 1
        # Other groups and other routes are not affected.
        assert client.post("/api/search", json={}).status_code == 200
        assert client.get("/api/open").status_code == 200
        assert client.get("/api/ask").status_code == 200  # only POST is limited
        clock.advance(30)
        assert client.post("/api/ask", json={}).status_code == 200
        assert client.post("/api/ask", json={}).status_code == 429
        assert app.state.metrics.count() == 2


def test_each_forwarded_client_has_its_own_bucket_behind_a_trusted_proxy() -> None:
    clock = FakeClock()
    settings = LimitSettings(
        feedback=FeedbackLimit(per_minute=1, burst=1), trusted_proxies=["testclient"]
    )
    # "testclient" is not an address: nothing is trusted, the header is ignored.
    app, clients = limited_app(settings.model_copy(update={"trusted_proxies": []}), clock)
    with TestClient(app) as client:
        headers = {"X-Forwarded-For": "198.51.100.1"}
        assert client.post("/api/feedback", json={}, headers=headers).status_code == 200
        headers = {"X-Forwarded-For": "198.51.100.2"}
        assert client.post("/api/feedback", json={}, headers=headers).status_code == 429
    assert clients == ["testclient"]

    app, clients = limited_app(
        settings.model_copy(update={"trusted_proxies": ["127.0.0.1"]}), clock
    )
    with TestClient(app, client=("127.0.0.1", 5000)) as client:
        for address in ("198.51.100.1", "198.51.100.2"):
            response = client.post("/api/feedback", json={}, headers={"X-Forwarded-For": address})
            assert response.status_code == 200
        again = client.post("/api/feedback", json={}, headers={"X-Forwarded-For": "198.51.100.1"})
        assert again.status_code == 429
    assert clients == ["198.51.100.1", "198.51.100.2"]


def test_exempt_clients_are_never_limited() -> None:
    clock = FakeClock()
    settings = LimitSettings(search=SearchLimit(per_minute=1, burst=1), exempt=["127.0.0.0/8"])
    app, _ = limited_app(settings, clock)
    with TestClient(app, client=("127.0.0.1", 5000)) as client:
        assert {client.post("/api/search", json={}).status_code for _ in range(5)} == {200}


def test_defaults_and_one_setting_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    from index_config import Settings

    limits = Settings().limits
    assert (limits.max_body_bytes, limits.trusted_proxies, limits.exempt) == (65536, [], [])
    assert (limits.ask.per_minute, limits.ask.burst) == (20, 20)
    assert (limits.search.per_minute, limits.search.burst) == (60, 30)
    assert (limits.feedback.per_minute, limits.feedback.burst) == (30, 15)
    monkeypatch.setenv("CONCERTA_LIMITS__SEARCH__BURST", "5")
    monkeypatch.setenv("CONCERTA_LIMITS__TRUSTED_PROXIES", '["10.0.0.0/8"]')
    limits = Settings().limits
    assert (limits.search.per_minute, limits.search.burst) == (60, 5)
    assert limits.trusted_proxies == ["10.0.0.0/8"]
