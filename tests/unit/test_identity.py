"""Identity across the bridge (issue 15, item 5) and the reactions' count line (item 7),
as plain functions: recorded payloads -> forward origins, what each policy lets a
forward say, the avatar a post asks for, the avatar photo without metadata."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from aiogram.types import Update
from PIL import Image

import bridge.telegram
from bridge.avatars.neutral import neutral_avatar_url
from bridge.avatars.photos import NotAnImage, scrubbed_avatar
from bridge.reactions import count_lines
from bridge.telegram.convert import event_from_message
from bridge.telegram.reactions import reaction_changes
from core.links.loading import load_links
from core.models import Author, ChatRef, EventKind, ForwardOrigin, MessageRef, PlatformEvent
from core.phrases import forwarded_note
from core.storage.reactions import Counts
from workers.pipeline import avatar_of
from workers.privacy import shown_forward_origin

from .test_discord_convert import Gateway, load as load_discord

TG_PAYLOADS = Path(bridge.telegram.__file__).parent / "payloads"


def tg_update(name: str) -> Update:
    return Update.model_validate(json.loads((TG_PAYLOADS / f"{name}.json").read_text(encoding="utf-8")))


def test_telegram_forward_origins_are_read_from_recorded_updates():
    channel = event_from_message(tg_update("forward_channel").message, EventKind.NEW)
    assert channel.forwarded_from == ForwardOrigin("channel", "Leicester News", public=True, date=1747211620.0)
    user = event_from_message(tg_update("forward_user").message, EventKind.NEW).forwarded_from
    assert (user.kind, user.name, user.first_name, user.public) == ("user", "Bob Jones", "Bob", False)
    hidden = event_from_message(tg_update("forward_hidden_user").message, EventKind.NEW).forwarded_from
    assert (hidden.kind, hidden.name) == ("hidden_user", "Carol Hidden")
    assert event_from_message(tg_update("text_message").message, EventKind.NEW).forwarded_from is None
    # The origin survives the trip through Redis and Celery (JSON).
    assert PlatformEvent.from_dict(json.loads(json.dumps(channel.to_dict()))) == channel


def test_a_discord_forward_names_the_channel_of_its_server():
    gateway = Gateway()
    message = gateway.feed("MESSAGE_CREATE", load_discord("message_create_forward"))
    from bridge.discord.convert import forward_origin_of

    origin = forward_origin_of(message)
    assert (origin.kind, origin.name, origin.public) == ("channel", "#vorstand-intern", True)
    assert origin.date == pytest.approx(1747209600.0)
    assert forward_origin_of(gateway.feed("MESSAGE_CREATE", load_discord("message_create_reply"))) is None


USER = ForwardOrigin("user", "Bob Jones", "Bob")
HIDDEN = ForwardOrigin("hidden_user", "Carol Hidden")
PUBLIC = ForwardOrigin("channel", "Leicester News", public=True)
PRIVATE = ForwardOrigin("chat", "Smith family", public=False)
DISCORD = ForwardOrigin("message")


@pytest.mark.parametrize(
    ("mode", "user", "hidden", "public", "private"),
    [
        ("full", "Bob Jones", "Carol Hidden", "Leicester News", "Smith family"),
        ("first_name", "Bob", "", "Leicester News", "Smith family"),
        ("initials", "B.J.", "", "Leicester News", ""),
        ("pseudonym", "", "", "", ""),
        ("hidden", "", "", "", ""),
    ],
)
def test_what_a_forward_may_say_under_each_policy(mode, user, hidden, public, private):
    assert shown_forward_origin(USER, mode) == user
    assert shown_forward_origin(HIDDEN, mode) == hidden
    assert shown_forward_origin(PUBLIC, mode) == public
    assert shown_forward_origin(PRIVATE, mode) == private
    assert shown_forward_origin(DISCORD, mode) == ""


def test_the_forward_line_in_the_readers_language():
    assert forwarded_note("en", "Leicester News") == "↪ forwarded from Leicester News"
    assert forwarded_note("de", "Leicester News") == "↪ weitergeleitet von Leicester News"
    assert forwarded_note("es", "") == "↪ reenviado"
    assert forwarded_note("xx", "") == "↪ forwarded"
    # An origin's name is one line, and cannot forge our separator.
    assert forwarded_note("en", "Evil\nAdmin · Krefeld") == "↪ forwarded from Evil Admin - Krefeld"


def _event(platform: str, author_id: str) -> PlatformEvent:
    return PlatformEvent(EventKind.NEW, MessageRef(platform, "1", "2"), Author(author_id, "Anna Smith", "Anna"))


def test_the_avatar_a_post_asks_for():
    discord, telegram = ChatRef("discord", "9"), ChatRef("telegram", "-5")
    assert avatar_of(_event("telegram", "5001"), "first_name", discord) == "telegram:5001"
    assert avatar_of(_event("telegram", "5001"), "full", discord) == "telegram:5001"
    for mode in ("initials", "pseudonym", "hidden"):
        assert avatar_of(_event("telegram", "5001"), mode, discord) == "neutral"
    assert avatar_of(_event("telegram", "-100123"), "full", discord) == "neutral"  # a chat speaking, no user
    assert avatar_of(_event("discord", "331"), "full", discord) == "neutral"
    assert avatar_of(_event("telegram", "5001"), "full", telegram) == ""  # Telegram posts name the sender in text


def test_a_neutral_avatar_is_one_of_discords_defaults_and_stable_per_pseudonym():
    url = neutral_avatar_url("Blue Heron 42 · Year 8")
    assert url == neutral_avatar_url("Blue Heron 42 · Year 8")
    assert url.startswith("https://cdn.discordapp.com/embed/avatars/") and url[-5] in "012345"
    assert len({neutral_avatar_url(f"Member {i}") for i in range(40)}) == 6


def test_the_avatar_photo_keeps_no_metadata():
    image = Image.new("RGB", (800, 600), (10, 200, 30))
    exif = Image.Exif()
    exif[0xA431] = "SERIAL-123456"
    exif[0x8825] = {1: "N", 2: (52.0, 38.0, 0.0)}
    raw = io.BytesIO()
    image.save(raw, "JPEG", exif=exif, comment=b"taken at home")
    cleaned = scrubbed_avatar(raw.getvalue())
    result = Image.open(io.BytesIO(cleaned))
    assert result.format == "JPEG" and result.size == (256, 192)
    assert not result.getexif() and b"SERIAL" not in cleaned and b"taken at home" not in cleaned
    with pytest.raises(NotAnImage):
        scrubbed_avatar(b"\xff\xd8\xff\xe0 not really a jpeg")


def test_telegram_reaction_changes_count_emoji_and_skip_the_rest():
    class Counted:
        def __init__(self):
            self.names = []

        def incr_soon(self, name, amount=1):
            self.names.append(name)

    stats = Counted()
    update = Update.model_validate(
        json.loads((TG_PAYLOADS / "reactions" / "message_reaction.json").read_text(encoding="utf-8"))
    )
    assert reaction_changes(update.message_reaction, stats) == {"❤": 1, "👍": -1}
    assert sorted(stats.names) == ["telegram.skipped.reaction_custom_emoji", "telegram.skipped.reaction_paid"]


def test_the_count_line_names_each_community(tmp_path):
    path = tmp_path / "links.yaml"
    path.write_text(
        """
version: 1
communities:
  leicester: {name: Leicester, language: en, chats: [{telegram: -1001}]}
  krefeld: {name: Krefeld, language: de, chats: [{discord: 112233445566778899}]}
  masaya: {name: Masaya, language: es, chats: [{telegram: -1003}]}
links:
  - {id: twins, communities: [leicester, krefeld, masaya], policy: community}
""",
        encoding="utf-8",
    )
    config = load_links(path)
    counts = Counts({"discord:112233445566778899": {"❤️": 1, "👍": 3}, "telegram:-1003": {"🎉": 2}}, "4", 86400)
    assert count_lines(counts, config) == "Krefeld: 👍 3 · ❤️ 1\nMasaya: 🎉 2"
    assert count_lines(Counts({}, "5", 86400), config) == ""
