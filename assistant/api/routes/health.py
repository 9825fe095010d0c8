"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from assistant.api.deps import ServiceDep
from assistant.api.errors import NOT_READY
from assistant.api.schemas import StatusResponse

router = APIRouter(tags=["estat"])


@router.get("/health", response_model=StatusResponse)
def health() -> StatusResponse:
    """The process is up (it does not look at the index)."""
    return StatusResponse(status="ok")


@router.get("/ready", response_model=StatusResponse, responses={503: {"model": StatusResponse}})
def ready(service: ServiceDep) -> StatusResponse | JSONResponse:
    """200 when the index is loaded and non-empty, 503 otherwise."""
    if service.is_ready():
        return StatusResponse(status="ok")
    return JSONResponse({"status": "not_ready", "detail": NOT_READY}, status_code=503)
