"""Delivery intents: a post about to be sent, recorded before it is sent.

A post can reach the platform and its process die before the copy is recorded in
the id map (SIGKILL, power loss, an HTTP response that never arrives). Without a
trace that copy would be invisible to edits, deletes and erasure, and the post
would be sent again after a restart. So right before the first request of a NEW
post, the outbox records an *intent*: when, and a salted digest of each message
it is about to post (what the platform will show: sender name and content) —
never the text itself. The intent is removed in the transaction that records the
copy (or gives up on the post), so it outlives its post only after a crash.

An intent still there means "a copy may exist; its id is unknown":

- the outbox, reading the post again after a restart (or retrying after an error
  that may have posted it), asks the sender to look for it; Discord reads the
  channel's messages after the intent's time and matches the digests: found, it
  is recorded and not sent again. A Telegram bot cannot read history: the post is
  sent again (at most the one post per chat that was in flight).
- erasure, edits and deletes see it with :meth:`core.idmap.IdMap.trace`.

Each intent expires with its link's retention, like the id map.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from collections.abc import Sequence

from .storage.keys import DAY, Keys
from .models import ChatRef, MessageRef, OutboundPost


def field_of(link_id: str, destination: ChatRef) -> str:
    """The hash field of one (link, destination): the same as the id map's."""
    return f"{link_id}|{destination.key}"


def parse_field(field: str) -> tuple[str, ChatRef]:
    link_id, _, destination = field.partition("|")
    return link_id, ChatRef.parse(destination)


def mark(salt: str, shown: str) -> str:
    """A digest of what one posted message shows, keyed with the intent's own salt (so
    equal texts in two intents do not give equal digests)."""
    return hashlib.blake2b(shown.encode(), key=bytes.fromhex(salt), digest_size=12).hexdigest()


@dataclass(frozen=True)
class DeliveryIntent:
    link_id: str
    source: MessageRef
    destination: ChatRef
    at: float  # Unix time the intent was recorded, just before the first request
    salt: str
    marks: tuple[str, ...]  # one per message of the post, in order

    def match(self, shown: str) -> int | None:
        """The position of the part whose digest ``shown`` has, if any."""
        digest = mark(self.salt, shown)
        return self.marks.index(digest) if digest in self.marks else None

    @classmethod
    def load(cls, source: MessageRef, field: str, raw: str) -> DeliveryIntent:
        link_id, destination = parse_field(field)
        data = json.loads(raw)
        return cls(link_id, source, destination, float(data["at"]), data["salt"], tuple(data["marks"]))


class Intents:
    def __init__(self, redis, keys: Keys):
        self._redis = redis
        self._keys = keys

    async def record(self, post: OutboundPost, shown: Sequence[str]) -> DeliveryIntent:
        """Record that ``post`` is about to be sent as the messages ``shown`` (what each
        will show; only their digests are stored). Replaces an earlier intent for it."""
        salt = secrets.token_hex(16)
        intent = DeliveryIntent(
            post.link_id, post.source, post.destination, time.time(), salt, tuple(mark(salt, s) for s in shown)
        )
        key = self._keys.intents(post.source.key)
        # One write: no other client reads an intent between the two, so no MULTI/EXEC.
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(
                key,
                field_of(post.link_id, post.destination),
                json.dumps({"at": round(intent.at, 3), "salt": salt, "marks": list(intent.marks)}),
            )
            pipe.expire(key, post.retention_days * DAY)
            await pipe.execute()
        return intent

    async def get(self, link_id: str, source: MessageRef, destination: ChatRef) -> DeliveryIntent | None:
        field = field_of(link_id, destination)
        raw = await self._redis.hget(self._keys.intents(source.key), field)
        return DeliveryIntent.load(source, field, raw) if raw else None

    def get_into(self, pipe, link_id: str, source: MessageRef, destination: ChatRef) -> None:
        """Add to ``pipe`` the read of :meth:`get`; :meth:`loaded` makes its reply an intent."""
        pipe.hget(self._keys.intents(source.key), field_of(link_id, destination))

    @staticmethod
    def loaded(link_id: str, source: MessageRef, destination: ChatRef, raw) -> DeliveryIntent | None:
        return DeliveryIntent.load(source, field_of(link_id, destination), raw) if raw else None

    async def of_source(self, source: MessageRef) -> list[DeliveryIntent]:
        raw = await self._redis.hgetall(self._keys.intents(source.key))
        return [DeliveryIntent.load(source, f, v) for f, v in sorted(raw.items())]

    def resolve_into(self, pipe, link_id: str, source: MessageRef, destination: ChatRef) -> None:
        """Add to ``pipe``: the post's fate is recorded (its copy, or that it was given up)."""
        pipe.hdel(self._keys.intents(source.key), field_of(link_id, destination))

    def forget_into(self, pipe, source: MessageRef) -> None:
        """Add to ``pipe``: drop every intent of ``source`` (erasure, once dealt with)."""
        pipe.delete(self._keys.intents(source.key))
