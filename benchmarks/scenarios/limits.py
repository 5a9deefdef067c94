"""3. Platform-limit utilisation: a flood against stand-ins that enforce the limits.

The Telegram stand-in enforces 1 msg/s per chat, 20 msg/min per group and
30 msg/s per bot (429 with ``parameters.retry_after``); the Discord stand-in 5
requests per 2 s per route bucket (per webhook) and a global 50 requests/s.
The bridge paces itself as in production (TWINBRIDGE_RATE_LIMITS unset).

Each run floods 50 Telegram groups and 50 Discord channels, each linked to
one chat on the other platform: 5 messages in every chat at once, 500 in all,
so 250 posts must reach 50 chats on each platform. The share of the allowed
rate is T_ideal / T: T from the flood to the last post on that platform,
T_ideal the last send of the fastest schedule the stand-ins' limits allow
(simulated below with the stand-ins' own rules), starting at the flood.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections import deque

from sandbox.telegram.ratelimits import BOT_LIMIT, CHAT_LIMIT, GROUP_LIMIT

from ..load import Traffic
from .. import world as world_module
from ..world import Layout, World, add_pairs
from . import Context

CHATS = 50  # per platform
PER_CHAT = 5
DISCORD_ROUTE = (5, 2.0)
DISCORD_GLOBAL = (50, 1.0)
EPSILON = 1e-9


def _free_at(window: deque, count: int, period: float, t: float) -> float:
    """Earliest time ≥ t at which a sliding window of accepted sends takes one more."""
    live = [x for x in window if x > t - period]
    return t if len(live) < count else live[len(live) - count] + period


def _last_send(remaining: list[int], try_send, next_time) -> float:
    """Last send of a greedy schedule: at each instant the chats with the most left
    send first (no chat is starved) while ``try_send(i, t)`` lets them, then time moves
    to ``next_time(t)``."""
    t = last = 0.0
    while any(remaining):
        progress = True
        while progress:
            progress = False
            for i in sorted(range(len(remaining)), key=lambda k: -remaining[k]):
                if remaining[i] and try_send(i, t):
                    remaining[i] -= 1
                    last, progress = t, True
        if any(remaining):
            t = next_time(t)
    return last


def ideal_telegram_seconds(per_chat: list[int]) -> float:
    """Last send of the fastest schedule under the Telegram stand-in's limits (groups)."""
    remaining = list(per_chat)
    chats = [deque() for _ in remaining]
    groups = [deque() for _ in remaining]
    bot: deque = deque()

    def ready_at(i: int, t: float) -> float:
        return max(
            _free_at(chats[i], *CHAT_LIMIT, t), _free_at(groups[i], *GROUP_LIMIT, t), _free_at(bot, *BOT_LIMIT, t)
        )

    def try_send(i: int, t: float) -> bool:
        if ready_at(i, t) > t:
            return False
        for window in (chats[i], groups[i], bot):
            window.append(t)
        return True

    def next_time(t: float) -> float:
        return max(t, min(ready_at(i, t) for i, left in enumerate(remaining) if left)) + EPSILON

    return _last_send(remaining, try_send, next_time)


def ideal_discord_seconds(per_channel: list[int], route=DISCORD_ROUTE, global_limit=DISCORD_GLOBAL) -> float:
    """Last send of the fastest schedule under the Discord stand-in's fixed-window buckets
    (one webhook execute per post, webhooks already made)."""
    remaining = list(per_channel)
    routes = [[0, 0.0] for _ in remaining]  # [count, reset_at], as DiscordStandIn._spend keeps them
    glob = [0, 0.0]

    def spend(bucket: list, limit: int, window: float, t: float) -> bool:
        if t >= bucket[1]:
            bucket[0], bucket[1] = 0, t + window
        return bucket[0] < limit

    def try_send(i: int, t: float) -> bool:
        if not (spend(glob, *global_limit, t) and spend(routes[i], *route, t)):
            return False
        glob[0] += 1
        routes[i][0] += 1
        return True

    def next_time(t: float) -> float:
        resets = [b[1] for b in [glob] + [routes[i] for i, left in enumerate(remaining) if left] if b[1] > t]
        return min(resets) if resets else t + 0.001

    return _last_send(remaining, try_send, next_time)


def _busiest_window(times: list[float], period: float) -> int:
    """Most requests in any window of ``period`` seconds."""
    times, best, start = sorted(times), 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - period:
            start += 1
        best = max(best, end - start + 1)
    return best


def _gaps(by_chat: dict, span: int) -> list[float]:
    """For each chat, the time between request i and request i+span (span = the bucket's count)."""
    out = []
    for times in by_chat.values():
        times = sorted(times)
        out += [b - a for a, b in zip(times, times[span:], strict=False)]
    return out


def pacing_evidence(world: World, tg_from: float, dc_from: float) -> dict:
    """How the bridge's sends arrived at the stand-ins during the flood (every attempt,
    429s included): the busiest window of the per-bot/global limit, and how close
    together the sends to one chat came, against the bucket's period."""
    tg: dict[int, list[float]] = {}
    for at, method, params in world.telegram.requests:
        if at >= tg_from and method.lower() == "sendmessage":
            tg.setdefault(params.get("chat_id"), []).append(at)
    dc: dict[str, list[float]] = {}
    for at, method, path, _ in world.discord.requests:
        if at >= dc_from and method == "POST" and "/webhooks/" in path:
            dc.setdefault(path, []).append(at)
    tg_gaps = _gaps(tg, CHAT_LIMIT[0])
    dc_gaps = _gaps(dc, DISCORD_ROUTE[0])
    return {
        "telegram_attempts": sum(map(len, tg.values())),
        "telegram_busiest_1s": _busiest_window([t for ts in tg.values() for t in ts], BOT_LIMIT[1]),
        "telegram_chat_gaps_under_1s": sum(1 for g in tg_gaps if g < CHAT_LIMIT[1]),
        "telegram_chat_gap_min": min(tg_gaps, default=None),
        "discord_attempts": sum(map(len, dc.values())),
        "discord_busiest_1s": _busiest_window([t for ts in dc.values() for t in ts], DISCORD_GLOBAL[1]),
        "discord_route_gaps_under_2s": sum(1 for g in dc_gaps if g < DISCORD_ROUTE[1]),
    }


def _histogram(offsets: list[float], width: float) -> list[int]:
    """How many of ``offsets`` (seconds from the flood) fell in each ``width`` slot."""
    counts: list[int] = []
    for offset in offsets:
        slot = int(max(0.0, offset) // width)
        counts += [0] * (slot + 1 - len(counts))
        counts[slot] += 1
    return counts


def _counts(world: World) -> dict:
    by = world.telegram.rate_limited_by
    return {
        "telegram_429": world.telegram.rate_limited_responses,
        "telegram_429_chat": by["chat"],
        "telegram_429_group": by["group"],
        "telegram_429_bot": by["bot"],
        "discord_429": world.discord.rate_limited_responses,
        "discord_global_429": world.discord.global_rate_limited_responses,
        "discord_requests": len(world.discord.requests),
    }


def _delta(after: dict, before: dict) -> dict:
    return {k: after[k] - before[k] for k in after}


async def flood(ctx: Context, world: World, pairs: list[tuple[int, int]], run: int) -> dict:
    traffic = Traffic(world, pairs)
    # One message per chat first: the webhooks exist and the connections are open,
    # so the flood's posts are one request each. Then every window empties.
    before_warm = _counts(world)
    await traffic.warm_up(timeout=120)
    warm = _delta(_counts(world), before_warm)
    await asyncio.sleep(3.0)
    before = _counts(world)
    traffic.begin()
    flood_wall, flood_loop = time.time(), asyncio.get_running_loop().time()  # the stand-ins' clocks
    flood_at = time.perf_counter()
    for _ in range(PER_CHAT):
        for source in traffic.sources:
            traffic.inject(source)
    expected = len(traffic.sources) * PER_CHAT
    await traffic.wait_delivered(expected, timeout=120, stall=20)
    counts = _delta(_counts(world), before)
    evidence = pacing_evidence(world, flood_wall, flood_loop)
    receipts = traffic.receipts()
    injected = traffic.batch.injected
    out = {
        "run": run,
        "messages": expected,
        "warm_up_429": {k: v for k, v in warm.items() if k in ("telegram_429", "discord_429", "discord_global_429")},
        **counts,
        "pacing": evidence,
        "platforms": {},
    }
    ideal = {
        "telegram": ideal_telegram_seconds([PER_CHAT] * CHATS),
        "discord": ideal_discord_seconds([PER_CHAT] * CHATS),
    }
    for destination in ("telegram", "discord"):
        times = sorted(injected[n][0] + latency for n, latency, _, d in receipts if d == destination)
        n = len(times)
        took = times[-1] - flood_at if times else None
        spread = times[-1] - times[0] if n > 1 else None
        out["platforms"][destination] = {
            "posts_expected": CHATS * PER_CHAT,
            "posts_arrived": n,
            "seconds_from_flood": took,
            "seconds_first_to_last": spread,
            "ideal_seconds": ideal[destination],
            "achieved_rate": n / took if took else None,
            "allowed_rate": CHATS * PER_CHAT / ideal[destination] if ideal[destination] else None,
            "share_of_allowed": ideal[destination] / took if took else None,
            # The pacing alone: the same ideal from the first post on (the pipeline's
            # latency to that first post left out; the ideal schedule starts with a send).
            "share_while_pacing": ideal[destination] / spread if spread else None,
            # Where the time went: a slow start (posts still in the pipeline) or the pacing.
            "arrived_per_half_second": _histogram([t - flood_at for t in times], 0.5),
        }
        ctx.say(
            f"limits run {run}: {destination}: {n}/{CHATS * PER_CHAT} posts in {took or 0:.2f}s "
            f"(ideal {ideal[destination]:.2f}s, "
            f"share {out['platforms'][destination]['share_of_allowed'] or 0:.0%}; from the first post "
            f"{out['platforms'][destination]['share_while_pacing'] or 0:.0%})"
        )
    ctx.say(
        f"limits run {run}: 429s: telegram {counts['telegram_429']} (per chat {counts['telegram_429_chat']}, "
        f"per group {counts['telegram_429_group']}, per bot {counts['telegram_429_bot']}), "
        f"discord {counts['discord_429']} (global {counts['discord_global_429']})"
    )
    return out


@contextlib.contextmanager
def cpu_hogs(count: int):
    """``count`` processes spinning on a core each (the machine busy with something else),
    stopped by their id afterwards."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True) for _ in range(count)]
    for hog in hogs:
        world_module._LIVE_PROCS[hog.pid] = hog  # the exit-time safety net stops them too
    try:
        yield [hog.pid for hog in hogs]
    finally:
        for hog in hogs:
            world_module._stop_group(hog, 5)
            world_module._LIVE_PROCS.pop(hog.pid, None)


async def run(ctx: Context) -> dict:
    runs = 1 if ctx.quick else ctx.runs
    hogs = os.cpu_count() or 2
    layout = Layout()
    # A fresh set of 50 + 50 chats per run: Telegram's per-group window is a minute long;
    # the last ``runs`` sets are flooded with CPU hogs beside the bridge.
    sets = [add_pairs(layout, CHATS, first=1000 + k * CHATS) for k in range(2 * runs)]
    async with World(
        layout,
        ctx.redis_url,
        name="limits",
        rate_limits_off=False,
        telegram_limits=True,
        discord_route_limit=DISCORD_ROUTE,
        discord_global_limit=DISCORD_GLOBAL,
    ) as world:
        await world.start_worker(2)
        await world.start_adapters()
        results = [await flood(ctx, world, pairs, k + 1) for k, pairs in enumerate(sets[:runs])]
        pressured = []
        for k, pairs in enumerate(sets[runs:]):
            with cpu_hogs(hogs):
                ctx.say(f"limits: flood {k + 1} with {hogs} CPU hog(s) beside the bridge")
                pressured.append(await flood(ctx, world, pairs, k + 1))
    return {
        "setup": {
            "chats_per_platform": CHATS,
            "messages_per_chat": PER_CHAT,
            "messages": 2 * CHATS * PER_CHAT,
            "telegram_limits": {"per_chat": CHAT_LIMIT, "per_group": GROUP_LIMIT, "per_bot": BOT_LIMIT},
            "discord_limits": {"per_route": DISCORD_ROUTE, "global": DISCORD_GLOBAL},
            "rate_limits": "platform (the bridge's own pacing on)",
            "runs": runs,
            "cpu_hogs": hogs,
        },
        "runs": results,
        # The same flood while ``cpu_hogs`` processes spin beside the bridge (issue 17 item 4).
        "pressure_runs": pressured,
    }
