"""BodySizeLimit: a request body over the limit gets 413 before anything parses it.

Pure ASGI, outside FastAPI's body parsing: a declared Content-Length over the limit is
refused before a byte of the body is read, and a body sent without one (chunked) is
counted as it arrives and refused as soon as it passes the limit. So memory per request
stays under the limit whatever a client sends (eight 100 MB bodies once grew the process
by 2 GB before their 422).
"""

from __future__ import annotations

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.api.errors import json_error

# Methods whose requests carry a body the app reads; others are only checked by header.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def too_large_message(max_bytes: int) -> str:
    size = f"{max_bytes // 1024} KB" if max_bytes >= 1024 else f"{max_bytes} bytes"
    return (
        f"La petició és massa gran: el màxim són {size}. "
        "Escurceu la pregunta o el comentari i torneu-ho a provar."
    )


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        # Read the whole body now (it is small, or it is refused) and hand it on as one
        # message; later receive() calls go to the server (disconnects while streaming).
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away before sending its body: nothing to answer.
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Counted and logged under the route template it was sent to, as if routed.
        for route in getattr(scope.get("app"), "routes", ()):
            if route.matches(scope)[0] is Match.FULL:
                scope["route"] = route
                break
        # Connection: close, so the server drops the rest of the body instead of reading it.
        response = json_error(413, too_large_message(self.max_bytes), {"Connection": "close"})
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server itself refuses a malformed length
    return None
