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


_PRELUDE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

local function read_bucket(key)
  local nums = {}
  local raw = redis.call('GET', key)
  if raw then
    for word in string.gmatch(raw, '%d+') do nums[#nums + 1] = tonumber(word) end
  end
  local paused = table.remove(nums, 1) or 0
  return paused, nums
end

local function write_bucket(key, paused, sends, ttl_us)
  local parts = {string.format('%.0f', paused > now and paused or 0)}
  for i = 1, #sends do parts[#parts + 1] = string.format('%.0f', sends[i]) end
  redis.call('SET', key, table.concat(parts, ' '), 'PX', math.max(1, math.ceil(ttl_us / 1000)))
end
"""

# KEYS: the buckets; ARGV: count, period (us) for each bucket. Returns the wait in us.
_RESERVE = _PRELUDE + """
local b = {}
local candidates = {now}
for i = 1, #KEYS do
  local count, period = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local paused, sends = read_bucket(KEYS[i])
  local live = {}  -- a send at or before now - period cannot share a window with t >= now
  for _, s in ipairs(sends) do
    if s > now - period then
      live[#live + 1] = s
      candidates[#candidates + 1] = s + period
    end
  end
  candidates[#candidates + 1] = paused
  b[i] = {count = count, period = period, paused = paused, sends = live}
end

-- t is free in a bucket unless paused, or unless some `count` consecutive bookings
-- would share a window shorter than `period` with t (count + 1 sends in one window).
local function free(x, t)
  if t < x.paused then return false end
  local s, n = x.sends, x.count
  for i = 1, #s - n + 1 do
    if s[i + n - 1] - x.period < t and t < s[i] + x.period then return false end
  end
  return true
end

-- The busy times are open intervals (and [now, paused)), so the earliest free
-- instant is now or one of their right ends.
table.sort(candidates)
local at
for _, c in ipairs(candidates) do
  if c >= now then
    local ok = true
    for i = 1, #b do
      if not free(b[i], c) then ok = false; break end
    end
    if ok then at = c; break end
  end
end

for i = 1, #KEYS do
  local x = b[i]
  local pos = #x.sends + 1
  while pos > 1 and x.sends[pos - 1] > at do pos = pos - 1 end
  table.insert(x.sends, pos, at)
  local horizon = math.max(x.paused, x.sends[#x.sends] + x.period)
  write_bucket(KEYS[i], x.paused, x.sends, horizon - now + x.period)
end
return at - now
"""

# KEYS[1]: the bucket; ARGV[1]: how long to block it (us). Never shortens a pause or a TTL.
_PAUSE = _PRELUDE + """
local paused, sends = read_bucket(KEYS[1])
local untl = math.max(paused, now + tonumber(ARGV[1]))
local ttl = math.max(redis.call('PTTL', KEYS[1]) * 1000, untl - now + 1000000)
write_bucket(KEYS[1], untl, sends, ttl)
return 1
"""


class RateLimiter:
    def __init__(self, redis, prefix: str):
        """``redis``: a ``redis.asyncio.Redis`` (decode_responses=True)."""
        self._redis = redis
        self._prefix = prefix
        self._reserve = redis.register_script(_RESERVE)
        self._pause = redis.register_script(_PAUSE)

    def key(self, bucket: str) -> str:
        return f"{self._prefix}rl:{bucket}"

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
