"""One measured load run, shared by the latency and throughput scenarios."""

from __future__ import annotations

import time

from .. import procfs
from ..load import Traffic, pace
from ..measure import Sampler, latency_cdf, latency_summary, redis_commands, redis_cpu
from ..world import World


def _peak_memory(samples) -> dict:
    """Highest VmRSS seen per process of each group, and the highest group total."""
    peak: dict[str, dict] = {}
    for _, groups in samples:
        for name, mem in groups.items():
            p = peak.setdefault(name, {"main": 0.0, "children": [], "total": 0.0, "pss_total": 0.0})
            p["main"] = max(p["main"], mem["main"])
            p["total"] = max(p["total"], mem["total"])
            p["pss_total"] = max(p["pss_total"], mem.get("pss_total", 0.0))
            kids = mem["children"]
            p["children"] = (
                [max(a, b) for a, b in zip(p["children"] + [0.0] * len(kids), kids, strict=False)]
                if len(kids) >= len(p["children"])
                else p["children"]
            )
    return peak


def _backlog_summary(samples) -> dict:
    if not samples:
        return {}
    keys = samples[0][1].keys()
    peak = {k: max(v[k] for _, v in samples) for k in keys}
    total = [sum(v.values()) for _, v in samples]
    return {"max": peak, "max_total": max(total), "trace_total": total}


RESTART = "adapter stopped"  # twinbridge.run: "<platform> adapter stopped (<error>); restarting"
POOL_EXHAUSTED = "MaxConnectionsError"


def _adapter_trouble(world: World) -> tuple[int, int]:
    return world.log_count("adapters", RESTART), world.log_count("adapters", POOL_EXHAUSTED)


async def measured_run(
    world: World,
    traffic: Traffic,
    rate: float,
    seconds: float,
    groups: dict[str, int],
    *,
    drain_timeout: float = 90.0,
    stall: float = 6.0,
) -> dict:
    """Offer ``rate`` msg/s for ``seconds`` round-robin over the traffic's sources; wait
    until every post arrived (or nothing arrives for ``stall`` s); measure latency,
    CPU per message, memory and backlog."""
    count = max(1, int(rate * seconds))
    restarts_before, exhausted_before = _adapter_trouble(world)
    traffic.begin()
    cpu = procfs.CpuMeter(groups)
    cpu.start()
    harness_before, redis_before = procfs.self_cpu_seconds(), await redis_cpu(world.redis)
    commands_before = await redis_commands(world.redis)
    memory = Sampler(lambda: procfs.memory(groups), 0.5).start()
    backlog = Sampler(world.backlog, 0.5).start()
    offered = await pace(rate, count, traffic.inject)
    offer_end = time.perf_counter()
    backlog_at_offer_end = await world.backlog()
    done_at = await traffic.wait_delivered(count, drain_timeout, stall=stall)
    used = cpu.stop()
    used["harness"] = procfs.self_cpu_seconds() - harness_before
    used["redis"] = await redis_cpu(world.redis) - redis_before
    commands = await redis_commands(world.redis)
    calls = {name: n - commands_before.get(name, 0) for name, n in commands.items()}
    calls = {name: n for name, n in sorted(calls.items(), key=lambda kv: -kv[1]) if n > 0}
    memory_samples, backlog_samples = await memory.stop(), await backlog.stop()
    restarts, exhausted = _adapter_trouble(world)
    receipts = traffic.receipts()
    latencies = [r[1] for r in receipts]
    sources = sorted({r[2] for r in receipts})
    injected = traffic.batch.injected
    first_inject = min(t for t, _ in injected.values())
    last_receipt = max((injected[n][0] + latency for n, latency, _, _ in receipts), default=None)
    return {
        "target_rate": rate,
        "offered": count,
        "offer_seconds": offered["seconds"],
        "achieved_rate": offered["achieved_rate"],
        "delivered": len(receipts),
        "lost": count - len(receipts),
        "all_delivered": done_at is not None and len(receipts) >= count,
        "drain_seconds": (done_at - offer_end) if done_at is not None else None,
        # Posts per second from the first inject to the last receipt.
        "delivered_rate": len(receipts) / (last_receipt - first_inject) if last_receipt else None,
        "latency_ms": latency_summary(latencies),
        "latency_cdf_ms": latency_cdf(latencies),
        "latency_ms_by_source": {s: latency_summary([r[1] for r in receipts if r[2] == s]) for s in sources},
        "cpu_seconds": used,
        "cpu_ms_per_message": {name: 1000 * v / count for name, v in used.items()},
        # Redis commands per message offered, by command (the whole server: the samplers here
        # add a few per half second; scripts count once, as EVALSHA/EVAL).
        "redis_calls_per_message": {name: n / count for name, n in calls.items()},
        "memory_peak_mb": _peak_memory(memory_samples),
        "backlog": _backlog_summary(backlog_samples),
        "backlog_at_offer_end": backlog_at_offer_end,
        # Trouble in the adapters process meanwhile (from its log): an adapter torn down and
        # rebuilt by the supervisor, and Redis commands refused by an exhausted connection pool.
        "adapter_restarts": restarts - restarts_before,
        "redis_pool_exhausted_lines": exhausted - exhausted_before,
    }
