"""What operators get from the app: request ids, metrics, request logs, the record of
searches, the report routes and /metrics. One call from create_app installs it all."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request

from assistant.api.metrics import ApiMetrics
from assistant.api.request_log import RequestObserver
from assistant.api.routes import admin, metrics
from assistant.reporting.searches import SearchLog


def install_operations(app: FastAPI, service: Any) -> None:
    """Call after the app's other middleware: the observer then wraps them all, so even
    their own answers (CORS preflights, 413, 429) carry an X-Request-ID and are counted."""
    app.state.metrics = ApiMetrics(service)
    # The same SQLite file as the service's conversation store, in a table of its own.
    app.state.search_log = SearchLog(service.settings.sqlite_path)
    app.add_middleware(RequestObserver, metrics=app.state.metrics)
    app.include_router(admin.router)
    app.include_router(metrics.router)


def get_search_log(request: Request) -> SearchLog:
    search_log: SearchLog = request.app.state.search_log
    return search_log


SearchLogDep = Annotated[SearchLog, Depends(get_search_log)]
