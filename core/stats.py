"""Counters the bridge keeps about itself (never content, never ids)."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

from .storage.keys import Keys

log = logging.getLogger(__name__)

FLUSH_AFTER = 1.0  # seconds a count made with incr_soon may wait before it reaches Redis


class Stats:
    """Async counters in one Redis hash, e.g. ``telegram.skipped.unknown_chat``."""

    def __init__(self, redis, keys: Keys):
        self._redis = redis
        self._key = keys.stats()
        self._pending: Counter = Counter()
        self._flushing: asyncio.Task | None = None

    async def incr(self, name: str, amount: int = 1) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(self._key, name, amount)
            pipe.expire(self._key, Keys.STATS_TTL)
            await pipe.execute()

    def incr_soon(self, name: str, amount: int = 1) -> None:
        """Count without a round trip of its own: the counts made within FLUSH_AFTER
        seconds go to Redis together. For what happens once per relayed post (the
        echo of every post the bridge makes on Discord), where ``incr`` was measurable."""
        self._pending[name] += amount
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self._flush_later(), name="stats-flush")

    async def _flush_later(self) -> None:
        await asyncio.sleep(FLUSH_AFTER)
        await self.flush()

    async def flush(self) -> None:
        """Write the counts ``incr_soon`` holds (also called when an adapter stops)."""
        pending, self._pending = self._pending, Counter()
        if not pending:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for name, amount in pending.items():
                    pipe.hincrby(self._key, name, amount)
                pipe.expire(self._key, Keys.STATS_TTL)
                await pipe.execute()
        except Exception as exc:  # noqa: BLE001 - Redis away: keep them for the next flush
            self._pending.update(pending)
            log.warning("could not write counters (%s); kept for later", type(exc).__name__)

    async def read(self) -> dict[str, int]:
        raw = await self._redis.hgetall(self._key)
        return {_s(k): int(v) for k, v in raw.items()}


def _s(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


# -- the workers' counters (a synchronous client) ----------------------------------------
def count(redis, keys: Keys, name: str, amount: int = 1) -> None:
    """Add ``amount`` to the counter ``name`` at once."""
    redis.hincrby(keys.stats(), name, amount)


def count_into(pipe, keys: Keys, name: str, amount: int = 1) -> None:
    """Add ``amount`` to the counter ``name`` on ``pipe`` (one reply)."""
    pipe.hincrby(keys.stats(), name, amount)


def keep_into(pipe, keys: Keys) -> None:
    """Renew the counters' expiry on ``pipe``."""
    pipe.expire(keys.stats(), Keys.STATS_TTL)
