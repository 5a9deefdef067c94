"""Leases on the tasks a live worker holds, so that only a dead worker's tasks are handed out again.

kombu's Redis transport emulates acknowledgements: a message a worker takes is
noted in the ``unacked`` hash and, scored with the time it was taken, in the
``unacked_index`` sorted set; every worker's restore sweep puts back on the queue
whatever is older than the visibility timeout. With a timeout long enough for the
slowest task, a dead worker's tasks wait that long; with a short one, a slow but
live task runs twice. So the timeout is short (TWINBRIDGE_VISIBILITY_TIMEOUT, 15 s)
and a live worker renews it: every few seconds this consumer bootstep moves the
score of every message it still holds (running, reserved, prefetched or waiting
for its retry time) to now, with ``ZADD XX`` so that a message acknowledged in
between is not added back. When a worker is killed its scores stop moving and
another worker's restore sweep hands its messages out again within the timeout.

This leans on kombu's storage layout (the key names, the index's scores being
Unix times, the channel's ``qos._delivered``): pyproject.toml pins kombu to the
versions it was written against and tests/integration/test_kombu_layout.py fails
when that layout changes.
"""

from __future__ import annotations

import logging
import time

from celery import bootsteps

log = logging.getLogger(__name__)


def held_delivery_tags(channel) -> list[str]:
    """The delivery tags of the messages this channel holds and has not acknowledged."""
    qos = channel.qos
    acknowledged = qos._dirty  # acknowledged, not yet flushed from _delivered
    return [tag for tag in list(qos._delivered) if tag not in acknowledged]


def renew(channel, tags: list[str], now: float | None = None) -> int:
    """Mark ``tags`` as taken ``now`` in kombu's unacked index; returns how many were
    still there (a tag acknowledged meanwhile is not added back)."""
    if not tags:
        return 0
    now = time.time() if now is None else now
    with channel.conn_or_acquire() as client:  # kombu's own client: its key prefix, its pool
        return client.zadd(channel.unacked_index_key, {tag: now for tag in tags}, xx=True, ch=True)


def renewal_interval(visibility_timeout: float) -> float:
    """Renew five times per visibility timeout: a worker may miss several renewals
    (a busy event loop, a Redis blip) before its tasks are handed out again."""
    return max(1.0, visibility_timeout / 5)


class HeldTaskRenewal(bootsteps.StartStopStep):
    """Consumer bootstep: renew the lease of every message the worker holds."""

    requires = ("celery.worker.consumer.tasks:Tasks",)
    label = "held task renewal"

    def __init__(self, c, **kwargs):
        self._tref = None
        super().__init__(c, **kwargs)

    def start(self, c):
        timeout = c.app.conf.broker_transport_options.get("visibility_timeout", 3600)
        self._tref = c.timer.call_repeatedly(renewal_interval(timeout), self._renew, (c,), priority=10)

    def _renew(self, c) -> None:
        consumer = getattr(c, "task_consumer", None)
        if consumer is None:
            return
        try:
            renew(consumer.channel, held_delivery_tags(consumer.channel))
        except Exception:  # Redis away: the next round tries again; kombu reconnects
            log.warning("could not renew the leases of held tasks; retrying", exc_info=log.isEnabledFor(logging.DEBUG))

    def stop(self, c):
        if self._tref is not None:
            self._tref.cancel()
            self._tref = None

    shutdown = stop
