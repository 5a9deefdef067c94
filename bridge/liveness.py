"""`twinbridge run`'s heartbeats (core/storage/heartbeats.py): one for the process
(``run``: `twinbridge health --role run`), and one per connected adapter with since when
it is connected (`twinbridge status`). Renewed every few seconds; deleted when an
adapter disconnects or the process stops, left to expire when it dies."""

from __future__ import annotations

import asyncio
import logging
import time

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.storage import heartbeats
from core.storage.keys import Keys
from .waiting import wait_event

log = logging.getLogger(__name__)

_REDIS_AWAY = (RedisConnectionError, RedisTimeoutError, OSError)


class Liveness:
    def __init__(self, redis, keys: Keys, identity: str, period: float = heartbeats.PERIOD):
        self._redis = redis
        self._keys = keys
        self.identity = identity
        self.period = period
        self.started = time.time()
        self.connected: dict[str, float] = {}  # platform -> connected since

    async def _beat_all(self) -> None:
        await heartbeats.abeat(self._redis, self._keys, heartbeats.RUN, self.identity, self.started)
        for platform, since in list(self.connected.items()):
            await heartbeats.abeat(
                self._redis, self._keys, heartbeats.adapter_role(platform), self.identity, since, {"platform": platform}
            )

    async def run(self, stop: asyncio.Event) -> None:
        """Beat until ``stop``; then say this process is gone."""
        while not stop.is_set():
            try:
                await self._beat_all()
            except _REDIS_AWAY:
                pass  # the next round tries again; meanwhile the heartbeat may expire, rightly
            await wait_event(stop, self.period)
        for platform in list(self.connected):
            await self.down(platform)
        try:
            await heartbeats.astop(self._redis, self._keys, heartbeats.RUN, self.identity)
        except _REDIS_AWAY:
            pass  # it expires by itself

    async def up(self, platform: str) -> None:
        """``platform``'s adapter is connected (now)."""
        self.connected[platform] = time.time()
        try:
            await heartbeats.abeat(
                self._redis,
                self._keys,
                heartbeats.adapter_role(platform),
                self.identity,
                self.connected[platform],
                {"platform": platform},
            )
        except _REDIS_AWAY:
            log.debug("%s adapter: heartbeat not written (Redis away)", platform)

    async def down(self, platform: str) -> None:
        """``platform``'s adapter is no longer connected."""
        if self.connected.pop(platform, None) is None:
            return
        try:
            await heartbeats.astop(self._redis, self._keys, heartbeats.adapter_role(platform), self.identity)
        except _REDIS_AWAY:
            pass  # it expires by itself
