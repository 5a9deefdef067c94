"""Heartbeats (core/storage/heartbeats.py) against a real Redis: every key expires, a
stopped process's vanish at once, a dead one's within their TTL; `twinbridge run`'s
(bridge/liveness.py) and the threads' (core/liveness.py); `twinbridge health`."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from bridge.liveness import Liveness
from core.liveness import Heartbeat
from core.storage import heartbeats

from ..helpers import wait_until
from ..processes import free_port, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def test_a_heartbeat_expires_and_its_index_with_it(sync_redis, keys):
    heartbeats.beat(sync_redis, keys, heartbeats.WORKER, "host-a:11", since=100.0, about={"stage": "translation"})
    key = keys.heartbeat(heartbeats.WORKER, "host-a:11")
    assert 0 < sync_redis.ttl(key) <= heartbeats.TTL
    assert 0 < sync_redis.ttl(keys.heartbeats()) <= heartbeats.TTL
    assert heartbeats.TTL >= 3 * heartbeats.PERIOD  # two missed renewals are not a death
    [beat] = heartbeats.alive(sync_redis, keys)
    assert (beat.role, beat.host, beat.pid, beat.since, beat.about) == (
        heartbeats.WORKER,
        "host-a",
        11,
        100.0,
        {"stage": "translation"},
    )
    heartbeats.stop(sync_redis, keys, heartbeats.WORKER, "host-a:11")
    assert heartbeats.alive(sync_redis, keys) == []
    assert not sync_redis.exists(key)


async def test_a_process_that_stops_beating_is_gone_within_the_ttl(sync_redis, keys):
    heartbeats.beat(sync_redis, keys, heartbeats.SCHEDULER, "host-b:12", since=time.time(), ttl=1)
    heartbeats.beat(sync_redis, keys, heartbeats.WORKER, "host-c:13", since=time.time())
    assert sync_redis.pttl(keys.heartbeat(heartbeats.SCHEDULER, "host-b:12")) <= 1000
    await wait_until(
        lambda: [b.role for b in heartbeats.alive(sync_redis, keys)] == [heartbeats.WORKER], 5, message="expiry"
    )
    # Only the live one is left in the index too (pruned by the read).
    assert sync_redis.zrange(keys.heartbeats(), 0, -1) == [f"{heartbeats.WORKER}|host-c:13"]
    assert [b.host for b in heartbeats.alive(sync_redis, keys, role=heartbeats.WORKER, host="host-c")] == ["host-c"]
    assert heartbeats.alive(sync_redis, keys, role=heartbeats.WORKER, host="elsewhere") == []


async def test_run_beats_for_itself_and_for_each_connected_adapter(aredis, sync_redis, keys):
    stop = asyncio.Event()
    liveness = Liveness(aredis, keys, "host-d:14:abcd", period=0.2)
    task = asyncio.create_task(liveness.run(stop))
    run_key = keys.heartbeat(heartbeats.RUN, "host-d:14:abcd")
    await wait_until(lambda: aredis.exists(run_key), 5, message="the run heartbeat")
    assert 0 < await aredis.ttl(run_key) <= heartbeats.TTL
    await liveness.up("telegram")
    adapter_key = keys.heartbeat(heartbeats.adapter_role("telegram"), "host-d:14:abcd")
    assert 0 < await aredis.ttl(adapter_key) <= heartbeats.TTL
    first = {b.role: b for b in heartbeats.alive(sync_redis, keys)}
    assert set(first) == {heartbeats.RUN, "adapter.telegram"}
    # Renewed: `at` moves, `since` (connected since) does not.
    await wait_until(
        lambda: (
            next(b for b in heartbeats.alive(sync_redis, keys) if b.role == "adapter.telegram").at
            > first["adapter.telegram"].at
        ),
        5,
        message="a renewal",
    )
    again = {b.role: b for b in heartbeats.alive(sync_redis, keys)}
    assert again["adapter.telegram"].since == first["adapter.telegram"].since
    await liveness.down("telegram")
    assert [b.role for b in heartbeats.alive(sync_redis, keys)] == [heartbeats.RUN]
    await liveness.up("discord")
    stop.set()
    await asyncio.wait_for(task, 5)
    assert heartbeats.alive(sync_redis, keys) == []  # a stopped process says so at once


async def test_a_threads_heartbeat_is_renewed_until_stopped(sync_redis, keys):
    beat = Heartbeat(sync_redis, keys, heartbeats.WORKER, {"stage": "moderation"}, period=0.2).start()
    try:
        [first] = heartbeats.alive(sync_redis, keys)
        assert first.about == {"stage": "moderation"} and first.host == socket.gethostname()
        await wait_until(lambda: heartbeats.alive(sync_redis, keys)[0].at > first.at, 5, message="a renewal")
    finally:
        beat.stop()
    assert heartbeats.alive(sync_redis, keys) == []


def test_health_says_whether_this_hosts_process_beats_and_redis_answers(sync_redis, keys, redis_url, prefix):
    env = {"REDIS_URL": redis_url, "TWINBRIDGE_REDIS_PREFIX": prefix}
    missing = run_cli(["health", "--role", "worker"], env)
    assert missing.returncode == 1 and "unhealthy" in missing.stdout
    here = f"{socket.gethostname()}:4242"
    heartbeats.beat(sync_redis, keys, heartbeats.WORKER, "another-host:4242", since=time.time())
    assert run_cli(["health", "--role", "worker"], env).returncode == 1  # another host's is not ours
    heartbeats.beat(sync_redis, keys, heartbeats.WORKER, here, since=time.time())
    healthy = run_cli(["health", "--role", "worker"], env)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert run_cli(["health", "--role", "scheduler"], env).returncode == 1
    started = time.monotonic()
    dead = run_cli(["health", "--role", "worker"], {**env, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    assert dead.returncode == 1 and "Redis does not answer" in dead.stdout
    assert time.monotonic() - started < 10


async def test_the_scheduler_beats_while_it_runs_and_says_so_when_stopped(procs, sync_redis, keys, redis_url, prefix):
    env = {"REDIS_URL": redis_url, "TWINBRIDGE_REDIS_PREFIX": prefix}
    proc = procs.start("scheduler", ["scheduler"], env)
    await wait_until(lambda: heartbeats.alive(sync_redis, keys, role=heartbeats.SCHEDULER), 30, message="its beat")
    [beat] = heartbeats.alive(sync_redis, keys, role=heartbeats.SCHEDULER)
    assert beat.pid == proc.pid and beat.host == socket.gethostname()
    assert run_cli(["health", "--role", "scheduler"], env).returncode == 0
    assert procs.stop("scheduler") == 0
    assert heartbeats.alive(sync_redis, keys) == []  # deleted on the way out, not left to expire
    assert run_cli(["health", "--role", "scheduler"], env).returncode == 1
