"""Flood control and network errors are retried, boundedly; bad requests are not."""

from __future__ import annotations

import pytest
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

import bots.telegram  # noqa: F401  (opts in to PTB_TIMEDELTA before errors are built)
from bots.telegram.retry import RetryingRateLimiter


class Flaky:
    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return {"ok": True}


def limiter(max_retries: int = 3):
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)

    return RetryingRateLimiter(
        max_retries=max_retries, base_delay=1, max_delay=5, sleep=sleep
    ), delays


async def run(rl: RetryingRateLimiter, callback: Flaky):
    return await rl.process_request(callback, (), {}, "sendMessage", {}, None)


async def test_retry_after_waits_what_telegram_says():
    rl, delays = limiter()
    callback = Flaky(RetryAfter(7))
    assert await run(rl, callback) == {"ok": True}
    assert callback.calls == 2 and delays == [7.0]


async def test_network_errors_back_off_exponentially_up_to_a_cap():
    rl, delays = limiter(max_retries=5)
    callback = Flaky(TimedOut(), NetworkError("x"), NetworkError("x"), TimedOut(), TimedOut())
    assert await run(rl, callback) == {"ok": True}
    assert delays == [1, 2, 4, 5, 5]


async def test_retries_are_bounded():
    rl, _delays = limiter(max_retries=2)
    callback = Flaky(TimedOut(), TimedOut(), TimedOut(), TimedOut())
    with pytest.raises(TimedOut):
        await run(rl, callback)
    assert callback.calls == 3


async def test_bad_request_is_not_retried():
    rl, delays = limiter()
    callback = Flaky(BadRequest("Can't parse entities"))
    with pytest.raises(BadRequest):
        await run(rl, callback)
    assert callback.calls == 1 and delays == []
