"""Retry a publisher call on RetryableError with capped exponential backoff and jitter.

Transport-agnostic: it only knows the error types from bot.ports. The callable is invoked
again unchanged, so whatever makes the call idempotent (e.g. an Idempotency-Key) must be
captured in it by the caller.
"""
from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.ports import PermanentError, RetryableError

log = logging.getLogger(__name__)

T = TypeVar("T")


def backoff_delay(
    attempt: int,
    error: RetryableError,
    *,
    base_delay: float,
    max_delay: float,
    rand: Callable[[float, float], float] = random.uniform,
) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based).

    The server's retry_after wins when it is known (capped at max_delay); otherwise
    "equal jitter": a random value between half and all of base_delay * 2**(attempt-1).
    """
    if error.retry_after is not None:
        return min(max_delay, max(0.0, error.retry_after))
    ceiling = min(max_delay, base_delay * 2 ** (attempt - 1))
    return rand(ceiling / 2, ceiling)


async def with_retries(
    fn: Callable[[], Awaitable[T]],
    *,
    attempts: int = 6,
    base_delay: float = 1.0,
    max_delay: float = 60,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> T:
    """Await fn() until it succeeds, retrying RetryableError up to `attempts` calls in all.

    PermanentError (and AuthError) and any non-publisher exception propagate at once;
    after the last attempt the last RetryableError is re-raised.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    for attempt in range(1, attempts + 1):
        try:
            return await fn()
        except PermanentError:
            raise
        except RetryableError as error:
            if attempt == attempts:
                raise
            delay = backoff_delay(attempt, error, base_delay=base_delay, max_delay=max_delay)
            log.warning(
                "attempt %d/%d failed (%s); retrying in %.1f s", attempt, attempts, error.reason, delay
            )
            await sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
