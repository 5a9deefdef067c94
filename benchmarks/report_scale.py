"""The report's parts for issue 17's scale questions: configuration scale, the stack's
memory at idle and in a flood, Redis growth per relayed message, and what it costs a
deployer; with their headline rows. From the results alone, like report.py."""

from __future__ import annotations

TARGETS = {
    "check_s": 2.0,
    "startup_s": 3.0,
    "config_added_mb": 50.0,
    "adapter_mb": 120.0,
    "worker_mb": 150.0,
    "stack_idle_mb": 400.0,
    "stack_flood_mb": 500.0,
}


def _num(value, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and abs(value) >= 1000:
        return f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}f}"


def _verdict(ok: bool | None) -> str:
    return "–" if ok is None else ("**met**" if ok else "**missed**")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


# -- configuration scale ----------------------------------------------------------
def config_headline(data: dict) -> list[list[str]]:
    by_size = (data.get("summary") or {}).get("by_size") or {}
    large, small = by_size.get("10000"), by_size.get("10")
    if not large:
        return []
    added = data["summary"].get("added_large_vs_small") or {}
    rows = [
        [
            "`twinbridge check`, 10,000 links / 20,000 chats",
            f"≤ {TARGETS['check_s']:.0f} s",
            f"{_num(large['check_s'], 2)} s",
            _verdict(large["check_s"] <= TARGETS["check_s"]),
        ],
        [
            "adapters start-up to relaying, 10,000 links",
            f"≤ {TARGETS['startup_s']:.0f} s",
            f"{_num(large['relay_s'], 2)} s (connected {_num(large['connected_s'], 2)} s; 10 links: "
            f"{_num(small['relay_s'], 2) if small else '–'} s)",
            _verdict(large["relay_s"] <= TARGETS["startup_s"]),
        ],
    ]
    if small:
        ratio = added.get("route_ratio")
        rows.append(
            [
                "routing lookup, 10,000 links / 10 links",
                "constant (≈ 1)",
                f"{_num(large['route_ns'] / 1000, 1)} µs / {_num(small['route_ns'] / 1000, 1)} µs (× {_num(ratio, 2)})",
                _verdict(ratio is not None and ratio <= 1.5),
            ]
        )
        grown = max(added.get("adapters_mb", 0.0), added.get("worker_main_mb", 0.0))
        rows.append(
            [
                "memory added by 10,000 links (adapters; worker main)",
                f"≤ {TARGETS['config_added_mb']:.0f} MB",
                f"{_num(added.get('adapters_mb'), 0)} MB; {_num(added.get('worker_main_mb'), 0)} MB",
                _verdict(grown <= TARGETS["config_added_mb"]),
            ]
        )
    return rows


def config_section(data: dict) -> list[str]:
    by_size = data["summary"]["by_size"]
    runs = data["setup"].get("runs", 1)
    out = [
        "### Configuration scale: 10 and 10,000 links",
        "",
        "A generated links.yaml: each link one Telegram group (English) and one Discord channel (German), "
        "every Discord channel in the stand-in's guild. *check*: `twinbridge check` as a subprocess, start to "
        "exit (it prints every link). *load*, *RSS added*, *peak added*, *objects kept* (tracemalloc) and the "
        "lookups: in a fresh process (`benchmarks/config_probe.py`); *route*: `workers.pipeline.route` for "
        "chats spread over the whole file, after the first call built the index; *memberships*: "
        "`LinksConfig.memberships`. *connected*: from the start of `twinbridge run` until Discord identified, "
        "Telegram polled and both outbox groups exist; *relaying*: until a message written at that moment in "
        "the last chat of each platform has crossed (a first start: the Discord catch-up finds no marks). "
        f"Medians of {runs} run(s).",
        "",
    ]
    rows = []
    for size in sorted(by_size, key=int):
        s = by_size[size]
        rows.append(
            [
                f"{int(size):,}",
                f"{int(size) * 2:,}",
                f"{s['file_bytes'] / 1e6:.2f}",
                _num(s["check_s"], 2),
                _num(s["load_s"], 2),
                _num(s["probe_rss_added_mb"], 1),
                _num(s["probe_peak_added_mb"], 1),
                _num(s["traced_mb"], 1),
                _num(s["route_ns"] / 1000, 2),
                _num(s["memberships_ns"], 0),
                _num(s["first_lookup_ms"], 1),
                _num(s["connected_s"], 2),
                _num(s["relay_s"], 2),
                _num(s["adapters_rss_mb"], 0),
                f"{_num(s['worker_main_mb'], 0)} / {_num(s['worker_pss_mb'], 0)}",
            ]
        )
    out += _table(
        [
            "links",
            "chats",
            "file MB",
            "check s",
            "load s",
            "RSS added MB",
            "peak added MB",
            "objects kept MB",
            "route µs",
            "memberships ns",
            "index built ms",
            "adapters connected s",
            "adapters relaying s",
            "adapters RSS MB",
            "worker main RSS / PSS (main + pool) MB",
        ],
        rows,
    )
    return out + [""]
