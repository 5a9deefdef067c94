"""`twinbridge scheduler` as real processes: two side by side hand each due notice over
once; SIGTERM stops one cleanly; it logs no text, in structured lines (issue 16)."""

from __future__ import annotations

import json
import signal
import time

import pytest

from core.announcements import Announcement
from core.storage import announcements as store
from core.task_queue import FIRE_ANNOUNCEMENT_TASK, MODERATION_QUEUE, TaskQueue, task_arguments

from ..helpers import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

NOTICES = 40
SECRET_TEXT = "Sommerfest im Stadtpark"


def _env(redis_url: str, prefix: str) -> dict[str, str]:
    return {"REDIS_URL": redis_url, "TWINBRIDGE_REDIS_PREFIX": prefix, "TWINBRIDGE_LOG_LEVEL": "DEBUG"}


def _fired(sync_redis, keys) -> list[list]:
    queue = TaskQueue.for_prefix(keys.prefix, MODERATION_QUEUE)
    found = [task_arguments(raw) for raw in sync_redis.lrange(queue.key, 0, -1)]
    assert all(task == FIRE_ANNOUNCEMENT_TASK for task, _, _ in found)
    return [args for _, args, _ in found]


async def test_two_schedulers_hand_each_notice_over_once(procs, redis_url, prefix, keys, sync_redis):
    env = _env(redis_url, prefix)
    procs.start("scheduler-1", ["scheduler"], env)
    procs.start("scheduler-2", ["scheduler"], env)
    await wait_until(
        lambda: "scheduler started" in procs.log("scheduler-1") and "scheduler started" in procs.log("scheduler-2"),
        30,
        message="both schedulers",
    )
    due = time.time() + 2
    for i in range(NOTICES):
        notice = Announcement(
            id=f"n{i:05d}", link_id="pair", community="town", organiser="cli", text=SECRET_TEXT, language="en", at=due
        )
        store.save(sync_redis, keys, notice, 7, time.time())
        store.schedule(sync_redis, keys, notice, 7)

    await wait_until(lambda: len(_fired(sync_redis, keys)) >= NOTICES, 30, message="every notice handed over")
    await wait_until(lambda: store.next_due(sync_redis, keys) is None, 10, message="the schedule empty")
    fired = _fired(sync_redis, keys)
    assert sorted(fired) == sorted([f"n{i:05d}", "fire"] for i in range(NOTICES))
    assert time.time() >= due

    # Each scheduler logs a hand-over after making it: under load the last lines come a
    # moment after the queue is full.
    def handed() -> int:
        return (procs.log("scheduler-1") + procs.log("scheduler-2")).count("handed to the fire task")

    await wait_until(lambda: handed() >= NOTICES, 15, message="a log line per hand-over")
    logs = procs.log("scheduler-1") + procs.log("scheduler-2")
    # Each entry handed over by one of them, once, and neither wrote the text anywhere.
    assert logs.count("handed to the fire task") == NOTICES
    assert SECRET_TEXT not in logs

    assert procs.stop("scheduler-1", signal.SIGTERM, timeout=10) == 0
    assert "scheduler stopped" in procs.log("scheduler-1")
    # Every line it wrote (stdout and stderr) is one JSON object (core/logging_setup.py).
    lines = [json.loads(line) for line in procs.log("scheduler-1").splitlines()]
    assert lines and all({"ts", "level", "logger", "msg"} <= line.keys() for line in lines)
