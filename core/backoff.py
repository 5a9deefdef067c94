"""How long to wait before trying again: the one schedule behind every retry.

A :class:`Backoff` doubles from ``first`` up to ``cap`` and multiplies each wait
by a random factor from ``jitter`` (``FULL_JITTER``: anywhere from 0 to the
wait, so that many clients spread out; ``NO_JITTER``: exactly the wait). Loops
that retry one call (accept an update, record a sent post, reach Redis) run
under tenacity with a Backoff as its ``wait``; the loops tenacity does not fit
take their waits from it too: the outbox's deliveries (a 429 waits
``retry_after`` instead and does not use up attempts), Celery's countdowns,
the adapter supervisor, the Telegram poller and the ingress sweeper.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tenacity import RetryCallState

FULL_JITTER = (0.0, 1.0)
NO_JITTER = (1.0, 1.0)


@dataclass(frozen=True)
class Backoff:
    first: float  # the wait before the first retry (attempt 0)
    cap: float  # no wait is longer (before jitter)
    jitter: tuple[float, float] = NO_JITTER  # the random factor's range

    def delay(self, attempt: int) -> float:
        """The wait before retry ``attempt`` (0 for the first): ``first`` × 2^attempt, at most ``cap``, jittered."""
        wait = self.first * 2.0 ** min(max(attempt, 0), 64)  # 2^64: far past any cap, never an overflow
        wait = min(self.cap, wait)
        low, high = self.jitter
        return wait if low == high == 1.0 else wait * random.uniform(low, high)

    def delays(self) -> Iterator[float]:
        """The waits before each retry, endlessly."""
        attempt = 0
        while True:
            yield self.delay(attempt)
            attempt += 1

    def __call__(self, retry_state: RetryCallState) -> float:
        """tenacity's ``wait``: the wait after attempt number ``attempt_number`` (1 for the first) failed."""
        return self.delay(retry_state.attempt_number - 1)


def log_retry(
    logger: logging.Logger, message: str, *args: object, level: int = logging.WARNING
) -> Callable[[RetryCallState], None]:
    """tenacity's ``before_sleep``: log ``message % (*args, error type, wait)``. The
    exception is named by its type only: messages may quote content, URLs or tokens."""

    def before_sleep(retry_state: RetryCallState) -> None:
        error = retry_state.outcome.exception() if retry_state.outcome is not None else None
        wait = retry_state.next_action.sleep if retry_state.next_action is not None else 0.0
        logger.log(level, message, *args, type(error).__name__, wait)

    return before_sleep
