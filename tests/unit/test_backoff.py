"""core.backoff: the one retry schedule, alone and as tenacity's wait."""

from __future__ import annotations

import logging
from itertools import islice

import pytest
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

from core.backoff import FULL_JITTER, Backoff, log_retry


def test_doubles_from_first_up_to_the_cap():
    assert list(islice(Backoff(first=0.5, cap=30).delays(), 9)) == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    assert Backoff(first=1, cap=60).delay(10_000) == 60  # no overflow however long the outage


@pytest.mark.parametrize("jitter", [(0.5, 1.0), (0.8, 1.2), FULL_JITTER])
def test_jitter_stays_in_its_range_and_varies(jitter):
    backoff = Backoff(first=1, cap=8, jitter=jitter)
    for attempt in range(6):
        base = min(8, 2**attempt)
        waits = [backoff.delay(attempt) for _ in range(200)]
        assert all(base * jitter[0] <= w <= base * jitter[1] for w in waits)
        assert len(set(waits)) > 100


async def test_as_tenacity_wait_it_waits_the_schedule_then_gives_up(caplog):
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    calls = 0

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError("secret token in this message")

    retrying = AsyncRetrying(
        retry=retry_if_exception_type(ConnectionError),
        wait=Backoff(first=0.5, cap=2),
        stop=stop_after_attempt(5),
        sleep=sleep,
        reraise=True,
        before_sleep=log_retry(logging.getLogger("t"), "%s: down (%s); again in %.1fs", "redis"),
    )
    with caplog.at_level(logging.WARNING), pytest.raises(ConnectionError):
        await retrying(flaky)
    assert calls == 5 and waits == [0.5, 1, 2, 2]
    assert caplog.messages[0] == "redis: down (ConnectionError); again in 0.5s"
    assert "secret" not in caplog.text  # the exception by its type only


async def test_what_is_not_retried_propagates_at_once():
    async def broken() -> None:
        raise ValueError("a bug")

    retrying = AsyncRetrying(
        retry=retry_if_exception_type(ConnectionError), wait=Backoff(first=0.5, cap=2), reraise=True
    )
    with pytest.raises(ValueError):
        await retrying(broken)
