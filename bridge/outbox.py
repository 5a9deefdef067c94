"""Outbox consumption: the adapter side of delivery.

Workers append one entry per destination post to the platform's outbox stream;
the platform's adapter reads them with a consumer group (so a post it had in
hand when it stopped is read again after a restart), resolves replies and
copies through the id map, calls its :class:`~bridge.adapter.Sender`, records
the copies, then acknowledges and deletes the entry (text lives only in flight).
"""
from __future__ import annotations

import asyncio
import json
import logging
import random

from redis.exceptions import ResponseError

from .adapter import DeliveryError, Sender
from .idmap import IdMap
from .keys import DAY, Keys
from .models import EventKind, OutboundPost
from .stats import Stats

log = logging.getLogger(__name__)

GROUP = "senders"
MAX_ATTEMPTS = 8


class OutboxConsumer:
    def __init__(self, redis, keys: Keys, sender: Sender, *, consumer: str = "adapter"):
        self._redis = redis
        self._keys = keys
        self._sender = sender
        self._stream = keys.outbox(sender.platform)
        self._consumer = consumer
        self._idmap = IdMap(redis, keys)
        self._stats = Stats(redis, keys)
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def _ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self) -> None:
        await self._ensure_group()
        # First what this consumer had read but not acknowledged before a restart.
        pending_first = True
        while not self._stopping.is_set():
            start = "0" if pending_first else ">"
            try:
                reply = await self._redis.xreadgroup(GROUP, self._consumer, {self._stream: start},
                                                     count=20, block=None if pending_first else 500)
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                # The stream expired or Redis lost it: start a new group, nothing is pending.
                await self._ensure_group()
                continue
            entries = reply[0][1] if reply else []
            if pending_first and not entries:
                pending_first = False
                continue
            for entry_id, fields in entries:
                if self._stopping.is_set():
                    return
                await self._handle(entry_id, fields)

    async def _handle(self, entry_id, fields) -> None:
        raw = fields.get(b"post") or fields.get("post")
        try:
            post = OutboundPost.from_dict(json.loads(raw))
        except Exception:  # noqa: BLE001 - a malformed entry must not stop the others
            log.warning("dropping malformed outbox entry %s", entry_id)
            await self._stats.incr(f"{self._sender.platform}.outbox.malformed")
        else:
            await self.deliver(post)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(self._stream, GROUP, entry_id)
            pipe.xdel(self._stream, entry_id)
            await pipe.execute()

    async def deliver(self, post: OutboundPost) -> None:
        done_key = self._keys.delivered(post.delivery_key)
        if post.kind == EventKind.NEW and await self._redis.exists(done_key):
            await self._stats.incr(f"{self._sender.platform}.delivery.duplicate")
            return
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                await self._deliver_once(post)
                await self._redis.set(done_key, "1", ex=post.retention_days * DAY)
                await self._stats.incr(f"{self._sender.platform}.delivered.{post.kind.value}")
                return
            except DeliveryError as exc:
                if exc.permanent or attempt == MAX_ATTEMPTS:
                    log.warning("giving up on a post to %s: %s", post.destination.key, exc.reason)
                    await self._stats.incr(f"{self._sender.platform}.delivery.failed")
                    await self._dead_letter(post, exc.reason)
                    return
                delay = exc.retry_after if exc.retry_after is not None else min(30.0, 0.5 * 2 ** attempt)
                delay += random.uniform(0, 0.25)
                log.info("retrying a post to %s in %.1fs (%s)", post.destination.key, delay, exc.reason)
                await asyncio.sleep(delay)

    async def _deliver_once(self, post: OutboundPost) -> None:
        if post.kind == EventKind.NEW:
            reply_to = None
            if post.reply_to is not None:
                reply_to = await self._idmap.reply_target(post.link_id, post.reply_to, post.destination)
            ids = await self._sender.send(post, reply_to)
            await self._idmap.record(post.link_id, post.source, post.destination, ids, post.retention_days)
            return
        copies = await self._idmap.copies(post.link_id, post.source, post.destination)
        if not copies:
            # Never relayed there (older than the id map, or filtered): nothing to change.
            await self._stats.incr(f"{self._sender.platform}.skipped.{post.kind.value}_without_copy")
            return
        if post.kind == EventKind.EDIT:
            ids = await self._sender.edit(post, copies)
            await self._idmap.record(post.link_id, post.source, post.destination, ids, post.retention_days)
        else:
            await self._sender.delete(post, copies)
            await self._idmap.forget(post.link_id, post.source, post.destination)

    async def _dead_letter(self, post: OutboundPost, reason: str) -> None:
        key = f"{self._keys.prefix}dead"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(key, {"post": json.dumps(post.to_dict()), "reason": reason}, maxlen=10000)
            pipe.expire(key, post.retention_days * DAY)
            await pipe.execute()
