"""The RSVP store (core/storage/rsvps.py) against a real Redis: one answer per member,
counts that follow a changed mind, per-community breakdown, the member's index for
/mydata and /forgetme, expiry of every key, and the version guard of the refresh."""

from __future__ import annotations

import json
import random
import threading
import time
from datetime import datetime

import pytest
import redis as redis_lib

from core.models import ChatRef, EventKind, MessageRef, OutboundPost
from core.storage import rsvps
from core.storage.keys import DAY
from core.task_queue import MODERATION_QUEUE, REFRESH_RSVP_TASK, TaskQueue, task_arguments

pytestmark = pytest.mark.integration

ANN = "a7k2m9"
ANNA, BEN, CARL = "p:" + "a" * 32, "p:" + "b" * 32, "p:" + "c" * 32
TTL = 3 * DAY


def test_the_same_answer_twice_counts_once(sync_redis, keys):
    assert rsvps.record(sync_redis, keys, ANN, ANNA, "leicester", "going", TTL) is True
    assert rsvps.record(sync_redis, keys, ANN, ANNA, "leicester", "going", TTL) is False
    assert rsvps.totals(sync_redis, keys, ANN) == {"going": 1, "maybe": 0, "cant": 0}


def test_a_changed_mind_moves_the_count(sync_redis, keys):
    rsvps.record(sync_redis, keys, ANN, ANNA, "leicester", "going", TTL)
    rsvps.record(sync_redis, keys, ANN, BEN, "krefeld", "going", TTL)
    assert rsvps.record(sync_redis, keys, ANN, ANNA, "leicester", "maybe", TTL) is True
    assert rsvps.totals(sync_redis, keys, ANN) == {"going": 1, "maybe": 1, "cant": 0}
    rsvps.record(sync_redis, keys, ANN, ANNA, "leicester", "cant", TTL)
    assert rsvps.totals(sync_redis, keys, ANN) == {"going": 1, "maybe": 0, "cant": 1}
    assert rsvps.breakdown(sync_redis, keys, ANN) == {
        "leicester": {"going": 0, "maybe": 0, "cant": 1},
        "krefeld": {"going": 1, "maybe": 0, "cant": 0},
    }


def test_breakdown_per_community_and_totals_across_them(sync_redis, keys):
    rsvps.record(sync_redis, keys, ANN, ANNA, "leicester", "going", TTL)
    rsvps.record(sync_redis, keys, ANN, BEN, "krefeld", "going", TTL)
    rsvps.record(sync_redis, keys, ANN, CARL, "masaya", "maybe", TTL)
    assert rsvps.totals(sync_redis, keys, ANN) == {"going": 2, "maybe": 1, "cant": 0}
    assert set(rsvps.breakdown(sync_redis, keys, ANN)) == {"leicester", "krefeld", "masaya"}
    # Answering again from another community's chat moves the member there.
    rsvps.record(sync_redis, keys, ANN, CARL, "krefeld", "maybe", TTL)
    assert rsvps.breakdown(sync_redis, keys, ANN) == {
        "leicester": {"going": 1, "maybe": 0, "cant": 0},
        "krefeld": {"going": 1, "maybe": 1, "cant": 0},
    }
    assert rsvps.totals(sync_redis, keys, "nobody-answered") == {"going": 0, "maybe": 0, "cant": 0}


def test_an_answer_older_than_the_one_recorded_is_not_recorded(sync_redis, keys):
    """Two presses of one member handled out of order (two workers): the later press stands."""
    now = time.time()
    assert rsvps.record(sync_redis, keys, ANN, ANNA, "leicester", "maybe", TTL, now=now) is True
    assert rsvps.record(sync_redis, keys, ANN, ANNA, "leicester", "going", TTL, now=now - 0.2) is False
    assert rsvps.totals(sync_redis, keys, ANN) == {"going": 0, "maybe": 1, "cant": 0}
    assert rsvps.record(sync_redis, keys, ANN, ANNA, "leicester", "cant", TTL, now=now + 0.1) is True
    assert rsvps.totals(sync_redis, keys, ANN) == {"going": 0, "maybe": 0, "cant": 1}


def test_an_unknown_choice_is_refused(sync_redis, keys):
    with pytest.raises(ValueError):
        rsvps.record(sync_redis, keys, ANN, ANNA, "leicester", "perhaps", TTL)


def test_every_key_expires_with_the_notice(sync_redis, keys, prefix):
    rsvps.record(sync_redis, keys, ANN, ANNA, "leicester", "going", TTL)
    rsvps.schedule_refresh(sync_redis, keys, ANN, 3, 5)
    rsvps.show(sync_redis, keys, ANN, 1, [], TTL)
    found = list(sync_redis.scan_iter(match=f"{prefix}*"))
    assert {keys.rsvp_choices(ANN), keys.rsvp_counts(ANN), keys.rsvps_of(ANNA), keys.rsvp_refresh(ANN)} <= set(found)
    for key in found:
        if key != keys.broker_prefix() + MODERATION_QUEUE:  # Celery's queue: the broker's
            assert 0 < sync_redis.ttl(key) <= TTL, key
    # The member's index lives as long as the longest-lived of their answers.
    rsvps.record(sync_redis, keys, "b1", ANNA, "leicester", "going", 10 * DAY)
    rsvps.record(sync_redis, keys, "b2", ANNA, "leicester", "going", 60)
    assert sync_redis.ttl(keys.rsvps_of(ANNA)) > 9 * DAY


def test_of_person_lists_the_members_answers(sync_redis, keys):
    rsvps.record(sync_redis, keys, ANN, ANNA, "leicester", "going", TTL, now=1000.0 + time.time())
    rsvps.record(sync_redis, keys, "b2", ANNA, "leicester", "cant", TTL, now=time.time())
    rsvps.record(sync_redis, keys, ANN, BEN, "krefeld", "maybe", TTL)
    mine = rsvps.of_person(sync_redis, keys, ANNA)
    assert [(r.announcement_id, r.choice, r.community) for r in mine] == [
        ("b2", "cant", "leicester"),
        (ANN, "going", "leicester"),
    ]
    assert rsvps.of_person(sync_redis, keys, CARL) == []


def test_an_expired_answer_is_not_listed(sync_redis, keys):
    rsvps.record(sync_redis, keys, ANN, ANNA, "leicester", "going", 60, now=time.time() - 120)
    assert rsvps.of_person(sync_redis, keys, ANNA) == []


def test_forget_takes_every_answer_back(sync_redis, keys, prefix):
    for i in range(rsvps.FORGET_BATCH + 5):  # more than one batch
        rsvps.record(sync_redis, keys, f"n{i}", ANNA, "leicester", "going", TTL)
    rsvps.record(sync_redis, keys, "n0", BEN, "krefeld", "maybe", TTL)
    _, before = rsvps.versioned_totals(sync_redis, keys, "n0")
    touched = rsvps.forget(sync_redis, keys, ANNA)
    assert sorted(touched) == sorted(f"n{i}" for i in range(rsvps.FORGET_BATCH + 5))
    totals, after = rsvps.versioned_totals(sync_redis, keys, "n0")
    assert totals == {"going": 0, "maybe": 1, "cant": 0}
    assert after > before  # the refresh shows the drop
    assert rsvps.of_person(sync_redis, keys, ANNA) == []
    # Nothing of Anna's left: no key names her, no value holds her person key.
    for key in sync_redis.scan_iter(match=f"{prefix}*"):
        assert ANNA not in key
        if sync_redis.type(key) == "hash":
            assert ANNA not in sync_redis.hgetall(key)
    assert rsvps.forget(sync_redis, keys, ANNA) == []  # twice is harmless


def test_concurrent_presses_count_each_member_once(redis_url, keys):
    """Many members press at once from many clients, some changing their mind several
    times: the counts are what their last answers say."""
    members = [f"p:{i:032x}" for i in range(60)]
    communities = ("leicester", "krefeld", "masaya")
    presses = {m: [random.choice(("going", "maybe", "cant")) for _ in range(random.randint(1, 4))] for m in members}
    where = {m: communities[i % 3] for i, m in enumerate(members)}
    lock = threading.Lock()
    last: dict[str, str] = {}

    def press(chunk: list[str]) -> None:
        client = redis_lib.Redis.from_url(redis_url, decode_responses=True)
        try:
            for member in chunk:
                for choice in presses[member]:
                    with lock:  # the order of one member's presses is the order recorded
                        rsvps.record(client, keys, ANN, member, where[member], choice, TTL)
                        last[member] = choice
                    time.sleep(0)
        finally:
            client.close()

    # Interleave: each thread gets members from the whole list.
    threads = [threading.Thread(target=press, args=(members[i::6],)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client = redis_lib.Redis.from_url(redis_url, decode_responses=True)
    try:
        expected = {c: sum(1 for m in members if last[m] == c) for c in ("going", "maybe", "cant")}
        assert rsvps.totals(client, keys, ANN) == expected
        by = rsvps.breakdown(client, keys, ANN)
        for community in communities:
            mine = [m for m in members if where[m] == community]
            assert by[community] == {c: sum(1 for m in mine if last[m] == c) for c in ("going", "maybe", "cant")}
    finally:
        client.close()


def test_concurrent_presses_without_a_lock(redis_url, keys):
    """The script is the only guard: threads pressing for the same members at once."""
    members = [f"p:{i:032x}" for i in range(40)]

    def press(choice: str) -> None:
        client = redis_lib.Redis.from_url(redis_url, decode_responses=True)
        try:
            for member in members:
                rsvps.record(client, keys, ANN, member, "leicester", choice, TTL)
        finally:
            client.close()

    threads = [threading.Thread(target=press, args=(c,)) for c in ("going", "maybe", "cant", "going")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client = redis_lib.Redis.from_url(redis_url, decode_responses=True)
    try:
        totals = rsvps.totals(client, keys, ANN)
        assert sum(totals.values()) == len(members)
        answers = {m: client.hget(keys.rsvp_choices(ANN), m).split("|")[0] for m in members}
        assert totals == {c: sum(1 for a in answers.values() if a == c) for c in ("going", "maybe", "cant")}
    finally:
        client.close()


def _edit(chat_id: str) -> OutboundPost:
    return OutboundPost(
        kind=EventKind.EDIT,
        link_id="towns",
        destination=ChatRef("telegram", chat_id),
        source=MessageRef("twinbridge", "announcements", ANN),
        sender="",
        community="Leicester",
        text="Summer fair",
        retention_days=3,
    )


def test_show_never_puts_older_counts_over_newer(sync_redis, keys):
    assert rsvps.show(sync_redis, keys, ANN, 2, [_edit("-100")], TTL) is True
    assert rsvps.show(sync_redis, keys, ANN, 1, [_edit("-100")], TTL) is False  # a late, older refresh
    assert rsvps.show(sync_redis, keys, ANN, 2, [_edit("-100")], TTL) is False  # the same version again
    assert rsvps.show(sync_redis, keys, ANN, 3, [_edit("-100"), _edit("-200")], TTL) is True
    assert sync_redis.xlen(keys.outbox("telegram")) == 3
    assert 0 < sync_redis.ttl(keys.outbox("telegram")) <= 3 * DAY


def test_one_refresh_is_scheduled_per_burst(sync_redis, keys):
    queue = TaskQueue.for_prefix(keys.prefix, MODERATION_QUEUE).key
    now = time.time()
    assert rsvps.schedule_refresh(sync_redis, keys, ANN, 3, 30, now=now) is True
    assert rsvps.schedule_refresh(sync_redis, keys, ANN, 3, 30) is False
    assert rsvps.schedule_refresh(sync_redis, keys, "other", 3, 30) is True
    rsvps.release_refresh(sync_redis, keys, ANN)
    assert rsvps.schedule_refresh(sync_redis, keys, ANN, 3, 30) is True
    messages = [json.loads(m) for m in sync_redis.lrange(queue, 0, -1)]
    assert len(messages) == 3
    first = messages[-1]
    assert task_arguments(first) == (REFRESH_RSVP_TASK, [ANN], {})
    assert datetime.fromisoformat(first["headers"]["eta"]).timestamp() == pytest.approx(now + 3, abs=0.01)
    assert 0 < sync_redis.ttl(keys.rsvp_refresh(ANN)) <= 30
