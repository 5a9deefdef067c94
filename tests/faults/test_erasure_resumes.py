"""An erasure survives a worker killed with SIGKILL half-way: the next worker drives
it to the end (the erasure record says what was under way), and nothing is done
twice (each batch's deletes and index entries go in one transaction)."""

from __future__ import annotations

import json
import os
import signal

import pytest

from core import persons
from core.idmap import IdMap
from core.storage.keys import Keys
from core.models import Author, ChatRef, Command, EventKind, MessageRef, OutboundPost
from core.settings import Settings
from core.task_queue import PROCESS_COMMAND_TASK, TaskQueue
from workers import rights

from ..e2e.twins import dc_channel, pair_links, tg_chat
from ..helpers import wait_until

pytestmark = pytest.mark.integration

MESSAGES = 20_000  # enough for the erasure to take a while on this machine, so the kill lands half-way
ANNA = "telegram:5301"


def seed(sync_redis, keys: Keys) -> None:
    """What 20,000 relayed messages leave behind, written by the bridge's own functions."""
    idmap = IdMap(sync_redis, keys)
    destination = ChatRef("discord", str(dc_channel(0)))
    for start in range(0, MESSAGES, 2000):
        pipe = sync_redis.pipeline(transaction=False)
        for n in range(start, min(start + 2000, MESSAGES)):
            source = MessageRef("telegram", str(tg_chat(0)), str(n + 1))
            rights.note_crossed_into(pipe, keys, ANNA, "pair-0", source, 7)
            idmap.record_into(pipe, "pair-0", source, destination, [str(900000 + n)], 7)
        pipe.execute()


async def test_worker_killed_mid_erasure_the_next_one_finishes_it(
    tmp_path, procs, sync_redis, aredis, redis_url, prefix, keys
):
    config = tmp_path / "links.yaml"
    config.write_text(pair_links(1))
    env = {"TWINBRIDGE_CONFIG": str(config), "REDIS_URL": redis_url, "TWINBRIDGE_REDIS_PREFIX": prefix}
    seed(sync_redis, keys)
    person = persons.person(sync_redis, keys, ANNA)  # no pseudonym key: the install's stored salt
    job, authored = keys.erasure(person), keys.authored(ANNA)

    first = procs.start("worker", ["worker", "--concurrency", "1"], env)
    forgetme = Command(
        name="forgetme",
        args="",
        platform="telegram",
        chat_id="5301",
        message_id="77",
        user=Author(id="5301", display_name="Anna"),
        private=True,
    )
    tasks = TaskQueue.for_settings(Settings(redis_url=redis_url, redis_prefix=prefix))
    await tasks.push(aredis, PROCESS_COMMAND_TASK, [forgetme.to_dict()])

    # Kill -9 the worker (its pool too) once the erasure has begun and taken back some.
    await wait_until(
        lambda: sync_redis.exists(job) and sync_redis.zcard(authored) < MESSAGES,
        60,
        interval=0.005,
        message="the erasure under way",
    )
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(10)
    left = sync_redis.zcard(authored)
    assert sync_redis.exists(job) and 0 < left < MESSAGES, f"not killed half-way ({left} left)"

    procs.start("worker-2", ["worker", "--concurrency", "1", "-n", "w2@%h"], env)
    await wait_until(lambda: not sync_redis.exists(job), 120, message="the erasure finished by the next worker")
    assert sync_redis.zcard(authored) == 0
    assert sync_redis.exists(keys.erased(person))  # the tombstone (a hash, no platform id)
    # Every copy queued for deletion exactly once: none lost to the crash, none twice.
    deletes = [
        OutboundPost.from_dict(json.loads(fields["post"])) for _, fields in sync_redis.xrange(keys.outbox("discord"))
    ]
    deletes = [d for d in deletes if d.kind == EventKind.DELETE]
    assert sorted(int(d.source.message_id) for d in deletes) == list(range(1, MESSAGES + 1))
    assert "erased" in {f["action"] for _, f in sync_redis.xrange(keys.audit("pair-0"))}
    # No key names her (the copies' own keys go when the adapters have deleted them).
    assert [key for key in sync_redis.scan_iter(match=f"{prefix}*") if ANNA in key] == []
