"""Organisers' commands in chat (issue 14) through the real adapters, worker and stand-ins:
who is an organiser (a Telegram group's admins, also writing anonymously as the group; a
Discord member whose role may manage the server; the members the configuration names),
/pause and /resume (nothing crosses meanwhile, one notice on each side in its language),
/status (privately, in the asker's language), refusals and "how to write it" answers,
and the command menus per scope and language."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.storage import announcements as store
from core.storage.keys import Keys
from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn

from ..helpers import DC_TOKEN, TG_TOKEN, bridge_env, serving, start_bridge, wait_until

pytestmark = pytest.mark.e2e

TOWN_TG = -1001000000041
GUILD = 112233445566770000
TWIN_DC = 112233445566778841
MANAGE_GUILD = 1 << 5

ANNA = {"id": 5201, "is_bot": False, "first_name": "Anna"}  # Leicester's group admin
TOM = {"id": 5202, "is_bot": False, "first_name": "Tom"}  # a member
JUERGEN = {"id": "300000000000002001", "username": "juergen", "global_name": "Jürgen", "discriminator": "0"}
KAI = {"id": "300000000000002002", "username": "kai", "global_name": "Kai", "discriminator": "0"}
# Lena's Discord app is in German: her interactions say so ("locale"), and she is answered in it.
LENA = {"id": "300000000000002003", "username": "lena", "global_name": "Lena", "discriminator": "0", "locale": "de"}

LINKS = f"""
version: 1
communities:
  leicester:
    name: Leicester
    language: en
    timezone: Europe/London
    chats: [{{telegram: {TOWN_TG}}}]
  krefeld:
    name: Krefeld
    language: de
    timezone: Europe/Berlin
    organisers: ["discord:{JUERGEN["id"]}"]
    chats: [{{discord: {TWIN_DC}}}]
links:
  - {{id: towns, communities: [leicester, krefeld], policy: open}}
"""


@pytest.fixture
async def world(tmp_path, procs, redis_url, prefix):
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(token=DC_TOKEN, guilds={GUILD: {"name": "Krefeld", "channels": {TWIN_DC: "twin"}}})
    async with serving(telegram, discord):
        env = bridge_env(tmp_path, LINKS, redis_url, prefix, telegram, discord)
        await start_bridge(procs, env, telegram, discord)
        await wait_until(
            lambda: {c["name"] for c in discord.application_commands()} >= {"status", "pause"},
            30,
            message="the slash commands registered",
        )
        yield telegram, discord
        procs.stop_all()


def tg_bot_says(telegram) -> list[str]:
    return [text for who, text in telegram.transcript(TOWN_TG) if who == "bot"]


def dc_bot_says(discord) -> list[str]:
    return [p["content"] for p in discord.posts(TWIN_DC) if not p.get("webhook_id")]


def dc_relayed(discord) -> list[str]:
    return [p["content"] for p in discord.posts(TWIN_DC) if p.get("webhook_id")]


def stat(sync_redis, prefix, name: str) -> int:
    return int(sync_redis.hget(f"{prefix}stats", name) or 0)


async def test_pause_stops_both_ways_with_one_notice_each_side_and_resume_restarts(world, sync_redis, prefix):
    telegram, discord = world
    telegram.make_admin(TOWN_TG, ANNA)
    telegram.inject_message(TOWN_TG, ANNA, "/pause 2h")
    await wait_until(
        lambda: (
            any("paused by an organiser until" in t for t in tg_bot_says(telegram))
            and any("von der Organisation angehalten bis" in t for t in dc_bot_says(discord))
        ),
        30,
        message="the pause notice on each side",
    )
    pause = sync_redis.get(Keys(prefix).link_pause("towns"))
    assert pause and 7000 < sync_redis.ttl(Keys(prefix).link_pause("towns")) <= 7200
    # Each side is told in its language, with the time in its community's zone.
    [tg_notice] = [t for t in tg_bot_says(telegram) if "paused" in t]
    [dc_notice] = [t for t in dc_bot_says(discord) if "angehalten" in t]
    assert "Krefeld" in tg_notice and "(United Kingdom Time)" in tg_notice
    assert "Leicester" in dc_notice and ("MEZ" in dc_notice or "MESZ" in dc_notice)

    telegram.inject_message(TOWN_TG, TOM, "written while paused, from Leicester")
    discord.inject_message(TWIN_DC, KAI, "während der Pause geschrieben, aus Krefeld")
    await wait_until(lambda: stat(sync_redis, prefix, "dropped.paused") >= 2, 30, message="both messages dropped")

    # Jürgen is named in Krefeld's organisers (no Discord permission needed): /resume as a message.
    discord.inject_message(TWIN_DC, JUERGEN, "/resume")
    await wait_until(
        lambda: (
            any("running again" in t for t in tg_bot_says(telegram))
            and any("läuft wieder" in t for t in dc_bot_says(discord))
        ),
        30,
        message="the resume notice on each side",
    )
    telegram.inject_message(TOWN_TG, TOM, "after the pause, from Leicester")
    discord.inject_message(TWIN_DC, KAI, "nach der Pause, aus Krefeld")
    await wait_until(
        lambda: (
            any("after the pause" in t for t in dc_relayed(discord))
            and any("nach der Pause" in t for t in tg_bot_says(telegram))
        ),
        30,
        message="messages crossing again",
    )
    everything = tg_bot_says(telegram) + dc_bot_says(discord) + dc_relayed(discord)
    assert not any("while paused" in t or "während der Pause" in t for t in everything)
    # One notice of each kind on each side.
    assert sum("paused" in t for t in tg_bot_says(telegram)) == 1
    assert sum("angehalten" in t for t in dc_bot_says(discord)) == 1
    assert sum("running again" in t for t in tg_bot_says(telegram)) == 1
    assert sum("läuft wieder" in t for t in dc_bot_says(discord)) == 1
    assert stat(sync_redis, prefix, "dropped.paused") == 2

    # An anonymous admin writing as the group pauses it until /resume: no expiry.
    telegram.inject_as_group(TOWN_TG, "/pause")
    await wait_until(
        lambda: any("until an organiser says /resume" in t for t in tg_bot_says(telegram)),
        30,
        message="the open-ended pause notice",
    )
    assert sync_redis.ttl(Keys(prefix).link_pause("towns")) == -1


async def test_status_privately_and_refusals(world, sync_redis, prefix):
    telegram, discord = world
    telegram.start_private(ANNA)
    telegram.start_private(TOM)
    telegram.make_admin(TOWN_TG, ANNA)
    telegram.inject_message(TOWN_TG, TOM, "hello Krefeld")
    discord.inject_message(TWIN_DC, KAI, "hallo Leicester")
    await wait_until(
        lambda: (
            any("hello Krefeld" in t for t in dc_relayed(discord))
            and any("hallo Leicester" in t for t in tg_bot_says(telegram))
        ),
        30,
        message="a message each way",
    )

    # A member's /pause and /announce are refused, privately; the link is not paused.
    telegram.inject_message(TOWN_TG, TOM, "/pause")
    telegram.inject_message(TOWN_TG, TOM, "/status")
    await wait_until(
        lambda: sum("only the organisers" in m.get("text", "") for m in telegram.private_messages(TOM["id"])) >= 2,
        30,
        message="the refusals, privately",
    )
    assert sync_redis.get(Keys(prefix).link_pause("towns")) is None
    # On Discord the organisers' slash commands are not offered to a member without the permission,
    # and typed, they are refused by a direct message.
    with pytest.raises(PermissionError):
        discord.inject_slash_command(KAI, TWIN_DC, "status")
    discord.inject_message(TWIN_DC, KAI, "/pause 1h")
    await wait_until(
        lambda: any("nur die Organisation" in m["content"] for m in discord.dms(KAI["id"])),
        30,
        message="the Discord refusal, in German, privately",
    )

    # The admin's /status: privately, nothing in the group.
    before = len(tg_bot_says(telegram))
    telegram.inject_message(TOWN_TG, ANNA, "/status")
    status = await wait_until(
        lambda: [m["text"] for m in telegram.private_messages(ANNA["id"]) if "Link towns" in m.get("text", "")],
        30,
        message="the status, privately",
    )
    assert "running" in status[0]
    assert "Leicester (en, 1 chat(s) on Telegram): last message across:" in status[0]
    assert "Krefeld (de, 1 chat(s) on Discord): last message across:" in status[0]
    assert status[0].count("1 this week") == 2
    assert "Waiting for a moderator: 0" in status[0] and "Could not be delivered: 0" in status[0]
    # Anna's Telegram app is set to Spanish: the same question is answered in her language.
    telegram.inject_message(TOWN_TG, {**ANNA, "language_code": "es"}, "/status")
    await wait_until(
        lambda: any("Enlace towns" in m.get("text", "") for m in telegram.private_messages(ANNA["id"])),
        30,
        message="the status in the asker's own language, privately",
    )
    # A Discord member whose role may manage the server: the slash command, answered in German.
    role = discord.add_role(GUILD, "Vorstand", MANAGE_GUILD)
    discord.give_role(GUILD, LENA, role)
    discord.inject_slash_command(LENA, TWIN_DC, "status")
    await wait_until(
        lambda: any("Verbindung towns: läuft" in m["content"] for m in discord.dms(LENA["id"])),
        30,
        message="the German status in a DM",
    )
    # Her role counts for typed commands too (the message carries her roles): a bad duration
    # is answered with how to write it.
    discord.inject_message(TWIN_DC, LENA, "/pause bald")
    await wait_until(
        lambda: any("/pause 2h" in m["content"] and "bald" in m["content"] for m in discord.dms(LENA["id"])),
        30,
        message="how to write a duration",
    )
    # Privately, a listed organiser names the link; an unknown one is answered with theirs.
    dm = discord.dm_channel_id(JUERGEN["id"])
    discord.inject_message(dm, JUERGEN, "/status nirgendwo")
    await wait_until(
        lambda: any("nirgendwo" in m["content"] and "towns" in m["content"] for m in discord.dms(JUERGEN["id"])),
        30,
        message="the unknown link answer",
    )
    discord.inject_message(dm, JUERGEN, "/status towns")
    await wait_until(
        lambda: any("Verbindung towns" in m["content"] for m in discord.dms(JUERGEN["id"])),
        30,
        message="the status for a listed organiser, privately",
    )
    assert len(tg_bot_says(telegram)) == before, "an organiser's answer was said in the group"
    assert sync_redis.get(Keys(prefix).link_pause("towns")) is None

    # The slash commands' options arrive as the typed words: /pause towns 30m.
    discord.inject_slash_command(LENA, TWIN_DC, "pause", {"duration": "30m", "link": "towns"})
    await wait_until(
        lambda: any("paused by an organiser until" in t for t in tg_bot_says(telegram)),
        30,
        message="the slash command's pause",
    )
    assert 1700 < sync_redis.ttl(Keys(prefix).link_pause("towns")) <= 1800


async def test_menus_per_scope_and_language(world):
    telegram, discord = world
    default = [c["command"] for c in telegram.commands("default")]
    admins = [c["command"] for c in telegram.commands("all_chat_administrators")]
    private = [c["command"] for c in telegram.commands("all_private_chats")]
    assert "consent" in default and "status" not in default and "pause" not in default
    assert set(admins) >= set(default) | {"announce", "announcements", "status", "pause", "resume"}
    assert "consent" not in private and {"mydata", "forgetme", "status"} <= set(private)
    german = {c["command"]: c["description"] for c in telegram.commands("all_chat_administrators", language_code="de")}
    assert german["pause"].startswith("Organisation:") and german["consent"].startswith("Deine Nachrichten")
    assert telegram.commands("default", language_code="fr") and telegram.commands("default", language_code="es")

    commands = {c["name"]: c for c in discord.application_commands()}
    assert commands["pause"]["default_member_permissions"] == str(MANAGE_GUILD)
    assert commands["consent"]["default_member_permissions"] is None
    assert commands["pause"]["description_localizations"]["de"].startswith("Organisation:")
    assert commands["privacy"]["description_localizations"]["es-ES"].startswith("Qué comparte")
    # The options too: "/pause duration" tells a German organiser how to write it.
    duration = next(o for o in commands["pause"]["options"] if o["name"] == "duration")
    assert duration["description_localizations"]["de"].startswith("wie lange, z. B. `2h`")


async def test_an_organisers_notice_from_a_chat_reaches_both_sides_once(world, sync_redis, prefix):
    telegram, discord = world
    telegram.start_private(TOM)
    telegram.make_admin(TOWN_TG, ANNA)
    # A member may not: told privately, nothing stored.
    telegram.inject_message(TOWN_TG, TOM, "/announce Free beer for everyone!")
    await wait_until(
        lambda: any("only the organisers" in m.get("text", "") for m in telegram.private_messages(TOM["id"])),
        30,
        message="the member's /announce refused privately",
    )
    # The group's admin: now, pinned, to every chat of the link (her own included).
    telegram.inject_message(TOWN_TG, ANNA, "/announce pin The summer fair is on Saturday!")
    # Krefeld's listed organiser: an event notice, typed in the Discord channel, Berlin time.
    day = (datetime.now(ZoneInfo("Europe/Berlin")) + timedelta(days=3)).date().isoformat()
    discord.inject_message(TWIN_DC, JUERGEN, f"/announce event Sommerfest | {day} 14:00 | 18:00 | Marktplatz\nKommt!")

    def shown(text: str) -> tuple[int, int]:
        return (
            sum(text in t for t in tg_bot_says(telegram)),
            sum(text in t for t in dc_bot_says(discord)),
        )

    await wait_until(
        lambda: shown("The summer fair is on Saturday!") == (1, 1) and shown("Sommerfest") == (1, 1),
        90,
        message="both notices on both sides",
    )
    assert not any("Free beer" in t for t in tg_bot_says(telegram) + dc_bot_says(discord))
    notices = store.of_link(sync_redis, Keys(prefix), "towns", time.time())
    assert sorted(n.community for n in notices) == ["krefeld", "leicester"]
    fair = next(n for n in notices if n.community == "leicester")
    assert fair.pin and telegram.pinned(TOWN_TG)
    event = next(n for n in notices if n.community == "krefeld").event
    assert event is not None and event.place == "Marktplatz"
    assert event.start == datetime.fromisoformat(f"{day}T14:00").replace(tzinfo=ZoneInfo("Europe/Berlin")).timestamp()
    # The organisers' receipts, privately; the list with the answers.
    dm = discord.dm_channel_id(JUERGEN["id"])
    discord.inject_message(dm, JUERGEN, "/announcements towns")
    await wait_until(
        lambda: any(
            "Ankündigungen von towns" in m["content"] and all(n.id in m["content"] for n in notices)
            for m in discord.dms(JUERGEN["id"])
        ),
        30,
        message="the list of notices",
    )
    assert shown("The summer fair is on Saturday!") == (1, 1) and shown("Sommerfest") == (1, 1)
