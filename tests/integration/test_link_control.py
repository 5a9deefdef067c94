"""Organisers' link control and link activity in Redis (core/storage/link_control.py,
link_activity.py): a command run twice changes nothing the second time, a pause with a
duration expires with it, one without stays (configuration-like), counters expire."""

from __future__ import annotations

import time

import pytest

from core.storage import link_activity, link_control
from core.storage.keys import Keys

pytestmark = pytest.mark.integration


def test_pause_and_resume_are_idempotent_per_command(sync_redis, keys):
    now = time.time()
    first = link_control.pause(sync_redis, keys, "towns", "cmd:a", now + 3600, now)
    # The same command run again (its task retried a minute later) finds its own pause.
    again = link_control.pause(sync_redis, keys, "towns", "cmd:a", now + 3660, now + 60)
    assert again == first and first.until == pytest.approx(now + 3600)
    assert 3590 < sync_redis.ttl(keys.link_pause("towns")) <= 3600
    assert link_control.paused(sync_redis, keys, "towns") == first
    assert link_control.paused_links(sync_redis, keys, ["towns", "other"]) == {"towns": first}

    # Another organiser's /pause replaces it: until /resume, no expiry.
    assert link_control.pause(sync_redis, keys, "towns", "cmd:b").open_ended
    assert sync_redis.ttl(keys.link_pause("towns")) == -1

    assert link_control.resume(sync_redis, keys, "towns", "cmd:c")
    assert link_control.resume(sync_redis, keys, "towns", "cmd:c")  # run again: the same answer
    assert not link_control.resume(sync_redis, keys, "towns", "cmd:d")  # another: it was not paused
    assert link_control.paused(sync_redis, keys, "towns") is None
    assert 0 < sync_redis.ttl(keys.link_pause("towns")) <= 86400  # the "resumed" record goes after a day


def test_a_pause_over_is_no_pause(sync_redis, keys):
    now = time.time()
    link_control.pause(sync_redis, keys, "towns", "cmd:a", now + 100, now)
    assert link_control.paused(sync_redis, keys, "towns", now=now + 101) is None


def test_activity_counts_a_week_per_direction(sync_redis, keys):
    day = 86400
    now = time.time()
    pipe = sync_redis.pipeline(transaction=False)
    link_activity.note_relayed_into(pipe, keys, "towns", "leicester", 30, now - 8 * day)  # too old
    link_activity.note_relayed_into(pipe, keys, "towns", "leicester", 30, now - 2 * day)
    link_activity.note_relayed_into(pipe, keys, "towns", "leicester", 30, now)
    link_activity.note_relayed_into(pipe, keys, "school", "year8", 7, now)
    pipe.execute()
    found = link_activity.activity(sync_redis, keys, "towns", ["leicester", "krefeld"], now)
    assert found == {"leicester": (pytest.approx(now, abs=0.01), 2), "krefeld": (0.0, 0)}
    for key in sync_redis.scan_iter(match=f"{keys.prefix}link:*"):
        limit = 7 * day if ":school:" in key else Keys.LINK_ACTIVITY_TTL  # never past the link's retention
        assert limit - 5 < sync_redis.ttl(key) <= limit
