"""One platform's adapter lease (bridge/lease.py): a key naming the holder, with a short
TTL the holder renews (asyncio client)."""

from __future__ import annotations

from . import scripts
from .keys import Keys


class LeaseKey:
    def __init__(self, redis, keys: Keys, platform: str):
        self._redis = redis
        self._key = keys.adapter_lease(platform)
        self._renew = scripts.register(redis, "lease_renew")
        self._release = scripts.register(redis, "lease_release")

    async def take(self, holder: str, ttl_ms: int) -> bool:
        """Hold the lease for ``ttl_ms`` if nobody does."""
        return bool(await self._redis.set(self._key, holder, nx=True, px=ttl_ms))

    async def holder(self) -> str | None:
        return await self._redis.get(self._key)

    async def renew(self, holder: str, ttl_ms: int) -> bool:
        """Another ``ttl_ms`` for ``holder``; False when another process holds the lease."""
        return bool(await self._renew(keys=[self._key], args=[holder, ttl_ms]))

    async def release(self, holder: str) -> None:
        """Let the lease go, if ``holder`` holds it."""
        await self._release(keys=[self._key], args=[holder])
