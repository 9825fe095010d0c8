"""The real Telegram Application, polling a real Bot API server on 127.0.0.1.

The server (tests/support/fake_bot_api.py) speaks Telegram's HTTP protocol and checks
what Telegram checks (HTML that parses, 4,096 characters, 64-byte callback data), so
an answer Telegram would reject fails here too. The end-to-end scenario runs on the real
AssistantService; the guard and robustness cases use a small scripted backend because
they are about the bot, not about retrieval.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest
from pydantic import SecretStr

from assistant.cards import CardList, ResourceCard, by_window, card_for, reference_date
from assistant.errors import QueryError
from assistant.models import Answer, Hit
from bots.telegram import (
    BotSettings,
    EmbeddedBot,
    HttpBackend,
    InProcessBackend,
    build_application,
    start_in_background,
    stop_in_background,
    texts,
)
from bots.telegram.backend import AssistantBackend
from tests.support.fake_bot_api import (
    Call,
    FakeBotApi,
    group_chat,
    parse_telegram_html,
    private_chat,
)

if TYPE_CHECKING:
    from assistant.service import AssistantService

pytestmark = pytest.mark.integration

TOKEN = "123456789:AAF-concerta-test-token_0123456789ab"
BOT_TAGS = {"b", "i", "a"}
RAMPS_QUESTION = "Hi ha algun ajut per rebaixar les voreres i posar rampes als carrers del poble?"
FOLLOW_UP = "I quant ens donarien com a màxim?"


# Fixtures and helpers -------------------------------------------------------------------


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi(TOKEN) as server:
        yield server


def bot_settings(api: FakeBotApi, **overrides: Any) -> BotSettings:
    values: dict[str, Any] = {"bot_token": TOKEN, "api_base_url": api.base_url}
    values.update(overrides)
    return BotSettings(**values)


@asynccontextmanager
async def running_bot(
    backend: AssistantBackend, settings: BotSettings, chat_store: Path | None = None
) -> AsyncIterator[Any]:
    app = build_application(backend, settings, chat_store)
    await start_in_background(app)
    try:
        yield app
    finally:
        await stop_in_background(app)


async def handled(api: FakeBotApi, app: Any, last_update_id: int) -> None:
    """Wait until the bot has fetched every update up to `last_update_id` (its next poll
    confirms them with a higher offset) and finished handling each one."""
    await api.wait_for(
        lambda calls: any(
            c.method == "getUpdates" and int(c.params.get("offset") or 0) > last_update_id
            for c in calls
        )
    )
    await asyncio.wait_for(app.update_queue.join(), 30)


def sent(calls: list[Call], chat_id: int) -> list[Call]:
    return [
        c
        for c in calls
        if c.method == "sendMessage" and c.status == 200 and c.params["chat_id"] == chat_id
    ]


async def next_messages(api: FakeBotApi, chat_id: int, already: int, count: int = 1) -> list[Call]:
    """Wait until the bot has sent `count` more messages to the chat."""
    await api.wait_for(lambda calls: len(sent(calls, chat_id)) >= already + count)
    return sent(api.calls, chat_id)[already:]


class ChatLog:
    """What the bot sent to one chat, read in order as a user would."""

    def __init__(self, api: FakeBotApi, chat_id: int) -> None:
        self.api, self.chat_id, self.seen = api, chat_id, 0

    async def next(self, count: int = 1, *, answer: bool = False) -> list[Call]:
        """The next `count` messages; with answer=True, up to the part with buttons."""

        def ready(calls: list[Call]) -> bool:
            new = sent(calls, self.chat_id)[self.seen :]
            return len(new) >= count and (not answer or bool(buttons(new[-1])))

        await self.api.wait_for(ready)
        new = sent(self.api.calls, self.chat_id)[self.seen :]
        self.seen += len(new)
        return new


def check_html(call: Call) -> str:
    """The visible text of an HTML message, after checking the bot's markup rules."""
    assert call.params.get("parse_mode") == "HTML"
    text, tags = parse_telegram_html(call.params["text"], BOT_TAGS)
    assert len(text) <= 4096 and len(call.params["text"]) <= 4096
    for tag, attrs in tags:
        if tag == "a":
            assert str(attrs["href"]).startswith(("https://", "http://", "mailto:", "tel:"))
    return text


def buttons(call_or_message: Call | dict[str, Any]) -> list[dict[str, Any]]:
    source = call_or_message.params if isinstance(call_or_message, Call) else call_or_message
    markup = source.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


def looks_catalan(text: str) -> bool:
    lowered = f" {text.lower()} "
    return (
        sum(word in lowered for word in (" per ", " amb ", " els ", " les ", " del ", " hi ")) >= 2
    )


def message_id(call: Call) -> int:
    return int(call.response["result"]["message_id"])


# The real assistant ---------------------------------------------------------------------


async def test_conversation_on_the_real_service(api: FakeBotApi, assistant_service: Any) -> None:
    chat = private_chat(424242)
    chat_id = chat["id"]
    backend = InProcessBackend(assistant_service)
    async with running_bot(backend, bot_settings(api)):
        # The command menu is published at start-up.
        await api.wait_for(lambda calls: any(c.method == "setMyCommands" for c in calls))
        assert {c["command"] for c in api.commands} == {"start", "ajuda", "cerca", "obert", "nova"}

        # /start: what the bot does and three example questions as buttons.
        log = ChatLog(api, chat_id)
        api.send_text(chat, "/start")
        (start,) = await log.next()
        assert "Soc l'assistent" in check_html(start)
        examples = [b for b in buttons(start) if b.get("callback_data", "").startswith("q:")]
        assert [b["text"] for b in examples] == list(texts.EXAMPLE_QUESTIONS)  # all fit in 64

        # A catalogue question: typing action, a grounded answer citing resource 22231.
        api.send_text(chat, RAMPS_QUESTION)
        answer = (await log.next(answer=True))[-1]
        text = check_html(answer)
        assert "22231" in text and looks_catalan(text), text
        assert any(c.method == "sendChatAction" for c in api.calls)
        answer_buttons = buttons(answer)
        assert any(
            b.get("url") == "https://cataleg.exemple.cat/recurs/22231" for b in answer_buttons
        )
        assert {"👍", "👎"} <= {b["text"] for b in answer_buttons}
        assert all(len(b["text"]) <= 64 for b in answer_buttons)
        assert all(len(b.get("callback_data", "").encode()) <= 64 for b in answer_buttons)

        # A follow-up in the same conversation.
        api.send_text(chat, FOLLOW_UP)
        follow_up = (await log.next(answer=True))[-1]
        assert "25.000" in check_html(follow_up)

        # "Més detalls" on the first answer edits it into the resource card...
        api.press_button(chat_id, message_id(answer), "d:22231")
        edit = await api.wait_for(
            lambda calls: next((c for c in calls if c.method == "editMessageText"), None)
        )
        assert edit.status == 200 and int(edit.params["message_id"]) == message_id(answer)
        card = check_html(edit)
        for expected in ("Codi: 22231", "Àrea de Territori i Urbanisme", "25.000 €", "Termini"):
            assert expected in card, card
        assert any(c.method == "answerCallbackQuery" for c in api.calls)
        # ...and "Tornar a la resposta" puts the answer back.
        api.press_button(chat_id, message_id(answer), "b")
        await api.wait_for(lambda calls: len(api.calls_to("editMessageText", ok=True)) == 2)
        assert api.message(chat_id, message_id(answer))["text"] == text

        # 👎 is stored as feedback on that conversation and acknowledged with a toast.
        thumbs_down = next(b["callback_data"] for b in answer_buttons if b["text"] == "👎")
        query_id = api.press_button(chat_id, message_id(answer), thumbs_down)
        toast = await api.wait_for(
            lambda calls: next(
                (c for c in calls if c.params.get("callback_query_id") == query_id), None
            )
        )
        assert toast.params["text"] == texts.FEEDBACK_THANKS_DOWN
        assert feedback_stored(assistant_service, rating=-1)

        # A photo and a 5,000-character message get short Catalan hints.
        api.send_photo(chat)
        (hint,) = await log.next()
        assert hint.params["text"] == texts.UNSUPPORTED_MEDIA
        api.send_text(chat, "Hola " * 1000)
        (too_long,) = await log.next()
        assert "massa llarg (5000 caràcters)" in too_long.params["text"]

        # /cerca lists matching resources with their codes and links.
        api.send_text(chat, "/cerca voreres i rampes")
        (search,) = await log.next()
        assert "codi 22231" in check_html(search)

    # Every message the bot sent was accepted and fits Telegram's limit.
    assert all(c.status == 200 for c in api.calls_to("sendMessage"))
    assert all(len(c.params["text"]) <= 4096 for c in api.calls_to("sendMessage"))


async def test_a_follow_up_after_a_list_offers_one_button_per_resource(
    api: FakeBotApi, assistant_service: Any
) -> None:
    """ "I l'import?" after four resources: the fact for each of them, then a button per
    resource; pressing one asks the same question about that resource alone (focus)."""
    chat = private_chat(434343)
    chat_id = chat["id"]
    async with running_bot(InProcessBackend(assistant_service), bot_settings(api)):
        log = ChatLog(api, chat_id)
        api.send_text(chat, "Quins ajuts hi ha per a equipaments municipals?")
        listed_answer = (await log.next(answer=True))[-1]
        listed = [b["callback_data"][2:] for b in buttons(listed_answer)
                  if b.get("callback_data", "").startswith("d:")]  # fmt: skip
        assert len(listed) >= 2

        api.send_text(chat, "I l'import?")
        follow_up = (await log.next(answer=True))[-1]
        text = check_html(follow_up)
        assert "Per a cada recurs de la resposta anterior" in text
        for codi in listed:
            assert f"(codi {codi})" in text  # every listed resource, not only the first
        picks = [b for b in buttons(follow_up) if b.get("callback_data", "").startswith("p:")]
        assert [b["callback_data"] for b in picks] == [f"p:{codi}" for codi in listed]
        assert all(len(b["text"]) <= 64 for b in picks)

        api.press_button(chat_id, message_id(follow_up), picks[1]["callback_data"])
        (picked,) = await log.next(answer=True)
        picked_text = check_html(picked)
        assert picked_text.startswith("I l'import? — sobre «")
        assert f"(codi {listed[1]})" in picked_text
        assert not any(f"(codi {codi})" in picked_text for codi in listed if codi != listed[1])
        assert not any(b.get("callback_data", "").startswith("p:") for b in buttons(picked))


async def test_a_restart_keeps_each_chats_conversation(api: FakeBotApi, tmp_path: Path) -> None:
    chat = private_chat(454545)
    store = tmp_path / "telegram-chats.sqlite3"
    backend = ScriptedBackend()
    async with running_bot(backend, bot_settings(api), store):
        api.send_text(chat, "Hi ha ajuts per a rampes?")
        await next_messages(api, chat["id"], 0)
    assert backend.questions == [("Hi ha ajuts per a rampes?", None)]

    restarted = ScriptedBackend()
    async with running_bot(restarted, bot_settings(api), store):
        api.send_text(chat, "I quant costa?")
        await next_messages(api, chat["id"], 1)
        api.send_text(chat, "/nova")
        await next_messages(api, chat["id"], 2)
        api.send_text(chat, "Una altra pregunta")
        await next_messages(api, chat["id"], 3)
    # The follow-up continued the conversation the first process started.
    assert restarted.questions == [("I quant costa?", "conv-1"), ("Una altra pregunta", None)]
    assert restarted.resets == ["conv-1"]


def feedback_stored(service: Any, rating: int) -> bool:
    """A feedback row with this rating exists in the service's SQLite file."""
    with closing(sqlite3.connect(service.settings.sqlite_path)) as db:
        tables = [
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE '%feedback%'"
            )
        ]
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):
                if rating in row:
                    return True
    return False


async def test_http_backend_against_the_real_api(assistant_service: Any) -> None:
    """The out-of-process backend on the real FastAPI app (concerta serve)."""
    import httpx

    from assistant.api import create_app

    transport = httpx.ASGITransport(app=create_app(service=assistant_service))
    backend = HttpBackend("http://concerta.test", transport=transport)
    try:
        card = await backend.card("22231")
        assert card is not None and card.codi == "22231"
        assert card.import_ == "Fins a 25.000 € per ens"
        assert card.reference_date == assistant_service.today()
        # The server's card, window state included, is the one the bot would build itself.
        own = await InProcessBackend(assistant_service).card("22231")
        assert card == own
        assert await backend.card("99999") is None
        listing = await backend.window_cards()
        assert listing.reference_date.date == assistant_service.today()
        assert all(c.window.state in ("open", "all_year", "upcoming") for c in listing.cards)
        answer = await backend.ask(RAMPS_QUESTION, None)
        assert "22231" in {hit.codi for hit in answer.sources}
        await backend.reset_conversation(answer.conversation_id)
        with pytest.raises(QueryError):
            await backend.ask("   ", None)
    finally:
        await backend.aclose()


# The bot's own behaviour, on a scripted backend -------------------------------------------


def resource_hit() -> Hit:
    return Hit(
        id="c1",
        doc_id="recurs-22231",
        kind="recurs",
        title="Ajuts per a la supressió de barreres <arquitectòniques> & rampes",
        snippet="",
        score=1.0,
        url="https://cataleg.exemple.cat/recurs/22231",
        source="cataleg-2022.jsonl",
        codi="22231",
        metadata={
            "import": "Fins a 25.000 € per ens",
            "termini_inici": "2099-04-25",
            "termini_fi": "2099-06-03",
        },
    )


class ScriptedBackend:
    """Answers every question the same way; records what the bot asked."""

    def __init__(self, answer_text: str = "Sí: **ajuts** per a rampes [1].") -> None:
        self.answer_text = answer_text
        self.questions: list[tuple[str, str | None]] = []
        self.focus: list[str | None] = []
        self.today = dt.date(2099, 5, 20)
        self.resets: list[str] = []
        self.feedback_calls: list[tuple[str, int, str | None]] = []
        self.fail_with: Exception | None = None
        self.closed = False

    async def ask(
        self, question: str, conversation_id: str | None, focus: str | None = None
    ) -> Answer:
        self.questions.append((question, conversation_id))
        self.focus.append(focus)
        if self.fail_with is not None:
            raise self.fail_with
        return Answer(
            answer=self.answer_text,
            grounded=True,
            sources=[resource_hit()],
            conversation_id=conversation_id or f"conv-{len(self.questions)}",
            message_id=f"msg-{len(self.questions)}",
        )

    async def search(self, query: str, top_k: int = 5) -> list[Hit]:
        return [resource_hit()]

    async def feedback(
        self,
        conversation_id: str,
        rating: int,
        message_id: str | None = None,
        comment: str | None = None,
    ) -> None:
        self.feedback_calls.append((conversation_id, rating, message_id))

    async def card(self, codi: str) -> ResourceCard | None:
        return card_for(resource_hit(), self.today) if codi == "22231" else None

    async def window_cards(self, limit: int = 60) -> CardList:
        cards = by_window([card_for(resource_hit(), self.today)])
        return CardList(reference_date=reference_date(self.today, True), cards=cards)

    async def reset_conversation(self, conversation_id: str) -> None:
        self.resets.append(conversation_id)

    async def aclose(self) -> None:
        self.closed = True


async def test_retry_after_is_waited_out(api: FakeBotApi) -> None:
    chat = private_chat(1001)
    api.fail_next(
        "sendMessage",
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        },
    )
    # A gateway error is a network error: retried with backoff as well.
    api.fail_next(
        "sendMessage", 502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}
    )
    backend = ScriptedBackend()
    async with running_bot(backend, bot_settings(api)):
        api.send_text(chat, "/ajuda")
        (help_message,) = await next_messages(api, chat["id"], 0)
    attempts = api.calls_to("sendMessage")
    assert [c.status for c in attempts] == [429, 502, 200]
    assert len({c.params["text"] for c in attempts}) == 1
    assert attempts[1].at - attempts[0].at >= 0.95  # waited retry_after
    assert "/cerca" in check_html(help_message)
    assert backend.closed  # the application closes its backend on shutdown


async def test_groups_answer_only_when_addressed(api: FakeBotApi) -> None:
    chat = group_chat()
    backend = ScriptedBackend()
    async with running_bot(backend, bot_settings(api)):
        api.send_text(chat, "Bon dia a tothom, hi ha ajuts per a rampes?")
        api.send_photo(chat)
        handle = "@concerta_test_bot"
        api.send_text(
            chat,
            f"{handle} hi ha ajuts per a rampes?",
            entities=[{"type": "mention", "offset": 0, "length": len(handle)}],
        )
        (reply,) = await next_messages(api, chat["id"], 0)
        assert backend.questions == [("hi ha ajuts per a rampes?", None)]
        # In groups the answer quotes the question it answers.
        assert reply.params["reply_parameters"]["message_id"] > 0
        # A reply to the bot's message is addressed to it, and continues the conversation.
        bot_message = reply.response["result"]
        api.send_text(chat, "i quant costa?", reply_to=bot_message)
        await next_messages(api, chat["id"], 1)
        assert backend.questions[-1] == ("i quant costa?", "conv-1")
    assert len(sent(api.calls, chat["id"])) == 2  # nothing for the unaddressed messages


async def test_allowlist_and_rate_limit(api: FakeBotApi) -> None:
    allowed, stranger = private_chat(2001), private_chat(2002)
    backend = ScriptedBackend()
    settings = bot_settings(api, allowed_chats=frozenset({2001}), rate_limit=3)
    async with running_bot(backend, settings) as app:
        api.send_text(stranger, "Hola, quins ajuts hi ha?")
        (refusal,) = await next_messages(api, stranger["id"], 0)
        assert refusal.params["text"] == texts.NOT_ALLOWED
        for n in range(6):
            api.send_text(allowed, f"pregunta {n}")
        await next_messages(api, allowed["id"], 0, count=4)
        # Every update handled: nothing more can arrive, the other messages were dropped.
        await handled(api, app, last_update_id=7)
        replies = [c.params["text"] for c in sent(api.calls, allowed["id"])]
        # Three answers and one warning (told once, though three messages were dropped).
        assert len(replies) == 4
        assert replies.count(texts.RATE_LIMITED) == 1
        assert len(backend.questions) == 3
    assert not any(q[0].startswith("Hola") for q in backend.questions)


async def test_errors_are_apologised_for_and_the_bot_keeps_going(api: FakeBotApi) -> None:
    chat = private_chat(3001)
    backend = ScriptedBackend()
    async with running_bot(backend, bot_settings(api)):
        backend.fail_with = RuntimeError("boom")
        api.send_text(chat, "Quins ajuts hi ha per a biblioteques?")
        (apology,) = await next_messages(api, chat["id"], 0)
        assert apology.params["text"] == texts.UNEXPECTED_ERROR
        backend.fail_with = QueryError("La pregunta és massa curta.")
        api.send_text(chat, "a")
        (refusal,) = await next_messages(api, chat["id"], 1)
        assert refusal.params["text"] == "La pregunta és massa curta."
        backend.fail_with = None
        api.send_sticker(chat)
        api.send_text(chat, "Quins ajuts hi ha per a biblioteques?")
        hint, answer = await next_messages(api, chat["id"], 2, count=2)
        assert hint.params["text"] == texts.UNSUPPORTED_MEDIA
        assert "ajuts" in check_html(answer)


async def test_buttons_commands_and_new_conversation(api: FakeBotApi) -> None:
    chat = private_chat(4001)
    chat_id = chat["id"]
    backend = ScriptedBackend(answer_text="Paràgraf llarg. " * 400 + "\n\nFinal [1].")
    async with running_bot(backend, bot_settings(api)):
        log = ChatLog(api, chat_id)
        api.send_text(chat, "/start")
        (start,) = await log.next()
        api.press_button(chat_id, message_id(start), "q:1")
        parts = await log.next(answer=True)
        assert backend.questions[0] == (texts.EXAMPLE_QUESTIONS[1], None)
        # A long answer is split; only the last part carries the buttons.
        assert len(parts) >= 3
        assert all(len(p.params["text"]) <= 4096 for p in parts)
        assert not any(buttons(p) for p in parts[:-1]) and buttons(parts[-1])
        assert texts.EXAMPLE_QUESTIONS[1] in check_html(parts[0])
        assert "Final [1]." in check_html(parts[-1])
        last = parts[-1]
        thumbs_up = next(b["callback_data"] for b in buttons(last) if b["text"] == "👍")
        api.press_button(chat_id, message_id(last), thumbs_up)
        await api.wait_for(lambda calls: backend.feedback_calls)
        assert backend.feedback_calls == [("conv-1", 1, "msg-1")]

        api.send_text(chat, "/nova")
        await log.next()
        assert backend.resets == ["conv-1"]
        api.send_text(chat, "Una altra pregunta")
        await log.next(answer=True)
        assert backend.questions[-1] == ("Una altra pregunta", None)

        api.send_text(chat, "/obert")
        (open_now,) = await log.next()
        text = check_html(open_now)
        assert "<arquitectòniques> & rampes" in text
        assert "codi 22231 · obert fins al 3 de juny de 2099" in text
        # The backend's reference date, said as such (never the machine's today).
        assert "Terminis de sol·licitud a 20 de maig de 2099" in text
        assert "Data de referència: 20 de maig de 2099" in text
        assert {b["callback_data"] for b in buttons(open_now)} == {"d:22231"}
        api.send_text(chat, "/cerca")
        (usage,) = await log.next()
        assert usage.params["text"] == texts.SEARCH_USAGE


def test_token_never_logged(api: FakeBotApi, caplog: pytest.LogCaptureFixture) -> None:
    """Long polling (run_polling's blocking path is the same Application) logs no token."""
    import logging

    caplog.set_level(logging.DEBUG)
    backend = ScriptedBackend()

    async def scenario() -> None:
        async with running_bot(backend, bot_settings(api)):
            api.send_text(private_chat(5001), "/ajuda")
            await next_messages(api, 5001, 0)

    asyncio.run(scenario())
    secret = TOKEN.split(":", 1)[1]
    assert caplog.records
    assert not any(secret in record.getMessage() for record in caplog.records)


def free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_embedded_bot_waits_for_telegram_without_blocking(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """`serve --telegram`: Telegram down at boot is retried in the background."""
    port = free_port()
    settings = BotSettings(bot_token=SecretStr(TOKEN), api_base_url=f"http://127.0.0.1:{port}/bot")
    embedded = EmbeddedBot(settings, max_delay=1.0, chat_store=tmp_path / "chats.sqlite3")
    # Not used before a question arrives; the web app would pass its warmed-up service.
    service = cast("AssistantService", object())
    started = time.monotonic()
    await embedded.start(service)
    assert time.monotonic() - started < 1.0  # the web app's start-up is not held up
    deadline = time.monotonic() + 30
    while not any("NetworkError" in r.getMessage() for r in caplog.records):
        assert time.monotonic() < deadline, "no connection attempt was logged"
        await asyncio.sleep(0.05)  # polling the log for the retry, not guessing a delay
    with FakeBotApi(TOKEN, port=port) as api:
        await api.wait_for(lambda calls: any(c.method == "deleteWebhook" for c in calls))
        api.send_text(private_chat(7001), "/ajuda")
        (reply,) = await next_messages(api, 7001, 0)
        assert "/cerca" in check_html(reply)
        await embedded.stop(service)
    assert embedded.app is None


def test_embedded_bot_inside_the_web_app(api: FakeBotApi, assistant_service: Any) -> None:
    """The bot runs in uvicorn's/the web app's event loop next to the HTTP routes."""
    from fastapi.testclient import TestClient

    from assistant.api import create_app

    embedded = EmbeddedBot(bot_settings(api))
    app = create_app(
        service=assistant_service, on_startup=[embedded.start], on_shutdown=[embedded.stop]
    )
    with TestClient(app) as client:
        api.send_text(private_chat(8001), RAMPS_QUESTION)
        deadline = time.monotonic() + 60
        while not any(buttons(c) for c in sent(api.calls, 8001)):
            assert time.monotonic() < deadline, [c.method for c in api.calls]
            assert client.get("/health").json() == {"status": "ok"}
            time.sleep(0.1)
        assert "22231" in check_html(sent(api.calls, 8001)[-1])
    assert embedded.app is None


async def test_webhook_mode(api: FakeBotApi) -> None:
    """TELEGRAM_WEBHOOK_URL: the bot registers the webhook and serves updates pushed to it."""
    import httpx

    port = free_port()
    settings = bot_settings(
        api,
        webhook_url="https://concerta.exemple.cat/telegram",
        webhook_listen="127.0.0.1",
        webhook_port=port,
        webhook_secret=SecretStr("s3cret-webhook"),
    )
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": private_chat(9001),
            "from": {"id": 9001, "is_bot": False, "first_name": "Anna"},
            "text": "/ajuda",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    async with running_bot(ScriptedBackend(), settings):
        assert api.webhook is not None
        assert api.webhook["url"] == "https://concerta.exemple.cat/telegram"
        assert api.webhook["secret_token"] == "s3cret-webhook"
        url = f"http://127.0.0.1:{port}/telegram"
        async with httpx.AsyncClient() as client:
            forged = await client.post(url, json=update)
            assert forged.status_code == 403  # no secret: not from Telegram
            response = await client.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-webhook"}
            )
            assert response.status_code == 200
        (reply,) = await next_messages(api, 9001, 0)
        assert "/cerca" in check_html(reply)
    assert not api.calls_to("getUpdates")


async def test_run_polling_process_with_api_down(api: FakeBotApi) -> None:
    """The blocking entry point in its own process: answers, degrades, stops on SIGINT."""
    import os
    import signal
    import subprocess
    import sys

    from index_config.settings import PROJECT_DIR

    script = (
        "import logging, os\n"
        "logging.basicConfig(level=logging.DEBUG)\n"
        "from bots.telegram import BotSettings, HttpBackend, run_polling\n"
        "run_polling(HttpBackend(os.environ['CONCERTA_API_URL']), BotSettings())\n"
        "import sys\n"
        "print('model stack loaded:', 'torch' in sys.modules)\n"
    )
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": api.base_url,
        "CONCERTA_API_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens there
        "PYTHONPATH": str(PROJECT_DIR),
    }
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        env=env,
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        chat = private_chat(9101)
        api.send_text(chat, "/ajuda")
        api.send_text(chat, "Quins ajuts hi ha per a camins?")
        help_message, unavailable = await next_messages(api, 9101, 0, count=2)
        assert "/cerca" in check_html(help_message)
        assert unavailable.params["text"] == texts.BACKEND_UNAVAILABLE
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "Application is stopping" in output
    assert "model stack loaded: False" in output  # an HTTP-only bot stays light
    assert TOKEN.split(":", 1)[1] not in output  # even at DEBUG level
