"""The only place adapters hand events to Redis.

``accept`` deduplicates an event (the same platform update delivered twice is
accepted once), gives it its position in its source chat, and enqueues the
pipeline task. It returns only once the task is stored in Redis, so an adapter
may acknowledge the platform update after it returns.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

from .keys import DAY, Keys
from .models import PlatformEvent
from .stats import Stats

log = logging.getLogger(__name__)

Enqueue = Callable[[dict], Awaitable[None]]

# Long enough to absorb any platform redelivery; the marker holds no content.
DEDUP_TTL = 7 * DAY


class Ingress:
    def __init__(self, redis, keys: Keys, enqueue: Enqueue, stats: Stats | None = None):
        self._redis = redis
        self._keys = keys
        self._enqueue = enqueue
        self._stats = stats or Stats(redis, keys)

    async def accept(self, event: PlatformEvent) -> bool:
        """Enqueue ``event`` unless it was accepted before; True when enqueued."""
        seen = self._keys.seen(event.dedup_key)
        if not await self._redis.set(seen, "1", nx=True, ex=DEDUP_TTL):
            await self._stats.incr(f"{event.source.platform}.skipped.duplicate")
            return False
        try:
            seq_key = self._keys.seq(event.source.chat.key)
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(seq_key)
                pipe.expire(seq_key, 365 * DAY)
                seq, _ = await pipe.execute()
            await self._enqueue(event.with_seq(int(seq)).to_dict())
        except BaseException:
            # Not enqueued: forget the marker so a redelivery is accepted.
            await asyncio.shield(self._redis.delete(seen))
            raise
        await self._stats.incr(f"{event.source.platform}.accepted")
        log.debug("accepted %s", event.dedup_key)
        return True


def celery_enqueue(celery_app) -> Enqueue:
    """Enqueue through Celery without blocking the adapter's event loop
    (kombu's Redis transport is synchronous, so it runs in a thread)."""
    from workers.app import PIPELINE_QUEUE, PROCESS_EVENT_TASK

    async def enqueue(event: dict) -> None:
        await asyncio.to_thread(
            celery_app.send_task, PROCESS_EVENT_TASK, args=[event], queue=PIPELINE_QUEUE
        )

    return enqueue
