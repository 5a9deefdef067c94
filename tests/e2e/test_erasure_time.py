"""How long erasure takes for a member with 1,000 relayed messages (Telegram -> Discord),
through the real worker and adapters: the figures go in docs/privacy.md ("What erasure
removes, and how long it takes"). The platforms' pacing is lifted (the stand-in's
route buckets and the bridge's own limiter, TWINBRIDGE_RATE_LIMITS=off) so that what
is measured is the bridge's work; on real Discord each delete waits its turn in the
channel's bucket (about 5 per 2 s). No timing is asserted: only that it all ends."""

from __future__ import annotations

import time

import pytest

from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn

from ..helpers import start_bridge, wait_until
from ..processes import run_cli
from ..security.traces import redis_traces, standin_traces
from .twins import GUILD, dc_channel, fleet_env, tg_chat
from .test_whole_path import DC_TOKEN, TG_TOKEN

pytestmark = pytest.mark.e2e

MESSAGES = 1000
ANNA = {"id": 8310000077, "is_bot": False, "first_name": "Quillon", "last_name": "Vesperine", "username": "qv_erase"}


@pytest.mark.slow
def no_trace(redis_url, prefix, telegram, discord, needles):
    found = redis_traces(redis_url, needles, prefix) + standin_traces(telegram, discord, needles)
    return True if not found else _NotYet(found)


class _NotYet(str):
    """A falsy value whose repr names the traces, for wait_until's timeout message."""

    def __new__(cls, found):
        obj = super().__new__(cls, "")
        obj.found = found
        return obj

    def __repr__(self) -> str:
        return f"traces left: {self.found[:10]!r}"


async def test_erasing_a_member_with_1000_relayed_messages(tmp_path, procs, redis_url, prefix, sync_redis):
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(
        token=DC_TOKEN,
        guilds={GUILD: {"name": "Twins", "channels": {dc_channel(0): "twin-0"}}},
        route_limit=(100000, 1.0),
    )
    for server in (telegram, discord):
        await server.start()
    try:
        env = fleet_env(tmp_path, 1, redis_url, prefix, telegram, discord, TWINBRIDGE_RATE_LIMITS="off")
        await start_bridge(procs, env, telegram, discord)
        telegram.start_private(ANNA)
        for n in range(MESSAGES):
            telegram.inject_message(tg_chat(0), ANNA, f"Quillon's note {n:04d}")

        def copies():
            return [p for p in discord.posts(dc_channel(0)) if p.get("webhook_id") and not p.get("deleted")]

        await wait_until(lambda: len(copies()) >= MESSAGES, 600, interval=0.5, message="1,000 relayed copies")

        started = time.monotonic()
        telegram.inject_message(ANNA["id"], ANNA, "/forgetme")
        await wait_until(
            lambda: any("your data is erased" in m["text"] for m in telegram.private_messages(ANNA["id"])),
            120,
            interval=0.05,
            message="the erasure's answer",
        )
        answered = time.monotonic() - started
        await wait_until(lambda: not copies(), 600, interval=0.2, message="every copy deleted")
        deleted = time.monotonic() - started
        needles = [str(ANNA["id"]), ANNA["first_name"], ANNA["last_name"], ANNA["username"], "Quillon's note"]
        await wait_until(
            lambda: no_trace(redis_url, prefix, telegram, discord, needles),
            120,
            interval=1.0,
            message="no trace left",
        )
        clean = time.monotonic() - started
        print(
            f"\nERASURE {MESSAGES} messages: answered after {answered:.2f} s, copies deleted after {deleted:.1f} s, "
            f"no trace after {clean:.1f} s; stats {sync_redis.hgetall(f'{prefix}stats')}"
        )
    finally:
        procs.stop_all()
        for server in (telegram, discord):
            await server.stop()


@pytest.mark.slow
async def test_erasing_1000_telegram_copies_in_one_group_with_the_rate_limits_on(
    tmp_path, procs, redis_url, prefix, sync_redis
):
    """Discord -> Telegram: 1,000 copies of one member's messages in one Telegram group,
    erased with the platforms' pacing on (the bridge's limiter: Telegram's 20 requests per
    minute per group, 1 per second per chat; the stand-in enforcing them on sends). The
    copies are made with the pacing lifted (1,000 sends would take 50 minutes), then the
    adapters restart with it on for the erasure. Deletes go as deleteMessages, up to 100
    ids a request: about 10 requests, where one deleteMessage per copy at 20 a minute took
    50 minutes."""
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(
        token=DC_TOKEN,
        guilds={GUILD: {"name": "Twins", "channels": {dc_channel(0): "twin-0"}}},
        route_limit=(100000, 1.0),
    )
    member = {
        "id": "300000000000000881",
        "username": "ovidia.quell",
        "global_name": "Ovidia Quellmore",
        "discriminator": "0",
    }
    for server in (telegram, discord):
        await server.start()
    try:
        env = fleet_env(tmp_path, 1, redis_url, prefix, telegram, discord, TWINBRIDGE_RATE_LIMITS="off")
        await start_bridge(procs, env, telegram, discord)
        for n in range(MESSAGES):
            discord.inject_message(dc_channel(0), member, f"Ovidia's note {n:04d}")

        def copies():
            return [m for m in telegram.bot_messages() if m["chat"]["id"] == tg_chat(0)]

        await wait_until(lambda: len(copies()) >= MESSAGES, 900, interval=0.5, message="1,000 relayed copies")

        # The adapters again, now with the platforms' pacing on (the default), and the
        # stand-in answering sends over Telegram's limits with 429.
        procs.stop("run")
        telegram.enforce_limits = True
        paced = {k: v for k, v in env.items() if k != "TWINBRIDGE_RATE_LIMITS"}
        procs.start("run", ["run"], paced)
        await wait_until(
            lambda: any(m == "getUpdates" for _, m, _ in telegram.requests[-50:]),
            30,
            message="the Telegram adapter to poll again",
        )
        deletes_before = sum(1 for _, m, _ in telegram.requests if m.lower().startswith("deletemessage"))

        started = time.monotonic()
        forgot = run_cli(["forget", "--user", f"discord:{member['id']}"], env=paced, timeout=300)
        assert forgot.returncode == 0, forgot.stderr
        answered = time.monotonic() - started
        await wait_until(lambda: not copies(), 600, interval=0.2, message="every Telegram copy deleted")
        deleted = time.monotonic() - started
        calls = [m.lower() for _, m, _ in telegram.requests if m.lower().startswith("deletemessage")][deletes_before:]
        needles = [member["id"], member["username"], member["global_name"], "Ovidia's note"]
        await wait_until(
            lambda: no_trace(redis_url, prefix, telegram, discord, needles),
            120,
            interval=1.0,
            message="no trace left",
        )
        clean = time.monotonic() - started
        print(
            f"\nERASURE {MESSAGES} Telegram copies in one group, pacing on: forget returned after {answered:.2f} s, "
            f"copies deleted after {deleted:.1f} s ({calls.count('deletemessages')} deleteMessages, "
            f"{calls.count('deletemessage')} deleteMessage requests), no trace after {clean:.1f} s; "
            f"429s from the stand-in: {telegram.rate_limited_responses}"
        )
        assert calls.count("deletemessage") == 0 and calls.count("deletemessages") <= MESSAGES // 100 + 2
    finally:
        procs.stop_all()
        for server in (telegram, discord):
            await server.stop()
