"""Tests for with_retries: backoff, retry_after, permanent errors, with a fake sleep."""
from __future__ import annotations

import pytest

from bot.ports import AuthError, PermanentError, RetryableError
from bot.retry import with_retries


class FakeSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def scripted(*outcomes):
    """An async callable that raises or returns the given outcomes in order."""
    calls = []

    async def fn():
        outcome = outcomes[len(calls)]
        calls.append(outcome)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    fn.calls = calls
    return fn


async def test_success_needs_no_sleep():
    sleep = FakeSleep()
    assert await with_retries(scripted("ok"), sleep=sleep) == "ok"
    assert sleep.delays == []


async def test_retryable_errors_back_off_exponentially_with_jitter():
    sleep = FakeSleep()
    fn = scripted(*[RetryableError("503")] * 4, "posted")
    assert await with_retries(fn, base_delay=1.0, max_delay=60, sleep=sleep) == "posted"
    assert len(fn.calls) == 5
    assert len(sleep.delays) == 4
    for attempt, delay in enumerate(sleep.delays, start=1):
        ceiling = 2 ** (attempt - 1)
        assert ceiling / 2 <= delay <= ceiling


async def test_backoff_is_capped():
    sleep = FakeSleep()
    fn = scripted(*[RetryableError("timeout")] * 7, "ok")
    await with_retries(fn, attempts=8, base_delay=10, max_delay=15, sleep=sleep)
    assert max(sleep.delays) <= 15
    assert sleep.delays[-1] >= 7.5


async def test_retry_after_is_honoured_and_capped():
    sleep = FakeSleep()
    fn = scripted(RetryableError("429", retry_after=7.0), RetryableError("429", retry_after=300), "ok")
    await with_retries(fn, max_delay=60, sleep=sleep)
    assert sleep.delays == [7.0, 60]


async def test_negative_retry_after_means_no_wait():
    sleep = FakeSleep()
    await with_retries(scripted(RetryableError("429", retry_after=-3), "ok"), sleep=sleep)
    assert sleep.delays == [0.0]


async def test_permanent_error_is_raised_at_once():
    sleep = FakeSleep()
    fn = scripted(RetryableError("503"), PermanentError("422: too long"), "never")
    with pytest.raises(PermanentError, match="too long"):
        await with_retries(fn, sleep=sleep)
    assert len(fn.calls) == 2
    assert len(sleep.delays) == 1


async def test_auth_error_is_permanent():
    fn = scripted(AuthError("401"), "never")
    with pytest.raises(AuthError):
        await with_retries(fn, sleep=FakeSleep())
    assert len(fn.calls) == 1


async def test_last_retryable_error_is_reraised_after_the_last_attempt():
    sleep = FakeSleep()
    errors = [RetryableError(f"try {i}") for i in range(3)]
    fn = scripted(*errors)
    with pytest.raises(RetryableError) as caught:
        await with_retries(fn, attempts=3, sleep=sleep)
    assert caught.value is errors[-1]
    assert len(sleep.delays) == 2  # no sleep after the final attempt


async def test_other_exceptions_are_not_retried():
    fn = scripted(KeyError("bug"), "never")
    with pytest.raises(KeyError):
        await with_retries(fn, sleep=FakeSleep())
    assert len(fn.calls) == 1


async def test_attempts_must_be_positive():
    with pytest.raises(ValueError):
        await with_retries(scripted("ok"), attempts=0, sleep=FakeSleep())
