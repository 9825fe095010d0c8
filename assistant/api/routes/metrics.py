"""GET /metrics: Prometheus text format (the app's own registry, see assistant/api/metrics.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from assistant.api.deps import SettingsDep
from assistant.api.metrics import ApiMetrics
from assistant.api.operators import bearer_scheme, require_operator

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def metrics(
    request: Request,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Response:
    if settings.metrics_require_token:
        require_operator(settings, credentials)
    registry: ApiMetrics = request.app.state.metrics
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
