"""`twinbridge status`'s report (bridge/status.py gather) read from a real Redis holding
what the bridge writes: heartbeats, queued tasks and posts, a hold, a dead letter, a
scheduled notice, link activity; and the command's exit codes."""

from __future__ import annotations

import json
import socket
import textwrap
import time

import pytest

from bridge import status
from core import deadletters
from core.announcements import Announcement
from core.links import load_links
from core.models import Author, EventKind, MessageRef, PlatformEvent
from core.settings import Settings
from core.storage import announcements, heartbeats, link_activity
from core.task_queue import TaskQueue
from tests.helpers import SCHOOL_CLASSES_LINKS
from workers import holds
from workers.moderation.stage import Moderated

from ..processes import free_port, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def _config(tmp_path):
    path = tmp_path / "links.yaml"
    path.write_text(textwrap.dedent(SCHOOL_CLASSES_LINKS))
    return path, load_links(path, pseudonym_key="k")


def test_the_report_shows_what_redis_holds(tmp_path, sync_redis, keys, prefix):
    path, cfg = _config(tmp_path)
    link = cfg.link("classes")
    now = time.time()
    heartbeats.beat(sync_redis, keys, heartbeats.RUN, "box:7:ab", since=now - 60)
    heartbeats.beat(sync_redis, keys, heartbeats.adapter_role("telegram"), "box:7:ab", since=now - 3600)
    heartbeats.beat(sync_redis, keys, heartbeats.WORKER, "box:8", since=now - 50, about={"stage": "translation"})
    queue = TaskQueue.for_prefix(prefix, "translation")
    sync_redis.lpush(queue.key, "t1", "t2")
    sync_redis.xadd(keys.outbox("discord"), {"post": "{}"})
    pipe = sync_redis.pipeline()
    link_activity.note_relayed_into(pipe, keys, "classes", "a", 7, when=now - 120)
    pipe.execute()
    event = PlatformEvent(
        kind=EventKind.NEW,
        source=MessageRef("telegram", "-1002", "42"),
        text="hi",
        author=Author(id="5001", display_name="Anna Smith"),
    )
    holds.hold(sync_redis, keys, event, link, Moderated("hi", ()), "X")
    record = deadletters.Record("post", "classes", "telegram:-1002:41", "discord:1", "new", "forbidden", 3, {}, "", 7)
    deadletters.add(sync_redis, keys, record)
    notice = Announcement(
        id=announcements.new_id(),
        link_id="classes",
        community="a",
        organiser="cli",
        text="t",
        language="en",
        at=now + 3600,
        created=now,
    )
    assert announcements.save(sync_redis, keys, notice, 7, now)
    settings = Settings(config_path=path, redis_prefix=prefix, telegram_bot_token="1:x", discord_bot_token="2:y")

    report = status.finish(status.gather(sync_redis, keys, settings, cfg, now=now))
    json.dumps(report)
    assert report["adapters"]["telegram"]["connected"] and report["adapters"]["telegram"]["seconds"] == 3600
    assert report["adapters"]["telegram"]["host"] == "box"
    assert not report["adapters"]["discord"]["connected"]
    assert {(p["role"], p["stage"]) for p in report["processes"]} == {("run", None), ("worker", "translation")}
    assert report["queues"]["stages"]["translation"] == 2
    assert report["queues"]["outbox"] == {"telegram": 1, "discord": 1}  # the moderator's notice of the hold
    [row] = report["links"]
    assert row["held"] == 1 and row["dead_letters"] == 1 and row["scheduled_notices"] == 1
    assert row["from"]["a"]["seconds"] == 120 and row["from"]["a"]["this_week"] == 1
    assert row["from"]["b"]["last_crossed"] is None
    assert report["dead_letters"] == {"total": 1, "by_reason": {"forbidden": 1}}
    assert report["redis"]["reachable"] and report["redis"]["maxmemory_policy"]
    assert {i["what"] for i in report["attention"]} == {
        "adapter_not_connected:discord",
        "dead_letters",
        "no_scheduler",
    }
    # Nothing personal in it: the held message's text and author, the dead letter's payload.
    text = json.dumps(report)
    assert "5001" not in text and '"hi"' not in text and "Anna" not in text


def test_the_command_exits_0_1_or_2(tmp_path, sync_redis, keys, redis_url, prefix):
    path, _ = _config(tmp_path)
    env = {"REDIS_URL": redis_url, "TWINBRIDGE_REDIS_PREFIX": prefix, "TWINBRIDGE_CONFIG": str(path)}
    env |= {"TELEGRAM_BOT_TOKEN": "", "DISCORD_BOT_TOKEN": ""}
    heartbeats.beat(sync_redis, keys, heartbeats.WORKER, f"{socket.gethostname()}:1", since=time.time())
    fine = run_cli(["status"], env)
    assert fine.returncode == 0, fine.stdout + fine.stderr
    assert "All is well" in fine.stdout
    stopped = run_cli(["status", "--json"], {**env, "TELEGRAM_BOT_TOKEN": "1:x"})
    assert stopped.returncode == 1
    assert json.loads(stopped.stdout)["adapters"]["telegram"] == {
        "configured": True,
        "chats": 1,
        "connected": False,
        "since": None,
        "seconds": None,
        "host": None,
        "pid": None,
    }
    assert "1:x" not in stopped.stdout
    away = run_cli(["status", "--json"], {**env, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    assert away.returncode == 1 and json.loads(away.stdout)["attention"][0]["what"] == "redis_unreachable"
    (tmp_path / "broken.yaml").write_text("version: 1\nlinks: [{id: x}]\n")
    broken = run_cli(["status", "--config", str(tmp_path / "broken.yaml")], env)
    assert broken.returncode == 2 and "broken.yaml" in broken.stderr
