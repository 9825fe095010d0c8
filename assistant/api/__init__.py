"""HTTP API and web front end (FastAPI). `create_app` builds it, `run_server` serves it."""

from assistant.api.app import create_app
from assistant.api.server import run_server

__all__ = ["create_app", "run_server"]
