"""Removing a whole install's keys (asyncio client): the demo runs under a prefix of
its own and leaves nothing behind."""

from __future__ import annotations

from .keys import Keys


async def remove_everything(redis, keys: Keys) -> int:
    """Delete every key under ``keys.prefix``; how many."""
    removed = 0
    async for key in redis.scan_iter(match=keys.everything(), count=500):
        removed += await redis.delete(key)
    return removed
