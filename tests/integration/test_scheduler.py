"""The scheduler's rounds against the real Redis (workers/scheduler.py): due entries are
handed over, and a fire task lost on its way to a worker is pushed again, once, under
its own id."""

from __future__ import annotations

import time

import pytest

from core.announcements import Announcement
from core.storage import announcements as store
from core.task_queue import MODERATION_QUEUE, TaskQueue, handed_over_id, task_arguments
from workers import scheduler as scheduler_module
from workers.scheduler import Scheduler

pytestmark = pytest.mark.integration


def _notice(at: float) -> Announcement:
    return Announcement(id="a7k2m9", link_id="pair", community="town", organiser="cli", text="Hi", language="en", at=at)


def _queue(keys) -> TaskQueue:
    return TaskQueue.for_prefix(keys.prefix, MODERATION_QUEUE)


def _task_ids(sync_redis, keys) -> list[str]:
    import json

    return [json.loads(raw)["headers"]["id"] for raw in sync_redis.lrange(_queue(keys).key, 0, -1)]


def test_a_round_hands_over_what_is_due_and_says_a_scheduler_runs(sync_redis, keys):
    now = time.time()
    notice = _notice(now + 30)
    store.save(sync_redis, keys, notice, 7, now)
    store.schedule(sync_redis, keys, notice, 7)
    clock = [now]
    scheduler = Scheduler(sync_redis, keys, clock=lambda: clock[0])
    assert not store.scheduler_running(sync_redis, keys)
    assert scheduler.run_once() == 0 and store.scheduler_running(sync_redis, keys)
    clock[0] = now + 30
    assert scheduler.run_once() == 1 and scheduler.run_once() == 0
    (raw,) = sync_redis.lrange(_queue(keys).key, 0, -1)
    assert task_arguments(raw)[1] == [notice.id, "fire"]


def test_a_lost_fire_task_is_pushed_again_once_under_its_id(sync_redis, keys, monkeypatch):
    monkeypatch.setattr(scheduler_module, "SWEEP_SECONDS", 1.0)
    now = time.time()
    store.save(sync_redis, keys, _notice(now), 7, now)
    store.enqueue_fire(sync_redis, keys, "a7k2m9")
    (task_id,) = _task_ids(sync_redis, keys)
    scheduler = Scheduler(sync_redis, keys)

    def sweep() -> int:
        sync_redis.delete(keys.announcement_sweep_lock())  # the next turn at once
        return scheduler.sweep()

    assert sweep() == 0  # queued: not lost
    # A worker took it and died before kombu noted it: it is nowhere.
    sync_redis.delete(_queue(keys).key)
    assert sweep() == 0  # seen missing once: maybe on its way
    assert sweep() == 1  # twice: pushed again, under the same id
    assert _task_ids(sync_redis, keys) == [task_id]
    assert sweep() == 0  # queued again
    # Held by a worker as the translation task it handed over: not lost either.
    sync_redis.delete(_queue(keys).key)
    sync_redis.hset(
        f"{keys.prefix}celery:unacked",
        "tag",
        f'[{{"headers": {{"id": "{handed_over_id(task_id)}"}}}}, "", "translation"]',
    )
    assert sweep() == 0 and sweep() == 0
    # Published (its marker retired): nothing to push, however long it is nowhere.
    sync_redis.delete(f"{keys.prefix}celery:unacked")
    store.retire_firing(sync_redis, keys, "a7k2m9", "fire")
    assert sweep() == 0 and sweep() == 0 and _task_ids(sync_redis, keys) == []


def test_a_fire_task_that_keeps_getting_lost_is_pushed_again_at_most_twice(sync_redis, keys):
    now = time.time()
    store.save(sync_redis, keys, _notice(now), 7, now)
    store.enqueue_fire(sync_redis, keys, "a7k2m9")
    scheduler = Scheduler(sync_redis, keys)
    pushed = 0
    for _ in range(10):
        sync_redis.delete(_queue(keys).key, keys.announcement_sweep_lock())
        pushed += scheduler.sweep()
    assert pushed == scheduler_module.REFIRES
