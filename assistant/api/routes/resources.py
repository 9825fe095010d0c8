"""The catalogue for front ends: resource cards, facets, the reference date, open windows,
and the conversation reset. Window states come from assistant.cards, against the service's
reference date (CONCERTA_TODAY or today)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BeforeValidator, StringConstraints

from assistant.api.deps import ServiceDep
from assistant.api.errors import CODE_FORMAT, CatalanHTTPException
from assistant.api.schemas import (
    MAX_FILTER_CHARS,
    MAX_ID_CHARS,
    SearchResponse,
    error_responses,
    iso_date,
)
from assistant.cards import (
    CardList,
    Facets,
    ReferenceDate,
    WindowState,
    by_window,
    card_for,
    matches,
    reference_date,
)
from assistant.models import Hit
from assistant.service import AssistantService

router = APIRouter(prefix="/api", tags=["catàleg"])

MAX_CARDS = 200


def _reference(service: AssistantService) -> ReferenceDate:
    return reference_date(service.today(), fixed=service.settings.today is not None)


@router.get("/reference-date", response_model=ReferenceDate)
def reference(service: ServiceDep) -> ReferenceDate:
    """The date that «obert ara», /api/open, the cards and the answers use."""
    return _reference(service)


@router.get("/facets", response_model=Facets)
def facets(service: ServiceDep) -> Facets:
    """The catalogue's areas, typologies, classes and recipients in the index, with counts."""
    return service.catalogue_facets()


@router.get(
    "/cards", response_model=CardList, response_model_by_alias=True, responses=error_responses(422)
)
def cards(
    service: ServiceDep,
    codi: Annotated[
        list[Annotated[str, StringConstraints(pattern=r"^\d{5}$")]] | None,
        Query(description="Codis dels recursos (5 xifres).", max_length=MAX_CARDS),
    ] = None,
    area: Annotated[str | None, Query(max_length=MAX_FILTER_CHARS)] = None,
    tipologia: Annotated[str | None, Query(max_length=MAX_FILTER_CHARS)] = None,
    classe: Annotated[str | None, Query(max_length=MAX_FILTER_CHARS)] = None,
    destinataris: Annotated[str | None, Query(max_length=MAX_FILTER_CHARS)] = None,
    state: Annotated[
        list[WindowState] | None,
        Query(description="Estat del termini a la data de referència (open, upcoming...)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_CARDS)] = MAX_CARDS,
) -> CardList:
    """Resource cards with their application window on the reference date. With `codi`,
    those resources in that order; otherwise the whole catalogue (open first, then those
    opening soonest), narrowed by the filters."""
    today = service.today()
    if codi:
        if len(codi) > MAX_CARDS or any(not c.isdigit() or len(c) != 5 for c in codi):
            raise CatalanHTTPException(status_code=422, detail=CODE_FORMAT)
        hits = [hit for c in dict.fromkeys(codi) if (hit := service.resource(c)) is not None]
        found = [card_for(hit, today) for hit in hits]
    else:
        found = by_window([card_for(hit, today) for hit in service.catalogue_resources()])
    wanted = {"area": area, "tipologia": tipologia, "classe": classe, "destinataris": destinataris}
    chosen = [
        card
        for card in found
        if matches(card, wanted) and (not state or card.window.state in state)
    ]
    return CardList(reference_date=_reference(service), cards=chosen[:limit])


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
        Query(description="AAAA-MM-DD; per defecte, la data de referència."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SearchResponse:
    """Catalogue resources whose application window contains the date (by default the
    reference date: CONCERTA_TODAY, or today)."""
    return SearchResponse(results=service.open_resources(on=date or service.today(), limit=limit))


@router.delete("/conversations/{conversation_id}", status_code=204, responses=error_responses(422))
def reset_conversation(
    conversation_id: Annotated[str, Path(max_length=MAX_ID_CHARS)], service: ServiceDep
) -> Response:
    """Forget a conversation's context ('Nova conversa')."""
    service.reset_conversation(conversation_id)
    return Response(status_code=204)
