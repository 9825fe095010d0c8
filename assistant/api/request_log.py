"""RequestObserver: every request gets an id (X-Request-ID), a metrics sample and one log
line. Pure ASGI, so streamed answers are timed to their last byte and pass unbuffered."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.api.errors import GENERIC_ERROR, json_error
from assistant.api.metrics import ApiMetrics

REQUEST_ID_HEADER = "X-Request-ID"
# Any other method a client sends is counted as "other": label values must stay few.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Operators' logs, in English; never the body (questions are personal data).
log = logging.getLogger("concerta.requests")


def route_label(scope: Scope) -> str:
    """The route template ("/api/resources/{codi}"), never the raw path: ids and unknown
    addresses must not become label values or log fields."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    if str(scope.get("path", "")).startswith("/static/"):
        return "/static"
    return "unmatched"


class RequestObserver:
    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        responded = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                responded = True
                status = int(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Starlette's outermost error middleware would answer without our header;
            # answer here (same body as errors.py) and let it log and re-raise.
            if not responded:
                response = json_error(500, GENERIC_ERROR, {REQUEST_ID_HEADER: request_id})
                await response(scope, receive, send)
            raise
        finally:
            seconds = time.perf_counter() - started
            route = route_label(scope)
            method = scope["method"] if scope["method"] in METHODS else "other"
            self.metrics.observe(route, method, status, seconds)
            _log_request(scope, route, status, seconds, request_id)


def _log_request(scope: Scope, route: str, status: int, seconds: float, request_id: str) -> None:
    peer = scope.get("client")
    # The rate limiter's view of the client (a trusted proxy's header), else the peer.
    client = scope.get("state", {}).get("client_address") or (peer[0] if peer else None)
    fields: dict[str, Any] = {
        "method": scope["method"],
        "route": route,
        "status": status,
        "duration_ms": round(seconds * 1000, 1),
        "request_id": request_id,
        "client": client,
    }
    log.info(
        "%s %s %d %.1fms id=%s",
        fields["method"],
        route,
        status,
        fields["duration_ms"],
        request_id,
        extra={"request": fields},
    )
