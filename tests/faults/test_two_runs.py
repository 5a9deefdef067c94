"""Two `twinbridge run` processes for the same bots (a deployer started a second one, or a
rolling restart overlaps), with real processes: only one runs each platform's adapter,
the other stands by; when the active one is killed (SIGKILL) mid-burst the other takes
over its outbox: nothing lost, nothing shown twice, each chat in order."""

from __future__ import annotations

import os
import signal
import time

import pytest

from core.storage.keys import Keys

from ..e2e.test_whole_path import ANNA
from ..e2e.twins import dc_channel, fleet_env, standins, tg_chat
from ..helpers import serving, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PAIRS = 4
PER_CHAT = 20
LEASE = 4  # seconds (TWINBRIDGE_ADAPTER_LEASE): how long a dead holder keeps its platform


async def test_second_run_stands_by_and_takes_over_when_the_first_is_killed(
    tmp_path, procs, redis_url, prefix, keys, aredis
):
    telegram, discord = standins(PAIRS)
    async with serving(telegram, discord):
        env = fleet_env(tmp_path, PAIRS, redis_url, prefix, telegram, discord, TWINBRIDGE_ADAPTER_LEASE=str(LEASE))
        procs.start("worker", ["worker", "--concurrency", "2", "-n", "w1@%h"], env)
        first = procs.start("run-1", ["run"], env)
        await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter")
        second = procs.start("run-2", ["run"], env)
        await wait_until(
            lambda: procs.log("run-2").count("standing by") >= 2, 30, message="run-2 standing by for both platforms"
        )

        async def holders() -> set[str]:
            """The pids of the processes holding the platforms' leases ("" for none)."""
            held = [await aredis.get(keys.adapter_lease(p)) or "" for p in ("telegram", "discord")]
            return {h.split(":")[1] if h else "" for h in held}

        assert await holders() == {str(first.pid)}

        def shown(i: int) -> list[str]:
            return [text for _, text in discord.transcript(dc_channel(i))]

        def delivered() -> int:
            return sum(len(shown(i)) for i in range(PAIRS))

        for n in range(PER_CHAT // 2):
            for i in range(PAIRS):
                telegram.inject_message(tg_chat(i), ANNA, f"m{n:02d}")
        await wait_until(lambda: delivered() >= 2 * PAIRS, 60, message="the burst under way")
        for n in range(PER_CHAT // 2, PER_CHAT):
            for i in range(PAIRS):
                telegram.inject_message(tg_chat(i), ANNA, f"m{n:02d}")
        os.killpg(first.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        await wait_until(lambda: first.poll() is not None, 10, message="run-1 gone")
        delivered_at_kill = delivered()
        assert delivered_at_kill < PAIRS * PER_CHAT

        async def taken_over() -> bool:
            return await holders() == {str(second.pid)}

        # The promise (docs/operations.md, "More than one machine"): a stand-by takes over
        # within 30 s of the holder's death, measured from the kill.
        await wait_until(taken_over, 30, message="run-2 holding both platforms within 30 s of the kill")
        took_over_after = time.monotonic() - killed_at
        assert took_over_after <= 30
        # Held per bot token as well (a hash of it, outside the prefix): a deployment sharing
        # the token but not the prefix would stand by too.
        for platform, token in (("telegram", telegram.token), ("discord", discord.token)):
            held = await aredis.get(Keys.adapter_token_lease(platform, token)) or ""
            assert held.split(":")[1:2] == [str(second.pid)], platform

        async def settled() -> bool:
            if any(len(shown(i)) < PER_CHAT for i in range(PAIRS)) or telegram.pending_updates():
                return False
            async with aredis.pipeline(transaction=False) as pipe:
                pipe.xlen(keys.outbox("discord"))
                pipe.xlen(keys.ingress())
                pipe.llen(f"{prefix}celery:moderation")
                return not any(await pipe.execute())

        await wait_until(settled, 120, interval=0.1, message="every post, nothing in flight")
        complete_after = time.monotonic() - killed_at
        expected = [f"m{n:02d}" for n in range(PER_CHAT)]
        for i in range(PAIRS):
            assert shown(i) == expected, f"channel {i}: {shown(i)}"  # nothing lost, none twice, in order
        assert not telegram.sent()
        consumers = await aredis.xinfo_consumers(keys.outbox("discord"), "senders")
        assert [c["name"].split(":")[2] for c in consumers] == [str(second.pid)], consumers
        stats = await aredis.hgetall(keys.stats())
        print(
            f"\nFIGURES two runs (kill -9 of the active one): {PAIRS * PER_CHAT} messages ({PAIRS} Telegram groups "
            f"-> {PAIRS} Discord channels); delivered before the kill {delivered_at_kill}; lease {LEASE}s; "
            f"standby holding both platforms {took_over_after:.1f}s after the kill; complete "
            f"{complete_after:.1f}s after the kill; posts in flight found in history "
            f"{stats.get('discord.intent.found', 0)}, sent again {stats.get('discord.intent.not_found', 0)}; "
            f"lost 0, shown twice 0, out of order 0"
        )
