"""SearchLog: a record of the staff searches (POST /api/search) for the operators' report.

Stores as little as the report needs: the time and the number of results of every search
(for the share of searches that found nothing), and the query and filters only of those
that found nothing (what the catalogue managers read). Same SQLite file as the
conversation store, its own table.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS searches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    result_count INTEGER NOT NULL,
    query TEXT,
    filters TEXT
);
CREATE INDEX IF NOT EXISTS searches_by_time ON searches(created_at);
"""


class SearchLog:
    """Appends one row per search. Thread-safe; a failure to write is logged, never
    raised: a search must not fail because its record could not be kept."""

    def __init__(
        self, path: Path, clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    ) -> None:
        """`clock` gives the current time (tests pass a fake one)."""
        self.path = path
        self._clock = clock
        self._ready = False
        self._lock = threading.Lock()

    def record(self, query: str, filters: dict[str, Any], result_count: int) -> None:
        if not self.path.exists():
            # The conversation store creates the file when the service warms up; a
            # process without one (a test double, a read-only front end) keeps no log.
            return
        now = _stamp(self._clock())
        found = result_count > 0
        row = (
            now,
            result_count,
            None if found else query.strip(),
            None if found else json.dumps(_set(filters), ensure_ascii=False, sort_keys=True),
        )
        try:
            with self._lock, closing(self._connect()) as db:
                db.execute(
                    "INSERT INTO searches (created_at, result_count, query, filters) "
                    "VALUES (?, ?, ?, ?)",
                    row,
                )
        except sqlite3.Error as exc:
            log.warning("could not record a search: %s", exc)

    def purge(self, before: dt.datetime, max_rows: int) -> int:
        """Delete records older than `before`, then the oldest beyond `max_rows`; returns
        how many were deleted (retention, assistant/retention.py)."""
        if not self.path.exists():
            return 0
        with self._lock, closing(self._connect()) as db:
            deleted = db.execute(
                "DELETE FROM searches WHERE created_at < ?", (_stamp(before),)
            ).rowcount
            deleted += db.execute(
                "DELETE FROM searches WHERE id IN (SELECT id FROM searches ORDER BY id DESC "
                "LIMIT -1 OFFSET ?)",
                (max_rows,),
            ).rowcount
        return int(deleted)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), timeout=5, isolation_level=None)
        if not self._ready:
            db.executescript(SCHEMA)
            self._ready = True
        return db


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def _set(filters: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in (filters or {}).items() if v not in (None, "")}
