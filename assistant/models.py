"""The shapes every front end shares: Hit, Answer, stream events and filters (DESIGN.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Kind = Literal["recurs", "normativa", "faq"]

# Filters accepted everywhere (DESIGN.md). Values are matched exactly except `obert_a`,
# a date: resources whose application window contains it.
FILTER_KEYS = ("kind", "tipologia", "classe", "area", "destinataris", "any", "obert_a")


class Hit(BaseModel):
    """One search result: a catalogue resource, an article or a FAQ entry."""

    id: str
    doc_id: str
    kind: Kind
    title: str
    snippet: str
    score: float
    url: str | None = None
    source: str
    codi: str | None = None
    article: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class Choice(BaseModel):
    """One resource a follow-up may be about."""

    codi: str
    title: str


class Answer(BaseModel):
    """What /api/ask returns. `answer` is a small Markdown subset (see assistant.markup)."""

    answer: str
    grounded: bool
    sources: list[Hit]
    conversation_id: str
    message_id: str | None = None
    # Why the assistant did not answer (None when grounded): a short English code for
    # operators and metrics, e.g. "no_evidence", "out_of_period", "small_talk".
    refusal_reason: str | None = None
    # A follow-up answered for each resource of the previous answer: those resources, so
    # a front end can offer to ask about one of them (send its code as `focus`).
    choices: list[Choice] = Field(default_factory=list)


class FilterError(ValueError):
    """A filter key or value that Concerta does not accept (message in Catalan)."""


class Filters(BaseModel):
    """Validated search filters. Unknown keys are rejected with a Catalan message."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind | None = None
    tipologia: Literal["tècnic", "econòmic", "material"] | None = None
    classe: str | None = None
    area: str | None = None
    destinataris: str | None = None
    any: int | None = None
    obert_a: dt.date | None = None

    @field_validator("tipologia", mode="before")
    @classmethod
    def _normalise_tipologia(cls, value: Any) -> Any:
        # Users type "economic" or "Tècnic"; store the canonical catalogue spelling.
        if isinstance(value, str):
            folded = value.strip().lower()
            for canonical in ("tècnic", "econòmic", "material"):
                if folded in (canonical, canonical.replace("è", "e").replace("ò", "o")):
                    return canonical
        return value

    @classmethod
    def parse(cls, raw: dict[str, Any] | None) -> Filters:
        """Validate a raw mapping, raising FilterError with a Catalan explanation."""
        raw = {k: v for k, v in (raw or {}).items() if v not in (None, "")}
        unknown = sorted(set(raw) - set(FILTER_KEYS))
        if unknown:
            # Named, but never all of them: the message must stay short whatever was sent.
            named = ", ".join(_short(key) for key in unknown[:3])
            more = f" i {len(unknown) - 3} més" if len(unknown) > 3 else ""
            raise FilterError(
                f"Filtre desconegut: {named}{more}. "
                f"Els filtres acceptats són: {', '.join(FILTER_KEYS)}."
            )
        try:
            return cls.model_validate(raw)
        except ValueError as exc:
            raise FilterError(f"Valor de filtre no vàlid: {_first_error(exc)}") from exc

    def merged(self, other: Filters) -> Filters:
        """These filters with `other`'s set values added where these have none."""
        data = other.model_dump(exclude_none=True)
        data.update(self.model_dump(exclude_none=True))
        return Filters.model_validate(data)

    def is_empty(self) -> bool:
        return not self.model_dump(exclude_none=True)


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ()))
        return f"{_short(loc)} ({_short(repr(first.get('input')))})"
    return _short(str(exc), 200)


def _short(text: str, limit: int = 40) -> str:
    """A quotation of client input short enough for an error message."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class StreamEvent(BaseModel):
    """One Server-Sent Event of a streamed answer.

    Order: one `start` (ids), any number of `delta` (text to append), then one final
    `sources` (the full Answer as JSON: answer, grounded, sources, conversation_id,
    message_id). An `error` event replaces `sources` when answering failed.
    """

    event: Literal["start", "delta", "sources", "error"]
    data: dict[str, Any]
