"""`media: approve` and the other media rules of a policy (pure functions): a message with
media waits for the link's moderators with a preview, text alone does not; captions are
redacted like text; school links keep `block`."""

from __future__ import annotations

import textwrap

import pytest

from core.links import BUILTIN_POLICIES, ConfigError, load_links
from core.models import Attachment, Author, EventKind, MessageRef, PlatformEvent
from core.privacy_notice import privacy_notice
from workers.moderation.stage import Moderated
from workers.notices import held_for_moderator
from workers.pipeline import Context, Outcome, plan

CONFIG = """
version: 1
communities:
  leicester: {name: Leicester, language: en, chats: [{telegram: -1001}]}
  krefeld: {name: Krefeld, language: de, chats: [{discord: 112233445566778899}]}
links:
  - {id: towns, communities: [leicester, krefeld], policy: careful}
policies:
  careful: {base: community, media: approve, moderators: ["discord:222", "telegram:111"]}
"""

PHOTO = Attachment("photo", "AgACAgQ", width=1280, height=960)
PLAN = Attachment("document", "BQACAgQ", "Anna's plan.pdf", "application/pdf", 52_000)


def ctx(tmp_path, config: str = CONFIG) -> Context:
    path = tmp_path / "links.yaml"
    path.write_text(textwrap.dedent(config))
    return Context(load_links(path, pseudonym_key="k"), pseudonym_key="k")


def event(text, attachments=(), kind=EventKind.NEW) -> PlatformEvent:
    return PlatformEvent(
        kind=kind,
        source=MessageRef("telegram", "-1001", "7"),
        text=text,
        attachments=attachments,
        author=Author(id="5001", display_name="Anna Smith", first_name="Anna"),
    )


def test_a_message_with_media_waits_for_a_moderator(tmp_path):
    outcome = Outcome()
    assert plan(event("Our market today", (PHOTO, PLAN)), ctx(tmp_path), outcome) == []
    held = outcome.held["towns"]
    assert held.attachments == (PHOTO, PLAN) and held.text == "Our market today"
    assert not outcome.crossed


def test_text_alone_is_not_held_for_media(tmp_path):
    outcome = Outcome()
    [post] = plan(event("See you at 7"), ctx(tmp_path), outcome)
    assert post.text == "See you at 7" and not outcome.held and outcome.crossed == {"towns"}


def test_approved_it_crosses_with_every_attachment(tmp_path):
    [post] = plan(event("Our market today", (PHOTO, PLAN)), ctx(tmp_path), approved_link="towns")
    assert post.attachments == (PHOTO, PLAN) and not any("Anhang" in note for note in post.notes)  # none withheld


def test_a_delete_never_waits(tmp_path):
    [post] = plan(event("", (PHOTO,), kind=EventKind.DELETE), ctx(tmp_path))
    assert post.kind == EventKind.DELETE


def test_an_edit_that_carries_media_is_decided_again(tmp_path):
    outcome = Outcome()
    assert plan(event("Our market, 2nd day", (PHOTO,), kind=EventKind.EDIT), ctx(tmp_path), outcome) == []
    assert "towns" in outcome.held


def test_a_caption_is_redacted_like_text(tmp_path):
    """The caption is the event's text (Telegram's caption, Discord's content beside files)."""
    config = CONFIG.replace("media: approve, ", "")
    [post] = plan(event("Call me on +44 7911 123456 or anna@example.org", (PHOTO,)), ctx(tmp_path, config))
    assert post.attachments == (PHOTO,)
    assert "[phone removed]" in post.text and "[email removed]" in post.text and "7911" not in post.text
    approved = plan(event("Call me on +44 7911 123456", (PHOTO,)), ctx(tmp_path), approved_link="towns")
    assert "[phone removed]" in approved[0].text  # held or not, the same redaction


def test_the_moderators_notice_previews_the_media(tmp_path):
    source = MessageRef("telegram", "-1001", "7")
    notice = held_for_moderator(
        "discord:222", "7k3m9q2x4vb8c", "towns", "Anna · Leicester", "Our market", (PHOTO, PLAN), 30, source
    )
    assert notice is not None
    assert (
        "Attachments (2):" in notice.text and "• photo" in notice.text and "• document: Anna's plan.pdf" in notice.text
    )
    # The files go with it, fetched from where they were posted (the moderator is on Discord).
    assert notice.attachments == (PHOTO, PLAN) and notice.source == source
    assert notice.destination.key == "discord:222" and notice.private_to == "222"
    text_only = held_for_moderator("telegram:111", "7k3m9q2x4vb8c", "towns", "Anna", "hi", (), 30, source)
    assert text_only is not None and not text_only.attachments and "Attachments" not in text_only.text


def test_held_without_a_source_the_notice_still_lists_the_files():
    notice = held_for_moderator("telegram:111", "7k3m9q2x4vb8c", "towns", "Anna", "", (PHOTO,), 30)
    assert notice is not None and "• photo" in notice.text and not notice.attachments


def test_approve_is_a_media_mode_and_needs_moderators(tmp_path):
    assert ctx(tmp_path).config.link("towns").policy.media == "approve"
    with pytest.raises(ConfigError) as raised:
        ctx(tmp_path, CONFIG.replace(', moderators: ["discord:222", "telegram:111"]', ""))
    assert "media is `approve` but no moderator is listed" in str(raised.value)
    with pytest.raises(ConfigError) as raised:
        ctx(tmp_path, CONFIG.replace("media: approve", "media: aprove"))
    assert "approve" in str(raised.value)


def test_school_links_keep_blocking_media():
    assert BUILTIN_POLICIES["school"].media == "block"


def test_the_privacy_notice_says_what_happens_to_media(tmp_path):
    config = ctx(tmp_path).config
    notice = privacy_notice(config, config.link("towns"), "leicester")
    assert "moderator has seen and approved" in notice and "serial number" in notice
    assert "(from captions too)" in notice
    school = ctx(tmp_path, CONFIG.replace("base: community, media: approve", "base: school")).config
    blocked = privacy_notice(school, school.link("towns"), "leicester")
    assert "not carried at all" in blocked and "serial number" not in blocked


def test_held_media_is_kept_in_the_moderated_result():
    assert Moderated("t", (PHOTO,)).attachments == (PHOTO,)
