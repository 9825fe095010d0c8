"""A small, real OpenAI-compatible HTTP server for tests, scripted by the test.

It speaks the Chat Completions wire format that vLLM, llama.cpp and Ollama speak:
`POST /v1/chat/completions` (JSON, or Server-Sent Events of `chat.completion.chunk`
objects ending with `data: [DONE]` when `stream` is true) and `GET /v1/models`. Each
completion request takes the next scripted behaviour from a queue and is recorded, so a
test can assert what the client really sent.

    with OpenAICompatibleServer() as server:
        server.script(Reply("Resposta [1]."), Fail(500))
        settings = Settings(llm_base_url=server.base_url, ...)
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass(frozen=True)
class Reply:
    """Answer with `text`: whole, or streamed as `pieces` deltas when the client streams."""

    text: str
    delay: float = 0.0  # seconds before the response starts
    chunk_delay: float = 0.01  # seconds between streamed deltas
    pieces: int = 5
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Fail:
    """An HTTP error with the OpenAI error body."""

    status: int = 500
    message: str = "The server had an error while processing your request."


@dataclass(frozen=True)
class BreakStream:
    """Stream the first deltas of `text`, then drop the connection mid-body."""

    text: str
    pieces_before_break: int = 2
    pieces: int = 5


@dataclass(frozen=True)
class Compute:
    """Decide from the request body: `respond(body)` returns the behaviour to play.

    For tests whose sources are only known at run time (retrieval chose them).
    """

    respond: Callable[[dict[str, Any]], Reply | Fail | BreakStream]


Behaviour = Reply | Fail | BreakStream | Compute


class _DeliberateDisconnect(Exception):
    """Raised inside a streamed body so uvicorn aborts the connection (BreakStream)."""


class _HideDeliberateDisconnects(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], _DeliberateDisconnect))


class OpenAICompatibleServer:
    """Runs on 127.0.0.1 on a free port in a background thread (uvicorn + Starlette)."""

    def __init__(self, model: str = "concerta-test-model") -> None:
        self.model = model
        self.requests: list[dict[str, Any]] = []  # JSON bodies of completion requests
        self.headers: list[dict[str, str]] = []
        self._script: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # Scripting -------------------------------------------------------------------
    def script(self, *behaviours: Behaviour) -> None:
        """Queue behaviours; each completion request consumes one, in order."""
        with self._lock:
            self._script.extend(behaviours)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self.requests.clear()
            self.headers.clear()

    def pending(self) -> int:
        with self._lock:
            return len(self._script)

    def _next(self, body: dict[str, Any], headers: dict[str, str]) -> Behaviour:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            if self._script:
                return self._script.popleft()
        return Fail(500, "unscripted request: the test queued no behaviour for it")

    # Lifecycle ---------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._socket is not None, "server not started"
        return int(self._socket.getsockname()[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> OpenAICompatibleServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._socket = sock
        config = uvicorn.Config(
            self._app(),
            log_level="warning",
            lifespan="off",
            ws="none",
            http="h11",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        logging.getLogger("uvicorn.error").addFilter(_HideDeliberateDisconnects())
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test OpenAI server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> OpenAICompatibleServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # HTTP --------------------------------------------------------------------------
    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/models", self._models, methods=["GET"]),
                Route("/v1/chat/completions", self._completions, methods=["POST"]),
            ]
        )

    async def _models(self, request: Request) -> Response:
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {
                        "id": self.model,
                        "object": "model",
                        "created": int(time.time()),
                        "owned_by": "concerta-tests",
                    }
                ],
            }
        )

    async def _completions(self, request: Request) -> Response:
        body = await request.json()
        behaviour = self._next(body, dict(request.headers))
        if isinstance(behaviour, Compute):
            behaviour = behaviour.respond(body)
        if isinstance(behaviour, Fail):
            return _error(behaviour.status, behaviour.message)
        if isinstance(behaviour, Reply) and behaviour.delay:
            await _sleep_unless_disconnected(request, behaviour.delay)
        model = str(body.get("model") or self.model)
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        if body.get("stream"):
            return StreamingResponse(
                self._chunks(behaviour, model, completion_id),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache"},
            )
        assert isinstance(behaviour, Reply), "BreakStream needs a streaming request"
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
        completion_tokens = len(behaviour.text.split())
        return JSONResponse(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "system_fingerprint": "fp_concerta_tests",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": behaviour.text},
                        "logprobs": None,
                        "finish_reason": behaviour.finish_reason,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )

    async def _chunks(
        self, behaviour: Reply | BreakStream, model: str, completion_id: str
    ) -> AsyncIterator[str]:
        def event(delta: dict[str, Any], finish_reason: str | None = None) -> str:
            chunk = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "system_fingerprint": "fp_concerta_tests",
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
                ],
            }
            return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

        yield event({"role": "assistant", "content": ""})
        pieces = split_text(behaviour.text, behaviour.pieces)
        for number, piece in enumerate(pieces):
            if isinstance(behaviour, BreakStream) and number == behaviour.pieces_before_break:
                raise _DeliberateDisconnect
            if isinstance(behaviour, Reply) and behaviour.chunk_delay:
                await asyncio.sleep(behaviour.chunk_delay)
            yield event({"content": piece})
        assert isinstance(behaviour, Reply)
        yield event({}, behaviour.finish_reason)
        yield "data: [DONE]\n\n"


def split_text(text: str, pieces: int) -> list[str]:
    """`text` cut into about `pieces` consecutive parts at word boundaries."""
    words = text.split(" ")
    size = max(1, -(-len(words) // max(1, pieces)))
    parts = [" ".join(words[i : i + size]) for i in range(0, len(words), size)]
    return [part + " " for part in parts[:-1]] + parts[-1:]


def _error(status: int, message: str) -> Response:
    return JSONResponse(
        {"error": {"message": message, "type": "server_error", "param": None, "code": None}},
        status_code=status,
    )


async def _sleep_unless_disconnected(request: Request, seconds: float) -> None:
    """Wait like a slow model, but stop early once the client has given up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await request.is_disconnected():
            return
        await asyncio.sleep(0.05)
