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
from bridge.models import Attachment

LONG_TEXT = json.loads((Path(bridge.discord.__file__).parent / "payloads" / "message_create_long_text.json")
                       .read_text(encoding="utf-8"))["content"]


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
    with handle_message_parameters(content="@everyone <@&123> <@42>",
                                   allowed_mentions=render.allowed_mentions(allow_users),
                                   previous_allowed_mentions=client_default) as params:
        return params.payload["allowed_mentions"]


@pytest.mark.parametrize("client_default", [None, discord.AllowedMentions.none()])
def test_allowed_mentions_always_present_and_never_everyone_or_roles(client_default):
    assert _sent_allowed_mentions(False, client_default) == {"parse": []}
    assert _sent_allowed_mentions(True, client_default) == {"parse": ["users"]}


# -- body ----------------------------------------------------------------------------

def test_compose_marks_unrelayed_attachments_and_italicises_notes():
    body = render.compose("Look!", (Attachment(kind="photo", file_id="AgAD"), Attachment(kind="document")),
                          ("not translated: the translator was unavailable",))
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
    assert render.reply_quote(relayed, "https://discord.com/channels/1/2/4") == \
        "> Hi back\nhttps://discord.com/channels/1/2/4\n"


def test_jump_url():
    assert render.jump_url(10, 20, 30) == "https://discord.com/channels/10/20/30"
