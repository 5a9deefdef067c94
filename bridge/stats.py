"""Counters the bridge keeps about itself (never content, never ids)."""
from __future__ import annotations

from .keys import Keys


class Stats:
    """Async counters in one Redis hash, e.g. ``telegram.skipped.unknown_chat``."""

    def __init__(self, redis, keys: Keys):
        self._redis = redis
        self._key = keys.stats()

    async def incr(self, name: str, amount: int = 1) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(self._key, name, amount)
            pipe.expire(self._key, Keys.STATS_TTL)
            await pipe.execute()

    async def read(self) -> dict[str, int]:
        raw = await self._redis.hgetall(self._key)
        return {_s(k): int(v) for k, v in raw.items()}


def _s(value) -> str:
    return value.decode() if isinstance(value, bytes) else value
