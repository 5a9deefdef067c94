"""The outbox streams: one per platform, where workers append one entry per post for
that platform's adapter, which reads them with a consumer group (``GROUP``) and deletes
each once it is dealt with. An entry is one field, ``post``: the post as JSON (its text
lives in Redis only while in flight)."""
from __future__ import annotations

import json

from ..models import OutboundPost
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


def append_into(pipe, keys: Keys, post: OutboundPost) -> None:
    """Queue the append of ``post`` to its platform's outbox on ``pipe`` (a synchronous
    pipeline); the stream lives as long as the longest retention of what it holds."""
    stream = keys.outbox(post.destination.platform)
    pipe.xadd(stream, post_fields(post))
    pipe.expire(stream, post.retention_days * DAY)


def drop(redis, keys: Keys, platform: str, entry_ids: list) -> None:
    """Take entries out of a platform's outbox before its adapter sends them (erasure),
    acknowledged too in case the adapter had read them. Synchronous client."""
    stream = keys.outbox(platform)
    pipe = redis.pipeline(transaction=True)
    pipe.xack(stream, GROUP, *entry_ids)
    pipe.xdel(stream, *entry_ids)
    pipe.execute()
