"""Where the CPU goes: the latency scenario once, under py-spy.

py-spy samples the adapters process and the worker (main and pool children,
``--subprocesses``) from outside, without pausing them (``--nonblocking``),
and writes collapsed stacks. ``--gil``: only the thread holding the GIL is
sampled, i.e. where the interpreter spends its time (each of these processes
runs Python on one core at most); time inside system calls, which release the
GIL, is not in these shares (it is in the utime/stime of the latency
scenario). Stacks are summarised three ways: the leaf function ("self"), the
twinbridge functions on the stack ("inclusive", bridge/ and workers/), the
outermost library function on the stack below the event loops and worker
bootstraps ("library entry": what a call into aiogram, redis-py, Celery…
costs in all), and the leaf's package ("area").

The rate is 300 msg/s, under what the machine sustains (350–400 msg/s since
the round-trip fixes): the sampler takes CPU of its own, and a run past
capacity turns into backlog, which is not the steady state whose costs per
message matter. (Before those fixes it was 150 msg/s, for the same reason.)
"""

from __future__ import annotations

import asyncio
import gzip
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from ..load import Traffic
from ..world import World, pairs_layout
from . import Context, pair_ids, process_groups
from .common import measured_run
from .latency import CONCURRENCY, PAIRS

RATE = 300
SAMPLE_RATE = 100  # per second (only the GIL holder is sampled)

_AREAS = (  # first match wins, on the start of the frame's file path as py-spy shows it
    ("twinbridge bridge/", ("bridge/",)),
    ("twinbridge workers/", ("workers/",)),
    ("redis-py", ("redis/",)),
    ("kombu", ("kombu/",)),
    ("celery", ("celery/",)),
    ("billiard", ("billiard/",)),
    ("aiohttp/yarl/multidict", ("aiohttp/", "yarl/", "multidict/")),
    ("discord.py", ("discord/",)),
    ("aiogram", ("aiogram/",)),
    ("pydantic", ("pydantic",)),
    ("requests/urllib3/http.client", ("requests/", "urllib3/", "http/", "urllib/")),
    ("deep_translator", ("deep_translator/",)),
    ("py3langid/numpy", ("py3langid/", "numpy/")),
    ("phonenumbers", ("phonenumbers/",)),
    ("stdlib asyncio", ("asyncio/",)),
    ("stdlib json", ("json/",)),
    ("stdlib re", ("re/",)),
    ("stdlib socket/selectors/ssl", ("socket.py", "selectors.py", "ssl.py")),
    ("stdlib threads/queues", ("threading.py", "concurrent/", "queue.py")),
    ("stdlib logging", ("logging/",)),
    ("stdlib uuid", ("uuid.py",)),
)


def _py_spy() -> str | None:
    return shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")


def _frames(stack: str) -> list[tuple[str, str]]:
    """(function, file) of each frame, root first; py-spy's process/thread frames left out."""
    out = []
    for frame in stack.split(";"):
        if frame.startswith(("process ", "thread ")) or " (" not in frame:
            continue
        name, _, where = frame.rpartition(" (")
        path = where.rstrip(")").rsplit(":", 1)[0]
        out.append((name, path))
    return out


def _short(path: str) -> str:
    for marker in ("/site-packages/", "/lib/python3.11/", "/work/main/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def _area(path: str) -> str:
    path = _short(path)
    for name, prefixes in _AREAS:
        if path.startswith(prefixes):
            return name
    return "other"


# Frames every stack passes through (event loops, thread pools, process and worker
# bootstraps): left out of the inclusive view of library functions.
_PLUMBING_FILES = (
    "asyncio/",
    "threading.py",
    "concurrent/",
    "selectors.py",
    "<frozen",
    "click/",
    "celery/bin/",
    "celery/bootsteps.py",
    "celery/worker/",
    "celery/concurrency/",
    "celery/app/trace.py",
    "billiard/pool.py",
    "billiard/process.py",
    "billiard/popen_fork.py",
    "billiard/context.py",
    "kombu/asynchronous/",
    "vine/",
    "discord/client.py",
    "aiogram/dispatcher/",
)
_PLUMBING_FUNCTIONS = ("Celery.worker_main", "Celery.start", "<module>")


def _library(name: str, path: str) -> bool:
    path = _short(path)
    return not path.startswith(("bridge/", "workers/") + _PLUMBING_FILES) and name not in _PLUMBING_FUNCTIONS


def _ours(path: str) -> bool:
    """A twinbridge frame worth listing (not the command-line entry every stack starts with)."""
    path = _short(path)
    return path.startswith(("bridge/", "workers/")) and path != "bridge/cli.py"


def summarise(collapsed: str, top: int = 15) -> dict:
    own, inclusive, library, areas = Counter(), Counter(), Counter(), Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = _frames(stack)
        if not frames:
            continue
        total += n
        name, path = frames[-1]
        own[f"{name} ({_short(path)})"] += n
        areas[_area(path)] += n
        for fname, fpath in dict.fromkeys(frames):
            if _ours(fpath):
                inclusive[f"{fname} ({_short(fpath)})"] += n
        # The outermost library call below twinbridge code: what a twinbridge call costs in a library.
        outermost = next(((f, p) for f, p in frames if _library(f, p)), None)
        if outermost is not None:
            library[f"{outermost[0]} ({_short(outermost[1])})"] += n

    def share(counter: Counter) -> list[dict]:
        return [{"function": k, "share": v / total, "samples": v} for k, v in counter.most_common(top)]

    return {
        "samples": total,
        "self": share(own),
        "inclusive_project": share(inclusive),
        "library_entry": share(library),
        "areas": share(areas),
    }


def _start_recording(
    world: World, name: str, py_spy: str, pid: int, seconds: float, out: Path, subprocesses: bool
) -> subprocess.Popen:
    argv = [
        py_spy,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(int(seconds)),
        "--rate",
        str(SAMPLE_RATE),
        "--format",
        "raw",
        "--nonblocking",
        "--gil",
        "-o",
        str(out),
    ]
    if subprocesses:
        argv.append("--subprocesses")
    return world.procs.start(f"py-spy-{name}", argv)


async def _finished(proc: subprocess.Popen, timeout: float) -> int | None:
    try:
        return await asyncio.to_thread(proc.wait, timeout)
    except subprocess.TimeoutExpired:
        return None


async def run(ctx: Context, results_dir: Path) -> dict:
    py_spy = _py_spy()
    if py_spy is None:
        return {"skipped": "py-spy is not installed (pip install py-spy)"}
    seconds = 5.0 if ctx.quick else 10.0
    async with World(pairs_layout(PAIRS), ctx.redis_url, name="profile") as world:
        await world.start_worker(CONCURRENCY)
        await world.start_adapters()
        traffic = Traffic(world, pair_ids(0, PAIRS))
        await traffic.warm_up()
        groups = process_groups(world, "adapters", "worker")
        targets = {"adapters": (groups["adapters"], False), "worker": (groups["worker"], True)}
        files = {name: world.workdir / f"profile-{name}.txt" for name in targets}
        recorders = {
            name: _start_recording(world, name, py_spy, pid, seconds + 1, files[name], sub)
            for name, (pid, sub) in targets.items()
        }
        await asyncio.sleep(0.5)  # py-spy attached
        spies = {f"py-spy-{name}": proc.pid for name, proc in recorders.items()}
        load = await measured_run(world, traffic, RATE, seconds, {**groups, **spies})
        codes = {name: await _finished(proc, 60) for name, proc in recorders.items()}
        out = {
            "rate": RATE,
            "load_seconds": seconds,
            "sample_rate": SAMPLE_RATE,
            "mode": "--gil --nonblocking",
            "latency_ms": load["latency_ms"],
            "cpu_ms_per_message": load["cpu_ms_per_message"],
            "adapter_restarts": load["adapter_restarts"],
            "processes": {},
        }
        for name, code in codes.items():
            if code != 0 or not files[name].exists():
                out["processes"][name] = {"error": world.procs.log_tail(f"py-spy-{name}", 5)[-500:]}
                continue
            collapsed = files[name].read_text(errors="replace")
            kept = results_dir / f"profile-{name}.collapsed.gz"
            with gzip.open(kept, "wt") as f:  # for flame graphs (e.g. speedscope, inferno)
                f.write(collapsed)
            out["processes"][name] = {**summarise(collapsed), "collapsed_stacks": kept.name}
            ctx.say(f"profile: {name}: {out['processes'][name]['samples']} busy samples")
    return out
