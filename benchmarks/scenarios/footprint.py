"""9. Memory of the whole stack, as docker-compose.yml runs it, for the example config.

`config/links.example.yaml` (7 communities, 5 links, 4 of them Telegram groups and 2
Discord channels) against the stand-ins, with every process of the compose file except
Redis and LibreTranslate: `twinbridge run` (the adapters), `twinbridge worker --role
moderation --concurrency 2` and `--role translation --concurrency 2` (each a main process
and 2 pool processes), `twinbridge scheduler` and `twinbridge console`. Sampled every
0.5 s from their start (VmRSS of each process, PSS of each group: a page shared by a
worker's main and pool processes, copy-on-write after the fork, counts once) through:

- *warm-up*: one message from every chat, all delivered;
- *idle*: ``IDLE_S`` seconds with nothing to do (the figure at idle: the last sample);
- *flood*: ``FLOOD`` messages at ``FLOOD_RATE`` msg/s round-robin over the chats, the
  platform pacing off (TWINBRIDGE_RATE_LIMITS=off: the fastest the stack can take them,
  so the most it holds at once), until all have crossed (the figure: the highest sample);
- *after*: ``AFTER_S`` seconds.

The timeline is the memory-over-time plot. The stack's figure is the sum of the groups' PSS.
"""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

from core.links import load_links

from .. import procfs
from ..load import Traffic, pace
from ..world import REPO, Layout, World
from . import Context

EXAMPLE = REPO / "config" / "links.example.yaml"
IDLE_S = 10.0
AFTER_S = 5.0
FLOOD = 600
FLOOD_RATE = 200.0
INTERVAL = 0.5
PSEUDONYM_KEY = "bench-" + "0" * 58


class FileLayout(Layout):
    """A links file as it is; its Discord channels for the stand-in's guild."""

    def __init__(self, path: Path):
        super().__init__()
        self.text = path.read_text()
        self.config = load_links(path)
        self.channels = {
            int(chat.chat_id): cid
            for cid, community in self.config.communities.items()
            for chat in community.chats
            if chat.platform == "discord"
        }

    def yaml(self) -> str:
        return self.text

    def discord_channels(self) -> dict[int, str]:
        return self.channels


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sample(groups: dict[str, int]) -> dict[str, dict]:
    out = {}
    for name, pid in groups.items():
        pids = procfs.tree(pid)
        out[name] = {
            "rss": [procfs.rss_mb(p) for p in pids],
            "pss": sum(procfs.pss_mb(p) for p in pids),
        }
    return out


class Timeline:
    def __init__(self, groups: dict[str, int]):
        self.groups = groups
        self.phase = "start"
        self.samples: list[dict] = []
        self.t0 = time.perf_counter()
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        while True:
            memory = await asyncio.to_thread(_sample, self.groups)
            self.samples.append({"t": time.perf_counter() - self.t0, "phase": self.phase, "groups": memory})
            await asyncio.sleep(INTERVAL)

    def start(self) -> Timeline:
        self._task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass


def _sources(layout: FileLayout) -> list[tuple[str, int]]:
    """Every chat that speaks in some link (a one-way link's listeners do not)."""
    speakers = {cid for link in layout.config.links for cid in link.speakers()}
    return [(chat.platform, int(chat.chat_id)) for cid in speakers for chat in layout.config.communities[cid].chats]


def _expected(layout: FileLayout, sources) -> dict[tuple[str, int], int]:
    from core.models import Author, ChatRef, EventKind, MessageRef, PlatformEvent
    from workers.pipeline import route

    out = {}
    for platform, chat in sources:
        event = PlatformEvent(EventKind.NEW, MessageRef(platform, str(chat), "1"), Author("1", "A"))
        out[(platform, chat)] = len(route(event, layout.config))
        assert ChatRef(platform, str(chat)) in layout.config._community_by_chat
    return out


def _figures(samples: list[dict], phase: str, pick) -> dict:
    mine = [s for s in samples if s["phase"] == phase]
    if not mine:
        return {}
    chosen = pick(mine)
    groups = chosen["groups"]
    return {
        "t": chosen["t"],
        "groups": {
            name: {"rss": g["rss"], "largest_rss": max(g["rss"]), "rss_total": sum(g["rss"]), "pss": g["pss"]}
            for name, g in groups.items()
        },
        "stack_pss": sum(g["pss"] for g in groups.values()),
        "stack_rss": sum(sum(g["rss"]) for g in groups.values()),
    }


# The processes of each layout: (name, twinbridge arguments, pool processes to wait for).
# *compose*: docker-compose.yml as shipped; *small*: the least a server needs (one worker
# for all stages with one pool process, which relays the example config's few messages a
# minute with room to spare; no console: organisers use chat commands).
LAYOUTS: dict[str, list[tuple[str, tuple[str, ...], int]]] = {
    "compose": [
        ("moderation", ("worker", "--role", "moderation", "--concurrency", "2"), 2),
        ("translation", ("worker", "--role", "translation", "--concurrency", "2"), 2),
        ("scheduler", ("scheduler",), 0),
        ("console", ("console", "--host", "127.0.0.1", "--port", "{port}"), 0),
        ("adapters", ("run",), 0),
    ],
    "small": [
        ("worker", ("worker", "--role", "all", "--concurrency", "1"), 1),
        ("scheduler", ("scheduler",), 0),
        ("adapters", ("run",), 0),
    ],
}


async def measure_layout(ctx: Context, layout: FileLayout, processes, idle: float, flood: int) -> dict:
    sources = _sources(layout)
    expected = _expected(layout, sources)
    env = {"TWINBRIDGE_PSEUDONYM_KEY": PSEUDONYM_KEY, "TWINBRIDGE_CONSOLE_URL": ""}
    async with World(layout, ctx.redis_url, name="footprint", extra_env=env) as world:
        procs = world.procs
        port = str(_free_port())
        for name, args, _ in processes:
            procs.start_twinbridge(name, *(port if a == "{port}" else a for a in args))
        names = tuple(name for name, _, _ in processes)
        timeline = Timeline({name: procs.pid(name) for name in names}).start()
        for name, _, pool in processes:
            if pool:
                await world.wait_worker_ready(name, pool)
        await world.wait_adapters_connected()
        timeline.phase = "warm-up"
        traffic = Traffic(world, [])
        traffic.sources = sources
        traffic.begin()
        for source in sources:
            traffic.inject(source)
        want = sum(expected[s] for s in sources)
        if await traffic.wait_delivered(want, timeout=120) is None:
            raise RuntimeError(f"warm-up: {traffic.delivered()} of {want} posts arrived")
        timeline.phase = "idle"
        await asyncio.sleep(idle)
        timeline.phase = "flood"
        traffic.begin()
        offered = await pace(FLOOD_RATE, flood, traffic.inject)
        per_round = sum(expected[s] for s in sources)
        want = (flood // len(sources)) * per_round + sum(expected[s] for s in sources[: flood % len(sources)])
        arrived = await traffic.wait_delivered(want, timeout=180, stall=30)
        flood_seconds = (arrived or time.perf_counter()) - (time.perf_counter() - offered["seconds"])
        timeline.phase = "after"
        await asyncio.sleep(AFTER_S)
        await timeline.stop()
        delivered = traffic.delivered()
    samples = timeline.samples
    idle_fig = _figures(samples, "idle", lambda s: s[-1])
    flood_fig = _figures(samples, "flood", lambda s: max(s, key=lambda x: sum(g["pss"] for g in x["groups"].values())))
    return {
        "processes": list(names),
        "idle": idle_fig,
        "flood": {**flood_fig, "posts_expected": want, "posts_arrived": delivered, "seconds": flood_seconds},
        "timeline": [
            {"t": s["t"], "phase": s["phase"], **{n: g["pss"] for n, g in s["groups"].items()}} for s in samples
        ],
        "sources": len(sources),
        "posts_per_round": sum(expected.values()),
    }


async def run(ctx: Context) -> dict:
    layout = FileLayout(EXAMPLE)
    idle = 4.0 if ctx.quick else IDLE_S
    flood = 200 if ctx.quick else FLOOD
    layouts = {}
    for name, processes in LAYOUTS.items():
        result = layouts[name] = await measure_layout(ctx, layout, processes, idle, flood)
        ctx.say(
            f"footprint {name}: idle stack PSS {result['idle'].get('stack_pss', 0):.0f} MB "
            f"(RSS summed {result['idle'].get('stack_rss', 0):.0f}); "
            f"flood peak PSS {result['flood'].get('stack_pss', 0):.0f} MB; "
            + ", ".join(f"{n} {g['largest_rss']:.0f}" for n, g in result["idle"].get("groups", {}).items())
        )
    compose = layouts["compose"]
    return {
        "setup": {
            "config": "config/links.example.yaml",
            "processes": compose["processes"],
            "layouts": {name: [" ".join(args) for _, args, _ in procs] for name, procs in LAYOUTS.items()},
            "idle_s": idle,
            "flood": flood,
            "flood_rate": FLOOD_RATE,
            "interval_s": INTERVAL,
            "sources": compose["sources"],
            "posts_per_round": compose["posts_per_round"],
        },
        # The compose layout's figures (the report's headline), and every layout's.
        "idle": compose["idle"],
        "flood": compose["flood"],
        "timeline": compose["timeline"],
        "layouts": layouts,
    }
