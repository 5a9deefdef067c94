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
        grown = max(added.get("adapters_mb", 0.0), added.get("worker_pss_mb", 0.0))
        rows.append(
            [
                "memory added by 10,000 links (adapters RSS; worker main + pool PSS)",
                f"≤ {TARGETS['config_added_mb']:.0f} MB each",
                f"{_num(added.get('adapters_mb'), 0)} MB; {_num(added.get('worker_pss_mb'), 0)} MB",
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


# -- the stack's memory (footprint) -------------------------------------------------
GROUP_NAMES = {
    "adapters": "`twinbridge run` (adapters)",
    "moderation": "`worker --role moderation --concurrency 2`",
    "translation": "`worker --role translation --concurrency 2`",
    "scheduler": "`twinbridge scheduler`",
    "console": "`twinbridge console`",
}
WORKERS = ("moderation", "translation")
# LibreTranslate's docs ("Supported Languages") list each model, one per direction, at
# 64-84 MB (en→de 66, de→en 67, en→fr 66, fr→en 68, en→es 66, es→en 69 ...): four languages
# (English and three others) are six directions. Its own process (Python, Flask, the
# sentence splitter, CTranslate2) comes on top; not measured here (the benchmark uses a stand-in).
LIBRETRANSLATE_MODEL_MB = 70
LIBRETRANSLATE_BASE_MB = 400  # an estimate for the server process without models


def footprint_headline(data: dict) -> list[list[str]]:
    idle, flood = data.get("idle"), data.get("flood")
    if not idle:
        return []
    groups = idle["groups"]
    adapter = groups.get("adapters", {}).get("largest_rss")
    worker = max((groups[w]["largest_rss"] for w in WORKERS if w in groups), default=None)
    rows = [
        [
            "adapters process RSS at idle (example config)",
            f"≤ {TARGETS['adapter_mb']:.0f} MB",
            f"{_num(adapter, 0)} MB",
            _verdict(adapter is not None and adapter <= TARGETS["adapter_mb"]),
        ],
        [
            "largest worker process RSS at idle (moderation, translation)",
            f"≤ {TARGETS['worker_mb']:.0f} MB",
            f"{_num(worker, 0)} MB",
            _verdict(worker is not None and worker <= TARGETS["worker_mb"]),
        ],
        [
            "whole stack except LibreTranslate and Redis, PSS at idle",
            f"≤ {TARGETS['stack_idle_mb']:.0f} MB",
            f"{_num(idle['stack_pss'], 0)} MB (RSS summed {_num(idle['stack_rss'], 0)})",
            _verdict(idle["stack_pss"] <= TARGETS["stack_idle_mb"]),
        ],
    ]
    small = ((data.get("layouts") or {}).get("small") or {}).get("idle")
    if small:
        rows.append(
            [
                "the same, small layout (one all-stages worker with one pool process, no console), PSS at idle",
                f"≤ {TARGETS['stack_idle_mb']:.0f} MB",
                f"{_num(small['stack_pss'], 0)} MB",
                _verdict(small["stack_pss"] <= TARGETS["stack_idle_mb"]),
            ]
        )
    if flood and flood.get("stack_pss"):
        rows.append(
            [
                "whole stack except LibreTranslate and Redis, PSS in the flood (peak)",
                f"≤ {TARGETS['stack_flood_mb']:.0f} MB",
                f"{_num(flood['stack_pss'], 0)} MB",
                _verdict(flood["stack_pss"] <= TARGETS["stack_flood_mb"]),
            ]
        )
    return rows


def smallest_vps(data: dict, languages: int = 4) -> dict:
    flood = data.get("flood") or data.get("idle") or {}
    stack = flood.get("stack_pss", 0.0)
    directions = 2 * (languages - 1)
    libre = LIBRETRANSLATE_BASE_MB + directions * LIBRETRANSLATE_MODEL_MB
    redis = 64.0  # the example config's few thousand messages a day: see Redis growth
    system = 250.0  # a minimal Linux with Docker
    total = stack + libre + redis + system
    size = next((s for s in (1024, 2048, 4096, 8192) if s >= total * 1.15), 16384)
    return {"stack": stack, "libre": libre, "redis": redis, "system": system, "total": total, "size_mb": size}


def footprint_section(data: dict) -> list[str]:
    setup = data["setup"]
    out = [
        "### The stack's memory, example config",
        "",
        f"`{setup['config']}` against the stand-ins, every process of docker-compose.yml but Redis and "
        "LibreTranslate. VmRSS of each process and PSS of each group (`/proc/<pid>/smaps_rollup`: a page a "
        "worker's main and pool processes share copy-on-write counts once), sampled every "
        f"{setup['interval_s']} s. *Idle*: after one message from every chat, {setup['idle_s']:.0f} s with "
        f"nothing to do; *flood*: the highest sample while {setup['flood']} messages went in at "
        f"{setup['flood_rate']:.0f} msg/s (pacing off) and crossed. Memory over time: "
        "`benchmarks-memory.png`.",
        "",
    ]
    rows = []
    for name, label in GROUP_NAMES.items():
        idle = data["idle"]["groups"].get(name)
        flood = (data.get("flood") or {}).get("groups", {}).get(name)
        if not idle:
            continue
        rows.append(
            [
                label,
                " + ".join(_num(r, 0) for r in idle["rss"]),
                _num(idle["pss"], 0),
                " + ".join(_num(r, 0) for r in flood["rss"]) if flood else "–",
                _num(flood["pss"], 0) if flood else "–",
            ]
        )
    rows.append(
        [
            "**the stack**",
            _num(data["idle"]["stack_rss"], 0),
            f"**{_num(data['idle']['stack_pss'], 0)}**",
            _num((data.get("flood") or {}).get("stack_rss"), 0),
            f"**{_num((data.get('flood') or {}).get('stack_pss'), 0)}**",
        ]
    )
    out += _table(["process (group)", "idle RSS MB", "idle PSS MB", "flood RSS MB (peak)", "flood PSS MB (peak)"], rows)
    small = (data.get("layouts") or {}).get("small")
    if small and small.get("idle"):
        out += [
            "",
            "The *small* layout (`"
            + "`, `".join(data["setup"]["layouts"]["small"])
            + "`: one worker for every stage with one pool process, no console), same config and load:",
            "",
        ]
        rows = []
        for name, idle in small["idle"]["groups"].items():
            flood = small["flood"].get("groups", {}).get(name)
            rows.append(
                [
                    f"`{name}`",
                    " + ".join(_num(r, 0) for r in idle["rss"]),
                    _num(idle["pss"], 0),
                    " + ".join(_num(r, 0) for r in flood["rss"]) if flood else "–",
                    _num(flood["pss"], 0) if flood else "–",
                ]
            )
        rows.append(
            [
                "**the stack**",
                _num(small["idle"]["stack_rss"], 0),
                f"**{_num(small['idle']['stack_pss'], 0)}**",
                _num(small["flood"].get("stack_rss"), 0),
                f"**{_num(small['flood'].get('stack_pss'), 0)}**",
            ]
        )
        out += _table(
            ["process (group)", "idle RSS MB", "idle PSS MB", "flood RSS MB (peak)", "flood PSS MB (peak)"], rows
        )
    vps = smallest_vps(data)
    out += [
        "",
        f"**Smallest VPS for the example config with LibreTranslate for four languages: {vps['size_mb'] // 1024} GB "
        f"of RAM.** The stack {vps['stack']:.0f} MB (PSS, flood peak, measured) + LibreTranslate ≈ "
        f"{vps['libre']:.0f} MB (not measured: its docs list each model, one per direction, at 64–84 MB; "
        f"four languages are {2 * 3} directions ≈ {6 * LIBRETRANSLATE_MODEL_MB} MB, plus its server process, "
        f"estimated {LIBRETRANSLATE_BASE_MB} MB) + Redis {vps['redis']:.0f} MB + the system and Docker "
        f"{vps['system']:.0f} MB = {vps['total']:,.0f} MB, with 15 % to spare. Without LibreTranslate (a "
        f"hosted translator): {vps['total'] - vps['libre']:,.0f} MB.",
        "",
    ]
    return out


# -- Redis growth ---------------------------------------------------------------------
def redis_headline(data: dict) -> list[list[str]]:
    points = data.get("points")
    if not points:
        return []
    last = points[-1]
    return [
        [
            f"Redis memory per relayed message kept, at {last['messages']:,} messages",
            "reported",
            f"{_num(last['bytes_per_message'], 0)} B ({_num(data['mb_per_million'], 0)} MiB per million); "
            f"plateau {_num(data['plateau_mb_per_1000_per_day'], 1)} MiB per 1,000 messages a day",
            "–",
        ]
    ]


def redis_section(data: dict) -> list[str]:
    setup = data["setup"]
    out = [
        "### Redis growth per relayed message",
        "",
        "What a relayed message leaves in Redis, written by the storage layer itself in a loop "
        "(`IngressStore.begin`, then `DeliveryBook.finish` with `DeliveryBook.copies`, as the adapters "
        f"accept and end a post), round-robin over {setup['chats']:,} Telegram groups each linked to a "
        f"Discord channel, retention {setup['retention_days']} days, into a {setup['server']} (stopped "
        "afterwards; nothing on the shared server). *Added*: `INFO memory` `used_memory` minus before.",
        "",
    ]
    out += _table(
        ["messages", "used_memory added MiB", "bytes per message", "write time s"],
        [
            [
                f"{p['messages']:,}",
                _num(p["added_bytes"] / 2**20, 1),
                _num(p["bytes_per_message"], 0),
                _num(p["seconds"], 0),
            ]
            for p in data["points"]
        ],
    )
    out += [
        "",
        "By key family (`MEMORY USAGE` and `TTL` of up to 500 sampled keys each; the dictionaries' own "
        "entries, one in the keyspace and one in the expiry table per key, come on top, which is the rest "
        "of the bytes per message above):",
        "",
    ]
    out += _table(
        ["family", "keys", "bytes each (MEMORY USAGE)", "TTL days", "without TTL"],
        [
            [
                f"`{name}:`",
                f"{f['keys']:,}",
                _num(f["mean_bytes"], 0),
                _num(f["mean_ttl_days"], 1),
                str(f["without_ttl"]),
            ]
            for name, f in data["families"].items()
        ],
    )
    out += [
        "",
        "The plateau: every per-message key expires (deduplication after 7 days, the id map, origins and "
        "delivery markers with the retention), so at a steady rate Redis holds rate × Σ(bytes × TTL): "
        f"**{_num(data['plateau_mb_per_1000_per_day'], 1)} MiB per 1,000 relayed messages a day** (with the "
        "MEMORY USAGE sizes; the dictionaries' entries add about half again). The per-chat order keys "
        "(`seq:`, `cursor:`) and the per-link counters do not grow with messages.",
        "",
    ]
    return out


# -- Redis commands and round trips per message (the rediscost scenario) ----------------
def rediscost_headline(data: dict) -> list[list[str]]:
    if data.get("commands_per_message") is None:
        return []
    commands, trips = data["commands_per_message"], data["round_trips_per_message"]
    return [
        [
            "Redis commands per relayed message (private server, scripts' commands included)",
            "≤ 20",
            f"{_num(commands, 1)} ({_num(data.get('commands_per_message_net'), 1)} net of idle)",
            _verdict(commands <= 20),
        ],
        [
            "Redis round trips per relayed message (every process)",
            "≤ 8",
            f"{_num(trips, 1)} ({_num(data.get('round_trips_per_message_net'), 1)} net of idle)",
            _verdict(trips <= 8),
        ],
    ]


# -- the flood beside CPU hogs ----------------------------------------------------------
def pressure_headline(limits: dict) -> list[list[str]]:
    runs = limits.get("pressure_runs")
    if not runs:
        return []
    hogs = limits.get("setup", {}).get("cpu_hogs")
    rows = []
    for platform in ("telegram", "discord"):
        shares = [r["platforms"][platform]["share_of_allowed"] or 0.0 for r in runs]
        rows.append(
            [
                f"{platform.capitalize()} flood beside {hogs} CPU hogs: share of the allowed rate",
                "≥ 95 %",
                ", ".join(f"{s:.0%}" for s in shares),
                _verdict(min(shares) >= 0.95),
            ]
        )
    t429 = [r["telegram_429"] for r in runs]
    d429 = [r["discord_429"] for r in runs]
    rows.append(
        [
            f"429s provoked in the flood beside {hogs} CPU hogs",
            "0",
            f"Telegram {', '.join(map(str, t429))}, Discord {', '.join(map(str, d429))}",
            _verdict(sum(t429) + sum(d429) == 0),
        ]
    )
    return rows


# -- what it costs ------------------------------------------------------------------
def costs_section(scenarios: dict) -> list[str]:
    rows = []
    latency = scenarios.get("latency", {})
    at200 = (latency.get("rates") or {}).get("200", {}).get("summary", {}).get("cpu_ms_per_message")
    if at200:
        bridge = sum((at200.get(n) or {}).get("median") or 0.0 for n in ("adapters", "worker", "redis"))
        if bridge:
            per_day = 86400 * 1000 / bridge
            rows.append(
                [
                    "messages relayed per day per core",
                    f"{per_day / 1e6:.0f} million",
                    f"1 core-second / {bridge:.2f} ms of CPU per message at 200 msg/s (adapters + worker + "
                    "Redis, the latency scenario), × 86,400",
                ]
            )
    config = (scenarios.get("config_scale", {}).get("summary") or {}).get("added_large_vs_small")
    if config:
        per_link = (config.get("adapters_mb", 0.0) + config.get("worker_pss_mb", 0.0)) * 1024 / 9990
        rows.append(
            [
                "RAM per link",
                f"{per_link:.1f} KB",
                "RSS of the adapters + PSS of the worker (main + pool) at 10,000 links minus at 10, over 9,990 "
                "links (each with two communities and two chats)",
            ]
        )
    growth = scenarios.get("redis_growth", {})
    if growth.get("mb_per_million"):
        rows.append(
            [
                "Redis memory per million relayed messages kept",
                f"{growth['mb_per_million']:.0f} MiB",
                f"used_memory added per message at {growth['points'][-1]['messages']:,} messages; they expire "
                f"with the retention: {growth['plateau_mb_per_1000_per_day']:.1f} MiB at a steady 1,000 a day",
            ]
        )
    if not rows:
        return []
    return ["### What it costs", "", *_table(["what", "cost", "from"], rows), ""]


# -- plots --------------------------------------------------------------------------
def _plots(scenarios: dict) -> list[tuple[str, str]]:
    """(file, caption) of the plots the results allow (what write_plots draws)."""
    found = []
    latency = scenarios.get("latency", {}).get("rates") or {}
    if any(run.get("latency_cdf_ms") for block in latency.values() for run in block.get("runs", [])):
        found.append(("benchmarks-latency-cdf.png", "latency CDF of every run, by offered rate"))
    if scenarios.get("throughput", {}).get("by_concurrency"):
        found.append(("benchmarks-throughput.png", "highest sustained rate by worker processes"))
    if scenarios.get("footprint", {}).get("timeline"):
        found.append(("benchmarks-memory.png", "memory of the stack over time, example config"))
    return found


def plots_section(scenarios: dict) -> list[str]:
    found = _plots(scenarios)
    if not found:
        return []
    return ["### Plots", ""] + [f"![{caption}]({name})" for name, caption in found] + [""]


def write_plots(results: dict, docs) -> list[str]:
    """The latency CDF, throughput by worker processes and memory over time, as PNGs in
    ``docs``; the names of those written."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    scenarios = results.get("scenarios", {})
    written = []
    latency = scenarios.get("latency", {}).get("rates") or {}
    if any(run.get("latency_cdf_ms") for block in latency.values() for run in block.get("runs", [])):
        fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
        for rate in sorted(latency, key=float):
            for i, run in enumerate(latency[rate].get("runs", [])):
                cdf = run.get("latency_cdf_ms")
                if cdf:
                    ax.plot(
                        [ms for _, ms in cdf],
                        [q for q, _ in cdf],
                        color={"50": "tab:green", "200": "tab:blue", "500": "tab:red"}.get(rate, "gray"),
                        alpha=0.8,
                        label=f"{rate} msg/s" if i == 0 else None,
                    )
        ax.axvline(30, color="tab:blue", linestyle="--", linewidth=0.8)
        ax.text(30, 5, " p99 target 30 ms (at 200 msg/s)", color="tab:blue", fontsize=8)
        ax.set_xscale("log")
        ax.set_xlabel("end-to-end latency (ms, log scale)")
        ax.set_ylabel("messages delivered within (%)")
        ax.set_title("Latency CDF, each run of the latency scenario", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(docs / "benchmarks-latency-cdf.png")
        plt.close(fig)
        written.append("benchmarks-latency-cdf.png")
    throughput = scenarios.get("throughput", {}).get("by_concurrency") or {}
    if throughput:
        workers = sorted(throughput, key=lambda k: (int(k.split("+")[0]), k))  # 1, 2, 2+2 (split adapters), 4
        fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
        best = [throughput[w].get("max_sustained") or 0 for w in workers]
        ax.bar(workers, best, color="tab:blue", label="highest rate kept up with")
        for w, b in zip(workers, best, strict=True):
            ax.text(w, b, f"{b:.0f}", ha="center", va="bottom", fontsize=9)
        ax.axhline(250, color="tab:red", linestyle="--", linewidth=0.8, label="target: 250 msg/s per worker core")
        ax.set_xlabel("worker processes (2+2: with 2 adapter processes, one per platform)")
        ax.set_ylabel("messages/s")
        ax.set_title("Sustained throughput by worker processes (all on the same 2 cores)", fontsize=10)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(docs / "benchmarks-throughput.png")
        plt.close(fig)
        written.append("benchmarks-throughput.png")
    timeline = scenarios.get("footprint", {}).get("timeline")
    if timeline:
        names = [n for n in GROUP_NAMES if n in timeline[0]]
        t = [s["t"] for s in timeline]
        fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
        ax.stackplot(t, *[[s.get(n, 0.0) for s in timeline] for n in names], labels=names, alpha=0.85)
        ax.axhline(TARGETS["stack_idle_mb"], color="black", linestyle="--", linewidth=0.8, label="idle target")
        ax.axhline(TARGETS["stack_flood_mb"], color="tab:red", linestyle="--", linewidth=0.8, label="flood target")
        previous = None
        for s in timeline:  # where each phase begins
            if s["phase"] != previous:
                ax.axvline(s["t"], color="gray", linewidth=0.5)
                ax.text(s["t"], 10, f" {s['phase']}", fontsize=8, rotation=90, va="bottom")
                previous = s["phase"]
        ax.set_xlabel("seconds since the processes started")
        ax.set_ylabel("PSS (MB), stacked by process group")
        ax.set_title("Memory over time: example config, the compose stack but Redis and LibreTranslate", fontsize=10)
        ax.legend(fontsize=7, loc="lower right")
        fig.tight_layout()
        fig.savefig(docs / "benchmarks-memory.png")
        plt.close(fig)
        written.append("benchmarks-memory.png")
    return written
