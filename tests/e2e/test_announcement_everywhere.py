"""An organiser's event notice on the whole path (issue 14): `twinbridge announce` (run twice,
as an organiser retrying would), a real `twinbridge worker` (fire task, translation once
per language) and `twinbridge run` (both adapters) against the stand-ins of Telegram,
Discord and LibreTranslate.

A link of four communities in three languages (two Telegram groups, two Discord channels in
two servers): the notice arrives once in every chat, translated, pinned, with its time as a
Telegram date_time entity and as Discord timestamps, and an .ics that parses; each Discord
server gets one scheduled event. Assertions are on what the stand-ins received."""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from bridge.discord.render import plain_text
from core.calendar import event_uid
from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn
from sandbox.translator import LibreTranslateStandIn, fake_translate

from ..helpers import DC_TOKEN, TG_TOKEN, bridge_env, serving, start_bridge, wait_until
from ..processes import run_cli

pytestmark = pytest.mark.timeout(240)

LT_KEY = "lt-e2e-key"
LEICESTER = -1001000000001  # Telegram, English
CHALON = -1001000000002  # Telegram, French
KREFELD_GUILD, KREFELD = 112233445566770000, 112233445566778899  # Discord, German
STRASBOURG_GUILD, STRASBOURG = 112233445566660000, 112233445566668899  # Discord, French
LINKS = f"""
version: 1
communities:
  leicester: {{name: Leicester, language: en, timezone: Europe/London, chats: [{{telegram: {LEICESTER}}}]}}
  chalon: {{name: Chalon, language: fr, timezone: Europe/Paris, chats: [{{telegram: {CHALON}}}]}}
  krefeld: {{name: Krefeld, language: de, timezone: Europe/Berlin, chats: [{{discord: {KREFELD}}}]}}
  strasbourg: {{name: Strasbourg, language: fr, timezone: Europe/Paris, chats: [{{discord: {STRASBOURG}}}]}}
links:
  - id: twins
    communities: [leicester, chalon, krefeld, strasbourg]
    policy: announced
policies:
  announced: {{base: community, translation: [libre]}}
"""
TITLE = "Twinning festival"
BODY = "Bring friends and food to the market square."
PLACE = "Town Hall, Leicester"
URL = "https://example.org/festival"
ANNA = {"id": 5001, "is_bot": False, "first_name": "Anna"}
MAX = {"id": "300000000000000301", "username": "max.k", "global_name": "Max Krüger", "discriminator": "0"}


@pytest.fixture
async def world(tmp_path, procs, redis_url, prefix):
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(
        token=DC_TOKEN,
        guilds={
            KREFELD_GUILD: {"name": "Krefeld", "channels": {KREFELD: "partnerstaedte"}},
            STRASBOURG_GUILD: {"name": "Strasbourg", "channels": {STRASBOURG: "jumelage"}},
        },
    )
    libre = LibreTranslateStandIn(api_key=LT_KEY)
    async with serving(telegram, discord, libre):
        env = bridge_env(
            tmp_path,
            LINKS,
            redis_url,
            prefix,
            telegram,
            discord,
            LIBRETRANSLATE_URL=libre.url,
            LIBRETRANSLATE_API_KEY=LT_KEY,
        )
        await start_bridge(procs, env, telegram, discord)
        yield telegram, discord, libre, env, procs
        procs.stop_all()


def announcement_messages(telegram, chat: int) -> list[dict]:
    return [m for m in telegram.sent(chat) if "📢" in m["text"]]


async def test_an_event_notice_arrives_once_everywhere_translated_and_pinned(world):
    telegram, discord, libre, env, procs = world
    london = ZoneInfo("Europe/London")
    day = datetime.fromtimestamp(time.time() + 12 * 86400, london)
    start = day.replace(hour=19, minute=30, second=0, microsecond=0)
    command = ["announce", "--link", "twins", "--from", "leicester", "--pin", "--event", "--title", TITLE]
    command += ["--start", start.strftime("%Y-%m-%d %H:%M"), "--place", PLACE, "--url", URL, BODY]
    first = run_cli(command, env=env)
    assert first.returncode == 0, first.stderr
    again = run_cli(command, env=env)  # the organiser is not sure it went: nothing new
    assert again.returncode == 0, again.stderr
    unix = int(start.timestamp())
    [announcement_id] = re.findall(r"--cancel (\w+)", first.stdout)
    assert f"that notice is {announcement_id}" in again.stdout and "Nothing new was made" in again.stdout

    telegram_chats = {LEICESTER: "en", CHALON: "fr"}
    discord_channels = {KREFELD: "de", STRASBOURG: "fr"}

    def everywhere() -> bool:
        return (
            all(telegram.pinned(c) for c in telegram_chats)
            and all(discord.pinned(c) for c in discord_channels)
            and all(telegram.documents(c) for c in telegram_chats)
        )

    await wait_until(everywhere, timeout=120, message="the notice pinned in all four chats")
    # Everything the worker had to do is done once the events exist; then nothing more comes.
    await wait_until(
        lambda: len(discord.events(KREFELD_GUILD)) + len(discord.events(STRASBOURG_GUILD)) == 2,
        timeout=30,
        message="a scheduled event in each Discord server",
    )

    for chat, language in telegram_chats.items():
        [message] = announcement_messages(telegram, chat)
        assert len(telegram.documents(chat)) == 1, chat
        shown = telegram.message(chat, message["message_id"])
        body = BODY if language == "en" else fake_translate(BODY, "en", language)
        assert body in shown["text"], (chat, shown["text"])
        title = TITLE if language == "en" else fake_translate(TITLE, "en", language)
        assert title in shown["text"]
        [when] = [e for e in shown["entities"] if e["type"] == "date_time"]
        assert when["unix_time"] == unix and when["date_time_format"] == "wDT"
        assert len(shown["reply_markup"]["inline_keyboard"][0]) == 3
        assert telegram.pinned(chat) == [message["message_id"]]
        [document] = telegram.documents(chat)
        assert document["reply_parameters"]["message_id"] == message["message_id"]
        [event] = Calendar.from_ical(document["data"]).walk("VEVENT")
        assert event.decoded("dtstart") == start.astimezone(UTC)
        assert str(event["uid"]) == event_uid(event["uid"].split("-", 1)[1].split("@")[0])
        assert str(event["summary"]) == title and str(event["location"]) == PLACE
        assert str(event["description"]).startswith(body)

    uids = set()
    for channel, language in discord_channels.items():
        posts = [p for p in discord.posts(channel) if "📢" in p["content"]]
        assert len(posts) == 1, channel
        [post] = posts
        assert post["via"] == "bot"
        shown = plain_text(post["content"])
        assert fake_translate(BODY, "en", language) in shown
        assert fake_translate(TITLE, "en", language) in shown
        assert f"<t:{unix}:F>" in post["content"] and f"<t:{unix}:R>" in post["content"]
        assert len(post["components"][0]["components"]) == 3
        assert discord.pinned(channel) == [int(post["id"])]
        [ics] = post["files"]
        [event] = Calendar.from_ical(ics["data"]).walk("VEVENT")
        assert event.decoded("dtstart") == start.astimezone(UTC)
        uids.add(str(event["uid"]))
    for guild in (KREFELD_GUILD, STRASBOURG_GUILD):
        [scheduled] = discord.events(guild)
        assert datetime.fromisoformat(scheduled["scheduled_start_time"]).timestamp() == unix
        assert scheduled["entity_metadata"]["location"] == PLACE

    # One UID for every copy: importing the Telegram and the Discord file gives one entry.
    telegram_uids = {
        str(Calendar.from_ical(telegram.documents(c)[0]["data"]).walk("VEVENT")[0]["uid"]) for c in telegram_chats
    }
    assert len(uids | telegram_uids) == 1
    # Translated once per language that needed it (de, fr): the body and the title, for
    # both French chats together.
    calls = Counter(r.target for r in libre.requests if r.path == "/translate")
    assert set(calls) == {"de", "fr"} and calls["fr"] == calls["de"] <= 2, calls
    # Still once everywhere after all that (a late second copy would show here).
    assert [len(announcement_messages(telegram, c)) for c in telegram_chats] == [1, 1]
    assert [len(telegram.documents(c)) for c in telegram_chats] == [1, 1]
    assert [len(discord.posts(c)) for c in discord_channels] == [1, 1]

    # Members answer on both platforms: every copy shows the totals across the twins, and
    # the edits keep the buttons (and the calendar file) everywhere.
    [tg_message] = announcement_messages(telegram, LEICESTER)
    telegram.inject_callback(ANNA, LEICESTER, tg_message["message_id"], f"rsvp:{announcement_id}:going")
    [dc_post] = discord.posts(KREFELD)
    discord.inject_component_click(MAX, KREFELD, int(dc_post["id"]), f"rsvp:{announcement_id}:maybe")
    totals = {"en": "Going: 1 · Maybe: 1", "fr": "J'y vais: 1 · Peut-être: 1", "de": "Dabei: 1 · Vielleicht: 1"}

    def counted() -> bool:
        shown_tg = [
            telegram.message(c, announcement_messages(telegram, c)[0]["message_id"])["text"] for c in telegram_chats
        ]
        shown_dc = [plain_text(discord.message(c, int(discord.posts(c)[0]["id"]))["content"]) for c in discord_channels]
        languages = list(telegram_chats.values()) + list(discord_channels.values())
        return all(totals[lang] in text for lang, text in zip(languages, shown_tg + shown_dc, strict=True))

    await wait_until(counted, timeout=60, message="the totals on every copy")
    for chat in telegram_chats:
        message = telegram.message(chat, announcement_messages(telegram, chat)[0]["message_id"])
        assert len(message["reply_markup"]["inline_keyboard"][0]) == 3
        assert any(e["type"] == "date_time" for e in message["entities"])
        assert len(telegram.documents(chat)) == 1 and telegram.message(chat, telegram.documents(chat)[0]["message_id"])
    for channel in discord_channels:
        message = discord.message(channel, int(discord.posts(channel)[0]["id"]))
        assert len(message["components"][0]["components"]) == 3 and len(message["attachments"]) == 1

    # No log line carries the notice's words (the title, the body, the place), in any language.
    logs = procs.log("worker") + procs.log("run")
    for words in (TITLE, BODY, PLACE, "market square", fake_translate(BODY, "en", "de")):
        assert words not in logs
