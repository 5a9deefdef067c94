"""Recorded Bot API updates -> aiogram types -> the bridge's events (or a skip reason)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiogram.types import MessageEntity, Update

import bridge.telegram
from core.models import Attachment, EventKind, MessageRef, PlatformEvent, Shared
from bridge.telegram.convert import event_from_message, skip_reason

PAYLOADS = Path(bridge.telegram.__file__).parent / "payloads"
CHAT = "-1001000000001"


def load(name: str):
    """(message, kind) from a recorded update, through aiogram's own validation."""
    update = Update.model_validate(json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8")))
    if update.edited_message is not None:
        return update.edited_message, EventKind.EDIT
    if update.edited_channel_post is not None:
        return update.edited_channel_post, EventKind.EDIT
    if update.channel_post is not None:
        return update.channel_post, EventKind.NEW
    assert update.message is not None
    return update.message, EventKind.NEW


def convert(name: str) -> PlatformEvent | None:
    message, kind = load(name)
    return event_from_message(message, kind)


def test_every_recorded_payload_is_a_valid_update_and_converts_or_skips():
    names = sorted(p.stem for p in PAYLOADS.glob("*.json"))
    assert len(names) >= 11
    for name in names:
        message, kind = load(name)
        event = event_from_message(message, kind)
        reason = skip_reason(message)
        assert (event is None) == (reason is not None), name
        if event is not None:  # survives the trip through Celery as JSON
            assert PlatformEvent.from_dict(json.loads(json.dumps(event.to_dict()))) == event


def test_text_message():
    event = convert("text_message")
    assert event.kind == EventKind.NEW
    assert event.source == MessageRef("telegram", CHAT, "41")
    assert event.text == "Hello Krefeld! Who is coming to the spring fair? <b>&</b> see you"
    assert event.author.id == "111222333"
    assert event.author.display_name == "Anna Smith"
    assert event.author.first_name == "Anna"
    assert event.author.username == "anna_smith"
    assert event.author.is_bot is False
    assert event.timestamp == 1767225600.0
    assert event.revision == 0 and event.reply_to is None and event.attachments == ()


def test_reply_points_at_the_replied_message_in_the_same_chat():
    event = convert("reply")
    assert event.reply_to == MessageRef("telegram", CHAT, "41")
    assert event.author.display_name == "Raj"
    assert event.author.username is None


def test_edit_carries_the_edit_date_as_revision():
    event = convert("edit")
    assert event.kind == EventKind.EDIT
    assert event.source == MessageRef("telegram", CHAT, "41")
    assert event.revision == 1767225600 + 120
    assert "12 April" in event.text
    # Two edits within one second share edit_date; the text's digest tells them apart.
    assert event.dedup_key.startswith(f"telegram:{CHAT}:41:edit:{1767225600 + 120}:")


def test_photo_with_caption_takes_the_largest_size():
    event = convert("photo_caption")
    assert event.text == "The twinning stone in the park"
    assert event.attachments == (
        Attachment("photo", "AgACAgQAAxkBAAIBK2XlargeAAA", size=98211, mime_type="image/jpeg", width=1280, height=960),
    )


def test_document_and_voice_become_attachments():
    document = convert("document")
    assert document.text == ""
    assert [(a.kind, a.file_name, a.mime_type) for a in document.attachments] == [
        ("document", "programme.pdf", "application/pdf")
    ]
    voice = convert("voice")
    assert voice.attachments == (Attachment("voice", "AwACAgQAAxkBAAIBM2Xvoice", None, "audio/ogg", 12345, duration=4),)


def test_an_animation_is_one_animation_not_its_document_copy():
    event = convert("animation")
    assert event.text == "Our float this year"
    assert event.attachments == (
        Attachment(
            "animation",
            "CgACAgQAAxkBAAIBPGXanim",
            "dance.gif.mp4",
            "video/mp4",
            184320,
            width=480,
            height=270,
            duration=3,
        ),
    )


def test_every_media_kind_keeps_its_kind_size_and_spoiler():
    video = convert("video").attachments
    assert video == (
        Attachment(
            "video",
            "BAACAgQAAxkBAAIBPWXvideo",
            "parade.mp4",
            "video/mp4",
            2345678,
            width=1280,
            height=720,
            duration=12,
            spoiler=True,
        ),
    )
    note = convert("video_note").attachments
    assert note == (
        Attachment(
            "video_note", "DQACAgQAAxkBAAIBPmXnote", None, "video/mp4", 456789, width=384, height=384, duration=8
        ),
    )
    audio = convert("audio").attachments
    assert audio == (
        Attachment("audio", "CQACAgQAAxkBAAIBP2Xaudio", "anthem.mp3", "audio/mpeg", 2960000, duration=185),
    )


def test_sticker_is_shared_with_its_emoji():
    event = convert("sticker")
    assert event.text == ""
    assert event.shared == (Shared("sticker", emoji="👍"),)


def test_poll_question_and_options_are_the_text_and_it_is_marked_a_poll():
    event = convert("poll")
    assert event.text == "Which weekend for the visit?\n• 3-4 May\n• 10-11 May"
    assert event.shared == (Shared("poll"),)


def test_dice_location_venue_contact_are_shared_as_data():
    assert convert("dice").shared == (Shared("dice", emoji="🎲", value=4),)
    assert convert("location").shared == (Shared("location", latitude=52.636878, longitude=-1.139759),)
    assert convert("live_location").shared[0].kind == "live_location"
    (venue,) = convert("venue").shared  # one line: the venue's location is not a second item
    assert (venue.kind, venue.title, venue.address) == ("venue", "Victoria Park", "Granville Rd, Leicester")
    assert convert("contact").shared == (Shared("contact", title="Tom Baker", phone="+447700900123"),)
    assert convert("game").shared == (Shared("other", title="game"),)
    assert all(convert(n).text == "" for n in ("dice", "location", "venue", "contact", "game"))


def test_a_live_location_moving_is_not_relayed_again():
    message, _ = load("live_location_update")
    assert skip_reason(message) == "live_location_update"


def test_channel_post_is_signed_by_the_channel_and_its_author():
    event = convert("channel_post")
    assert event.source == MessageRef("telegram", "-1001000000009", "12")
    assert event.author.id == "-1001000000009"
    assert event.author.display_name == "Leicester Twinning News (Anna Smith)"
    assert event.author.first_name == "Leicester Twinning News"
    edit = convert("edited_channel_post")
    assert edit.kind == EventKind.EDIT and edit.revision == 1767229260


def test_a_message_sent_via_an_inline_bot_is_the_members():
    event = convert("via_bot")
    assert event.text == "funny cat"
    assert event.author.display_name == "Raj"


def test_automatic_forward_speaks_as_the_channel_and_is_no_forward_label():
    event = convert("automatic_forward")
    assert event.author.display_name == "Leicester Twinning News (Anna Smith)"
    assert event.text.startswith("The spring fair")
    assert event.forwarded_from is None


def test_a_forward_keeps_its_content_and_says_where_it_came_from():
    event = convert("forwarded_from_user")
    assert event.text == "Minibus leaves at 8."
    assert event.forwarded_from is not None and event.forwarded_from.name == "Tom Baker"


@pytest.mark.parametrize(
    "name, reason",
    [
        ("new_chat_members", "service"),
        ("pinned_message", "service"),
        ("from_bot", "from_bot"),
        ("bot_command", "command"),
        ("live_location_update", "live_location_update"),
    ],
)
def test_skipped_on_purpose(name, reason):
    message, kind = load(name)
    assert skip_reason(message) == reason
    assert event_from_message(message, kind) is None


def test_long_text_is_kept_whole_for_the_pipeline():
    event = convert("long_text")
    assert len(event.text) == 5000


def test_unknown_chat_still_converts_the_middleware_drops_it():
    event = convert("unknown_chat")
    assert event.source.chat_id == "-1009999999999"


def test_anonymous_admin_speaks_as_the_group():
    event = convert("anonymous_admin")
    assert event.author.id == CHAT
    assert event.author.display_name == "Leicester Twinning Association"
    assert event.author.is_bot is False


def test_forum_topic_root_is_not_a_reply():
    event = convert("forum_topic_message")
    # Issue 15: a topic's message names its topic, as a Discord thread's does, and says which.
    assert event.text == "🧵 Spring fair\nStalls are booked."
    assert event.reply_to is None
    assert event.thread and event.thread.isdigit()


def test_a_command_later_in_the_text_is_not_a_command():
    message, _ = load("text_message")
    message = message.model_copy(
        update={"text": "see /privacy", "entities": [MessageEntity(type="bot_command", offset=4, length=8)]}
    )
    assert skip_reason(message) is None


def test_empty_message_is_skipped():
    message, _ = load("text_message")
    assert skip_reason(message.model_copy(update={"text": None})) == "empty"
