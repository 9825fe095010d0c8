"""Building and running the Telegram Application: standalone, or inside another event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from telegram import BotCommand, Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import Application

from bots.telegram import texts
from bots.telegram.backend import AssistantBackend, InProcessBackend
from bots.telegram.handlers import ConcertaBot
from bots.telegram.memory import CHAT_STORE_NAME
from bots.telegram.redact import protect_token
from bots.telegram.retry import RetryingRateLimiter
from bots.telegram.settings import BotSettings

if TYPE_CHECKING:
    from assistant.service import AssistantService

logger = logging.getLogger(__name__)

BotApplication = Application[Any, Any, Any, Any, Any, Any]
BOT_DATA_KEY = "concerta"
BOOTSTRAP_RETRIES = 5  # deleteWebhook / setWebhook at start-up


def chat_store_in(data_dir: Path) -> Path:
    """Where the chat -> conversation map lives: beside the service's SQLite file."""
    return data_dir / CHAT_STORE_NAME


def build_application(
    backend: AssistantBackend, bot_settings: BotSettings, chat_store: Path | None = None
) -> BotApplication:
    """The configured Application; it closes `backend` when it shuts down. `chat_store`:
    the SQLite file that maps chats to conversations (None keeps the map in memory)."""
    protect_token(bot_settings.bot_token.get_secret_value())
    builder = (
        Application.builder()
        .token(bot_settings.bot_token.get_secret_value())
        .rate_limiter(RetryingRateLimiter(max_retries=bot_settings.max_retries))
        # Chats are served concurrently; ConcertaBot keeps each chat's questions in order.
        .concurrent_updates(16)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if bot_settings.api_base_url:
        builder = builder.base_url(bot_settings.api_base_url)
    app = builder.build()
    bot = ConcertaBot(backend, bot_settings, chat_store)
    bot.register(app)
    app.bot_data[BOT_DATA_KEY] = bot
    return app


async def _post_init(app: BotApplication) -> None:
    """Publish the command menu; a failure here must not stop the bot."""
    commands = [BotCommand(name, description) for name, description in texts.COMMANDS]
    try:
        await app.bot.set_my_commands(commands)
    except TelegramError as exc:
        logger.warning("Could not set the command menu: %s", type(exc).__name__)
    logger.info("Telegram bot @%s ready", app.bot.username)


async def _post_shutdown(app: BotApplication) -> None:
    bot = _concerta(app)
    bot.conversations.close()
    await bot.backend.aclose()


def _concerta(app: BotApplication) -> ConcertaBot:
    bot = app.bot_data[BOT_DATA_KEY]
    assert isinstance(bot, ConcertaBot)
    return bot


def _webhook_arguments(settings: BotSettings) -> dict[str, Any]:
    assert settings.webhook_url is not None
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    return {
        "listen": settings.webhook_listen,
        "port": settings.webhook_port,
        # Serve on the public URL's path (a reverse proxy forwards it unchanged).
        "url_path": urlsplit(settings.webhook_url).path.lstrip("/"),
        "webhook_url": settings.webhook_url,
        "secret_token": secret,
        "allowed_updates": Update.ALL_TYPES,
    }


def run_polling(
    backend: AssistantBackend, bot_settings: BotSettings, chat_store: Path | None = None
) -> None:
    """Run the bot until interrupted: long polling, or a webhook if TELEGRAM_WEBHOOK_URL."""
    app = build_application(backend, bot_settings, chat_store)
    if bot_settings.webhook_url:
        app.run_webhook(**_webhook_arguments(bot_settings))
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES, bootstrap_retries=BOOTSTRAP_RETRIES)


async def start_in_background(app: BotApplication) -> None:
    """Start the bot inside an already running event loop (e.g. uvicorn's)."""
    await app.initialize()
    if app.post_init:
        await app.post_init(app)
    settings = _concerta(app).settings
    assert app.updater is not None
    if settings.webhook_url:
        await app.updater.start_webhook(**_webhook_arguments(settings))
    else:
        await app.updater.start_polling(
            allowed_updates=Update.ALL_TYPES, bootstrap_retries=BOOTSTRAP_RETRIES
        )
    await app.start()


async def stop_in_background(app: BotApplication) -> None:
    """The reverse of start_in_background; safe to call if starting failed halfway."""
    try:
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
            if app.post_stop:
                await app.post_stop(app)
    finally:
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)


class EmbeddedBot:
    """The bot inside the web server's process (`concerta serve --telegram`).

    Its `start` and `stop` fit create_app's on_startup / on_shutdown hooks. Starting
    happens in a background task that retries while Telegram is unreachable, so a
    network hiccup at boot neither blocks nor kills the web app; a rejected token is
    logged and the web app keeps serving without the bot.
    """

    def __init__(
        self, bot_settings: BotSettings, max_delay: float = 300.0, chat_store: Path | None = None
    ) -> None:
        """`chat_store`: default, beside the service's SQLite file (its data folder)."""
        self.bot_settings = bot_settings
        self.max_delay = max_delay
        self.chat_store = chat_store
        self.app: BotApplication | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, service: AssistantService) -> None:
        backend = InProcessBackend(service)  # the web app owns and closes the service
        store = self.chat_store or chat_store_in(service.settings.data_dir)
        self.app = build_application(backend, self.bot_settings, store)
        self._task = asyncio.create_task(self._start_with_retries(self.app))

    async def _start_with_retries(self, app: BotApplication) -> None:
        delay = 1.0
        while True:
            try:
                await start_in_background(app)
                return
            except InvalidToken:
                logger.error("Telegram rejected TELEGRAM_BOT_TOKEN: the bot is not running")
                return
            except NetworkError as exc:
                logger.warning(
                    "Telegram unreachable at start-up (%s): retry in %.0f s",
                    type(exc).__name__,
                    delay,
                )
                with contextlib.suppress(TelegramError):
                    await app.shutdown()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_delay)

    async def stop(self, service: AssistantService) -> None:
        if self._task is not None:
            if not self._task.done():
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.app is not None:
            await stop_in_background(self.app)
            self.app = None
