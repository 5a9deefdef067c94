"""Stickers, polls, dice, locations, venues and contacts: described in each destination's
language, and what a link's policy keeps back (a place, a phone number) stays back."""

from __future__ import annotations

import textwrap

from core.descriptions import coordinates, describe
from core.links import load_links
from core.models import Attachment, Author, EventKind, MessageRef, PlatformEvent, Shared
from workers.pipeline import Context, plan

CONFIG = """
version: 1
communities:
  leicester: {name: Leicester, language: en, chats: [{telegram: -1001}]}
  krefeld: {name: Krefeld, language: de, chats: [{discord: 112233445566778899}]}
  lyon: {name: Lyon, language: fr, chats: [{telegram: -1003}]}
  masaya: {name: Masaya, language: es, chats: [{telegram: -1004}]}
links:
  - {id: open, communities: [leicester, krefeld], policy: open}
  - {id: community, communities: [leicester, masaya], policy: community}
  - {id: classes, communities: [leicester, lyon], policy: school}
policies:
  school: {moderators: ["telegram:1"]}
"""
LOCATION = Shared("location", latitude=52.636878, longitude=-1.139759)
CONTACT = Shared("contact", title="Tom Baker", phone="+447700900123")


def posts_for(tmp_path, *shared: Shared, text: str = "", attachments=()):
    path = tmp_path / "links.yaml"
    path.write_text(textwrap.dedent(CONFIG))
    ctx = Context(load_links(path), pseudonym_key="k" * 32)
    event = PlatformEvent(
        kind=EventKind.NEW,
        source=MessageRef("telegram", "-1001", "10"),
        author=Author(id="5", display_name="Anna Smith", first_name="Anna"),
        text=text,
        shared=shared,
        attachments=attachments,
    )
    posts = plan(event, ctx) + plan(event, ctx, approved_link="classes")  # the school link once approved
    return {p.destination.key: p for p in posts}


def test_each_kind_in_the_readers_language():
    assert describe(Shared("dice", emoji="🎲", value=4), "de") == "🎲 gewürfelt: 4"
    assert describe(Shared("sticker", emoji="👍"), "fr") == "👍 Autocollant"
    assert describe(Shared("sticker", title="Wave"), "en") == "Sticker “Wave”"
    assert describe(Shared("poll"), "es") == "📊 Encuesta: vota en el chat original"
    assert describe(LOCATION, "de") == "📍 Standort: 52.6369, -1.1398"
    assert "(its updates are not passed on)" in describe(Shared("live_location", latitude=1, longitude=2), "en")
    venue = Shared("venue", latitude=1.0, longitude=2.0, title="Victoria Park", address="Granville Rd")
    assert describe(venue, "fr") == "📍 Lieu : Victoria Park, Granville Rd"
    assert describe(CONTACT, "en") == "👤 Contact: Tom Baker, +447700900123"
    assert describe(Shared("other", title="game"), "xx") == "Something this chat cannot show was posted (game)."
    assert coordinates(None, 2.0) == "?, 2.0000"


def test_open_link_shows_the_place_community_and_school_withhold_as_their_redaction_says(tmp_path):
    posts = posts_for(tmp_path, LOCATION)
    assert posts["discord:112233445566778899"].notes == ("📍 Standort: 52.6369, -1.1398",)
    # community: postcodes are not removed, so a map pin crosses
    assert posts["telegram:-1004"].notes == ("📍 Ubicación: 52.6369, -1.1398",)
    (withheld,) = posts["telegram:-1003"].notes  # school: removes postcodes, so the pin stays back
    assert withheld.startswith("📍 Une position a été partagée") and "52." not in withheld


def test_a_contact_is_a_phone_number_withheld_wherever_phones_are_removed(tmp_path):
    posts = posts_for(tmp_path, CONTACT)
    assert posts["discord:112233445566778899"].notes == ("👤 Kontakt: Tom Baker, +447700900123",)
    for chat in ("telegram:-1004", "telegram:-1003"):
        (note,) = posts[chat].notes
        assert "+44" not in note and "Tom" not in note


def test_the_text_part_is_never_lost_and_a_poll_is_marked(tmp_path):
    posts = posts_for(tmp_path, Shared("poll"), text="Which weekend?\n• 3-4 May")
    post = posts["discord:112233445566778899"]
    assert post.text == "Which weekend?\n• 3-4 May"
    assert "📊 Umfrage: abstimmen im ursprünglichen Chat" in post.notes


def test_a_sticker_whose_image_crosses_shows_its_emoji_only(tmp_path):
    image = Attachment("sticker", "CAAC", mime_type="image/webp")
    posts = posts_for(tmp_path, Shared("sticker", emoji="👍"), attachments=(image,))
    assert posts["discord:112233445566778899"].notes == ("👍",)
    assert posts["discord:112233445566778899"].attachments == (image,)
    assert posts["telegram:-1004"].attachments == ()  # not carried: no "attachment withheld" note either
    assert not [n for n in posts["telegram:-1004"].notes if "not shown" in n]
    # A sticker without an emoji (a Discord one): its name beside the picture.
    named = posts_for(tmp_path, Shared("sticker", title="Wave"), attachments=(image,))
    assert named["discord:112233445566778899"].notes == ("Sticker “Wave”",)
    assert posts["telegram:-1004"].notes[0] == "👍 Sticker"  # community: images only, the sticker is words
