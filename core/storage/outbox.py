"""The outbox streams: one per platform, where workers append one entry per post for
that platform's adapter, which reads them with a consumer group (``GROUP``) and deletes
each once it is dealt with. An entry is one field, ``post``: the post as JSON (its text
lives in Redis only while in flight)."""

from __future__ import annotations

import json

from redis.exceptions import ResponseError

from ..models import OutboundPost
from ..task_queue import IN_FLIGHT
from . import scripts
from .keys import DAY, Keys

GROUP = "senders"  # the adapters' consumer group on every outbox stream


def post_fields(post: OutboundPost) -> dict[str, str]:
    """The stored form of one outbox entry."""
    return {"post": post_json(post)}


def post_json(post: OutboundPost) -> str:
    return json.dumps(post.to_dict(), ensure_ascii=False)


def load_post(fields) -> OutboundPost:
    """The post of an outbox entry (raises on a malformed one); the fields as read by a
    client with or without ``decode_responses``."""
    raw = fields.get("post") if "post" in fields else fields.get(b"post")
    return OutboundPost.from_dict(json.loads(raw))


def author_of(fields) -> str:
    """The person key an outbox entry is tagged with ('' for none, or malformed)."""
    try:
        return json.loads(fields.get("post") or "{}").get("author") or ""
    except (ValueError, AttributeError):
        return ""


def append_into(pipe, keys: Keys, post: OutboundPost, stored: dict | None = None) -> None:
    """Queue the append of ``post`` to its platform's outbox on ``pipe`` (a synchronous
    pipeline); the stream lives as long as the longest retention of what it holds.
    ``stored``: the post as a dict to store instead, as kept elsewhere (a dead letter's)."""
    stream = keys.outbox(post.destination.platform)
    pipe.xadd(stream, post_fields(post) if stored is None else {"post": json.dumps(stored, ensure_ascii=False)})
    pipe.expire(stream, post.retention_days * DAY)


def drop(redis, keys: Keys, platform: str, entry_ids: list) -> None:
    """Take entries out of a platform's outbox before its adapter sends them (erasure),
    acknowledged too in case the adapter had read them. Synchronous client."""
    stream = keys.outbox(platform)
    pipe = redis.pipeline(transaction=True)
    pipe.xack(stream, GROUP, *entry_ids)
    pipe.xdel(stream, *entry_ids)
    pipe.execute()


class OutboxStream:
    """One platform's outbox as its adapter reads it (an asyncio client): the consumer
    group, what earlier consumers left in hand, pages of entries, acknowledgements."""

    def __init__(self, redis, keys: Keys, platform: str):
        self._redis = redis
        self.name = keys.outbox(platform)

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self.name, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def take_over(self, consumer: str, idle: float) -> int:
        """Make what other consumers of the group read but never acknowledged (idle for
        ``idle`` seconds) ``consumer``'s, then drop those consumers; how many entries."""
        start = "0-0"
        claimed = 0
        while True:
            reply = await self._redis.xautoclaim(
                self.name, GROUP, consumer, int(idle * 1000), start_id=start, count=500
            )
            # (redis-py drops the cursor of a JUSTID reply, hence the entries)
            start, entries = reply[0], reply[1]
            claimed += len(entries)
            if start in ("0-0", b"0-0"):
                break
        for info in await self._redis.xinfo_consumers(self.name, GROUP):
            name = info["name"]
            if name != consumer and int(info["pending"]) == 0:
                await self._redis.xgroup_delconsumer(self.name, GROUP, name)
        return claimed

    async def read(self, consumer: str, start: str, *, count: int, block: int | None) -> list | None:
        """Up to ``count`` entries (id, fields) for ``consumer``: its own pending ones from
        ``start``, or new ones when ``start`` is ">" (waiting up to ``block`` ms). None when
        the group was gone (the stream expired or Redis lost it): it is made anew, with
        nothing pending."""
        try:
            reply = await self._redis.xreadgroup(GROUP, consumer, {self.name: start}, count=count, block=block)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self.ensure_group()
            return None
        return reply[0][1] if reply else []

    async def ack(self, entry_id) -> None:
        """Acknowledge and delete one entry (its text leaves Redis)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            self.ack_into(pipe, entry_id)
            await pipe.execute()

    def ack_into(self, pipe, entry_id) -> None:
        pipe.xack(self.name, GROUP, entry_id)
        pipe.xdel(self.name, entry_id)


async def queue_once(redis, keys: Keys, marker: str, post: OutboundPost) -> bool:
    """Append ``post`` (asyncio client) unless ``marker`` is set; set it (for the post's
    retention) with the append. False when it was set: queued before."""
    if not await redis.set(marker, "1", nx=True, ex=max(1, post.retention_days) * DAY):
        return False
    async with redis.pipeline(transaction=True) as pipe:
        append_into(pipe, keys, post)
        await pipe.execute()
    return True


def queue(redis, keys: Keys, posts: list[OutboundPost]) -> None:
    """Append ``posts`` to their platforms' outboxes (one round trip; synchronous client)."""
    pipe = redis.pipeline()
    for post in posts:
        append_into(pipe, keys, post)
    pipe.execute()


def script_streams(keys: Keys, posts: list[OutboundPost]) -> tuple[list[str], list]:
    """The outbox stream of each post, and (post, its TTL) per post: how the scripts
    that queue posts take them."""
    stream_keys, args = [], []
    for post in posts:
        stream_keys.append(keys.outbox(post.destination.platform))
        args += [post_json(post), post.retention_days * DAY]
    return stream_keys, args


def publish(
    redis, keys: Keys, chat_key: str, seq: int, posts: list[OutboundPost], ingress_id: str | None, hold_id: str = ""
) -> bool:
    """Append each post to its platform's outbox and retire the event's ingress entry
    (``ingress_id``; IN_FLIGHT: the one its in-flight marker names; None: not from the
    ingress) and in-flight marker, atomically. False when it was published before.
    ``hold_id``: an approved held message, whose release mark (empty: no entry) is retired
    instead (core/storage/holds.py), so that it too is published once."""
    stream_keys, args = script_streams(keys, posts)
    marker = keys.released(hold_id) if hold_id else keys.in_flight(chat_key, seq)
    return (
        scripts.run(
            redis,
            "publish",
            [keys.ingress(), marker, *stream_keys],
            [IN_FLIGHT if hold_id else ingress_id or "", *args],
        )
        != -1
    )
