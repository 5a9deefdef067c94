"""The ingress sweeper against a real Redis, without workers: what it takes for lost
(a task found neither queued nor held), and what it leaves alone."""

from __future__ import annotations

import json

import pytest

from bridge.ingress import Ingress, IngressSweeper
from core.models import Author, EventKind, MessageRef, PlatformEvent
from core.settings import Settings
from core.task_queue import TaskQueue

pytestmark = pytest.mark.integration


def _event(n: int) -> PlatformEvent:
    return PlatformEvent(
        kind=EventKind.NEW,
        source=MessageRef("telegram", "-1002", str(n)),
        author=Author(id="5001", display_name="Anna"),
        text=f"m{n}",
    )


def _task_id(message: str) -> str:
    return json.loads(message)["headers"]["id"]


async def test_only_a_task_found_nowhere_twice_is_enqueued_again_once(aredis, keys, redis_url, prefix):
    queue = TaskQueue.for_settings(Settings(redis_url=redis_url, redis_prefix=prefix))
    ingress = Ingress(aredis, keys, queue)
    for n in (1, 2, 3):
        await ingress.accept(_event(n))
    # Entry 1's task: taken by a worker that died before noting it (gone from the queue).
    # Entry 2's task: held by a worker (kombu's unacknowledged hash). Entry 3's: still queued.
    first, second, third = reversed(await aredis.lrange(queue.key, 0, -1))
    await aredis.delete(queue.key)
    await aredis.lpush(queue.key, third)
    await aredis.hset(queue.unacked_key, "tag-2", json.dumps([json.loads(second), "", "moderation"]))
    sweeper = IngressSweeper(aredis, keys, queue, grace=0, interval=0.01)

    assert await sweeper.sweep_once() == 0  # missing once: perhaps a worker is just taking it
    await aredis.delete(keys.ingress_sweep_lock())
    assert await sweeper.sweep_once() == 1  # missing twice: lost
    queued = await aredis.lrange(queue.key, 0, -1)
    assert sorted(map(_task_id, queued)) == sorted([_task_id(first), _task_id(third)])  # under its own id
    for _ in range(3):  # now queued again: found, never pushed a second time
        await aredis.delete(keys.ingress_sweep_lock())
        assert await sweeper.sweep_once() == 0
    assert await aredis.llen(queue.key) == 2
    assert int(await aredis.hget(keys.stats(), "ingress.requeued")) == 1


async def test_a_task_that_keeps_getting_lost_is_enqueued_again_only_after_a_pause(aredis, keys, redis_url, prefix):
    queue = TaskQueue.for_settings(Settings(redis_url=redis_url, redis_prefix=prefix))
    await Ingress(aredis, keys, queue).accept(_event(1))
    sweeper = IngressSweeper(aredis, keys, queue, grace=0, interval=0.01, pause=60)

    async def sweep() -> int:
        await aredis.delete(keys.ingress_sweep_lock())
        await aredis.delete(queue.key)  # each time, the task fails and is acknowledged at once
        return await sweeper.sweep_once()

    assert [await sweep() for _ in range(2)] == [0, 1]
    assert [await sweep() for _ in range(5)] == [0] * 5  # within the pause: not again
    sweeper.pause = 0
    assert await sweep() == 1  # after it


async def test_a_task_in_the_legacy_pipeline_list_or_handed_to_translation_is_not_lost(aredis, keys, redis_url, prefix):
    """An entry's task may wait in the list an older version pushed to (`pipeline`, still
    consumed by the moderation role) or, once moderated, in the translation queue under
    the derived id: neither is taken for lost."""
    from core.task_queue import LEGACY_PIPELINE_QUEUE, TRANSLATE_TASK, TRANSLATION_QUEUE, handed_over_id

    queue = TaskQueue.for_settings(Settings(redis_url=redis_url, redis_prefix=prefix))
    assert queue.key == f"{prefix}celery:moderation"
    ingress = Ingress(aredis, keys, queue)
    for n in (1, 2):
        await ingress.accept(_event(n))
    first, second = reversed(await aredis.lrange(queue.key, 0, -1))
    await aredis.delete(queue.key)
    await aredis.lpush(f"{prefix}celery:{LEGACY_PIPELINE_QUEUE}", first)
    translation = TaskQueue.for_settings(Settings(redis_url=redis_url, redis_prefix=prefix), TRANSLATION_QUEUE)
    await aredis.lpush(
        translation.key, translation.message(TRANSLATE_TASK, [{}, "in-flight", {}], handed_over_id(_task_id(second)))
    )
    sweeper = IngressSweeper(aredis, keys, queue, grace=0, interval=0.01)
    for _ in range(3):
        await aredis.delete(keys.ingress_sweep_lock())
        assert await sweeper.sweep_once() == 0
    assert await aredis.llen(queue.key) == 0
