"""Counts made with ``Stats.incr_soon`` reach the real Redis together, within the
flush delay, and are kept (not lost) while Redis cannot be reached."""

from __future__ import annotations

import redis.asyncio as aioredis
import pytest

from core import stats as stats_module
from core.stats import Stats
from tests.helpers import wait_until

pytestmark = pytest.mark.integration


async def test_counts_reach_redis_together_after_the_delay(monkeypatch, aredis, keys):
    monkeypatch.setattr(stats_module, "FLUSH_AFTER", 0.05)
    stats = Stats(aredis, keys)
    for _ in range(40):
        stats.incr_soon("discord.skipped.webhook")
    stats.incr_soon("discord.skipped.own_message", 2)
    assert await aredis.hgetall(keys.stats()) == {}  # nothing yet: no round trip per count
    await wait_until(lambda: aredis.hget(keys.stats(), "discord.skipped.webhook"), 5, message="the flush")
    assert await aredis.hgetall(keys.stats()) == {"discord.skipped.webhook": "40", "discord.skipped.own_message": "2"}
    assert 0 < await aredis.ttl(keys.stats()) <= stats_module.Keys.STATS_TTL


async def test_counts_wait_out_an_unreachable_redis(monkeypatch, aredis, keys):
    monkeypatch.setattr(stats_module, "FLUSH_AFTER", 3600)  # flushed by hand below
    away = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    stats = Stats(away, keys)
    stats.incr_soon("telegram.skipped.poll", 3)
    await stats.flush()  # fails, logs, keeps the counts
    stats._redis = aredis  # Redis is back
    await stats.flush()
    assert await aredis.hget(keys.stats(), "telegram.skipped.poll") == "3"
    stats._flushing.cancel()
    await away.aclose()
