"""The ingress: seen markers, each source chat's sequence counter, the ingress stream of
accepted events, their in-flight markers and a group command's pending mark (asyncio
client; what the adapters' accept and the ingress sweeper read and write).

An ingress entry has two fields: ``event``, the event as JSON (a command wrapped as
``{"command": …}``), and ``task``, the id of the Celery task enqueued with it."""

from __future__ import annotations

import json

from . import scripts
from .keys import Keys

SWEEP_PAGE = 500  # ingress entries one sweep looks at


def load_entry(fields) -> dict:
    """The event (as a dict) of an ingress entry; raises KeyError or ValueError for one
    that is not ours."""
    return json.loads(fields["event"])


class IngressStore:
    def __init__(self, redis, keys: Keys):
        self._redis = redis
        self._keys = keys
        self._begin = scripts.register(redis, "ingress_begin")
        self._store = scripts.register(redis, "ingress_store")
        self._undo = scripts.register(redis, "ingress_undo")
        self._find = scripts.register(redis, "ingress_find_tasks")
        self._requeue = scripts.register(redis, "ingress_requeue_if_there")

    # -- accepting ---------------------------------------------------------------------
    async def begin(
        self, dedup_key: str, chat: str, token: str, pending_ttl: int, ttl: int, lease_of: str | None = None
    ):
        """Mark the event seen (holding ``token`` while it is stored) and give it the next
        position of ``chat``: that position (int), or the seen marker's value when it was
        seen before (str). ``lease_of``: the platform whose adapter lease this process
        holds, so that a dead process's half-done accept is taken over at once."""
        keys = [self._keys.seen(dedup_key), self._keys.seq(chat)]
        if lease_of is not None:
            keys += [self._keys.adapter_lease(lease_of), self._keys.stats()]
        return await self._begin(keys=keys, args=[token, pending_ttl, ttl])

    async def store(
        self,
        dedup_key: str,
        chat: str,
        seq: int,
        ttl: int,
        entry: dict,
        *,
        queue_key: str,
        task_message: str,
        task_id: str,
        counter: str,
        token: str,
        pending_command: bool,
    ):
        """Store the entry, its in-flight and seen markers, its task (on ``queue_key``) and
        counter, all or nothing: the entry id, or None when the seen marker no longer holds
        ``token`` (another process took the accept over)."""
        keys = [
            self._keys.ingress(),
            self._keys.in_flight(chat, seq),
            self._keys.seen(dedup_key),
            queue_key,
            self._keys.stats(),
        ]
        args = [json.dumps(entry, ensure_ascii=False), ttl, task_message, counter, Keys.STATS_TTL, task_id, token]
        if pending_command:
            keys.append(self._keys.pending_commands(chat))
            args.append(seq)
        return await self._store(keys=keys, args=args)

    async def undo(self, dedup_key: str, chat: str, seq: int, token: str, ttl: int) -> None:
        """Forget a half-done accept (a redelivery may then be accepted), unless it was stored."""
        await self._undo(keys=[self._keys.seen(dedup_key), self._keys.in_flight(chat, seq)], args=[token, ttl])

    # -- sweeping ------------------------------------------------------------------------
    async def take_sweep_turn(self, seconds: int) -> bool:
        """Whether this sweeper may sweep now (one at a time, for ``seconds``)."""
        return bool(await self._redis.set(self._keys.ingress_sweep_lock(), "1", nx=True, ex=seconds))

    async def entries_before(self, newest_ms: int) -> list:
        """Up to SWEEP_PAGE of the oldest entries (id, fields), written before ``newest_ms``."""
        return await self._redis.xrange(self._keys.ingress(), "-", f"{newest_ms}-0", count=SWEEP_PAGE)

    async def drop(self, entry_id) -> None:
        await self._redis.xdel(self._keys.ingress(), entry_id)

    async def tasks_found(self, queue_keys: list[str], unacked_key: str, wanted: list[str]) -> set[str]:
        """Which of the task ids ``wanted`` wait in the queues or are held by a worker."""
        return set(await self._find(keys=[*queue_keys, unacked_key], args=wanted))

    async def requeue_if_there(self, entry_id, queue_key: str, message: str) -> bool:
        """Enqueue ``message`` again if the entry is still there (not published, not erased)."""
        return bool(await self._requeue(keys=[self._keys.ingress(), queue_key], args=[entry_id, message]))
