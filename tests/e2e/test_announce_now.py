"""`twinbridge announce` without `--at` reaches every chat of the link with no scheduler
running, and running the same command again shows nothing twice (real `run`, `worker`
and `announce` processes; assertions on the stand-ins)."""

from __future__ import annotations

import time

import pytest

from core.storage import announcements as store

from ..helpers import serving, wait_until
from ..processes import run_cli
from .twins import dc_channel, fleet_env, standins, tg_chat

pytestmark = pytest.mark.timeout(180)

TEXT = "Coach to the twinning weekend leaves at 7 from the town hall"


def _shown(telegram, discord) -> tuple[int, int]:
    return (
        sum(TEXT in text for _, text in telegram.transcript(tg_chat(0))),
        sum(TEXT in text for _, text in discord.transcript(dc_channel(0))),
    )


async def test_a_notice_now_needs_no_scheduler_and_a_repeat_sends_nothing_twice(
    tmp_path, procs, redis_url, prefix, keys, sync_redis
):
    telegram, discord = standins(1)
    async with serving(telegram, discord):
        env = fleet_env(tmp_path, 1, redis_url, prefix, telegram, discord)
        procs.start("run", ["run"], env)
        procs.start("worker", ["worker", "--concurrency", "1"], env)
        await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter")
        assert not store.scheduler_running(sync_redis, keys)

        first = run_cli(["announce", "--link", "pair-0", TEXT], env=env)
        assert first.returncode == 0, first.stderr
        assert "on its way to 2 chat(s)" in first.stdout and "scheduler" not in first.stderr
        await wait_until(lambda: _shown(telegram, discord) == (1, 1), 60, message="the notice on both sides")
        (notice,) = store.of_link(sync_redis, keys, "pair-0", time.time())
        await wait_until(lambda: store.load(sync_redis, keys, notice.id).state == "sent", 10, message="sent")

        again = run_cli(["announce", "--link", "pair-0", TEXT], env=env)
        assert again.returncode == 0 and f"that notice is {notice.id} (sent)" in again.stdout
        listed = run_cli(["announce", "--list"], env=env)
        assert notice.id in listed.stdout and "sent" in listed.stdout and "Coach to the twinning" in listed.stdout
        await wait_until(
            lambda: (
                not sync_redis.llen(f"{prefix}celery:moderation") and not sync_redis.hlen(f"{prefix}celery:unacked")
            ),
            30,
            message="the workers idle",
        )
        assert _shown(telegram, discord) == (1, 1)
