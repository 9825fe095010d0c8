"""The report's counting, ratings, citations, searches and CSV on a constructed SQLite
file (the real ConversationStore schema, rows written with chosen timestamps)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from assistant.conversation import ConversationStore
from assistant.models import Hit
from assistant.reporting import Period, PeriodError, ReportBuilder
from assistant.reporting.csv_export import HEADER, questions_csv
from assistant.reporting.searches import SearchLog
from index_config import Settings

WIFI = {"id": "22133#0", "doc_id": "22133", "kind": "recurs", "title": "Wifi públic",
        "snippet": "", "score": 1.0, "url": "https://cataleg.exemple.cat/recurs/22133",
        "source": "cataleg-2022.jsonl", "codi": "22133", "article": None, "metadata": {}}  # fmt: skip
CAMINS = {**WIFI, "id": "22207#0", "doc_id": "22207", "title": "Camins", "codi": "22207"}
ARTICLE = {**WIFI, "id": "regim#12", "doc_id": "regim", "kind": "normativa", "codi": None,
           "title": "Article 12. Justificació", "article": "Article 12",
           "source": "regim-regulador.pdf", "url": None}  # fmt: skip


class Seeded:
    """A data folder whose SQLite file holds turns and ratings at chosen UTC times."""

    def __init__(self, tmp_path: Path) -> None:
        self.settings = Settings(data_dir=tmp_path)
        ConversationStore(self.settings.sqlite_path).close()  # the real schema
        self.db = sqlite3.connect(self.settings.sqlite_path, isolation_level=None)

    def turn(
        self,
        tid: str,
        cid: str,
        question: str,
        at: str,
        grounded: bool = True,
        sources: Sequence[dict[str, Any]] = (),
        reason: str | None = None,
    ) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO conversations (id, created_at) VALUES (?, ?)", (cid, at)
        )
        self.db.execute(
            "INSERT INTO turns (id, conversation_id, question, search_query, answer, grounded, "
            "sources, created_at, refusal_reason) VALUES (?, ?, ?, ?, '', ?, ?, ?, ?)",
            (tid, cid, question, question, int(grounded), json.dumps(list(sources)), at, reason),
        )

    def rate(
        self, cid: str, mid: str | None, rating: int, at: str, comment: str | None = None
    ) -> None:
        # As the store keeps them: one rating per answer, the last one sent.
        self.db.execute(
            "INSERT INTO feedback (conversation_id, message_id, rating, comment, created_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (conversation_id, COALESCE(message_id, '')) "
            "DO UPDATE SET rating = excluded.rating, comment = excluded.comment, "
            "created_at = excluded.created_at",
            (cid, mid, rating, comment, at),
        )


def fake_embed(text: str) -> list[float]:
    # Questions about pools point one way, everything else the other.
    return [1.0, 0.0] if "piscina" in text else [0.0, 1.0]


def fake_search(text: str, k: int) -> list[Hit]:
    return [Hit.model_validate(CAMINS)][:k]


@pytest.fixture
def seeded(tmp_path: Path) -> Seeded:
    s = Seeded(tmp_path)
    # 9 and 10 March 2026 in Madrid (UTC+1). 23:30 UTC on the 9th is already the 10th.
    s.turn("t1", "c1", "Hi ha ajuts per posar wifi a la plaça?", "2026-03-09T09:00:00+00:00",
           sources=[WIFI, WIFI])  # fmt: skip
    s.turn("t2", "c1", "I fins quan es pot justificar?", "2026-03-09T09:01:00+00:00",
           sources=[ARTICLE, WIFI])  # fmt: skip
    s.turn("t3", "c2", "Socorristes per a la piscina municipal?", "2026-03-09T23:30:00+00:00",
           grounded=False, reason="no_evidence")  # fmt: skip
    s.turn("t4", "c3", "=Com pagar els vigilants de la piscina?", "2026-03-10T10:00:00+00:00",
           grounded=True, sources=[CAMINS])  # fmt: skip
    s.turn("t5", "c4", "Hola, com estàs?", "2026-03-10T11:00:00+00:00", grounded=False,
           reason="small_talk")  # fmt: skip
    s.turn("t6", "c5", "Camins del 2025?", "2026-03-10T12:00:00+00:00", grounded=False)
    # Outside the period (the day after, in Madrid).
    s.turn("t7", "c6", "Una altra piscina?", "2026-03-10T23:10:00+00:00", grounded=False)
    s.rate("c1", "t1", 1, "2026-03-09T09:05:00+00:00", "Molt clar")
    s.rate("c3", "t4", 1, "2026-03-10T10:01:00+00:00")
    s.rate("c3", "t4", -1, "2026-03-10T10:02:00+00:00", "No parla de socorristes")  # latest wins
    s.rate("c5", None, -1, "2026-03-10T12:05:00+00:00")  # no message id: the last answer
    return s


@pytest.fixture
def builder(seeded: Seeded) -> ReportBuilder:
    return ReportBuilder(seeded.settings, embed=fake_embed, search=fake_search)


@pytest.fixture
def period(builder: ReportBuilder) -> Period:
    return builder.period(dt.date(2026, 3, 9), dt.date(2026, 3, 10))


def test_counts_and_rates(builder: ReportBuilder, period: Period) -> None:
    report = builder.build(period)
    assert (report.questions, report.answered, report.refused) == (6, 3, 3)
    assert report.answered_rate == 0.5 and report.refused_rate == 0.5
    assert report.refusal_reasons == {"no_evidence": 1, "small_talk": 1, "unknown": 1}
    assert report.conversations == 5
    assert report.period.model_dump() == {"from": dt.date(2026, 3, 9), "to": dt.date(2026, 3, 10),
                                           "timezone": "Europe/Madrid"}  # fmt: skip


def test_days_are_counted_in_the_report_time_zone(builder: ReportBuilder, period: Period) -> None:
    days = {
        d.date.isoformat(): (d.questions, d.answered, d.refused)
        for d in builder.build(period).by_day
    }
    assert days == {"2026-03-09": (2, 2, 0), "2026-03-10": (4, 1, 3)}


def test_feedback_of_the_period_with_the_rated_question(
    builder: ReportBuilder, period: Period
) -> None:
    feedback = builder.build(period).feedback
    assert (feedback.up, feedback.down) == (1, 2)  # t4's thumbs up was replaced by its down
    listed = [(f.rating, f.question, f.comment) for f in feedback.items]
    assert listed == [
        (-1, "Camins del 2025?", None),
        (-1, "=Com pagar els vigilants de la piscina?", "No parla de socorristes"),
        (1, "Hi ha ajuts per posar wifi a la plaça?", "Molt clar"),
    ]  # newest first; a thumbs up without comment is not listed


def test_most_cited_count_answers_not_mentions(builder: ReportBuilder, period: Period) -> None:
    report = builder.build(period)
    assert [(r.codi, r.citations) for r in report.top_resources] == [("22133", 2), ("22207", 1)]
    assert [(a.article, a.source, a.citations) for a in report.top_articles] == [
        ("Article 12", "regim-regulador.pdf", 1)
    ]


def test_gaps_are_refused_or_thumbs_down_questions_without_small_talk(
    builder: ReportBuilder, period: Period
) -> None:
    gaps = builder.build(period).gaps
    assert [(sorted(g.examples), g.count) for g in gaps] == [
        (
            sorted(
                [
                    "Socorristes per a la piscina municipal?",
                    "=Com pagar els vigilants de la piscina?",
                ]
            ),
            2,
        ),
        (["Camins del 2025?"], 1),
    ]
    assert "piscina" in gaps[0].label.split(" · ")
    assert [h.codi for h in gaps[0].nearest] == ["22207"]


def test_zero_result_searches_are_grouped_and_others_only_counted(
    seeded: Seeded, builder: ReportBuilder
) -> None:
    log = SearchLog(seeded.settings.sqlite_path)
    log.record("plaques solars", {"any": 2031}, 0)
    log.record("Plaques solars ", {"any": 2031}, 0)
    log.record("wifi", {}, 5)
    report = builder.build(builder.period(None, None))  # today: the searches just made
    assert report.searches == 3
    # The same words with other capitals or spaces are one search, shown as typed last.
    assert [(s.query.casefold(), s.filters, s.count) for s in report.zero_result_searches] == [
        ("plaques solars", {"any": 2031}, 2)
    ]
    with closing(sqlite3.connect(seeded.settings.sqlite_path)) as db:
        stored = db.execute("SELECT query, filters FROM searches WHERE result_count > 0").fetchall()
    assert stored == [(None, None)]  # what found something is not kept


def test_csv_has_a_row_per_question_and_defuses_formulas(
    builder: ReportBuilder, period: Period
) -> None:
    text = questions_csv(period, builder.records.turns(period))
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == HEADER
    body = {row[2]: dict(zip(HEADER, row, strict=True)) for row in rows[1:]}
    assert len(rows) == 7 and len(body) == 6
    wifi = body["Hi ha ajuts per posar wifi a la plaça?"]
    assert wifi["date"] == "2026-03-09 10:00:00" and wifi["answered"] == "1"
    assert wifi["sources"] == "22133" and wifi["rating"] == "1" and wifi["comment"] == "Molt clar"
    assert (
        body["I fins quan es pot justificar?"]["sources"]
        == "regim-regulador.pdf: Article 12; 22133"
    )
    pool = body["'=Com pagar els vigilants de la piscina?"]
    assert pool["rating"] == "-1" and pool["comment"] == "No parla de socorristes"
    assert body["Camins del 2025?"]["refusal_reason"] == "unknown"
    assert body["Camins del 2025?"]["rating"] == "-1"


def test_an_empty_data_folder_gives_an_empty_report(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "nothing")
    report = ReportBuilder(settings, embed=fake_embed, search=fake_search).build(
        Period.of(dt.date(2026, 3, 1), dt.date(2026, 3, 3), "Europe/Madrid")
    )
    assert (report.questions, report.searches, report.gaps) == (0, 0, [])
    assert [d.questions for d in report.by_day] == [0, 0, 0]


def test_period_defaults_and_limits() -> None:
    today = dt.date(2026, 3, 31)
    default = Period.of(None, None, "Europe/Madrid", today=today)
    assert (default.start, default.end) == (dt.date(2026, 3, 2), today)
    with pytest.raises(PeriodError, match="anterior o igual"):
        Period.of(dt.date(2026, 3, 5), dt.date(2026, 3, 1), "Europe/Madrid")
    with pytest.raises(PeriodError, match="366 dies"):
        Period.of(dt.date(2024, 1, 1), dt.date(2026, 1, 1), "Europe/Madrid")
    # Summer time: the day starts at 22:00 UTC the day before.
    assert Period.of(dt.date(2026, 7, 1), dt.date(2026, 7, 1), "Europe/Madrid").utc_bounds() == (
        "2026-06-30T22:00:00+00:00",
        "2026-07-01T22:00:00+00:00",
    )


def test_every_refusal_reason_has_a_label_for_the_catalogue_managers() -> None:
    """A new reason in decide() must reach both of the managers' views in their words."""
    import typing

    from assistant.ask.decision import RefusalReason
    from assistant.reporting.terminal import REASONS
    from index_config.settings import PROJECT_DIR

    admin_js = (PROJECT_DIR / "assistant" / "web" / "static" / "admin.js").read_text("utf-8")
    for reason in typing.get_args(RefusalReason):
        assert reason in REASONS, reason
        assert f'    {reason}: "{REASONS[reason]}"' in admin_js, reason
