"""Formatting on the whole path (issue 15): real `twinbridge run` and worker, the
Telegram, Discord and LibreTranslate stand-ins on loopback.

A Telegram member's bold-italic-link text reaches Discord as markdown; a Discord
member posting exactly that markdown reaches Telegram with the same entities; what
is not formatting shows as typed on the other side; a formatted message that is
translated keeps its formatting. Assertions are on what the stand-ins received:
the webhook's content and the entities Telegram parsed from the bot's HTML."""

from __future__ import annotations

import pytest

from bridge.discord.formatting import parse as parse_markdown
from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn
from sandbox.translator import LibreTranslateStandIn

from ..helpers import DC_TOKEN, TG_TOKEN, bridge_env, serving, start_bridge, wait_until

LEICESTER = -1001000000011
GUILD = 112233445566770000
KREFELD = 112233445566778811
LYON = 112233445566778812
LT_KEY = "lt-formatting-key"

LINKS = f"""
version: 1
communities:
  leicester: {{name: Leicester, language: en, chats: [{{telegram: {LEICESTER}}}]}}
  krefeld: {{name: Krefeld, language: en, chats: [{{discord: {KREFELD}}}]}}
  lyon: {{name: Lyon, language: fr, chats: [{{discord: {LYON}}}]}}
links:
  - id: twins
    communities: [leicester, krefeld]
    policy: open
  - id: french
    communities: [leicester, lyon]
    direction: one-way
    policy: translated
policies:
  translated:
    base: open
    translation: [libre]
    show_original: true
"""
ANNA = {"id": 5101, "is_bot": False, "first_name": "Anna", "last_name": "Smith"}
MAX = {"id": "300000000000000311", "username": "max.k", "global_name": "Max Krüger", "discriminator": "0"}


def entity(text: str, kind: str, part: str, **extra) -> dict:
    """A Bot API entity over ``part`` of ``text`` in UTF-16 units, as Telegram counts."""
    start = text.index(part)
    return {
        "type": kind,
        "offset": len(text[:start].encode("utf-16-le")) // 2,
        "length": len(part.encode("utf-16-le")) // 2,
        **extra,
    }


def formatting(entities: list[dict], shift: int = 0) -> list[tuple]:
    return sorted(
        (e["type"], e["offset"] - shift, e["length"], e.get("url", ""))
        for e in entities
        if e["type"] not in ("bot_command", "hashtag", "mention", "url")
    )


@pytest.fixture
async def world(tmp_path, procs, redis_url, prefix):
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(
        token=DC_TOKEN, guilds={GUILD: {"name": "Twins", "channels": {KREFELD: "leicester", LYON: "leicester-fr"}}}
    )
    libre = LibreTranslateStandIn(api_key=LT_KEY)
    async with serving(telegram, discord, libre):
        env = bridge_env(
            tmp_path,
            LINKS,
            redis_url,
            prefix,
            telegram,
            discord,
            LIBRETRANSLATE_URL=libre.url,
            LIBRETRANSLATE_API_KEY=LT_KEY,
        )
        await start_bridge(procs, env, telegram, discord)
        yield telegram, discord, libre
        procs.stop_all()


def discord_post(discord, channel: int, fragment: str) -> str | None:
    return next((content for _, content in discord.transcript(channel) if fragment in content), None)


def telegram_post(telegram, fragment: str) -> dict | None:
    return next((m for m in telegram.bot_messages() if fragment in m.get("text", "")), None)


async def test_nested_formatting_round_trips_and_literal_markup_shows_as_typed(world):
    telegram, discord, _ = world

    # Telegram -> Discord: bold around italic around a link, after an astral emoji.
    text = "Fest 🎉 on Saturday: bring cake and good friends to the park!"
    entities = [
        entity(text, "bold", "bring cake and good friends"),
        entity(text, "italic", "good friends"),
        entity(text, "text_link", "friends", url="https://example.org/fest/friends"),
        entity(text, "spoiler", "park"),
    ]
    telegram.inject_message(LEICESTER, ANNA, text, entities=entities)
    markdown = await wait_until(lambda: discord_post(discord, KREFELD, "bring"), 30, message="the Discord copy")
    assert markdown == (
        "Fest 🎉 on Saturday: **bring cake and *good [friends](https://example.org/fest/friends)*** to the ||park||!"
    )

    # Discord -> Telegram: a Discord member posts exactly that markdown; Telegram shows
    # the same text with the same entities (after the sender's label).
    discord.inject_message(KREFELD, MAX, markdown)
    shown = await wait_until(lambda: telegram_post(telegram, "bring cake"), 30, message="the Telegram copy")
    label = "Max Krüger · Krefeld: "
    assert shown["text"] == label + text
    shift = len(label.encode("utf-16-le")) // 2
    assert formatting(shown["entities"], shift)[1:] == formatting(entities)  # [0]: the label's bold
    assert formatting(shown["entities"])[0] == ("bold", 0, shift - 1, "")

    # What is not formatting crosses as typed, both ways.
    telegram.inject_message(LEICESTER, ANNA, "*not bold* and __not underlined__ and <3")
    literal = await wait_until(lambda: discord_post(discord, KREFELD, "not bold"), 30, message="literal markdown")
    assert literal == r"\*not bold\* and \_\_not underlined\_\_ and \<3"  # Discord shows the asterisks
    discord.inject_message(KREFELD, MAX, "<b>not bold</b> & \\*escaped\\*")
    html_typed = await wait_until(lambda: telegram_post(telegram, "not bold</b>"), 30, message="literal tags")
    assert html_typed["text"] == label + "<b>not bold</b> & *escaped*"
    assert formatting(html_typed.get("entities", []), shift) == [("bold", -shift, shift - 1, "")]


async def test_a_translated_message_keeps_its_formatting(world):
    telegram, discord, libre = world
    text = "Good morning friends, see you on Saturday at the market!"
    entities = [
        entity(text, "bold", "Good morning friends"),
        entity(text, "italic", "friends"),
        entity(text, "text_link", "market", url="https://example.org/market"),
    ]
    telegram.inject_message(LEICESTER, ANNA, text, entities=entities)
    french = await wait_until(lambda: discord_post(discord, LYON, "amis"), 30, message="the French copy")
    shown = parse_markdown(french.split("\n")[0])  # as Discord reads the post (the original may follow)
    assert shown.text == "[fr] Bonjour amis, à samedi at le market!"
    assert [(s.kind, shown.text[s.start : s.end], s.data) for s in shown.spans] == [
        ("bold", "Bonjour amis", ""),
        ("italic", "amis", ""),
        ("link", "market", "https://example.org/market"),
    ]
    # The original under the translation keeps its formatting, inside the quote (issue 15).
    whole = parse_markdown(french)
    assert whole.text.endswith("\n" + text)
    assert {(s.kind, whole.text[s.start : s.end], s.data) for s in whole.spans} >= {
        ("blockquote", text, ""),
        ("bold", "Good morning friends", ""),
        ("italic", "friends", ""),
        ("link", "market", "https://example.org/market"),
    }
    (call,) = [r for r in libre.requests if r.path == "/translate"]  # the text went as HTML, marks as tags
    assert call.format == "html" and call.target == "fr"
    assert call.q == [
        '<b>Good morning <i>friends</i></b>, see you on Saturday at the <a href="https://example.org/market">market</a>!'
    ]
