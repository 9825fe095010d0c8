"""`concerta serve`: run the app with uvicorn."""

from __future__ import annotations

import os
from collections.abc import Sequence

import uvicorn

from assistant.api.app import LifespanHook, create_app
from assistant.api.logs import configure_logging
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
    limit_torch_threads()
    configure_logging(settings)
    app = create_app(
        settings=settings, on_startup=extra_startup or (), on_shutdown=extra_shutdown or ()
    )
    # One worker: the service holds the model and the local Qdrant, which one process owns.
    # Logging is ours (configure_logging); the RequestObserver writes one line per request,
    # so uvicorn's own access line would be a second one. Proxy headers are read by the
    # rate limiter, from the proxies in CONCERTA_LIMITS__TRUSTED_PROXIES only.
    uvicorn.run(
        app,
        host=host,
        port=port,
        proxy_headers=False,
        log_level="info",
        log_config=None,
        access_log=False,
    )


def limit_torch_threads(threads: int = 1) -> None:
    """One torch thread per request unless OMP_NUM_THREADS says otherwise.

    Requests already run concurrently in the server's thread pool; torch's own intra-op
    threads on top oversubscribe the cores. bench/bench_api.py measured /api/search at
    p50 1.15 s with torch's default against 0.10 s with one thread, on 2 busy cores.
    """
    if "OMP_NUM_THREADS" in os.environ:
        return
    import torch

    torch.set_num_threads(threads)
