"""6. Memory while a 50 MB file crosses.

One link: a Discord channel on a server boosted to level 2 (50 MiB uploads) ↔ a Telegram
group. A member posts a 50 MB video (50,000,000 bytes: an MP4 whose movie box records where
it was filmed) on Discord: the only direction a file that size can take, as a Telegram bot
downloads at most 20 MB and uploads at most 50 MB. The adapters process (`twinbridge run`:
the Discord adapter streams the file from the stand-in's CDN to a temporary file, the
scrubber blanks the video's metadata in place, the Telegram adapter streams it to
sendVideo) and the worker (`twinbridge worker --concurrency 2`; the bytes never reach it) are
sampled every 20 ms (VmRSS from /proc, in a thread of their own) from just before the post
until the Telegram stand-in has stored the video. Each run posts a new file in the same
world; *at rest* is the figure just before the post.
"""

from __future__ import annotations

import asyncio
import os
import struct
import threading
import time

from .. import procfs
from ..world import Community, Layout, Link, World, dc_channel, tg_group
from . import Context, process_groups

SIZE = 50_000_000
MAX = {"id": "300000000000000301", "username": "max.k", "global_name": "Max Krüger", "discriminator": "0"}
LOCATION = b"+52.6369-001.1398/"
# The budgets (docs/benchmarks.md): the file is never held whole by the adapters, and
# never seen by the worker.
ADAPTER_GROWTH_MB = 25.0
WORKER_GROWTH_MB = 5.0
WORKER_MB = 250.0


def video(size: int = SIZE) -> bytes:
    """An MP4 of ``size`` bytes: ftyp, the media data, a movie box with the place it was filmed."""
    ftyp = _box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2avc1mp41")
    moov = _box(b"moov", _box(b"mvhd", b"\x00" * 100), _box(b"udta", _box(b"\xa9xyz", b"\x00\x12\x15\xc7" + LOCATION)))
    media = size - len(ftyp) - len(moov) - 8
    return ftyp + struct.pack(">I4s", media + 8, b"mdat") + os.urandom(media) + moov


def _box(kind: bytes, *content: bytes) -> bytes:
    body = b"".join(content)
    return struct.pack(">I4s", 8 + len(body), kind) + body


class RssSampler:
    """VmRSS of process groups every ``interval`` s, in a thread (not the busy event loop)."""

    def __init__(self, groups: dict[str, int], interval: float = 0.02):
        self.groups = {name: procfs.tree(pid) for name, pid in groups.items()}
        self.interval = interval
        self.peak: dict[str, float] = dict.fromkeys(self.groups, 0.0)
        self.largest: dict[str, float] = dict.fromkeys(self.groups, 0.0)
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, pids in self.groups.items():
                sizes = [procfs.rss_mb(pid) for pid in pids]
                self.peak[name] = max(self.peak[name], sum(sizes))
                self.largest[name] = max(self.largest[name], max(sizes))
            self.samples += 1
            time.sleep(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


async def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not arrive within {timeout:.0f}s")
        await asyncio.sleep(0.05)


def rss_now(groups: dict[str, int]) -> dict[str, float]:
    return {name: sum(procfs.rss_mb(pid) for pid in procfs.tree(pid)) for name, pid in groups.items()}


async def run(ctx: Context) -> dict:
    # One language on both sides: the text is not what is measured.
    group, channel = tg_group(0), dc_channel(0)
    layout = Layout(
        communities=[
            Community("town", "Town", "en", "telegram", group),
            Community("twin", "Twin", "en", "discord", channel),
        ],
        links=[Link("media", ("town", "twin"))],
        policies={"bench": {"base": "open", "translation": ["libre"]}},
    )
    runs = []
    async with World(layout, ctx.redis_url, name="media", discord_premium_tier=2) as world:
        await world.start_worker(2)
        await world.start_adapters()
        world.discord.inject_message(channel, MAX, "warm-up")
        await _wait(lambda: world.telegram.sent(group), 60, "the warm-up message")
        groups = process_groups(world, "adapters", "worker")
        for n in range(ctx.runs):
            data = video()
            before = rss_now(groups)
            uploads_before = len(world.telegram.uploads(group))
            started = time.perf_counter()
            with RssSampler(groups) as sampler:
                world.discord.inject_files_message(channel, MAX, f"Concert, part {n + 1}", [("concert.mp4", data)])
                arrived = lambda n=uploads_before: len(world.telegram.uploads(group)) > n  # noqa: E731
                await _wait(arrived, 180, "the video in Telegram")
                took = time.perf_counter() - started
            [upload] = world.telegram.uploads(group)[uploads_before:]
            received = upload["data"]
            runs.append(
                {
                    "seconds": took,
                    "size": len(data),
                    "arrived_bytes": len(received),
                    "kind": upload.get("kind"),
                    "metadata_removed": LOCATION not in received[-200:] and len(received) == len(data),
                    "media_data_unchanged": received[:-200] == data[:-200],
                    "rss_at_rest": before,
                    "rss_peak": sampler.peak,
                    "largest_process_peak": sampler.largest,
                    "growth": {name: sampler.peak[name] - before[name] for name in groups},
                    "samples": sampler.samples,
                }
            )
            ctx.say(
                f"media: {len(data) / 1e6:.0f} MB crossed in {took:.1f}s; adapters {before['adapters']:.0f} → "
                f"{sampler.peak['adapters']:.0f} MB, worker {before['worker']:.0f} → {sampler.peak['worker']:.0f} MB"
            )
            del data, received
    return {
        "setup": {
            "size": SIZE,
            "direction": "discord→telegram",
            "discord_premium_tier": 2,
            "worker_concurrency": 2,
            "sample_interval_s": 0.02,
            "budgets_mb": {
                "adapters_growth": ADAPTER_GROWTH_MB,
                "worker_growth": WORKER_GROWTH_MB,
                "worker": WORKER_MB,
            },
        },
        "runs": runs,
    }
