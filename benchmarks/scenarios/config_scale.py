"""8. Configuration scale: 10 and 10,000 links (20 and 20,000 chats).

A generated links.yaml (``pairs_layout``: each link one Telegram group, English, and one
Discord channel, German; every chat of the Discord side in the stand-in's guild). For each
size:

- `twinbridge check` as a subprocess: wall time from start to exit (it prints every link);
- in a fresh process (`benchmarks/config_probe.py`): the load itself, the RSS it adds, the
  Python objects it keeps (tracemalloc), and the routing lookups (`workers.pipeline.route`,
  `LinksConfig.memberships`) for chats spread over the whole file;
- `twinbridge run` against the stand-ins: from the process's start until it is connected
  (Discord identified, Telegram polled, both outbox groups made: *connected*), and until a
  message written in the last chat of each platform at that moment has crossed (*relays*;
  on a first start the Discord adapter's catch-up reads each linked channel's marks first);
  the adapters' VmRSS once relaying;
- `twinbridge worker --concurrency 1` (all roles): its main and pool processes' VmRSS at
  rest after one message.

*Memory added* = the figure at 10,000 links minus the figure at 10.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time

from .. import procfs
from ..load import Traffic
from ..world import REPO, World, pairs_layout
from . import Context

SIZES = (10, 10_000)
TARGETS = {"check_s": 2.0, "startup_s": 3.0, "memory_added_mb": 50.0}


def _run_check(world: World) -> dict:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "check"],
        env=world.env(),
        cwd=world.workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"twinbridge check failed ({done.returncode}): {done.stderr[-1000:]}")
    return {"seconds": took, "lines": done.stdout.count("\n")}


def _probe(world: World) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.config_probe", str(world.workdir / "links.yaml")],
        env={**world.env(), "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"config probe failed: {done.stderr[-1000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


async def _first_relay(world: World, traffic: Traffic, timeout: float = 120.0) -> float:
    """perf_counter() when one message from the last Telegram group and one from the
    last Discord channel, written now, have both crossed."""
    traffic.begin()
    traffic.inject(traffic.sources[-2])
    traffic.inject(traffic.sources[-1])
    arrived = await traffic.wait_delivered(2, timeout)
    if arrived is None:
        raise RuntimeError(f"no relay within {timeout:.0f}s of connecting:\n{world.procs.log_tail('adapters')}")
    return arrived


async def one_size(ctx: Context, links: int, run: int) -> dict:
    layout = pairs_layout(links)
    pairs = [(c.chat, layout.communities[2 * i + 1].chat) for i, c in enumerate(layout.communities[::2])]
    async with World(layout, ctx.redis_url, name=f"config-{links}") as world:
        check = await asyncio.to_thread(_run_check, world)
        probe = await asyncio.to_thread(_probe, world)
        await world.start_worker(1)
        started = time.perf_counter()
        await world.start_adapters(timeout=180)
        connected = time.perf_counter() - started
        relays = await _first_relay(world, Traffic(world, [pairs[-1]])) - started
        await asyncio.sleep(1.0)
        adapters_mb = procfs.rss_mb(world.procs.pid("adapters"))
        worker = procfs.memory({"worker": world.procs.pid("worker")})["worker"]
    out = {
        "links": links,
        "chats": 2 * links,
        "run": run,
        "file_bytes": probe["file_bytes"],
        "check_seconds": check["seconds"],
        "probe": probe,
        "adapters_connected_s": connected,
        "adapters_relay_s": relays,
        "adapters_rss_mb": adapters_mb,
        "worker_rss_mb": worker,
    }
    ctx.say(
        f"config {links} links: check {check['seconds']:.2f}s, load {probe['load_seconds']:.2f}s "
        f"(+{probe['rss_added_mb']:.0f} MB), route {probe['route_ns'] / 1000:.1f} µs; adapters connected "
        f"{connected:.2f}s, relay {relays:.2f}s, {adapters_mb:.0f} MB; worker main {worker['main']:.0f} MB"
    )
    return out


def summary(runs: list[dict]) -> dict:
    by_size: dict[int, dict] = {}
    for links in SIZES:
        mine = [r for r in runs if r["links"] == links]
        if not mine:
            continue

        def med(get, mine=mine):
            return statistics.median(get(r) for r in mine)

        by_size[links] = {
            "check_s": med(lambda r: r["check_seconds"]),
            "load_s": med(lambda r: r["probe"]["load_seconds"]),
            "probe_rss_added_mb": med(lambda r: r["probe"]["rss_added_mb"]),
            "probe_peak_added_mb": med(lambda r: r["probe"]["rss_peak_added_mb"]),
            "traced_mb": med(lambda r: r["probe"]["traced_mb"]),
            "route_ns": med(lambda r: r["probe"]["route_ns"]),
            "memberships_ns": med(lambda r: r["probe"]["memberships_ns"]),
            "first_lookup_ms": med(lambda r: r["probe"]["first_lookup_ms"]),
            "connected_s": med(lambda r: r["adapters_connected_s"]),
            "relay_s": med(lambda r: r["adapters_relay_s"]),
            "adapters_rss_mb": med(lambda r: r["adapters_rss_mb"]),
            "worker_main_mb": med(lambda r: r["worker_rss_mb"]["main"]),
            "worker_total_mb": med(lambda r: r["worker_rss_mb"]["total"]),
            "worker_pss_mb": med(lambda r: r["worker_rss_mb"]["pss_total"]),
            "file_bytes": mine[0]["file_bytes"],
        }
    small, large = by_size.get(SIZES[0]), by_size.get(SIZES[-1])
    added = {}
    if small and large:
        added = {
            "adapters_mb": large["adapters_rss_mb"] - small["adapters_rss_mb"],
            "worker_main_mb": large["worker_main_mb"] - small["worker_main_mb"],
            "worker_pss_mb": large["worker_pss_mb"] - small["worker_pss_mb"],
            "route_ratio": large["route_ns"] / small["route_ns"],
        }
    return {"by_size": {str(k): v for k, v in by_size.items()}, "added_large_vs_small": added}


async def run(ctx: Context) -> dict:
    runs = []
    for run_no in range(1 if ctx.quick else ctx.runs):
        for links in SIZES:
            runs.append(await one_size(ctx, links, run_no + 1))
    return {
        "setup": {"sizes": list(SIZES), "targets": TARGETS, "worker_concurrency": 1, "runs": len(runs) // len(SIZES)},
        "runs": runs,
        "summary": summary(runs),
    }
