"""Delivery under faults, with real processes: the stand-ins count what each chat
finally shows. Figures are printed (pytest -s) for docs/reliability.md."""
from __future__ import annotations

import os
import signal
import time

from bridge.sandbox.discord_api import DiscordStandIn
from bridge.sandbox.telegram_api import TelegramStandIn

from ..helpers import wait_until
from .test_whole_path import ANNA, DC_TOKEN, TG_TOKEN

GUILD = 112233445566770000
PAIRS = 25
PER_CHAT = 20  # 25 × 20 = 500 messages


def tg_chat(i: int) -> int:
    return -1002000000000 - i


def dc_channel(i: int) -> int:
    return 112233445566700000 + i


def many_links() -> str:
    lines = ["version: 1", "communities:"]
    for i in range(PAIRS):
        lines += [f"  town{i}: {{name: Town {i}, language: en, chats: [{{telegram: {tg_chat(i)}}}]}}",
                  f"  twin{i}: {{name: Twin {i}, language: de, chats: [{{discord: {dc_channel(i)}}}]}}"]
    lines.append("links:")
    for i in range(PAIRS):
        lines.append(f"  - {{id: pair-{i}, communities: [town{i}, twin{i}], direction: both, policy: open}}")
    return "\n".join(lines) + "\n"


async def test_worker_killed_mid_burst_loses_nothing_doubles_nothing(tmp_path, procs, redis_url, prefix,
                                                                     keys, aredis):
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(token=DC_TOKEN, guilds={GUILD: {"name": "Twins", "channels": {
        dc_channel(i): f"twin-{i}" for i in range(PAIRS)}}})
    await telegram.start()
    await discord.start()
    try:
        config = tmp_path / "links.yaml"
        config.write_text(many_links())
        env = {
            "TWINBRIDGE_CONFIG": str(config), "REDIS_URL": redis_url, "TWINBRIDGE_REDIS_PREFIX": prefix,
            "TELEGRAM_BOT_TOKEN": TG_TOKEN, "TELEGRAM_API_URL": telegram.url,
            "DISCORD_BOT_TOKEN": DC_TOKEN, "DISCORD_API_URL": discord.api_url,
            "DISCORD_GATEWAY_URL": discord.gateway_url,
            "TWINBRIDGE_VISIBILITY_TIMEOUT": "6",  # so the test need not wait 5 minutes
        }
        first = procs.start("worker-1", ["worker", "--concurrency", "2", "-n", "w1@%h"], env)
        procs.start("run", ["run"], env)
        await wait_until(lambda: discord.identified.is_set(), 30, message="the Discord adapter")

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
        print(f"\nFIGURES kill-9: 500 messages, worker killed after {killed_at} published; "
              f"tasks run again without effect: {stats.get('worker.already_published', 0)}; "
              f"ingress entries enqueued again: {stats.get('ingress.requeued', 0)}; "
              f"lost 0, doubled 0, out of order 0; all delivered in {elapsed:.1f}s")
    finally:
        await telegram.stop()
        await discord.stop()


async def _processed(aredis, keys, at_least: int):
    value = int(await aredis.hget(keys.stats(), "worker.processed") or 0)
    return value if value >= at_least else 0
