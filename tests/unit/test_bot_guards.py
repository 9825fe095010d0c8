"""Per-chat rate limit, allowlist, group addressing and settings parsing."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import SecretStr, ValidationError
from telegram import Chat, Message, MessageEntity, User

from bots.telegram.guards import (
    ChatRateLimiter,
    addressed_to_bot,
    is_allowed,
    strip_mention,
)
from bots.telegram.settings import BotSettings

BOT = User(id=99, is_bot=True, first_name="Concerta", username="concerta_bot")
ANNA = User(id=1, is_bot=False, first_name="Anna")
NOW = dt.datetime(2022, 5, 10, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_sliding_window():
    clock = Clock()
    limiter = ChatRateLimiter(limit=3, window=60, clock=clock)
    assert [limiter.allow(1) for _ in range(4)] == [True, True, True, False]
    assert limiter.allow(2)  # other chats are independent
    clock.now += 30
    assert not limiter.allow(1)
    clock.now += 30.5  # the first three fall out of the window
    assert limiter.allow(1)


def test_rate_limiter_warns_once_per_window():
    clock = Clock()
    limiter = ChatRateLimiter(limit=1, window=10, clock=clock)
    limiter.allow(5)
    assert not limiter.allow(5)
    assert limiter.should_warn(5)
    assert not limiter.should_warn(5)
    clock.now += 11
    assert limiter.allow(5)
    assert not limiter.allow(5)
    assert limiter.should_warn(5)


def test_rate_limiter_forgets_idle_chats():
    clock = Clock()
    limiter = ChatRateLimiter(limit=2, window=10, clock=clock)
    limiter.allow(1)
    clock.now += 11
    limiter.forget_idle()
    assert not limiter._events


def test_allowlist():
    assert is_allowed(123, frozenset())
    assert is_allowed(123, {123, -100})
    assert not is_allowed(124, {123, -100})


def test_settings_parse_env(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:ABC")
    monkeypatch.setenv("TELEGRAM_ALLOWED_CHATS", " 123, -1001234 ,")
    monkeypatch.setenv("TELEGRAM_RATE_LIMIT", "5")
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "")
    settings = BotSettings()  # type: ignore[call-arg]  # from the environment
    assert settings.allowed_chats == {123, -1001234}
    assert settings.rate_limit == 5
    assert settings.api_base_url is None
    assert "123:ABC" not in repr(settings) and "123:ABC" not in str(settings.model_dump())


def test_settings_require_token(monkeypatch):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    with pytest.raises(ValidationError):
        BotSettings()  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        BotSettings(bot_token=SecretStr(" "))


def message(chat_type: str, text: str, *, entities=(), reply_to=None) -> Message:
    chat = Chat(id=1 if chat_type == "private" else -5, type=chat_type)
    msg = Message(
        message_id=1,
        date=NOW,
        chat=chat,
        from_user=ANNA,
        text=text,
        entities=list(entities),
        reply_to_message=reply_to,
    )
    return msg


def test_addressing_in_private_and_groups():
    assert addressed_to_bot(message("private", "hola"), "concerta_bot", BOT.id)
    assert not addressed_to_bot(message("supergroup", "hola a tots"), "concerta_bot", BOT.id)
    mention = MessageEntity(type=MessageEntity.MENTION, offset=0, length=13)
    assert addressed_to_bot(
        message("supergroup", "@Concerta_bot quins ajuts hi ha?", entities=[mention]),
        "concerta_bot",
        BOT.id,
    )
    other = MessageEntity(type=MessageEntity.MENTION, offset=0, length=6)
    assert not addressed_to_bot(
        message("group", "@altre quins ajuts?", entities=[other]), "concerta_bot", BOT.id
    )
    bot_message = Message(
        message_id=0,
        date=NOW,
        chat=Chat(id=-5, type="group"),
        from_user=BOT,
        text="Resposta",
    )
    assert addressed_to_bot(
        message("group", "i quant costa?", reply_to=bot_message), "concerta_bot", BOT.id
    )
    assert addressed_to_bot(message("group", "/cerca camins"), "concerta_bot", BOT.id)
    assert addressed_to_bot(message("group", "/cerca@Concerta_bot camins"), "concerta_bot", 99)
    assert not addressed_to_bot(message("group", "/start@altre_bot"), "concerta_bot", BOT.id)


def test_strip_mention():
    assert (
        strip_mention("@Concerta_bot, quins ajuts hi ha?", "concerta_bot") == "quins ajuts hi ha?"
    )
    assert strip_mention("hola @concerta_bot", "concerta_bot") == "hola"
    assert strip_mention("@concerta_bot", "concerta_bot") == ""
