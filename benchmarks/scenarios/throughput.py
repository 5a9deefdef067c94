"""2. Sustained throughput without a growing backlog, with 1, 2 and 4 worker processes.

The latency world (120 links, both directions, translation, no pacing); for
each ``--concurrency`` a short search over offered rates: up by GROWTH from
:data:`FIRST_RATE` while the bridge keeps up, then bisecting to
:data:`GRANULARITY`. A rate *keeps up* when the generator really offered it
(≥ 95 %), the backlog when the offer stopped was under one second's worth of
messages, and every post arrived within :data:`DRAIN_LIMIT` seconds after the
offer stopped. A level that left posts undelivered is followed by a fresh
world, so its stranded posts do not weigh on the next level.

Scale-out: besides one `twinbridge run` for both platforms, the search runs once more
with 2 worker processes and **2 adapter processes** sharing Redis, as two hosts would
(key ``2+2``): one `twinbridge run` with only the Telegram token, one with only the
Discord token. (Two processes with the same bot token do not add capacity: the second
stands by for the first, docs/operations.md.)
"""

from __future__ import annotations

from ..load import Traffic
from ..world import World, pairs_layout
from . import Context, pair_ids, process_groups
from .common import measured_run
from .latency import PAIRS

CONCURRENCIES = (1, 2, 4)
SPLIT = "2+2"  # 2 worker processes, 2 adapter processes (one per platform)
FIRST_RATE = 250
GROWTH = 1.4  # 250, 350, 500 (rounded), …
GRANULARITY = 25  # msg/s: the search stops when the bracket is this narrow
DRAIN_LIMIT = 5.0  # seconds after the offer stops


def verdict(result: dict, rate: float) -> tuple[bool, str]:
    backlog = sum(result["backlog_at_offer_end"].values())
    reasons = []
    if result["achieved_rate"] < 0.95 * rate:
        reasons.append(f"the generator offered only {result['achieved_rate']:.0f} msg/s")
    if backlog > rate:
        reasons.append(f"{backlog} messages waiting when the offer stopped")
    if not result["all_delivered"]:
        reasons.append(f"{result['lost']} posts had not arrived when the wait ended")
    elif result["drain_seconds"] > DRAIN_LIMIT:
        reasons.append(f"the last post arrived {result['drain_seconds']:.1f}s after the offer stopped")
    return not reasons, "; ".join(reasons) or "keeps up"


def _round(rate: float) -> float:
    return max(GRANULARITY, round(rate / GRANULARITY) * GRANULARITY)


def next_rate(passed: float, failed: float | None, current: float) -> float | None:
    """The next rate to try, or None when the bracket is narrow enough."""
    if failed is None:
        return _round(current * GROWTH)
    if failed - passed <= GRANULARITY:
        return None
    candidate = _round((passed + failed) / 2)
    return None if candidate in (passed, failed) else candidate


class _Worlds:
    """One world at a time for a search; replaced when a level left it dirty."""

    def __init__(self, ctx: Context, concurrency: int, split: bool = False):
        self.ctx, self.concurrency, self.split = ctx, concurrency, split
        self.world: World | None = None
        self.traffic: Traffic | None = None
        self.made = 0

    async def get(self) -> tuple[World, Traffic]:
        if self.world is None:
            world = World(
                pairs_layout(PAIRS),
                self.ctx.redis_url,
                name=f"throughput{self.concurrency}{'-split' if self.split else ''}",
            )
            await world.__aenter__()
            self.world = world
            try:
                await world.start_worker(self.concurrency)
                if self.split:  # two hosts: one adapter process per platform
                    world.procs.start_twinbridge("adapters", "run", env={"DISCORD_BOT_TOKEN": ""})
                    world.procs.start_twinbridge("adapters-discord", "run", env={"TELEGRAM_BOT_TOKEN": ""})
                    await world.wait_adapters_connected()
                else:
                    await world.start_adapters()
                self.traffic = Traffic(world, pair_ids(0, PAIRS))
                await self.traffic.warm_up(per_source=max(1, self.concurrency // 2))
            except BaseException as exc:
                await self.close(failed=isinstance(exc, Exception))  # logs kept for failures, not Ctrl-C
                raise
            self.made += 1
        return self.world, self.traffic

    async def close(self, failed: bool = False) -> None:
        if self.world is not None:
            world, self.world = self.world, None
            await world.close(keep_logs=failed)


async def search(ctx: Context, concurrency: int, seconds: float, levels: int, split: bool = False) -> dict:
    worlds = _Worlds(ctx, concurrency, split)
    tried = []
    passed, failed = 0.0, None
    rate: float | None = FIRST_RATE
    try:
        while rate is not None and len(tried) < levels:
            world, traffic = await worlds.get()
            groups = process_groups(world, "adapters", "worker", *(["adapters-discord"] if split else []))
            result = await measured_run(world, traffic, rate, seconds, groups, drain_timeout=30.0)
            ok, why = verdict(result, rate)
            tried.append({"rate": rate, "keeps_up": ok, "why": why, **result})
            ctx.say(
                f"throughput: {concurrency} worker process(es){', 2 adapter processes' if split else ''}, "
                f"{rate:.0f} msg/s: {why} "
                f"(p50 {result['latency_ms']['p50'] or 0:.0f} ms, {result['adapter_restarts']} adapter restarts)"
            )
            if ok:
                passed = max(passed, rate)
            else:
                failed = rate if failed is None else min(failed, rate)
            if not result["all_delivered"] or result["adapter_restarts"]:
                await worlds.close()  # stranded posts or a rebuilt adapter: start the next level clean
            rate = next_rate(passed, failed, rate)
    finally:
        await worlds.close()
    return {
        "concurrency": SPLIT if split else concurrency,
        "adapter_processes": 2 if split else 1,
        "max_sustained": passed or None,
        "first_failing": failed,
        "worlds": worlds.made,
        "levels": tried,
    }


async def run(ctx: Context, concurrencies=CONCURRENCIES) -> dict:
    seconds = 5.0 if ctx.quick else 8.0
    levels = 2 if ctx.quick else 5
    results = [await search(ctx, c, seconds, levels) for c in concurrencies]
    results.append(await search(ctx, 2, seconds, levels, split=True))
    return {
        "setup": {
            "links": PAIRS,
            "seconds_per_level": seconds,
            "max_levels": levels,
            "first_rate": FIRST_RATE,
            "growth": GROWTH,
            "granularity": GRANULARITY,
            "drain_limit_seconds": DRAIN_LIMIT,
            "keeps_up": "≥95% of the rate offered, backlog at the end of the offer ≤ 1 s of messages, "
            f"every post arrived ≤ {DRAIN_LIMIT:.0f} s after the offer stopped",
        },
        "by_concurrency": {str(r["concurrency"]): r for r in results},
    }
