"""The FastAPI application: REST + SSE over AssistantService, and the web front end."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from assistant.api.errors import install_error_handlers
from assistant.api.limits import BodySizeLimit
from assistant.api.operations import install_operations
from assistant.api.rate_limit import RateLimitMiddleware
from assistant.api.request_log import REQUEST_ID_HEADER
from assistant.api.routes import ask, docs, feedback, health, pages, resources, search
from assistant.api.routes.pages import STATIC_DIR
from assistant.api.security_headers import SecurityHeaders
from assistant.conversation import Clock, utc_now
from assistant.errors import IndexNotReadyError
from assistant.retention import RetentionJob
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
    clock: Clock = utc_now,
) -> FastAPI:
    """Build the app. An injected `service` must be warmed up already and is not closed
    here (its owner does that); without one the app builds, warms up and closes its own.
    `clock` is the retention job's (tests pass a fake one)."""
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
        retention = RetentionJob(
            settings.privacy,
            lambda: getattr(the_service, "conversations", None),
            app.state.search_log,
            clock,
        )
        app.state.retention = retention
        await retention.run_safely()  # at start-up, then periodically
        purging = asyncio.create_task(retention.run_forever(), name="concerta-retention")
        for hook in on_startup:
            await hook(the_service)
        try:
            yield
        finally:
            purging.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purging
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
        # Our own /docs and /redoc (routes/docs.py): local assets, no CDN, no inline script.
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = the_service
    app.state.settings = settings
    # Middleware added later wraps what was added before. From the outside in: request
    # ids, metrics and logs (install_operations); security headers; CORS, so that 413
    # and 429 reach a widget on another origin with their Catalan detail; rate limits;
    # the body size limit, before FastAPI reads or parses a body.
    app.add_middleware(BodySizeLimit, max_bytes=settings.limits.max_body_bytes)
    app.add_middleware(RateLimitMiddleware, settings=settings.limits)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Content-Type"],
            # The widget shows the request id in its error message; Retry-After of a 429.
            expose_headers=[REQUEST_ID_HEADER, "Retry-After"],
        )
    app.add_middleware(SecurityHeaders)
    install_error_handlers(app)
    install_operations(app, the_service)
    for module in (health, search, ask, feedback, resources, pages, docs):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
