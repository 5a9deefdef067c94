"""One running adapter per platform, however many `twinbridge run` processes there are.

Two adapters of one platform would both consume its outbox (two lanes for one chat:
order and exactly-once gone) and, on Telegram, fight over ``getUpdates`` (only one
poller per token). So an adapter runs only while its process holds the platform's
lease in Redis: a key naming the holder, with a short TTL that the holder renews.
A second process stands by and takes over when the holder stops (it releases the
lease) or dies (the lease expires).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.storage.adapter_lease import LeaseKey
from core.storage.keys import Keys
from .waiting import wait_event

log = logging.getLogger(__name__)


def process_identity() -> str:
    """Unique per process start (host, pid, random): an outbox consumer name and lease holder."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def _dead_here(holder: str) -> bool:
    """Whether ``holder`` (a :func:`process_identity`) was a process of this host (same
    hostname: same machine or container, so the same process ids) that is gone."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # exists (owned by someone else)
    return False


class LeaseLost(Exception):
    """Another process holds the lease now."""


class AdapterLease:
    def __init__(self, redis, keys: Keys, platform: str, holder: str, ttl: float = 10.0, token: str | None = None):
        """``token``: the platform's bot token, so that the lease holds across deployments
        (prefixes) sharing it; only a hash of it is ever stored (Keys.adapter_token_lease)."""
        self._lease = LeaseKey(redis, keys, platform, token)
        self.platform = platform
        self.holder = holder
        self.ttl = ttl

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Wait until this process holds the lease (True) or ``stop`` is set (False)."""
        told = warned = False
        while not stop.is_set():
            try:
                if await self._lease.take(self.holder, int(self.ttl * 1000)):
                    if told:
                        log.info("%s adapter: taking over (the other `twinbridge run` is gone)", self.platform)
                    return True
                holder = await self._lease.holder()
                if holder == self.holder:
                    return True
                if holder and _dead_here(holder):
                    # A process of this host that died without releasing it (kill -9): no
                    # need to wait for the lease to expire.
                    await self._lease.release(holder)
                    continue
                if not told:
                    log.info("%s adapter: another `twinbridge run` is running it; standing by", self.platform)
                    told = True
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                if not warned:  # once, not every second of an outage
                    log.warning(
                        "%s adapter: Redis unavailable (%s) while taking the adapter lease; retrying",
                        self.platform,
                        exc.__class__.__name__,
                    )
                    warned = True
            await wait_event(stop, min(1.0, self.ttl / 4))
        return False

    async def keep(self) -> None:
        """Renew the lease until cancelled; raise :class:`LeaseLost` when another process
        holds it. While Redis is away nobody can take it over, so that is waited out
        (and if it expired meanwhile with nobody else taking it, it is taken again)."""
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                renewed = await self._lease.renew(self.holder, int(self.ttl * 1000))
            except (RedisConnectionError, RedisTimeoutError, OSError):
                continue
            if not renewed:
                raise LeaseLost()

    async def release(self) -> None:
        try:
            await self._lease.release(self.holder)
        except (RedisConnectionError, RedisTimeoutError, OSError):
            pass  # it expires by itself
