"""The only place adapters hand events to Redis.

``accept`` deduplicates an event (the same platform update delivered twice is
accepted once), gives it its position in its source chat, records it in the
ingress stream and enqueues the moderation stage's task, the last two in one Redis script
(core/task_queue.py says why the adapters write Celery's message themselves).
It returns only once both are stored, so an adapter may acknowledge the platform
update after it returns. Two round trips per event, no threads.

Why a stream as well as the Celery queue: Celery's Redis transport can lose a
task when a worker is killed between taking it from the queue and noting it
as unacknowledged. The ingress entry stays until a worker has published the
event's posts (atomically with removing the entry, see workers/publishing.py),
and :class:`IngressSweeper` enqueues again what stayed too long. Text stays in
Redis only while the event is in flight.

Members' commands take the same path (``command``): a position in their chat's
sequence, shared with the chat's messages, and an ingress entry, so a command
lost with a worker is run again like a message. A command of a group is also
noted as pending in its chat until handled; the workers run a later message of
that chat only after it (workers/ordering.py), so "/consent" and the message
after it are handled in the order they were written. Events of one chat reach
this class in the order the platform delivered them: each call takes the chat's
lock before its first await (adapters call in delivery order).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import weakref
from dataclasses import replace
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from core.backoff import Backoff
from core.correlation import correlated, of_command, of_source
from core.storage.ingress import SWEEP_PAGE, IngressStore, load_entry
from core.storage.keys import DAY, Keys
from core.models import ChatRef, Command, PlatformEvent
from core.stats import Stats
from core.task_queue import IN_FLIGHT, PROCESS_COMMAND_TASK, PROCESS_EVENT_TASK, TaskQueue, handed_over_id, new_task_id
from .waiting import wait_event

log = logging.getLogger(__name__)

# Long enough to absorb any platform redelivery; the marker holds no content.
DEDUP_TTL = 7 * DAY
# The seen marker's value: PENDING and the accepting process's identity ("pending:<who>")
# while the event is being stored, then "1".
PENDING = "pending"
PENDING_TTL = 30  # seconds: how long a redelivery may wait after an accept died halfway
PENDING_POLL = 0.5


class Ingress:
    def __init__(
        self,
        redis,
        keys: Keys,
        tasks: TaskQueue,
        stats: Stats | None = None,
        retention_days: Callable[[ChatRef], int] | None = None,
        *,
        identity: str | None = None,
        leased: bool = False,
    ):
        """``identity``: this process's (bridge/lease.py); ``leased``: the adapters run only
        while this process holds their platform's lease, so another process's unfinished
        accept can be taken over at once (bridge/runner.py)."""
        self._pending = f"{PENDING}:{identity or uuid.uuid4().hex}"
        self._leased = leased
        self._tasks = tasks
        self._stats = stats or Stats(redis, keys)
        self._retention_days = retention_days
        self._store = IngressStore(redis, keys)
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        # Accepts under way (for :meth:`drain`): a platform that does not deliver an event
        # again (Discord's gateway) loses one cut off at shutdown.
        self._under_way = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def _ttl(self, chat: ChatRef) -> int:
        """How long an event's markers may live: never past its chat's links' retention."""
        if self._retention_days is None:
            return DEDUP_TTL
        return max(1, min(DEDUP_TTL, self._retention_days(chat) * DAY))

    def marker_ttl(self, chat: ChatRef) -> int:
        """How long what an adapter keeps about one of ``chat``'s events may live (its
        links' retention, at most a week): Telegram albums' records use it too."""
        return self._ttl(chat)

    def _chat_lock(self, chat_key: str) -> asyncio.Lock:
        # Taken without an await when free, so calls keep the order they were made in;
        # a lock nobody holds or waits for is dropped (weak values).
        lock = self._locks.get(chat_key)
        if lock is None:
            lock = self._locks[chat_key] = asyncio.Lock()
        return lock

    async def accept(self, event: PlatformEvent) -> bool:
        """Enqueue ``event`` unless it was accepted before; True when enqueued."""
        with correlated(of_source(event.source)), self._tracked():  # its lines carry its id (core/correlation.py)
            return await self._accept(event)

    async def _accept(self, event: PlatformEvent) -> bool:
        chat, ttl = event.source.chat.key, self._ttl(event.source.chat)
        async with self._chat_lock(chat):
            seq = await self._position(
                event.dedup_key, chat, ttl, f"{event.source.platform}.skipped.duplicate", event.source.platform
            )
            if seq is None:
                return False
            data = event.with_seq(seq).to_dict()
            if not await self._store_entry(
                event.dedup_key, chat, seq, ttl, data, PROCESS_EVENT_TASK, data, f"{event.source.platform}.accepted"
            ):
                return False
        log.debug("accepted %s", event.dedup_key)
        return True

    async def command(self, command: Command) -> bool:
        """Hand a member's command to the workers, durably and in its chat's order
        (as :meth:`accept` does for messages); True when enqueued, False for a
        redelivery. A group's command is marked pending until a worker handled it."""
        with correlated(of_command(command)), self._tracked():
            return await self._command(command)

    @contextmanager
    def _tracked(self) -> Iterator[None]:
        self._under_way += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._under_way -= 1
            if not self._under_way:
                self._idle.set()

    async def drain(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds for the accepts under way to be stored (at
        shutdown, once the adapters take nothing in any more); the number still under way."""
        await wait_event(self._idle, timeout)
        return self._under_way

    async def _command(self, command: Command) -> bool:
        chat = command.order_key
        # A command with a sequence of its own (a private chat's, which belongs to no link, or
        # a button press that needs no order): its markers live a day (a redelivery comes within one).
        ttl = self._ttl(command.chat) if command.ordered else min(DAY, self._ttl(command.chat))
        async with self._chat_lock(chat):
            seq = await self._position(
                command.dedup_key, chat, ttl, f"{command.platform}.skipped.duplicate", command.platform
            )
            if seq is None:
                return False
            data = replace(command, seq=seq).to_dict()
            # The entry's "event" field wraps the command: the sweeper re-enqueues every entry
            # as process_event, which hands a command on (workers/stages/moderation.py).
            return await self._store_entry(
                command.dedup_key,
                chat,
                seq,
                ttl,
                {"command": data},
                PROCESS_COMMAND_TASK,
                data,
                f"{command.platform}.commands.{command.name}",
                pending=command.ordered,
            )

    async def _position(self, dedup_key: str, chat: str, ttl: int, duplicate_counter: str, platform: str) -> int | None:
        """The next position in ``chat`` for a new event; None (counted) for a duplicate."""
        # A process killed halfway through an accept must not turn the platform's
        # redelivery into a "duplicate" that was never stored: while the marker is
        # PENDING, a redelivery waits for it to become "1", to expire, or (ingress_begin.lua) to
        # be taken over from a process that no longer runs the adapter.
        while True:
            got = await self._store.begin(
                dedup_key, chat, self._pending, PENDING_TTL, ttl, lease_of=platform if self._leased else None
            )
            if isinstance(got, int):
                return got
            if got.startswith(PENDING):
                await asyncio.sleep(PENDING_POLL)  # another accept under way, or a dead one expiring
                continue
            await self._stats.incr(duplicate_counter)
            return None

    async def _store_entry(
        self,
        dedup_key: str,
        chat: str,
        seq: int,
        ttl: int,
        entry: dict,
        task: str,
        task_data: dict,
        counter: str,
        pending: bool = False,
    ) -> bool:
        """Store the entry and enqueue its task; False when another process took the
        accept over meanwhile (it stores the event; this position stays a gap)."""
        try:
            task_id = new_task_id()
            stored = await self._store.store(
                dedup_key,
                chat,
                seq,
                ttl,
                entry,
                queue_key=self._tasks.key,
                task_message=self._tasks.message(task, [task_data, IN_FLIGHT], task_id),
                task_id=task_id,
                counter=counter,
                token=self._pending,
                pending_command=pending,
            )
        except BaseException:
            # Not stored (or the reply was lost): let a redelivery be accepted, unless it was.
            await asyncio.shield(self._forget(dedup_key, chat, seq, ttl))
            raise
        if stored is None:
            await self._stats.incr("ingress.taken_over")
            return False
        return True

    async def _forget(self, dedup_key: str, chat: str, seq: int, ttl: int) -> None:
        try:
            await self._store.undo(dedup_key, chat, seq, self._pending, ttl)
        except Exception:  # noqa: BLE001 - Redis is away; the PENDING marker expires on its own
            log.warning("could not undo a half-accepted event; a redelivery waits until it expires")


class IngressSweeper:
    """Enqueues again the ingress entries whose task is really lost: neither waiting
    in the Celery queue nor held by a worker (kombu's unacknowledged hash, from which
    a dead worker's tasks are restored by the workers themselves). Celery's Redis
    transport loses a task when a worker dies between taking it from the queue and
    noting it as held; a task that failed and was acknowledged leaves its entry too.

    An entry is enqueued again only after two sweeps in a row found its task
    nowhere (a live worker notes what it took within milliseconds), under the
    same task id (so the next sweep finds it queued: no duplicates pile up, however
    long the queue), and with a growing pause between the requeues of one entry
    (a task that keeps failing is not run in a tight loop). Several sweepers
    (several `twinbridge run`) take turns through a short lock."""

    MAX_PAUSE = 300.0  # seconds, the longest pause between two requeues of one entry

    def __init__(
        self,
        redis,
        keys: Keys,
        tasks: TaskQueue,
        grace: float = 5.0,
        interval: float = 2.0,
        pause: float = 5.0,
        stats: Stats | None = None,
    ):
        self._store = IngressStore(redis, keys)
        self._tasks = tasks
        self.grace = grace  # an entry younger than this is not looked at (its task is surely on its way)
        self.interval = interval
        self.pause = pause  # before the second requeue of one entry; doubling up to MAX_PAUSE
        self._stats = stats or Stats(redis, keys)
        self._missing: set[str] = set()  # entries whose task the last sweep did not find
        self._requeues: dict[str, tuple[int, float]] = {}  # entry id -> (requeues, monotonic time of the last)
        self._task_ids: dict[str, str] = {}  # for entries written without a task id (before this version)

    async def sweep_once(self) -> int:
        """Enqueue the entries whose task was found nowhere twice in a row; returns how many."""
        if not await self._store.take_sweep_turn(max(1, int(self.interval))):
            return 0  # another sweeper's turn
        entries = await self._store.entries_before(int((time.time() - self.grace) * 1000))
        tasks: dict[str, str] = {}
        events: dict[str, dict] = {}
        for entry_id, fields in entries:
            try:
                events[entry_id] = load_entry(fields)
            except (KeyError, ValueError):  # not ours to run: drop it instead of stalling on it
                await self._store.drop(entry_id)
                await self._stats.incr("ingress.dropped_unreadable")
                continue
            tasks[entry_id] = fields.get("task") or self._task_ids.setdefault(entry_id, new_task_id())
        # An event's task is the entry's (moderation), or the translation task it was handed to.
        wanted = [task_id for first in tasks.values() for task_id in (first, handed_over_id(first))]
        queues = [self._tasks.key, *getattr(self._tasks, "other_keys", ())]
        found = await self._store.tasks_found(queues, self._tasks.unacked_key, wanted) if tasks else set()
        missing = {
            entry_id
            for entry_id, task_id in tasks.items()
            if task_id not in found and handed_over_id(task_id) not in found
        }
        lost, self._missing = missing & self._missing, missing - self._missing
        now = time.monotonic()
        requeued = 0
        for entry_id in sorted(lost):
            count, last = self._requeues.get(entry_id, (0, 0.0))
            if count and now - last < Backoff(first=self.pause, cap=self.MAX_PAUSE).delay(count - 1):
                self._missing.add(entry_id)  # still lost; its turn comes after the pause
                continue
            message = self._tasks.message(PROCESS_EVENT_TASK, [events[entry_id], entry_id], tasks[entry_id])
            if not await self._store.requeue_if_there(entry_id, self._tasks.key, message):
                continue  # gone meanwhile: published, or erased
            self._requeues[entry_id] = (count + 1, now)
            requeued += 1
        if len(entries) < SWEEP_PAGE:  # all stale entries seen: forget those that left (published, or expired)
            for book in (self._requeues, self._task_ids):
                for entry_id in [e for e in book if e not in events]:
                    del book[entry_id]
        if requeued:
            log.warning("enqueued %d lost ingress event(s) again", requeued)
            await self._stats.incr("ingress.requeued", requeued)
        return requeued

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.sweep_once()
            except Exception:  # Redis away: the next round tries again
                log.warning("ingress sweep failed; retrying", exc_info=log.isEnabledFor(logging.DEBUG))
            await wait_event(stop, self.interval)
