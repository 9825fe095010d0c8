"""Retries of Telegram requests: flood control and network trouble never kill the bot.

python-telegram-bot routes every request except getUpdates through the bot's rate
limiter, so retrying there covers sendMessage, editMessageText, answerCallbackQuery...
(the Updater retries getUpdates on its own).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter

logger = logging.getLogger(__name__)

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]


def retry_after_seconds(error: RetryAfter) -> float:
    """RetryAfter.retry_after is an int or a timedelta depending on PTB_TIMEDELTA."""
    value: Any = error.retry_after
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value)


class RetryingRateLimiter(BaseRateLimiter[None]):
    """Waits out RetryAfter and retries network errors with exponential backoff.

    Bounded: after `max_retries` retries the error propagates to the error handler.
    A read timeout on sendMessage may mean Telegram got it anyway; one duplicate message
    is a better failure than a lost answer.
    """

    def __init__(
        self,
        max_retries: int = 4,
        base_delay: float = 1.0,
        max_delay: float = 30.0,
        sleep: Callable[[float], Coroutine[Any, Any, None]] = asyncio.sleep,
    ) -> None:
        self.max_retries = max_retries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._sleep = sleep

    async def initialize(self) -> None:
        """Nothing to set up: this limiter only reacts to errors."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    def backoff(self, attempt: int) -> float:
        return min(self.base_delay * 2**attempt, self.max_delay)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> JSONResult:
        attempt = 0
        while True:
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                if attempt >= self.max_retries:
                    raise
                delay = retry_after_seconds(error)
                logger.warning("Telegram flood control on %s: waiting %.1f s", endpoint, delay)
            except BadRequest:
                raise  # a malformed request fails the same way every time
            except NetworkError as error:  # includes TimedOut
                if attempt >= self.max_retries:
                    raise
                delay = self.backoff(attempt)
                logger.warning(
                    "Telegram request %s failed (%s): retry in %.1f s",
                    endpoint,
                    type(error).__name__,
                    delay,
                )
            attempt += 1
            await self._sleep(delay)
