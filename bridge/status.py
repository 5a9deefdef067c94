"""`twinbridge status [--json]`: is it working? What runs, what waits where, what crossed
each link and when, what is held, undeliverable or scheduled, how Redis is; and a short
"Needs attention" list saying what to do (docs/operations.md, "Is it working?").

Exit codes: 0 all is well, 1 something needs attention (or Redis does not answer), 2 the
configuration is broken (as every command). ``--json`` prints :func:`gather`'s report,
whose keys are stable (documented in docs/operations.md); counts, times and ids of links,
communities and processes only: no message text, no names of members, no tokens.

The attention rules (:func:`attention`) and the rendering (:func:`render`) are plain
functions of the report, tested without Redis (tests/unit/test_status.py).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from core import deadletters
from core.announcements import SCHEDULED
from core.links import LinksConfig
from core.settings import Settings
from core.storage import announcements, backlog, heartbeats, holds, link_activity, link_control
from core.storage.keys import Keys
from core.task_queue import STAGE_QUEUES, TaskQueue

from .platforms import PLATFORMS

REPORT_VERSION = 1
# A stage queue, the ingress stream or an outbox stream holding more than this is a
# backlog worth a look (the benchmark's small server drains ~50 messages a second).
QUEUE_LIMIT = 500
# Used memory above this share of maxmemory is worth a look (noeviction: a full Redis
# refuses new messages).
MEMORY_SHARE = 0.8


def _iso(ts: float) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds") if ts else None


def _age(ts: float, now: float) -> int | None:
    return max(0, round(now - ts)) if ts else None


def gather(redis, keys: Keys, settings: Settings, config: LinksConfig, now: float | None = None) -> dict:
    """The report (without its ``attention`` and ``ok``: :func:`attention` adds them)."""
    now = time.time() if now is None else now
    beats = heartbeats.alive(redis, keys)
    adapters = {}
    for platform in PLATFORMS:
        connected = [b for b in beats if b.role == heartbeats.adapter_role(platform.name)]
        first = min(connected, key=lambda b: b.since) if connected else None
        adapters[platform.name] = {
            "configured": bool(platform.token(settings)),
            "chats": sum(c.platform == platform.name for c in config.chats()),
            "connected": first is not None,
            "since": _iso(first.since) if first else None,
            "seconds": _age(first.since, now) if first else None,
            "host": first.host if first else None,
            "pid": first.pid if first else None,
        }
    processes = [
        {
            "role": b.role,
            "stage": b.about.get("stage"),
            "host": b.host,
            "pid": b.pid,
            "since": _iso(b.since),
            "seconds": _age(b.since, now),
        }
        for b in beats
        if not b.role.startswith("adapter.")
    ]
    stage_lists = {queue: TaskQueue.for_prefix(keys.prefix, queue).key for queue in STAGE_QUEUES}
    unacked = str(TaskQueue.for_prefix(keys.prefix).unacked_key)
    queues = backlog.depths(redis, keys, stage_lists, unacked, [p.name for p in PLATFORMS])
    letters = deadletters.read(redis, keys)
    by_reason: dict[str, int] = {}
    for (_, reason), n in deadletters.counts(letters).items():
        by_reason[reason] = by_reason.get(reason, 0) + n
    paused = link_control.paused_links(redis, keys, [link.id for link in config.links], now)
    links = []
    scheduled_total = 0
    for link in config.links:
        crossed = link_activity.activity(redis, keys, link.id, list(link.speakers()), now)
        notices = [a for a in announcements.of_link(redis, keys, link.id, now) if a.state == SCHEDULED and a.at > now]
        scheduled_total += len(notices)
        links.append(
            {
                "id": link.id,
                "paused": link.id in paused,
                "held": holds.waiting_in_link(redis, keys, link.id),
                "dead_letters": sum(1 for letter in letters if letter.link == link.id),
                "scheduled_notices": len(notices),
                "next_notice": _iso(min(a.at for a in notices)) if notices else None,
                # Each way: from each community whose messages cross, when one last crossed.
                "from": {
                    community: {
                        "name": config.communities[community].name,
                        "last_crossed": _iso(last),
                        "seconds": _age(last, now),
                        "this_week": week,
                    }
                    for community, (last, week) in crossed.items()
                },
            }
        )
    return {
        "version": REPORT_VERSION,
        "checked_at": _iso(now),
        "adapters": adapters,
        "processes": processes,
        "queues": queues,
        "links": links,
        "held": sum(link["held"] for link in links),
        "dead_letters": {"total": len(letters), "by_reason": by_reason},
        "scheduled_notices": scheduled_total,
        "scheduler_running": any(b.role == heartbeats.SCHEDULER for b in beats)
        or announcements.scheduler_running(redis, keys),
        "redis": {"reachable": True, **_redis(backlog.redis_state(redis))},
    }


def _redis(info: dict) -> dict:
    return {
        "used_memory": int(info.get("used_memory", 0)),
        "used_memory_human": str(info.get("used_memory_human", "")),
        "maxmemory": int(info.get("maxmemory", 0)),
        "maxmemory_policy": str(info.get("maxmemory_policy", "")),
        "aof_enabled": bool(int(info.get("aof_enabled", 0))),
        "aof_last_write_status": str(info.get("aof_last_write_status", "")),
        "rdb_last_bgsave_status": str(info.get("rdb_last_bgsave_status", "")),
        "rdb_changes_since_last_save": int(info.get("rdb_changes_since_last_save", 0)),
    }


def unreachable_report(now: float | None = None) -> dict:
    now = time.time() if now is None else now
    return {"version": REPORT_VERSION, "checked_at": _iso(now), "redis": {"reachable": False}}


# -- what needs attention ---------------------------------------------------------------


def _title(platform: str) -> str:
    return {"telegram": "Telegram", "discord": "Discord"}.get(platform, platform)


def attention(report: dict, queue_limit: int = QUEUE_LIMIT) -> list[dict]:
    """What needs a person, each as {"what": a stable code, "say": what to do}."""
    found: list[dict] = []

    def need(what: str, say: str) -> None:
        found.append({"what": what, "say": say})

    server = report.get("redis", {})
    if not server.get("reachable"):
        need(
            "redis_unreachable",
            "Redis does not answer: start it (`docker compose up -d redis`) and check REDIS_URL; "
            "nothing can be relayed until it is back.",
        )
        return found
    for platform, adapter in report["adapters"].items():
        if adapter["configured"] and not adapter["connected"]:
            need(
                f"adapter_not_connected:{platform}",
                f"The {_title(platform)} adapter is not connected although its token is set: start "
                f"`twinbridge run` (`docker compose up -d adapters`) and read its log "
                f"(`docker compose logs adapters`).",
            )
    roles = {p["role"] for p in report["processes"]}
    if heartbeats.WORKER not in roles:
        need(
            "no_worker",
            "No worker is running: messages wait in the queues. Start one "
            "(`twinbridge worker`, or `docker compose up -d moderation translation`).",
        )
    if report["scheduled_notices"] and not report["scheduler_running"]:
        need(
            "no_scheduler",
            f"{report['scheduled_notices']} notice(s) are scheduled but no scheduler runs: start "
            "`twinbridge scheduler` (`docker compose up -d scheduler`).",
        )
    letters = report["dead_letters"]["total"]
    if letters:
        need(
            "dead_letters",
            f"{letters} message(s) could not be delivered: see why with `twinbridge dead-letters list`, "
            "then `twinbridge dead-letters retry` (or `purge`).",
        )
    queues = report["queues"]
    waiting = {f"the {name} queue": n for name, n in queues["stages"].items()}
    waiting["the ingress stream"] = queues["ingress"]
    waiting.update({f"the {_title(p)} outbox": n for p, n in queues["outbox"].items()})
    for where, n in waiting.items():
        if n > queue_limit:
            need(
                "backlog",
                f"{where} holds {n} items (more than {queue_limit}): check that its workers or adapter run; "
                "if they do, add workers (`docker compose up -d --scale translation=3`).",
            )
    if server.get("maxmemory_policy") and server["maxmemory_policy"] != "noeviction":
        need(
            "eviction_policy",
            f"Redis may throw data away (maxmemory-policy is {server['maxmemory_policy']}): set it to "
            "noeviction (`--maxmemory-policy noeviction`, as docker-compose.yml does).",
        )
    if server.get("maxmemory") and server["used_memory"] > MEMORY_SHARE * server["maxmemory"]:
        need(
            "memory",
            f"Redis uses {server['used_memory'] * 100 // server['maxmemory']}% of its memory limit: "
            "raise the limit or find what piles up (queues, dead letters) before it refuses messages.",
        )
    failing = [
        name
        for name in ("aof_last_write_status", "rdb_last_bgsave_status")
        if server.get(name) not in (None, "", "ok") and (name != "aof_last_write_status" or server.get("aof_enabled"))
    ]
    if failing:
        need(
            "persistence_failing",
            "Redis cannot write to disk (" + ", ".join(f"{n}={server[n]}" for n in failing) + "): "
            "check the disk space and the Redis log (`docker compose logs redis`); a restart now would lose data.",
        )
    return found


def finish(report: dict, queue_limit: int = QUEUE_LIMIT) -> dict:
    """The report with ``attention`` and ``ok``."""
    found = attention(report, queue_limit)
    return {**report, "ok": not found, "attention": found}


# -- for people ---------------------------------------------------------------------------


def _ago(seconds: int | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    if seconds < 48 * 3600:
        return f"{round(seconds / 3600)} h"
    return f"{round(seconds / 86400)} days"


def _clock(iso: str | None, seconds: int | None) -> str:
    """ "14:02 (3 h)", or "5 Dec 14:02 (2 days)" when longer ago (this machine's time zone)."""
    if not iso:
        return "never"
    when = datetime.fromisoformat(iso).astimezone()
    day = "" if seconds is not None and seconds < 20 * 3600 else f"{when.day} {when.strftime('%b')} "
    return f"{day}{when.strftime('%H:%M')} ({_ago(seconds)})"


def render(report: dict, console) -> None:
    """Print the report for a person on a rich ``console``."""
    from rich.table import Table

    server = report.get("redis", {})
    if not server.get("reachable"):
        console.print("[bold red]Redis does not answer.[/]")
        _render_attention(report, console)
        return
    console.print(f"[bold]twinbridge status[/] at {report['checked_at']}")
    console.print()
    for platform, a in report["adapters"].items():
        name = f"{_title(platform)} adapter"
        if a["connected"]:
            console.print(f"[green]●[/] {name}: [green]connected[/] since {_clock(a['since'], a['seconds'])}")
        elif a["configured"]:
            console.print(f"[red]●[/] {name}: [bold red]not connected[/] (its token is set)")
        else:
            console.print(f"[dim]○ {name}: not used (no token set)[/]")

    procs = Table(title="Processes", title_justify="left", show_edge=False)
    for column in ("what", "where", "running since"):
        procs.add_column(column)
    for p in report["processes"]:
        what = {"run": "adapters (twinbridge run)", "scheduler": "scheduler"}.get(p["role"], p["role"])
        if p["role"] == heartbeats.WORKER:
            what = f"worker ({p['stage'] or 'all'})"
        procs.add_row(what, f"{p['host']} pid {p['pid']}", _clock(p["since"], p["seconds"]))
    if not report["processes"]:
        procs.add_row("[red]nothing is running[/]", "", "")
    console.print()
    console.print(procs)

    q = report["queues"]
    queues = Table(title="Waiting", title_justify="left", show_edge=False)
    queues.add_column("where")
    queues.add_column("items", justify="right")
    rows = [("accepted, not yet processed (ingress)", q["ingress"])]
    rows += [(f"{name} queue", n) for name, n in q["stages"].items() if n or name != "pipeline"]
    rows += [("taken by workers, in hand", q["in_hand"])]
    rows += [(f"to send to {_title(p)} (outbox)", n) for p, n in q["outbox"].items()]
    for where, n in rows:
        queues.add_row(where, f"[yellow]{n}[/]" if n > QUEUE_LIMIT else str(n))
    console.print()
    console.print(queues)

    links = Table(title="Links (last message across, each way)", title_justify="left", show_edge=False)
    for column in ("link", "from", "last across", "this week", "held", "failed", "notices"):
        right = column not in ("link", "from", "last across")
        links.add_column(column, justify="right" if right else "left", overflow="fold")
    for link in report["links"]:
        name = link["id"] + (" [yellow](paused)[/]" if link["paused"] else "")
        for i, side in enumerate(link["from"].values()):
            first = i == 0
            links.add_row(
                name if first else "",
                side["name"],
                _clock(side["last_crossed"], side["seconds"]),
                str(side["this_week"]),
                str(link["held"]) if first else "",
                (f"[red]{link['dead_letters']}[/]" if link["dead_letters"] else "0") if first else "",
                str(link["scheduled_notices"]) if first else "",
                end_section=i == len(link["from"]) - 1,
            )
    console.print()
    console.print(links)
    if report["held"]:
        console.print(f"{report['held']} message(s) wait for a moderator's decision.")
    if report["scheduled_notices"]:
        running = "a scheduler runs" if report["scheduler_running"] else "[red]no scheduler runs[/]"
        console.print(f"{report['scheduled_notices']} notice(s) scheduled; {running}.")

    console.print()
    memory = server["used_memory_human"] + (
        f" of {server['maxmemory'] // (1024 * 1024)} MB" if server["maxmemory"] else " (no limit set)"
    )
    aof = "[green]on[/]" if server["aof_enabled"] else "[yellow]off[/] (a Redis restart may lose recent messages)"
    policy = server["maxmemory_policy"]
    policy_text = f"[green]{policy}[/]" if policy == "noeviction" else f"[red]{policy}[/]"
    saved = server["rdb_last_bgsave_status"] or "?"
    console.print(
        f"Redis: memory {memory}, eviction {policy_text}, append-only file {aof}, "
        f"last snapshot {'[green]ok[/]' if saved == 'ok' else f'[red]{saved}[/]'}"
        + (
            f", last AOF write {server['aof_last_write_status']}"
            if server["aof_enabled"] and server["aof_last_write_status"] != "ok"
            else ""
        )
    )
    _render_attention(report, console)


def _render_attention(report: dict, console) -> None:
    console.print()
    if not report["attention"]:
        console.print("[bold green]All is well.[/] Nothing needs attention.")
        return
    console.print("[bold red]Needs attention:[/]")
    for item in report["attention"]:
        console.print(f"  [red]•[/] {item['say']}", highlight=False)
