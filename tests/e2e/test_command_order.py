"""A member's commands and messages are handled in the order they were written,
on both platforms, through the real adapters, worker and stand-ins: a message
sent right after /consent crosses, one sent right after /consent withdraw does
not (a Discord slash command, a Discord "/consent" message, a Telegram
command). The worker runs four tasks at a time, so a command and the message
after it really are handled in parallel unless the bridge orders them."""

from __future__ import annotations

import pytest

from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn

from ..helpers import DC_TOKEN, TG_TOKEN, bridge_env, serving, start_bridge, wait_until

pytestmark = pytest.mark.e2e

TOWN_TG = -1001000000021
GUILD = 112233445566770000
TWIN_DC = 112233445566778821
MEMBERS = 4

LINKS = f"""
version: 1
communities:
  leicester: {{name: Leicester, language: en, chats: [{{telegram: {TOWN_TG}}}]}}
  krefeld: {{name: Krefeld, language: en, chats: [{{discord: {TWIN_DC}}}]}}
links:
  - {{id: towns, communities: [leicester, krefeld], policy: careful}}
policies:
  careful: {{base: community, consent: opt_in}}
"""


def tg_member(k: int) -> dict:
    return {"id": 5100 + k, "is_bot": False, "first_name": f"Tom{k}"}


def dc_member(k: int) -> dict:
    return {"id": str(300000000000001000 + k), "username": f"kai{k}", "global_name": f"Kai{k}", "discriminator": "0"}


@pytest.fixture
async def world(tmp_path, procs, redis_url, prefix):
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(token=DC_TOKEN, guilds={GUILD: {"name": "Krefeld", "channels": {TWIN_DC: "twin"}}})
    async with serving(telegram, discord):
        env = bridge_env(tmp_path, LINKS, redis_url, prefix, telegram, discord)
        await start_bridge(procs, env, telegram, discord, concurrency=4)
        await wait_until(
            lambda: {c["name"] for c in discord.application_commands()} >= {"consent"},
            30,
            message="the slash commands registered",
        )
        yield telegram, discord
        procs.stop_all()


def on_telegram(telegram) -> list[str]:
    return [text for who, text in telegram.transcript(TOWN_TG) if who == "bot"]


def on_discord(discord) -> list[str]:
    return [p["content"] for p in discord.posts(TWIN_DC) if p.get("webhook_id")]


def consent_missing(sync_redis, prefix) -> int:
    return int(sync_redis.hget(f"{prefix}stats", "moderation.consent_missing") or 0)


async def test_a_message_right_after_consent_crosses_and_after_withdraw_does_not(world, sync_redis, prefix):
    telegram, discord = world
    # Consent, then at once a message: Discord slash commands, Discord "/consent"
    # messages, Telegram commands.
    for k in range(MEMBERS):
        member = dc_member(k)
        if k % 2:
            discord.inject_slash_command(member, TWIN_DC, "consent")
        else:
            discord.inject_message(TWIN_DC, member, "/consent")
        discord.inject_message(TWIN_DC, member, f"hello from discord {k}")
        telegram.inject_message(TOWN_TG, tg_member(k), "/consent")
        telegram.inject_message(TOWN_TG, tg_member(k), f"hello from telegram {k}")
    expected_tg = {f"hello from discord {k}" for k in range(MEMBERS)}
    expected_dc = {f"hello from telegram {k}" for k in range(MEMBERS)}
    await wait_until(
        lambda: (
            consent_missing(sync_redis, prefix) > 0
            or (
                all(any(e in t for t in on_telegram(telegram)) for e in expected_tg)
                and all(any(e in t for t in on_discord(discord)) for e in expected_dc)
            )
        ),
        60,
        message="every message written after /consent to cross",
    )
    assert consent_missing(sync_redis, prefix) == 0, "a message written after /consent was dropped"

    # Withdraw, then at once a message: it must not cross. A last message from a member
    # who still consents shows the chat went on past them.
    for k in range(MEMBERS):
        member = dc_member(k)
        if k % 2:
            discord.inject_slash_command(member, TWIN_DC, "consent", {"action": "withdraw"})
        else:
            discord.inject_message(TWIN_DC, member, "/consent withdraw")
        discord.inject_message(TWIN_DC, member, f"not to cross from discord {k}")
        telegram.inject_message(TOWN_TG, tg_member(k), "/consent withdraw")
        telegram.inject_message(TOWN_TG, tg_member(k), f"not to cross from telegram {k}")
    await wait_until(
        lambda: consent_missing(sync_redis, prefix) >= 2 * MEMBERS,
        60,
        message="every message after /consent withdraw gated",
    )
    discord.inject_slash_command(dc_member(9), TWIN_DC, "consent")
    discord.inject_message(TWIN_DC, dc_member(9), "last from discord")
    telegram.inject_message(TOWN_TG, tg_member(9), "/consent")
    telegram.inject_message(TOWN_TG, tg_member(9), "last from telegram")
    await wait_until(
        lambda: (
            any("last from discord" in t for t in on_telegram(telegram))
            and any("last from telegram" in t for t in on_discord(discord))
        ),
        60,
        message="the last messages",
    )
    assert consent_missing(sync_redis, prefix) == 2 * MEMBERS
    assert not any("not to cross" in t for t in on_telegram(telegram) + on_discord(discord))
