"""Issue 9's probes, repeated on the real app and service (sample index, real model):
huge bodies, one client asking too fast, made-up conversation ids, repeated feedback,
long follow-ups, error bodies, headers, and the bot's answer to a 429.

Served by uvicorn on 127.0.0.1 where the transport matters (body sizes, concurrency);
TestClient elsewhere.
"""

from __future__ import annotations

import collections
import concurrent.futures
import socket
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from assistant.api import create_app
from assistant.conversation import ConversationStore
from assistant.service import AssistantService
from bots.telegram.backend import HttpBackend, RateLimitedError
from index_config.settings import AskLimit, FeedbackLimit, LimitSettings
from tests.conftest import make_settings
from tests.support.live_server import serving

pytestmark = pytest.mark.integration

WIFI = "Hi ha ajuts per posar wifi a la plaça?"
CAMINS = "Quins ajuts hi ha per arreglar camins municipals?"
MB = 1024 * 1024


def own_service(assistant_service: AssistantService, data_dir: Path, **settings: Any) -> Any:
    """A service on the session's index with a conversation store and settings of its own."""
    own = make_settings(data_dir, **settings)
    service = AssistantService(own, searcher=assistant_service.searcher)
    service.conversations = ConversationStore(own.sqlite_path)
    return service


@pytest.fixture
def service(assistant_service: AssistantService, tmp_path: Path) -> Iterator[Any]:
    own = own_service(assistant_service, tmp_path / "data")
    yield own
    own.conversations.close()


@pytest.fixture
def client(service: Any) -> Iterator[TestClient]:
    with TestClient(create_app(service=service)) as test_client:
        yield test_client


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def send_huge_body(url: str, megabytes: int, chunked: bool) -> tuple[int, bytes]:
    """POST a body of `megabytes` over a raw socket, stopping as soon as the server has
    answered; returns the status and the response body."""
    parts = urlsplit(url)
    length = megabytes * MB
    head = (
        f"POST /api/ask HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
        + ("Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {length}\r\n")
        + "\r\n"
    ).encode()
    piece = b"a" * (64 * 1024)
    frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        sent = 0
        response = b""
        while sent < length and b"\r\n\r\n" not in response:
            try:
                sock.send(frame)
                sent += len(piece)
            except BlockingIOError:
                time.sleep(0.001)
            except (BrokenPipeError, ConnectionResetError):
                break
            with suppress(BlockingIOError):
                response += sock.recv(65536)
        sock.setblocking(True)
        while b"\r\n\r\n" not in response or not response.endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            response += chunk
    status = int(response.split(b" ", 2)[1])
    return status, response.split(b"\r\n\r\n", 1)[1]


def test_eight_huge_bodies_get_413_fast_without_a_memory_jump(service: Any) -> None:
    """The probe: 8 concurrent 100 MB bodies were read and parsed (684 -> 2,806 MB)."""
    with serving(create_app(service=service)) as url:
        before = rss_mb()
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(
                pool.map(lambda n: send_huge_body(url, 100, chunked=n % 2 == 1), range(8))
            )
        elapsed = time.monotonic() - started
        growth = rss_mb() - before
    assert [status for status, _ in results] == [413] * 8
    for _, body in results:
        assert b"massa gran" in body and len(body) < 2048
    assert elapsed < 10, elapsed  # the server never reads 800 MB
    assert growth < 50, growth


def test_one_client_asking_300_times_gets_429_after_its_limit(service: Any) -> None:
    """The probe: 300 x /api/ask from one client, 8 threads, were all answered."""
    app = create_app(service=service)
    with serving(app) as url, httpx.Client(base_url=url, timeout=60) as http:

        def ask(_: int) -> httpx.Response:
            return http.post("/api/ask", json={"question": WIFI})

        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(ask, range(300)))
        elapsed = time.monotonic() - started
        metrics = http.get("/metrics").text
    statuses = collections.Counter(r.status_code for r in responses)
    assert set(statuses) == {200, 429}
    # The burst (20), plus what refilled meanwhile (20 a minute).
    assert statuses[200] <= 20 + int(elapsed / 3) + 1
    for response in (r for r in responses if r.status_code == 429):
        assert 1 <= int(response.headers["retry-after"]) <= 3
        assert response.json()["detail"].startswith("Heu enviat massa peticions en poc temps.")
    assert f"concerta_rate_limited_total {float(statuses[429])}" in metrics


def test_made_up_and_foreign_conversation_ids_never_continue_a_conversation(
    client: TestClient, service: Any
) -> None:
    victim = client.post("/api/ask", json={"question": WIFI}).json()
    victim_id = victim["conversation_id"]
    assert len(victim_id) == 22
    for made_up in ("admin", "0" * 22, victim_id[:-1] + "x", victim_id.upper()):
        answer = client.post(
            "/api/ask", json={"question": "I l'import?", "conversation_id": made_up}
        ).json()
        assert answer["conversation_id"] not in (made_up, victim_id)
        assert "22133" not in {hit["codi"] for hit in answer["sources"]}
        rated = client.post("/api/feedback", json={"conversation_id": made_up, "rating": -1})
        assert rated.status_code == 404
        assert client.delete(f"/api/conversations/{made_up}").status_code == 204
    # The owner's conversation was not touched: its follow-up still has its context.
    follow_up = client.post(
        "/api/ask", json={"question": "I fins quan es pot demanar?", "conversation_id": victim_id}
    ).json()
    assert follow_up["conversation_id"] == victim_id
    assert "22133" in {hit["codi"] for hit in follow_up["sources"]}
    assert [r for r in service.conversations.feedback_rows(victim_id)] == []


def test_a_thousand_ratings_of_one_answer_are_stored_once(
    assistant_service: AssistantService, tmp_path: Path
) -> None:
    """The probe: 1,000 feedback posts on one answer were all stored (+4.1 MB)."""
    unlimited = FeedbackLimit(per_minute=1_000_000, burst=1_000_000)
    service = own_service(
        assistant_service, tmp_path / "data", limits=LimitSettings(feedback=unlimited)
    )
    try:
        with TestClient(create_app(service=service)) as client:
            answer = client.post("/api/ask", json={"question": WIFI}).json()
            for n in range(1000):
                body = {
                    "conversation_id": answer["conversation_id"],
                    "message_id": answer["message_id"],
                    "rating": 1 if n % 2 else -1,
                    "comment": f"Comentari número {n}",
                }
                assert client.post("/api/feedback", json=body).status_code == 200
        with closing(sqlite3.connect(service.settings.sqlite_path)) as db:
            rows = db.execute("SELECT message_id, rating, comment FROM feedback").fetchall()
        assert rows == [(answer["message_id"], 1, "Comentari número 999")]
    finally:
        service.conversations.close()


def test_feedback_is_rate_limited_too(client: TestClient) -> None:
    answer = client.post("/api/ask", json={"question": WIFI}).json()
    body = {"conversation_id": answer["conversation_id"], "rating": 1}
    statuses = [client.post("/api/feedback", json=body).status_code for _ in range(40)]
    assert statuses[:15] == [200] * 15 and statuses[-1] == 429


def test_long_earlier_questions_never_make_a_follow_up_fail(client: TestClient) -> None:
    """The probe: two 1,400-character questions, then "i com es justifica?", gave 422
    "La consulta és massa llarga" (the earlier turns were joined untruncated)."""
    long_one = (CAMINS + " Som un ajuntament petit i volem saber-ho tot. ") * 30
    long_two = (WIFI + " Ens interessa sobretot el termini i l'import. ") * 30
    first = client.post("/api/ask", json={"question": long_one[:1400]})
    assert first.status_code == 200
    cid = first.json()["conversation_id"]
    second = client.post("/api/ask", json={"question": long_two[:1400], "conversation_id": cid})
    assert second.status_code == 200 and second.json()["conversation_id"] == cid
    for route in ("/api/ask", "/api/ask/stream"):
        follow_up = client.post(
            route, json={"question": "i com es justifica?", "conversation_id": cid}
        )
        assert follow_up.status_code == 200, follow_up.text


def test_error_bodies_stay_short_on_the_real_service(client: TestClient) -> None:
    cases: list[tuple[str, Any]] = [
        ("/api/search", {"query": "wifi", "filters": {f"k{i}": "v" for i in range(4000)}}),
        ("/api/search", {"query": "wifi", "filters": {"area": "x" * 50_000}}),
        ("/api/ask", {"question": "a" * 50_000}),
        ("/api/search", {"query": "wifi", "filters": {"obert_a": 0}}),
    ]
    for route, body in cases:
        response = client.post(route, json=body)
        assert response.status_code == 422, (route, response.text[:200])
        assert len(response.content) < 2048
        assert set(response.json()) == {"detail"}
    # Bigger than the body limit: 413 before any parsing, short as well.
    response = client.post("/api/search", json={"query": "wifi", "filters": {"area": "x" * MB}})
    assert response.status_code == 413 and len(response.content) < 2048
    assert client.get("/api/open?date=0").status_code == 422
    assert client.post("/api/search", json={"query": "wifi", "top_k": True}).status_code == 422


def test_headers_on_every_page_and_script(service: Any) -> None:
    with serving(create_app(service=service)) as url, httpx.Client(base_url=url) as http:
        for path in ("/", "/demo", "/widget.js", "/static/widget.css", "/static/staff.js"):
            for response in (http.head(path), http.get(path)):
                assert response.status_code == 200, path
                headers = response.headers
                assert headers["x-content-type-options"] == "nosniff"
                assert headers["referrer-policy"] == "no-referrer"
                assert "frame-ancestors 'none'" in headers["content-security-policy"]
        for path in ("/", "/demo"):
            policy = http.get(path).headers["content-security-policy"]
            assert "script-src 'self';" in policy and "'unsafe-inline'" not in policy
        widget = http.get("/widget.js").headers
        assert widget["cross-origin-resource-policy"] == "cross-origin"
        assert widget["content-type"].startswith("text/javascript")


async def test_the_bot_over_http_tells_the_user_kindly_when_limited(
    assistant_service: AssistantService, tmp_path: Path
) -> None:
    """The HTTP backend turns a 429 into a Catalan sentence the handlers show as is."""
    service = own_service(
        assistant_service,
        tmp_path / "data",
        limits=LimitSettings(ask=AskLimit(per_minute=1, burst=1)),
    )
    transport = httpx.ASGITransport(app=create_app(service=service))
    backend = HttpBackend("http://concerta.test", transport=transport)
    try:
        answer = await backend.ask(WIFI, None)
        assert answer.grounded
        with pytest.raises(RateLimitedError) as refused:
            await backend.ask(WIFI, answer.conversation_id)
        message = str(refused.value)
        assert message.startswith("Ara mateix l'assistent rep moltes preguntes")
        assert "Espereu" in message and "segons" in message
    finally:
        await backend.aclose()
        service.conversations.close()


async def test_a_telegram_user_reads_the_kind_message(
    assistant_service: AssistantService, tmp_path: Path
) -> None:
    """End to end: the real bot Application, polling a Bot API server on 127.0.0.1, over
    HTTP to the real app whose ask limit is one question: the second answer is the
    Catalan sentence, not an error."""
    from bots.telegram import (
        BotSettings,
        build_application,
        start_in_background,
        stop_in_background,
    )
    from tests.support.fake_bot_api import FakeBotApi, private_chat

    token = "123456789:AAF-concerta-portal-token_0123456789ab"
    service = own_service(
        assistant_service,
        tmp_path / "data",
        limits=LimitSettings(ask=AskLimit(per_minute=1, burst=1)),
    )
    backend = HttpBackend(
        "http://concerta.test", transport=httpx.ASGITransport(app=create_app(service=service))
    )
    chat = private_chat(909090)

    def to_chat(calls: list[Any]) -> list[Any]:
        return [
            c
            for c in calls
            if c.method == "sendMessage" and c.status == 200 and c.params["chat_id"] == 909090
        ]

    with FakeBotApi(token) as api:
        app = build_application(
            backend, BotSettings(bot_token=SecretStr(token), api_base_url=api.base_url)
        )
        await start_in_background(app)
        try:
            api.send_text(chat, WIFI)
            await api.wait_for(
                lambda calls: any("22133" in c.params["text"] for c in to_chat(calls))
            )
            answered = len(to_chat(api.calls))
            api.send_text(chat, CAMINS)
            await api.wait_for(lambda calls: len(to_chat(calls)) > answered)
            reply = to_chat(api.calls)[-1].params["text"]
        finally:
            await stop_in_background(app)
            await backend.aclose()
            service.conversations.close()
    assert reply.startswith("Ara mateix l'assistent rep moltes preguntes i no us pot respondre.")
