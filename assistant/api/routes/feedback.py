"""POST /api/feedback: thumbs up or down on an answer."""

from __future__ import annotations

from fastapi import APIRouter

from assistant.api.deps import ServiceDep
from assistant.api.schemas import FeedbackRequest, StatusResponse, error_responses

router = APIRouter(prefix="/api", tags=["valoracions"])


@router.post(
    "/feedback",
    response_model=StatusResponse,
    responses=error_responses(404, 413, 422, 429, 503),
)
def feedback(body: FeedbackRequest, service: ServiceDep) -> StatusResponse:
    """Store a rating (1 useful, -1 not useful) with an optional comment. One rating per
    answer: a second one replaces the first. 404 for a conversation or answer that does
    not exist (or has been deleted after the retention period)."""
    service.feedback(
        body.conversation_id, body.rating, message_id=body.message_id, comment=body.comment
    )
    return StatusResponse(status="ok")
