"""Event times across a daylight-saving change and a half-hour zone, on the whole path (issue
14, Tests): two event notices scheduled with `twinbridge announce --at`, one the evening
before Berlin's clocks go forward and one the evening after, sent by the real
`twinbridge scheduler` through a real worker and `twinbridge run` to Krefeld's Discord
channel (German, Europe/Berlin) and Rajkot's Telegram group (English, Asia/Kolkata).

Both evenings are 19:30 in Krefeld, but 18:30 and then 17:30 UTC: each copy must say the
right local time in its community's zone and words (MEZ then MESZ; midnight then 23:00
IST, +05:30), carry the right instant for the reader's own zone (Discord's <t:…>,
Telegram's date_time entity) and an .ics that icalendar parses to that instant."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from bridge.discord.render import plain_text
from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn
from sandbox.translator import LibreTranslateStandIn

from ..helpers import DC_TOKEN, TG_TOKEN, bridge_env, serving, start_bridge, wait_until
from ..processes import run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

LT_KEY = "lt-event-times"
RAJKOT = -1001000000071
GUILD, KREFELD = 112233445566770071, 112233445566778871
LINKS = f"""
version: 1
communities:
  krefeld: {{name: Krefeld, language: de, timezone: Europe/Berlin, chats: [{{discord: {KREFELD}}}]}}
  rajkot: {{name: Rajkot, language: en, timezone: Asia/Kolkata, chats: [{{telegram: {RAJKOT}}}]}}
links:
  - {{id: twins, communities: [krefeld, rajkot], policy: timed}}
policies:
  timed: {{base: community, translation: [libre]}}
"""
BERLIN = ZoneInfo("Europe/Berlin")


def next_spring_change(after: datetime) -> date:
    """The last Sunday of March (Berlin's clocks go forward) after ``after``."""
    for year in (after.year, after.year + 1):
        last = date(year, 3, 31)
        sunday = last - timedelta(days=(last.weekday() + 1) % 7)
        if datetime(sunday.year, sunday.month, sunday.day, tzinfo=BERLIN) > after + timedelta(days=2):
            return sunday
    raise AssertionError("unreachable")


def notices_on_telegram(telegram) -> list[dict]:
    return [telegram.message(RAJKOT, m["message_id"]) for m in telegram.sent(RAJKOT) if "📢" in m["text"]]


def notices_on_discord(discord) -> list[dict]:
    return [p for p in discord.posts(KREFELD) if "📢" in p["content"]]


@pytest.mark.slow
async def test_local_times_across_berlins_clock_change_and_in_kolkata(tmp_path, procs, redis_url, prefix):
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(token=DC_TOKEN, guilds={GUILD: {"name": "Krefeld", "channels": {KREFELD: "partner"}}})
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
        procs.start("scheduler", ["scheduler"], env)
        await wait_until(lambda: "scheduler started" in procs.log("scheduler"), 60, message="the scheduler")

        sunday = next_spring_change(datetime.now(BERLIN))
        saturday = sunday - timedelta(days=1)
        evenings = {}  # title -> the instant, from Berlin's own rules (not the code under test)
        for title, day in (("Choir before", saturday), ("Choir after", sunday)):
            evenings[title] = int(datetime(day.year, day.month, day.day, 19, 30, tzinfo=BERLIN).timestamp())
            result = run_cli(
                ["announce", "--link", "twins", "--from", "krefeld", "--at", "in 5s", "--event", "--title", title]
                + ["--start", f"{day.isoformat()} 19:30", "Kommt alle!"],
                env=env,
            )
            assert result.returncode == 0, result.stderr
        # One hour less between them in UTC: the clocks went forward in between.
        assert evenings["Choir after"] - evenings["Choir before"] == 23 * 3600

        await wait_until(
            lambda: len(notices_on_telegram(telegram)) == 2 and len(notices_on_discord(discord)) == 2,
            120,
            message="both notices on both sides",
        )
        await wait_until(lambda: len(telegram.documents(RAJKOT)) == 2, 30, message="both calendar files on Telegram")
        day_de = {
            "Choir before": f"Sa., {saturday.day}. März {saturday.year}",
            "Choir after": f"So., {sunday.day}. März {sunday.year}",
        }
        zone_de = {"Choir before": "19:30 MEZ", "Choir after": "19:30 MESZ"}
        # Kolkata (+05:30): 18:30 UTC is midnight there, 17:30 UTC 23:00, both on the Sunday.
        day_in = f"Sun, {sunday.day} March {sunday.year}"
        clock_in = {"Choir before": "12:00\u202fAM IST", "Choir after": "11:00\u202fPM IST"}

        for title, unix in evenings.items():
            [post] = [p for p in notices_on_discord(discord) if title.split()[1] in plain_text(p["content"])]
            shown = plain_text(post["content"])
            assert f"{day_de[title]}, {zone_de[title]}" in shown, shown
            assert f"<t:{unix}:F>" in post["content"] and f"<t:{unix}:R>" in post["content"]
            [ics] = post["files"]
            [event] = Calendar.from_ical(ics["data"]).walk("VEVENT")
            assert event.decoded("dtstart") == datetime.fromtimestamp(unix, UTC)

            [message] = [m for m in notices_on_telegram(telegram) if title in m["text"]]
            assert f"{day_in}, {clock_in[title]}" in message["text"], message["text"]
            [entity] = [e for e in message["entities"] if e["type"] == "date_time"]
            assert entity["unix_time"] == unix
        for document in telegram.documents(RAJKOT):
            [event] = Calendar.from_ical(document["data"]).walk("VEVENT")
            assert int(event.decoded("dtstart").timestamp()) in evenings.values()
        assert time.time() < min(evenings.values())
        procs.stop_all()
