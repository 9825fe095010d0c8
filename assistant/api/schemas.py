"""Request bodies of the HTTP API (responses reuse assistant.models: Hit, Answer).

Every string and list a client sends has a limit, and the OpenAPI document states them:
what the schema accepts the API accepts, and what it rejects the API rejects (422).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from assistant.models import Hit

# One limit for every free-text field a person types: long enough for a detailed question,
# short enough that a pasted document cannot tie up the embedder.
MAX_TEXT_CHARS = 2000
MAX_TOP_K = 50
# Filter values are names from the catalogue ("Àrea de Cultura"), never long.
MAX_FILTER_CHARS = 200
# Server-issued ids are 22 characters (assistant/conversation.py); older ones 32.
MAX_ID_CHARS = 100
# Not blank: at least one character that is white space neither for Python (str.strip,
# what the service trims) nor for JSON Schema's ECMA-262 regular expressions (what
# clients validate with). The two disagree on U+001C-U+001F and U+0085 (space only for
# Python) and U+FEFF (space only for ECMA), so `\S` alone would mean two things.
NOT_BLANK = (
    r"[^\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Requests are validated with Python's regular expressions (NOT_BLANK uses \u escapes).
_CONFIG = ConfigDict(extra="forbid", regex_engine="python-re")


def iso_date(value: Any) -> Any:
    """Only an ISO date string (or a date) is a date: pydantic alone would read 0 or
    "0" as 1970-01-01, a timestamp."""
    if isinstance(value, dt.date) or value is None:
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise PydanticCustomError("date_format", "a date as YYYY-MM-DD")


def json_integer(value: Any) -> Any:
    """A JSON integer as JSON Schema reads it: 5 or 5.0, never true or "5" (pydantic's
    lax mode takes both, its strict mode refuses 5.0)."""
    if isinstance(value, bool | str):
        raise PydanticCustomError("int_type", "an integer")
    return value


# Constraints first, validators after: pydantic only writes minimum/maximum into the JSON
# schema for constraints on the type itself.
IsoDate = Annotated[dt.date, BeforeValidator(iso_date)]
Year = Annotated[int, Field(ge=1900, le=2100), BeforeValidator(json_integer)]
TopK = Annotated[int, Field(ge=1, le=MAX_TOP_K), BeforeValidator(json_integer)]
FilterText = Annotated[str, Field(max_length=MAX_FILTER_CHARS)]


class FilterValues(BaseModel):
    """The filters accepted everywhere (DESIGN.md). An empty value means no filter."""

    model_config = _CONFIG

    kind: Literal["recurs", "normativa", "faq", ""] | None = Field(
        default=None, description="Tipus de document."
    )
    # The catalogue's spelling, or the same without accents.
    tipologia: Literal["tècnic", "econòmic", "material", "tecnic", "economic", ""] | None = Field(
        default=None, description="Tipologia del recurs del catàleg."
    )
    classe: FilterText | None = Field(default=None, description="Classe del recurs.")
    area: FilterText | None = Field(default=None, description="Àrea de la Diputació.")
    destinataris: FilterText | None = Field(
        default=None, description="Destinataris (p. ex. «Ajuntaments»)."
    )
    any: Year | None = Field(default=None, description="Any del catàleg.")
    obert_a: IsoDate | None = Field(
        default=None,
        description="Data AAAA-MM-DD: recursos amb el termini de sol·licitud obert aquell dia.",
    )

    def as_dict(self) -> dict[str, Any]:
        """The filters that are set, as JSON values (what the service and logs take)."""
        return {
            key: value
            for key, value in self.model_dump(mode="json", exclude_none=True).items()
            if value != ""
        }


class SearchRequest(BaseModel):
    model_config = _CONFIG

    query: str = Field(
        min_length=1, max_length=MAX_TEXT_CHARS, pattern=NOT_BLANK, description="Text de la cerca."
    )
    top_k: TopK = Field(default=10, description="Nombre de resultats.")
    filters: FilterValues = Field(default_factory=FilterValues)


class AskRequest(BaseModel):
    model_config = _CONFIG

    question: str = Field(
        min_length=1,
        max_length=MAX_TEXT_CHARS,
        pattern=NOT_BLANK,
        description="La pregunta, en català.",
    )
    conversation_id: str | None = Field(
        default=None,
        max_length=MAX_ID_CHARS,
        description=(
            "L'identificador que el servidor ha donat a la resposta anterior, per a "
            "preguntes de seguiment. Un identificador que el servidor no ha emès comença "
            "una conversa nova (la resposta en porta l'identificador)."
        ),
    )
    filters: FilterValues = Field(default_factory=FilterValues)
    focus: str | None = Field(
        default=None,
        pattern=r"^\d{5}$",
        description="Codi d'un recurs de la resposta anterior: la pregunta és sobre aquest.",
    )


class FeedbackRequest(BaseModel):
    model_config = _CONFIG

    conversation_id: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    message_id: str | None = Field(default=None, min_length=1, max_length=MAX_ID_CHARS)
    rating: Annotated[Literal[1, -1], BeforeValidator(json_integer)] = Field(
        description="1 (útil) o -1 (no útil). Una valoració per resposta: l'última compta."
    )
    comment: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)


class SearchResponse(BaseModel):
    results: list[Hit]


class StatusResponse(BaseModel):
    status: str


class ErrorResponse(BaseModel):
    """Every error body: one short Catalan sentence (never a copy of the request)."""

    detail: str


_RETRY_AFTER = {
    "Retry-After": {
        "description": "Segons que cal esperar abans de tornar-ho a provar.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}
_ERRORS: dict[int, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Cal la clau d'operador."},
    404: {"model": ErrorResponse, "description": "No existeix."},
    413: {"model": ErrorResponse, "description": "El cos de la petició supera el límit."},
    422: {"model": ErrorResponse, "description": "La petició no és vàlida."},
    429: {
        "model": ErrorResponse,
        "description": "Massa peticions d'aquest client en poc temps.",
        "headers": _RETRY_AFTER,
    },
    503: {
        "model": ErrorResponse,
        "description": "L'índex de documents encara no està preparat.",
        "headers": _RETRY_AFTER,
    },
}


_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}


def error_responses(*codes: int, streaming: bool = False) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of a route's errors, with their real shape. `streaming`:
    the route's own media type is text/event-stream, but its errors are JSON (FastAPI
    would declare a model response in the route's media type, so the content is given
    explicitly; the ErrorResponse schema comes from the other routes)."""
    if not streaming:
        return {code: _ERRORS[code] for code in codes}
    return {
        code: {
            **{k: v for k, v in _ERRORS[code].items() if k != "model"},
            "content": _ERROR_CONTENT,
        }
        for code in codes
    }
