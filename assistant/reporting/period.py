"""Period: the days a report covers, counted in the operators' time zone."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from assistant.errors import QueryError

DEFAULT_DAYS = 30
# A year and a day: long enough for a catalogue's yearly review, short enough that the
# report (one row per question, embeddings for the gaps) stays interactive.
MAX_DAYS = 366


class PeriodError(QueryError):
    """A period the report cannot cover (Catalan message)."""


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date
    zone: ZoneInfo

    @classmethod
    def of(
        cls, start: dt.date | None, end: dt.date | None, timezone: str, today: dt.date | None = None
    ) -> Period:
        """The days from `start` to `end`, both included; `end` defaults to today and
        `start` to 30 days before it."""
        zone = ZoneInfo(timezone)
        end = end or today or dt.datetime.now(zone).date()
        start = start or end - dt.timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise PeriodError("La data inicial ha de ser anterior o igual a la data final.")
        if (end - start).days + 1 > MAX_DAYS:
            raise PeriodError(f"El període pot tenir com a màxim {MAX_DAYS} dies.")
        return cls(start, end, zone)

    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def utc_bounds(self) -> tuple[str, str]:
        """[first instant, instant after the last day) as UTC ISO strings, the way the
        conversation store writes its timestamps (so they compare as text)."""
        first = dt.datetime.combine(self.start, dt.time(), self.zone).astimezone(dt.UTC)
        after = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), self.zone)
        return _iso(first), _iso(after.astimezone(dt.UTC))

    def local_day(self, stamp: str) -> dt.date:
        return parse_stamp(stamp).astimezone(self.zone).date()

    def local_time(self, stamp: str) -> dt.datetime:
        return parse_stamp(stamp).astimezone(self.zone)


def parse_stamp(stamp: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(stamp)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")
