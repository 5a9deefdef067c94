"""The moderation stage and the gates of the pipeline (pure functions)."""

from __future__ import annotations

import textwrap
from dataclasses import replace

from core.links import load_links
from core.models import Attachment, Author, EventKind, MessageRef, PlatformEvent
from core.privacy_notice import privacy_notice
from workers.pipeline import Context, Outcome, plan

CONFIG = """
version: 1
communities:
  leicester: {name: Leicester, language: en, chats: [{telegram: -1001}]}
  krefeld: {name: Krefeld, language: de, chats: [{discord: 112233445566778899}]}
  school-a: {name: Year 8, language: en, chats: [{telegram: -1002}]}
  school-b: {name: Klasse 8b, language: en, chats: [{telegram: -1003}]}
links:
  - {id: towns, communities: [leicester, krefeld], policy: community}
  - {id: classes, communities: [school-a, school-b], policy: school}
policies:
  school: {moderators: ["telegram:9001"]}
"""


def ctx(tmp_path):
    path = tmp_path / "links.yaml"
    path.write_text(textwrap.dedent(CONFIG))
    return Context(load_links(path, pseudonym_key="k"), pseudonym_key="k")


def event(chat, text, attachments=(), kind=EventKind.NEW):
    return PlatformEvent(
        kind=kind,
        source=MessageRef("telegram", chat, "7"),
        text=text,
        attachments=attachments,
        author=Author(id="5001", display_name="Anna Smith", first_name="Anna"),
    )


def test_community_policy_redacts_masks_and_keeps_only_photos(tmp_path):
    outcome = Outcome()
    photo, doc = Attachment("photo", "p"), Attachment("document", "d", "plan.pdf")
    [post] = plan(
        event("-1001", "Mail anna.smith@example.org, it's fucking great", (photo, doc)), ctx(tmp_path), outcome
    )
    assert "[email removed]" in post.text and "anna.smith" not in post.text
    assert "f******" in post.text and "fucking" not in post.text
    assert post.attachments == (photo,)
    assert post.notes[-1].startswith("1 Anhang")  # the German reader is told something was withheld
    assert outcome.decisions["towns"] == {"redacted.email": 1, "profanity.masked": 1, "media.withheld": 1}
    assert outcome.crossed == {"towns"}


def test_school_policy_holds_everything_and_nothing_crosses(tmp_path):
    outcome = Outcome()
    assert plan(event("-1002", "Hi, call me on +44 7911 123456"), ctx(tmp_path), outcome) == []
    assert set(outcome.held) == {"classes"} and "[phone removed]" in outcome.held["classes"].text
    # Approved by a moderator: it crosses that link, pseudonymous.
    [post] = plan(event("-1002", "Hi, call me on +44 7911 123456"), ctx(tmp_path), Outcome(), approved_link="classes")
    assert post.sender != "Anna" and "Anna" not in post.sender and "[phone removed]" in post.text


def test_without_consent_nothing_crosses_but_deletes_still_do(tmp_path):
    outcome = Outcome()
    assert plan(event("-1001", "hello"), ctx(tmp_path), outcome, without_consent=frozenset({"towns"})) == []
    assert outcome.needs_consent == {"towns"} and not outcome.crossed
    deleted = plan(event("-1001", "", kind=EventKind.DELETE), ctx(tmp_path), without_consent=frozenset({"towns"}))
    assert [p.kind for p in deleted] == [EventKind.DELETE]


def test_privacy_notice_follows_the_policy(tmp_path):
    config = ctx(tmp_path).config
    school = privacy_notice(config, config.link("classes"), "school-a")
    assert "pseudonym" in school and "/consent" in school and "moderator" in school
    assert "LibreTranslate" in school and "Google" not in school and "7 days" in school
    towns = privacy_notice(config, config.link("towns"), "leicester")
    assert "first name" in towns and "MyMemory" in towns and "Krefeld" in towns and "30 days" in towns


def test_the_privacy_notice_mentions_the_profile_photo_where_it_is_shown(tmp_path):
    """A Telegram member's profile photo is their avatar on Discord where the policy shows
    names: /privacy says so, how long it is kept and that /forgetme erases it."""
    config = ctx(tmp_path).config
    towns = privacy_notice(config, config.link("towns"), "leicester")
    assert "your Telegram profile photo is shown as your picture next to your messages on Discord" in towns
    assert "• A copy of your Telegram profile photo, shown as your picture on Discord: 30 days" in towns
    assert "/forgetme deletes it (your profile photo's copy too)" in towns
    # Nothing of the kind where no photo is shown: a pseudonymous link, or from the Discord side.
    assert "profile photo is shown" not in privacy_notice(config, config.link("classes"), "school-a")
    assert "profile photo is shown" not in privacy_notice(config, config.link("towns"), "krefeld")


def test_a_reserved_range_is_still_a_phone_number(tmp_path):
    # Ofcom keeps 07700 900xxx for drama; phonenumbers calls it invalid, but in a chat it is
    # someone's number (or a typo of one): `redact: [phone]` removes it by its shape.
    [post] = plan(event("-1001", "ring me on +44 7700 900123 or 0 7 7 0 0 9 0 0 1 2 4"), ctx(tmp_path), Outcome())
    assert post.text == "ring me on [phone removed] or [phone removed]"


def test_formatting_follows_redaction_and_masking_and_a_redacted_link_address_does_not_cross(tmp_path):
    from dataclasses import replace

    from core.formatting import Span

    text = "Mail anna.smith@example.org, it's fucking great, see the plan"
    spans = (
        Span(0, 27, "bold"),  # "Mail anna.smith@example.org"
        Span(34, 47, "italic"),  # "fucking great"
        Span(57, 61, "link", "https://example.org/contact?to=anna.smith@example.org"),  # "plan"
        Span(53, 56, "link", "https://example.org/plan"),  # "the"
    )
    outcome = Outcome()
    [post] = plan(replace(event("-1001", text), formatting=spans), ctx(tmp_path), outcome)
    shown = [(s.kind, post.text[s.start : s.end], s.data) for s in post.formatting]
    assert shown == [
        ("bold", "Mail [email removed]", ""),
        ("italic", "f****** great", ""),
        ("link", "the", "https://example.org/plan"),
    ]  # the link's address holds an e-mail address the policy removes: "plan" stays, unlinked
    assert outcome.decisions["towns"]["redacted.link_address"] == 1


def test_a_thread_s_message_keeps_its_thread_and_its_name_line_is_moderated(tmp_path):
    """Issue 15: the post says which thread or topic it came from (its destination puts it
    into the twin); the "🧵 name" line is text, redacted like the rest."""
    threaded = replace(event("-1001", "🧵 mail me at anna.smith@example.org\nHello"), thread="77")
    [post] = plan(threaded, ctx(tmp_path), Outcome())
    assert post.thread == "77"
    assert post.text.startswith("🧵 ") and "anna.smith" not in post.text.split("\n")[0]
    [plain] = plan(event("-1001", "Hello"), ctx(tmp_path), Outcome())
    assert plain.thread == "" and "thread" not in plain.to_dict()
