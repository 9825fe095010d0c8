"""ReportBuilder: the operators' report for a period (GET /api/admin/report, `concerta report`)."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from assistant.models import Hit
from assistant.reporting.gaps import GapFinder
from assistant.reporting.labels import GapLabeller
from assistant.reporting.models import (
    CitedArticle,
    CitedResource,
    DayCount,
    FeedbackItem,
    FeedbackSummary,
    Gap,
    PeriodOut,
    Report,
    ZeroResultSearch,
)
from assistant.reporting.period import Period
from assistant.reporting.records import ConversationRecords, TurnRecord
from index_config import Settings
from index_config.analyzer import CatalanAnalyzer

log = logging.getLogger(__name__)

TOP_SOURCES = 10
MAX_FEEDBACK_ITEMS = 100
# Small talk is refused on purpose; it is not a need the catalogue should cover.
NOT_A_GAP = frozenset({"small_talk"})

Embed = Callable[[str], Sequence[float]]
Search = Callable[[str, int], list[Hit]]


class ReportBuilder:
    """Counts from the conversation store; gaps with the service's query embedder and
    search (passed as functions, so the report needs no index of its own)."""

    def __init__(
        self,
        settings: Settings,
        embed: Embed,
        search: Search,
        analyzer: CatalanAnalyzer | None = None,
    ) -> None:
        self.settings = settings
        self.records = ConversationRecords(settings.sqlite_path)
        self.labeller = GapLabeller(analyzer or CatalanAnalyzer(settings.analyzer))
        self._embed = embed
        self._search = search

    @classmethod
    def for_service(cls, service: Any) -> ReportBuilder:
        """The report of an AssistantService's conversation store and index."""
        return cls(
            service.settings,
            embed=service.searcher.embed_query,
            search=lambda text, k: service.search(text, top_k=k),
            analyzer=service.searcher.analyzer,
        )

    def period(self, start: dt.date | None, end: dt.date | None) -> Period:
        return Period.of(start, end, self.settings.report_timezone)

    def build(self, period: Period) -> Report:
        turns = self.records.turns(period)
        answered = sum(t.grounded for t in turns)
        refused = len(turns) - answered
        searches = self.records.searches(period)
        return Report(
            period=PeriodOut.model_validate(
                {"from": period.start, "to": period.end, "timezone": period.zone.key}
            ),
            questions=len(turns),
            answered=answered,
            refused=refused,
            answered_rate=_rate(answered, len(turns)),
            refused_rate=_rate(refused, len(turns)),
            refusal_reasons=dict(Counter(t.reason for t in turns if t.reason).most_common()),
            conversations=len({t.conversation_id for t in turns}),
            by_day=_by_day(period, turns),
            feedback=self._feedback(period),
            top_resources=_top_resources(turns),
            top_articles=_top_articles(turns),
            searches=searches.total,
            zero_result_searches=[
                ZeroResultSearch(
                    query=query, filters=filters, count=count, last_seen=period.local_time(last)
                )
                for query, filters, count, last in searches.zero_result
            ],
            gaps=self.gaps(turns),
        )

    def gaps(self, turns: list[TurnRecord]) -> list[Gap]:
        """Refused or thumbs-down questions grouped by need, the largest group first."""
        gs = self.settings.gaps
        unmet = [
            t
            for t in turns
            if (t.reason is not None and t.reason not in NOT_A_GAP) or t.rating == -1
        ][-gs.max_questions :]
        if not unmet:
            return []
        finder = GapFinder(
            lambda q: self._embed(self.labeller.topic_text(q)), max_distance=gs.max_distance
        )
        everything = [t.question for t in turns]
        gaps = []
        for group in finder.group([t.question for t in unmet]):
            gaps.append(
                Gap(
                    label=self.labeller.label(group.questions, everything, gs.label_terms)
                    or group.central,
                    count=group.count,
                    examples=group.questions[: gs.examples],
                    nearest=self._nearest(group.central, gs.nearest),
                )
            )
        return gaps

    def _nearest(self, question: str, k: int) -> list[Hit]:
        try:
            return self._search(question, k)
        except Exception as exc:  # the counts are worth having without the neighbours
            log.warning("nearest resources of a gap unavailable: %s", type(exc).__name__)
            return []

    def _feedback(self, period: Period) -> FeedbackSummary:
        rated = self.records.feedback(period, limit=MAX_FEEDBACK_ITEMS)
        return FeedbackSummary(
            up=rated.up,
            down=rated.down,
            items=[
                FeedbackItem(
                    created_at=period.local_time(f.created_at),
                    rating=f.rating,
                    comment=f.comment,
                    question=f.question,
                    conversation_id=f.conversation_id,
                )
                for f in rated.listed
            ],
        )


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _by_day(period: Period, turns: list[TurnRecord]) -> list[DayCount]:
    """Every day of the period, those without questions included (a chart needs them)."""
    asked: Counter[dt.date] = Counter()
    ok: Counter[dt.date] = Counter()
    for turn in turns:
        day = period.local_day(turn.created_at)
        asked[day] += 1
        ok[day] += turn.grounded
    return [
        DayCount(date=day, questions=asked[day], answered=ok[day], refused=asked[day] - ok[day])
        for day in period.days()
    ]


def _top_resources(turns: list[TurnRecord]) -> list[CitedResource]:
    counts: Counter[str] = Counter()
    latest: dict[str, dict[str, Any]] = {}
    for turn in turns:
        # A resource cited twice in one answer was still cited by one answer.
        for codi in dict.fromkeys(h.get("codi") for h in turn.sources if h.get("kind") == "recurs"):
            if codi:
                counts[str(codi)] += 1
        for hit in turn.sources:
            if hit.get("kind") == "recurs" and hit.get("codi"):
                latest[str(hit["codi"])] = hit
    return [
        CitedResource(
            codi=codi,
            title=str(latest[codi].get("title", "")),
            url=latest[codi].get("url"),
            citations=n,
        )
        for codi, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_SOURCES]
    ]


def _top_articles(turns: list[TurnRecord]) -> list[CitedArticle]:
    counts: Counter[tuple[str, str]] = Counter()
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for turn in turns:
        keys = {}
        for hit in turn.sources:
            if hit.get("kind") in ("normativa", "faq") and hit.get("article"):
                key = (str(hit.get("doc_id", "")), str(hit["article"]))
                keys[key] = hit
        for key, hit in keys.items():
            counts[key] += 1
            latest[key] = hit
    return [
        CitedArticle(
            doc_id=key[0],
            kind=str(latest[key].get("kind")),
            article=key[1],
            title=str(latest[key].get("title", "")),
            source=str(latest[key].get("source", "")),
            url=latest[key].get("url"),
            citations=n,
        )
        for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_SOURCES]
    ]
