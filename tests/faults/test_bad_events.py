"""One bad event never stalls a platform, and a fresh Discord session catches up
(issue 12, item 7), through the real `twinbridge run` and `twinbridge worker`.

The stand-ins inject what real platforms occasionally send: a Telegram update
aiogram cannot parse, a Discord MESSAGE_CREATE with an ill-typed id and no author.
Assertions are on what the other platform's stand-in shows, and on the counters.
"""

from __future__ import annotations

import signal
import time

import pytest

from core.storage.keys import Keys
from core.stats import Stats

from ..e2e.test_whole_path import ANNA, MAX, standins, whole_path_env  # noqa: F401 - standins is a fixture
from ..e2e.test_whole_path import KREFELD, LEICESTER, MASAYA
from ..helpers import start_bridge, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

BURST = 10  # messages around the bad one, per platform


def shown_on_discord(discord) -> list[str]:
    return [text for _, text in discord.transcript(KREFELD) if text.startswith("tg ")]


def shown_on_telegram(telegram, chat=LEICESTER) -> list[str]:
    return [text.split(": ", 1)[-1] for _, text in telegram.transcript(chat) if "dc " in text]


async def stat(aredis, prefix, name) -> int:
    return (await Stats(aredis, Keys(prefix)).read()).get(name, 0)


async def test_a_bad_update_or_gateway_event_in_a_burst_stalls_nothing(
    tmp_path, procs, standins, redis_url, prefix, aredis
):
    telegram, discord = standins
    await start_bridge(procs, whole_path_env(tmp_path, redis_url, prefix, telegram, discord), telegram, discord)
    started = time.monotonic()

    half = BURST // 2
    for n in range(half):
        telegram.inject_message(LEICESTER, ANNA, f"tg {n}")
        discord.inject_message(KREFELD, MAX, f"dc {n}")
    telegram.inject_unparseable(LEICESTER, text="tg zebra-quokka")
    discord.inject_malformed_message(KREFELD, MAX, "dc narwhal-okapi")
    for n in range(half, BURST):
        telegram.inject_message(LEICESTER, ANNA, f"tg {n}")
        discord.inject_message(KREFELD, MAX, f"dc {n}")

    expected_tg = [f"tg {n}" for n in range(BURST)]
    expected_dc = [f"dc {n}" for n in range(BURST)]
    await wait_until(lambda: shown_on_discord(discord) == expected_tg, 90, message="Telegram's burst on Discord")
    await wait_until(lambda: shown_on_telegram(telegram) == expected_dc, 90, message="Discord's burst on Telegram")
    elapsed = time.monotonic() - started
    await wait_until(lambda: stat(aredis, prefix, "telegram.skipped.unparseable"), 20, message="the bad update counted")
    await wait_until(lambda: stat(aredis, prefix, "discord.skipped.malformed"), 20, message="the bad event counted")
    assert await stat(aredis, prefix, "telegram.skipped.unparseable") == 1
    assert await stat(aredis, prefix, "discord.skipped.malformed") == 1
    assert discord.sessions_started == 1, "the malformed event must not cost the gateway session"
    assert not any("zebra" in str(u) for u in telegram.pending_updates()), "the bad update is confirmed"
    assert "zebra" not in procs.log("run") and "narwhal" not in procs.log("run")  # no text in the logs
    print(
        f"\nbad events: {2 * BURST} messages around one bad update and one bad gateway event "
        f"relayed in order in {elapsed:.1f}s"
    )


async def test_discord_messages_written_while_the_adapters_were_dead_are_relayed(
    tmp_path, procs, standins, redis_url, prefix, aredis
):
    """A crash (SIGKILL of `twinbridge run`) costs the gateway session; the new one is
    fresh (IDENTIFY) and gets no replay: what was written meanwhile comes from history."""
    telegram, discord = standins
    env = whole_path_env(tmp_path, redis_url, prefix, telegram, discord)
    await start_bridge(procs, env, telegram, discord)
    discord.inject_message(KREFELD, MAX, "dc before")
    # In both twins before the kill: a post in flight at a kill may be shown twice (item 13, not this test's).
    await wait_until(
        lambda: shown_on_telegram(telegram) == shown_on_telegram(telegram, MASAYA) == ["dc before"],
        60,
        message="the first message",
    )

    # ... and recorded as delivered: shown but not yet recorded, it would be sent again after the kill, which is
    # that known limitation, not what this test is about (seen under heavy load as a second "dc before").
    async def both_recorded() -> bool:
        return await stat(aredis, prefix, "telegram.delivered.new") >= 2

    await wait_until(both_recorded, 30, message="the first message recorded in both twins")

    procs.stop("run", signal.SIGKILL)
    for n in range(5):
        discord.inject_message(KREFELD, MAX, f"dc while dead {n}")
    sessions = discord.sessions_started
    restarted = time.monotonic()
    procs.start("run-again", ["run"], env)
    await wait_until(lambda: discord.sessions_started > sessions, 60, message="a fresh session")
    discord.inject_message(KREFELD, MAX, "dc after")

    expected = ["dc before"] + [f"dc while dead {n}" for n in range(5)] + ["dc after"]
    await wait_until(lambda: shown_on_telegram(telegram) == expected, 90, message="the missed messages, in order")
    print(f"\ncatch-up after SIGKILL: 5 missed messages relayed {time.monotonic() - restarted:.1f}s after restart")
    await wait_until(
        lambda: shown_on_telegram(telegram, MASAYA) == expected,
        60,  # every twin, once each
        message="the missed messages in the other twin",
    )
    assert await stat(aredis, prefix, "discord.caught_up") >= 5
