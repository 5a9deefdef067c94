"""What an adapter's outbox reads and writes around each post it delivers (an asyncio
client): delivery markers, order cursors, in-flight markers, the authors' tombstones,
the id map and intents of the copies, the notices and quotes erasure looks for; and
the one transaction that ends a post's turn.

Writes that follow a post are handed around as :data:`~core.storage.writes.Writes`, so
that they all reach Redis with the rest in one round trip."""

from __future__ import annotations

import json
import time
from .. import persons
from ..idmap import IdMap
from ..intents import Intents
from ..models import ChatRef, EventKind, MessageRef, OutboundPost
from . import scripts
from .keys import DAY, Keys
from .outbox import OutboxStream
from .writes import Writes


class DeliveryBook:
    def __init__(self, redis, keys: Keys, stream: OutboxStream, platform: str):
        self._redis = redis
        self._keys = keys
        self._stream = stream
        self._platform = platform
        self._idmap = IdMap(redis, keys)
        self._intents = Intents(redis, keys)
        self._advance = scripts.register(redis, "cursor_advance")
        self._note_notice = scripts.register(redis, "notice_note")

    # -- reads -----------------------------------------------------------------------
    async def delivered(self, post: OutboundPost) -> bool:
        """Whether this very post reached its destination before (delivery deduplication)."""
        return bool(await self._redis.exists(self._keys.delivered(post.delivery_key)))

    async def last_delivered(self, destination: ChatRef, source_chat: str) -> int:
        """The last position of ``source_chat`` delivered to ``destination`` (0: none known)."""
        raw = await self._redis.get(self._keys.cursor(destination.key, source_chat))
        return int(raw) if raw else 0

    async def in_flight(self, source_chat: str, seq: int) -> bool:
        """Whether the event at ``seq`` of ``source_chat`` is accepted but not yet published."""
        return bool(await self._redis.exists(self._keys.in_flight(source_chat, seq)))

    async def erased_since(self, person: str, written_at: float) -> bool:
        """Whether the member ``person`` was erased after writing at ``written_at`` (their tombstone)."""
        return persons.erased_before(await self._redis.get(self._keys.erased(person)), written_at)

    # -- writes that follow a post ------------------------------------------------------
    def copies(self, post: OutboundPost, ids: list[str]) -> Writes:
        """Record ``ids`` as the copies of ``post`` in its destination (and end its intent)."""

        def into(pipe) -> None:
            self._idmap.record_into(pipe, post.link_id, post.source, post.destination, ids, post.retention_days)
            self._intents.resolve_into(pipe, post.link_id, post.source, post.destination)

        return into

    def copies_gone(self, post: OutboundPost, copies: list[str]) -> Writes:
        """Forget the deleted ``copies`` of ``post`` in its destination (and which of its
        files they showed: core/storage/copy_files.py)."""

        def into(pipe) -> None:
            self._idmap.forget_into(pipe, post.link_id, post.source, post.destination, copies)
            pipe.hdel(self._keys.copy_files(post.source.key), IdMap.field(post.link_id, post.destination))

        return into

    def quote(self, post: OutboundPost, quoted: MessageRef) -> Writes:
        """Note that the copy of ``post`` (a reply) quotes ``quoted``, so that erasing
        ``quoted`` can drop the quote."""

        def into(pipe) -> None:
            key = self._keys.quoted_in(quoted.key)
            pipe.sadd(key, f"{post.link_id}|{post.source.key}|{post.destination.key}")
            pipe.expire(key, post.retention_days * DAY)

        return into

    async def record_now(self, writes: Writes) -> None:
        """Make ``writes`` at once, in one transaction."""
        async with self._redis.pipeline(transaction=True) as pipe:
            writes(pipe)
            await pipe.execute()

    async def note_notice(self, post: OutboundPost, ref: MessageRef, chat: ChatRef, ids: list[str]) -> bool:
        """Remember where a notice showing a member's data went (``chat``), for their
        erasure: its copies ``ids`` go in the id map under ``ref``. False, recording
        nothing, when the member's tombstone is there. One script, so an erasure either
        finds the record (it reads the index after setting the tombstone) or the record
        is refused: no notice slips between the two."""
        ttl = post.retention_days * DAY
        origins = [self._keys.origin(MessageRef(chat.platform, chat.chat_id, copy_id).key) for copy_id in ids]
        done = await self._note_notice(
            keys=[
                self._keys.erased(post.author),
                self._keys.notices_about(post.author),
                self._keys.idmap(ref.key),
                *origins,
            ],
            args=[
                repr(post.written_at),
                f"{post.link_id}|{ref.key}|{chat.key}|{post.private_to}",
                time.time() + ttl,
                ttl,
                IdMap.field(post.link_id, chat),
                json.dumps(ids),
                f"{post.link_id}|{ref.key}",
            ],
        )
        return bool(done)

    async def finish(
        self,
        post: OutboundPost,
        entry_id,
        writes: Writes | None = None,
        *,
        delivered: bool = False,
        resolve_intent: bool = True,
    ) -> None:
        """Everything that follows one post, in one round trip: its ``writes``, the
        delivery marker and counter (when ``delivered``), the order cursor of its
        destination (delivered or not, its turn is over), its intent (dealt with) and
        the entry's acknowledgement."""
        async with self._redis.pipeline(transaction=True) as pipe:
            if writes is not None:
                writes(pipe)
            # A delete ends an intent too (found and deleted, or nowhere to be found: what
            # erasure asks for must not leave the digests of a member's text behind).
            if post.kind in (EventKind.NEW, EventKind.DELETE) and resolve_intent:
                self._intents.resolve_into(pipe, post.link_id, post.source, post.destination)
            if delivered:
                if post.kind in (EventKind.NEW, EventKind.NOTICE):
                    pipe.set(self._keys.delivered(post.delivery_key), "1", ex=post.retention_days * DAY)
                pipe.hincrby(self._keys.stats(), f"{self._platform}.delivered.{post.kind.value}", 1)
                pipe.expire(self._keys.stats(), Keys.STATS_TTL)
            if post.seq:
                # Only ever forwards (a late duplicate must not move it back).
                await self._advance(
                    keys=[
                        self._keys.cursor(post.destination.key, post.source.chat.key),
                        self._keys.seq(post.source.chat.key),
                    ],
                    args=[post.seq, post.retention_days * DAY],
                    client=pipe,
                )
            if entry_id is not None:
                self._stream.ack_into(pipe, entry_id)
            await pipe.execute()
