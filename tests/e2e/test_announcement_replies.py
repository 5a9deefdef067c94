"""An announcement's copies are ordinary relayed messages to the rest of the bridge: their
synthetic source (MessageRef("twinbridge", "announcements", ID), seq 0) goes through the
outbox lanes, the id map and the delivery markers like a member's message, so a member who
replies to the notice on one platform is shown replying to the notice's copy on every other.
Real `twinbridge worker` and `twinbridge run` against the stand-ins."""

from __future__ import annotations

import time

import pytest

from core.announcements import Announcement, EventDetails
from core.storage import announcements
from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn

from ..helpers import DC_TOKEN, TG_TOKEN, bridge_env, serving, start_bridge, wait_until

LEICESTER = -1001000000001
MASAYA = -1001000000003
GUILD = 112233445566770000
KREFELD = 112233445566778899
# One language on every side: this test reads the texts as written.
LINKS = f"""
version: 1
communities:
  leicester: {{name: Leicester, language: en, chats: [{{telegram: {LEICESTER}}}]}}
  krefeld: {{name: Krefeld, language: en, timezone: Europe/Berlin, chats: [{{discord: {KREFELD}}}]}}
  masaya: {{name: Masaya, language: en, timezone: America/Managua, chats: [{{telegram: {MASAYA}}}]}}
links:
  - {{id: twins, communities: [leicester, krefeld, masaya], policy: community}}
"""
ANNA = {"id": 5001, "is_bot": False, "first_name": "Anna", "last_name": "Smith"}
MAX = {"id": "300000000000000301", "username": "max.k", "global_name": "Max Krüger", "discriminator": "0"}


@pytest.fixture
async def standins():
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(token=DC_TOKEN, guilds={GUILD: {"name": "Krefeld", "channels": {KREFELD: "leicester"}}})
    async with serving(telegram, discord):
        yield telegram, discord


def telegram_notice(telegram, chat: int) -> dict | None:
    for sent in telegram.sent(chat):
        rows = (sent.get("reply_markup") or {}).get("inline_keyboard") or []
        if any(str(b.get("callback_data", "")).startswith("rsvp:") for row in rows for b in row):
            return sent
    return None


def discord_notice(discord, channel: int) -> dict | None:
    return next((p for p in discord.posts(channel) if p.get("via") == "bot" and p.get("components")), None)


def reply_target(message: dict):
    params = message.get("reply_parameters")
    return params.get("message_id") if isinstance(params, dict) else message.get("reply_to_message_id")


async def test_a_reply_to_a_notice_is_a_reply_to_its_copy_on_every_side(
    tmp_path, procs, standins, redis_url, prefix, sync_redis, keys
):
    telegram, discord = standins
    await start_bridge(procs, bridge_env(tmp_path, LINKS, redis_url, prefix, telegram, discord), telegram, discord)
    notice = Announcement(
        id=announcements.new_id(),
        link_id="twins",
        community="leicester",
        organiser="cli",
        text="Bring friends!",
        language="en",
        event=EventDetails("Picnic", time.time() + 7 * 86400),
        at=time.time(),
        created=time.time(),
    )
    announcements.save(sync_redis, keys, notice, 30, time.time())
    assert announcements.enqueue_fire(sync_redis, keys, notice.id) == 1
    await wait_until(
        lambda: telegram_notice(telegram, LEICESTER) and telegram_notice(telegram, MASAYA),
        60,
        message="the notice in both Telegram groups",
    )
    await wait_until(lambda: discord_notice(discord, KREFELD), 60, message="the notice in Krefeld")
    leicester, masaya = telegram_notice(telegram, LEICESTER), telegram_notice(telegram, MASAYA)
    krefeld = discord_notice(discord, KREFELD)

    # Anna answers the notice in Leicester's group: a reply to the notice's copy elsewhere.
    telegram.inject_message(LEICESTER, ANNA, "Count me in!", reply_to_message_id=leicester["message_id"])
    await wait_until(
        lambda: [m for m in telegram.sent(MASAYA) if "Count me in!" in m["text"]], 60, message="Anna's reply in Masaya"
    )
    (answer,) = [m for m in telegram.sent(MASAYA) if "Count me in!" in m["text"]]
    assert reply_target(answer) == masaya["message_id"]
    await wait_until(
        lambda: [p for p in discord.posts(KREFELD) if "Count me in!" in (p.get("content") or "")],
        60,
        message="Anna's reply in Krefeld",
    )
    (relayed,) = [p for p in discord.posts(KREFELD) if "Count me in!" in (p.get("content") or "")]
    # Webhooks cannot reply: the relayed reply links to the notice's copy in the channel.
    assert f"/{KREFELD}/{krefeld['id']}" in relayed["content"]

    # Max answers the bot's notice in Discord: a real reply to the notice in Leicester's group.
    discord.inject_message(KREFELD, MAX, "We will be there", reference_message_id=int(krefeld["id"]))
    await wait_until(
        lambda: [m for m in telegram.sent(LEICESTER) if "We will be there" in m["text"]],
        60,
        message="Max's reply in Leicester",
    )
    (answer,) = [m for m in telegram.sent(LEICESTER) if "We will be there" in m["text"]]
    assert reply_target(answer) == leicester["message_id"]
    # Each notice went out once per chat (its delivery markers, like a member's message's).
    for chat in (LEICESTER, MASAYA):
        assert len([m for m in telegram.sent(chat) if "Bring friends!" in m["text"]]) == 1
    assert len([p for p in discord.posts(KREFELD) if p.get("components")]) == 1
