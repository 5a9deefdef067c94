"""Redis (with AOF, appendfsync always) restarted mid-flow: nothing accepted is lost.

The test owns its redis-server (its own port and data directory), stops it while messages are
on their way, injects more while it is down, starts it again on the same directory and port,
and checks what the Discord stand-in finally shows. The runner, the Celery worker and the
outbox consumer must reconnect by themselves. Figures are printed (pytest -s)."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid

import pytest
import redis.asyncio as aioredis

from core.storage.keys import Keys

from ..helpers import wait_until
from ..processes import free_port
from .test_whole_path import ANNA
from .twins import dc_channel, fleet_env, standins, tg_chat

PAIRS = 5
PER_CHAT = 12  # 5 × 12 = 60 messages
HALF = 8  # before the restart: more than a webhook bucket (5 per 2 s) lets out at once


class OwnRedis:
    """A redis-server of the test's own, with AOF fsynced on every write."""

    def __init__(self, binary: str, directory, port: int):
        self.binary, self.directory, self.port = binary, directory, port
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _spawn(self) -> subprocess.Popen:
        self.starts += 1
        with open(self.directory.parent / f"redis-{self.starts}.log", "wb") as log:
            return subprocess.Popen(
                [
                    self.binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    str(self.directory),
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "always",
                    "--save",
                    "",
                    "--protected-mode",
                    "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def start(self) -> None:
        """Start (again, on the same directory and port) and wait until it answers PING."""
        self.proc = self._spawn()
        client = aioredis.Redis.from_url(self.url, socket_connect_timeout=1)
        try:

            async def answers():
                if self.proc.poll() is not None:
                    raise AssertionError(f"redis-server exited with {self.proc.returncode}")
                try:
                    return await client.ping()
                except Exception:  # noqa: BLE001 - loading the AOF, or not listening yet
                    return False

            await wait_until(answers, 20, message="redis-server to answer PING")
        finally:
            await client.aclose()

    def stop(self) -> None:
        """SIGTERM: with appendfsync always, everything acknowledged is already on disk."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


async def test_redis_restarted_mid_flow_loses_nothing(tmp_path, procs):
    # Not the prefix/keys fixtures: they clean up in the shared test Redis, which this test does not use.
    prefix = f"tbtest:{uuid.uuid4().hex[:10]}:"
    keys = Keys(prefix)
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed: this test starts and restarts its own Redis")
    server = OwnRedis(binary, tmp_path / "redis", free_port())
    await server.start()
    aredis = aioredis.Redis.from_url(server.url, decode_responses=True)
    telegram, discord = standins(PAIRS)
    await telegram.start()
    await discord.start()
    try:
        env = fleet_env(tmp_path, PAIRS, server.url, prefix, telegram, discord, TWINBRIDGE_VISIBILITY_TIMEOUT="6")
        procs.start("worker", ["worker", "--concurrency", "2", "-n", "w1@%h"], env)
        procs.start("run", ["run"], env)
        await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter")

        def delivered():
            return sum(len(discord.transcript(dc_channel(i))) for i in range(PAIRS))

        started = time.monotonic()
        for n in range(HALF):
            for i in range(PAIRS):
                telegram.inject_message(tg_chat(i), ANNA, f"m{n:02d}")
        # Some (not all) of the first half on screen, then Redis goes away mid-flow.
        await wait_until(lambda: delivered() >= 5, 30, message="the first posts")
        accepted_before = int(await aredis.hget(keys.stats(), "telegram.accepted") or 0)
        server.stop()
        stopped_at = time.monotonic()
        shown_before = delivered()
        assert shown_before < PAIRS * HALF, "Redis should stop mid-flow, not after the first half was shown"
        await aredis.aclose()
        aredis = aioredis.Redis.from_url(server.url, decode_responses=True)  # read at the end

        for n in range(HALF, PER_CHAT):
            for i in range(PAIRS):
                telegram.inject_message(tg_chat(i), ANNA, f"m{n:02d}")
        # Let every process notice the outage (reconnect attempts fail) before Redis returns.
        await wait_until(lambda: time.monotonic() - stopped_at > 5, 10, message="the outage")
        await server.start()
        restarted_at = time.monotonic()
        downtime = restarted_at - stopped_at

        try:
            await wait_until(
                lambda: all(len(discord.transcript(dc_channel(i))) >= PER_CHAT for i in range(PAIRS)),
                60,
                message=f"{PER_CHAT} posts in each channel",
            )
        except AssertionError:
            print("delivered", delivered(), await aredis.hgetall(keys.stats()))
            for i in range(PAIRS):
                print(i, [text for _, text in discord.transcript(dc_channel(i))])
            await _dump(aredis, keys, prefix)
            raise
        recovered = time.monotonic() - restarted_at
        # A little longer, so that a post shown twice would be seen.
        await wait_until(lambda: time.monotonic() - restarted_at - recovered > 2, 5, message="a settle time")
        expected = [f"m{n:02d}" for n in range(PER_CHAT)]
        stats = await aredis.hgetall(keys.stats())
        shown = {i: [text for _, text in discord.transcript(dc_channel(i))] for i in range(PAIRS)}
        wrong = {i: texts for i, texts in shown.items() if texts != expected}
        assert not wrong, f"lost, doubled or out of order: {wrong}; stats {stats}"
        accepted = int(stats.get("telegram.accepted", 0))
        print(
            f"\nFIGURES redis-restart: {PAIRS * PER_CHAT} messages ({PAIRS * HALF} sent before the stop, "
            f"{accepted_before} accepted and {shown_before} shown when Redis stopped); accepted in all {accepted}; "
            f"Redis down {downtime:.1f}s; "
            f"all delivered {recovered:.1f}s after it came back ({time.monotonic() - started:.1f}s in all); "
            f"ingress requeued {stats.get('ingress.requeued', 0)}, tasks run again without effect "
            f"{stats.get('worker.already_published', 0)}; lost 0, doubled 0, out of order 0"
        )
    finally:
        await aredis.aclose()
        await telegram.stop()
        await discord.stop()
        procs.stop_all()
        server.stop()


async def _dump(aredis, keys, prefix) -> None:
    """What Redis holds when the posts did not all arrive (printed on failure)."""
    stream = keys.outbox("discord")
    print("outbox", stream, "len", await aredis.xlen(stream))
    try:
        print("groups", await aredis.xinfo_groups(stream))
        print("consumers", await aredis.xinfo_consumers(stream, "senders"))
    except Exception as exc:  # noqa: BLE001
        print("xinfo", exc)
    print("ingress len", await aredis.xlen(keys.ingress()))
    async for key in aredis.scan_iter(match=f"{prefix}*", count=1000):
        kind = await aredis.type(key)
        value = await aredis.get(key) if kind == "string" else kind
        if "seen" not in key and "delivered" not in key:
            print(" ", key, value)
