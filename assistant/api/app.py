"""The FastAPI application: REST + SSE over AssistantService, and the web front end."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from assistant.api.errors import install_error_handlers
from assistant.api.operations import install_operations
from assistant.api.request_log import REQUEST_ID_HEADER
from assistant.api.routes import ask, feedback, health, pages, resources, search
from assistant.api.routes.pages import STATIC_DIR
from assistant.errors import IndexNotReadyError
from assistant.service import AssistantService
from index_config import Settings, get_settings

logger = logging.getLogger(__name__)

# Started with the app and given its service, e.g. the Telegram bot in the same process.
LifespanHook = Callable[[AssistantService], Awaitable[None]]


def create_app(
    service: AssistantService | None = None,
    settings: Settings | None = None,
    on_startup: Sequence[LifespanHook] = (),
    on_shutdown: Sequence[LifespanHook] = (),
) -> FastAPI:
    """Build the app. An injected `service` must be warmed up already and is not closed
    here (its owner does that); without one the app builds, warms up and closes its own."""
    settings = settings or (service.settings if service is not None else get_settings())
    owns_service = service is None
    the_service = service if service is not None else AssistantService(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if owns_service:
            try:
                await run_in_threadpool(the_service.warm_up)
            except IndexNotReadyError:
                # Serve anyway: /ready says 503 and routes answer 503 until an index exists.
                logger.warning("no index yet: run `concerta ingest`; /ready answers 503")
        for hook in on_startup:
            await hook(the_service)
        try:
            yield
        finally:
            for hook in on_shutdown:
                try:
                    await hook(the_service)
                except Exception:
                    logger.exception("shutdown hook failed")
            if owns_service:
                await run_in_threadpool(the_service.close)

    app = FastAPI(
        title="Concerta",
        summary="Assistent i cercador del Pla de concertació Xarxa de Governs Locals",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.service = the_service
    app.state.settings = settings
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Content-Type"],
            # The widget shows the request id in its error message.
            expose_headers=[REQUEST_ID_HEADER],
        )
    install_error_handlers(app)
    install_operations(app, the_service)
    for module in (health, search, ask, feedback, resources, pages):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
