"""A rate limiter shared by every adapter process, kept in Redis.

``reserve(limits)`` books one send in every bucket of ``limits`` and returns how
long the caller must wait before sending; the caller sleeps that long and sends.
There is no retry loop and no polling: a reservation is a slot in a schedule,
made atomically by one Lua script, so callers in different processes never race
for the same slot and nobody can be starved by faster pollers.

Why a sliding-window schedule and not GCRA
------------------------------------------
GCRA (one "theoretical arrival time" per bucket) with burst = count lets a full
burst through and *then* keeps refilling at count/period, so any window of one
period can hold up to 2*count - 1 sends (20 right away, then one every 3 s, is 39
messages in a group's first minute). The platforms count per window: Telegram's
20 per minute per group, Discord's reset-after-window buckets (see
sandbox/discord/ratelimits.py). So each bucket keeps the times of its recent and
booked sends, and a send may be booked at time t only if every window of
``period`` seconds around t then holds at most ``count`` sends. A burst of
``count`` still goes out at once; the next one waits until the window has slid.

Why the earliest free slot and not strictly after the last booking
------------------------------------------------------------------
A booking lands in *every* bucket it names at the same moment (all or nothing).
If bookings had to follow each other in every bucket, one chat that is at its
own limit (booked a minute ahead) would drag the shared per-bot bucket along and
hold up every other chat: exactly what the outbox's per-destination lanes avoid.
So a booking takes the earliest instant that is free in all of its buckets; slots
already booked are never moved. Callers of the same chat (same buckets) still go
out in the order they booked, because each booking only ever shrinks the free
time that later ones can use.

Why Redis server time
---------------------
Adapters may run on hosts whose clocks disagree; the script reads
``redis.call('TIME')`` so every booking is made against the one clock, and
returns a *relative* delay that the caller's own clock can sleep.

State: one string per bucket, ``{prefix}rl:{bucket}`` = "paused_until t1 t2 ..."
(microseconds of Redis time, bookings sorted), always written with a TTL that
ends a period after the last booking or pause has stopped mattering. A booking
costs O(n^2) in the n bookings of its buckets still in or ahead of the window
(a few dozen: the outbox has at most one booking in flight per lane). One booking
touches several keys, so all buckets must live on one Redis (no Cluster slots).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis

from .storage import scripts
from .storage.keys import Keys

US = 1_000_000  # microseconds per second (Lua numbers hold them exactly)


@dataclass(frozen=True)
class Limit:
    """At most ``count`` sends in any ``period`` seconds in ``bucket``."""

    bucket: str
    count: int
    period: float

    def __post_init__(self) -> None:
        if self.count < 1 or not self.period > 0:
            raise ValueError(f"bad limit {self!r}: need count >= 1 and period > 0")


class RateLimiter:
    def __init__(self, redis: aioredis.Redis, prefix: str):
        """``redis``: decode_responses=True."""
        self._redis = redis
        self._keys = Keys(prefix)
        self._reserve = scripts.register(redis, "rate_limit_reserve")
        self._pause = scripts.register(redis, "rate_limit_pause")

    def key(self, bucket: str) -> str:
        return self._keys.rate_limit(bucket)

    async def reserve(self, limits: Sequence[Limit]) -> float:
        """Book one send in every bucket of ``limits``; seconds to wait before sending."""
        if not limits:
            return 0.0
        buckets = [limit.bucket for limit in limits]
        if len(set(buckets)) != len(buckets):
            raise ValueError(f"a bucket is named twice: {buckets}")
        args: list[int] = []
        for limit in limits:
            args += [limit.count, max(1, round(limit.period * US))]
        wait_us = await self._reserve(keys=[self.key(b) for b in buckets], args=args)
        return int(wait_us) / US

    async def acquire(self, limits: Sequence[Limit]) -> float:
        """Book a send and sleep until it is due; returns the seconds slept."""
        delay = await self.reserve(limits)
        if delay > 0:
            await asyncio.sleep(delay)
        return delay

    async def pause(self, bucket: str, seconds: float) -> None:
        """After a platform 429: nothing in ``bucket`` is booked before ``seconds``
        from now (a longer pause already in place stays; booked sends keep their slots)."""
        await self._pause(keys=[self.key(bucket)], args=[max(0, round(seconds * US))])


# -- the platforms' published limits (/work/shared/DESIGN.md, "Platform facts") --------
# The destination's own bucket comes first: after a 429 the outbox pauses limits[0].
#
# Each window is booked 5 % longer than the platform's: a send is booked on Redis's
# clock but reaches the platform a few milliseconds later or earlier (event loop,
# connection pool), and the benchmark saw sends 0.993 s apart for a 1 s limit, each
# provoking a 429 whose retry_after costs far more than the margin
# (docs/benchmarks.md, "Platform-limit utilisation").
MARGIN = 1.05


def telegram_limits(chat_id: str) -> list[Limit]:
    chat_id = str(chat_id)
    limits = [Limit(f"tg:chat:{chat_id}", 1, 1.0 * MARGIN)]  # "about 1 msg/s per chat"
    if chat_id.startswith("-"):  # groups, supergroups and channels have negative ids
        limits.append(Limit(f"tg:group:{chat_id}", 20, 60.0 * MARGIN))  # "20 msg/min per group"
    limits.append(Limit("tg:bot", 30, 1.0 * MARGIN))  # "30 msg/s per bot"
    return limits


DISCORD_GLOBAL = Limit("dc:bot", 50, 1.0 * MARGIN)  # "50 requests/s per bot" (the global limit)


def discord_limits(channel_id: str) -> list[Limit]:
    return [
        # Webhook executions: Discord's usual bucket is 5 per 2 s per webhook, and we
        # keep one webhook per channel. discord.py also honours the X-RateLimit-* headers.
        Limit(f"dc:channel:{channel_id}", 5, 2.0 * MARGIN),
        DISCORD_GLOBAL,
    ]
