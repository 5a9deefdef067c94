"""The ingress sweeper enqueues again only what is really lost (issue 12, item 10):
events waiting behind a slow task are not pushed again and again.

Real `twinbridge worker` (one process of work, so three events wait in the queue
behind a 25 s translation) and `twinbridge run` (which runs the sweeper); the test
reads the Celery queue and kombu's unacknowledged hash in Redis while they wait.
"""

from __future__ import annotations

import asyncio
import base64
import json
import textwrap
import time
from collections import Counter

import pytest

from sandbox.translator import LibreTranslateStandIn

from ..e2e.test_whole_path import ANNA
from ..e2e.twins import dc_channel, fleet_env, standins, tg_chat
from ..helpers import serving, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

SLOW_LINKS = """
version: 1
communities:
  town: {name: Town, language: en, chats: [{telegram: -1002000000000}]}
  twin: {name: Twin, language: de, chats: [{discord: 112233445566700000}]}
links:
  - {id: pair, communities: [town, twin], policy: slow}
policies:
  slow: {base: community, translation: [libre]}
"""


def _event_of(message: str) -> str | None:
    """'chat:seq' of the event a Celery task message carries (None for other tasks)."""
    envelope = json.loads(message)
    if isinstance(envelope, list):  # kombu's unacked hash: [message, exchange, routing key]
        envelope = envelope[0]
    if envelope["headers"]["task"] != "twinbridge.process_event":
        return None
    event = json.loads(base64.b64decode(envelope["body"]))[0][0]
    return json.dumps([event["source"], event["seq"]], sort_keys=True)


async def _task_copies(aredis, keys) -> Counter:
    """How many task messages each event has, queued or held by a worker."""
    queued = await aredis.lrange(f"{keys.prefix}celery:moderation", 0, -1)
    held = await aredis.hvals(f"{keys.prefix}celery:unacked")
    return Counter(event for event in map(_event_of, queued + held) if event)


async def test_events_behind_a_slow_task_are_not_enqueued_again(tmp_path, procs, redis_url, prefix, keys, aredis):
    telegram, discord = standins(1)
    libre = LibreTranslateStandIn()
    async with serving(telegram, discord, libre):
        # A short visibility timeout, as the sweeper used to take it for "stale".
        env = fleet_env(
            tmp_path,
            1,
            redis_url,
            prefix,
            telegram,
            discord,
            LIBRETRANSLATE_URL=libre.url,
            TWINBRIDGE_TRANSLATION_TIMEOUT="40",
            TWINBRIDGE_VISIBILITY_TIMEOUT="6",
        )
        (tmp_path / "links.yaml").write_text(textwrap.dedent(SLOW_LINKS))
        libre.stall(25, count=1)
        procs.start("worker", ["worker", "--concurrency", "1"], env)
        procs.start("run", ["run"], env)
        await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter")
        await wait_until(lambda: "ready" in procs.log("worker"), 60, message="the worker ready")

        telegram.inject_message(tg_chat(0), ANNA, "good morning")  # the slow one
        await wait_until(lambda: libre.requests, 30, message="the slow translation under way")
        for text in ("hello", "thank you", "good night"):
            telegram.inject_message(tg_chat(0), ANNA, text)
        await wait_until(lambda: _accepted(aredis, keys, 4), 30, message="the three events accepted")

        most, samples = Counter(), 0
        started = time.monotonic()
        while not discord.transcript(dc_channel(0)) and time.monotonic() - started < 60:
            copies = await _task_copies(aredis, keys)
            for event, n in copies.items():
                most[event] = max(most[event], n)
            samples += 1
            await asyncio.sleep(0.5)
        waited = time.monotonic() - started
        await wait_until(lambda: len(discord.transcript(dc_channel(0))) >= 4, 60, message="all four posts")
        stats = await aredis.hgetall(keys.stats())
        print(
            f"\nFIGURES sweeper: 3 events waited {waited:.1f}s behind a slow task; {samples} samples of the queue; "
            f"most task copies of one event {max(most.values(), default=0)}; "
            f"ingress.requeued {stats.get('ingress.requeued', 0)}"
        )
        assert len(most) >= 3, most  # the three waiting events were seen in the queue
        assert max(most.values()) == 1, most  # one task message per event, never more
        assert int(stats.get("ingress.requeued", 0)) == 0
        shown = [text for _, text in discord.transcript(dc_channel(0))]
        assert len(shown) == 4 and "guten Morgen" in shown[0] and "hallo" in shown[1].lower(), shown
        asked = Counter(r.q[0] for r in libre.requests if r.path == "/translate")
        # Each waiting event translated once; the slow one asked twice at most (the
        # translator's own second attempt after its first call timed out), by one run.
        assert asked["hello"] == asked["thank you"] == asked["good night"] == 1, asked
        assert asked["good morning"] <= 2, asked


async def _accepted(aredis, keys, n: int) -> bool:
    return int(await aredis.hget(keys.stats(), "telegram.accepted") or 0) >= n
