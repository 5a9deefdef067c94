"""How an announcement post looks on Telegram (HTML, checked by the stand-in's parser, which
checks like Telegram) and on Discord (markdown): pure functions."""

from __future__ import annotations

import pytest

from bridge.discord import render as discord_render
from bridge.telegram import render as telegram_render
from core.announcements import AnnouncementView, EventDetails
from core.models import ChatRef, EventKind, MessageRef, OutboundPost
from core.text import utf16_len
from sandbox.telegram.formatting import parse_html

START = 1_805_000_000
LABELS = {"going": "Dabei", "maybe": "Vielleicht", "cant": "Kann nicht"}


def view(**fields) -> AnnouncementView:
    base = dict(
        id="a7k2m9",
        header="📢 Ankündigung · Leicester",
        event=EventDetails("Fest <b>& *Musik*", START, None, "Rathaus @everyone", "https://example.org/fest"),
        when_local="Sa., 14. März 2027, 19:30 MEZ",
        language="de",
        labels=LABELS,
        counts={"going": 2, "maybe": 1},
    )
    base.update(fields)
    return AnnouncementView(**base)


def post(text: str, announcement: AnnouncementView, **fields) -> OutboundPost:
    return OutboundPost(
        kind=EventKind.NEW,
        link_id="twins",
        destination=ChatRef("telegram", "-1001"),
        source=MessageRef("twinbridge", "announcements", "a7k2m9"),
        sender="",
        community="Leicester",
        text=text,
        announcement=announcement.to_dict(),
        **fields,
    )


def test_telegram_event_notice():
    [html] = telegram_render.render_announcement(post("Kommt alle! /forgetme", view()))
    text, entities = parse_html(html)
    assert text.startswith("📢 Ankündigung · Leicester\n\nFest <b>& *Musik*\n🗓 Sa., 14. März 2027, 19:30 MEZ\n")
    assert "📍 Rathaus @\u2060everyone" in text and "🔗 https://example.org/fest" in text
    assert "/\u2060forgetme" in text  # not a tappable command
    assert text.endswith("Dabei: 2 · Vielleicht: 1 · Kann nicht: 0")
    kinds = {e["type"] for e in entities}
    assert kinds == {"bold", "date_time"}
    [when] = [e for e in entities if e["type"] == "date_time"]
    assert (when["unix_time"], when["date_time_format"]) == (START, "wDT")
    units = text.encode("utf-16-le")[2 * when["offset"] : 2 * (when["offset"] + when["length"])]
    assert units.decode("utf-16-le") == "Sa., 14. März 2027, 19:30 MEZ"  # offsets in UTF-16 units
    assert telegram_render.announcement_keyboard(view()) == [
        ("Dabei", "rsvp:a7k2m9:going"),
        ("Vielleicht", "rsvp:a7k2m9:maybe"),
        ("Kann nicht", "rsvp:a7k2m9:cant"),
    ]


def test_telegram_plain_notice_and_reminder():
    [html] = telegram_render.render_announcement(post("Hello", view(event=None, when_local="", counts={})))
    assert parse_html(html)[0] == "📢 Ankündigung · Leicester\n\nHello"
    assert telegram_render.announcement_keyboard(view(event=None)) == []
    reminder = view(kind="reminder", header="📢 Erinnerung · Leicester", labels={}, counts={})
    [html] = telegram_render.render_announcement(post("", reminder))
    text, entities = parse_html(html)
    assert "Dabei" not in text and any(e["type"] == "date_time" for e in entities)
    assert telegram_render.announcement_keyboard(reminder) == []


@pytest.mark.parametrize("limit", [4096, 300])
def test_telegram_split_between_lines_never_within(limit):
    lines = [f"Zeile {n}: " + "wort " * 20 + "😀" for n in range(120)]
    parts = telegram_render.render_announcement(post("\n".join(lines), view()), limit=limit)
    texts = [parse_html(part)[0] for part in parts]
    assert len(parts) > 1 and all(utf16_len(t) <= limit for t in texts)
    for line in lines:
        assert sum(line.strip() in t for t in texts) == 1
    assert "🗓" in texts[0] and texts[-1].endswith("Kann nicht: 0")


def test_telegram_a_line_over_the_limit_alone_is_split():
    parts = telegram_render.render_announcement(post("q" * 9000, view()), limit=4096)
    texts = [parse_html(part)[0] for part in parts]
    assert all(utf16_len(t) <= 4096 for t in texts) and "".join(texts).count("q") == 9000


def test_discord_event_notice():
    [content] = discord_render.render_announcement(view(), "Kommt alle! # nein")
    assert content.startswith("**📢 Ankündigung · Leicester**\n\n**Fest \\<b>& \\*Musik\\***")
    assert f"🗓 <t:{START}:F> (<t:{START}:R>)" in content
    assert "🕰 Sa., 14. März 2027, 19:30 MEZ" in discord_render.plain_text(content)
    assert "📍 Rathaus @\u200beveryone" in content  # shown, never a mention
    assert "🔗 <https://example.org/fest>" in content
    assert content.endswith("Dabei: 2 · Vielleicht: 1 · Kann nicht: 0")
    assert [c for _, c in discord_render.rsvp_buttons(view())] == [
        "rsvp:a7k2m9:going",
        "rsvp:a7k2m9:maybe",
        "rsvp:a7k2m9:cant",
    ]
    assert discord_render.rsvp_buttons(view(event=None)) == []


def test_discord_split_between_lines():
    lines = [f"Zeile {n}: " + "wort " * 30 for n in range(100)]
    parts = discord_render.render_announcement(view(), "\n".join(lines), notes=("Nicht übersetzt",))
    assert len(parts) > 1 and all(len(p) <= 2000 for p in parts)
    for line in lines:
        assert sum(line.strip() in p for p in parts) == 1
    assert parts[-1].endswith("Kann nicht: 0") and "*Nicht übersetzt*" in parts[-1]
    assert sum(p.count("<t:") for p in parts) == 2


def test_the_original_is_shown_under_a_translated_notice_where_the_policy_says_so():
    translated = post(
        "Kommt alle!\nMit Freunden.",
        view(),
        language="de",
        original="Come along!\nBring friends. @everyone",
        original_language="en",
        translated_by="LibreTranslate",
    )
    [html] = telegram_render.render_announcement(translated)
    text, entities = parse_html(html)
    header = "Original (English), übersetzt von LibreTranslate"
    assert f"Mit Freunden.\n{header}\nCome along!\nBring friends. @\u2060everyone" in text
    assert text.endswith("Dabei: 2 · Vielleicht: 1 · Kann nicht: 0")  # the counts stay last
    [quote] = [e for e in entities if e["type"] == "blockquote"]  # the original's lines in one quote
    quoted = text.encode("utf-16-le")[2 * quote["offset"] : 2 * (quote["offset"] + quote["length"])]
    assert quoted.decode("utf-16-le").strip() == "Come along!\nBring friends. @\u2060everyone"
    assert {e["type"] for e in entities} == {"bold", "date_time", "italic", "blockquote"}

    original = discord_render.quoted_original(header, translated.original)
    [content] = discord_render.render_announcement(view(), translated.text, original=original)
    assert f"Mit Freunden.\n*{header}*\n> Come along!\n> Bring friends." in content
    assert content.endswith("Dabei: 2 · Vielleicht: 1 · Kann nicht: 0")
    # Untranslated (same language, or the policy hides it): nothing more.
    [plain] = telegram_render.render_announcement(post("Kommt alle!", view()))
    assert "Original" not in plain and "blockquote" not in plain
