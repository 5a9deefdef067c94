"""The translation deadline on the whole path, against a translator that answers
one byte at a time: real worker and adapters, stand-ins on loopback.

A message with one target language is translated in the worker's own thread
(docs/reliability.md), so only a deadline on each provider call's whole answer
keeps it from waiting as long as the server likes to drip."""
from __future__ import annotations

import textwrap
import time

import pytest

from bridge.sandbox.discord_api import DiscordStandIn
from bridge.sandbox.telegram_api import TelegramStandIn
from bridge.sandbox.translator_api import LibreTranslateStandIn, ProviderEndpointStandIn

from ..helpers import start_bridge, wait_until
from ..processes import OFFLINE_TRANSLATORS
from .test_translation_path import ANNA, DC_TOKEN, GUILD, KREFELD, LEICESTER, LT_KEY, TG_TOKEN

pytestmark = pytest.mark.e2e

BOUND = 4  # TWINBRIDGE_TRANSLATION_TIMEOUT
LINKS = f"""
version: 1
communities:
  leicester: {{name: Leicester, language: en, chats: [{{telegram: {LEICESTER}}}]}}
  krefeld: {{name: Krefeld, language: de, chats: [{{discord: {KREFELD}}}]}}
links:
  - {{id: twins, communities: [leicester, krefeld], policy: learners}}
policies:
  learners: {{base: community, translation: [libre, mymemory]}}
"""


async def test_a_translator_dripping_its_answer_cannot_hold_a_message(tmp_path, procs, redis_url, prefix):
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(token=DC_TOKEN, guilds={GUILD: {"name": "Krefeld", "channels": {KREFELD: "leicester"}}})
    libre = LibreTranslateStandIn(api_key=LT_KEY)
    endpoints = ProviderEndpointStandIn()
    for server in (telegram, discord, libre, endpoints):
        await server.start()
    try:
        config = tmp_path / "links.yaml"
        config.write_text(textwrap.dedent(LINKS))
        urls = OFFLINE_TRANSLATORS["TWINBRIDGE_TRANSLATOR_URLS"].replace(
            "mymemory=http://127.0.0.1:9/mymemory", f"mymemory={endpoints.mymemory_url}")
        env = {
            "TWINBRIDGE_CONFIG": str(config), "REDIS_URL": redis_url, "TWINBRIDGE_REDIS_PREFIX": prefix,
            "TELEGRAM_BOT_TOKEN": TG_TOKEN, "TELEGRAM_API_URL": telegram.url,
            "DISCORD_BOT_TOKEN": DC_TOKEN, "DISCORD_API_URL": discord.api_url,
            "DISCORD_GATEWAY_URL": discord.gateway_url,
            "LIBRETRANSLATE_URL": libre.url, "LIBRETRANSLATE_API_KEY": LT_KEY,
            "TWINBRIDGE_TRANSLATOR_URLS": urls, "TWINBRIDGE_TRANSLATION_TIMEOUT": str(BOUND),
        }
        await start_bridge(procs, env, telegram, discord)

        # Both translators answer, one byte every half second: every read succeeds (no
        # per-read timeout fires); the whole answers would take half a minute or more.
        libre.drip(0.5)
        endpoints.drip(0.5)
        started = time.monotonic()
        telegram.inject_message(LEICESTER, ANNA, "Who brings the cake on Sunday?")
        marked = await wait_until(
            lambda: next((t for _, t in discord.transcript(KREFELD) if "cake" in t), None), 120,
            message="the untranslated copy")
        waited = time.monotonic() - started
        assert marked.startswith("Who brings the cake on Sunday?\n")
        assert "*Nicht übersetzt: kein Übersetzer war verfügbar. Original auf English.*" in marked
        print(f"delivered untranslated {waited:.1f} s after it was sent (deadline {BOUND} s)")
        assert waited < BOUND + 10, f"held {waited:.0f}s"  # the bound plus polling and delivery
        assert any(r.path == "/translate" for r in libre.requests)  # it was asked, and cut off
    finally:
        procs.stop_all()
        for server in (telegram, discord, libre, endpoints):
            await server.stop()
