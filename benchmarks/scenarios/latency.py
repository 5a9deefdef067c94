"""1 + 5. End-to-end latency at 50, 200 and 500 msg/s, CPU per message, the
no-op Celery floor, and resident memory at rest and under load.

120 links, each a Telegram group (English) ↔ a Discord channel (German), so
every message is translated (by the LibreTranslate stand-in, instantly).
Messages go in round-robin over all 240 chats, both directions; the bridge's
own pacing is off (TWINBRIDGE_RATE_LIMITS=off) and the Discord stand-in's
route buckets are out of reach, so platform limits are not what is measured.
"""

from __future__ import annotations

from .. import procfs
from ..floor import Floor
from ..load import Traffic
from ..measure import latency_summary, over_runs
from ..world import World, pairs_layout
from . import Context, pair_ids, process_groups
from .common import measured_run

RATES = (50, 200, 500)
# Seconds of load per run: shorter at 500 msg/s, which is past capacity and takes long to drain.
SECONDS = {50: 6.0, 200: 6.0, 500: 3.0}
FLOOR_SECONDS = 3.0
PAIRS = 120
CONCURRENCY = 2  # one worker process per core
TARGET_RATE = 200  # where the targets are set


async def floor_run(floor: Floor, rate: float, seconds: float) -> dict:
    count = max(1, int(rate * seconds))
    cpu = procfs.CpuMeter({"floor-worker": floor.pid()})
    cpu.start()
    harness_before = procfs.self_cpu_seconds()
    result = await floor.measure(rate, count)
    used = cpu.stop()
    used["harness"] = procfs.self_cpu_seconds() - harness_before
    return {
        "target_rate": rate,
        "achieved_rate": result["achieved_rate"],
        "sent": result["offered"],
        "lost": result["lost"],
        "latency_ms": latency_summary(result.pop("latencies")),
        "cpu_ms_per_task": {name: 1000 * v / count for name, v in used.items()},
    }


def summarise(runs: list[dict], floors: list[dict]) -> dict:
    def pick(rows, *path):
        values = []
        for row in rows:
            for key in path:
                row = row.get(key) if isinstance(row, dict) else None
            values.append(row)
        return values

    out = {q: over_runs(pick(runs, "latency_ms", q)) for q in ("p50", "p95", "p99", "max")}
    out["floor"] = {q: over_runs(pick(floors, "latency_ms", q)) for q in ("p50", "p95", "p99")}
    out["floor"]["cpu_ms_per_task"] = {
        name: over_runs(pick(floors, "cpu_ms_per_task", name)) for name in floors[0]["cpu_ms_per_task"]
    }
    for q in ("p50", "p99"):
        ratios = [
            b["latency_ms"][q] / f["latency_ms"][q] if b["latency_ms"][q] and f["latency_ms"][q] else None
            for b, f in zip(runs, floors, strict=False)
        ]
        out[f"ratio_{q}"] = over_runs(ratios)
    out["cpu_ms_per_message"] = {
        name: over_runs(pick(runs, "cpu_ms_per_message", name)) for name in runs[0]["cpu_ms_per_message"]
    }
    commands = sorted({c for r in runs for c in r.get("redis_calls_per_message", {})})
    out["redis_calls_per_message"] = {
        c: over_runs([r.get("redis_calls_per_message", {}).get(c, 0.0) for r in runs]) for c in commands
    }
    out["achieved_rate"] = over_runs(pick(runs, "achieved_rate"))
    out["delivered_rate"] = over_runs(pick(runs, "delivered_rate"))
    out["lost"] = sum(r["lost"] for r in runs)
    out["lost_per_run"] = [r["lost"] for r in runs]
    out["adapter_restarts_per_run"] = [r["adapter_restarts"] for r in runs]
    out["all_delivered"] = all(r["all_delivered"] for r in runs)
    out["by_source_p50"] = {
        s: over_runs([r["latency_ms_by_source"].get(s, {}).get("p50") for r in runs]) for s in ("telegram", "discord")
    }
    return out


async def one_rate(ctx: Context, rate: float, memory_at_rest: dict) -> dict:
    """``ctx.runs`` runs at one rate, each followed by a floor run, in a world of their own
    (a rate past capacity must not leave its trouble to the next)."""
    seconds = 3.0 if ctx.quick else SECONDS.get(rate, 6.0)
    floor_seconds = 2.0 if ctx.quick else FLOOR_SECONDS
    async with World(pairs_layout(PAIRS), ctx.redis_url, name=f"latency{rate}") as world:
        await world.start_worker(CONCURRENCY)
        await world.start_adapters()
        floor = Floor(world, CONCURRENCY)
        await floor.start()
        traffic = Traffic(world, pair_ids(0, PAIRS))
        await traffic.warm_up()
        await floor.measure(50, 100)
        groups = process_groups(world, "adapters", "worker", "floor-worker")
        if not memory_at_rest:
            memory_at_rest.update(procfs.memory({k: v for k, v in groups.items() if k != "floor-worker"}))
        runs, floors = [], []
        for i in range(ctx.runs):
            runs.append(await measured_run(world, traffic, rate, seconds, groups))
            floors.append(await floor_run(floor, rate, floor_seconds))
            b, f, r = runs[-1]["latency_ms"], floors[-1]["latency_ms"], runs[-1]
            ctx.say(
                f"latency: {rate} msg/s run {i + 1}: p50 {b['p50']:.1f} p99 {b['p99']:.1f} ms "
                f"({r['delivered']}/{r['offered']} arrived, {r['adapter_restarts']} adapter restarts); "
                f"floor p50 {f['p50']:.1f} p99 {f['p99']:.1f} ms"
            )
    return {"seconds": seconds, "runs": runs, "floor_runs": floors, "summary": summarise(runs, floors)}


async def run(ctx: Context, rates=RATES) -> dict:
    at_rest: dict = {}
    per_rate = {}
    for rate in rates:
        per_rate[str(rate)] = await one_rate(ctx, rate, at_rest)
    under_load = per_rate[str(max(rates))]["runs"]
    peak: dict[str, dict] = {}
    for r in under_load:
        for name, mem in r["memory_peak_mb"].items():
            if name != "floor-worker" and mem["total"] >= peak.get(name, {}).get("total", 0):
                peak[name] = mem
    return {
        "setup": {
            "links": PAIRS,
            "chats": 2 * PAIRS,
            "worker_concurrency": CONCURRENCY,
            "seconds_per_run": {str(r): per_rate[str(r)]["seconds"] for r in rates},
            "floor_seconds_per_run": 2.0 if ctx.quick else FLOOR_SECONDS,
            "runs": ctx.runs,
            "rates": list(rates),
            "languages": "Telegram groups en, Discord channels de (every message translated)",
            "policy": "community (first names, redaction, profanity), translation: [libre]",
            "rate_limits": "off (TWINBRIDGE_RATE_LIMITS=off; Discord stand-in route limit 1e6/s)",
        },
        "rates": per_rate,
        "memory_mb": {"at_rest": at_rest, "under_load": peak, "under_load_rate": max(rates)},
    }
