"""An event notice with a reminder, and a cancelled one, through the real `twinbridge run`,
`worker`, `scheduler` and `announce` processes (issue 14, item 4): the scheduler sends the
notice at its time and the reminder before the event, each once on both sides; `--list`
shows what is planned and `--cancel` keeps a notice and its reminder from ever going out.
Assertions are on what the Telegram and Discord stand-ins show."""

from __future__ import annotations

import re
import time

import pytest

from core.storage import announcements as store

from ..helpers import serving, wait_until
from ..processes import run_cli
from .twins import dc_channel, fleet_env, standins, tg_chat

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

KEPT, CANCELLED = "Lantern walk", "Choir rehearsal"


def _shown(telegram, discord, words: str) -> tuple[int, int]:
    """How many posts on each side carry ``words`` (the event's title is on the notice and its reminder)."""
    return (
        sum(words in text for _, text in telegram.transcript(tg_chat(0))),
        sum(words in text for _, text in discord.transcript(dc_channel(0))),
    )


def _reminders(telegram, discord) -> tuple[int, int]:
    return _shown(telegram, discord, "Reminder")


@pytest.mark.slow
async def test_the_scheduler_sends_a_notice_and_its_reminder_once_and_nothing_cancelled(
    tmp_path, procs, redis_url, prefix, keys, sync_redis
):
    telegram, discord = standins(1)
    async with serving(telegram, discord):
        env = fleet_env(tmp_path, 1, redis_url, prefix, telegram, discord)
        procs.start("run", ["run"], env)
        procs.start("worker", ["worker", "--concurrency", "1"], env)
        procs.start("scheduler", ["scheduler"], env)
        await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter")
        await wait_until(lambda: "scheduler started" in procs.log("scheduler"), 30, message="the scheduler")

        start = time.time() + 45
        iso = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(start))
        common = ["announce", "--link", "pair-0", "--at", "in 6s", "--event", "--start", iso, "--remind", "30s"]
        kept = run_cli([*common, "--title", KEPT, "Bring a lantern."], env=env)
        assert kept.returncode == 0, kept.stderr
        assert "will be sent" in kept.stdout and "Reminder 30" not in kept.stderr
        dropped = run_cli([*common, "--title", CANCELLED, "Room 4."], env=env)
        assert dropped.returncode == 0, dropped.stderr
        [dropped_id] = re.findall(r"--cancel (\w+)", dropped.stdout)

        listed = run_cli(["announce", "--list", "--link", "pair-0"], env=env)
        assert listed.returncode == 0 and KEPT in listed.stdout and CANCELLED in listed.stdout
        assert listed.stdout.count("scheduled") == 2, listed.stdout
        cancelled = run_cli(["announce", "--cancel", dropped_id], env=env)
        assert cancelled.returncode == 0 and f"Cancelled {dropped_id}" in cancelled.stdout

        await wait_until(lambda: _shown(telegram, discord, KEPT) == (1, 1), 60, message="the notice on both sides")
        assert _reminders(telegram, discord) == (0, 0)  # not before its time (start - 30 s)
        await wait_until(lambda: _reminders(telegram, discord) == (1, 1), 60, message="the reminder on both sides")
        assert time.time() >= start - 31
        # The reminder names the event again; the cancelled notice never went out.
        assert _shown(telegram, discord, KEPT) == (2, 2)
        await wait_until(lambda: store.next_due(sync_redis, keys) is None, 15, message="the schedule empty")
        assert _shown(telegram, discord, CANCELLED) == (0, 0)
        assert _reminders(telegram, discord) == (1, 1)
        after = run_cli(["announce", "--list", "--link", "pair-0"], env=env)
        assert re.search(rf"{dropped_id}\s+.*cancelled", after.stdout), after.stdout
