"""Order per destination with several worker processes (the outbox lanes reorder
what the workers finish out of order)."""
from __future__ import annotations

from bridge.sandbox.discord_api import DiscordStandIn
from bridge.sandbox.telegram_api import TelegramStandIn

from ..helpers import wait_until
from .test_whole_path import ANNA, DC_TOKEN, GUILD, KREFELD, LEICESTER, MASAYA, TG_TOKEN, bridge_env

BURST = 40


async def test_a_burst_arrives_complete_once_and_in_order(tmp_path, procs, redis_url, prefix):
    telegram = TelegramStandIn(token=TG_TOKEN)
    # A roomy webhook bucket: this test is about order, not rate limits.
    discord = DiscordStandIn(token=DC_TOKEN, guilds={GUILD: {"name": "Krefeld", "channels": {KREFELD: "x"}}},
                             route_limit=(50, 1.0))
    await telegram.start()
    await discord.start()
    try:
        env = bridge_env(tmp_path, redis_url, prefix, telegram, discord)
        procs.start("worker-1", ["worker", "--concurrency", "2", "-n", "w1@%h"], env)
        procs.start("worker-2", ["worker", "--concurrency", "2", "-n", "w2@%h"], env)
        procs.start("run", ["run"], env)
        await wait_until(lambda: discord.identified.is_set(), 30, message="the Discord adapter")

        expected = [f"message {i:03d}" for i in range(BURST)]
        for text in expected:
            telegram.inject_message(LEICESTER, ANNA, text)

        def shown(chat):
            return [t for _, t in discord.transcript(chat)] if chat == KREFELD else \
                [t.split(": ", 1)[1] for _, t in telegram.transcript(chat)]

        await wait_until(lambda: len(shown(KREFELD)) >= BURST and len(shown(MASAYA)) >= BURST, 90,
                         message=f"{BURST} posts on each side")
        assert shown(KREFELD) == expected  # complete, once, in order
        assert shown(MASAYA) == expected
    finally:
        await telegram.stop()
        await discord.stop()
