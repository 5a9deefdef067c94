"""Recorded gateway payloads -> discord.py's own parsers -> convert / the cog.

The payloads are fed to the same ConnectionState parsers the gateway feeds
(``state.parsers["MESSAGE_CREATE"]`` etc.), so the objects under test are
exactly what discord.py hands the cog at run time.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path

import discord
import pytest

import bridge.discord
from bridge.discord import convert
from bridge.discord.adapter import intents
from bridge.discord.cog import RelayCog
from core.models import Author, ChatRef, EventKind, MessageRef, Shared

PAYLOADS = Path(bridge.discord.__file__).parent / "payloads"
BOT_ID = 900000000000000001
LINKED = "112233445566778899"
UNLINKED = "112233445566778800"


def load(name: str) -> dict:
    return json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))


class Gateway:
    """A real discord.py ConnectionState that knows the recorded guild;
    ``feed`` runs a dispatch through discord.py's parser and returns what
    discord.py dispatched to listeners."""

    def __init__(self):
        self.client = discord.Client(intents=intents(), max_messages=None)
        self.state = self.client._connection
        self.dispatched: list[tuple[str, tuple]] = []
        self.state.dispatch = lambda event, *args: self.dispatched.append((event, args))
        self.state.parsers["GUILD_CREATE"](load("guild_create"))

    def feed(self, event: str, payload: dict):
        self.dispatched.clear()
        self.state.parsers[event](copy.deepcopy(payload))
        wanted = {
            "MESSAGE_CREATE": "message",
            "MESSAGE_UPDATE": "raw_message_edit",
            "MESSAGE_DELETE": "raw_message_delete",
            "THREAD_CREATE": "thread_create",
        }[event]
        (args,) = [args for name, args in self.dispatched if name == wanted]
        return args[0]


@pytest.fixture
def gateway():
    return Gateway()


def ts(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def test_member_text_becomes_a_new_event(gateway):
    payload = load("message_create_text")
    message = gateway.feed("MESSAGE_CREATE", payload)
    assert convert.skip_reason(message, {BOT_ID}) is None
    event = convert.event_from_message(message, EventKind.NEW)
    assert event.kind is EventKind.NEW
    assert event.source == MessageRef("discord", LINKED, payload["id"])
    assert event.text == "Guten Morgen Leicester! Wir freuen uns auf euren Besuch im Juni."
    assert event.author == Author(
        id="331122334455667788", display_name="Jürgen Becker", first_name="Jürgen", username="juergen.b", is_bot=False
    )
    assert event.reply_to is None and event.attachments == ()
    assert event.timestamp == ts(payload["timestamp"])
    assert event.revision == 0


def test_reply_points_at_the_replied_message_and_name_falls_back_to_username(gateway):
    payload = load("message_create_reply")
    message = gateway.feed("MESSAGE_CREATE", payload)
    assert convert.skip_reason(message, {BOT_ID}) is None
    event = convert.event_from_message(message, EventKind.NEW)
    assert event.reply_to == MessageRef("discord", LINKED, payload["message_reference"]["message_id"])
    assert event.reply_to.message_id == load("message_create_text")["id"]
    assert event.author.display_name == "maria_k"  # no global_name
    assert event.author.first_name == "maria_k"
    assert event.text == "Und bringt Regenschirme mit 😄"


def test_image_attachment_becomes_a_photo(gateway):
    payload = load("message_create_image")
    event = convert.event_from_message(gateway.feed("MESSAGE_CREATE", payload), EventKind.NEW)
    (attachment,) = event.attachments
    recorded = payload["attachments"][0]
    assert attachment.kind == "photo"
    assert attachment.url == recorded["url"]
    assert attachment.file_name == "rathausplatz.jpg"
    assert attachment.mime_type == "image/jpeg"
    assert attachment.size == recorded["size"]
    assert event.text == "Der Rathausplatz heute"


@pytest.mark.parametrize(
    "content_type, kind",
    [
        ("image/png", "photo"),
        ("video/mp4", "video"),
        ("audio/ogg", "audio"),
        ("image/gif", "animation"),
        ("IMAGE/GIF; charset=binary", "animation"),
        ("application/pdf", "document"),
        (None, "document"),
        ("", "document"),
    ],
)
def test_attachment_kinds(content_type, kind):
    assert convert.attachment_kind(content_type) == kind


def test_an_album_is_one_event_with_every_attachment_in_order(gateway):
    recorded = load("message_create_album")
    event = convert.event_from_message(gateway.feed("MESSAGE_CREATE", recorded), EventKind.NEW)
    assert event is not None
    assert [a.file_id for a in event.attachments] == [a["id"] for a in recorded["attachments"]]
    assert {a.kind for a in event.attachments} == {"photo"}
    first = event.attachments[0]
    assert (first.file_name, first.width, first.height, first.size) == ("fest_1.jpg", 1600, 1200, 350000)
    assert first.url == recorded["attachments"][0]["url"]


def test_a_voice_message_is_voice_with_its_duration(gateway):
    message = gateway.feed("MESSAGE_CREATE", load("message_create_voice"))
    assert convert.skip_reason(message, {BOT_ID}) is None  # no text, but a file
    event = convert.event_from_message(message, EventKind.NEW)
    assert event is not None and event.text == ""
    (voice,) = event.attachments
    assert (voice.kind, voice.mime_type, voice.duration, voice.file_name) == (
        "voice",
        "audio/ogg",
        7.21,
        "voice-message.ogg",
    )


def test_an_audio_file_without_the_voice_flag_is_audio(gateway):
    recorded = load("message_create_voice")
    recorded["flags"] = 0
    (audio,) = convert.event_from_message(gateway.feed("MESSAGE_CREATE", recorded), EventKind.NEW).attachments
    assert audio.kind == "audio"


def test_media_kinds_spoilers_and_names(gateway):
    event = convert.event_from_message(
        gateway.feed("MESSAGE_CREATE", load("message_create_media_kinds")), EventKind.NEW
    )
    shown = [(a.kind, a.file_name, a.spoiler) for a in event.attachments]
    assert shown == [
        ("photo", "ueberraschung.png", True),  # the SPOILER_ prefix travels as the flag
        ("animation", "tanz.gif", False),
        ("video", "umzug.mp4", False),
        ("document", "protokoll.pdf", False),
        ("audio", "lied.mp3", False),
    ]
    assert event.attachments[2].duration is None


def test_hostile_attachment_fields_are_dropped_not_trusted(gateway):
    recorded = load("message_create_image")
    recorded["attachments"][0].update({"width": -5, "height": 0, "filename": "SPOILER_"})
    (attachment,) = convert.event_from_message(gateway.feed("MESSAGE_CREATE", recorded), EventKind.NEW).attachments
    assert (attachment.width, attachment.height, attachment.spoiler) == (None, None, True)
    assert attachment.file_name == "SPOILER_"


def test_sticker_only_message_is_relayed_as_a_sticker(gateway):
    message = gateway.feed("MESSAGE_CREATE", load("message_create_sticker"))
    assert convert.skip_reason(message, {BOT_ID}) is None
    event = convert.event_from_message(message, EventKind.NEW)
    assert event.text == "" and event.shared == (Shared("sticker", title="Wave"),)


def test_a_thread_message_is_its_linked_parents_with_the_threads_name(gateway):
    gateway.feed("THREAD_CREATE", load("thread_create"))
    message = gateway.feed("MESSAGE_CREATE", load("message_create_thread"))
    assert convert.skip_reason(message, {BOT_ID}) is None
    event = convert.event_from_message(message, EventKind.NEW)
    assert event.source == MessageRef("discord", LINKED, "1372150000000000002")
    assert event.text == "🧵 Ausflug nach Leicester\nWer fährt mit dem Bus?"


def test_a_forum_post_is_its_forums_with_the_posts_title(gateway):
    gateway.feed("THREAD_CREATE", load("thread_create_forum_post"))
    message = gateway.feed("MESSAGE_CREATE", load("message_create_forum_post"))
    event = convert.event_from_message(message, EventKind.NEW)
    assert event.source.chat_id == "112233445566778877"
    assert event.text == "🧵 Fotos vom Stadtfest\nHier kommen die Fotos hin."


def test_a_poll_is_its_question_and_answers_marked_as_a_poll(gateway):
    message = gateway.feed("MESSAGE_CREATE", load("message_create_poll"))
    assert convert.skip_reason(message, {BOT_ID}) is None
    event = convert.event_from_message(message, EventKind.NEW)
    assert event.text == "Welches Wochenende?\n• 3.-4. Mai\n• 10.-11. Mai"
    assert event.shared == (Shared("poll"),)


def test_a_forwarded_message_brings_its_snapshots_content_and_files(gateway):
    message = gateway.feed("MESSAGE_CREATE", load("message_create_forward_with_file"))
    assert convert.skip_reason(message, {BOT_ID}) is None
    event = convert.event_from_message(message, EventKind.NEW)
    assert event.text == "Der Bus fährt um 8 Uhr."
    assert [(a.kind, a.file_name) for a in event.attachments] == [("document", "fahrplan.pdf")]
    assert event.forwarded_from is not None
    assert event.reply_to is None  # a forward quotes, it does not answer


@pytest.mark.parametrize(
    "name, reason",
    [
        ("message_create_webhook", "webhook"),
        ("message_create_other_bot", "bot"),
        ("message_create_member_join", "system"),
    ],
)
def test_messages_that_must_not_cross(gateway, name, reason):
    assert convert.skip_reason(gateway.feed("MESSAGE_CREATE", load(name)), {BOT_ID}) == reason


def test_our_own_bot_user_is_skipped(gateway):
    payload = load("message_create_text")
    payload["author"] = {
        "id": str(BOT_ID),
        "username": "twinbridge",
        "global_name": None,
        "discriminator": "0",
        "avatar": None,
        "bot": True,
        "public_flags": 0,
    }
    payload["content"] = "**Anna · Leicester:** hello"
    assert convert.skip_reason(gateway.feed("MESSAGE_CREATE", payload), {BOT_ID}) == "own_message"


def test_empty_content_is_skipped(gateway):
    # What Discord sends when the Message Content intent is missing.
    payload = load("message_create_text")
    payload["content"] = ""
    message = gateway.feed("MESSAGE_CREATE", payload)
    assert convert.skip_reason(message, {BOT_ID}) == "empty"
    assert convert.event_from_message(message, EventKind.NEW) is None


def test_long_text_arrives_whole(gateway):
    payload = load("message_create_long_text")
    assert len(payload["content"]) == 3000
    event = convert.event_from_message(gateway.feed("MESSAGE_CREATE", payload), EventKind.NEW)
    assert event.text == payload["content"]


def test_edit_is_numbered_by_its_edit_time(gateway):
    payload = load("message_update_edit")
    raw = gateway.feed("MESSAGE_UPDATE", payload)
    assert convert.edit_skip_reason(raw, {BOT_ID}) is None
    event = convert.event_from_raw_edit(raw)
    assert event.kind is EventKind.EDIT
    assert event.source == MessageRef("discord", LINKED, load("message_create_text")["id"])
    assert event.text.endswith("im Juli.")
    assert event.revision == int(ts(payload["edited_timestamp"]) * 1000)
    assert f":edit:{event.revision}" in event.dedup_key


def test_link_preview_update_is_not_an_edit(gateway):
    raw = gateway.feed("MESSAGE_UPDATE", load("message_update_embed"))
    assert convert.edit_skip_reason(raw, {BOT_ID}) == "not_edited"


def test_edit_of_a_webhook_post_is_skipped(gateway):
    payload = load("message_create_webhook")
    payload["content"] = "edited"
    payload["edited_timestamp"] = "2025-05-14T09:50:00.000000+00:00"
    assert convert.edit_skip_reason(gateway.feed("MESSAGE_UPDATE", payload), {BOT_ID}) == "webhook"


def test_delete_has_no_author(gateway):
    payload = load("message_delete")
    raw = gateway.feed("MESSAGE_DELETE", payload)
    assert convert.delete_skip_reason(raw, {BOT_ID}) is None
    event = convert.event_from_raw_delete(raw, now=1747215000.0)
    assert event.kind is EventKind.DELETE
    assert event.source == MessageRef("discord", LINKED, payload["id"])
    assert event.author == Author(id="", display_name="")
    assert event.text == "" and event.revision == 0


# -- the cog's decisions, with recorded payloads ---------------------------------


class RecordingIngress:
    def __init__(self):
        self.accepted = []

    async def accept(self, event):
        self.accepted.append(event)
        return True


class CountingStats:
    def __init__(self):
        self.counts: dict[str, int] = {}

    async def incr(self, name, amount=1):
        self.counts[name] = self.counts.get(name, 0) + amount

    def incr_soon(self, name, amount=1):
        self.counts[name] = self.counts.get(name, 0) + amount


class NoCopies:
    async def origin(self, ref):
        return None


class OneLinkedChannel:
    """LinksConfig's lookup, for one linked channel."""

    def memberships(self, chat: ChatRef):
        return ["membership"] if chat == ChatRef("discord", LINKED) else []


@pytest.fixture
def cog(gateway):
    gateway.state.user = discord.ClientUser(
        state=gateway.state,
        data={"id": str(BOT_ID), "username": "twinbridge", "discriminator": "0", "avatar": None, "bot": True},
    )
    return RelayCog(
        gateway.client, config=OneLinkedChannel(), ingress=RecordingIngress(), stats=CountingStats(), idmap=NoCopies()
    )


async def test_cog_drops_unlinked_channels_before_anything_else(gateway, cog):
    await cog.on_message(gateway.feed("MESSAGE_CREATE", load("message_create_unlinked_channel")))
    assert cog._ingress.accepted == []
    assert cog._stats.counts == {"discord.skipped.unknown_chat": 1}


async def test_cog_counts_skips_and_accepts_members(gateway, cog):
    for name in (
        "message_create_webhook",
        "message_create_other_bot",
        "message_create_member_join",
        "message_create_text",
        "message_create_reply",
    ):
        await cog.on_message(gateway.feed("MESSAGE_CREATE", load(name)))
    await cog.on_raw_message_edit(gateway.feed("MESSAGE_UPDATE", load("message_update_embed")))
    await cog.on_raw_message_edit(gateway.feed("MESSAGE_UPDATE", load("message_update_edit")))
    await cog.on_raw_message_delete(gateway.feed("MESSAGE_DELETE", load("message_delete")))
    assert cog._stats.counts == {
        "discord.skipped.webhook": 1,
        "discord.skipped.bot": 1,
        "discord.skipped.system": 1,
        "discord.skipped.not_edited": 1,
    }
    assert [(e.kind, e.source.message_id) for e in cog._ingress.accepted] == [
        (EventKind.NEW, load("message_create_text")["id"]),
        (EventKind.NEW, load("message_create_reply")["id"]),
        (EventKind.EDIT, load("message_create_text")["id"]),
        (EventKind.DELETE, load("message_create_text")["id"]),
    ]
