"""Time bounds on the whole path: real worker and adapters, stand-ins on loopback.

- The translation deadline holds against a translator that answers one byte at
  a time. A message with one target language is translated in the worker's own
  thread, so only a deadline on each provider call's whole answer keeps it from
  waiting as long as the server likes to drip.
- Celery's soft time limit is a backstop above that deadline: a task cut off by
  it runs again and publishes its event once, never half."""

from __future__ import annotations

import re
import time

import pytest

from sandbox.translator import fake_translate

from ..helpers import serving, start_bridge, wait_until
from .test_translation_path import ANNA, KREFELD, LEICESTER, translation_env, translation_standins

pytestmark = pytest.mark.e2e

BOUND = 4  # TWINBRIDGE_TRANSLATION_TIMEOUT of the first test
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


@pytest.fixture
async def world(tmp_path, procs, redis_url, prefix):
    """Start the stand-ins, then (by calling the returned function) the bridge with extra env."""
    telegram, discord, libre, endpoints = translation_standins()
    async with serving(telegram, discord, libre, endpoints):

        async def start(**extra: str):
            env = translation_env(tmp_path, LINKS, redis_url, prefix, telegram, discord, libre, endpoints, **extra)
            await start_bridge(procs, env, telegram, discord)
            return telegram, discord, libre, endpoints

        yield start
        procs.stop_all()


def copies(discord, fragment: str) -> list[str]:
    return [t for _, t in discord.transcript(KREFELD) if fragment in t]


async def test_a_translator_dripping_its_answer_cannot_hold_a_message(world):
    telegram, discord, libre, endpoints = await world(TWINBRIDGE_TRANSLATION_TIMEOUT=str(BOUND))
    # Both translators answer, one byte every half second: every read succeeds (no
    # per-read timeout fires); the whole answers would take half a minute or more.
    libre.drip(0.5)
    endpoints.drip(0.5)
    started = time.monotonic()
    telegram.inject_message(LEICESTER, ANNA, "Who brings the cake on Sunday?")
    marked = (await wait_until(lambda: copies(discord, "cake"), 120, message="the untranslated copy"))[0]
    waited = time.monotonic() - started
    print(f"delivered untranslated {waited:.1f} s after it was sent (deadline {BOUND} s)")
    assert marked.startswith("Who brings the cake on Sunday?\n")
    assert "*Nicht übersetzt: kein Übersetzer war verfügbar. Original auf English.*" in marked
    assert waited < BOUND + 10, f"held {waited:.0f}s"  # the bound plus polling and delivery
    assert any(r.path == "/translate" for r in libre.requests)  # it was asked, and cut off


async def test_a_task_past_its_soft_time_limit_runs_again_and_publishes_once(world, procs):
    # A translation deadline far above the task's soft limit: the limit strikes first.
    telegram, discord, libre, _ = await world(
        TWINBRIDGE_TRANSLATION_TIMEOUT="120", TWINBRIDGE_TASK_SOFT_TIME_LIMIT="3", TWINBRIDGE_TASK_TIME_LIMIT="20"
    )
    libre.stall_forever()
    telegram.inject_message(LEICESTER, ANNA, "Good morning")
    # Logged by workers/app.py's TimeBoundTask, or by the translation task's own retry (workers/stages/translation.py).
    await wait_until(
        lambda: re.search("exceeded its soft time limit|SoftTimeLimitExceeded", procs.log("worker")),
        60,
        message="the soft time limit to strike",
    )
    assert discord.transcript(KREFELD) == []  # nothing published by the run that was cut off
    libre.unstall()
    translated = fake_translate("Good morning", "en", "de")
    await wait_until(lambda: copies(discord, translated), 60, message="the translated copy")
    # A later message from the same chat arrives after it (per-chat order), so by then
    # any second copy of the first would have been posted too.
    telegram.inject_message(LEICESTER, ANNA, "Good night")
    await wait_until(lambda: copies(discord, fake_translate("Good night", "en", "de")), 60, message="the next one")
    assert [t for _, t in discord.transcript(KREFELD)] == [translated, fake_translate("Good night", "en", "de")]
    assert "Traceback" not in procs.log("worker")
