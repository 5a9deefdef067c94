"""`twinbridge status`: the attention rules and the rendering, as functions of the report
(bridge/status.py); what gathers the report runs against real processes in
tests/e2e/test_adapter_restart.py."""

from __future__ import annotations

import copy
import io
import json

import pytest
from rich.console import Console

from bridge import status

pytestmark = pytest.mark.unit

NOW = 1_800_000_000.0


def fine() -> dict:
    """A report of an install where all is well."""
    return {
        "version": 1,
        "checked_at": status._iso(NOW),
        "adapters": {
            "telegram": {
                "configured": True,
                "chats": 1,
                "connected": True,
                "since": status._iso(NOW - 3 * 3600),
                "seconds": 3 * 3600,
                "host": "box",
                "pid": 7,
            },
            "discord": {
                "configured": False,
                "chats": 0,
                "connected": False,
                "since": None,
                "seconds": None,
                "host": None,
                "pid": None,
            },
        },
        "processes": [
            {"role": "run", "stage": None, "host": "box", "pid": 7, "since": status._iso(NOW - 60), "seconds": 60},
            {"role": "worker", "stage": "all", "host": "box", "pid": 8, "since": status._iso(NOW - 60), "seconds": 60},
        ],
        "queues": {
            "stages": {"moderation": 3, "pipeline": 0, "translation": 1, "delivery": 0},
            "in_hand": 2,
            "ingress": 4,
            "outbox": {"telegram": 0, "discord": 5},
        },
        "links": [
            {
                "id": "leicester-krefeld",
                "paused": False,
                "held": 2,
                "dead_letters": 0,
                "scheduled_notices": 1,
                "next_notice": status._iso(NOW + 3600),
                "from": {
                    "leicester": {
                        "name": "Leicester",
                        "last_crossed": status._iso(NOW - 120),
                        "seconds": 120,
                        "this_week": 12,
                    },
                    "krefeld": {"name": "Krefeld", "last_crossed": None, "seconds": None, "this_week": 0},
                },
            }
        ],
        "held": 2,
        "dead_letters": {"total": 0, "by_reason": {}},
        "scheduled_notices": 1,
        "scheduler_running": True,
        "redis": {
            "reachable": True,
            "used_memory": 5_000_000,
            "used_memory_human": "4.77M",
            "maxmemory": 256 * 1024 * 1024,
            "maxmemory_policy": "noeviction",
            "aof_enabled": True,
            "aof_last_write_status": "ok",
            "rdb_last_bgsave_status": "ok",
            "rdb_changes_since_last_save": 0,
        },
    }


def codes(report: dict, **kwargs) -> list[str]:
    return [item["what"] for item in status.attention(report, **kwargs)]


def test_all_is_well_needs_nothing_and_exits_0():
    done = status.finish(fine())
    assert done["ok"] is True and done["attention"] == []
    json.dumps(done)  # what --json prints


def test_an_adapter_with_a_token_but_not_connected_needs_attention():
    report = fine()
    report["adapters"]["telegram"]["connected"] = False
    [item] = status.attention(report)
    assert item["what"] == "adapter_not_connected:telegram"
    assert "twinbridge run" in item["say"]
    # Without a token it is simply not used.
    report["adapters"]["telegram"]["configured"] = False
    assert codes(report) == []


def test_dead_letters_say_how_to_see_and_retry_them():
    report = fine()
    report["dead_letters"] = {"total": 3, "by_reason": {"forbidden": 3}}
    [item] = status.attention(report)
    assert item["what"] == "dead_letters" and "twinbridge dead-letters list" in item["say"]


def test_a_backlog_past_the_limit_anywhere_needs_attention():
    report = fine()
    report["queues"]["stages"]["translation"] = 501
    report["queues"]["outbox"]["discord"] = 501
    assert codes(report) == ["backlog", "backlog"]
    assert codes(report, queue_limit=1000) == []


def test_redis_that_may_evict_or_cannot_persist_needs_attention():
    report = fine()
    report["redis"]["maxmemory_policy"] = "allkeys-lru"
    assert codes(report) == ["eviction_policy"]
    report = fine()
    report["redis"]["rdb_last_bgsave_status"] = "err"
    assert codes(report) == ["persistence_failing"]
    report = fine()
    report["redis"]["aof_last_write_status"] = "err"
    assert codes(report) == ["persistence_failing"]
    report["redis"]["aof_enabled"] = False  # an old failure of a file no longer written
    assert codes(report) == []
    report = fine()
    report["redis"]["used_memory"] = int(0.9 * report["redis"]["maxmemory"])
    assert codes(report) == ["memory"]


def test_missing_worker_and_scheduler():
    report = fine()
    report["processes"] = [p for p in report["processes"] if p["role"] != "worker"]
    report["scheduler_running"] = False
    assert codes(report) == ["no_worker", "no_scheduler"]
    report["scheduled_notices"] = 0  # nothing to fire: no scheduler needed
    assert codes(report) == ["no_worker"]


def test_unreachable_redis_is_all_that_is_said():
    done = status.finish(status.unreachable_report(NOW))
    assert not done["ok"] and [i["what"] for i in done["attention"]] == ["redis_unreachable"]
    out = _rendered(done)
    assert "Redis does not answer" in out


def _rendered(report: dict) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    status.render(report, console)
    return console.file.getvalue()


def test_the_volunteer_reads_plain_words():
    out = _rendered(status.finish(fine()))
    assert "Telegram adapter: connected since" in out and "(3 h)" in out
    assert "Discord adapter: not used (no token set)" in out
    assert "worker (all)" in out
    assert "leicester-krefeld" in out and "Leicester" in out and "never" in out
    assert "2 message(s) wait for a moderator" in out
    assert "1 notice(s) scheduled; a scheduler runs" in out
    assert "eviction noeviction" in out
    assert "All is well" in out and "Needs attention" not in out


def test_what_needs_attention_comes_last_saying_what_to_do():
    report = fine()
    report["adapters"]["telegram"]["connected"] = False
    report["dead_letters"] = {"total": 1, "by_reason": {"forbidden": 1}}
    out = _rendered(status.finish(report))
    assert "Telegram adapter: not connected" in out
    tail = out[out.index("Needs attention:") :]
    assert "twinbridge run" in tail and "twinbridge dead-letters list" in tail


def test_the_json_keys_are_the_documented_ones():
    done = status.finish(copy.deepcopy(fine()))
    assert set(done) == {
        "version",
        "checked_at",
        "ok",
        "attention",
        "adapters",
        "processes",
        "queues",
        "links",
        "held",
        "dead_letters",
        "scheduled_notices",
        "scheduler_running",
        "redis",
    }


def test_every_twinbridge_service_has_a_health_check_the_cli_knows():
    from pathlib import Path

    import yaml

    from bridge.cli import build_parser

    compose = yaml.safe_load((Path(__file__).parents[2] / "docker-compose.yml").read_text())
    ours = {name: s for name, s in compose["services"].items() if s.get("command") and "redis" not in name}
    ours = {name: s for name, s in ours.items() if s["command"][0] in ("run", "worker", "scheduler")}
    assert {"adapters", "scheduler"} <= set(ours)
    for name, service in ours.items():
        test = service["healthcheck"]["test"]
        assert test[:3] == ["CMD", "twinbridge", "health"], name
        args = build_parser().parse_args(test[2:])
        role = {"run": "run", "worker": "worker", "scheduler": "scheduler"}[service["command"][0]]
        assert args.role == role, name
