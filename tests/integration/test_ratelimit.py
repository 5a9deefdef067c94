"""The shared rate limiter against a real Redis: bookings, combined limits, pauses,
atomicity across OS processes, and TTLs on every key."""

from __future__ import annotations

import asyncio
import multiprocessing
import time

import pytest
import redis.asyncio as aioredis

from core.ratelimit import LATE_SHARE, MARGIN, SPACING, Limit, RateLimiter, discord_limits, telegram_limits

CLOSE = 0.05  # seconds of slack for the round trips between two bookings


@pytest.fixture
def limiter(aredis, prefix) -> RateLimiter:
    return RateLimiter(aredis, prefix)


async def test_a_burst_of_count_goes_at_once_then_the_window_must_slide(limiter):
    limit = Limit("burst", count=5, period=1.0)
    slots = [(await limiter.book([limit])).slot_us for _ in range(11)]
    # The first five at once: each when it was booked (nothing waits).
    assert all(0 <= s - slots[0] < 500_000 for s in slots[:5])
    # The 6th..10th: one period after the first five (at most 5 in any 1 s window).
    assert slots[5:10] == [s + 1_000_000 for s in slots[:5]]
    assert slots[10] == slots[5] + 1_000_000


async def test_two_limits_combine_and_every_bucket_records_the_send(limiter):
    fast = Limit("fast", count=1, period=0.5)
    slow = Limit("slow", count=3, period=2.0)
    first = (await limiter.book([fast, slow])).slot_us

    async def after_first(limits) -> float:
        return ((await limiter.book(limits)).slot_us - first) / 1_000_000

    # fast alone would allow 0, .5, 1, 1.5; slow's 3-per-2s pushes the 4th to 2.0.
    assert [await after_first([fast, slow]) for _ in range(3)] == [0.5, 1.0, 2.0]
    # The 4th send was booked in `slow` too, at 2.0: the next one there is due
    # 2 s after the send at 0.5, not 2 s after the send at 0.
    assert await after_first([slow]) == 2.5
    # ... and in `fast` at 2.0 (not at 1.5, its own earliest): 1.5 is still free there.
    assert await after_first([fast]) == 1.5
    assert await after_first([fast]) == 2.5


async def test_a_chat_at_its_limit_does_not_hold_up_the_shared_bucket(limiter):
    bot = Limit("bot", count=3, period=1.0)
    busy_chat = Limit("chat:busy", count=1, period=10.0)
    assert await limiter.reserve([busy_chat, bot]) == 0.0
    assert await limiter.reserve([busy_chat, bot]) == pytest.approx(10.0, abs=CLOSE)
    # Another chat still gets the bot's free slots now, not after the busy chat's booking.
    assert await limiter.reserve([Limit("chat:quiet", 1, 10.0), bot]) == 0.0
    assert await limiter.reserve([Limit("chat:other", 1, 10.0), bot]) == 0.0
    # The bot's window now holds 3 sends: the next chat waits for it to slide.
    assert await limiter.reserve([Limit("chat:fourth", 1, 10.0), bot]) == pytest.approx(1.0, abs=CLOSE)


async def test_pause_blocks_the_bucket_then_releases_it(limiter):
    limit = Limit("paused", count=5, period=1.0)
    assert await limiter.reserve([limit]) == 0.0
    await limiter.pause("paused", 0.3)
    await limiter.pause("paused", 0.1)  # a shorter pause never shortens the one in place
    assert await limiter.reserve([Limit("unrelated", 5, 1.0)]) == 0.0
    assert await limiter.reserve([Limit("unrelated", 5, 1.0), limit]) == pytest.approx(0.3, abs=CLOSE)

    started = time.monotonic()
    slept = await limiter.acquire([limit])
    assert slept == pytest.approx(0.3, abs=CLOSE)
    assert time.monotonic() - started >= slept - 0.01
    assert await limiter.reserve([limit]) == 0.0  # released (3 of 5 used in this window)


async def test_a_long_pause_is_not_shortened_and_works_on_a_fresh_bucket(limiter, aredis, prefix):
    await limiter.pause("fresh", 2.0)
    await limiter.pause("fresh", 0.1)
    assert await limiter.reserve([Limit("fresh", 10, 1.0)]) == pytest.approx(2.0, abs=CLOSE)
    assert 2000 < await aredis.pttl(f"{prefix}rl:fresh") <= 4000


# -- a send that would leave late ------------------------------------------------------
async def test_a_send_woken_too_late_moves_its_booking_and_gives_the_old_slot_back(limiter, sync_redis, prefix):
    chat, bot = Limit("late:chat", 1, 1.0), Limit("late:bot", 30, 1.0)
    booking = await limiter.book([chat, bot])
    old = booking.slot_us
    # The process is not run for a while (other load on the cores): it wakes well past
    # the slot, further than the tolerance (half the margin of the shortest window).
    time.sleep(10 * 1.0 * LATE_SHARE)
    await booking.on_time()
    assert booking.moves >= 1 and limiter.moved == booking.moves
    for bucket in ("late:chat", "late:bot"):
        # One booking in each bucket: the new slot; the old one was given back.
        _, *slots = (int(x) for x in sync_redis.get(f"{prefix}rl:{bucket}").split())
        assert slots == [booking.slot_us] and booking.slot_us > old
    # The next send of the chat is booked a window after the moved slot, not the old one.
    await limiter.book([chat])
    _, *slots = (int(x) for x in sync_redis.get(f"{prefix}rl:late:chat").split())
    assert slots == [booking.slot_us, booking.slot_us + 1_000_000]


async def test_a_send_on_time_keeps_its_booking(limiter):
    limit = Limit("in-time", 2, 10.0)  # a long window: a tolerance of 10 * LATE_SHARE s
    first, second, third = [await limiter.book([limit]) for _ in range(3)]
    assert [await b.on_time() for b in (first, second)] == [0.0, 0.0]
    assert first.moves == second.moves == 0 and limiter.moved == 0
    assert third.due - first.due == pytest.approx(10.0, abs=CLOSE)  # waits for the window to slide


async def test_spacing_keeps_the_sends_of_a_bucket_apart(limiter):
    spaced = Limit("spaced", count=10, period=5.0, spacing=0.5)
    slots = [(await limiter.book([spaced])).slot_us for _ in range(4)]
    assert [s - slots[0] for s in slots] == [0, 500_000, 1_000_000, 1_500_000]
    # Other buckets of the same send keep their own rules.
    both = await limiter.book([Limit("unspaced", 10, 5.0), spaced])
    assert both.slot_us - slots[0] == 2_000_000


# -- atomic across processes ---------------------------------------------------------
PROCESSES, EACH = 3, 40
SHARED = Limit("shared", count=10, period=1.0)


def _book_in_a_process(redis_url, prefix, barrier, results) -> None:
    """Runs in a spawned process: book EACH sends, report when each may be sent."""

    async def book() -> list[float]:
        client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        try:
            limiter = RateLimiter(client, prefix)
            await limiter.reserve([Limit("warm-up", 1000, 1.0)])  # connect, load the script
            barrier.wait(timeout=60)  # all processes start booking together
            times = []
            for _ in range(EACH):
                delay = await limiter.reserve([SHARED])
                times.append(time.time() + delay)  # what a caller would sleep until
            return times
        finally:
            await client.aclose()

    results.put(asyncio.run(book()))


def test_bookings_are_atomic_across_processes(redis_url, prefix, sync_redis):
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [
        ctx.Process(target=_book_in_a_process, args=(redis_url, prefix, barrier, results)) for _ in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    try:
        per_process = [results.get(timeout=60) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
    assert [p.exitcode for p in procs] == [0] * PROCESSES
    times = sorted(t for batch in per_process for t in batch)
    assert len(times) == PROCESSES * EACH

    # Each caller turned a Redis-time slot into its own clock after its own round
    # trip, so allow a little jitter: any window a bit shorter than the period
    # holds at most `count` sends (a lost update would put 11+ in one).
    window = SHARED.period - 0.05
    crowded = max(sum(1 for u in times[i:] if u < t + window) for i, t in enumerate(times))
    assert crowded <= SHARED.count, f"{crowded} sends within {window}s"
    # 120 sends at 10/s with a first burst of 10: the last is due (120-10)/10 = 11 s in.
    spread = times[-1] - times[0]
    assert 10.95 <= spread <= 11.3, spread
    # Nothing slept: the bucket holds the pause marker and one booking per send
    # still ahead or in the current window (all of them, unless the run was slow).
    stored = sync_redis.get(f"{prefix}rl:shared").split()
    assert stored[0] == "0" and 110 <= len(stored) - 1 <= 120, len(stored)


# -- keys and platform limits --------------------------------------------------------
async def test_every_key_has_a_ttl_of_a_few_periods(limiter, aredis, prefix):
    await limiter.reserve(telegram_limits("-1001234"))
    await limiter.reserve(telegram_limits("42"))
    await limiter.reserve(discord_limits("112233445566778899"))
    await limiter.pause("tg:chat:42", 1.5)
    await limiter.pause("dc:unused", 0.5)
    keys = sorted([k async for k in aredis.scan_iter(match=f"{prefix}*")])
    assert keys == sorted(
        f"{prefix}rl:{b}"
        for b in [
            "tg:chat:-1001234",
            "tg:group:-1001234",
            "tg:bot",
            "tg:chat:42",
            "dc:channel:112233445566778899",
            "dc:bot",
            "dc:unused",
        ]
    )
    periods = {"tg:group:-1001234": 60.0, "dc:channel:112233445566778899": 2.0}
    for key in keys:
        ttl = await aredis.pttl(key)
        bucket = key.removeprefix(f"{prefix}rl:")
        assert 0 < ttl <= (3 * periods.get(bucket, 1.0) + 1.5) * 1000, (key, ttl)


def test_platform_limits_with_a_margin_of_three_percent():
    m = 1 + MARGIN
    assert telegram_limits("-1001234") == [
        Limit("tg:chat:-1001234", 1, 1.0 * m),
        Limit("tg:group:-1001234", 20, 60.0 * m),
        Limit("tg:bot", 30, 1.0 * m, SPACING),
    ]
    assert telegram_limits("42") == [Limit("tg:chat:42", 1, 1.0 * m), Limit("tg:bot", 30, 1.0 * m, SPACING)]
    assert discord_limits("99") == [Limit("dc:channel:99", 5, 2.0 * m), Limit("dc:bot", 50, 1.0 * m, SPACING)]
    assert MARGIN == 0.03


async def test_bad_input_is_refused(limiter):
    with pytest.raises(ValueError):
        Limit("x", 0, 1.0)
    with pytest.raises(ValueError):
        Limit("x", 1, 0)
    with pytest.raises(ValueError):
        Limit("x", 1, 1.0, spacing=-0.1)
    with pytest.raises(ValueError):
        await limiter.reserve([Limit("x", 1, 1.0), Limit("x", 2, 1.0)])
    assert await limiter.reserve([]) == 0.0
