"""`concerta serve`: run the app with uvicorn."""

from __future__ import annotations

from collections.abc import Sequence

import uvicorn

from assistant.api.app import LifespanHook, create_app
from index_config import Settings


def run_server(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 8000,
    extra_startup: Sequence[LifespanHook] | None = None,
    extra_shutdown: Sequence[LifespanHook] | None = None,
) -> None:
    """Serve until interrupted. Hooks receive the warmed-up service (e.g. to start the
    Telegram bot in the same process and stop it on shutdown)."""
    app = create_app(
        settings=settings, on_startup=extra_startup or (), on_shutdown=extra_shutdown or ()
    )
    # One worker: the service holds the model and the local Qdrant, which one process owns.
    uvicorn.run(app, host=host, port=port, proxy_headers=True, log_level="info")
