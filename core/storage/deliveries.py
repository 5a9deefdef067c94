"""What an adapter's outbox reads and writes around each post it delivers (an asyncio
client): delivery markers, order cursors, in-flight markers, the authors' tombstones,
the id map and intents of the copies, the notices and quotes erasure looks for; and
the one transaction that ends a post's turn.

Writes that follow a post are handed around as :data:`~core.storage.writes.Writes`, so
that they all reach Redis with the rest in one round trip."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from .. import persons
from ..idmap import IdMap
from ..intents import DeliveryIntent, Intents
from ..models import ChatRef, EventKind, MessageRef, OutboundPost
from . import scripts
from .keys import DAY, Keys
from .outbox import OutboxStream
from .writes import Writes


@dataclass(frozen=True)
class FirstLook:
    """What delivery reads before a post's first attempt (:meth:`DeliveryBook.first_look`)."""

    delivered: bool  # this very post reached its destination before
    erased: bool  # its author was erased after writing it
    intent: DeliveryIntent | None  # a NEW post's intent an earlier attempt left


class DeliveryBook:
    def __init__(self, redis, keys: Keys, stream: OutboxStream, platform: str):
        self._redis = redis
        self._keys = keys
        self._stream = stream
        self._platform = platform
        self._idmap = IdMap(redis, keys)
        self._intents = Intents(redis, keys)
        self._note_notice = scripts.register(redis, "notice_note")

    # -- reads -----------------------------------------------------------------------
    async def delivered(self, post: OutboundPost) -> bool:
        """Whether this very post reached its destination before (delivery deduplication)."""
        return bool(await self._redis.exists(self._keys.delivered(post.delivery_key)))

    async def first_look(self, post: OutboundPost) -> FirstLook:
        """:meth:`delivered`, :meth:`erased_since` (its author, for a post showing what
        they wrote) and a NEW post's intent, in one round trip instead of three."""
        shows_author = bool(post.author) and post.kind in (EventKind.NEW, EventKind.EDIT, EventKind.NOTICE)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.exists(self._keys.delivered(post.delivery_key))
            if shows_author:
                pipe.get(self._keys.erased(post.author))
            if post.kind == EventKind.NEW:
                self._intents.get_into(pipe, post.link_id, post.source, post.destination)
            replies = list(await pipe.execute())
        delivered = bool(replies.pop(0))
        erased = persons.erased_before(replies.pop(0), post.written_at) if shows_author else False
        intent = (
            Intents.loaded(post.link_id, post.source, post.destination, replies.pop(0))
            if post.kind == EventKind.NEW
            else None
        )
        return FirstLook(delivered, erased, intent)

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
            # erasure asks for must not leave the digests of a member's text behind). A NEW
            # post's copies (its writes when delivered: :meth:`copies`) have ended it already.
            resolved = post.kind == EventKind.NEW and delivered and writes is not None
            if post.kind in (EventKind.NEW, EventKind.DELETE) and resolve_intent and not resolved:
                self._intents.resolve_into(pipe, post.link_id, post.source, post.destination)
            if delivered:
                if post.kind in (EventKind.NEW, EventKind.NOTICE):
                    pipe.set(self._keys.delivered(post.delivery_key), "1", ex=post.retention_days * DAY)
                pipe.hincrby(self._keys.stats(), f"{self._platform}.delivered.{post.kind.value}", 1)
                pipe.expire(self._keys.stats(), Keys.STATS_TTL)
            if post.seq:
                # Only ever forwards (a late duplicate must not move it back).
                scripts.queue(
                    pipe,
                    "cursor_advance",
                    keys=[
                        self._keys.cursor(post.destination.key, post.source.chat.key),
                        self._keys.seq(post.source.chat.key),
                    ],
                    args=[post.seq, post.retention_days * DAY],
                )
            if entry_id is not None:
                self._stream.ack_into(pipe, entry_id)
            await pipe.execute()
