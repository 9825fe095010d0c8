"""Catalogue look-ups and conversation reset, used by the Telegram bot out of process."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BeforeValidator

from assistant.api.deps import ServiceDep
from assistant.api.errors import CatalanHTTPException
from assistant.api.schemas import MAX_ID_CHARS, SearchResponse, error_responses, iso_date
from assistant.models import Hit

router = APIRouter(prefix="/api", tags=["catàleg"])


@router.get("/resources/{codi}", response_model=Hit, responses=error_responses(404, 422))
def resource(
    codi: Annotated[str, Path(pattern=r"^\d{5}$", description="Codi de 5 xifres.")],
    service: ServiceDep,
) -> Hit:
    """The full card of one catalogue resource by its code."""
    hit = service.resource(codi)
    if hit is None:
        raise CatalanHTTPException(
            status_code=404, detail=f"No hi ha cap recurs del catàleg amb el codi {codi}."
        )
    return hit


@router.get("/open", response_model=SearchResponse, responses=error_responses(422))
def open_resources(
    service: ServiceDep,
    date: Annotated[
        dt.date | None,
        BeforeValidator(iso_date),
        Query(description="AAAA-MM-DD; per defecte, avui."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SearchResponse:
    """Catalogue resources whose application window contains the date."""
    return SearchResponse(results=service.open_resources(on=date, limit=limit))


@router.delete("/conversations/{conversation_id}", status_code=204, responses=error_responses(422))
def reset_conversation(
    conversation_id: Annotated[str, Path(max_length=MAX_ID_CHARS)], service: ServiceDep
) -> Response:
    """Forget a conversation's context ('Nova conversa')."""
    service.reset_conversation(conversation_id)
    return Response(status_code=204)
