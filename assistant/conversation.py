"""ConversationStore: conversations, their turns and feedback, in SQLite (CONCERTA_DATA_DIR).

A follow-up such as "i quin és el termini?" is answered about what the previous turns
were about, so each turn keeps the question, the query it searched with and its sources.

Only the server issues conversation ids (128 random bits): an id it did not issue, or one
it has forgotten, starts a new conversation, so nobody can continue someone else's by
guessing or making up its id. Each answer keeps one rating (the last one sent). `purge`
deletes what is older than the retention period and the oldest turns beyond a size
bound (assistant/retention.py runs it).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import NotFoundError, QueryError
from assistant.models import Hit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    reset_after INTEGER NOT NULL DEFAULT 0,
    issued INTEGER NOT NULL DEFAULT 0
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
# A conversation without turns is kept this long (its first answer is on its way).
_EMPTY_CONVERSATION_GRACE = dt.timedelta(hours=1)

Clock = Callable[[], dt.datetime]


@dataclass
class Turn:
    id: str
    question: str
    search_query: str
    answer: str
    grounded: bool
    sources: list[Hit]
    # Why the turn was refused (decision.RefusalReason), None when it was answered.
    refusal_reason: str | None = None


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def stamp(moment: dt.datetime) -> str:
    """How times are stored: ISO 8601 in UTC to the second (sorts as text)."""
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def new_conversation_id() -> str:
    """128 random bits, URL-safe (22 characters)."""
    return secrets.token_urlsafe(16)


@dataclass(frozen=True)
class Purged:
    """What one purge deleted."""

    turns: int = 0
    feedback: int = 0
    conversations: int = 0


class ConversationStore:
    def __init__(self, path: Path, clock: Clock = utc_now) -> None:
        """`clock` gives the current time (tests pass a fake one)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._migrate()
        self._lock = threading.Lock()

    def _now(self) -> str:
        return stamp(self._clock())

    def _migrate(self) -> None:
        """Add what files written by earlier versions lack (columns, indexes; never a
        rename: the bot and the operators' report read these tables)."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(turns)")}
        if "refusal_reason" not in columns:
            self._db.execute("ALTER TABLE turns ADD COLUMN refusal_reason TEXT")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(conversations)")}
        if "issued" not in columns:
            # Earlier versions adopted any id a client sent: none of those is continued.
            self._db.execute(
                "ALTER TABLE conversations ADD COLUMN issued INTEGER NOT NULL DEFAULT 0"
            )
        indexes = {row[1] for row in self._db.execute("PRAGMA index_list(feedback)")}
        if "feedback_one_per_answer" not in indexes:
            # Earlier versions stored every rating sent: keep the last one of each answer.
            self._db.execute(
                "DELETE FROM feedback WHERE id NOT IN (SELECT MAX(id) FROM feedback "
                "GROUP BY conversation_id, COALESCE(message_id, ''))"
            )
            self._db.execute(
                "CREATE UNIQUE INDEX feedback_one_per_answer ON "
                "feedback(conversation_id, COALESCE(message_id, ''))"
            )
        self._db.execute("CREATE INDEX IF NOT EXISTS turns_by_time ON turns(created_at)")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def ensure(self, conversation_id: str | None) -> str:
        """`conversation_id` when this server issued it and still keeps it; otherwise a
        new conversation's id (never the one the client sent)."""
        with self._lock:
            if conversation_id:
                known = self._db.execute(
                    "SELECT 1 FROM conversations WHERE id = ? AND issued = 1", (conversation_id,)
                ).fetchone()
                if known:
                    return conversation_id
            cid = new_conversation_id()
            self._db.execute(
                "INSERT INTO conversations (id, created_at, issued) VALUES (?, ?, 1)",
                (cid, self._now()),
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
                "SELECT id, question, search_query, answer, grounded, sources, refusal_reason "
                "FROM turns "
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
                r[6],
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
                    self._now(),
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
        """Store a rating; a second one for the same answer replaces the first. Raises
        NotFoundError for an unknown conversation or answer, QueryError for bad values."""
        if rating not in (1, -1):
            raise QueryError("La valoració ha de ser 1 (útil) o -1 (no útil).")
        if comment is not None and len(comment) > MAX_COMMENT:
            raise QueryError(f"El comentari és massa llarg (màxim {MAX_COMMENT} caràcters).")
        with self._lock:
            known = self._db.execute(
                "SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
            if not known:
                raise NotFoundError("No es troba aquesta conversa.")
            if message_id is not None:
                turn = self._db.execute(
                    "SELECT 1 FROM turns WHERE id = ? AND conversation_id = ?",
                    (message_id, conversation_id),
                ).fetchone()
                if not turn:
                    raise NotFoundError("No es troba aquesta resposta dins la conversa.")
            # One rating per answer (per conversation when no answer is named).
            self._db.execute(
                "INSERT INTO feedback (conversation_id, message_id, rating, comment, created_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (conversation_id, COALESCE(message_id, '')) "
                "DO UPDATE SET rating = excluded.rating, comment = excluded.comment, "
                "created_at = excluded.created_at",
                (conversation_id, message_id, rating, comment, self._now()),
            )

    def feedback_rows(self, conversation_id: str) -> list[tuple[str | None, int, str | None]]:
        with self._lock:
            return self._db.execute(
                "SELECT message_id, rating, comment FROM feedback WHERE conversation_id = ? ORDER BY id",
                (conversation_id,),
            ).fetchall()

    def purge(self, before: dt.datetime, max_turns: int) -> Purged:
        """Delete turns and feedback older than `before`, then the oldest turns beyond
        `max_turns` (with their feedback), then conversations left with nothing."""
        cutoff = stamp(before)
        # A conversation left without turns (all deleted, or its answer never came) goes
        # too, unless it is new: its first answer may be on its way.
        empty_before = stamp(self._clock() - _EMPTY_CONVERSATION_GRACE)
        with self._lock:
            db = self._db
            turns_before = _count(db, "turns")
            feedback_before = _count(db, "feedback")
            conversations_before = _count(db, "conversations")
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(
                    "DELETE FROM feedback WHERE created_at < ? OR message_id IN "
                    "(SELECT id FROM turns WHERE created_at < ?)",
                    (cutoff, cutoff),
                )
                db.execute("DELETE FROM turns WHERE created_at < ?", (cutoff,))
                excess = _count(db, "turns") - max_turns
                if excess > 0:
                    oldest = "SELECT rowid FROM turns ORDER BY rowid LIMIT ?"
                    db.execute(
                        f"DELETE FROM feedback WHERE message_id IN "
                        f"(SELECT id FROM turns WHERE rowid IN ({oldest}))",
                        (excess,),
                    )
                    db.execute(f"DELETE FROM turns WHERE rowid IN ({oldest})", (excess,))
                db.execute(
                    "DELETE FROM conversations WHERE created_at < ? AND id NOT IN "
                    "(SELECT conversation_id FROM turns)",
                    (empty_before,),
                )
                db.execute(
                    "DELETE FROM feedback WHERE conversation_id NOT IN (SELECT id FROM conversations)"
                )
                # A reset marks a turn rowid; once the newest turns are gone, SQLite may
                # hand out lower rowids again, which must not hide new turns.
                db.execute(
                    "UPDATE conversations SET reset_after = (SELECT COALESCE(MAX(rowid), 0) "
                    "FROM turns) WHERE reset_after > (SELECT COALESCE(MAX(rowid), 0) FROM turns)"
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return Purged(
                turns=turns_before - _count(db, "turns"),
                feedback=feedback_before - _count(db, "feedback"),
                conversations=conversations_before - _count(db, "conversations"),
            )


def _count(db: sqlite3.Connection, table: str) -> int:
    count: int = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return count
