"""/forgetme leaves nothing of the member (GDPR Art. 17), through the real worker and
adapters and the stand-ins: after it, no key in any Redis database and no message the
bridge shows in any chat (groups, channels, moderators' and members' private chats)
holds the member's platform id, username, name, pseudonym or anything they wrote.

What used to survive (issue 12): a post still waiting in an outbox lane, delivered
after the erasure; the held messages' copies in the moderators' private chats (and
the decision confirmations naming the pseudonym); the quote of the member's message
at the top of someone else's relayed reply on Discord; the /mydata answer; audit
entries naming people by platform id."""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
import uuid
from datetime import UTC, datetime

import pytest

from core.announcements import rsvp_button_data
from core.phrases import rsvp_counts_line
from core.storage import rsvps

from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn
from sandbox.translator import LibreTranslateStandIn

from ..helpers import DC_TOKEN, TG_TOKEN, bridge_env, serving, start_bridge, wait_until
from ..processes import run_cli
from .traces import redis_traces, standin_traces

pytestmark = pytest.mark.e2e

PSEUDONYM_KEY = "test-pseudonym-key-erasure-0123456789"
GUILD = 112233445566770000
TOWN_TG, TOWN_DC = -1001000000021, 112233445566778821
CLASS_TG, CLASS_DC = -1001000000022, 112233445566778822
TEACHER_TG = {"id": 9002, "is_bot": False, "first_name": "Mrs", "last_name": "Okafor"}
TEACHER_DC = {"id": "300000000000000779", "username": "herr.braun", "global_name": "Herr Braun", "discriminator": "0"}
CARL = {"id": 5102, "is_bot": False, "first_name": "Carl"}

LINKS = f"""
version: 1
communities:
  town: {{name: Townsend, language: en, chats: [{{telegram: {TOWN_TG}}}]}}
  twin: {{name: Twinbury, language: en, chats: [{{discord: {TOWN_DC}}}]}}
  class: {{name: Year 9, language: en, chats: [{{telegram: {CLASS_TG}}}]}}
  klasse: {{name: Klasse 9a, language: de, chats: [{{discord: {CLASS_DC}}}]}}
links:
  - {{id: towns, communities: [town, twin], policy: open}}
  - {{id: year9, communities: [class, klasse], policy: school}}
policies:
  school:
    moderators: ["telegram:{TEACHER_TG["id"]}", "discord:{TEACHER_DC["id"]}"]
    retention_days: 7
"""


def member() -> tuple[dict, list[str]]:
    """A member nobody else's data can be mistaken for (the scan covers every database
    of the server, other tests' keys included), and the words that identify them."""
    marker = uuid.uuid4().hex[:10]
    user = {
        "id": 8300000000 + random.randrange(10**8),
        "is_bot": False,
        "first_name": f"Quenby{marker[:4]}",
        "last_name": f"Zarath{marker[4:8]}",
        "username": f"qz_{marker}",
    }
    return user, [str(user["id"]), user["first_name"], user["last_name"], user["username"], marker]


@pytest.fixture
async def world(tmp_path, procs, redis_url, prefix):
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(
        token=DC_TOKEN, guilds={GUILD: {"name": "Twins", "channels": {TOWN_DC: "twinbury", CLASS_DC: "klasse-9a"}}}
    )
    libre = LibreTranslateStandIn()
    async with serving(telegram, discord, libre):
        env = bridge_env(
            tmp_path,
            LINKS,
            redis_url,
            prefix,
            telegram,
            discord,
            LIBRETRANSLATE_URL=libre.url,
            TWINBRIDGE_PSEUDONYM_KEY=PSEUDONYM_KEY,
        )
        await start_bridge(procs, env, telegram, discord)
        yield telegram, discord, env
        procs.stop_all()


def shown_in(discord, channel, fragment):
    return [
        p
        for p in discord.posts(channel)
        if p.get("webhook_id") and not p.get("deleted") and fragment in p.get("content", "")
    ]


def private_to(telegram, user_id, fragment):
    return next((m for m in telegram.private_messages(user_id) if fragment in m["text"]), None)


async def event_notice(telegram, env) -> tuple[str, dict]:
    """An organiser's event notice to the open link, as the Telegram group shows it."""
    start = datetime.fromtimestamp(time.time() + 3 * 86400, UTC).replace(microsecond=0).isoformat()
    made = run_cli(["announce", "--link", "towns", "--event", "--title", "Fair", "--start", start, "Come!"], env=env)
    assert made.returncode == 0, made.stderr
    notice_id = re.search(r"Notice (\w+) is on its way", made.stdout).group(1)

    def shown() -> dict | None:
        for sent in telegram.sent(TOWN_TG):
            rows = (sent.get("reply_markup") or {}).get("inline_keyboard") or []
            if isinstance(rows, str):
                rows = json.loads(rows).get("inline_keyboard", [])
            if any(str(b.get("callback_data", "")).startswith("rsvp:") for row in rows for b in row):
                return sent
        return None

    return notice_id, await wait_until(shown, 60, message="the event notice in the group")


def quiet(sync_redis, prefix) -> bool:
    """Nothing waiting anywhere: ingress, both outboxes (read or not), Celery's queues."""
    for platform in ("telegram", "discord"):
        stream = f"{prefix}outbox:{platform}"
        if sync_redis.exists(stream) and (sync_redis.xlen(stream) or sync_redis.xpending(stream, "senders")["pending"]):
            return False
    return not (sync_redis.exists(f"{prefix}ingress") and sync_redis.xlen(f"{prefix}ingress")) and not any(
        sync_redis.llen(k) for k in sync_redis.scan_iter(match=f"{prefix}celery:*") if sync_redis.type(k) == "list"
    )


async def test_forgetme_leaves_nothing_in_redis_or_any_chat(world, sync_redis, redis_url, prefix, keys):
    telegram, discord, env = world
    anna, needles = member()
    marker = needles[-1]
    telegram.start_private(TEACHER_TG)
    telegram.start_private(anna)

    # An open link: Anna's message is relayed; Carl's reply to it reaches Discord with a
    # quote of Anna's copy (webhooks cannot reply).
    said = telegram.inject_message(TOWN_TG, anna, f"Quokka plan {marker} for the fair")
    await wait_until(lambda: shown_in(discord, TOWN_DC, f"Quokka plan {marker}"), 30, message="Anna's copy")
    telegram.inject_message(TOWN_TG, CARL, "Sounds good to me", reply_to_message_id=said["message_id"])
    [reply] = await wait_until(lambda: shown_in(discord, TOWN_DC, "Sounds good to me"), 30, message="Carl's reply")
    assert f"Quokka plan {marker}" in reply["content"]  # the quote, in someone else's post

    # An event notice: Anna answers Going (then changes her mind to Maybe), Carl Going.
    notice_id, notice = await event_notice(telegram, env)
    for who, choice in ((anna, "going"), (CARL, "going"), (anna, "maybe")):
        telegram.inject_callback(who, TOWN_TG, notice["message_id"], rsvp_button_data(notice_id, choice))
    await wait_until(
        lambda: rsvps.totals(sync_redis, keys, notice_id) == {"going": 1, "maybe": 1, "cant": 0},
        30,
        message="both answers counted",
    )
    [anna_person] = [p for p, v in sync_redis.hgetall(keys.rsvp_choices(notice_id)).items() if v.startswith("maybe")]

    # A school link: one message approved (crosses under a pseudonym), one still held;
    # both were shown to the teachers privately.
    telegram.inject_message(CLASS_TG, anna, "/consent")
    await wait_until(lambda: private_to(telegram, anna["id"], "Thank you!"), 30, message="consent confirmed")
    telegram.inject_message(CLASS_TG, anna, f"First held {marker}")
    held = await wait_until(
        lambda: private_to(telegram, TEACHER_TG["id"], f"First held {marker}"),
        30,
        message="the held message at the teacher",
    )
    hold_id = re.search(r"ID ([0-9a-zA-Z_-]+)", held["text"]).group(1)
    telegram.inject_message(TEACHER_TG["id"], TEACHER_TG, f"/approve {hold_id}")
    [approved] = await wait_until(
        lambda: shown_in(discord, CLASS_DC, f"First held {marker}"), 30, message="the approved copy"
    )
    needles.append(approved["username"].split(" · ")[0])  # the pseudonym
    await wait_until(lambda: private_to(telegram, TEACHER_TG["id"], "approved"), 30, message="the decision confirmed")
    telegram.inject_message(CLASS_TG, anna, f"Second held {marker}")
    await wait_until(
        lambda: any(f"Second held {marker}" in m["content"] for m in discord.dms(TEACHER_DC["id"])),
        30,
        message="the second held message at the Discord teacher",
    )

    # /mydata: the answer (in Anna's private chat) lists her audit entries, found by their key.
    telegram.inject_message(anna["id"], anna, "/mydata")
    export = await wait_until(
        lambda: private_to(telegram, anna["id"], "What twinbridge stores about you"), 30, message="the export"
    )
    data = json.loads(export["text"].split("\n", 1)[1])
    assert {"consent.given", "held"} <= {e["action"] for e in data["audit_entries"]}
    assert [(a["announcement"], a["choice"]) for a in data["event_answers"]] == [(notice_id, "maybe")]

    # A post waiting in an outbox lane: Discord fails for a while, so Anna's last message
    # is in the Discord adapter's hands when she asks to be forgotten.
    discord.fail_for("POST /webhooks/*", 503, seconds=6)
    outage_ends = asyncio.get_running_loop().time() + 6
    telegram.inject_message(TOWN_TG, anna, f"Lane waiting {marker}")
    await wait_until(
        lambda: (
            sync_redis.exists(f"{prefix}outbox:discord")
            and sync_redis.xpending(f"{prefix}outbox:discord", "senders")["pending"]
        ),
        30,
        message="the post taken by the Discord adapter",
    )
    telegram.inject_message(anna["id"], anna, "/forgetme")
    await wait_until(lambda: private_to(telegram, anna["id"], "your data is erased"), 30, message="the erasure")

    await wait_until(lambda: asyncio.get_running_loop().time() > outage_ends, 30, message="the outage to end")
    await wait_until(lambda: quiet(sync_redis, prefix), 120, message="every queue and lane drained")
    assert not shown_in(discord, TOWN_DC, f"Lane waiting {marker}")

    def traces():
        return redis_traces(redis_url, needles, prefix) + standin_traces(telegram, discord, needles)

    try:
        await wait_until(lambda: not traces(), 90, interval=1.0, message="no trace of the member")
    except AssertionError:
        assert traces() == []
    assert not shown_in(discord, TOWN_DC, f"Lane waiting {marker}")
    assert shown_in(discord, TOWN_DC, "Sounds good to me")  # Carl's post stays, without the quote
    # Her answer to the event notice is gone, Carl's stays, and the copy shows it; her
    # person key is left in one place only: the tombstone that refuses what she wrote before.
    assert rsvps.totals(sync_redis, keys, notice_id) == {"going": 1, "maybe": 0, "cant": 0}
    await wait_until(
        lambda: rsvp_counts_line("en", {"going": 1}) in telegram.message(TOWN_TG, notice["message_id"])["text"],
        30,
        message="the notice showing Carl's answer alone",
    )
    assert [t for t in redis_traces(redis_url, [anna_person], prefix) if ":erased:" not in t] == []

    # The audit log is kept, with nobody named by platform id (members nor moderators).
    for link in ("towns", "year9"):
        entries = [fields for _, fields in sync_redis.xrange(f"{prefix}audit:{link}")]
        assert not any(re.search(r"(telegram|discord):\d", json.dumps(e)) for e in entries), entries
    assert "approved" in {f["action"] for _, f in sync_redis.xrange(f"{prefix}audit:year9")}
    # The moderator's own export still finds the decision they took, by the same key.
    teacher = run_cli(["export", "--user", f"telegram:{TEACHER_TG['id']}"], env)
    assert teacher.returncode == 0, teacher.stderr
    assert "approved" in {e["action"] for e in json.loads(teacher.stdout)["audit_entries"]}
    # Forgetting twice is harmless.
    again = run_cli(["forget", "--user", f"telegram:{anna['id']}"], env)
    assert again.returncode == 0, again.stderr
    assert traces() == []

    # The tombstone refuses only what was written before the erasure: Anna is not muted.
    # (Telegram dates are whole seconds: what she writes in the erasure's own second counts
    # as before it, so this waits for the next one.)
    [mark] = [sync_redis.get(k) for k in sync_redis.scan_iter(match=f"{prefix}erased:*")]
    await wait_until(lambda: time.time() >= int(float(mark)) + 1, 5, message="the next second")
    telegram.inject_message(TOWN_TG, anna, "Back again after a fresh start")
    await wait_until(
        lambda: shown_in(discord, TOWN_DC, "Back again after a fresh start"),
        30,
        message="a message written after the erasure",
    )
