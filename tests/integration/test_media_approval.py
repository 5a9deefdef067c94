"""`media: approve` through the moderation worker's functions and a real Redis: a photo
is held, each moderator's notice (queued in the outbox of their platform) lists and carries
it, and the approval hands it on with its attachments; a text crosses without a hold."""

from __future__ import annotations

import json
import textwrap

import pytest

from core.links import load_links
from core.descriptions import describe, withheld
from core.models import Attachment, Author, Command, EventKind, MessageRef, PlatformEvent, Shared
from workers import command_handlers
from workers.moderation.events import moderate_event
from workers.pipeline import Context

from ..helpers import handed_to_translation

pytestmark = pytest.mark.integration

LINKS = """
version: 1
communities:
  leicester: {name: Leicester, language: en, chats: [{telegram: -1001}]}
  krefeld: {name: Krefeld, language: en, chats: [{discord: 112233445566778899}]}
links:
  - {id: towns, communities: [leicester, krefeld], policy: careful}
policies:
  careful: {base: community, media: approve, moderators: ["discord:222"]}
"""
ANNA = Author(id="5001", display_name="Anna Smith", first_name="Anna")
MODERATOR = Author(id="222", display_name="Max")
PHOTO = Attachment("photo", "AgACAgQ", size=81_000, width=1280, height=960)


@pytest.fixture
def ctx(tmp_path):
    path = tmp_path / "links.yaml"
    path.write_text(textwrap.dedent(LINKS))
    return Context(load_links(path, pseudonym_key="k"), pseudonym_key="k")


def outbox(redis, keys, platform: str) -> list[dict]:
    return [json.loads(f["post"]) for _, f in redis.xrange(keys.outbox(platform))]


def event(n: int, text: str, attachments=()) -> PlatformEvent:
    return PlatformEvent(
        kind=EventKind.NEW,
        source=MessageRef("telegram", "-1001", str(n)),
        author=ANNA,
        text=text,
        attachments=attachments,
        timestamp=1.0,
    )


def test_a_photo_waits_for_the_moderator_with_a_preview_then_crosses(sync_redis, keys, ctx):
    photo_event = event(1, "Our market today", (PHOTO,))
    assert moderate_event(photo_event, None, ctx, sync_redis, keys) is None  # nothing handed on
    assert handed_to_translation(sync_redis, keys.prefix) == []
    [notice] = [p for p in outbox(sync_redis, keys, "discord") if p["kind"] == "notice"]
    assert notice["private_to"] == "222" and "Held for approval" in notice["text"] and "• photo" in notice["text"]
    assert notice["attachments"][0]["file_id"] == "AgACAgQ"
    assert notice["source"] == {"platform": "telegram", "chat_id": "-1001", "message_id": "1"}  # fetched from there
    hold_id = dict(notice["buttons"])["Approve"].split(":", 1)[1]

    command = Command("approve", hold_id, "discord", "dm-222", "90", MODERATOR, private=True, via="button")
    [answer] = command_handlers.handle(command, ctx, sync_redis, keys)
    assert "approved" in answer.text
    [post] = handed_to_translation(sync_redis, keys.prefix)
    assert post["destination"]["platform"] == "discord" and post["attachments"][0]["file_id"] == "AgACAgQ"
    assert post["text"] == "Our market today"


def test_a_text_crosses_without_a_hold(sync_redis, keys, ctx):
    handed = moderate_event(event(2, "See you at 7"), None, ctx, sync_redis, keys)
    assert handed is not None and [p.text for p in handed.drafts.posts] == ["See you at 7"]
    assert not [p for p in outbox(sync_redis, keys, "discord") if p["kind"] == "notice"]


HELD_LINKS = """
version: 1
communities:
  leicester: {name: Leicester, language: en, chats: [{telegram: -1001}]}
  krefeld: {name: Krefeld, language: en, chats: [{discord: 112233445566778899}]}
  lyon: {name: Lyon, language: en, chats: [{discord: 112233445566778800}]}
links:
  - {id: towns, communities: [leicester, krefeld], policy: plain}
  - {id: classes, communities: [leicester, lyon], policy: guarded}
policies:
  plain: {base: open, moderation: approve, moderators: ["discord:222"]}
  guarded: {base: open, moderation: approve, redact: [postcode, phone], moderators: ["discord:333"]}
"""


def test_the_moderator_sees_the_location_and_contact_lines_the_relay_would_show(sync_redis, keys, tmp_path):
    """A held message's location, venue and contact reach the moderator's preview as the
    relayed copy would show them: in full where the link keeps them, withheld where it
    redacts postcodes (places) and phone numbers (contacts)."""
    path = tmp_path / "links.yaml"
    path.write_text(textwrap.dedent(HELD_LINKS))
    ctx = Context(load_links(path, pseudonym_key="k"), pseudonym_key="k")
    shared = (
        Shared("location", latitude=52.636878, longitude=-1.139759),
        Shared("venue", latitude=1.0, longitude=2.0, title="Victoria Park", address="Granville Rd"),
        Shared("contact", title="Tom Baker", phone="+447700900123"),
    )
    held = PlatformEvent(
        kind=EventKind.NEW,
        source=MessageRef("telegram", "-1001", "7"),
        author=ANNA,
        text="Meet here",
        shared=shared,
        timestamp=1.0,
    )
    assert moderate_event(held, None, ctx, sync_redis, keys) is None
    notices = {p["private_to"]: p["text"] for p in outbox(sync_redis, keys, "discord") if p["kind"] == "notice"}
    assert set(notices) == {"222", "333"}
    for line in (describe(item, "en") for item in shared):
        assert line in notices["222"]
    assert "52.6369" in notices["222"] and "+447700900123" in notices["222"]
    guarded = notices["333"]
    assert "52.6369" not in guarded and "Granville" not in guarded and "+447700900123" not in guarded
    assert describe(withheld(shared[0]), "en") in guarded and describe(withheld(shared[2]), "en") in guarded
