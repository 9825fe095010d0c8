"""RetentionJob: what the SQLite file keeps, and for how long (the privacy notice, README).

Conversations, their turns, ratings and the operators' search log older than
`privacy.retention_days` are deleted, and so are the oldest turns beyond `privacy.max_turns`
and the oldest search records beyond `privacy.max_searches`. The web app runs the job when
it starts and then every `privacy.purge_interval_seconds` (assistant/api/app.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from assistant.conversation import Clock, ConversationStore, Purged, utc_now
from assistant.reporting.searches import SearchLog
from index_config.settings import PrivacySettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionResult:
    cutoff: dt.datetime
    purged: Purged
    searches: int


class RetentionJob:
    """Deletes what is past the retention period or beyond the size bounds.

    `store` is read at each run: the service opens its conversation store when it warms
    up, which may be after the app starts (no index yet).
    """

    def __init__(
        self,
        settings: PrivacySettings,
        store: Callable[[], ConversationStore | None],
        searches: SearchLog | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.settings = settings
        self._store = store
        self._searches = searches
        self._clock = clock
        self.last: RetentionResult | None = None

    def run_once(self) -> RetentionResult:
        cutoff = self._clock() - dt.timedelta(days=self.settings.retention_days)
        store = self._store()
        purged = store.purge(cutoff, self.settings.max_turns) if store is not None else Purged()
        searches = (
            self._searches.purge(cutoff, self.settings.max_searches)
            if self._searches is not None
            else 0
        )
        result = RetentionResult(cutoff, purged, searches)
        if purged.turns or purged.feedback or purged.conversations or searches:
            log.info(
                "retention: deleted %d turns, %d ratings, %d conversations, %d searches "
                "(older than %s or beyond the size bounds)",
                purged.turns,
                purged.feedback,
                purged.conversations,
                searches,
                cutoff.date().isoformat(),
            )
        self.last = result
        return result

    async def run_safely(self) -> None:
        """One run in a worker thread; a failure is logged, never raised (the app and its
        answers must not stop because a purge failed; the next run tries again)."""
        try:
            await asyncio.to_thread(self.run_once)
        except Exception:
            log.exception("retention: the purge failed")

    async def run_forever(self) -> None:
        """Run every `purge_interval_seconds` until cancelled (the app's lifespan)."""
        while True:
            await asyncio.sleep(self.settings.purge_interval_seconds)
            await self.run_safely()
