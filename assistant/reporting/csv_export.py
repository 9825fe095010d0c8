"""The period's questions as CSV, one row per question, header first (report.csv)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from assistant.reporting.period import Period
from assistant.reporting.records import TurnRecord

HEADER = (
    "date",
    "conversation",
    "question",
    "answered",
    "refusal_reason",
    "sources",
    "rating",
    "comment",
)
# A cell starting with one of these is a formula to a spreadsheet: questions come from
# anyone on the portal, so such cells get a leading apostrophe (OWASP "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def questions_csv(period: Period, turns: Iterable[TurnRecord]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for turn in turns:
        writer.writerow(
            [
                period.local_time(turn.created_at).strftime("%Y-%m-%d %H:%M:%S"),
                turn.conversation_id,
                _cell(turn.question),
                1 if turn.grounded else 0,
                turn.reason or "",
                _cell("; ".join(dict.fromkeys(_source_label(h) for h in turn.sources))),
                "" if turn.rating is None else turn.rating,
                _cell(turn.comment or ""),
            ]
        )
    return buffer.getvalue()


def _source_label(hit: dict[str, Any]) -> str:
    if hit.get("kind") == "recurs" and hit.get("codi"):
        return str(hit["codi"])
    if hit.get("article"):
        return f"{hit.get('source', '')}: {hit['article']}"
    return str(hit.get("source") or hit.get("doc_id") or "")


def _cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
