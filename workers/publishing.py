"""Publishing: the posts of an event appended to the platforms' outboxes in the one
script that retires its ingress entry and in-flight marker (so a task run twice
publishes once; core/storage/outbox.py), and the bridge's own notices. Used by both
stages: the translation stage publishes what it translated, the moderation stage what
needs no translation."""

from __future__ import annotations

import time
from dataclasses import replace

from core import persons, stats
from core.links import LinksConfig
from core.models import OutboundPost, PlatformEvent
from core.storage import announcement_posts, outbox
from core.storage.keys import Keys

from .drafts import Drafts, announcement_firing_of
from .records import record_published


def tagged(posts: list[OutboundPost], person: str) -> list[OutboundPost]:
    """``posts`` with those that name nobody yet tagged as the data of ``person`` (a
    person key), written now: the one reference by which the outbox refuses them after
    the member's erasure, erasure finds them, and the dead letters file them."""
    now = time.time()
    return [post if post.author else replace(post, author=person, written_at=post.written_at or now) for post in posts]


def send_notices(redis, keys: Keys, notices: list[OutboundPost], author: str | None = None) -> None:
    """Queue the bridge's own notices for their platforms' adapters. ``author``: the member
    ("telegram:5001") they are about: each notice not tagged yet carries their person key,
    so that it is erased with the rest of theirs (also once parked in the dead letters)."""
    if author and notices:
        notices = tagged(notices, persons.person(redis, keys, author))
    outbox.queue(redis, keys, notices)


def publish(redis, keys: Keys, event: PlatformEvent, posts: list[OutboundPost], ingress_id: str | None = None) -> bool:
    """Append each post to its destination platform's outbox and retire the
    ingress entry, atomically. False when this event was already published."""
    return publish_posts(redis, keys, event.source.chat.key, event.seq, posts, ingress_id)


def publish_posts(
    redis,
    keys: Keys,
    chat_key: str,
    seq: int,
    posts: list[OutboundPost],
    ingress_id: str | None = None,
    hold_id: str = "",
    marker: str = "",
) -> bool:
    """:func:`publish` by the source chat and position (the translation stage has no
    event). ``hold_id``: an approved held message, published once by its release mark;
    ``marker``: what else publishing retires instead of an in-flight marker (workers/drafts.py
    Drafts.marker): one firing of an announcement, published once by its firing marker, its
    copies kept for the RSVP refresh."""
    firing = announcement_firing_of(marker)
    if firing is not None:
        return announcement_posts.publish(redis, keys, *firing, posts)
    return outbox.publish(redis, keys, chat_key, seq, posts, ingress_id, hold_id)


def publish_and_record(
    redis,
    keys: Keys,
    config: LinksConfig,
    drafts: Drafts,
    posts: list[OutboundPost],
    ingress_id: str | None,
    after: dict,
) -> tuple[bool, bool]:
    """Publish an event's ``posts`` (``drafts``: whose; ``after``: its records, see
    workers/records.py), then write its records. (published now, its author erased
    meanwhile): not published when it was before (a task run again); when its author
    was erased while it was published, the caller has the moderation worker take it back."""
    if not publish_posts(redis, keys, drafts.chat_key, drafts.seq, posts, ingress_id, drafts.hold_id, drafts.marker):
        stats.count(redis, keys, "worker.already_published")
        return False, False
    return True, record_published(redis, keys, config, after)
