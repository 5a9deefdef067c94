"""Percentiles, summaries over runs, periodic samplers, and the machine's description."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable

from .procfs import cpu_model


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_summary(seconds: list[float]) -> dict:
    """p50/p95/p99/max in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "max": max(ms) if ms else None,
        "mean": statistics.fmean(ms) if ms else None,
    }


CDF_POINTS = (1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 97, 98, 99, 99.5, 99.9, 100)


def latency_cdf(seconds: list[float]) -> list[tuple[float, float]]:
    """(percent, ms) at CDF_POINTS: the latency plot's curve, small enough to keep."""
    ms = [s * 1000 for s in seconds]
    return [(q, percentile(ms, q)) for q in CDF_POINTS] if ms else []


def over_runs(values: list[float | None]) -> dict:
    """Median of several runs with min and max (what the report shows)."""
    present = [v for v in values if v is not None]
    if not present:
        return {"median": None, "min": None, "max": None, "runs": len(values)}
    return {"median": statistics.median(present), "min": min(present), "max": max(present), "runs": len(present)}


class Sampler:
    """Calls ``probe`` every ``interval`` seconds in the background; keeps (t, value)."""

    def __init__(self, probe: Callable[[], Awaitable[object]] | Callable[[], object], interval: float):
        self.probe = probe
        self.interval = interval
        self.samples: list[tuple[float, object]] = []
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        while True:
            value = self.probe()
            if asyncio.iscoroutine(value):
                value = await value
            self.samples.append((time.perf_counter(), value))
            await asyncio.sleep(self.interval)

    def start(self) -> Sampler:
        self._task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> list[tuple[float, object]]:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        return self.samples


async def redis_info(redis) -> dict:
    info = await redis.info()
    return {
        "version": info.get("redis_version"),
        "cpu_user": info.get("used_cpu_user"),
        "cpu_sys": info.get("used_cpu_sys"),
    }


async def redis_cpu(redis) -> float:
    """CPU seconds the Redis server has used so far (all its clients, not only ours)."""
    info = await redis.info("cpu")
    return float(info.get("used_cpu_user", 0)) + float(info.get("used_cpu_sys", 0))


async def redis_commands(redis) -> dict[str, int]:
    """Calls so far per command (``INFO commandstats``; every client of the server)."""
    stats = await redis.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _git_revision() -> str | None:
    """The commit measured, "+changes" when bridge/ or workers/ differ from it."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5, cwd=repo
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "bridge", "workers"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=repo,
        )
        revision = out.stdout.strip()
        return (revision + ("+changes" if dirty.stdout.strip() else "")) or None
    except (OSError, subprocess.SubprocessError):
        return None


async def machine(redis) -> dict:
    info = await redis_info(redis)
    import celery
    import kombu
    import redis as redis_lib

    return {
        "cores": os.cpu_count(),
        "cpu_model": cpu_model(),
        "memory_gib": _memory_gib(),
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": platform.python_version(),
        "redis_server": info["version"],
        "celery": celery.__version__,
        "kombu": kombu.__version__,
        "redis_py": redis_lib.__version__,
        "git_revision": _git_revision(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
