"""The Telegram bot: a thin front end over AssistantService (directly or over HTTP)."""

import os

# python-telegram-bot is migrating time periods from int to timedelta and warns on every
# int access; opt in to the new behaviour (our code handles both) before it is imported.
os.environ.setdefault("PTB_TIMEDELTA", "true")

from bots.telegram.app import (
    EmbeddedBot,
    build_application,
    run_polling,
    start_in_background,
    stop_in_background,
)
from bots.telegram.backend import (
    AssistantBackend,
    BackendUnavailableError,
    HttpBackend,
    InProcessBackend,
    backend_from_settings,
)
from bots.telegram.settings import BotSettings

__all__ = [
    "AssistantBackend",
    "BackendUnavailableError",
    "BotSettings",
    "EmbeddedBot",
    "HttpBackend",
    "InProcessBackend",
    "backend_from_settings",
    "build_application",
    "run_polling",
    "start_in_background",
    "stop_in_background",
]
