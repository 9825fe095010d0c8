"""What the bot remembers between updates, in memory and bounded.

The service keeps each conversation's history; the bot only remembers which
conversation a chat is in, and the answers it sent recently so that a card shown in
place of an answer ("Més detalls") can go back to it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from telegram import InlineKeyboardMarkup


@dataclass(frozen=True)
class SentMessage:
    """An answer or list the bot sent, as needed to restore it or rate it."""

    html: str
    markup: InlineKeyboardMarkup | None
    conversation_id: str | None = None
    message_id: str | None = None


class SentMessages:
    """The most recent `capacity` messages, keyed by (chat id, Telegram message id)."""

    def __init__(self, capacity: int = 5000) -> None:
        self.capacity = capacity
        self._items: OrderedDict[tuple[int, int], SentMessage] = OrderedDict()

    def remember(self, chat_id: int, telegram_message_id: int, sent: SentMessage) -> None:
        key = (chat_id, telegram_message_id)
        self._items[key] = sent
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def get(self, chat_id: int, telegram_message_id: int) -> SentMessage | None:
        return self._items.get((chat_id, telegram_message_id))

    def __len__(self) -> int:
        return len(self._items)


class Conversations:
    """Chat id -> the service's conversation id (one current conversation per chat)."""

    def __init__(self) -> None:
        self._by_chat: dict[int, str] = {}

    def get(self, chat_id: int) -> str | None:
        return self._by_chat.get(chat_id)

    def set(self, chat_id: int, conversation_id: str) -> None:
        self._by_chat[chat_id] = conversation_id

    def forget(self, chat_id: int) -> str | None:
        return self._by_chat.pop(chat_id, None)
