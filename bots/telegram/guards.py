"""Who may talk to the bot and how often, and whether a group message is meant for it."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Collection

from telegram import Message, MessageEntity


class ChatRateLimiter:
    """Sliding window: at most `limit` messages per chat every `window` seconds."""

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._events: dict[int, deque[float]] = {}
        # Chats already told they are going too fast in the current window (tell once).
        self._warned: dict[int, float] = {}

    def allow(self, chat_id: int) -> bool:
        """Record one message; False when the chat is over its limit (not recorded)."""
        now = self._clock()
        events = self._events.setdefault(chat_id, deque())
        while events and now - events[0] >= self.window:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        self._warned.pop(chat_id, None)
        return True

    def should_warn(self, chat_id: int) -> bool:
        """True the first time a limited chat is refused in a window, so we warn once."""
        now = self._clock()
        last = self._warned.get(chat_id)
        if last is not None and now - last < self.window:
            return False
        self._warned[chat_id] = now
        return True

    def forget_idle(self) -> None:
        """Drop chats with no message in the window (keeps memory bounded)."""
        now = self._clock()
        for chat_id in [
            c for c, ev in self._events.items() if not ev or now - ev[-1] >= self.window
        ]:
            del self._events[chat_id]


def is_allowed(chat_id: int, allowed_chats: Collection[int]) -> bool:
    """An empty allowlist lets every chat in."""
    return not allowed_chats or chat_id in allowed_chats


def is_private(message: Message) -> bool:
    return message.chat.type == "private"


def mentions_bot(message: Message, username: str | None) -> bool:
    """True when a mention entity (in the text or a caption) names this bot."""
    if not username:
        return False
    handle = f"@{username}".lower()
    mentions = [
        *message.parse_entities([MessageEntity.MENTION]).values(),
        *message.parse_caption_entities([MessageEntity.MENTION]).values(),
    ]
    return any(value.lower() == handle for value in mentions)


def replies_to_bot(message: Message, bot_id: int) -> bool:
    replied = message.reply_to_message
    return bool(replied and replied.from_user and replied.from_user.id == bot_id)


def addressed_to_bot(message: Message, username: str | None, bot_id: int) -> bool:
    """Private chats always; in groups only a mention, a reply to the bot or a command."""
    if is_private(message):
        return True
    text = message.text or ""
    if text.startswith("/"):
        # "/cerca@other_bot" is for another bot; a bare "/cerca" is for every bot.
        command = text.split(maxsplit=1)[0]
        _, _, target = command.partition("@")
        return not target or target.lower() == (username or "").lower()
    return mentions_bot(message, username) or replies_to_bot(message, bot_id)


def strip_mention(text: str, username: str | None) -> str:
    """The question without the @botusername that addressed it."""
    if not username:
        return text.strip()
    handle = f"@{username}"
    lowered, out, position = text.lower(), [], 0
    index = lowered.find(handle.lower())
    while index != -1:
        out.append(text[position:index])
        position = index + len(handle)
        index = lowered.find(handle.lower(), position)
    out.append(text[position:])
    return " ".join("".join(out).split()).strip(" ,:")
