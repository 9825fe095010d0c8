"""ConversationRecords: the conversation store's SQLite file, read-only, for the report.

The report never writes there (the assistant owns the file); it opens its own read-only
connection per report, so it needs no lifecycle and cannot block an answer.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.reporting.period import Period

# An answer is refused without a known reason when the assistant stored none.
UNKNOWN_REASON = "unknown"


@dataclass
class TurnRecord:
    id: str
    conversation_id: str
    question: str
    grounded: bool
    refusal_reason: str | None
    sources: list[dict[str, Any]]
    created_at: str
    # The latest rating of this answer, if any (1 or -1), and its comment.
    rating: int | None = None
    comment: str | None = None

    @property
    def reason(self) -> str | None:
        """Why it was refused ("unknown" when not stored); None when answered."""
        return None if self.grounded else (self.refusal_reason or UNKNOWN_REASON)


@dataclass
class FeedbackRecord:
    conversation_id: str
    message_id: str | None
    rating: int
    comment: str | None
    created_at: str
    question: str | None = None


@dataclass
class FeedbackCounts:
    up: int = 0
    down: int = 0
    listed: list[FeedbackRecord] = field(default_factory=list)


@dataclass
class SearchSummary:
    total: int = 0
    # (query, filters JSON, count, last time), most frequent first.
    zero_result: list[tuple[str, dict[str, Any], int, str]] = field(default_factory=list)


class ConversationRecords:
    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _open(self) -> Iterator[sqlite3.Connection | None]:
        if not self.path.exists():
            yield None  # nothing asked yet: an empty report
            return
        uri = self.path.resolve().as_uri() + "?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=5)) as db:
            yield db

    def turns(self, period: Period) -> list[TurnRecord]:
        """The questions asked in the period, oldest first, each with its latest rating."""
        first, after = period.utc_bounds()
        with self._open() as db:
            if db is None or not _has_table(db, "turns"):
                return []
            reason = "refusal_reason" if _has_column(db, "turns", "refusal_reason") else "NULL"
            rows = db.execute(
                f"SELECT id, conversation_id, question, grounded, {reason}, sources, created_at "
                "FROM turns WHERE created_at >= ? AND created_at < ? ORDER BY created_at, rowid",
                (first, after),
            ).fetchall()
            turns = [
                TurnRecord(r[0], r[1], r[2], bool(r[3]), r[4], _json_list(r[5]), r[6]) for r in rows
            ]
            if turns and _has_table(db, "feedback"):
                _attach_ratings(db, turns, first, after)
        return turns

    def feedback(self, period: Period, limit: int = 100) -> FeedbackCounts:
        """Ratings given in the period: counts, and the thumbs-down or commented ones
        (newest first, at most `limit`) with the question they rate."""
        first, after = period.utc_bounds()
        with self._open() as db:
            if db is None or not _has_table(db, "feedback"):
                return FeedbackCounts()
            counts = dict(
                db.execute(
                    "SELECT rating, count(*) FROM feedback "
                    "WHERE created_at >= ? AND created_at < ? GROUP BY rating",
                    (first, after),
                ).fetchall()
            )
            rows = db.execute(
                "SELECT conversation_id, message_id, rating, comment, created_at FROM feedback "
                "WHERE created_at >= ? AND created_at < ? "
                "AND (rating = -1 OR trim(coalesce(comment, '')) != '') "
                "ORDER BY created_at DESC, id DESC LIMIT ?",
                (first, after, limit),
            ).fetchall()
            items = [FeedbackRecord(*row) for row in rows]
            if _has_table(db, "turns"):
                for item in items:
                    item.question = _rated_question(db, item)
        return FeedbackCounts(counts.get(1, 0), counts.get(-1, 0), items)

    def searches(self, period: Period, limit: int = 50) -> SearchSummary:
        first, after = period.utc_bounds()
        with self._open() as db:
            if db is None or not _has_table(db, "searches"):
                return SearchSummary()
            total = db.execute(
                "SELECT count(*) FROM searches WHERE created_at >= ? AND created_at < ?",
                (first, after),
            ).fetchone()[0]
            # The same words typed again count once, with how often; SQLite takes the bare
            # columns from the row holding max(created_at).
            rows = db.execute(
                "SELECT query, filters, count(*), max(created_at) FROM searches "
                "WHERE result_count = 0 AND query IS NOT NULL "
                "AND created_at >= ? AND created_at < ? "
                "GROUP BY lower(trim(query)), filters ORDER BY count(*) DESC, max(created_at) DESC "
                "LIMIT ?",
                (first, after, limit),
            ).fetchall()
        return SearchSummary(total, [(r[0], _json_dict(r[1]), r[2], r[3]) for r in rows])


def _attach_ratings(
    db: sqlite3.Connection, turns: list[TurnRecord], first: str, after: str
) -> None:
    """Give each turn its latest rating. A rating without a message id rates the
    conversation's last answer before it (the widget's early versions sent none)."""
    by_id = {t.id: t for t in turns}
    by_conversation: dict[str, list[TurnRecord]] = {}
    for turn in turns:
        by_conversation.setdefault(turn.conversation_id, []).append(turn)
    rows = db.execute(
        "SELECT conversation_id, message_id, rating, comment, created_at FROM feedback "
        "WHERE conversation_id IN (SELECT conversation_id FROM turns "
        "WHERE created_at >= ? AND created_at < ?) ORDER BY created_at, id",
        (first, after),
    ).fetchall()
    for conversation_id, message_id, rating, comment, created_at in rows:
        target = by_id.get(message_id) if message_id else None
        if message_id is None:
            own = by_conversation.get(conversation_id, [])
            earlier = [t for t in own if t.created_at <= created_at]
            target = earlier[-1] if earlier else None
        if target is not None:  # later rows win: the latest rating stands
            target.rating, target.comment = rating, comment


def _rated_question(db: sqlite3.Connection, item: FeedbackRecord) -> str | None:
    if item.message_id:
        row = db.execute("SELECT question FROM turns WHERE id = ?", (item.message_id,)).fetchone()
    else:
        row = db.execute(
            "SELECT question FROM turns WHERE conversation_id = ? AND created_at <= ? "
            "ORDER BY created_at DESC, rowid DESC LIMIT 1",
            (item.conversation_id, item.created_at),
        ).fetchone()
    return row[0] if row else None


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    return (
        db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        is not None
    )


def _has_column(db: sqlite3.Connection, table: str, column: str) -> bool:
    return any(row[1] == column for row in db.execute(f"PRAGMA table_info({table})"))


def _json_list(text: str | None) -> list[dict[str, Any]]:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _json_dict(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
