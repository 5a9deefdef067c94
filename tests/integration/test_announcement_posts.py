"""core/storage/announcement_posts.py on a real Redis: one firing of an announcement is
published once, by its firing marker (set when handed to the fire task, deleted by a
cancellation); the announcement's own copies are kept for the RSVP refresh, a reminder's
are not; the first firing makes the announcement sent."""

from __future__ import annotations

import json
import time

from core.announcements import Announcement, AnnouncementView, EventDetails
from core.models import ChatRef, EventKind, MessageRef, OutboundPost
from core.storage import announcement_posts, announcements

DAY = 86400


def stored(redis, keys) -> Announcement:
    announcement = Announcement(
        id=announcements.new_id(),
        link_id="twins",
        community="leicester",
        organiser="cli",
        text="Picnic!",
        language="en",
        event=EventDetails("Picnic", time.time() + 7 * DAY),
        at=time.time(),
        reminders=(DAY,),
    )
    announcements.save(redis, keys, announcement, 30, time.time())
    return announcement


def posts(announcement: Announcement, kind: str = "announcement") -> list[OutboundPost]:
    message_id = announcement.id if kind == "announcement" else f"{announcement.id}.r{DAY}"
    view = AnnouncementView(announcement.id, "📢 Announcement · Leicester", kind=kind, event=announcement.event)
    return [
        OutboundPost(
            kind=EventKind.NEW,
            link_id="twins",
            destination=destination,
            source=MessageRef("twinbridge", "announcements", message_id),
            sender="",
            community="Leicester",
            text="Picnic!" if kind == "announcement" else "",
            announcement=view.to_dict(),
        )
        for destination in (ChatRef("telegram", "-1001"), ChatRef("discord", "42"))
    ]


def outbox(redis, keys) -> list[dict]:
    return [
        json.loads(fields["post"])
        for platform in ("telegram", "discord")
        for _, fields in redis.xrange(keys.outbox(platform))
    ]


def test_published_once_by_its_marker_and_its_copies_kept(sync_redis, keys):
    announcement = stored(sync_redis, keys)
    # Not handed over (no marker): nothing is published.
    assert not announcement_posts.publish(sync_redis, keys, announcement.id, "fire", posts(announcement))
    assert outbox(sync_redis, keys) == []

    assert announcements.enqueue_fire(sync_redis, keys, announcement.id) == 1
    assert announcement_posts.is_firing(sync_redis, keys, announcement.id, "fire")
    assert announcement_posts.publish(sync_redis, keys, announcement.id, "fire", posts(announcement))
    assert not announcement_posts.publish(sync_redis, keys, announcement.id, "fire", posts(announcement))
    assert not announcement_posts.is_firing(sync_redis, keys, announcement.id, "fire")
    assert len(outbox(sync_redis, keys)) == 2
    assert announcements.load(sync_redis, keys, announcement.id).state == "sent"
    kept = announcement_posts.published(sync_redis, keys, announcement.id)
    assert [p.destination.key for p in kept] == ["discord:42", "telegram:-1001"]
    assert (
        0
        < sync_redis.ttl(keys.announcement_posts(announcement.id))
        <= sync_redis.ttl(keys.announcement(announcement.id))
    )

    # A reminder is published once too, and not kept (it shows no counts).
    what = announcements.remind(DAY)
    assert announcements.enqueue_fire(sync_redis, keys, announcement.id, what) == 1
    assert announcement_posts.publish(sync_redis, keys, announcement.id, what, posts(announcement, "reminder"))
    assert len(outbox(sync_redis, keys)) == 4
    assert [p.source.message_id for p in announcement_posts.published(sync_redis, keys, announcement.id)] == [
        announcement.id,
        announcement.id,
    ]


def test_a_cancellation_between_hand_over_and_publishing_publishes_nothing(sync_redis, keys):
    announcement = stored(sync_redis, keys)
    assert announcements.enqueue_fire(sync_redis, keys, announcement.id) == 1
    assert announcements.cancel(sync_redis, keys, announcement.id) == "scheduled"
    assert not announcement_posts.publish(sync_redis, keys, announcement.id, "fire", posts(announcement))
    assert outbox(sync_redis, keys) == [] and announcement_posts.published(sync_redis, keys, announcement.id) == []
    assert announcements.load(sync_redis, keys, announcement.id).state == "cancelled"


def test_remember_keeps_copies_published_otherwise(sync_redis, keys):
    announcement = stored(sync_redis, keys)
    announcement_posts.remember(sync_redis, keys, announcement.id, posts(announcement), 60)
    assert len(announcement_posts.published(sync_redis, keys, announcement.id)) == 2
    assert 0 < sync_redis.ttl(keys.announcement_posts(announcement.id)) <= 60
