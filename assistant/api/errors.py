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

from assistant.errors import ConcertaError, FilterError, IndexNotReadyError, QueryError

logger = logging.getLogger(__name__)

GENERIC_ERROR = (
    "S'ha produït un error inesperat. Torna-ho a provar d'aquí a una estona; "
    "si persisteix, avisa l'equip del Pla XGL."
)
NOT_READY = (
    "L'assistent encara no està preparat: l'índex de documents no s'ha carregat. "
    "Torna-ho a provar d'aquí a uns minuts."
)
BAD_JSON = "El cos de la petició no és un JSON vàlid."

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

STATUS_MESSAGES = {
    404: "No s'ha trobat el que demanes.",
    405: "Aquest mètode no està permès en aquesta adreça.",
    413: "La petició és massa gran.",
    415: "El format de la petició no és compatible: envia JSON.",
}


def json_error(
    status_code: int, detail: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status_code, headers=dict(headers or {}))


class _Field:
    """A request field as the subject of a Catalan sentence."""

    def __init__(self, loc: Sequence[Any]) -> None:
        # loc looks like ("body", "question") or ("query", "limit"); the body is ("body",).
        parts = [str(p) for p in loc]
        if parts and parts[0] in ("body", "query", "path"):
            parts = parts[1:]
        self.key = parts[0] if parts else ""
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
    if kind == "missing":
        return f"Falta {field.name}."
    if kind == "extra_forbidden":
        return f"El camp «{loc[-1]}» no s'accepta en aquesta petició."
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
    if kind.startswith("string_"):
        return f"{field.subject} ha de ser un text."
    if kind.startswith(("dict_", "model_")):
        return f"{field.subject} {field.agree('ha', 'ha', 'han')} de ser un objecte JSON."
    return f"El valor de {field.name} no és vàlid."


def _thousands(value: Any) -> str:
    # Catalan groups thousands with a dot: 2.000.
    return f"{value:,}".replace(",", ".") if isinstance(value, int) else str(value)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # registered for this type only
    messages = list(dict.fromkeys(validation_message(e) for e in exc.errors()))
    return json_error(422, " ".join(messages) or "La petició no és vàlida.")


async def _on_query_error(request: Request, exc: Exception) -> JSONResponse:
    return json_error(422, str(exc))


async def _on_not_ready(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("request while the index is not ready: %s", exc)
    return json_error(503, NOT_READY, headers={"Retry-After": "30"})


async def _on_domain_error(request: Request, exc: Exception) -> JSONResponse:
    logger.error("unmapped domain error on %s", request.url.path, exc_info=exc)
    return json_error(500, GENERIC_ERROR)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
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
    app.add_exception_handler(QueryError, _on_query_error)
    app.add_exception_handler(FilterError, _on_query_error)
    app.add_exception_handler(IndexNotReadyError, _on_not_ready)
    app.add_exception_handler(ConcertaError, _on_domain_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
