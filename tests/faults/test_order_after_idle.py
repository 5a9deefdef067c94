"""Per-chat order survives a long idle period (issue 12, item 12): a source chat's
sequence counter and its delivery cursors expire together.

Days of idle are simulated by moving every key's expiry closer by that much (what
Redis would have done meanwhile), not by waiting. The adapters keep running through
the "idle", as they would.
"""

from __future__ import annotations

import textwrap

import pytest

from core.models import ChatRef
from sandbox.translator import LibreTranslateStandIn

from ..e2e.test_whole_path import ANNA
from ..e2e.twins import dc_channel, fleet_env, standins, tg_chat
from ..helpers import serving, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

DAY = 86400
# Retention 30 days (the community default); the sequence counter lived 7 days at most.
LINKS = """
version: 1
communities:
  town: {name: Town, language: en, chats: [{telegram: -1002000000000}]}
  twin: {name: Twin, language: de, chats: [{discord: 112233445566700000}]}
links:
  - {id: pair, communities: [town, twin], policy: pair}
policies:
  pair: {base: community, translation: [libre]}
"""


async def _pass_time(aredis, prefix: str, seconds: int) -> int:
    """Every key of this test's prefix that expires: as if ``seconds`` had passed. Returns how many expired."""
    expired = 0
    async for key in aredis.scan_iter(match=f"{prefix}*", count=1000):
        left = await aredis.pttl(key)
        if left < 0:
            continue  # no expiry (configuration-like, or Celery's own keys)
        if left <= seconds * 1000:
            expired += await aredis.delete(key)
        else:
            await aredis.pexpire(key, left - seconds * 1000)
    return expired


async def test_order_holds_after_the_counter_and_cursor_expired(tmp_path, procs, redis_url, prefix, keys, aredis):
    telegram, discord = standins(1)
    libre = LibreTranslateStandIn()
    async with serving(telegram, discord, libre):
        env = fleet_env(tmp_path, 1, redis_url, prefix, telegram, discord, LIBRETRANSLATE_URL=libre.url)
        (tmp_path / "links.yaml").write_text(textwrap.dedent(LINKS))
        procs.start("worker", ["worker", "--concurrency", "2"], env)
        procs.start("run", ["run"], env)
        await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter")

        def shown():
            return [text for _, text in discord.transcript(dc_channel(0))]

        for text in ("thank you", "goodbye", "good night"):
            telegram.inject_message(tg_chat(0), ANNA, text)
        await wait_until(lambda: len(shown()) >= 3, 60, message="the first three posts")

        source = ChatRef("telegram", str(tg_chat(0))).key
        destination = ChatRef("discord", str(dc_channel(0))).key
        counter, cursor = keys.seq(source), keys.cursor(destination, source)
        assert await aredis.get(counter) == "3" and await aredis.get(cursor) == "3"
        ttls = (await aredis.ttl(counter), await aredis.ttl(cursor))
        print(f"\nFIGURES idle: TTL of the counter {ttls[0]}s, of the cursor {ttls[1]}s")
        assert abs(ttls[0] - ttls[1]) <= 60, ttls  # they expire together

        # Eight days without a message.
        await _pass_time(aredis, prefix, 8 * DAY)
        assert not await aredis.exists(counter) and not await aredis.exists(cursor)

        # The chat speaks again: the first message is slow (its translation takes 3 s),
        # the second fast. The lane must wait for the first, as it would have before.
        libre.stall(3, count=1)
        telegram.inject_message(tg_chat(0), ANNA, "good morning")
        await wait_until(lambda: libre.requests[3:], 30, message="the slow translation under way")
        telegram.inject_message(tg_chat(0), ANNA, "hello")
        await wait_until(lambda: len(shown()) >= 5, 60, message="both posts after the idle")
        after = shown()[3:]
        assert "guten Morgen" in after[0] and "hallo" in after[1].lower(), after
        assert await aredis.get(counter) == "2"
        # The cursor is written right after the post is on the platform (the stand-in may
        # show it a moment before the adapter records it).
        await wait_until(lambda: _equals(aredis, cursor, "2"), 10, message="the cursor at 2")


async def _equals(aredis, key: str, value: str) -> bool:
    return await aredis.get(key) == value
