"""How every stage's tasks wait and retry (never blocking a worker's slot)."""

from __future__ import annotations

import logging
import time

from celery import Task

from core import stats
from core.backoff import Backoff
from core.storage.keys import Keys

from .. import failures
from ..app import app

log = logging.getLogger(__name__)

# Past the visibility timeout (when a lost task has come back), how long a task still waits.
ORDER_WAIT_MARGIN = 60
# While an earlier event of the chat is pending: 50 ms, doubling, at most 1 s.
ORDER_WAIT_BACKOFF = Backoff(first=0.05, cap=1.0)


def retry_later(task: Task, exc: BaseException):
    """The retry of ``task`` while Redis is away (not the task's fault, so not counted)."""
    log.warning("redis unavailable while processing; retrying")
    # Never an ETA beyond the visibility timeout (the task would be handed out twice).
    cap = min(60, app.conf.twinbridge_settings.visibility_timeout // 2)
    countdown = Backoff(first=1, cap=cap).delay(task.request.retries)
    # argsrepr: the retried message must not repeat the event (its text) in its headers.
    return task.retry(countdown=countdown, argsrepr="", kwargsrepr="")


def retry_failed(task: Task, exc: BaseException, failed: int, what: str):
    """The retry of ``task`` after its own failure number ``failed`` (carried in its kwargs):
    backed off up to a quarter of the visibility timeout. The log names the reason only."""
    countdown = failures.backoff(failed, app.conf.twinbridge_settings.visibility_timeout / 4)
    log.warning(
        "%s task failed on attempt %d (%s); retrying in %.1fs", what, failed + 1, failures.describe(exc), countdown
    )
    # No exc=: Celery would log its message, which may quote the text; argsrepr empty: the
    # arguments (the message text) are not repeated in the headers.
    return task.retry(
        countdown=countdown,
        kwargs={**(task.request.kwargs or {}), "failed": failed + 1},
        argsrepr="",
        kwargsrepr="",
    )


def wait_turn(task: Task, redis, keys: Keys, earlier: int, waiting_since: float | None) -> None:
    """Retry ``task`` shortly while ``earlier`` (a position of its chat that must be
    handled first, or 0) is pending; for at most the time a lost task needs to come
    back, then go on (workers/ordering.py)."""
    if not earlier:
        return
    since = waiting_since or time.time()
    if time.time() - since > app.conf.twinbridge_settings.visibility_timeout + ORDER_WAIT_MARGIN:
        log.warning("gave up waiting for an earlier event of the same chat; going on")
        stats.count(redis, keys, "worker.order_wait_expired")
        return
    stats.count(redis, keys, "worker.order_waits")
    countdown = ORDER_WAIT_BACKOFF.delay(task.request.retries)
    # argsrepr empty: the arguments (the message text) are not repeated in the headers.
    raise task.retry(
        countdown=countdown,
        max_retries=None,
        kwargs={**(task.request.kwargs or {}), "waiting_since": since},
        argsrepr="",
        kwargsrepr="",
    )
