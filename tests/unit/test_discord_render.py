"""How relayed posts look on Discord: labels, splitting, mentions, replies."""

from __future__ import annotations

import json
import re
from pathlib import Path

import discord
import pytest
from discord.http import handle_message_parameters

import bridge.discord
from bridge.discord import render
from core.models import Attachment

LONG_TEXT = json.loads(
    (Path(bridge.discord.__file__).parent / "payloads" / "message_create_long_text.json").read_text(encoding="utf-8")
)["content"]


# -- the webhook username -------------------------------------------------------


def test_label_is_sender_and_community():
    assert render.webhook_username("Anna", "Leicester") == "Anna · Leicester"
    assert render.webhook_username("", "Leicester") == "Leicester"


@pytest.mark.parametrize("sender", ["Discord Dan", "DISCORDIA", "clyde", "Mr Clyde of discord.gg"])
def test_label_never_contains_words_discord_rejects(sender):
    label = render.webhook_username(sender, "Krefeld")
    assert not re.search("discord|clyde", label, re.IGNORECASE)
    assert label.endswith(" · Krefeld")


def test_reserved_words_stay_readable():
    assert render.webhook_username("Discord Dan", "Krefeld") == "Dis-cord Dan · Krefeld"
    assert render.webhook_username("clyde", "Krefeld") == "cly-de · Krefeld"


def test_long_sender_is_shortened_and_community_stays_visible():
    label = render.webhook_username("Maximilian " * 12, "Masaya")
    assert len(label) <= 80
    assert label.endswith("… · Masaya")


def test_long_community_alone_is_cut_to_80():
    assert len(render.webhook_username("", "X" * 200)) == 80


def test_label_is_one_line_and_never_empty():
    assert render.webhook_username("Anna\nBell", "Leicester") == "Anna Bell · Leicester"
    assert render.webhook_username("", "") == "twinbridge"


# -- splitting over 2000 ------------------------------------------------------------


def _same_words(parts, text):
    return " ".join(" ".join(parts).split()) == " ".join(text.split())


def test_long_text_splits_at_paragraphs():
    parts = render.split(LONG_TEXT)
    assert len(parts) == 2
    assert all(len(p) <= 2000 for p in parts)
    assert _same_words(parts, LONG_TEXT)
    # The cut is at a paragraph boundary: the first part is whole paragraphs.
    assert LONG_TEXT.startswith(parts[0] + "\n\n")


def test_split_prefers_sentences_then_words_then_cuts_hard():
    sentences = " ".join(f"Satz Nummer {i} ist hier zu Ende." for i in range(150))
    parts = render.split(sentences)
    assert all(len(p) <= 2000 for p in parts) and len(parts) > 1
    assert all(p.endswith(".") for p in parts)
    assert _same_words(parts, sentences)

    words = "wort " * 900
    parts = render.split(words)
    assert all(len(p) <= 2000 for p in parts)
    assert all(p.endswith("wort") for p in parts)

    run = "x" * 4500
    assert [len(p) for p in render.split(run)] == [2000, 2000, 500]


def test_split_leaves_room_in_the_first_part():
    parts = render.split(LONG_TEXT, first_limit=1500)
    assert len(parts[0]) <= 1500
    assert all(len(p) <= 2000 for p in parts[1:])
    assert _same_words(parts, LONG_TEXT)


def test_short_text_is_one_part():
    assert render.split("Hallo!") == ["Hallo!"]


# -- mentions --------------------------------------------------------------------------


def _sent_allowed_mentions(allow_users: bool, client_default: discord.AllowedMentions | None) -> dict:
    """What discord.py really puts in the request body, with or without the
    client-wide default the adapter configures merged in."""
    with handle_message_parameters(
        content="@everyone <@&123> <@42>",
        allowed_mentions=render.allowed_mentions(allow_users),
        previous_allowed_mentions=client_default,
    ) as params:
        return params.payload["allowed_mentions"]


@pytest.mark.parametrize("client_default", [None, discord.AllowedMentions.none()])
def test_allowed_mentions_always_present_and_never_everyone_or_roles(client_default):
    assert _sent_allowed_mentions(False, client_default) == {"parse": []}
    assert _sent_allowed_mentions(True, client_default) == {"parse": ["users"]}


# -- body ----------------------------------------------------------------------------


def test_compose_marks_unrelayed_attachments_and_italicises_notes():
    body = render.compose(
        "Look!",
        (Attachment(kind="photo", file_id="AgAD"), Attachment(kind="document")),
        ("not translated: the translator was unavailable",),
    )
    assert body == "Look!\n[photo] [document]\n*not translated: the translator was unavailable*"


def test_compose_attachment_only():
    assert render.compose("", (Attachment(kind="voice"),)) == "[voice message]"


# -- replies ---------------------------------------------------------------------------

LINK = "https://discord.com/channels/1/2/3"


def test_reply_quote_prefixes_each_line_and_ends_with_the_jump_link():
    assert render.reply_quote("Hello\nworld", LINK) == f"> Hello\n> world\n{LINK}\n"


def test_reply_quote_is_short():
    quote = render.reply_quote("word " * 100, LINK)
    first = quote.split("\n")[0]
    assert first.startswith("> ") and first.endswith("…")
    assert len(first) <= 2 + 101


def test_reply_to_a_relayed_reply_does_not_nest_quotes():
    relayed = f"> Hello\n{LINK}\nHi back"
    assert (
        render.reply_quote(relayed, "https://discord.com/channels/1/2/4")
        == "> Hi back\nhttps://discord.com/channels/1/2/4\n"
    )


def test_jump_url():
    assert render.jump_url(10, 20, 30) == "https://discord.com/channels/10/20/30"


# -- what members wrote shows as typed (issue 12, item 16) ------------------------------

_SHOWN = re.compile(r"\\([^0-9A-Za-z\s])")


def _shows(content: str) -> str:
    return _SHOWN.sub(r"\1", content).replace("\u200b", "")


@pytest.mark.parametrize(
    "typed",
    [
        "**bold** __under__ ~~strike~~ ||spoiler|| `code` ```block```",
        "# h1\n## h2\n### h3\n-# subtext\n> quote\n>>> block\n- item\n* item\n+ item\n1. one\n2) two",
        "[masked](https://evil.example) and [x]( https://evil.example )",
        "<@123456789012345678> <@&42> <#123456789012345678> <t:1700000000:R> <:e:123456789012345678> </x:1>",
        "back\\slash \\* \\\\",
    ],
)
def test_escape_shows_exactly_what_was_typed(typed):
    escaped = render.escape(typed)
    assert _shows(escaped) == typed
    bare = _SHOWN.sub("e", escaped)
    assert not re.search(r"[*_~|`<]", bare)
    assert not any(re.match(r"\s*([#>]|[-*+]\s|\d+[.)]\s)", line) for line in bare.split("\n"))


def test_escape_keeps_links_working_and_everyone_harmless():
    assert render.escape("see https://example.org/a_b_c?x=1#top") == "see https://example.org/a_b_c?x=1#top"
    assert render.escape("@everyone @here") == "@\u200beveryone @\u200bhere"
    assert render.escape("[de] Hallo") == "[de] Hallo"  # brackets only matter before "]("


def test_user_mentions_work_only_when_the_policy_allows_them():
    assert render.escape("hi <@123456789012345678>") == "hi \\<@123456789012345678>"
    assert render.escape("hi <@123456789012345678>", allow_user_mentions=True) == "hi <@123456789012345678>"
    assert render.escape("<@&42> @everyone", allow_user_mentions=True) == "\\<@&42> @\u200beveryone"


def test_split_never_parts_an_escape_from_its_character():
    text = render.escape("*" * 3000)
    parts = render.split(text, 2000)
    assert all(not re.search(r"(?<!\\)(\\\\)*\\$", part) for part in parts)
    assert _shows("".join(parts)) == "*" * 3000


def test_original_and_notes_are_escaped_too():
    original = render.quoted_original("Original (English)", "**Anna · Leicester**\n> hi")
    assert original == "*Original (English)*\n> \\*\\*Anna · Leicester\\*\\*\n> \\> hi"
    assert render.compose("#1 fan", notes=("*note*",)) == "\\#1 fan\n*\\*note\\**"


def test_reply_quote_shows_the_replied_text_plainly():
    link = "https://discord.com/channels/1/2/3"
    quote = render.reply_quote("```\n# Big\n@everyone", link)
    assert quote == f"> \\`\\`\\`\n> Big\n> @\u200beveryone\n{link}\n"  # "Big" showed as a heading
    # A relayed copy (already escaped) is quoted as it shows, not double-escaped.
    assert render.reply_quote(render.escape("**hi**"), link) == f"> \\*\\*hi\\*\\*\n{link}\n"
    # A formatted one shows its words, not its markdown.
    assert render.reply_quote("**bold** and *[link](https://x.org)*", link) == f"> bold and link\n{link}\n"


def test_a_chosen_name_cannot_pose_as_another_community():
    label = render.webhook_username("Admin · Krefeld\n**Bot** \u202eevil", "Leicester")
    assert label == "Admin - Krefeld **Bot** evil · Leicester"
