"""One role's worker killed with SIGKILL mid-burst while the other role's keeps running
(issue 13, docs/architecture.md "Stages as queues", every crash point of the hand-over):
a new worker of the killed role is started, and every message still arrives once, in
its chat's order, the last within 30 s of the kill, with default settings.

The burst and the figures are test_worker_recovery's; there one `twinbridge worker`
runs both stages, here `--role moderation` and `--role translation` are separate
processes, and every message is translated (English → German), so each one crosses
the hand-over. `pytest -s` prints the figures.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from core.task_queue import MODERATION_QUEUE, TRANSLATION_QUEUE
from sandbox.translator import LibreTranslateStandIn

from ..e2e.test_whole_path import ANNA
from ..e2e.twins import fleet_env, standins, tg_chat, translated_pair_links
from ..helpers import serving, wait_until
from .test_worker_recovery import PAIRS, PER_CHAT, burst_arrives_once_in_order

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


async def _held_from(aredis, keys, queue: str) -> int:
    """How many of kombu's unacknowledged messages came from ``queue`` (each entry is
    ``[message, exchange, routing key]``; the routing key is the queue's name)."""
    entries = await aredis.hvals(f"{keys.prefix}celery:unacked")
    return sum(1 for entry in entries if json.loads(entry)[2] == queue)


def _start(procs, name: str, role: str, env, *options: str):
    return procs.start(name, ["worker", "--role", role, "--concurrency", "2", *options, "-n", f"{name}@%h"], env)


def _fleet(tmp_path, procs, redis_url, prefix, telegram, discord, libre) -> dict[str, str]:
    # Default settings: no TWINBRIDGE_VISIBILITY_TIMEOUT.
    env = fleet_env(tmp_path, PAIRS, redis_url, prefix, telegram, discord, LIBRETRANSLATE_URL=libre.url)
    assert "TWINBRIDGE_VISIBILITY_TIMEOUT" not in env and "TWINBRIDGE_VISIBILITY_TIMEOUT" not in os.environ
    (tmp_path / "links.yaml").write_text(translated_pair_links(PAIRS))
    return env


async def _ready(procs, discord, *workers: str) -> None:
    await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter")
    await wait_until(
        lambda: all("ready" in procs.log(name) for name in workers), 60, message=f"{', '.join(workers)} ready"
    )


def _burst(telegram) -> None:
    for n in range(PER_CHAT):
        for i in range(PAIRS):
            telegram.inject_message(tg_chat(i), ANNA, f"m{n:02d}")


@pytest.mark.slow
async def test_translation_worker_killed_mid_burst_while_moderation_runs(
    tmp_path, procs, redis_url, prefix, keys, aredis
):
    """The translator holds every request until the kill, so the translation worker
    certainly dies inside two translations, holding six more tasks it reserved, while
    the moderation worker has handed over much of the burst. A new translation worker
    takes over what the dead one held (restored after the visibility timeout)."""
    telegram, discord = standins(PAIRS)
    libre = LibreTranslateStandIn()
    async with serving(telegram, discord, libre):
        env = _fleet(tmp_path, procs, redis_url, prefix, telegram, discord, libre)
        libre.stall_forever()
        moderation = _start(procs, "mod", "moderation", env)
        # Reserves tasks beyond the two it runs (prefetch 4 × 2 processes).
        doomed = _start(procs, "tr1", "translation", env, "--prefetch-multiplier", "4")
        procs.start("run", ["run"], env)
        await _ready(procs, discord, "mod", "tr1")

        _burst(telegram)
        await wait_until(lambda: len(libre.requests) >= 2, 30, message="both translation processes busy")
        await wait_until(
            lambda: _held_from_at_least(aredis, keys, TRANSLATION_QUEUE, 8), 30, message="the reserved translations"
        )
        held_at_kill = await _held_from(aredis, keys, TRANSLATION_QUEUE)
        os.killpg(doomed.pid, signal.SIGKILL)  # the worker and its pool, mid-burst
        killed = time.monotonic()
        libre.unstall()
        published_at_kill = int(await aredis.hget(keys.stats(), "worker.processed") or 0)
        _start(procs, "tr2", "translation", env)

        await burst_arrives_once_in_order(
            aredis,
            keys,
            discord,
            killed,
            "translation worker",
            f"translation worker killed after {published_at_kill} published, holding {held_at_kill} translation "
            f"task(s)",
        )
        assert moderation.poll() is None, "the moderation worker kept running"
        assert "ready" in procs.log("tr2")
        asked = {text for request in libre.requests for text in request.q}
        assert {f"m{n:02d}" for n in range(PER_CHAT)} <= asked, "every message went through the translator"


@pytest.mark.slow
async def test_moderation_worker_killed_mid_burst_while_translation_runs(
    tmp_path, procs, redis_url, prefix, keys, aredis
):
    """The moderation worker is killed while it holds a full prefetch of the burst's
    events (running two, six reserved) and has handed some over: whichever crash point
    each of its tasks was at (before handing over, after handing over but before its
    acknowledgement), a new moderation worker takes them over, the translation worker
    publishes each once."""
    telegram, discord = standins(PAIRS)
    libre = LibreTranslateStandIn()
    async with serving(telegram, discord, libre):
        env = _fleet(tmp_path, procs, redis_url, prefix, telegram, discord, libre)
        doomed = _start(procs, "mod1", "moderation", env, "--prefetch-multiplier", "4")
        translation = _start(procs, "tr", "translation", env)
        procs.start("run", ["run"], env)
        await _ready(procs, discord, "mod1", "tr")

        _burst(telegram)
        await wait_until(
            lambda: _held_from_at_least(aredis, keys, MODERATION_QUEUE, 8), 30, message="the moderation prefetch"
        )
        os.killpg(doomed.pid, signal.SIGKILL)  # the worker and its pool, mid-burst
        killed = time.monotonic()
        held_at_kill = await _held_from(aredis, keys, MODERATION_QUEUE)
        queued_at_kill = await aredis.llen(f"{keys.prefix}celery:{MODERATION_QUEUE}")
        published_at_kill = int(await aredis.hget(keys.stats(), "worker.processed") or 0)
        # Mid-burst: the dead worker held events it had not finished (the rest may still
        # have been on their way from the adapter). It held 8 a moment before the kill;
        # one may have finished (and been acknowledged) in between, before the next was
        # fetched, so only "some" is certain.
        assert held_at_kill >= 1 and published_at_kill < PAIRS * PER_CHAT, (held_at_kill, published_at_kill)
        _start(procs, "mod2", "moderation", env)

        await burst_arrives_once_in_order(
            aredis,
            keys,
            discord,
            killed,
            "moderation worker",
            f"moderation worker killed after {published_at_kill} published, holding {held_at_kill} moderation "
            f"task(s), {queued_at_kill} queued",
        )
        assert translation.poll() is None, "the translation worker kept running"
        assert "ready" in procs.log("mod2")
        asked = {text for request in libre.requests for text in request.q}
        assert {f"m{n:02d}" for n in range(PER_CHAT)} <= asked, "every message went through the translator"


async def _held_from_at_least(aredis, keys, queue: str, count: int) -> bool:
    return await _held_from(aredis, keys, queue) >= count
