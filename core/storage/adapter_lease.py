"""One platform's adapter lease (bridge/lease.py): a key naming the holder, with a short
TTL the holder renews (asyncio client); with the bot's token, a second key per token
outside the prefix (Keys.adapter_token_lease), taken and renewed together with it."""

from __future__ import annotations

from . import scripts
from .keys import Keys


class LeaseKey:
    def __init__(self, redis, keys: Keys, platform: str, token: str | None = None):
        self._redis = redis
        self._keys = [keys.adapter_lease(platform)]
        if token:
            self._keys.append(keys.adapter_token_lease(platform, token))
        self._renew = scripts.register(redis, "lease_renew")
        self._release = scripts.register(redis, "lease_release")

    async def take(self, holder: str, ttl_ms: int) -> bool:
        """Hold the lease for ``ttl_ms`` if nobody else does (every key, or none)."""
        return bool(await self._renew(keys=self._keys, args=[holder, ttl_ms]))

    async def holder(self) -> str | None:
        """Who holds it (the platform's key first, then the token's)."""
        for holder in await self._redis.mget(self._keys):
            if holder:
                return holder
        return None

    async def renew(self, holder: str, ttl_ms: int) -> bool:
        """Another ``ttl_ms`` for ``holder``; False when another process holds the lease."""
        return bool(await self._renew(keys=self._keys, args=[holder, ttl_ms]))

    async def release(self, holder: str) -> None:
        """Let the lease go, if ``holder`` holds it."""
        await self._release(keys=self._keys, args=[holder])
