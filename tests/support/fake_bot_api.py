"""A local Telegram Bot API server for tests: real HTTP, the real protocol, no internet.

It speaks what python-telegram-bot (or any client) sends to api.telegram.org:
`POST /bot<token>/<method>` with a form-encoded, JSON or query-string body, answering
`{"ok": true, "result": ...}` with correctly shaped objects, or `{"ok": false,
"error_code": ..., "description": ...}` the way Telegram does (wrong token, unknown
method, HTML that does not parse, text over 4,096 characters, callback data over 64
bytes, "message is not modified"). getUpdates long-polls: it waits up to `timeout`
seconds for updates the test queued, serves them with increasing update_id and honours
`offset`. Every call is recorded for assertions, and a test can make the next call to a
method fail (e.g. 429 with retry_after) to exercise the client's retries.

The server runs uvicorn in its own thread and event loop, so the code under test keeps
its own loop. Use it as a context manager:

    with FakeBotApi(token) as api:
        app = Application.builder().token(token).base_url(api.base_url).build()
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

# Parameters that are strings in the Bot API: form values are sent raw, not JSON encoded.
_STRING_PARAMS = {
    "text",
    "parse_mode",
    "callback_query_id",
    "action",
    "url",
    "secret_token",
    "inline_message_id",
    "language_code",
    "caption",
    "business_connection_id",
}
# Tags Telegram's HTML parse mode accepts (https://core.telegram.org/bots/api#html-style).
TELEGRAM_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "span",
    "tg-spoiler",
    "tg-emoji",
    "blockquote",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
MESSAGE_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64


class TelegramHtmlError(ValueError):
    """What Telegram answers "Bad Request: can't parse entities: ..." for."""


class _TelegramHtmlParser(HTMLParser):
    def __init__(self, allowed_tags: Iterable[str]) -> None:
        super().__init__(convert_charrefs=False)
        self.allowed = set(allowed_tags)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.allowed:
            raise TelegramHtmlError(f'unsupported start tag "{tag}"')
        if tag == "a" and not dict(attrs).get("href"):
            raise TelegramHtmlError("<a> without href")
        self.stack.append(tag)
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise TelegramHtmlError(f'unexpected end tag "{tag}"')
        self.stack.pop()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise TelegramHtmlError(f'unsupported self-closing tag "{tag}"')

    def handle_data(self, data: str) -> None:
        if "<" in data or ">" in data:
            raise TelegramHtmlError("unescaped < or > outside a tag")
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in _NAMED_ENTITIES:
            raise TelegramHtmlError(f"unsupported entity &{name};")
        self.text.append(_NAMED_ENTITIES[name])

    def handle_charref(self, name: str) -> None:
        code = int(name[1:], 16) if name.lower().startswith("x") else int(name)
        self.text.append(chr(code))

    def handle_comment(self, data: str) -> None:
        raise TelegramHtmlError("comments are not supported")

    def handle_decl(self, decl: str) -> None:
        raise TelegramHtmlError("declarations are not supported")


def parse_telegram_html(
    text: str, allowed_tags: Iterable[str] = TELEGRAM_TAGS
) -> tuple[str, list[tuple[str, dict[str, str | None]]]]:
    """Parse like Telegram: (plain text, tags used), or TelegramHtmlError."""
    # A bare "&" (not starting an entity) is rejected by Telegram as well.
    for match in re.finditer(r"&[^;\s&<]*;?", text):
        if not _ENTITY.fullmatch(match.group(0)):
            raise TelegramHtmlError(f"bare ampersand near {match.group(0)!r}")
    parser = _TelegramHtmlParser(allowed_tags)
    parser.feed(text)
    parser.close()
    if parser.stack:
        raise TelegramHtmlError(f'unclosed tag "{parser.stack[-1]}"')
    if parser.rawdata:
        raise TelegramHtmlError("unterminated markup")
    return "".join(parser.text), parser.tags


@dataclass
class Call:
    """One request the server received, with what it answered."""

    method: str
    params: dict[str, Any]
    status: int
    response: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class _Failure:
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status, self.body = status, body


class BotApiError(Exception):
    def __init__(self, status: int, description: str, **extra: Any) -> None:
        super().__init__(description)
        self.status, self.description, self.extra = status, description, extra


class FakeBotApi:
    """A Bot API server on 127.0.0.1 for one bot token."""

    def __init__(
        self,
        token: str,
        *,
        bot_username: str = "concerta_test_bot",
        bot_id: int = 7_000_000_001,
        port: int = 0,
    ) -> None:
        self.token = token
        self.bot_user = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Concerta",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.commands: list[dict[str, Any]] = []
        self.webhook: dict[str, Any] | None = None  # setWebhook parameters while set
        self._calls: list[Call] = []
        self._calls_lock = threading.Lock()
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(100)
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._new_updates: asyncio.Condition | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.port = port  # 0: any free port

    # Lifecycle -----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """python-telegram-bot's base_url: the token is appended to it."""
        return f"http://127.0.0.1:{self.port}/bot"

    def start(self) -> FakeBotApi:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", self.port))
        self.port = self._socket.getsockname()[1]
        app = Starlette(
            routes=[Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"])]
        )
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            ws="none",
            http="h11",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        started = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            self._new_updates = asyncio.Condition()
            started.set()
            assert self._server is not None and self._socket is not None
            loop.run_until_complete(self._server.serve(sockets=[self._socket]))
            loop.close()

        self._thread = threading.Thread(target=serve, name="fake-bot-api", daemon=True)
        self._thread.start()
        started.wait(5)
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake Bot API server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            if self._loop is not None and self._new_updates is not None:
                self._loop.call_soon_threadsafe(self._loop.create_task, self._notify())
        if self._thread is not None:
            self._thread.join(10)
        if self._socket is not None:
            self._socket.close()

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # What tests do ---------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._calls_lock:
            return list(self._calls)

    def calls_to(self, method: str, *, ok: bool | None = None) -> list[Call]:
        return [
            c for c in self.calls if c.method == method and (ok is None or (c.status == 200) == ok)
        ]

    async def wait_for(self, predicate: Callable[[list[Call]], Any], timeout: float = 30.0) -> Any:
        """Wait (in the test's loop) until predicate(calls) is truthy; return its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate(self.calls)
            if value:
                return value
            if time.monotonic() > deadline:
                methods = [(c.method, c.status) for c in self.calls]
                raise TimeoutError(f"condition not met; calls so far: {methods}")
            await asyncio.sleep(0.05)

    def fail_next(self, method: str, status: int, body: dict[str, Any]) -> None:
        """Answer the next call to `method` with this status and JSON body."""
        self._failures.setdefault(method, []).append(_Failure(status, body))

    def message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        """The current state of a message the bot sent (after any edits)."""
        return self._messages[(chat_id, message_id)]

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update (without update_id); returns the update_id it got."""
        update_id = next(self._update_ids)
        update = {"update_id": update_id, **update}
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._loop.create_task, self._add_update(update))
        return update_id

    def send_text(
        self,
        chat: dict[str, Any],
        text: str,
        *,
        user: dict[str, Any] | None = None,
        entities: list[dict[str, Any]] | None = None,
        reply_to: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A user writes `text` in `chat`; bot commands get their entity like Telegram."""
        message = self._user_message(chat, user)
        message["text"] = text
        entities = list(entities or [])
        if text.startswith("/"):
            command = text.split()[0]
            entities.insert(0, {"type": "bot_command", "offset": 0, "length": len(command)})
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        self.push_update({"message": message})
        return message

    def send_photo(self, chat: dict[str, Any], *, user: dict[str, Any] | None = None) -> None:
        message = self._user_message(chat, user)
        message["photo"] = [
            {"file_id": "AgAD-small", "file_unique_id": "s1", "width": 90, "height": 60},
            {"file_id": "AgAD-large", "file_unique_id": "l1", "width": 1280, "height": 853},
        ]
        self.push_update({"message": message})

    def send_sticker(self, chat: dict[str, Any], *, user: dict[str, Any] | None = None) -> None:
        message = self._user_message(chat, user)
        message["sticker"] = {
            "file_id": "CAAD-sticker",
            "file_unique_id": "st1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        self.push_update({"message": message})

    def press_button(
        self, chat_id: int, message_id: int, data: str, *, user: dict[str, Any] | None = None
    ) -> str:
        """A user presses the inline button with callback `data` on a bot message."""
        message = self._messages[(chat_id, message_id)]
        buttons = [
            button
            for row in message.get("reply_markup", {}).get("inline_keyboard", [])
            for button in row
        ]
        if not any(button.get("callback_data") == data for button in buttons):
            raise AssertionError(f"no button with data {data!r} on message {message_id}")
        query_id = f"cq{next(self._message_ids)}"
        self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user or private_user(chat_id),
                    "chat_instance": f"ci{chat_id}",
                    "message": json.loads(json.dumps(message)),
                    "data": data,
                }
            }
        )
        return query_id

    # Server side -----------------------------------------------------------------------

    def _user_message(self, chat: dict[str, Any], user: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": user or private_user(chat["id"]),
        }

    async def _notify(self) -> None:
        assert self._new_updates is not None
        async with self._new_updates:
            self._new_updates.notify_all()

    async def _add_update(self, update: dict[str, Any]) -> None:
        assert self._new_updates is not None
        async with self._new_updates:
            self._updates.append(update)
            self._new_updates.notify_all()

    async def _endpoint(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        try:
            params = await _read_params(request)
        except ValueError as exc:
            params = {}
            body = _error(400, f"Bad Request: {exc}")
            return self._record(method, params, 400, body)
        if request.path_params["token"] != self.token:
            return self._record(method, params, 401, _error(401, "Unauthorized"))
        failures = self._failures.get(method)
        if failures:
            failure = failures.pop(0)
            return self._record(method, params, failure.status, failure.body)
        handler = getattr(self, f"_api_{method.lower()}", None)
        if handler is None:
            return self._record(method, params, 404, _error(404, "Not Found"))
        try:
            result = await handler(params)
        except BotApiError as exc:
            body = _error(exc.status, exc.description, **exc.extra)
            return self._record(method, params, exc.status, body)
        return self._record(method, params, 200, {"ok": True, "result": result})

    def _record(
        self, method: str, params: dict[str, Any], status: int, body: dict[str, Any]
    ) -> JSONResponse:
        with self._calls_lock:
            self._calls.append(Call(method, params, status, body))
        return JSONResponse(body, status_code=status)

    # Bot API methods ---------------------------------------------------------------------

    async def _api_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user

    async def _api_deletewebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        return True

    async def _api_setwebhook(self, params: dict[str, Any]) -> bool:
        _require(params, "url")
        if not str(params["url"]).startswith("https://"):
            raise BotApiError(400, "Bad Request: bad webhook: HTTPS url must be provided")
        self.webhook = params
        return True

    async def _api_setmycommands(self, params: dict[str, Any]) -> bool:
        self.commands = list(params.get("commands") or [])
        return True

    async def _api_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        assert self._new_updates is not None and self._server is not None
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        async with self._new_updates:
            if offset:
                # Telegram forgets every update below the offset: they are confirmed.
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and not self._server.should_exit:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    await asyncio.wait_for(self._new_updates.wait(), remaining)
                except TimeoutError:
                    break
            return self._updates[:limit]

    async def _api_sendchataction(self, params: dict[str, Any]) -> bool:
        _require(params, "chat_id", "action")
        return True

    async def _api_answercallbackquery(self, params: dict[str, Any]) -> bool:
        _require(params, "callback_query_id")
        if len(str(params.get("text") or "")) > 200:
            raise BotApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return True

    async def _api_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        _require(params, "chat_id", "text")
        chat_id = int(params["chat_id"])
        text = _checked_text(params)
        markup = _checked_markup(params.get("reply_markup"))
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": _chat(chat_id),
            "from": self.bot_user,
            "text": text,
        }
        if markup:
            message["reply_markup"] = markup
        self._messages[(chat_id, message["message_id"])] = message
        return message

    async def _api_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        _require(params, "chat_id", "message_id", "text")
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key not in self._messages:
            raise BotApiError(400, "Bad Request: message to edit not found")
        text = _checked_text(params)
        markup = _checked_markup(params.get("reply_markup"))
        current = self._messages[key]
        if current["text"] == text and current.get("reply_markup") == markup:
            raise BotApiError(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        edited = {**current, "text": text, "edit_date": int(time.time())}
        edited.pop("reply_markup", None)
        if markup:
            edited["reply_markup"] = markup
        self._messages[key] = edited
        return edited


# Helpers ---------------------------------------------------------------------------------


def private_chat(chat_id: int = 424242) -> dict[str, Any]:
    return {"id": chat_id, "type": "private", "first_name": "Anna", "username": "anna_reg"}


def group_chat(chat_id: int = -1001234567890) -> dict[str, Any]:
    return {"id": chat_id, "type": "supergroup", "title": "Ajuntament de Prova"}


def private_user(user_id: int) -> dict[str, Any]:
    return {"id": abs(user_id), "is_bot": False, "first_name": "Anna", "language_code": "ca"}


def _chat(chat_id: int) -> dict[str, Any]:
    return private_chat(chat_id) if chat_id > 0 else group_chat(chat_id)


def _error(status: int, description: str, **extra: Any) -> dict[str, Any]:
    return {"ok": False, "error_code": status, "description": description, **extra}


def _require(params: dict[str, Any], *names: str) -> None:
    for name in names:
        if params.get(name) in (None, ""):
            raise BotApiError(400, f"Bad Request: parameter {name} is required")


def _checked_text(params: dict[str, Any]) -> str:
    """The message text as Telegram stores it (entities parsed), or a 400."""
    text = str(params["text"])
    if params.get("parse_mode") == "HTML":
        try:
            text, _ = parse_telegram_html(text)
        except TelegramHtmlError as exc:
            raise BotApiError(400, f"Bad Request: can't parse entities: {exc}") from exc
    elif params.get("parse_mode") not in (None, ""):
        raise BotApiError(400, f"Bad Request: unsupported parse_mode {params['parse_mode']}")
    if not text.strip():
        raise BotApiError(400, "Bad Request: message text is empty")
    if len(text) > MESSAGE_LIMIT:
        raise BotApiError(400, "Bad Request: message is too long")
    return text


def _checked_markup(markup: Any) -> dict[str, Any] | None:
    if markup in (None, ""):
        return None
    if not isinstance(markup, dict) or not isinstance(markup.get("inline_keyboard"), list):
        raise BotApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in markup["inline_keyboard"]:
        for button in row:
            if not str(button.get("text") or "").strip():
                raise BotApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_DATA_LIMIT:
                raise BotApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if "url" in button and not str(button["url"]).startswith(
                ("http://", "https://", "tg://")
            ):
                raise BotApiError(400, "Bad Request: BUTTON_URL_INVALID")
    return markup


async def _read_params(request: Request) -> dict[str, Any]:
    """Query string plus a form-encoded or JSON body, decoded like the Bot API does."""
    params: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    if body and content_type.startswith("application/json"):
        decoded = json.loads(body)
        if not isinstance(decoded, dict):
            raise ValueError("JSON body must be an object")
        params.update(decoded)
        return params
    if body and content_type.startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    elif body:
        raise ValueError(f"unsupported content type {content_type!r}")
    return {key: _decode_form_value(key, value) for key, value in params.items()}


def _decode_form_value(key: str, value: Any) -> Any:
    # Form values of non-string parameters are JSON encoded (numbers, booleans, objects).
    if key in _STRING_PARAMS or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value
