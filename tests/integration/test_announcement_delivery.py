"""Announcement posts delivered by the real adapters (aiogram, discord.py) from their outbox
streams to the stand-ins, through the existing delivery path (rate limits, id map, delivery
markers): what members see on each platform, the .ics, the pins and the Discord scheduled
event, the RSVP buttons kept by an edit, and the copies a delete takes.

Assertions are on what the stand-ins received and what Redis holds."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from bridge.discord.adapter import DiscordAdapter
from bridge.ingress import Ingress
from bridge.telegram.adapter import TelegramAdapter
from core.announcements import ANNOUNCEMENT_CHAT, ANNOUNCEMENT_PLATFORM, AnnouncementView, EventDetails
from core.calendar import event_uid
from core.event_time import local_when
from core.idmap import IdMap
from core.models import ChatRef, EventKind, MessageRef, OutboundPost
from core.phrases import announcement_header, rsvp_labels
from core.settings import Settings
from core.stats import Stats
from core.task_queue import TaskQueue
from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn
from tests.helpers import two_community_links, wait_until, write_links

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

TG_TOKEN = "7000001:AAH-test-secret-token-for-the-stand-in"
DC_TOKEN = "OTAwMDAwMDAwMDAwMDAwMDAx.standin.S3cr3t-t0ken-for-tests"
GROUP = -1001000000001
GUILD = 112233445566770000
CHANNEL = 112233445566778899
SECOND_CHANNEL = 112233445566778898  # the same server
LINK = "leicester-krefeld"
ANNOUNCEMENT = "a7k2m9"
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
async def telegram():
    server = TelegramStandIn(TG_TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def discord_standin():
    server = DiscordStandIn(
        DC_TOKEN, {GUILD: {"name": "Krefeld", "channels": {CHANNEL: "partnerschaft", SECOND_CHANNEL: "leicester"}}}
    )
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def settings(redis_url, prefix, telegram, discord_standin, tmp_path):
    return Settings(
        config_path=tmp_path / "links.yaml",
        redis_url=redis_url,
        redis_prefix=prefix,
        telegram_bot_token=TG_TOKEN,
        telegram_api_url=telegram.url,
        discord_bot_token=DC_TOKEN,
        discord_api_url=discord_standin.api_url,
        discord_gateway_url=discord_standin.gateway_url,
    )


@pytest.fixture
def adapters(settings, tmp_path, aredis, keys):
    config = write_links(tmp_path, two_community_links(GROUP, CHANNEL, LINK))
    ingress = Ingress(aredis, keys, TaskQueue.for_settings(settings))
    started = []

    async def start(platform: str):
        kind = TelegramAdapter if platform == "telegram" else DiscordAdapter
        adapter = kind(settings=settings, config=config, redis=aredis, keys=keys, ingress=ingress)
        await adapter.start()
        started.append(adapter)
        return adapter

    yield start
    return started


@pytest.fixture
async def running(adapters):
    tg = await adapters("telegram")
    dc = await adapters("discord")
    yield tg, dc
    for adapter in (tg, dc):
        await adapter.stop()


def view(language: str, *, start: float, pin: bool = True, counts=None, kind: str = "announcement") -> dict:
    tz = "Europe/London" if language == "en" else "Europe/Berlin"
    event = EventDetails("Twinning festival", start, None, "Town Hall, Leicester", "https://example.org/fest")
    return AnnouncementView(
        id=ANNOUNCEMENT,
        header=announcement_header(language, kind, "Leicester"),
        kind=kind,
        event=event,
        when_local=local_when(start, None, tz, language),
        timezone=tz,
        language=language,
        labels=rsvp_labels(language) if kind == "announcement" else {},
        counts=dict(counts or {"going": 0, "maybe": 0, "cant": 0}) if kind == "announcement" else {},
        pin=pin,
    ).to_dict()


def post(platform: str, chat: int, language: str, text: str, **fields) -> OutboundPost:
    return OutboundPost(
        kind=fields.pop("kind", EventKind.NEW),
        link_id=LINK,
        destination=ChatRef(platform, str(chat)),
        source=MessageRef(ANNOUNCEMENT_PLATFORM, ANNOUNCEMENT_CHAT, fields.pop("source_id", ANNOUNCEMENT)),
        sender="",
        community="Leicester",
        text=text,
        language=language,
        retention_days=7,
        announcement=fields.pop("announcement"),
        **fields,
    )


async def put(aredis, keys, item: OutboundPost) -> None:
    await aredis.xadd(keys.outbox(item.destination.platform), {"post": json.dumps(item.to_dict())})


async def copies(aredis, keys, item: OutboundPost) -> list[str]:
    return await IdMap(aredis, keys).copies(LINK, item.source, item.destination)


def start_in_days(days: int) -> float:
    day = datetime.fromtimestamp(time.time() + days * 86400, BERLIN)
    return day.replace(hour=19, minute=30, second=0, microsecond=0).timestamp()


async def test_event_notice_on_both_platforms_edit_and_delete(running, telegram, discord_standin, aredis, keys):
    start = start_in_days(10)
    body_en = "Everyone is welcome!\nBring friends."
    body_de = "Alle sind willkommen!\nBringt Freunde mit."
    tg_post = post("telegram", GROUP, "en", body_en, announcement=view("en", start=start))
    dc_post = post("discord", CHANNEL, "de", body_de, announcement=view("de", start=start))
    await put(aredis, keys, tg_post)
    await put(aredis, keys, dc_post)
    tg_ids = await wait_until(lambda: copies(aredis, keys, tg_post), message="the Telegram copies recorded")
    dc_ids = await wait_until(lambda: copies(aredis, keys, dc_post), message="the Discord copies recorded")

    # Telegram: one message, then the .ics replying to it; pinned.
    [message] = [m for m in telegram.sent(GROUP)]
    assert tg_ids == [str(message["message_id"]), tg_ids[1]]
    shown = telegram.message(GROUP, message["message_id"])
    assert shown["text"].startswith("📢 Announcement · Leicester\n\nTwinning festival\n🗓 ")
    assert "Everyone is welcome!\nBring friends." in shown["text"]
    assert shown["text"].endswith("Going: 0 · Maybe: 0 · Can't: 0")
    [when] = [e for e in shown["entities"] if e["type"] == "date_time"]
    assert when["unix_time"] == int(start) and when["date_time_format"] == "wDT"
    when_text = shown["text"].encode("utf-16-le")[2 * when["offset"] : 2 * (when["offset"] + when["length"])]
    assert when_text.decode("utf-16-le") == local_when(start, None, "Europe/London", "en")
    buttons = shown["reply_markup"]["inline_keyboard"][0]
    assert [(b["text"], b["callback_data"]) for b in buttons] == [
        ("Going", f"rsvp:{ANNOUNCEMENT}:going"),
        ("Maybe", f"rsvp:{ANNOUNCEMENT}:maybe"),
        ("Can't", f"rsvp:{ANNOUNCEMENT}:cant"),
    ]
    [document] = telegram.documents(GROUP)
    assert str(document["message_id"]) == tg_ids[1]
    assert document["reply_parameters"]["message_id"] == message["message_id"]
    assert document["document"]["file_name"] == "Twinning-festival.ics"
    [event] = Calendar.from_ical(document["data"]).walk("VEVENT")
    assert str(event["uid"]) == event_uid(ANNOUNCEMENT)
    assert event.decoded("dtstart") == datetime.fromtimestamp(start, UTC)
    assert str(event["description"]).startswith(body_en)
    assert telegram.pinned(GROUP) == [message["message_id"]]

    # Discord: a bot message (not the webhook) with <t:…>, the local time, the buttons, the .ics; pinned; an event.
    [dc_sent] = discord_standin.posts(CHANNEL)
    assert dc_sent["via"] == "bot" and dc_ids == [dc_sent["id"]]
    content = dc_sent["content"]
    assert content.startswith("**📢 Ankündigung · Leicester**")
    assert f"<t:{int(start)}:F> (<t:{int(start)}:R>)" in content
    assert local_when(start, None, "Europe/Berlin", "de") in content.replace("\\", "")
    assert [c["custom_id"] for c in dc_sent["components"][0]["components"]] == [
        f"rsvp:{ANNOUNCEMENT}:going",
        f"rsvp:{ANNOUNCEMENT}:maybe",
        f"rsvp:{ANNOUNCEMENT}:cant",
    ]
    [ics] = dc_sent["files"]
    [dc_event] = Calendar.from_ical(ics["data"]).walk("VEVENT")
    assert str(dc_event["uid"]) == event_uid(ANNOUNCEMENT) and str(dc_event["description"]).startswith(body_de)
    assert discord_standin.pinned(CHANNEL) == [int(dc_sent["id"])]
    [scheduled] = discord_standin.events(GUILD)
    assert scheduled["name"] == "Twinning festival"
    assert scheduled["entity_metadata"]["location"] == "Town Hall, Leicester"
    assert datetime.fromisoformat(scheduled["scheduled_start_time"]).timestamp() == start
    assert datetime.fromisoformat(scheduled["scheduled_end_time"]).timestamp() == start + 3600
    assert await wait_until(
        lambda: _stat(aredis, keys, "discord.announcement.event_created"), message="the event counted"
    )

    # New RSVP totals: an edit keeps the buttons (and the .ics) on both platforms.
    counts = {"going": 3, "maybe": 1, "cant": 0}
    await put(
        aredis,
        keys,
        replace(tg_post, kind=EventKind.EDIT, announcement=view("en", start=start, counts=counts)),
    )
    await put(
        aredis,
        keys,
        replace(dc_post, kind=EventKind.EDIT, announcement=view("de", start=start, counts=counts)),
    )
    await wait_until(
        lambda: telegram.message(GROUP, message["message_id"])["text"].endswith("Going: 3 · Maybe: 1 · Can't: 0"),
        message="the Telegram edit",
    )
    edited = telegram.message(GROUP, message["message_id"])
    assert edited["reply_markup"]["inline_keyboard"][0] == buttons
    assert any(e["type"] == "date_time" for e in edited["entities"])
    await wait_until(
        lambda: "Dabei: 3" in discord_standin.message(CHANNEL, int(dc_sent["id"]))["content"],
        message="the Discord edit",
    )
    dc_shown = discord_standin.message(CHANNEL, int(dc_sent["id"]))
    assert len(dc_shown["components"][0]["components"]) == 3 and len(dc_shown["attachments"]) == 1
    assert await copies(aredis, keys, tg_post) == tg_ids  # the document is still a copy

    # Cancelled: a delete takes every copy, the calendar file too.
    await put(aredis, keys, replace(tg_post, kind=EventKind.DELETE))
    await put(aredis, keys, replace(dc_post, kind=EventKind.DELETE))
    await wait_until(lambda: telegram.transcript(GROUP) == [], message="the Telegram copies gone")
    await wait_until(lambda: discord_standin.transcript(CHANNEL) == [], message="the Discord copies gone")
    assert telegram.pinned(GROUP) == [] and discord_standin.pinned(CHANNEL) == []


async def test_long_notices_are_split_never_cut(running, telegram, discord_standin, aredis, keys):
    start = start_in_days(5)
    paragraphs = [f"Paragraph {n}: " + " ".join(f"word{n}x{i}" for i in range(60)) for n in range(16)]
    body = "\n\n".join(paragraphs)  # about 8,900 characters
    tg_post = post("telegram", GROUP, "en", body, announcement=view("en", start=start))
    dc_post = post("discord", CHANNEL, "de", body, announcement=view("de", start=start))
    await put(aredis, keys, tg_post)
    await put(aredis, keys, dc_post)
    tg_ids = await wait_until(lambda: copies(aredis, keys, tg_post), message="the Telegram copies")
    dc_ids = await wait_until(lambda: copies(aredis, keys, dc_post), message="the Discord copies")

    sent = telegram.sent(GROUP)
    assert len(sent) >= 3 and len(tg_ids) == len(sent) + 1  # the parts and the document
    texts = [telegram.message(GROUP, m["message_id"])["text"] for m in sent]
    assert all(len(t.encode("utf-16-le")) // 2 <= 4096 for t in texts)
    for paragraph in paragraphs:
        assert sum(paragraph in t for t in texts) == 1  # whole, in one message
    assert [bool(m.get("reply_markup")) for m in sent] == [False] * (len(sent) - 1) + [True]
    assert telegram.documents(GROUP)[0]["reply_parameters"]["message_id"] == sent[0]["message_id"]
    assert telegram.pinned(GROUP) == [sent[0]["message_id"]]

    posts = discord_standin.posts(CHANNEL)
    assert len(posts) >= 5 and [p["id"] for p in posts] == dc_ids
    assert all(len(p["content"]) <= 2000 for p in posts)
    joined = "\n".join(p["content"] for p in posts)
    for paragraph in paragraphs:
        assert sum(paragraph in p["content"] for p in posts) == 1, paragraph[:20]
    assert joined.count("<t:") == 2
    assert [bool(p.get("components")) for p in posts] == [False] * (len(posts) - 1) + [True]
    assert [bool(p["files"]) for p in posts] == [False] * (len(posts) - 1) + [True]
    assert discord_standin.pinned(CHANNEL) == [int(posts[0]["id"])]


async def test_refused_pins_and_events_do_not_fail_the_delivery(running, telegram, discord_standin, aredis, keys):
    telegram.deny_pin(GROUP)
    discord_standin.pin_messages = False
    discord_standin.manage_events = False
    start = start_in_days(3)
    tg_post = post("telegram", GROUP, "en", "Hello", announcement=view("en", start=start))
    dc_post = post("discord", CHANNEL, "de", "Hallo", announcement=view("de", start=start))
    await put(aredis, keys, tg_post)
    await put(aredis, keys, dc_post)
    assert len(await wait_until(lambda: copies(aredis, keys, tg_post), message="Telegram copies")) == 2
    assert len(await wait_until(lambda: copies(aredis, keys, dc_post), message="Discord copies")) == 1
    assert telegram.pinned(GROUP) == [] and discord_standin.pinned(CHANNEL) == []
    assert discord_standin.events(GUILD) == []
    for name in ("telegram.announcement.pin_refused", "discord.announcement.pin_refused"):
        assert await wait_until(lambda name=name: _stat(aredis, keys, name), message=name)
    assert await wait_until(lambda: _stat(aredis, keys, "discord.announcement.event_refused"), message="refused")
    # Nothing dead-lettered, nothing sent twice.
    assert len(telegram.sent(GROUP)) == 1 and len(discord_standin.posts(CHANNEL)) == 1


async def test_a_reminder_has_no_buttons_file_pin_or_event(running, telegram, discord_standin, aredis, keys):
    start = start_in_days(2)
    reminder = view("en", start=start, pin=False, kind="reminder")
    tg_post = post("telegram", GROUP, "en", "", announcement=reminder, source_id=f"{ANNOUNCEMENT}.r86400")
    dc_post = post("discord", CHANNEL, "en", "", announcement=reminder, source_id=f"{ANNOUNCEMENT}.r86400")
    await put(aredis, keys, tg_post)
    await put(aredis, keys, dc_post)
    assert len(await wait_until(lambda: copies(aredis, keys, tg_post), message="Telegram copies")) == 1
    assert len(await wait_until(lambda: copies(aredis, keys, dc_post), message="Discord copies")) == 1
    [message] = telegram.sent(GROUP)
    assert "reply_markup" not in telegram.message(GROUP, message["message_id"])
    assert telegram.message(GROUP, message["message_id"])["text"].startswith("📢 Reminder · Leicester")
    assert telegram.documents(GROUP) == [] and telegram.pinned(GROUP) == []
    [dc_sent] = discord_standin.posts(CHANNEL)
    assert dc_sent["components"] == [] and dc_sent["files"] == [] and f"<t:{int(start)}:F>" in dc_sent["content"]
    assert discord_standin.events(GUILD) == []


async def test_a_calendar_file_that_fails_is_retried_with_the_whole_post(running, telegram, aredis, keys):
    telegram.fail_next("sendDocument", 502)
    tg_post = post("telegram", GROUP, "en", "Hello", announcement=view("en", start=start_in_days(4)))
    await put(aredis, keys, tg_post)
    ids = await wait_until(lambda: copies(aredis, keys, tg_post), timeout=30, message="the copies recorded")
    # The first attempt's message was taken back; the second shows the notice once, with its file.
    assert len(telegram.sent(GROUP)) == 2 and len(telegram.transcript(GROUP)) == 2
    [document] = telegram.documents(GROUP)
    assert ids == [str(telegram.sent(GROUP)[-1]["message_id"]), str(document["message_id"])]
    assert telegram.pinned(GROUP) == [telegram.sent(GROUP)[-1]["message_id"]]


async def test_a_chat_refusing_documents_still_gets_the_notice(running, telegram, aredis, keys):
    telegram.fail_next("sendDocument", 400, description="Bad Request: not enough rights to send documents to the chat")
    tg_post = post("telegram", GROUP, "en", "Hello", announcement=view("en", start=start_in_days(4)))
    await put(aredis, keys, tg_post)
    ids = await wait_until(lambda: copies(aredis, keys, tg_post), message="the copies recorded")
    assert ids == [str(telegram.sent(GROUP)[0]["message_id"])] and telegram.documents(GROUP) == []
    assert await wait_until(lambda: _stat(aredis, keys, "telegram.announcement.calendar_refused"), message="counted")
    # An edit (new totals) with only the message as a copy edits that message.
    counts = {"going": 1, "maybe": 0, "cant": 0}
    await put(
        aredis,
        keys,
        replace(tg_post, kind=EventKind.EDIT, announcement=view("en", start=start_in_days(4), counts=counts)),
    )
    await wait_until(
        lambda: telegram.message(GROUP, int(ids[0]))["text"].endswith("Going: 1 · Maybe: 0 · Can't: 0"),
        message="the edit",
    )


async def test_one_scheduled_event_per_server(running, discord_standin, aredis, keys):
    start = start_in_days(6)
    first = post("discord", CHANNEL, "de", "Hallo", announcement=view("de", start=start))
    second = post("discord", SECOND_CHANNEL, "en", "Hello", announcement=view("en", start=start))
    await put(aredis, keys, first)
    await put(aredis, keys, second)
    await wait_until(lambda: copies(aredis, keys, first), message="the first channel's copy")
    await wait_until(lambda: copies(aredis, keys, second), message="the second channel's copy")
    assert len(discord_standin.events(GUILD)) == 1
    assert discord_standin.pinned(CHANNEL) and discord_standin.pinned(SECOND_CHANNEL)
    assert await aredis.ttl(keys.discord_guild_event(ANNOUNCEMENT, str(GUILD))) > 6 * 86400


async def _stat(aredis, keys, name: str) -> int:
    return (await Stats(aredis, keys).read()).get(name, 0)
