"""The published copies of each announcement (sync client): one post per destination chat
(its JSON, as it went to the outbox, translated), kept until the announcement expires, so
that the RSVP refresh can edit every copy with the new totals; and the script that
publishes one firing of an announcement once (its firing marker, set by
core/storage/announcements.py, retired with publishing)."""

from __future__ import annotations

import json

from ..announcements import AnnouncementView
from ..models import OutboundPost
from . import scripts
from .keys import DAY, Keys
from .outbox import post_json


def _field(post: OutboundPost) -> str:
    return post.destination.key


def _kept(post: OutboundPost) -> bool:
    """Only the announcement's own copies are edited later (a reminder shows no counts)."""
    return bool(post.announcement) and AnnouncementView.from_dict(post.announcement or {}).kind == "announcement"


def publish(redis, keys: Keys, announcement_id: str, what: str, posts: list[OutboundPost], ttl: int = DAY) -> bool:
    """Append each post to its platform's outbox, retire the firing marker of ``what`` and keep
    the announcement's copies (:func:`published`), atomically; False when it was published
    before or cancelled (the marker gone), and then nothing is appended. ``ttl``: how long the
    copies are kept when the announcement itself has expired meanwhile."""
    stream_keys, args = [], []
    for post in posts:
        stream_keys.append(keys.outbox(post.destination.platform))
        args += [post_json(post), post.retention_days * DAY, _field(post) if _kept(post) else ""]
    return (
        scripts.run(
            redis,
            "announcement_publish",
            [
                keys.announcement_firing(announcement_id, what),
                keys.announcement(announcement_id),
                keys.announcement_posts(announcement_id),
                *stream_keys,
            ],
            [what, max(1, int(ttl)), *args],
        )
        != -1
    )


def is_firing(redis, keys: Keys, announcement_id: str, what: str) -> bool:
    """``what`` of the announcement is handed to the fire task and not yet published (nor
    cancelled): its firing marker is there."""
    return bool(redis.exists(keys.announcement_firing(announcement_id, what)))


def remember(redis, keys: Keys, announcement_id: str, posts: list[OutboundPost], ttl: int) -> None:
    """Keep ``posts`` as the announcement's published copies (one per destination chat, a
    later one replacing an earlier) for ``ttl`` seconds. Publishing does this itself
    (:func:`publish`); this is for copies published otherwise."""
    if not posts:
        return
    key = keys.announcement_posts(announcement_id)
    pipe = redis.pipeline(transaction=True)
    pipe.hset(key, mapping={_field(post): post_json(post) for post in posts})
    pipe.expire(key, max(1, int(ttl)))
    pipe.execute()


def published(redis, keys: Keys, announcement_id: str) -> list[OutboundPost]:
    """The announcement's published copies (none when it was not published, or expired),
    in a stable order (by destination chat)."""
    stored = redis.hgetall(keys.announcement_posts(announcement_id))
    posts = []
    for field in sorted(stored):
        try:
            posts.append(OutboundPost.from_dict(json.loads(stored[field])))
        except (ValueError, KeyError, TypeError):
            continue  # not ours to read: the other copies are still edited
    return posts
