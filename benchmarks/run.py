"""`python -m benchmarks.run`: measure the real pipeline against the loopback stand-ins.

    .venv/bin/python -m benchmarks.run                    # everything (< 10 min on 2 cores)
    .venv/bin/python -m benchmarks.run --quick            # one short run of each
    .venv/bin/python -m benchmarks.run --only latency,limits
    .venv/bin/python -m benchmarks.run --report           # rewrite the report from the last results
    .venv/bin/python -m benchmarks.run --only latency --compare-with fe987de   # this layout and an older one

Results go to benchmarks/results/latest.json (each scenario's newest result;
``--only`` replaces only those) and a dated copy of this run; the report
section of docs/benchmarks.md and docs/benchmarks-latency.png are rewritten
from latest.json. Needs a Redis (``--redis-url``, database 14 by default);
every key is under a fresh ``tbbench:…:`` prefix and removed afterwards, and
every process started is stopped, also on Ctrl-C or a failure.

``--compare-with REV`` runs the latency scenario a second time, in the same run,
with the `twinbridge` processes of an older revision: checked out into a
temporary `git worktree` (removed afterwards) and put first on their
PYTHONPATH; the stand-ins, the load and the floor are this checkout's. Its
figures go into the dated results only, with a table side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import redis.asyncio as aioredis

from . import report
from .measure import machine
from .scenarios import Context

SCENARIOS = (
    "latency",
    "throughput",
    "limits",
    "translation",
    "profile",
    "media",
    "rediscost",
    "config_scale",
    "footprint",
    "redis_growth",
)
RESULTS = Path(__file__).resolve().parent / "results"
LATEST = RESULTS / "latest.json"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="one short run of each scenario (a smoke test)")
    parser.add_argument(
        "--only",
        default=",".join(SCENARIOS),
        help=f"comma-separated scenarios to run (default: all of {', '.join(SCENARIOS)})",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (default 3; --quick: 1)")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS, help=f"Redis to use (default {DEFAULT_REDIS})")
    parser.add_argument("--report", action="store_true", help="only rewrite the report from latest.json")
    parser.add_argument("--no-report", action="store_true", help="measure, but leave docs/ alone")
    parser.add_argument(
        "--compare-with",
        metavar="REV",
        help="also run the latency scenario with this git revision's worker and adapters",
    )
    args = parser.parse_args(argv)
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}; choose from {', '.join(SCENARIOS)}")
    if args.quick:
        args.runs = 1
    return args


def load_latest() -> dict:
    return json.loads(LATEST.read_text()) if LATEST.exists() else {"scenarios": {}}


def write_report(results: dict) -> None:
    report.write_markdown(results)
    wrote_plot = report.write_plot(results)
    for name in report.report_scale.write_plots(results, report.DOC.parent):
        print(f"plot: docs/{name}")
    print(
        f"report: {report.DOC.relative_to(report.REPO)}"
        + (f", {report.PLOT.relative_to(report.REPO)}" if wrote_plot else "")
    )


async def run_scenario(name: str, ctx: Context) -> dict:
    from .scenarios import (
        config_scale,
        footprint,
        latency,
        limits,
        media,
        profile,
        redis_growth,
        rediscost,
        throughput,
        translation,
    )

    if name == "profile":
        return await profile.run(ctx, RESULTS)
    scenarios = {
        "latency": latency,
        "throughput": throughput,
        "limits": limits,
        "translation": translation,
        "media": media,
        "config_scale": config_scale,
        "footprint": footprint,
        "redis_growth": redis_growth,
        "rediscost": rediscost,
    }
    if name in scenarios:
        return await scenarios[name].run(ctx)
    raise ValueError(name)


async def measure(args) -> tuple[dict, bool]:
    redis = aioredis.Redis.from_url(args.redis_url, decode_responses=True, socket_connect_timeout=3)
    try:
        await redis.ping()
        machine_info = await machine(redis)
    except Exception as exc:
        raise SystemExit(f"benchmarks need a Redis at {args.redis_url} ({exc.__class__.__name__}: {exc})") from exc
    finally:
        await redis.aclose()
    ctx = Context(redis_url=args.redis_url, quick=args.quick, runs=args.runs)
    ctx.say(
        f"machine: {machine_info['cores']} cores, {machine_info['cpu_model']}, Python {machine_info['python']}, "
        f"Redis {machine_info['redis_server']}; scenarios: {', '.join(args.only)}" + (" (quick)" if args.quick else "")
    )
    results = load_latest()
    results["machine"] = machine_info
    this_run = {"machine": machine_info, "quick": args.quick, "scenarios": {}}
    ok = True
    started = time.monotonic()
    for name in args.only:
        t0 = time.monotonic()
        ctx.say(f"{name}: starting")
        try:
            data = await run_scenario(name, ctx)
        except Exception as exc:  # noqa: BLE001 - the others still run; cleanup happened in the world
            ok = False
            traceback.print_exc()
            data = {"error": f"{exc.__class__.__name__}: {str(exc)[:300]}"}
        data.update(measured_at=machine_info["date"], quick=args.quick, wall_seconds=time.monotonic() - t0)
        results["scenarios"][name] = this_run["scenarios"][name] = data
        ctx.say(f"{name}: done in {data['wall_seconds']:.0f}s")
    if args.compare_with:
        ctx.say(f"latency with {args.compare_with}: starting")
        try:
            with older_revision(args.compare_with) as code:
                ctx.say(f"latency with {args.compare_with}: its code in {code}")
                older = await run_scenario("latency", ctx)
            this_run["compared"] = {"revision": args.compare_with, "latency": older}
            print("\n".join(comparison(args.compare_with, this_run["scenarios"].get("latency"), older)))
        except Exception:  # noqa: BLE001 - the figures of this checkout are kept
            ok = False
            traceback.print_exc()
    this_run["total_seconds"] = time.monotonic() - started
    if set(args.only) == set(SCENARIOS):
        results["total_seconds"] = this_run["total_seconds"]
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"run-{stamp}{'-quick' if args.quick else ''}.json").write_text(json.dumps(this_run, indent=1))
    if not args.quick:  # a smoke test never replaces the measured results
        LATEST.write_text(json.dumps(results, indent=1))
    ctx.say(f"all done in {this_run['total_seconds'] / 60:.1f} min; results in {RESULTS.relative_to(report.REPO)}")
    rows = report.headline(this_run["scenarios"], machine_info.get("cores") or 2)
    if rows:
        print("\n".join(report.table(["what", "target", "measured: median (min–max)", ""], rows)))
    return results, ok


@contextlib.contextmanager
def older_revision(revision: str):
    """``revision`` checked out into a temporary git worktree, whose code the worlds'
    `twinbridge` processes run meanwhile (benchmarks/world.py CODE_UNDER_TEST)."""
    from . import world

    place = Path(tempfile.mkdtemp(prefix="twinbridge-bench-rev-")) / "code"
    subprocess.run(
        ["git", "-C", str(report.REPO), "worktree", "add", "--detach", str(place), revision],
        check=True,
        capture_output=True,
    )
    world.CODE_UNDER_TEST = place
    try:
        yield place
    finally:
        world.CODE_UNDER_TEST = world.REPO
        subprocess.run(
            ["git", "-C", str(report.REPO), "worktree", "remove", "--force", str(place)],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(place.parent, ignore_errors=True)


def comparison(revision: str, current: dict | None, older: dict) -> list[str]:
    """The latency figures of both layouts side by side (medians over the runs)."""

    def cell(data, rate, *path):
        value = ((data or {}).get("rates") or {}).get(str(rate), {}).get("summary", {})
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        median = value.get("median") if isinstance(value, dict) else value
        return f"{median:,.1f}" if isinstance(median, (int, float)) else "–"

    rows = [f"| | {revision} (before) | this checkout (after) |", "|---|---|---|"]
    for rate in (older.get("setup") or {}).get("rates", ()):
        rows.append(
            f"| {rate} msg/s p50 / p99 (ms) | {cell(older, rate, 'p50')} / {cell(older, rate, 'p99')} | "
            f"{cell(current, rate, 'p50')} / {cell(current, rate, 'p99')} |"
        )
        rows.append(
            f"| {rate} msg/s no-op Celery floor p50 (ms) | {cell(older, rate, 'floor', 'p50')} | "
            f"{cell(current, rate, 'floor', 'p50')} |"
        )
        rows.append(
            f"| {rate} msg/s worker CPU per message (ms) | "
            f"{cell(older, rate, 'cpu_ms_per_message', 'worker')} | "
            f"{cell(current, rate, 'cpu_ms_per_message', 'worker')} |"
        )
        rows.append(
            f"| {rate} msg/s delivered (msg/s) | {cell(older, rate, 'delivered_rate')} | "
            f"{cell(current, rate, 'delivered_rate')} |"
        )
    return rows


async def main_async(args) -> int:
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, task.cancel)  # Ctrl-C is asyncio.run's own: it cancels too
    results, ok = await measure(args)
    if not args.no_report and not args.quick:
        write_report(results)
    return 0 if ok else 1


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.report:
        if not LATEST.exists():
            print(f"no results yet ({LATEST}); run without --report first", file=sys.stderr)
            return 1
        write_report(load_latest())
        return 0
    try:
        return asyncio.run(main_async(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted: processes stopped, Redis keys removed", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
