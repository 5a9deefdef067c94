"""One module per measured question; each exposes ``async def run(ctx) -> dict``."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from ..world import dc_channel, tg_group


@dataclass
class Context:
    redis_url: str
    quick: bool = False
    runs: int = 3
    started: float = field(default_factory=time.monotonic)

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {text}", flush=True)


def pair_ids(first: int, count: int) -> list[tuple[int, int]]:
    return [(tg_group(i), dc_channel(i)) for i in range(first, first + count)]


def process_groups(world, *names: str) -> dict[str, int]:
    """name -> main pid of the world's processes (a worker's pool children are found from it)."""
    return {name: world.procs.pid(name) for name in names}


HARNESS_PID = os.getpid()
