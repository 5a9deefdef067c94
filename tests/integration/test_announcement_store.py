"""The announcements' storage against the real Redis (core/storage/announcements.py): what is
stored and for how long, the schedule, and the hand-over to the fire task once per firing,
however often, and by however many schedulers, it is asked for."""

from __future__ import annotations

import threading

import pytest

from core.announcements import CANCELLED, SCHEDULED, SENT, Announcement, EventDetails
from core.storage import announcements as store
from core.task_queue import FIRE_ANNOUNCEMENT_TASK, MODERATION_QUEUE, TaskQueue, task_arguments

pytestmark = pytest.mark.integration

NOW = 1_900_000_000.0
DAY = 86400


def _notice(announcement_id="a7k2m9", at=NOW + 3600, event=None, reminders=()) -> Announcement:
    return Announcement(
        id=announcement_id,
        link_id="leicester-krefeld",
        community="krefeld",
        organiser="cli",
        text="Sommerfest am Samstag",
        language="de",
        event=event,
        at=at,
        reminders=reminders,
        created=NOW,
    )


def _queued(sync_redis, keys) -> list[tuple]:
    queue = TaskQueue.for_prefix(keys.prefix, MODERATION_QUEUE)
    return [task_arguments(raw) for raw in reversed(sync_redis.lrange(queue.key, 0, -1))]


def test_saved_announcements_load_and_expire_with_the_event_plus_retention(sync_redis, keys):
    event = EventDetails(title="Sommerfest", start=NOW + 10 * DAY, end=NOW + 10 * DAY + 7200, place="Park")
    notice = _notice(event=event, reminders=(DAY,))
    assert store.save(sync_redis, keys, notice, retention_days=7, now=NOW) == notice.id
    assert store.load(sync_redis, keys, notice.id) == notice
    assert sync_redis.hget(keys.announcement(notice.id), "state") == SCHEDULED
    expiry = sync_redis.expiretime(keys.announcement(notice.id))
    assert abs(expiry - (NOW + 10 * DAY + 7200 + 7 * DAY)) <= 2
    assert sync_redis.expiretime(keys.announcements_of_link(notice.link_id)) == expiry
    later = _notice("b8m3n4", at=NOW + 60)
    store.save(sync_redis, keys, later, retention_days=7, now=NOW)
    assert [a.id for a in store.of_link(sync_redis, keys, notice.link_id, NOW)] == ["b8m3n4", "a7k2m9"]
    assert store.load(sync_redis, keys, "nosuch") is None


def test_a_taken_id_is_refused_and_a_repeated_request_makes_nothing_new(sync_redis, keys):
    assert store.save(sync_redis, keys, _notice(), 7, NOW, request="digest1") == "a7k2m9"
    assert store.save(sync_redis, keys, _notice("zzzzzz"), 7, NOW, request="digest1") == "a7k2m9"
    assert store.load(sync_redis, keys, "zzzzzz") is None
    assert store.save(sync_redis, keys, _notice(at=NOW + 5), 7, NOW) is None  # another notice, same id
    assert 0 < sync_redis.ttl(keys.announcement_request("digest1")) <= store.REQUEST_TTL


def test_enqueue_fire_hands_over_once(sync_redis, keys):
    notice = _notice()
    store.save(sync_redis, keys, notice, 7, NOW)
    assert store.enqueue_fire(sync_redis, keys, notice.id) == 1
    assert store.enqueue_fire(sync_redis, keys, notice.id) == 0
    assert _queued(sync_redis, keys) == [(FIRE_ANNOUNCEMENT_TASK, [notice.id, "fire"], {})]
    marker = store.firing_marker(keys, notice.id, "fire")
    # Read a moment apart, the two TTLs may straddle a second.
    assert sync_redis.get(marker) and 0 < sync_redis.ttl(marker) <= sync_redis.ttl(keys.announcement(notice.id)) + 1
    assert store.enqueue_fire(sync_redis, keys, "nosuch") == -1
    # Scheduling it afterwards schedules nothing that was handed over already.
    assert store.schedule(sync_redis, keys, notice, 7) == 0
    assert store.claim_due(sync_redis, keys, NOW + 7200) == []


def test_publishing_retires_the_marker_once_and_makes_it_sent(sync_redis, keys):
    notice = _notice()
    store.save(sync_redis, keys, notice, 7, NOW)
    store.enqueue_fire(sync_redis, keys, notice.id)
    assert store.retire_firing(sync_redis, keys, notice.id, "fire") is True
    assert store.retire_firing(sync_redis, keys, notice.id, "fire") is False
    assert store.load(sync_redis, keys, notice.id).state == SENT


def test_claim_due_takes_what_is_due_with_its_reminders(sync_redis, keys):
    event = EventDetails(title="Sommerfest", start=NOW + 3 * DAY)
    notice = _notice(at=NOW + 600, event=event, reminders=(DAY, 3600))
    store.save(sync_redis, keys, notice, 7, NOW)
    assert store.schedule(sync_redis, keys, notice, 7) == 3
    assert store.schedule(sync_redis, keys, notice, 7) == 3  # the same entries again: still three
    # The schedule expires with the latest announcement in it.
    assert sync_redis.expiretime(keys.announcement_schedule()) == sync_redis.expiretime(keys.announcement(notice.id))
    assert store.next_due(sync_redis, keys) == NOW + 600
    assert store.claim_due(sync_redis, keys, NOW + 599) == []
    assert store.claim_due(sync_redis, keys, NOW + 600) == [(notice.id, "fire", 1)]
    assert store.claim_due(sync_redis, keys, NOW + 2 * DAY) == [(notice.id, "remind:86400", 1)]
    assert store.claim_due(sync_redis, keys, NOW + 3 * DAY) == [(notice.id, "remind:3600", 1)]
    assert [args for _, args, _ in _queued(sync_redis, keys)] == [
        [notice.id, "fire"],
        [notice.id, "remind:86400"],
        [notice.id, "remind:3600"],
    ]
    assert store.next_due(sync_redis, keys) is None
    assert sync_redis.ttl(keys.announcement_schedule()) > 0 or not sync_redis.exists(keys.announcement_schedule())


def test_cancel_stops_what_is_scheduled_and_what_is_not_yet_published(sync_redis, keys):
    event = EventDetails(title="Sommerfest", start=NOW + 3 * DAY)
    notice = _notice(at=NOW, event=event, reminders=(DAY,))
    store.save(sync_redis, keys, notice, 7, NOW)
    store.schedule(sync_redis, keys, notice, 7)
    assert store.claim_due(sync_redis, keys, NOW) == [(notice.id, "fire", 1)]
    assert store.cancel(sync_redis, keys, notice.id) == SCHEDULED
    assert store.cancel(sync_redis, keys, notice.id) == CANCELLED
    assert store.cancel(sync_redis, keys, "nosuch") == ""
    assert store.retire_firing(sync_redis, keys, notice.id, "fire") is False  # the fire task publishes nothing
    assert store.claim_due(sync_redis, keys, NOW + 3 * DAY) == []
    assert store.schedule(sync_redis, keys, notice, 7) == 0
    assert store.enqueue_fire(sync_redis, keys, notice.id, "remind:86400") == -2
    assert store.load(sync_redis, keys, notice.id).state == CANCELLED


def test_two_schedulers_claiming_at_once_hand_each_entry_over_once(sync_redis, keys, redis_url):
    import redis as redis_lib

    notices = [_notice(f"n{i:05d}", at=NOW - i) for i in range(60)]
    for notice in notices:
        store.save(sync_redis, keys, notice, 7, NOW)
        store.schedule(sync_redis, keys, notice, 7)
    taken: list[list] = [[], []]

    def scheduler(index: int) -> None:
        client = redis_lib.Redis.from_url(redis_url, decode_responses=True)
        try:
            while got := store.claim_due(client, keys, NOW, limit=7):
                taken[index].extend(got)
        finally:
            client.close()

    threads = [threading.Thread(target=scheduler, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = sorted(i for i, _, _ in taken[0] + taken[1])
    assert ids == sorted(n.id for n in notices)
    assert sorted(args[0] for _, args, _ in _queued(sync_redis, keys)) == ids
