"""POST /api/ask and /api/ask/stream: grounded, cited answers in Catalan."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.sse import EventSourceResponse, ServerSentEvent

from assistant.api.deps import ServiceDep
from assistant.api.errors import GENERIC_ERROR, NOT_READY
from assistant.api.schemas import AskRequest, error_responses
from assistant.errors import ConcertaError, IndexNotReadyError
from assistant.models import Answer, Filters, StreamEvent

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api", tags=["preguntes"])


ERRORS = error_responses(413, 422, 429, 503)


@router.post("/ask", response_model=Answer, responses=ERRORS)
def ask(body: AskRequest, service: ServiceDep) -> Answer:
    """The whole answer at once (a follow-up when conversation_id names an earlier one).

    The answer's `conversation_id` is the one to send with the next question: a new one
    when the request named none, or one this server did not issue."""
    filters = body.filters.as_dict()
    Filters.parse(filters)
    return service.ask(
        body.question,
        conversation_id=body.conversation_id,
        filters=filters,
        focus=body.focus,
    )


def opened_stream(body: AskRequest, service: ServiceDep) -> Iterator[StreamEvent]:
    """Start the answer before the response does, so bad input still gets a 4xx/503.

    Once the first SSE bytes are sent the status is 200 for good; errors after that
    travel as an `error` event. Runs in the thread pool (a sync dependency).
    """
    filters = body.filters.as_dict()
    Filters.parse(filters)
    events = service.ask_stream(
        body.question,
        conversation_id=body.conversation_id,
        filters=filters,
        focus=body.focus,
    )
    first = next(events, None)
    return itertools.chain([first] if first is not None else [], events)


@router.post(
    "/ask/stream",
    response_class=EventSourceResponse,
    responses=error_responses(413, 422, 429, 503, streaming=True),
)
def ask_stream(
    events: Annotated[Iterator[StreamEvent], Depends(opened_stream)],
) -> Iterator[ServerSentEvent]:
    """Server-Sent Events: `start`, `delta`..., then `sources` (the full Answer) or `error`."""
    # A sync generator: FastAPI iterates it in the thread pool.
    try:
        for event in events:
            yield ServerSentEvent(event=event.event, data=event.data)
    except IndexNotReadyError:
        yield ServerSentEvent(event="error", data={"message": NOT_READY})
    except ConcertaError as exc:
        yield ServerSentEvent(event="error", data={"message": str(exc)})
    except Exception:
        logger.exception("answer stream failed")
        yield ServerSentEvent(event="error", data={"message": GENERIC_ERROR})
