"""3. Redis cost per relayed message: commands and network round trips, by command and
by process role.

The latency world (120 Telegram ↔ Discord links, every message translated, the
all-roles worker with 2 pool processes, the real adapters) relays ``COUNT`` messages
at ``RATE`` msg/s, both directions, against a **private Redis server** started for
this scenario (``redis-server`` on a free loopback port, no persistence): so
``INFO commandstats`` counts only this world's commands — the shared server's
other clients (tests, other benchmarks) are not in them.

- *Commands* (server side): ``INFO commandstats`` after minus before, divided by
  the messages relayed. Commands a Lua script runs inside Redis count here, and the
  script call itself (``evalsha``) too: what the Redis CPU pays for.
- *Round trips* (client side): every twinbridge process runs with
  ``benchmarks/redis_probe_site`` on its PYTHONPATH, whose ``sitecustomize`` wraps
  redis-py's connections (benchmarks/redis_probe.py): each socket write followed by
  reading its replies is one round trip — a single command, a pipeline (one however
  many commands), or a script call. Counted per process (adapters, worker main =
  the Celery consumer, worker pool = the tasks) and by what each trip carried.

Costs that come with time, not messages (heartbeats, blocking reads that time out,
Celery's housekeeping), are measured over ``IDLE_SECONDS`` of no traffic first and
reported per second; the per-message figures are shown as measured and with that
idle share taken out ("net").
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path

import redis.asyncio as aioredis

from .. import procfs, redis_probe, world as world_module
from ..load import Traffic, pace
from ..world import REPO, World, pairs_layout
from . import Context, pair_ids, process_groups
from .latency import CONCURRENCY, PAIRS

RATE = 50
SECONDS = 6.0
IDLE_SECONDS = 3.0
SETTLE_SECONDS = 1.0  # after the last post: acknowledgements and clean-ups reach Redis
PROBE_SITE = Path(__file__).resolve().parent.parent / "redis_probe_site"
# Not Redis traffic of the bridge: the scenario's own reads of the server.
HARNESS_COMMANDS = {"info", "config", "ping", "hello", "client", "select", "xinfo", "scan", "del"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def private_redis():
    """A throw-away redis-server on a free loopback port; its URL."""
    port = _free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        + ["--loglevel", "warning", "--daemonize", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    world_module._LIVE_PROCS[proc.pid] = proc  # the exit-time safety net stops it too
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = aioredis.Redis.from_url(url)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    await client.ping()
                    break
                except (ConnectionError, OSError, aioredis.ConnectionError):
                    if time.monotonic() > deadline:
                        raise RuntimeError("the private redis-server did not start") from None
                    await asyncio.sleep(0.05)
        finally:
            await client.aclose()
        yield url
    finally:
        await asyncio.to_thread(world_module._stop_group, proc, 5)
        world_module._LIVE_PROCS.pop(proc.pid, None)


@contextlib.contextmanager
def probed_processes(directory: Path):
    """Processes started meanwhile run with the probe (os.environ is what the world's
    Processes put on their PYTHONPATH, after the code under test)."""
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROBE_SITE), str(REPO), saved]))
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


async def _server_commands(redis) -> Counter:
    stats = await redis.info("commandstats")
    return Counter({name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()})


def _by_role(directory: Path) -> dict[str, dict[str, Counter]]:
    """role -> {"round_trips": Counter, "commands": Counter}, summed over its processes."""
    out: dict[str, dict[str, Counter]] = {}
    for snap in redis_probe.read_all(str(directory)).values():
        role = out.setdefault(snap["role"], {"round_trips": Counter(), "commands": Counter()})
        role["round_trips"].update(snap["round_trips"])
        role["commands"].update(snap["commands"])
    return out


async def _snapshot(world: World, directory: Path) -> dict:
    await asyncio.sleep(2.5 * redis_probe._DUMP_EVERY)  # every process has written its counts
    return {"server": await _server_commands(world.redis), "roles": _by_role(directory), "t": time.perf_counter()}


def _delta(after: dict, before: dict) -> dict:
    server = after["server"] - before["server"]
    for name in HARNESS_COMMANDS & set(server):
        del server[name]
    roles = {}
    for role, counts in after["roles"].items():
        old = before["roles"].get(role, {"round_trips": Counter(), "commands": Counter()})
        roles[role] = {k: counts[k] - old[k] for k in ("round_trips", "commands")}
    return {"server": server, "roles": roles, "seconds": after["t"] - before["t"]}


def _per(counter: Counter, n: float) -> dict[str, float]:
    return {k: round(v / n, 3) for k, v in counter.most_common() if v > 0}


def _summary(run: dict, idle: dict, messages: int) -> dict:
    """Per message, as measured and net of the idle cost for the run's duration."""
    scale = run["seconds"] / idle["seconds"]

    def net(measured: Counter, background: Counter) -> Counter:
        out = Counter({k: v - background.get(k, 0) * scale for k, v in measured.items()})
        return Counter({k: v for k, v in out.items() if v > 0})

    round_trips = Counter()
    for counts in run["roles"].values():
        round_trips.update(counts["round_trips"])
    idle_trips = Counter()
    for counts in idle["roles"].values():
        idle_trips.update(counts["round_trips"])
    out = {
        "messages": messages,
        "seconds": run["seconds"],
        "commands_per_message": sum(run["server"].values()) / messages,
        "commands_per_message_net": sum(net(run["server"], idle["server"]).values()) / messages,
        "round_trips_per_message": sum(round_trips.values()) / messages,
        "round_trips_per_message_net": sum(net(round_trips, idle_trips).values()) / messages,
        "commands_by_name": _per(run["server"], messages),
        "idle_commands_per_second": _per(idle["server"], idle["seconds"]),
        "idle_round_trips_per_second": _per(idle_trips, idle["seconds"]),
        "by_role": {},
    }
    for role, counts in sorted(run["roles"].items()):
        background = idle["roles"].get(role, {"round_trips": Counter()})["round_trips"]
        out["by_role"][role] = {
            "round_trips_per_message": sum(counts["round_trips"].values()) / messages,
            "round_trips_per_message_net": sum(net(counts["round_trips"], background).values()) / messages,
            "round_trips_by_kind": _per(counts["round_trips"], messages),
            "commands_sent_by_name": _per(counts["commands"], messages),
        }
    return out


def describe(result: dict) -> list[str]:
    """A plain-text account of one result (printed by the scenario)."""
    r = result
    lines = [
        f"rediscost: {r['messages']} messages in {r['seconds']:.1f}s: "
        f"{r['commands_per_message']:.1f} commands/message ({r['commands_per_message_net']:.1f} net of idle), "
        f"{r['round_trips_per_message']:.1f} round trips/message ({r['round_trips_per_message_net']:.1f} net)",
        "  commands by name (server, per message): "
        + ", ".join(f"{k} {v:.2f}" for k, v in result["commands_by_name"].items()),
        "  idle, per second: commands "
        + ", ".join(f"{k} {v:.1f}" for k, v in result["idle_commands_per_second"].items())
        + "; round trips "
        + ", ".join(f"{k} {v:.1f}" for k, v in result["idle_round_trips_per_second"].items()),
    ]
    lines.append(
        "  CPU per message (ms, includes the settle time): "
        + ", ".join(f"{k} {v:.2f}" for k, v in result.get("cpu_ms_per_message", {}).items())
    )
    for role, r in result["by_role"].items():
        lines.append(
            f"  {role}: {r['round_trips_per_message']:.2f} round trips/message "
            f"({r['round_trips_per_message_net']:.2f} net): "
            + ", ".join(f"{k} {v:.2f}" for k, v in r["round_trips_by_kind"].items())
        )
        lines.append("    commands sent: " + ", ".join(f"{k} {v:.2f}" for k, v in r["commands_sent_by_name"].items()))
    return lines


async def run(ctx: Context) -> dict:
    count = int(RATE * (2.0 if ctx.quick else SECONDS))
    async with private_redis() as url, World(pairs_layout(PAIRS), url, name="rediscost") as world:
        probe_dir = world.workdir / "redis-probe"
        probe_dir.mkdir()
        with probed_processes(probe_dir):
            world.procs.env["TB_BENCH_REDIS_PROBE_DIR"] = str(probe_dir)
            world.procs.env["TB_BENCH_REDIS_PROBE_ROLE"] = "worker"
            await world.start_worker(CONCURRENCY)
            world.procs.env["TB_BENCH_REDIS_PROBE_ROLE"] = "adapters"
            await world.start_adapters()
        traffic = Traffic(world, pair_ids(0, PAIRS))
        await traffic.warm_up()
        await asyncio.sleep(SETTLE_SECONDS)
        start = await _snapshot(world, probe_dir)
        await asyncio.sleep(IDLE_SECONDS)
        idle_end = await _snapshot(world, probe_dir)
        traffic.begin()
        cpu = procfs.CpuMeter(process_groups(world, "adapters", "worker"))
        cpu.start()
        await pace(RATE, count, traffic.inject)
        if await traffic.wait_delivered(count, 60.0, stall=10.0) is None:
            raise RuntimeError(f"rediscost: only {traffic.delivered()} of {count} posts arrived")
        await asyncio.sleep(SETTLE_SECONDS)
        end = await _snapshot(world, probe_dir)
        used = cpu.stop()
        result = _summary(_delta(end, idle_end), _delta(idle_end, start), count)
        # Load-dependent, unlike the counts (the machine's other work slows every step).
        result["cpu_ms_per_message"] = {name: round(1000 * v / count, 3) for name, v in used.items()}
    result["setup"] = {
        "rate": RATE,
        "links": PAIRS,
        "worker_concurrency": CONCURRENCY,
        "idle_seconds": IDLE_SECONDS,
        "redis": "a private redis-server for this scenario",
    }
    for line in describe(result):
        ctx.say(line)
    return result


def main(argv=None) -> int:
    """``python -m benchmarks.scenarios.rediscost [--revision REV]``: this scenario alone,
    printed, nothing saved; with ``--revision``, that revision's `twinbridge` processes
    (checked out into a temporary git worktree, as ``benchmarks.run --compare-with``)."""
    import argparse
    import json

    from ..run import older_revision

    parser = argparse.ArgumentParser(prog="python -m benchmarks.scenarios.rediscost")
    parser.add_argument("--revision", help="measure this git revision's worker and adapters")
    parser.add_argument("--json", action="store_true", help="print the result as JSON too")
    args = parser.parse_args(argv)
    ctx = Context(redis_url="")  # the scenario starts its own Redis
    with older_revision(args.revision) if args.revision else contextlib.nullcontext():
        result = asyncio.run(run(ctx))
    if args.json:
        print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
