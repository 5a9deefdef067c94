"""A rate limiter shared by every adapter process, kept in Redis.

``book(limits)`` books one send in every bucket of ``limits``: a slot in a schedule,
made atomically by one Lua script, so callers in different processes never race for
the same slot and nobody can be starved by faster pollers. The caller waits for the
slot (:meth:`Booking.wait`) and, right before its request leaves, makes sure it is
still on time (:meth:`Booking.on_time`); ``acquire(limits)`` does both at once and
``reserve(limits)`` only books, returning the wait.

Why a send that is late moves its slot
--------------------------------------
A slot is a moment on Redis's clock; each process maps it onto its own (RedisClock,
from the quickest round trips) and sleeps until that moment, not for "the wait" counted
from whenever a busy process got round to reading the answer.
Each window is booked a little longer than the platform's (MARGIN), so two sends
booked a window apart still arrive a window apart if the first is a little late. A
process the machine does not run for a while (other load on the cores) wakes with
many sends overdue: sent then, they arrive bunched, and the platform counts more in
one window than was booked there (the benchmark saw 5 x 429 in a flood beside a CPU
hog). So a send later than half the margin does not go: its booking is moved, in one
script, to the earliest free slot from now on, and the old slot is given back.

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
import time
from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis

from .storage import scripts
from .storage.keys import Keys

US = 1_000_000  # microseconds per second (Lua numbers hold them exactly)
# Each window is booked MARGIN longer than the platform's (see the platforms' limits
# below); a send may leave up to half of that late before its booking is moved: the
# other half is for the way to the platform (connection pool, network, its clock).
MARGIN = 0.03
LATE_SHARE = MARGIN / (1 + MARGIN) / 2  # of the shortest booked window
MAX_MOVES = 3  # a process that is never on time sends anyway (a 429 then says "later")
CLOCK_SAMPLE_AGE = 10.0  # seconds a clock sample is preferred to a less precise newer one


@dataclass(frozen=True)
class Limit:
    """At most ``count`` sends in any ``period`` seconds in ``bucket``, and (``spacing``)
    no two closer together than that many seconds."""

    bucket: str
    count: int
    period: float
    spacing: float = 0.0

    def __post_init__(self) -> None:
        if self.count < 1 or not self.period > 0 or not 0 <= self.spacing <= self.period:
            raise ValueError(f"bad limit {self!r}: need count >= 1, period > 0, 0 <= spacing <= period")


class RedisClock:
    """Redis's clock on this process's monotonic clock: ``redis - offset``, taken from
    the booking with the quickest round trip (lately), so a slot is a moment here, not
    "now + wait" counted from whenever a busy process read the answer."""

    def __init__(self) -> None:
        self.offset: float | None = None
        self.error = 0.0  # half the round trip of the sample the offset came from
        self._taken = 0.0

    def sample(self, redis_now: float, asked: float, answered: float) -> None:
        error = (answered - asked) / 2
        if self.offset is None or error <= self.error or answered - self._taken > CLOCK_SAMPLE_AGE:
            self.offset, self.error, self._taken = redis_now - (asked + answered) / 2, error, answered

    def local(self, redis_time: float) -> float:
        """``redis_time`` on the monotonic clock, never earlier than it can be."""
        assert self.offset is not None
        return redis_time - self.offset + self.error


class Booking:
    """One send booked in the shared schedule: its slot, as a moment on this process's
    monotonic clock."""

    def __init__(self, limiter: RateLimiter, limits: Sequence[Limit]):
        self._limiter = limiter
        self.limits = list(limits)
        # How late the send may leave: half the margin of its shortest window.
        self.tolerance = min((limit.period for limit in self.limits), default=0.0) * LATE_SHARE
        self.slot_us: int | None = None  # the slot in Redis time (what a move gives back)
        self.due = 0.0  # the slot on the monotonic clock
        self.moves = 0  # times the booking was moved because its send was late

    async def _book(self) -> None:
        self.slot_us, self.due = await self._limiter._book(self.limits, moving=self.slot_us)

    async def wait(self, lead: float = 0.0) -> float:
        """Sleep until ``lead`` seconds before the slot; returns the seconds slept."""
        delay = self.due - lead - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        return max(0.0, delay)

    def late(self) -> float:
        """How late a send leaving now would be."""
        return time.monotonic() - self.due

    async def on_time(self) -> float:
        """Call right before the request leaves: waits for the slot if it is still ahead;
        a send later than the tolerance (the process was not run, a round trip took long)
        has its booking moved to the earliest free slot from now and waits for that.
        Returns the seconds waited."""
        if not self.limits:
            return 0.0
        slept = await self.wait()
        while self.late() > self.tolerance and self.moves < MAX_MOVES:
            self.moves += 1
            await self._book()
            slept += await self.wait()
        return slept


class RateLimiter:
    def __init__(self, redis: aioredis.Redis, prefix: str):
        """``redis``: decode_responses=True."""
        self._redis = redis
        self._keys = Keys(prefix)
        self._reserve = scripts.register(redis, "rate_limit_reserve")
        self._pause = scripts.register(redis, "rate_limit_pause")
        self.clock = RedisClock()
        self.moved = 0  # bookings moved because their send would have left late

    def key(self, bucket: str) -> str:
        return self._keys.rate_limit(bucket)

    async def _book(self, limits: Sequence[Limit], moving: int | None = None) -> tuple[int, float]:
        """(slot in us of Redis time, slot on the monotonic clock) of a send booked in
        every bucket of ``limits``; ``moving``: the slot of an earlier booking of them
        to give back."""
        _, slot_us, _ = await self._call(limits, moving)
        if moving is not None:
            self.moved += 1
        return slot_us, self.clock.local(slot_us / US)

    async def _call(self, limits: Sequence[Limit], moving: int | None = None) -> tuple[int, int, int]:
        buckets = [limit.bucket for limit in limits]
        if len(set(buckets)) != len(buckets):
            raise ValueError(f"a bucket is named twice: {buckets}")
        args: list[int] = []
        for limit in limits:
            args += [limit.count, max(1, round(limit.period * US)), round(limit.spacing * US)]
        if moving is not None:
            args.append(moving)
        asked = time.monotonic()
        wait_us, slot_us, now_us = (int(x) for x in await self._reserve(keys=[self.key(b) for b in buckets], args=args))
        self.clock.sample(now_us / US, asked, time.monotonic())
        return wait_us, slot_us, now_us

    async def book(self, limits: Sequence[Limit]) -> Booking:
        """Book one send in every bucket of ``limits``; wait for it with the booking."""
        booking = Booking(self, limits)
        if booking.limits:
            await booking._book()
        return booking

    async def reserve(self, limits: Sequence[Limit]) -> float:
        """Book one send in every bucket of ``limits``; seconds to wait before sending."""
        if not limits:
            return 0.0
        wait_us, _, _ = await self._call(limits)
        return wait_us / US

    async def acquire(self, limits: Sequence[Limit]) -> float:
        """Book a send and wait until it is due (moving it if this process woke too
        late to keep it); returns the seconds waited."""
        booking = await self.book(limits)
        return await booking.on_time()

    async def pause(self, bucket: str, seconds: float) -> None:
        """After a platform 429: nothing in ``bucket`` is booked before ``seconds``
        from now (a longer pause already in place stays; booked sends keep their slots)."""
        await self._pause(keys=[self.key(bucket)], args=[max(0, round(seconds * US))])


# -- the platforms' published limits (/work/shared/DESIGN.md, "Platform facts") --------
# The destination's own bucket comes first: after a 429 the outbox pauses limits[0].
#
# Each window is booked MARGIN (3 %) longer than the platform's: a send is booked on
# Redis's clock but reaches the platform a few milliseconds later or earlier (event
# loop, connection pool): without a margin the benchmark saw sends 0.993 s apart for a
# 1 s limit, each provoking a 429 whose retry_after costs far more than the margin.
# Half the margin is what a send may be late (Booking.on_time), the other half the way
# there. 5 % (until issue 17) cost 5 % of every platform's rate, yet did not keep a busy
# machine's late, bunched sends under the limits (docs/benchmarks.md, "Platform-limit
# utilisation").
def _booked(period: float) -> float:
    return period * (1 + MARGIN)


# The shared buckets (per bot) book sends at least SPACING apart: about what one send
# costs the adapters process, so a window's sends are due one after the other as the
# process can make them, not all at one instant (where the last of 50 leaves tens of ms
# late and would have its booking moved).
SPACING = 0.002


def telegram_limits(chat_id: str) -> list[Limit]:
    chat_id = str(chat_id)
    limits = [Limit(f"tg:chat:{chat_id}", 1, _booked(1.0))]  # "about 1 msg/s per chat"
    if chat_id.startswith("-"):  # groups, supergroups and channels have negative ids
        limits.append(Limit(f"tg:group:{chat_id}", 20, _booked(60.0)))  # "20 msg/min per group"
    limits.append(Limit("tg:bot", 30, _booked(1.0), SPACING))  # "30 msg/s per bot"
    return limits


DISCORD_GLOBAL = Limit("dc:bot", 50, _booked(1.0), SPACING)  # "50 requests/s per bot" (the global limit)


def discord_limits(channel_id: str) -> list[Limit]:
    return [
        # Webhook executions: Discord's usual bucket is 5 per 2 s per webhook, and we
        # keep one webhook per channel. discord.py also honours the X-RateLimit-* headers.
        Limit(f"dc:channel:{channel_id}", 5, _booked(2.0)),
        DISCORD_GLOBAL,
    ]
