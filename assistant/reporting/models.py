"""The shape of GET /api/admin/report and `concerta report --json` (DESIGN.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from assistant.models import Hit


class PeriodOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    from_: dt.date = Field(alias="from", description="Primer dia (inclòs).")
    to: dt.date = Field(description="Darrer dia (inclòs).")
    timezone: str = Field(description="Zona horària en què es compten els dies.")


class DayCount(BaseModel):
    date: dt.date
    questions: int
    answered: int
    refused: int


class FeedbackItem(BaseModel):
    created_at: dt.datetime
    rating: int = Field(description="1 (útil) o -1 (no útil).")
    comment: str | None
    question: str | None = Field(description="La pregunta valorada, si es coneix.")
    conversation_id: str


class FeedbackSummary(BaseModel):
    up: int
    down: int
    items: list[FeedbackItem] = Field(
        description="Valoracions amb comentari o negatives, les més recents primer."
    )


class CitedResource(BaseModel):
    codi: str
    title: str
    url: str | None
    citations: int


class CitedArticle(BaseModel):
    doc_id: str
    kind: str
    article: str
    title: str
    source: str
    url: str | None
    citations: int


class ZeroResultSearch(BaseModel):
    query: str
    filters: dict[str, Any]
    count: int
    last_seen: dt.datetime


class Gap(BaseModel):
    label: str = Field(description="Els termes més distintius del grup.")
    count: int = Field(description="Preguntes del grup (refusades o valorades negativament).")
    examples: list[str]
    nearest: list[Hit] = Field(description="Els recursos existents més propers.")


class Report(BaseModel):
    period: PeriodOut
    questions: int
    answered: int
    refused: int
    answered_rate: float = Field(description="answered / questions (0 sense preguntes).")
    refused_rate: float = Field(description="refused / questions (0 sense preguntes).")
    refusal_reasons: dict[str, int]
    conversations: int
    by_day: list[DayCount]
    feedback: FeedbackSummary
    top_resources: list[CitedResource]
    top_articles: list[CitedArticle]
    searches: int
    zero_result_searches: list[ZeroResultSearch]
    gaps: list[Gap]
