"""The only place adapters hand events to Redis.

``accept`` deduplicates an event (the same platform update delivered twice is
accepted once), gives it its position in its source chat, records it in the
ingress stream and enqueues the pipeline task, the last two in one Redis script
(bridge/task_queue.py says why the adapters write Celery's message themselves).
It returns only once both are stored, so an adapter may acknowledge the platform
update after it returns. Two round trips per event, no threads.

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
from typing import Callable

from .keys import DAY, Keys
from .models import ChatRef, Command, PlatformEvent
from .stats import Stats
from .task_queue import PROCESS_COMMAND_TASK, PROCESS_EVENT_TASK, TaskQueue

log = logging.getLogger(__name__)

# Long enough to absorb any platform redelivery; the marker holds no content.
DEDUP_TTL = 7 * DAY
# The seen marker's value: PENDING while the event is being stored, then "1".
PENDING = "pending"
PENDING_TTL = 30  # seconds: how long a redelivery may wait after an accept died halfway
PENDING_POLL = 0.5
# The ingress-id argument of a task enqueued by accept(): "the entry this event's
# in-flight marker names" (the task is pushed in the same script that creates the
# entry, before its id is known; workers/pipeline.py looks it up when publishing).
IN_FLIGHT = "in-flight"

# KEYS: seen, seq. ARGV: PENDING, its TTL, the retention TTL.
# The event's position, or (when it was accepted before or is being accepted) the seen marker.
_BEGIN = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  local seq = redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], ARGV[3])
  return seq
end
return redis.call('GET', KEYS[1]) or ''
"""

# KEYS: ingress stream, in-flight marker, seen, Celery queue, counters.
# ARGV: event JSON, TTL, task message, counter name, counters' TTL.
# Entry, in-flight marker (holding the entry id), seen marker, task and counter: all or nothing.
_STORE = """
local id = redis.call('XADD', KEYS[1], '*', 'event', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], id, 'EX', ARGV[2])
redis.call('SET', KEYS[3], '1', 'EX', ARGV[2])
redis.call('LPUSH', KEYS[4], ARGV[3])
redis.call('HINCRBY', KEYS[5], ARGV[4], 1)
redis.call('EXPIRE', KEYS[5], ARGV[5])
return id
"""


class Ingress:
    def __init__(self, redis, keys: Keys, tasks: TaskQueue, stats: Stats | None = None,
                 retention_days: Callable[[ChatRef], int] | None = None):
        self._redis = redis
        self._keys = keys
        self._tasks = tasks
        self._stats = stats or Stats(redis, keys)
        self._retention_days = retention_days
        self._begin = redis.register_script(_BEGIN)
        self._store = redis.register_script(_STORE)

    def _ttl(self, event: PlatformEvent) -> int:
        """How long this event's markers may live: never past its links' retention."""
        if self._retention_days is None:
            return DEDUP_TTL
        return max(1, min(DEDUP_TTL, self._retention_days(event.source.chat) * DAY))

    async def accept(self, event: PlatformEvent) -> bool:
        """Enqueue ``event`` unless it was accepted before; True when enqueued."""
        ttl = self._ttl(event)
        seen = self._keys.seen(event.dedup_key)
        chat = event.source.chat.key
        # A process killed halfway through an accept must not turn the platform's
        # redelivery into a "duplicate" that was never stored: while the marker is
        # PENDING, a redelivery waits for it to become "1" or to expire.
        while True:
            got = await self._begin(keys=[seen, self._keys.seq(chat)], args=[PENDING, PENDING_TTL, ttl])
            if isinstance(got, int):
                seq = got
                break
            if got == PENDING:
                await asyncio.sleep(PENDING_POLL)  # another accept under way, or a dead one expiring
                continue
            await self._stats.incr(f"{event.source.platform}.skipped.duplicate")
            return False
        data = event.with_seq(seq).to_dict()
        in_flight = self._keys.in_flight(chat, seq)
        try:
            message = self._tasks.message(PROCESS_EVENT_TASK, [data, IN_FLIGHT])
            await self._store(keys=[self._keys.ingress(), in_flight, seen, self._tasks.key, self._keys.stats()],
                              args=[json.dumps(data, ensure_ascii=False), ttl, message,
                                    f"{event.source.platform}.accepted", Keys.STATS_TTL])
        except BaseException:
            # Not stored (or the reply was lost): let a redelivery be accepted, unless it was.
            await asyncio.shield(self._forget(seen, in_flight, ttl))
            raise
        log.debug("accepted %s", event.dedup_key)
        return True

    async def _forget(self, seen: str, in_flight: str, ttl: int) -> None:
        try:
            if await self._redis.exists(in_flight):
                await self._redis.set(seen, "1", ex=ttl)  # the script ran; only its answer was lost
            else:
                await self._redis.delete(seen)
        except Exception:  # noqa: BLE001 - Redis is away; the PENDING marker expires on its own
            log.warning("could not undo a half-accepted event; a redelivery waits until it expires")

    async def command(self, command: Command) -> None:
        """Hand a member's command to the workers. Commands are not replayed
        after a crash the way messages are: a member simply says it again."""
        await self._tasks.push(self._redis, PROCESS_COMMAND_TASK, [command.to_dict()])
        await self._stats.incr(f"{command.platform}.commands.{command.name}")


class IngressSweeper:
    """Enqueues again the ingress entries no worker finished in time (their task
    was lost with a worker, or never sent because the adapter died in between).
    Running it twice is harmless: only one run of an event publishes."""

    def __init__(self, redis, keys: Keys, tasks: TaskQueue, stale_after: float, stats: Stats | None = None):
        self._redis = redis
        self._keys = keys
        self._tasks = tasks
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
            await self._tasks.push(self._redis, PROCESS_EVENT_TASK, [event, entry_id])
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
