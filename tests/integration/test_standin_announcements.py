"""The stand-ins' side of announcements (issue 14), driven through the real clients:
Telegram's sendDocument (a multipart upload), pinChatMessage and the ``<tg-time>`` date_time
entity; Discord's bot messages with components and attachments (multipart with
payload_json, as discord.py sends them), edits keeping them, pins on the route discord.py
2.7 calls, guild scheduled events, and the 403s of a bot without the permissions."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta

import aiohttp
import discord
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters

from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn
from tests.integration.test_standin_private_and_buttons import connected, make_client

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

TG_TOKEN = "7000001:AAH-test-secret-token-for-the-stand-in"
GROUP = -1001000000001
DC_TOKEN = "OTAwMDAwMDAwMDAwMDAwMDAx.standin.S3cr3t-t0ken-for-tests"
GUILD = 112233445566770000
CHANNEL = 112233445566778899
ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
START = 1805000000


@pytest.fixture
async def telegram():
    server = TelegramStandIn(TG_TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def bot(telegram):
    client = Bot(TG_TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(telegram.url)))
    yield client
    await client.session.close()


# -- Telegram ---------------------------------------------------------------------------


async def test_tg_time_becomes_a_date_time_entity(telegram, bot):
    html = f'<b>Fest</b>\n<tg-time unix="{START}" format="wDT">Sa., 14. März 2027, 19:30 MEZ</tg-time>'
    message = await bot.send_message(GROUP, html, parse_mode="HTML")
    assert message.text == "Fest\nSa., 14. März 2027, 19:30 MEZ"
    entity = next(e for e in message.entities if e.type == "date_time")
    assert (entity.offset, entity.unix_time, entity.date_time_format) == (5, START, "wDT")
    assert entity.length == len("Sa., 14. März 2027, 19:30 MEZ")
    # Without a format the text is shown as written (no date_time_format).
    plain = await bot.send_message(GROUP, f'<tg-time unix="{START}">then</tg-time>', parse_mode="HTML")
    assert plain.entities[0].type == "date_time" and plain.entities[0].date_time_format is None
    for bad in (
        '<tg-time format="t">x</tg-time>',
        f'<tg-time unix="{START}" format="tw">x</tg-time>',
        f'<tg-time unix="{START}" format="rt">x</tg-time>',
    ):
        with pytest.raises(TelegramBadRequest, match="can't parse entities"):
            await bot.send_message(GROUP, bad, parse_mode="HTML")


async def test_send_document_upload_reply_caption_keyboard(telegram, bot):
    first = await bot.send_message(GROUP, "📢 Announcement")
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Going", callback_data="rsvp:a:going")]])
    sent = await bot.send_document(
        GROUP,
        BufferedInputFile(ICS, filename="event.ics"),
        caption="<b>Fest</b> 📅",
        parse_mode="HTML",
        reply_parameters=ReplyParameters(message_id=first.message_id),
        reply_markup=markup,
    )
    assert sent.document.file_name == "event.ics" and sent.document.mime_type == "text/calendar"
    assert sent.document.file_size == len(ICS)
    assert sent.caption == "Fest 📅" and sent.caption_entities[0].type == "bold"
    assert sent.reply_to_message.message_id == first.message_id
    [document] = telegram.documents(GROUP)
    assert document["data"] == ICS and document["message_id"] == sent.message_id
    assert document["document"]["file_name"] == "event.ics"
    assert telegram.message(GROUP, sent.message_id)["reply_markup"]["inline_keyboard"][0][0]["text"] == "Going"
    assert [m["text"] for m in telegram.sent(GROUP)] == ["📢 Announcement"]  # sendMessage only

    # A file_id sent before is sent again without an upload; an unknown one is refused.
    again = await bot.send_document(GROUP, sent.document.file_id)
    assert telegram.documents(GROUP)[-1]["data"] == ICS and again.document.file_id == sent.document.file_id
    with pytest.raises(TelegramBadRequest, match="there is no text in the message to edit"):
        await bot.edit_message_text("x", chat_id=GROUP, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_document(GROUP, "no-such-file")
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        await bot.send_document(GROUP, BufferedInputFile(ICS, filename="e.ics"), caption="x" * 1025)
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_document(
            GROUP, BufferedInputFile(ICS, filename="e.ics"), reply_parameters=ReplyParameters(message_id=999)
        )


async def test_pin_and_the_right_to_pin(telegram, bot):
    one = await bot.send_message(GROUP, "one")
    two = await bot.send_message(GROUP, "two")
    assert await bot.pin_chat_message(GROUP, one.message_id, disable_notification=False)
    assert await bot.pin_chat_message(GROUP, two.message_id)
    assert telegram.pinned(GROUP) == [one.message_id, two.message_id]
    assert await bot.unpin_chat_message(GROUP, message_id=one.message_id)
    await bot.delete_message(GROUP, two.message_id)  # a deleted message is no longer pinned
    assert telegram.pinned(GROUP) == []
    with pytest.raises(TelegramBadRequest, match="message to pin not found"):
        await bot.pin_chat_message(GROUP, 999)

    other = -1001000000002
    telegram.deny_pin(other)
    three = await bot.send_message(other, "three")
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{telegram.url}/bot{TG_TOKEN}/pinChatMessage", json={"chat_id": other, "message_id": three.message_id}
        ) as resp,
    ):
        assert resp.status == 400
        assert await resp.json() == {
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: not enough rights to manage pinned messages in the chat",
        }
    assert telegram.pinned(other) == []


async def test_edit_message_text_with_keyboard_keeps_entities(telegram, bot):
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Going", callback_data="rsvp:a:going")]])
    html = f'<tg-time unix="{START}" format="wDT">then</tg-time> · 0 going'
    sent = await bot.send_message(GROUP, html, parse_mode="HTML", reply_markup=markup)
    edited = await bot.edit_message_text(
        html.replace("0 going", "1 going"),
        chat_id=GROUP,
        message_id=sent.message_id,
        parse_mode="HTML",
        reply_markup=markup,
    )
    assert edited.text.endswith("1 going") and edited.entities[0].type == "date_time"
    assert telegram.message(GROUP, sent.message_id)["reply_markup"] == markup.model_dump(exclude_none=True)


# -- Discord ----------------------------------------------------------------------------


@pytest.fixture
async def discord_standin():
    server = DiscordStandIn(
        DC_TOKEN, {GUILD: {"name": "Krefeld", "channels": {CHANNEL: "partnerschaft"}}}, route_limit=(50, 1.0)
    )
    await server.start()
    yield server
    await server.stop()


def rsvp_view() -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for label, data in (("Going", "rsvp:a7k2m9:going"), ("Maybe", "rsvp:a7k2m9:maybe")):
        view.add_item(discord.ui.Button(label=label, custom_id=data))
    return view


async def test_bot_message_with_components_and_attachment(discord_standin):
    async with connected(discord_standin, make_client()) as client:
        channel = client.get_channel(CHANNEL)
        message = await channel.send(
            f"**Fest** <t:{START}:F>", view=rsvp_view(), file=discord.File(_bytes(ICS), filename="event.ics")
        )
        [attachment] = message.attachments
        assert attachment.filename == "event.ics" and attachment.size == len(ICS)
        assert attachment.content_type == "text/calendar; charset=utf-8"
        assert [c.custom_id for c in message.components[0].children] == ["rsvp:a7k2m9:going", "rsvp:a7k2m9:maybe"]
        [post] = discord_standin.posts(CHANNEL)
        assert post["via"] == "bot" and post["files"][0]["data"] == ICS
        assert post["content"] == f"**Fest** <t:{START}:F>"
        assert discord_standin.attachment_bytes(discord_standin.message(CHANNEL, message.id)["attachments"][0]) == ICS

        # An edit of the content alone keeps the components and the attachment.
        await message.edit(content="**Fest** (1 going)")
        stored = discord_standin.message(CHANNEL, message.id)
        assert stored["content"] == "**Fest** (1 going)"
        assert len(stored["components"][0]["components"]) == 2 and len(stored["attachments"]) == 1
        # Sending the view again replaces the components; attachments=[] removes the file.
        await message.edit(view=discord.ui.View(timeout=None), attachments=[])
        stored = discord_standin.message(CHANNEL, message.id)
        assert stored["components"] == [] and stored["attachments"] == []


async def test_pins_on_the_route_discord_py_calls(discord_standin):
    async with connected(discord_standin, make_client()) as client:
        channel = client.get_channel(CHANNEL)
        message = await channel.send("pin me")
        await message.pin()
        assert discord_standin.pinned(CHANNEL) == [message.id]
        assert any(
            r[1] == "PUT" and r[2].endswith(f"/channels/{CHANNEL}/messages/pins/{message.id}")
            for r in discord_standin.requests
        )
        assert discord_standin.message(CHANNEL, message.id)["pinned"] is True
        assert [m.id for m in await channel.pins()] == [message.id]
        await message.unpin()
        assert discord_standin.pinned(CHANNEL) == []

        discord_standin.pin_messages = False
        with pytest.raises(discord.Forbidden) as refused:
            await message.pin()
        assert (refused.value.status, refused.value.code) == (403, 50013)
        assert discord_standin.pinned(CHANNEL) == []


async def test_guild_scheduled_events(discord_standin):
    start = datetime.now(UTC) + timedelta(days=3)
    async with connected(discord_standin, make_client()) as client:
        guild = client.get_guild(GUILD)
        event = await guild.create_scheduled_event(
            name="Städtepartnerschaftsfest",
            start_time=start,
            end_time=start + timedelta(hours=1),
            entity_type=discord.EntityType.external,
            privacy_level=discord.PrivacyLevel.guild_only,
            location="Rathaus Krefeld",
            description="Alle sind willkommen",
        )
        assert event.location == "Rathaus Krefeld" and event.entity_type == discord.EntityType.external
        [stored] = discord_standin.events(GUILD)
        assert (
            stored["name"] == "Städtepartnerschaftsfest" and stored["entity_metadata"]["location"] == "Rathaus Krefeld"
        )
        assert datetime.fromisoformat(stored["scheduled_start_time"]).timestamp() == pytest.approx(
            start.timestamp(), abs=1
        )

        # Discord's checks: an external event needs an end; none in the past.
        with pytest.raises(discord.HTTPException) as no_end:
            await client.http.create_guild_scheduled_event(
                GUILD,
                name="x",
                privacy_level=2,
                entity_type=3,
                entity_metadata={"location": "here"},
                scheduled_start_time=start.isoformat(),
            )
        assert no_end.value.code == 50035
        with pytest.raises(discord.HTTPException) as past:
            await client.http.create_guild_scheduled_event(
                GUILD,
                name="x",
                privacy_level=2,
                entity_type=3,
                entity_metadata={"location": "here"},
                scheduled_start_time=datetime.fromtimestamp(time.time() - 60, UTC).isoformat(),
                scheduled_end_time=start.isoformat(),
            )
        assert past.value.code == 50035

        discord_standin.manage_events = False
        with pytest.raises(discord.Forbidden) as refused:
            await guild.create_scheduled_event(
                name="x",
                start_time=start,
                end_time=start + timedelta(hours=1),
                entity_type=discord.EntityType.external,
                privacy_level=discord.PrivacyLevel.guild_only,
                location="here",
            )
        assert (refused.value.status, refused.value.code) == (403, 50013)
        assert len(discord_standin.events(GUILD)) == 1


def _bytes(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)
