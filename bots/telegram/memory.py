"""What the bot remembers between updates.

The service keeps each conversation's history; the bot remembers which conversation a
chat is in (in SQLite, in the data folder, so a restart keeps every conversation), and,
in memory and bounded, the answers it sent recently so that a card shown in place of an
answer ("Més detalls") can go back to it and a "which resource?" button can ask again.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from telegram import InlineKeyboardMarkup

CHAT_STORE_NAME = "telegram-chats.sqlite3"


@dataclass(frozen=True)
class SentMessage:
    """An answer or list the bot sent, as needed to restore it, rate it or ask again."""

    html: str
    markup: InlineKeyboardMarkup | None
    conversation_id: str | None = None
    message_id: str | None = None
    question: str | None = None


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
    """Chat id -> the service's conversation id (one current conversation per chat).

    Kept in a SQLite file (`path`), or in memory when `path` is None. Each call is one
    short statement on a local file, so handlers call it directly from the event loop.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            str(path) if path is not None else ":memory:", check_same_thread=False
        )
        self._lock = threading.Lock()
        with self._lock, self._db:
            if path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS chat_conversations ("
                " chat_id INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL,"
                " updated_at TEXT NOT NULL)"
            )

    def get(self, chat_id: int) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT conversation_id FROM chat_conversations WHERE chat_id = ?", (chat_id,)
            ).fetchone()
        return str(row[0]) if row else None

    def set(self, chat_id: int, conversation_id: str) -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO chat_conversations (chat_id, conversation_id, updated_at)"
                " VALUES (?, ?, ?) ON CONFLICT(chat_id) DO UPDATE SET"
                " conversation_id = excluded.conversation_id, updated_at = excluded.updated_at",
                (chat_id, conversation_id, now),
            )

    def forget(self, chat_id: int) -> str | None:
        with self._lock, self._db:
            row = self._db.execute(
                "DELETE FROM chat_conversations WHERE chat_id = ? RETURNING conversation_id",
                (chat_id,),
            ).fetchone()
        return str(row[0]) if row else None

    def close(self) -> None:
        with self._lock:
            self._db.close()
