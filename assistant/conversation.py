"""ConversationStore: conversations, their turns and feedback, in SQLite (CONCERTA_DATA_DIR).

A follow-up such as "i quin és el termini?" is answered about what the previous turns
were about, so each turn keeps the question, the query it searched with and its sources.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import QueryError
from assistant.models import Hit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    reset_after INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS turns (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    question TEXT NOT NULL,
    search_query TEXT NOT NULL,
    answer TEXT NOT NULL,
    grounded INTEGER NOT NULL,
    sources TEXT NOT NULL,
    created_at TEXT NOT NULL,
    refusal_reason TEXT
);
CREATE INDEX IF NOT EXISTS turns_by_conversation ON turns(conversation_id, created_at);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL,
    message_id TEXT,
    rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    comment TEXT,
    created_at TEXT NOT NULL
);
"""
MAX_COMMENT = 2000


@dataclass
class Turn:
    id: str
    question: str
    search_query: str
    answer: str
    grounded: bool
    sources: list[Hit]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class ConversationStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._migrate()
        self._lock = threading.Lock()

    def _migrate(self) -> None:
        """Add columns that files written by earlier versions lack."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(turns)")}
        if "refusal_reason" not in columns:
            self._db.execute("ALTER TABLE turns ADD COLUMN refusal_reason TEXT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def ensure(self, conversation_id: str | None) -> str:
        """An existing conversation id, or a new one (unknown ids start afresh)."""
        cid = (conversation_id or "").strip()[:100] or uuid.uuid4().hex
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO conversations (id, created_at) VALUES (?, ?)", (cid, _now())
            )
        return cid

    def history(self, conversation_id: str, limit: int = 3) -> list[Turn]:
        """The last turns since the conversation was last reset, oldest first."""
        with self._lock:
            row = self._db.execute(
                "SELECT reset_after FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
            since = row[0] if row else 0
            rows = self._db.execute(
                "SELECT id, question, search_query, answer, grounded, sources FROM turns "
                "WHERE conversation_id = ? AND rowid > ? ORDER BY rowid DESC LIMIT ?",
                (conversation_id, since, limit),
            ).fetchall()
        turns = [
            Turn(
                r[0],
                r[1],
                r[2],
                r[3],
                bool(r[4]),
                [Hit.model_validate(h) for h in json.loads(r[5])],
            )
            for r in rows
        ]
        return list(reversed(turns))

    def add_turn(
        self,
        conversation_id: str,
        question: str,
        search_query: str,
        answer: str,
        grounded: bool,
        sources: list[Hit],
        turn_id: str | None = None,
        refusal_reason: str | None = None,
    ) -> str:
        turn_id = turn_id or uuid.uuid4().hex
        payload = json.dumps([h.model_dump() for h in sources], ensure_ascii=False)
        with self._lock:
            self._db.execute(
                "INSERT INTO turns (id, conversation_id, question, search_query, answer, "
                "grounded, sources, created_at, refusal_reason) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    turn_id,
                    conversation_id,
                    question,
                    search_query,
                    answer,
                    int(grounded),
                    payload,
                    _now(),
                    refusal_reason,
                ),
            )
        return turn_id

    def reset(self, conversation_id: str) -> None:
        with self._lock:
            # A reset marks the point after which turns count; history is kept for audit.
            self._db.execute(
                "UPDATE conversations SET reset_after = "
                "(SELECT COALESCE(MAX(rowid), 0) FROM turns) WHERE id = ?",
                (conversation_id,),
            )

    def add_feedback(
        self, conversation_id: str, rating: int, message_id: str | None, comment: str | None
    ) -> None:
        if rating not in (1, -1):
            raise QueryError("La valoració ha de ser 1 (útil) o -1 (no útil).")
        if comment is not None and len(comment) > MAX_COMMENT:
            raise QueryError(f"El comentari és massa llarg (màxim {MAX_COMMENT} caràcters).")
        with self._lock:
            known = self._db.execute(
                "SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
            if not known:
                raise QueryError("No es troba aquesta conversa.")
            if message_id is not None:
                turn = self._db.execute(
                    "SELECT 1 FROM turns WHERE id = ? AND conversation_id = ?",
                    (message_id, conversation_id),
                ).fetchone()
                if not turn:
                    raise QueryError("No es troba aquesta resposta dins la conversa.")
            self._db.execute(
                "INSERT INTO feedback (conversation_id, message_id, rating, comment, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (conversation_id, message_id, rating, comment, _now()),
            )

    def feedback_rows(self, conversation_id: str) -> list[tuple[str | None, int, str | None]]:
        with self._lock:
            return self._db.execute(
                "SELECT message_id, rating, comment FROM feedback WHERE conversation_id = ? ORDER BY id",
                (conversation_id,),
            ).fetchall()
