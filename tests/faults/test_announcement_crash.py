"""A scheduled notice survives its scheduler and its worker being killed (issue 14): a
notice scheduled 20 s ahead fires exactly once after the worker and the scheduler are
both SIGKILLed and restarted before it is due.

Real `twinbridge run`, `worker`, `scheduler` and `announce` processes, real Redis; the
assertions are on what the Telegram and Discord stand-ins show.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from core.storage import announcements as store

from sandbox.translator import LibreTranslateStandIn

from ..e2e.twins import dc_channel, fleet_env, standins, tg_chat, translated_pair_links
from ..helpers import metric, scrape_metrics, serving, wait_until
from ..processes import free_port, run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

AHEAD = 20  # seconds between the announcement and when it is due
TEXT = "Jumble sale moved to the church hall"


def _shown(telegram, discord) -> tuple[int, int]:
    """How many copies of the notice each side shows."""
    on_telegram = sum(TEXT in text for _, text in telegram.transcript(tg_chat(0)))
    on_discord = sum(TEXT in text for _, text in discord.transcript(dc_channel(0)))
    return on_telegram, on_discord


@pytest.mark.slow
async def test_a_notice_fires_once_after_its_scheduler_and_worker_are_killed(
    tmp_path, procs, redis_url, prefix, keys, sync_redis
):
    telegram, discord = standins(1)
    async with serving(telegram, discord):
        env = fleet_env(tmp_path, 1, redis_url, prefix, telegram, discord, TWINBRIDGE_LOG_LEVEL="INFO")
        procs.start("run", ["run"], env)
        procs.start("worker", ["worker", "--concurrency", "1"], env)
        procs.start("scheduler", ["scheduler"], env)
        await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter")
        await wait_until(lambda: "ready" in procs.log("worker"), 60, message="the worker ready")
        await wait_until(lambda: "scheduler started" in procs.log("scheduler"), 30, message="the scheduler")

        result = run_cli(["announce", "--link", "pair-0", "--at", f"in {AHEAD}s", TEXT], env=env)
        assert result.returncode == 0, result.stderr
        (notice,) = store.of_link(sync_redis, keys, "pair-0", time.time())
        # Both killed (with their children: the worker's pool) and started again, before it is due.
        for name in ("worker", "scheduler"):
            os.killpg(procs.procs[name].pid, signal.SIGKILL)
            procs.procs[name].wait(10)
        procs.start("worker-again", ["worker", "--concurrency", "1"], env)
        procs.start("scheduler-again", ["scheduler"], env)
        restarted = time.time()
        assert restarted < notice.at, "restarted too late to prove anything"
        assert _shown(telegram, discord) == (0, 0)

        await wait_until(lambda: _shown(telegram, discord) == (1, 1), AHEAD + 60, message="the notice on both sides")
        shown_at = time.time()
        assert shown_at >= notice.at - 1  # not before it was due
        # Nothing more comes: the schedule is empty, nothing is left queued or held, and
        # a while later each side still shows it once.
        await wait_until(lambda: store.next_due(sync_redis, keys) is None, 10, message="the schedule empty")
        await wait_until(
            lambda: (
                not sync_redis.hlen(f"{prefix}celery:unacked") and not sync_redis.llen(f"{prefix}celery:moderation")
            ),
            30,
            message="nothing left queued or held",
        )
        assert store.load(sync_redis, keys, notice.id).state == "sent"
        assert _shown(telegram, discord) == (1, 1)
        print(
            f"\nFIGURES announcement crash: scheduled {AHEAD}s ahead, worker and scheduler SIGKILLed and restarted "
            f"{notice.at - restarted:.1f}s before due; shown on both sides {shown_at - notice.at:.1f}s after due, once"
        )


async def test_two_schedulers_side_by_side_show_each_notice_once(tmp_path, procs, redis_url, prefix, keys, sync_redis):
    telegram, discord = standins(1)
    async with serving(telegram, discord):
        env = fleet_env(tmp_path, 1, redis_url, prefix, telegram, discord, TWINBRIDGE_LOG_LEVEL="INFO")
        procs.start("run", ["run"], env)
        procs.start("worker", ["worker", "--concurrency", "1"], env)
        # Each scheduler serves its metrics (docs/operations.md, "Metrics").
        ports = [free_port(), free_port()]
        for n, port in enumerate(ports, 1):
            procs.start(f"scheduler-{n}", ["scheduler"], {**env, "TWINBRIDGE_METRICS_PORT": str(port)})
        await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter")
        await wait_until(lambda: "ready" in procs.log("worker"), 60, message="the worker ready")
        texts = [f"Notice number {n} for the twins" for n in range(5)]
        for text in texts:
            result = run_cli(["announce", "--link", "pair-0", "--at", "in 8s", text], env=env)
            assert result.returncode == 0, result.stderr

        def each_once() -> bool:
            shown = [t for _, t in telegram.transcript(tg_chat(0))], [t for _, t in discord.transcript(dc_channel(0))]
            return all(sum(text in t for t in side) == 1 for text in texts for side in shown)

        await wait_until(each_once, 60, message="each notice once on both sides")
        await wait_until(lambda: store.next_due(sync_redis, keys) is None, 10, message="the schedule empty")
        logs = procs.log("scheduler-1") + procs.log("scheduler-2")
        assert logs.count("handed to the fire task") == len(texts)
        assert not any(text in logs for text in texts)
        assert each_once()
        scraped = [await scrape_metrics(port) for port in ports]
        assert sum(metric(found, "twinbridge_scheduler_handed_over_total") for found in scraped) == len(texts)
        for found in scraped:
            assert metric(found, "twinbridge_scheduler_last_round_timestamp_seconds") > time.time() - 30
            assert metric(found, "twinbridge_redis_up") == 1
            assert metric(found, "twinbridge_queue_depth", queue="moderation") == 0


@pytest.mark.slow
async def test_a_notice_fires_once_when_its_worker_dies_while_firing_it(
    tmp_path, procs, redis_url, prefix, keys, sync_redis
):
    """Due while the translator holds every request: the worker has taken the firing and is
    inside its translation when it and the scheduler are SIGKILLed; restarted, the notice
    still shows once on each side."""
    telegram, discord = standins(1)
    libre = LibreTranslateStandIn()
    async with serving(telegram, discord, libre):
        env = fleet_env(
            tmp_path,
            1,
            redis_url,
            prefix,
            telegram,
            discord,
            LIBRETRANSLATE_URL=libre.url,
            TWINBRIDGE_VISIBILITY_TIMEOUT="6",
            TWINBRIDGE_LOG_LEVEL="INFO",
        )
        (tmp_path / "links.yaml").write_text(translated_pair_links(1))  # English in Telegram, German in Discord
        procs.start("run", ["run"], env)
        procs.start("worker", ["worker", "--concurrency", "1"], env)
        procs.start("scheduler", ["scheduler"], env)
        await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter")
        await wait_until(lambda: "ready" in procs.log("worker"), 60, message="the worker ready")
        libre.stall_forever()

        result = run_cli(["announce", "--link", "pair-0", "--at", "in 8s", TEXT], env=env)
        assert result.returncode == 0, result.stderr
        await wait_until(lambda: libre.requests, 60, message="the worker inside the notice's translation")
        for name in ("worker", "scheduler"):
            os.killpg(procs.procs[name].pid, signal.SIGKILL)
            procs.procs[name].wait(10)
        killed = time.time()
        assert _shown(telegram, discord)[0] == 0 and not discord.transcript(dc_channel(0))
        libre.unstall()
        procs.start("worker-again", ["worker", "--concurrency", "1"], env)
        procs.start("scheduler-again", ["scheduler"], env)

        def once_each() -> bool:
            return _shown(telegram, discord)[0] == 1 and len(discord.transcript(dc_channel(0))) == 1

        await wait_until(once_each, 90, message="the notice once on each side")
        shown_after = time.time() - killed
        await wait_until(
            lambda: (
                not sync_redis.hlen(f"{prefix}celery:unacked") and not sync_redis.llen(f"{prefix}celery:translation")
            ),
            30,
            message="nothing left queued or held",
        )
        assert once_each()
        print(f"\nFIGURES announcement worker killed mid-firing: shown once on each side {shown_after:.1f}s after kill")
