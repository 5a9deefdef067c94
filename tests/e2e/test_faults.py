"""Delivery under faults, with real processes: the stand-ins count what each chat
finally shows. Figures are printed (pytest -s) for docs/reliability.md."""

from __future__ import annotations

import pytest

import os
import signal
import time

from ..helpers import serving, wait_until
from .test_whole_path import ANNA
from .twins import dc_channel, fleet_env, standins, tg_chat

PAIRS = 25
PER_CHAT = 20  # 25 × 20 = 500 messages


async def test_worker_killed_mid_burst_loses_nothing_doubles_nothing(tmp_path, procs, redis_url, prefix, keys, aredis):
    telegram, discord = standins(PAIRS)
    async with serving(telegram, discord):
        # Default settings: the killed worker's tasks run again within the visibility
        # timeout (15 s; live workers renew theirs), tests/faults/test_worker_recovery.py.
        env = fleet_env(tmp_path, PAIRS, redis_url, prefix, telegram, discord)
        first = procs.start("worker-1", ["worker", "--concurrency", "2", "-n", "w1@%h"], env)
        procs.start("run", ["run"], env)
        await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter")

        started = time.monotonic()
        for n in range(PER_CHAT):
            for i in range(PAIRS):
                telegram.inject_message(tg_chat(i), ANNA, f"m{n:02d}")
        # Kill -9 the worker (its pool too) while it is working through the burst.
        await wait_until(lambda: _processed(aredis, keys, 60), 60, message="the burst under way")
        os.killpg(first.pid, signal.SIGKILL)
        killed_at = await _processed(aredis, keys, 0)
        procs.start("worker-2", ["worker", "--concurrency", "2", "-n", "w2@%h"], env)

        def delivered():
            return sum(len(discord.transcript(dc_channel(i))) for i in range(PAIRS))

        try:
            await wait_until(lambda: delivered() >= PAIRS * PER_CHAT, 120, message="all 500 posts")
        except AssertionError:
            print("delivered", delivered(), await aredis.hgetall(keys.stats()))
            raise
        elapsed = time.monotonic() - started
        expected = [f"m{n:02d}" for n in range(PER_CHAT)]
        for i in range(PAIRS):
            shown = [text for _, text in discord.transcript(dc_channel(i))]
            assert shown == expected, f"channel {i}: {shown}"  # nothing lost, nothing twice, in order
        stats = await aredis.hgetall(keys.stats())
        print(
            f"\nFIGURES kill-9: 500 messages, worker killed after {killed_at} published; "
            f"tasks run again without effect: {stats.get('worker.already_published', 0)}; "
            f"ingress entries enqueued again: {stats.get('ingress.requeued', 0)}; "
            f"lost 0, doubled 0, out of order 0; all delivered in {elapsed:.1f}s"
        )


async def _processed(aredis, keys, at_least: int):
    value = int(await aredis.hget(keys.stats(), "worker.processed") or 0)
    return value if value >= at_least else 0


@pytest.mark.slow
async def test_429_for_30s_then_5xx_for_30s_delivers_everything_in_order(
    tmp_path, procs, redis_url, prefix, keys, aredis
):
    """Discord refuses webhook posts with 429 (retry_after 1 s) for 30 s, then with
    503 for 30 s. Everything arrives afterwards, once and in order, and the bridge
    waited as told instead of hammering the platform."""
    telegram, discord = standins(2)
    async with serving(telegram, discord):
        env = fleet_env(tmp_path, 2, redis_url, prefix, telegram, discord)
        procs.start("worker", ["worker", "--concurrency", "2"], env)
        procs.start("run", ["run"], env)
        await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter")

        discord.fail_for("POST /webhooks/*", 429, seconds=30, retry_after=1.0)
        discord.fail_for("POST /webhooks/*", 503, seconds=30, after=30)
        outage_ends = time.monotonic() + 60
        expected = [f"m{n:02d}" for n in range(10)]
        for text in expected:
            for i in range(2):
                telegram.inject_message(tg_chat(i), ANNA, text)

        def complete():
            return all(len(discord.transcript(dc_channel(i))) >= 10 for i in range(2))

        await wait_until(complete, 180, message="everything after the outage")
        recovered = time.monotonic() - outage_ends
        for i in range(2):
            assert [t for _, t in discord.transcript(dc_channel(i))] == expected
        webhook_posts = [r for r in discord.requests if r[1] == "POST" and "/webhooks/" in r[2]]
        # Told to wait 1 s per 429, two channels for 30 s: about 60 refused posts at most
        # (discord.py's own retry included), not a flood.
        assert discord.rate_limited_responses <= 2 * 30 * 2, discord.rate_limited_responses
        stats = await aredis.hgetall(keys.stats())
        print(
            f"\nFIGURES 429+5xx: 20 messages, 2 channels; 429s answered {discord.rate_limited_responses}, "
            f"webhook POSTs {len(webhook_posts)}; retries after 5xx {stats.get('discord.delivery.retried', 0)}; "
            f"dead letters {stats.get('discord.delivery.dead_lettered', 0)}; "
            f"complete {max(0.0, recovered):.1f}s after the outage ended; lost 0, doubled 0, out of order 0"
        )


GLOBAL_RETRY = 3.0  # seconds Discord's global 429 below asks for


async def test_a_global_429_from_discord_holds_every_channel_for_its_retry_after(tmp_path, procs, redis_url, prefix):
    """Discord's global limit is every channel's: after its 429 the other channels wait
    too (the per-bot bucket is paused, not only the channel's), instead of running into it."""
    telegram, discord = standins(2)
    async with serving(telegram, discord):
        env = fleet_env(tmp_path, 2, redis_url, prefix, telegram, discord)
        procs.start("worker", ["worker", "--concurrency", "2"], env)
        procs.start("run", ["run"], env)
        await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter")

        def shown(i: int) -> list[str]:
            return [text for _, text in discord.transcript(dc_channel(i))]

        # Webhooks made and connections open first: the flood's posts are one request each.
        for i in range(2):
            telegram.inject_message(tg_chat(i), ANNA, "warm")
        await wait_until(lambda: all(shown(i) == ["warm"] for i in range(2)), 90, message="the warm-up posts")

        mark = len(discord.requests)
        body = {"message": "You are being rate limited.", "retry_after": GLOBAL_RETRY, "global": True}
        discord.fail_next("POST /webhooks/*", 429, retry_after=GLOBAL_RETRY, body=body)
        telegram.inject_message(tg_chat(0), ANNA, "first")
        await wait_until(lambda: discord.rate_limited_responses >= 1, 60, message="the global 429")
        telegram.inject_message(tg_chat(1), ANNA, "second")
        await wait_until(
            lambda: shown(0) == ["warm", "first"] and shown(1) == ["warm", "second"], 90, message="both posts"
        )
        posts = [at for at, method, path, _ in discord.requests[mark:] if method == "POST" and "/webhooks/" in path]
        limited_at, *after = posts
        assert len(after) == 2  # the retry and the other channel's post, once each
        # Both waited out the retry_after (the stand-in's own clock; a busy machine only adds).
        assert min(after) - limited_at >= GLOBAL_RETRY - 0.1, [t - limited_at for t in after]
