"""Maps domain and request errors to HTTP responses: `{"detail": "<Catalan sentence>"}`.

Domain errors carry their own Catalan message (assistant.errors); request validation
errors come from pydantic in English, so they are rewritten here, field by field.
Nothing unexpected reaches the user: it is logged and answered with a generic message.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.errors import (
    ConcertaError,
    FilterError,
    IndexNotReadyError,
    NotFoundError,
    QueryError,
)
from assistant.models import FILTER_KEYS

logger = logging.getLogger(__name__)

GENERIC_ERROR = (
    "S'ha produït un error inesperat. Torneu-ho a provar d'aquí a una estona; "
    "si persisteix, aviseu l'equip del Pla XGL."
)
NOT_READY = (
    "L'assistent encara no està preparat: l'índex de documents no s'ha carregat. "
    "Torneu-ho a provar d'aquí a uns minuts."
)
BAD_JSON = "El cos de la petició no és un JSON vàlid."
CODE_FORMAT = "Els codis dels recursos són de cinc xifres."

# How each request field is named in a sentence, and its gender (for agreement).
FIELD_NAMES: dict[str, tuple[str, str]] = {
    "query": ("la cerca", "f"),
    "question": ("la pregunta", "f"),
    "top_k": ("el nombre de resultats (top_k)", "m"),
    "filters": ("els filtres", "mp"),
    "conversation_id": ("l'identificador de conversa", "m"),
    "message_id": ("l'identificador de missatge", "m"),
    "rating": ("la valoració", "f"),
    "comment": ("el comentari", "m"),
    "date": ("la data", "f"),
    "limit": ("el límit", "m"),
    "codi": ("el codi", "m"),
    "from": ("la data inicial (from)", "f"),
    "to": ("la data final (to)", "f"),
}

# A blank question or query, in the words the front ends use.
BLANK_MESSAGES = {
    "question": "Escriviu una pregunta: la pregunta no pot estar buida.",
    "query": "Escriviu què voleu cercar: la cerca no pot estar buida.",
}
# Error bodies quote at most this much of any value the client sent, name at most a few
# problems, and stay short whatever the request held (a 7 MB list of unknown keys once
# came back as a 7 MB error).
EXCERPT_CHARS = 40
MAX_MESSAGES = 3
MAX_DETAIL_CHARS = 1000

STATUS_MESSAGES = {
    404: "No s'ha trobat el que demaneu.",
    405: "Aquest mètode no està permès en aquesta adreça.",
    413: "La petició és massa gran.",
    415: "El format de la petició no és compatible: envieu JSON.",
}


def json_error(
    status_code: int, detail: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"detail": bounded(detail)}, status_code=status_code, headers=dict(headers or {})
    )


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """A short, one-line quotation of something the client sent."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bounded(detail: str) -> str:
    """An error detail cut to MAX_DETAIL_CHARS (at a word, with an ellipsis)."""
    if len(detail) <= MAX_DETAIL_CHARS:
        return detail
    return detail[: MAX_DETAIL_CHARS - 1].rsplit(" ", 1)[0] + "…"


class _Field:
    """A request field as the subject of a Catalan sentence."""

    def __init__(self, loc: Sequence[Any]) -> None:
        # loc looks like ("body", "question") or ("query", "limit"); the body is ("body",).
        parts = [str(p) for p in loc]
        if parts and parts[0] in ("body", "query", "path"):
            parts = parts[1:]
        self.key = parts[0] if parts else ""
        # The key inside a mapping, e.g. "area" in ("body", "filters", "area").
        self.sub = parts[1] if len(parts) > 1 else ""
        self.name, self.gender = FIELD_NAMES.get(self.key, (f"el camp «{self.key}»", "m"))

    @property
    def subject(self) -> str:
        return self.name[0].upper() + self.name[1:]

    def agree(self, masculine: str, feminine: str, plural: str) -> str:
        return {"m": masculine, "f": feminine}.get(self.gender, plural)


def validation_message(error: Mapping[str, Any]) -> str:
    """One Catalan sentence for one pydantic error."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    loc = error.get("loc", ())
    field = _Field(loc)
    if kind == "concerta":  # our own validators already speak Catalan
        return str(error.get("msg"))
    if kind == "json_invalid":
        return BAD_JSON
    if not field.key:
        return "El cos de la petició ha de ser un objecte JSON amb els camps esperats."
    if field.key == "filters" and field.sub:
        return _filter_message(kind, field.sub)
    if kind == "missing":
        return f"Falta {field.name}."
    if kind == "extra_forbidden":
        return f"El camp «{excerpt(loc[-1])}» no s'accepta en aquesta petició."
    if kind in ("string_too_short", "string_pattern_mismatch") and field.key in BLANK_MESSAGES:
        return BLANK_MESSAGES[field.key]
    if kind == "string_too_long":
        too_long = field.agree("massa llarg", "massa llarga", "massa llargs")
        return (
            f"{field.subject} és {too_long}: el màxim són "
            f"{_thousands(ctx.get('max_length'))} caràcters."
        )
    if kind == "string_too_short":
        return f"{field.subject} no pot estar {field.agree('buit', 'buida', 'buits')}."
    if field.key == "top_k" and kind in ("greater_than_equal", "less_than_equal"):
        return "El nombre de resultats (top_k) ha de ser entre 1 i 50."
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return f"{field.subject} és fora dels límits permesos."
    if field.key == "rating":
        return "La valoració ha de ser 1 (útil) o -1 (no útil)."
    if kind.startswith("date_"):
        return f"{field.subject} ha de tenir el format AAAA-MM-DD."
    if kind.startswith("int_"):
        return f"{field.subject} ha de ser un nombre enter."
    if kind == "string_pattern_mismatch" and field.key == "codi":
        return CODE_FORMAT
    if kind == "string_pattern_mismatch":
        return f"{field.subject} no té el format esperat."
    if kind.startswith("string_"):
        return f"{field.subject} ha de ser un text."
    if kind.startswith(("dict_", "model_")):
        return f"{field.subject} {field.agree('ha', 'ha', 'han')} de ser un objecte JSON."
    return f"El valor de {field.name} no és vàlid."


def unknown_filters_message(keys: Sequence[str]) -> str:
    """One sentence for every unknown filter key: the first few named, the rest counted."""
    named = ", ".join(excerpt(key) for key in keys[:MAX_MESSAGES])
    more = f" i {_thousands(len(keys) - MAX_MESSAGES)} més" if len(keys) > MAX_MESSAGES else ""
    label = "Filtre desconegut" if len(keys) == 1 else "Filtres desconeguts"
    return f"{label}: {named}{more}. Els filtres acceptats són: {', '.join(FILTER_KEYS)}."


def _filter_message(kind: str, key: str) -> str:
    if kind == "extra_forbidden":
        return unknown_filters_message([key])
    if key == "kind":
        return "Valor de filtre no vàlid: kind ha de ser recurs, normativa o faq."
    if key == "tipologia":
        return "Valor de filtre no vàlid: tipologia ha de ser tècnic, econòmic o material."
    if key == "obert_a":
        return "Valor de filtre no vàlid: obert_a ha de ser una data AAAA-MM-DD."
    if key == "any":
        return "Valor de filtre no vàlid: any ha de ser un any (un nombre enter)."
    if kind == "string_too_long":
        return f"Valor de filtre no vàlid: {excerpt(key)} és massa llarg."
    return f"Valor de filtre no vàlid: {excerpt(key)}."


def _unknown_filter(error: Mapping[str, Any]) -> bool:
    loc = tuple(error.get("loc", ()))
    return (
        error.get("type") == "extra_forbidden" and loc[:2] == ("body", "filters") and len(loc) > 2
    )


def validation_detail(errors: Sequence[Mapping[str, Any]]) -> str:
    """The Catalan sentences for a request's errors: the first few, and how many more."""
    unknown = [str(e["loc"][2]) for e in errors if _unknown_filter(e)]
    messages = [unknown_filters_message(unknown)] if unknown else []
    messages.extend(validation_message(e) for e in errors if not _unknown_filter(e))
    messages = list(dict.fromkeys(messages))
    shown = messages[:MAX_MESSAGES]
    if len(messages) > MAX_MESSAGES:
        shown.append(f"(I {_thousands(len(messages) - MAX_MESSAGES)} problemes més.)")
    return bounded(" ".join(shown) or "La petició no és vàlida.")


def _thousands(value: Any) -> str:
    # Catalan groups thousands with a dot: 2.000.
    return f"{value:,}".replace(",", ".") if isinstance(value, int) else str(value)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # registered for this type only
    return json_error(422, validation_detail(exc.errors()))


async def _on_query_error(request: Request, exc: Exception) -> JSONResponse:
    return json_error(422, str(exc))


async def _on_not_found(request: Request, exc: Exception) -> JSONResponse:
    return json_error(404, str(exc))


async def _on_not_ready(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("request while the index is not ready: %s", exc)
    return json_error(503, NOT_READY, headers={"Retry-After": "30"})


async def _on_domain_error(request: Request, exc: Exception) -> JSONResponse:
    logger.error("unmapped domain error on %s", request.url.path, exc_info=exc)
    return json_error(500, GENERIC_ERROR)


# FastAPI's answer to a body it cannot decode at all (not UTF-8): the same as bad JSON.
_UNPARSABLE_BODY = "There was an error parsing the body"


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == _UNPARSABLE_BODY:
        return json_error(422, BAD_JSON)
    # Our own routes raise HTTPException with a Catalan detail; Starlette's own
    # (404 for unknown paths, 405) come in English and are replaced.
    detail = (
        exc.detail
        if getattr(exc, "catalan", False)
        else STATUS_MESSAGES.get(exc.status_code, "La petició no s'ha pogut atendre.")
    )
    return json_error(exc.status_code, str(detail), headers=exc.headers)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Starlette re-raises after sending this response, so the server logs the traceback.
    logger.error("unexpected error on %s %s", request.method, request.url.path)
    return json_error(500, GENERIC_ERROR)


class CatalanHTTPException(StarletteHTTPException):
    """An HTTP error raised by our routes, whose detail is already a Catalan sentence."""

    catalan = True


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(NotFoundError, _on_not_found)
    app.add_exception_handler(QueryError, _on_query_error)
    app.add_exception_handler(FilterError, _on_query_error)
    app.add_exception_handler(IndexNotReadyError, _on_not_ready)
    app.add_exception_handler(ConcertaError, _on_domain_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
