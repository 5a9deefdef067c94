"""Translation on the whole path: real worker and adapters, stand-ins of the
Telegram Bot API, Discord, LibreTranslate and MyMemory's endpoint on loopback.

Assertions are on what the stand-ins received: the translator's requests (how
many, what text) and the posts members see."""

from __future__ import annotations

import time

import pytest

from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn
from sandbox.translator import LibreTranslateStandIn, ProviderEndpointStandIn, fake_translate

from ..helpers import DC_TOKEN, TG_TOKEN, bridge_env, serving, start_bridge, wait_until
from ..processes import OFFLINE_TRANSLATORS

LT_KEY = "lt-e2e-key"
LEICESTER = -1001000000001
KREFELD_TG = -1001000000002
MASAYA = -1001000000003
GUILD = 112233445566770000
KREFELD = 112233445566778899
BOUND = 4  # TWINBRIDGE_TRANSLATION_TIMEOUT for these tests

# Krefeld has two chats in one language: one translation serves both.
LINKS = f"""
version: 1
communities:
  leicester: {{name: Leicester, language: en, chats: [{{telegram: {LEICESTER}}}]}}
  krefeld: {{name: Krefeld, language: de, chats: [{{discord: {KREFELD}}}, {{telegram: {KREFELD_TG}}}]}}
  masaya: {{name: Masaya, language: es, chats: [{{telegram: {MASAYA}}}]}}
links:
  - id: twins
    communities: [leicester, krefeld, masaya]
    policy: learners
    glossary: [Hochschule Niederrhein, Anna]
policies:
  learners:
    base: community
    translation: [libre, mymemory]
    show_original: true
"""
ANNA = {"id": 5001, "is_bot": False, "first_name": "Anna", "last_name": "Smith"}
MAX = {"id": "300000000000000301", "username": "max.k", "global_name": "Max Krüger", "discriminator": "0"}


def translation_standins() -> tuple[TelegramStandIn, DiscordStandIn, LibreTranslateStandIn, ProviderEndpointStandIn]:
    """Telegram, Discord (Krefeld's channel), LibreTranslate (keyed) and MyMemory's endpoint; not started."""
    return (
        TelegramStandIn(token=TG_TOKEN),
        DiscordStandIn(token=DC_TOKEN, guilds={GUILD: {"name": "Krefeld", "channels": {KREFELD: "leicester"}}}),
        LibreTranslateStandIn(api_key=LT_KEY),
        ProviderEndpointStandIn(),
    )


def translation_env(
    tmp_path, links: str, redis_url, prefix, telegram, discord, libre, endpoints, **extra: str
) -> dict[str, str]:
    """bridge_env with LibreTranslate and MyMemory at their stand-ins (the other providers unreachable)."""
    urls = OFFLINE_TRANSLATORS["TWINBRIDGE_TRANSLATOR_URLS"].replace(
        "mymemory=http://127.0.0.1:9/mymemory", f"mymemory={endpoints.mymemory_url}"
    )
    return bridge_env(
        tmp_path,
        links,
        redis_url,
        prefix,
        telegram,
        discord,
        LIBRETRANSLATE_URL=libre.url,
        LIBRETRANSLATE_API_KEY=LT_KEY,
        TWINBRIDGE_TRANSLATOR_URLS=urls,
        **extra,
    )


@pytest.fixture
async def world(tmp_path, procs, redis_url, prefix):
    telegram, discord, libre, endpoints = translation_standins()
    async with serving(telegram, discord, libre, endpoints):
        env = translation_env(
            tmp_path,
            LINKS,
            redis_url,
            prefix,
            telegram,
            discord,
            libre,
            endpoints,
            TWINBRIDGE_TRANSLATION_TIMEOUT=str(BOUND),
        )
        await start_bridge(procs, env, telegram, discord)
        yield telegram, discord, libre, endpoints
        procs.stop_all()


def translate_calls(libre) -> list:
    return [r for r in libre.requests if r.path == "/translate"]


def discord_has(discord, fragment: str) -> str | None:
    return next((text for _, text in discord.transcript(KREFELD) if fragment in text), None)


def telegram_has(telegram, chat: int, fragment: str) -> str | None:
    return next((text for _, text in telegram.transcript(chat) if fragment in text), None)


async def test_translated_once_per_language_with_the_original_shown(world):
    telegram, discord, libre, _ = world
    text = "Hello everyone, see you on Saturday at the Hochschule Niederrhein"
    telegram.inject_message(LEICESTER, ANNA, text)
    german = fake_translate(text.replace("Hochschule Niederrhein", "⟦0⟧"), "en", "de").replace(
        "⟦0⟧", "Hochschule Niederrhein"
    )
    spanish = fake_translate(text.replace("Hochschule Niederrhein", "⟦0⟧"), "en", "es").replace(
        "⟦0⟧", "Hochschule Niederrhein"
    )
    posted = await wait_until(lambda: discord_has(discord, german), 30, message="the German copy on Discord")
    await wait_until(lambda: telegram_has(telegram, KREFELD_TG, german), 30, message="the German copy on Telegram")
    shown_es = await wait_until(lambda: telegram_has(telegram, MASAYA, spanish), 30, message="the Spanish copy")

    # Three destination chats, two target languages: exactly two provider calls.
    calls = translate_calls(libre)
    assert sorted(c.target for c in calls) == ["de", "es"]
    for call in calls:
        assert call.method == "POST" and call.query_string == "" and call.api_key == LT_KEY
        assert "Niederrhein" not in call.q[0]  # the glossary term never went to the translator
    # The original is at hand, marked, with the translator named.
    assert "*Original (English), übersetzt von LibreTranslate*\n> " + text in posted
    assert "Original (English), traducido por LibreTranslate\n" + text in shown_es

    # The other way: German from Discord reaches Leicester in English.
    discord.inject_message(KREFELD, MAX, "Hallo Leicester, bis Samstag!")
    english = fake_translate("Hallo ⟦0⟧, bis Samstag!", "de", "en").replace("⟦0⟧", "Leicester")
    shown_en = await wait_until(lambda: telegram_has(telegram, LEICESTER, english), 30, message="the English copy")
    assert "Original (Deutsch), translated by LibreTranslate" in shown_en
    assert len(translate_calls(libre)) == 4


async def test_fallback_stall_and_odd_input(world):
    telegram, discord, libre, endpoints = world

    # LibreTranslate is down: MyMemory (the policy's second choice) translates.
    libre.fail_next(503, count=100)
    telegram.inject_message(LEICESTER, ANNA, "Good morning")
    await wait_until(lambda: discord_has(discord, "übersetzt von MyMemory"), 30, message="MyMemory's translation")
    assert discord_has(discord, fake_translate("Good morning", "en", "de"))
    assert {r.provider for r in endpoints.requests} == {"mymemory"}
    libre.reset()

    # Both stall: the message goes through untranslated, marked, within the bound.
    libre.stall_forever()
    endpoints.stall_forever()
    started = time.monotonic()
    telegram.inject_message(LEICESTER, ANNA, "Is anyone coming to the market?")
    marked = await wait_until(
        lambda: discord_has(discord, "Is anyone coming to the market?"), 30, message="the untranslated copy"
    )
    waited = time.monotonic() - started
    assert "*Nicht übersetzt: kein Übersetzer war verfügbar. Original auf English.*" in marked
    assert waited < BOUND + 15, f"held {waited:.0f}s"  # the bound plus polling and delivery
    libre.unstall()
    endpoints.unstall()
    libre.reset()

    # Emoji-only and link-only messages cross as they are, without a translator call.
    telegram.inject_message(LEICESTER, ANNA, "🎉🎉🎉")
    telegram.inject_message(LEICESTER, ANNA, "https://example.org/programme.pdf")
    await wait_until(lambda: discord_has(discord, "https://example.org/programme.pdf"), 30, message="the link")
    assert discord_has(discord, "🎉🎉🎉") == "🎉🎉🎉"
    assert translate_calls(libre) == []

    # A text over the translator's limit (2000 here) is translated in pieces cut at sentences,
    # and reaches Discord (2000 characters a post) as several posts, translation then original.
    long_text = "See you on Saturday at the market. " * 115  # ~4000 characters
    telegram.inject_message(LEICESTER, ANNA, long_text.strip())

    def long_posts_complete():
        shown = [t for _, t in discord.transcript(KREFELD) if "market." in t]
        return shown if len(shown) >= 4 and "See you on Saturday at the market." in shown[-1] else None

    long_posts = await wait_until(long_posts_complete, 30, message="the long message's posts")
    assert all(len(t) <= 2000 for t in long_posts)
    assert any("*Original (English), übersetzt von LibreTranslate*" in t for t in long_posts)
    pieces = translate_calls(libre)
    assert len(pieces) >= 2 * 3  # two languages, at least three pieces each
    assert all(len(c.q[0]) <= 2000 and c.q[0].rstrip().endswith(".") for c in pieces)
