"""The only place adapters hand events to Redis.

``accept`` deduplicates an event (the same platform update delivered twice is
accepted once), gives it its position in its source chat, records it in the
ingress stream and enqueues the pipeline task. It returns only once both are
stored in Redis, so an adapter may acknowledge the platform update after it
returns.

Why a stream as well as the Celery queue: Celery's Redis transport can lose a
task when a worker is killed between taking it from the queue and noting it
as unacknowledged. The ingress entry stays until a worker has published the
event's posts (atomically with removing the entry, see workers/pipeline.py),
and :class:`IngressSweeper` enqueues again what stayed too long. Text stays in
Redis only while the event is in flight.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Awaitable, Callable

from .keys import DAY, Keys
from .models import ChatRef, Command, PlatformEvent
from .stats import Stats

log = logging.getLogger(__name__)

Enqueue = Callable[[dict, str], Awaitable[None]]  # (event, ingress entry id)
EnqueueCommand = Callable[[dict], Awaitable[None]]

# Long enough to absorb any platform redelivery; the marker holds no content.
DEDUP_TTL = 7 * DAY
# The seen marker's value: PENDING until the event is stored, then its ingress entry id
# until the task is sent, then "1".
PENDING = "pending"
PENDING_TTL = 30  # seconds: how long a redelivery may wait after an accept died halfway
PENDING_POLL = 0.5

_STORE = """
local id = redis.call('XADD', KEYS[1], '*', 'event', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], '1', 'EX', ARGV[2])
redis.call('SET', KEYS[3], id, 'EX', ARGV[2])
return id
"""


class Ingress:
    def __init__(self, redis, keys: Keys, enqueue: Enqueue, stats: Stats | None = None,
                 retention_days: Callable[[ChatRef], int] | None = None,
                 enqueue_command: EnqueueCommand | None = None):
        self._redis = redis
        self._keys = keys
        self._enqueue = enqueue
        self._enqueue_command = enqueue_command
        self._stats = stats or Stats(redis, keys)
        self._retention_days = retention_days

    def _ttl(self, event: PlatformEvent) -> int:
        """How long this event's markers may live: never past its links' retention."""
        if self._retention_days is None:
            return DEDUP_TTL
        return max(1, min(DEDUP_TTL, self._retention_days(event.source.chat) * DAY))

    async def accept(self, event: PlatformEvent) -> bool:
        """Enqueue ``event`` unless it was accepted before; True when enqueued."""
        ttl = self._ttl(event)
        seen = self._keys.seen(event.dedup_key)
        # A process killed halfway through an accept must not turn the platform's
        # redelivery into a "duplicate" that was never stored (lost) or never enqueued
        # (its chat stalled until the sweeper's visibility timeout).
        while not await self._redis.set(seen, PENDING, nx=True, ex=PENDING_TTL):
            value = await self._redis.get(seen)
            if value == PENDING:
                await asyncio.sleep(PENDING_POLL)  # another accept under way, or a dead one expiring
                continue
            if value is None:
                continue  # expired meanwhile
            stored = await self._redis.xrange(self._keys.ingress(), value, value, count=1) if "-" in value else []
            if stored:
                # Stored, but killed before the task was surely sent: send it (again);
                # only one run of an event publishes.
                await self._enqueue(json.loads(stored[0][1]["event"]), value)
                await self._stats.incr(f"{event.source.platform}.requeued_on_redelivery")
            await self._stats.incr(f"{event.source.platform}.skipped.duplicate")
            return False
        entry_id = None
        try:
            seq_key = self._keys.seq(event.source.chat.key)
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(seq_key)
                pipe.expire(seq_key, ttl)
                seq, _ = await pipe.execute()
            data = event.with_seq(int(seq)).to_dict()
            stream = self._keys.ingress()
            in_flight = self._keys.in_flight(event.source.chat.key, int(seq))
            # Entry, in-flight marker and the seen marker's entry id in one step.
            entry_id = await self._redis.eval(_STORE, 3, stream, in_flight, seen,
                                              json.dumps(data, ensure_ascii=False), ttl)
            await self._enqueue(data, entry_id)
        except BaseException:
            # Not enqueued: forget the marker (and the entry) so a redelivery is accepted.
            await asyncio.shield(self._forget(seen, entry_id, event))
            raise
        try:  # enqueued: a redelivery is a plain duplicate (if this fails, it only enqueues again)
            await self._redis.set(seen, "1", ex=ttl)
        except Exception:  # noqa: BLE001
            pass
        await self._stats.incr(f"{event.source.platform}.accepted")
        log.debug("accepted %s", event.dedup_key)
        return True

    async def _forget(self, seen: str, entry_id, event: PlatformEvent) -> None:
        try:
            await self._redis.delete(seen)
            if entry_id is not None:
                await self._redis.xdel(self._keys.ingress(), entry_id)
                seq = int(await self._redis.get(self._keys.seq(event.source.chat.key)) or 0)
                await self._redis.delete(self._keys.in_flight(event.source.chat.key, seq))
        except Exception:  # noqa: BLE001 - Redis is away; the sweeper will enqueue the entry
            log.warning("could not undo a half-accepted event; it will be retried from the ingress stream")


    async def command(self, command: Command) -> None:
        """Hand a member's command to the workers. Commands are not replayed
        after a crash the way messages are: a member simply says it again."""
        if self._enqueue_command is None:
            log.warning("a %s command arrived but this process cannot hand commands on", command.name)
            return
        await self._enqueue_command(command.to_dict())
        await self._stats.incr(f"{command.platform}.commands.{command.name}")


def celery_command_enqueue(celery_app) -> EnqueueCommand:
    from workers.app import PIPELINE_QUEUE, PROCESS_COMMAND_TASK

    async def enqueue(command: dict) -> None:
        await asyncio.to_thread(celery_app.send_task, PROCESS_COMMAND_TASK, args=[command], queue=PIPELINE_QUEUE,
                                argsrepr="", kwargsrepr="")

    return enqueue


def celery_enqueue(celery_app) -> Enqueue:
    """Enqueue through Celery without blocking the adapter's event loop
    (kombu's Redis transport is synchronous, so it runs in a thread)."""
    from workers.app import PIPELINE_QUEUE, PROCESS_EVENT_TASK

    async def enqueue(event: dict, ingress_id: str) -> None:
        await asyncio.to_thread(
            celery_app.send_task, PROCESS_EVENT_TASK, args=[event, ingress_id], queue=PIPELINE_QUEUE,
            # Celery copies the arguments into a header for monitoring tools: that would
            # be the message text a second time, so the header stays empty.
            argsrepr="", kwargsrepr="",
        )

    return enqueue


class IngressSweeper:
    """Enqueues again the ingress entries no worker finished in time (their task
    was lost with a worker, or never sent because the adapter died in between).
    Running it twice is harmless: only one run of an event publishes."""

    def __init__(self, redis, keys: Keys, enqueue: Enqueue, stale_after: float, stats: Stats | None = None):
        self._redis = redis
        self._keys = keys
        self._enqueue = enqueue
        self.stale_after = stale_after
        self._stats = stats or Stats(redis, keys)

    async def sweep_once(self) -> int:
        """Enqueue entries older than ``stale_after`` (each at most once per period)."""
        newest = int((time.time() - self.stale_after) * 1000)
        entries = await self._redis.xrange(self._keys.ingress(), "-", f"{newest}-0", count=500)
        requeued = 0
        for entry_id, fields in entries:
            marker = f"{self._keys.ingress()}:requeued:{entry_id}"
            if not await self._redis.set(marker, "1", nx=True, ex=max(1, int(self.stale_after))):
                continue
            try:
                event = json.loads(fields["event"])
            except (KeyError, ValueError):
                await self._redis.xdel(self._keys.ingress(), entry_id)
                continue
            await self._enqueue(event, entry_id)
            requeued += 1
        if requeued:
            log.warning("enqueued %d stale ingress event(s) again", requeued)
            await self._stats.incr("ingress.requeued", requeued)
        return requeued

    async def run(self, stop: asyncio.Event) -> None:
        interval = max(1.0, min(10.0, self.stale_after / 2))
        while not stop.is_set():
            try:
                await self.sweep_once()
            except Exception:  # noqa: BLE001 - Redis away: the next round tries again
                log.warning("ingress sweep failed; retrying", exc_info=log.isEnabledFor(logging.DEBUG))
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except asyncio.TimeoutError:
                pass
