"""Order per destination with several worker processes (the outbox lanes reorder
what the workers finish out of order)."""

from __future__ import annotations

import pytest

from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn

from ..helpers import (
    DC_TOKEN,
    TG_TOKEN,
    bridge_env,
    serving,
    two_community_links,
    wait_until,
)
from .test_whole_path import ANNA, GUILD, KREFELD, LEICESTER

BURST = 30  # a Discord webhook takes 5 posts per 2 s: about 12 s


@pytest.mark.slow
async def test_a_burst_arrives_complete_once_and_in_order(tmp_path, procs, redis_url, prefix):
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(token=DC_TOKEN, guilds={GUILD: {"name": "Krefeld", "channels": {KREFELD: "x"}}})
    async with serving(telegram, discord):
        env = bridge_env(
            tmp_path,
            two_community_links(LEICESTER, KREFELD, krefeld_language="en"),
            redis_url,
            prefix,
            telegram,
            discord,
        )
        procs.start("worker-1", ["worker", "--concurrency", "2", "-n", "w1@%h"], env)
        procs.start("worker-2", ["worker", "--concurrency", "2", "-n", "w2@%h"], env)
        procs.start("run", ["run"], env)
        await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter")

        expected = [f"message {i:03d}" for i in range(BURST)]
        for text in expected:
            telegram.inject_message(LEICESTER, ANNA, text)

        def shown():
            return [t for _, t in discord.transcript(KREFELD)]

        await wait_until(lambda: len(shown()) >= BURST, 90, message=f"{BURST} posts")
        assert shown() == expected  # complete, once, in order
        # The shared limiter kept to the webhook's bucket: no 429 was provoked.
        assert discord.rate_limited_responses == 0
