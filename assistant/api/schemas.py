"""Request bodies of the HTTP API (responses reuse assistant.models: Hit, Answer)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from assistant.models import Hit

# One limit for every free-text field a person types: long enough for a detailed question,
# short enough that a pasted document cannot tie up the embedder.
MAX_TEXT_CHARS = 2000
MAX_TOP_K = 50


def _not_blank(value: str, message: str) -> str:
    if not value.strip():
        raise PydanticCustomError("concerta", message)
    return value


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(max_length=MAX_TEXT_CHARS, description="Text de la cerca.")
    top_k: int = Field(default=10, ge=1, le=MAX_TOP_K, description="Nombre de resultats.")
    filters: dict[str, Any] = Field(
        default_factory=dict,
        description="kind, tipologia, classe, area, destinataris, any, obert_a (AAAA-MM-DD).",
    )

    @field_validator("query")
    @classmethod
    def _query_not_blank(cls, value: str) -> str:
        return _not_blank(value, "Escriu què vols cercar: la cerca no pot estar buida.")


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(max_length=MAX_TEXT_CHARS, description="La pregunta, en català.")
    conversation_id: str | None = Field(
        default=None, max_length=100, description="Per a preguntes de seguiment."
    )
    filters: dict[str, Any] = Field(default_factory=dict)
    focus: str | None = Field(
        default=None,
        pattern=r"^\d{5}$",
        description="Codi d'un recurs de la resposta anterior: la pregunta és sobre aquest.",
    )

    @field_validator("question")
    @classmethod
    def _question_not_blank(cls, value: str) -> str:
        return _not_blank(value, "Escriu una pregunta: la pregunta no pot estar buida.")


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: str = Field(min_length=1, max_length=100)
    message_id: str | None = Field(default=None, max_length=100)
    rating: Literal[1, -1] = Field(description="1 (útil) o -1 (no útil).")
    comment: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)


class SearchResponse(BaseModel):
    results: list[Hit]


class StatusResponse(BaseModel):
    status: str
