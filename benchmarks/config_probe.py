"""`python -m benchmarks.config_probe LINKS.yaml`: in a fresh process, what a links file
costs once loaded, printed as one JSON line (benchmarks/scenarios/config_scale.py).

- ``load_seconds``: `load_links` (read, shape check, parse, validation);
- ``rss_added_mb`` / ``rss_peak_added_mb``: VmRSS after the load (and the index built by
  the first lookup) minus before, and the high-water mark's growth (VmHWM);
- ``traced_mb``: what tracemalloc counts still allocated by the config (a second load,
  traced: the Python objects themselves, whatever the allocator keeps);
- routing: `workers.pipeline.route` and `LinksConfig.memberships` for chats spread over the
  whole file, timed after the first (index-building) call: median ns per lookup.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

from core.links import load_links
from core.models import Author, EventKind, MessageRef, PlatformEvent

from .procfs import hwm_mb, rss_mb


def lookups(config, chats, repeat: int = 2000) -> dict:
    from workers.pipeline import route

    events = [
        PlatformEvent(kind=EventKind.NEW, source=MessageRef(c.platform, c.chat_id, "1"), author=Author("1", "A"))
        for c in chats
    ]
    first = time.perf_counter()
    route(events[0], config)  # builds the index
    first = time.perf_counter() - first
    route_ns, member_ns = [], []
    for _ in range(5):
        t = time.perf_counter_ns()
        for i in range(repeat):
            route(events[i % len(events)], config)
        route_ns.append((time.perf_counter_ns() - t) / repeat)
        t = time.perf_counter_ns()
        for i in range(repeat):
            config.memberships(chats[i % len(chats)])
        member_ns.append((time.perf_counter_ns() - t) / repeat)
    return {
        "first_lookup_ms": first * 1000,
        "route_ns": statistics.median(route_ns),
        "memberships_ns": statistics.median(member_ns),
        "targets_per_route": len(route(events[0], config)),
    }


def main(path: str) -> dict:
    import workers.pipeline  # noqa: F401 - imported before the baseline: its modules are not the config

    gc.collect()
    before, hwm_before = rss_mb(os.getpid()), hwm_mb(os.getpid())
    started = time.perf_counter()
    config = load_links(Path(path))
    load_seconds = time.perf_counter() - started
    chats = config.chats()
    spread = [chats[i * len(chats) // 50] for i in range(50)]
    routing = lookups(config, spread)
    gc.collect()
    after = rss_mb(os.getpid())
    del config
    gc.collect()
    tracemalloc.start()
    config = load_links(Path(path))
    config.memberships(spread[0])
    traced = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return {
        "links": len(config.links),
        "chats": len(chats),
        "file_bytes": Path(path).stat().st_size,
        "load_seconds": load_seconds,
        "rss_added_mb": after - before,
        "rss_peak_added_mb": hwm_mb(os.getpid()) - hwm_before,
        "traced_mb": traced / 2**20,
        **routing,
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
