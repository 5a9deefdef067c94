"""The map from source messages to their relayed copies, and back.

Written by the destination adapter right after posting, read when an edit,
delete or reply follows. Every entry expires with the link's retention.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .intents import DeliveryIntent, parse_field
from .storage.keys import DAY, Keys
from .models import ChatRef, MessageRef


@dataclass(frozen=True)
class SourceTrace:
    """Everything known to be (or maybe be) relayed from one source message."""

    copies: dict[tuple[str, ChatRef], list[str]]  # (link, destination) -> copy ids
    unknown: list[DeliveryIntent]  # posts begun but never recorded: a copy may exist, its id is unknown


class IdMap:
    def __init__(self, redis, keys: Keys):
        self._redis = redis
        self._keys = keys

    @staticmethod
    def field(link_id: str, destination: ChatRef) -> str:
        """The hash field of one link's copies in one destination."""
        return f"{link_id}|{destination.key}"

    _field = field  # its former, private name, still used below

    async def record(
        self, link_id: str, source: MessageRef, destination: ChatRef, copy_ids: list[str], retention_days: int
    ) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            self.record_into(pipe, link_id, source, destination, copy_ids, retention_days)
            await pipe.execute()

    def record_into(
        self, pipe, link_id: str, source: MessageRef, destination: ChatRef, copy_ids: list[str], retention_days: int
    ) -> None:
        """Add the writes of :meth:`record` to ``pipe`` (the outbox sends them with
        the rest of a post's bookkeeping, in one round trip)."""
        ttl = retention_days * DAY
        key = self._keys.idmap(source.key)
        pipe.hset(key, self._field(link_id, destination), json.dumps(copy_ids))
        pipe.expire(key, ttl)
        for copy_id in copy_ids:
            copy = MessageRef(destination.platform, destination.chat_id, copy_id)
            pipe.set(self._keys.origin(copy.key), f"{link_id}|{source.key}", ex=ttl)

    async def trace(self, source: MessageRef) -> SourceTrace:
        """The recorded copies of ``source`` and the intents whose copy is unknown
        (for erasure: the former can be deleted; the latter say where a copy may
        exist; a delete for that destination makes the outbox look for it)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._keys.idmap(source.key))
            pipe.hgetall(self._keys.intents(source.key))
            recorded, begun = await pipe.execute()
        return _trace(source, recorded, begun)

    async def relayed(self, sources: list[MessageRef]) -> list[bool]:
        """Whether each of ``sources`` has recorded copies (or begun posts) anywhere; one round trip."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for source in sources:
                pipe.exists(self._keys.idmap(source.key), self._keys.intents(source.key))
            found = await pipe.execute()
        return [bool(n) for n in found]

    async def copies(self, link_id: str, source: MessageRef, destination: ChatRef) -> list[str]:
        raw = await self._redis.hget(self._keys.idmap(source.key), self._field(link_id, destination))
        return json.loads(raw) if raw else []

    async def forget(self, link_id: str, source: MessageRef, destination: ChatRef) -> None:
        copies = await self.copies(link_id, source, destination)
        async with self._redis.pipeline(transaction=True) as pipe:
            self.forget_into(pipe, link_id, source, destination, copies)
            await pipe.execute()

    def forget_into(self, pipe, link_id: str, source: MessageRef, destination: ChatRef, copies: list[str]) -> None:
        """Add the writes of :meth:`forget` for the known ``copies`` to ``pipe``."""
        for copy_id in copies:
            copy = MessageRef(destination.platform, destination.chat_id, copy_id)
            pipe.delete(self._keys.origin(copy.key))
        pipe.hdel(self._keys.idmap(source.key), self._field(link_id, destination))

    async def origin(self, copy: MessageRef) -> tuple[str, MessageRef] | None:
        """The (link, source message) a relayed copy stands for, if it is one."""
        raw = await self._redis.get(self._keys.origin(copy.key))
        if not raw:
            return None
        link_id, _, source_key = (raw.decode() if isinstance(raw, bytes) else raw).partition("|")
        platform, chat_id, message_id = source_key.split(":", 2)
        return link_id, MessageRef(platform, chat_id, message_id)

    async def album_of(self, message: MessageRef) -> MessageRef:
        """The message whose copies show ``message``: for a part of a Telegram album (relayed
        as one post under its first part, bridge/telegram/albums.py) that first part; else
        the message itself."""
        raw = await self._redis.get(self._keys.album_of(message.key))
        if not raw:
            return message
        platform, chat_id, message_id = (raw.decode() if isinstance(raw, bytes) else raw).split(":", 2)
        return MessageRef(platform, chat_id, message_id)

    async def reply_target(self, link_id: str, replied: MessageRef, destination: ChatRef) -> str | None:
        """Which message in ``destination`` a reply to ``replied`` should point at.

        ``replied`` is either an original message (then its copy in the
        destination) or itself a relayed copy (then the original, if the
        original lives in the destination, or the original's copy there).
        """
        origin = await self.origin(replied)
        original = origin[1] if origin and origin[0] == link_id else await self.album_of(replied)
        if original.chat == destination:
            return original.message_id
        copies = await self.copies(link_id, original, destination)
        return copies[0] if copies else None


def origin_sync(redis, keys: Keys, copy: MessageRef) -> tuple[str, MessageRef] | None:
    """:meth:`IdMap.origin` for a synchronous client (``decode_responses=True``), as the workers use."""
    raw = redis.get(keys.origin(copy.key))
    if not raw:
        return None
    link_id, _, source_key = raw.partition("|")
    platform, chat_id, message_id = source_key.split(":", 2)
    return link_id, MessageRef(platform, chat_id, message_id)


def trace_sync(redis, keys: Keys, source: MessageRef) -> SourceTrace:
    """:meth:`IdMap.trace` for a synchronous client (``decode_responses=True``), as the workers use."""
    with redis.pipeline(transaction=False) as pipe:
        pipe.hgetall(keys.idmap(source.key))
        pipe.hgetall(keys.intents(source.key))
        recorded, begun = pipe.execute()
    return _trace(source, recorded, begun)


def _trace(source: MessageRef, recorded: dict, begun: dict) -> SourceTrace:
    copies = {parse_field(field): json.loads(raw) for field, raw in recorded.items()}
    unknown = [
        DeliveryIntent.load(source, field, raw)
        for field, raw in sorted(begun.items())
        if parse_field(field) not in copies
    ]
    return SourceTrace(copies, unknown)


def copies_by_link(recorded: dict) -> dict[str, dict[str, list[str]]]:
    """An id-map hash as read (field "link|destination" -> copy ids as JSON): link id ->
    destination chat key -> copy ids."""
    found: dict[str, dict[str, list[str]]] = {}
    for field, raw in recorded.items():
        link_id, _, destination = field.partition("|")
        found.setdefault(link_id, {})[destination] = json.loads(raw)
    return found
