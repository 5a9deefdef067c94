"""An accept that a killed adapter left half-done (its seen marker still PENDING) against a
real Redis: the process now holding the platform's adapter lease takes it over at once,
instead of making the platform's redelivery (and its chat behind it) wait out the marker."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from bridge.ingress import PENDING_TTL, Ingress
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


def _queued_texts(messages: list[str]) -> list[str]:
    import base64

    return [json.loads(base64.b64decode(json.loads(m)["body"]))[0][0]["text"] for m in messages]


async def _dead_accept(aredis, keys, event: PlatformEvent, who: str) -> None:
    """What a process killed between its position and its store leaves behind."""
    await aredis.set(keys.seen(event.dedup_key), f"pending:{who}", ex=PENDING_TTL)
    await aredis.incr(keys.seq(event.source.chat.key))


async def test_the_lease_holder_takes_over_a_dead_processs_accept_at_once(aredis, keys, redis_url, prefix):
    queue = TaskQueue.for_settings(Settings(redis_url=redis_url, redis_prefix=prefix))
    await _dead_accept(aredis, keys, _event(1), "host:111:dead")
    await aredis.set(keys.adapter_lease("telegram"), "host:222:alive", ex=30)
    ingress = Ingress(aredis, keys, queue, identity="host:222:alive", leased=True)

    started = time.monotonic()
    assert await asyncio.wait_for(ingress.accept(_event(1)), timeout=PENDING_TTL / 3)
    assert time.monotonic() - started < PENDING_TTL / 3
    assert await ingress.accept(_event(2))
    assert _queued_texts(list(reversed(await aredis.lrange(queue.key, 0, -1)))) == ["m1", "m2"]
    assert await aredis.get(keys.seen(_event(1).dedup_key)) == "1"
    assert not await ingress.accept(_event(1))  # and it is accepted once
    assert await aredis.hget(keys.stats(), "ingress.pending_taken_over") == "1"


async def test_an_accept_under_way_elsewhere_is_waited_for_without_the_lease(aredis, keys, redis_url, prefix):
    """Without the lease (another process runs the adapter), the other process's accept may
    still finish: the marker is waited for, not taken."""
    queue = TaskQueue.for_settings(Settings(redis_url=redis_url, redis_prefix=prefix))
    await _dead_accept(aredis, keys, _event(1), "host:111:running")
    await aredis.set(keys.adapter_lease("telegram"), "host:111:running", ex=30)
    ingress = Ingress(aredis, keys, queue, identity="host:222:standby", leased=True)

    waiting = asyncio.ensure_future(ingress.accept(_event(1)))
    await asyncio.sleep(1.2)  # a few polls: it must still be waiting
    assert not waiting.done()
    await aredis.set(keys.seen(_event(1).dedup_key), "1")  # the other process stored it
    assert await asyncio.wait_for(waiting, timeout=5) is False
    assert await aredis.llen(queue.key) == 0


async def test_a_taken_over_accept_stores_nothing_when_it_finishes_late(aredis, keys, redis_url, prefix):
    """The process that lost the lease mid-accept must not store the event a second time
    after the new holder took it over."""
    queue = TaskQueue.for_settings(Settings(redis_url=redis_url, redis_prefix=prefix))
    old = Ingress(aredis, keys, queue, identity="host:111:old", leased=True)
    new = Ingress(aredis, keys, queue, identity="host:222:new", leased=True)
    event = _event(1)
    await aredis.set(keys.adapter_lease("telegram"), "host:111:old", ex=30)
    seq = await old._position(event.dedup_key, event.source.chat.key, 3600, "dup", "telegram")
    await aredis.set(keys.adapter_lease("telegram"), "host:222:new", ex=30)  # the lease moved
    assert await new.accept(event)
    data = event.with_seq(seq).to_dict()
    assert not await old._store_entry(
        event.dedup_key, event.source.chat.key, seq, 3600, data, "twinbridge.process_event", data, "telegram.accepted"
    )
    assert await aredis.llen(queue.key) == 1
    assert await aredis.xlen(keys.ingress()) == 1
    assert await aredis.hget(keys.stats(), "ingress.taken_over") == "1"


async def test_shutdown_drains_the_accepts_under_way_before_redis_is_closed(aredis, keys, redis_url, prefix):
    """Issue 16, item 5: `twinbridge run` stopping lets what its listeners were storing be
    stored (a Discord event is not delivered again), within a deadline; then nothing is left."""
    queue = TaskQueue.for_settings(Settings(redis_url=redis_url, redis_prefix=prefix))
    ingress = Ingress(aredis, keys, queue)
    assert await ingress.drain(0.1) == 0  # nothing under way: at once
    accepts = [asyncio.create_task(ingress.accept(_event(n))) for n in range(1, 41)]
    await asyncio.sleep(0)  # each has begun (the chat's lock taken in turn), none stored yet
    assert await aredis.llen(queue.key) < 40
    assert await ingress.drain(10) == 0
    assert all(task.done() and task.result() for task in accepts)
    assert _queued_texts(list(reversed(await aredis.lrange(queue.key, 0, -1)))) == [f"m{n}" for n in range(1, 41)]
