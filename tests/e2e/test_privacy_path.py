"""Privacy on the whole path: a school link (consent, approval by a teacher,
pseudonyms, redaction before any translator or moderator sees the text), the
members' rights, retention and logs — through the real worker and adapters
and the stand-ins of Telegram, Discord and LibreTranslate.

Every assertion is on what the stand-ins received or on what Redis holds."""

from __future__ import annotations

import json
import re

import pytest

from core.storage.keys import DAY
from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn
from sandbox.translator import LibreTranslateStandIn

from ..helpers import DC_TOKEN, TG_TOKEN, bridge_env, serving, start_bridge, wait_until

PSEUDONYM_KEY = "test-pseudonym-key-0123456789abcdef"
CLASS_TG = -1001000000011
GUILD = 112233445566770000
CLASS_DC = 112233445566778811
TEACHER_TG = {"id": 9001, "is_bot": False, "first_name": "Mrs", "last_name": "Patel"}
TEACHER_DC = {"id": "300000000000000777", "username": "frau.weber", "global_name": "Frau Weber", "discriminator": "0"}
KLARA = {"id": "300000000000000888", "username": "klara.k", "global_name": "Klara", "discriminator": "0"}
ANNA = {"id": 5001, "is_bot": False, "first_name": "Anna", "last_name": "Smith"}
RETENTION = 7

LINKS = f"""
version: 1
communities:
  leicester: {{name: Leicester Year 8, language: en, chats: [{{telegram: {CLASS_TG}}}]}}
  krefeld: {{name: Krefeld Klasse 8b, language: de, chats: [{{discord: {CLASS_DC}}}]}}
links:
  - id: year8
    communities: [leicester, krefeld]
    policy: school
policies:
  school:
    moderators: ["telegram:{TEACHER_TG["id"]}", "discord:{TEACHER_DC["id"]}"]
    retention_days: {RETENTION}
"""
SECRET_BITS = ("anna.smith@example.org", "7911 123456", "example.org/anna")


@pytest.fixture
async def world(tmp_path, procs, redis_url, prefix):
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(token=DC_TOKEN, guilds={GUILD: {"name": "Krefeld", "channels": {CLASS_DC: "klasse-8b"}}})
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
            TWINBRIDGE_LOG_LEVEL="INFO",
        )
        await start_bridge(procs, env, telegram, discord)
        yield telegram, discord, libre, env
        procs.stop_all()


def said_in_group(telegram, fragment):
    return next((text for who, text in telegram.transcript(CLASS_TG) if who == "bot" and fragment in text), None)


def private_to(telegram, user_id, fragment):
    return next((m for m in telegram.private_messages(user_id) if fragment in m["text"]), None)


def webhook_posts(discord):
    return [p for p in discord.posts(CLASS_DC) if p.get("webhook_id") and not p.get("deleted")]


async def test_consent_approval_rights_retention_and_logs(world, procs, sync_redis, prefix):
    telegram, discord, libre, _ = world
    telegram.start_private(TEACHER_TG)  # Telegram: a bot writes only to who opened a chat with it

    # 1. Without consent nothing crosses; Anna is told why, once (in the group: she never
    #    opened a private chat with the bot).
    telegram.inject_message(CLASS_TG, ANNA, "Hello Krefeld, I am Anna!")
    telegram.inject_message(CLASS_TG, ANNA, "Is anyone there?")
    await wait_until(lambda: said_in_group(telegram, "until you say /consent"), 30, message="the explanation")
    await wait_until(
        lambda: sync_redis.hget(f"{prefix}stats", "moderation.consent_missing") == "2",
        30,
        message="both messages gated",
    )
    assert len([t for w, t in telegram.transcript(CLASS_TG) if w == "bot"]) == 1  # told once, not per message
    assert webhook_posts(discord) == [] and libre.requests == []

    # 2. /consent; then a message with personal data is held for the teachers, redacted.
    telegram.inject_message(CLASS_TG, ANNA, "/consent")
    await wait_until(lambda: said_in_group(telegram, "Thank you!"), 30, message="the consent confirmation")
    telegram.inject_message(
        CLASS_TG, ANNA, "Write to anna.smith@example.org or call +44 7911 123456, photos on https://example.org/anna"
    )
    held = await wait_until(
        lambda: private_to(telegram, TEACHER_TG["id"], "Held for approval"),
        30,
        message="the held message at the Telegram teacher",
    )
    text = held["text"]
    assert "[email removed]" in text and "[phone removed]" in text and "[link removed]" in text
    assert not any(bit in text for bit in SECRET_BITS)
    hold_id = re.search(r"ID ([0-9a-hjkmnp-tv-z]{13})", text).group(1)
    assert [b["callback_data"] for b in held["reply_markup"]["inline_keyboard"][0]] == [
        f"approve:{hold_id}",
        f"reject:{hold_id}",
    ]
    dm = await wait_until(lambda: discord.dms(TEACHER_DC["id"]), 30, message="the held message at the Discord teacher")
    assert hold_id in dm[0]["content"] and {
        c["custom_id"] for row in dm[0]["components"] for c in row["components"]
    } == {f"approve:{hold_id}", f"reject:{hold_id}"}
    assert webhook_posts(discord) == [] and [r for r in libre.requests if r.path == "/translate"] == []

    # 3. The Telegram teacher approves with the button: it crosses, pseudonymous, translated
    #    by the self-hosted translator only, which never saw the personal data either.
    telegram.inject_callback(TEACHER_TG, TEACHER_TG["id"], held["message_id"], f"approve:{hold_id}")
    [post] = await wait_until(lambda: webhook_posts(discord), 30, message="the approved post")
    assert re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+ \d{1,2} · Leicester Year 8", post["username"])
    assert "Anna" not in post["username"]
    assert "[email removed]" in post["content"] and not any(bit in post["content"] for bit in SECRET_BITS)
    assert "Original (English), übersetzt von LibreTranslate" in post["content"]
    [call] = [r for r in libre.requests if r.path == "/translate"]
    assert not any(bit in call.q[0] for bit in SECRET_BITS)
    assert telegram.callback_answers  # the button press was acknowledged
    # A second decision on the same message is refused politely.
    telegram.inject_message(TEACHER_TG["id"], TEACHER_TG, f"/reject {hold_id}")
    await wait_until(
        lambda: private_to(telegram, TEACHER_TG["id"], "no message waiting"),
        30,
        message="the answer to a late decision",
    )

    # 4. Another message; the Discord teacher rejects it with the button: nothing crosses.
    telegram.inject_message(CLASS_TG, ANNA, "Second message")
    await wait_until(lambda: len(discord.dms(TEACHER_DC["id"])) >= 2, 30, message="the second held message")
    second = discord.dms(TEACHER_DC["id"])[-1]
    second_id = re.search(r"ID ([0-9a-hjkmnp-tv-z]{13})", second["content"]).group(1)
    discord.inject_component_click(TEACHER_DC, int(second["channel_id"]), int(second["id"]), f"reject:{second_id}")
    await wait_until(
        lambda: any(
            f"{second_id}" in m["content"] and "rejected" in m["content"] for m in discord.dms(TEACHER_DC["id"])
        ),
        30,
        message="the rejection confirmed",
    )
    assert len(webhook_posts(discord)) == 1

    # 4b. A pupil in Krefeld asks /privacy as a slash command: acknowledged privately at once,
    #     then the link's notice in the channel (what crosses, pseudonyms, only LibreTranslate).
    assert {c["name"] for c in discord.application_commands()} >= {"consent", "privacy", "approve"}
    discord.inject_slash_command(KLARA, CLASS_DC, "privacy")
    notice = await wait_until(
        lambda: next((t for _, t in discord.transcript(CLASS_DC) if "Privacy notice" in t), None),
        30,
        message="the privacy notice in the channel",
    )
    assert "pseudonym" in notice and "LibreTranslate" in notice and "Google" not in notice
    assert [r["ephemeral"] for r in discord.interaction_responses if r.get("command") == "privacy"] == [True]

    # 5. The audit log has every decision and no content.
    audit = [fields for _, fields in sync_redis.xrange(f"{prefix}audit:year8")]
    actions = [a["action"] for a in audit]
    for expected in ("consent.given", "held", "redacted", "approved", "rejected"):
        assert expected in actions
    assert not any(bit in json.dumps(audit) for bit in SECRET_BITS + ("Second message",))

    # 6. /mydata in the group: the bot cannot write privately yet, and says so without data;
    #    after /start, /mydata in the private chat returns everything stored, as JSON.
    telegram.inject_message(CLASS_TG, ANNA, "/mydata")
    await wait_until(lambda: said_in_group(telegram, "open a private chat with me"), 30, message="the /mydata hint")
    telegram.start_private(ANNA)
    telegram.inject_message(ANNA["id"], ANNA, "/mydata")
    export = await wait_until(
        lambda: private_to(telegram, ANNA["id"], "What twinbridge stores about you"), 30, message="the export"
    )
    data = json.loads(export["text"].split("\n", 1)[1])
    assert data["user"] == "telegram:5001" and [c["link"] for c in data["consent"]] == ["year8"]
    assert [m["copies"] for m in data["messages_relayed"]] == [{f"discord:{CLASS_DC}": [post["id"]]}]
    assert data["pseudonyms"]["year8"] == post["username"].split(" · ")[0]

    # 7. Every key the bridge keeps expires within the link's retention (configuration aside).
    for key in sync_redis.scan_iter(match=f"{prefix}*"):
        # Celery's own queue state, the channel webhooks and the stored formats' version
        # (configuration) and the counters (numbers only; kept 90 days, see docs/privacy.md)
        # are not the link's data.
        if key.startswith(f"{prefix}celery:") or key in (
            f"{prefix}discord:webhooks",
            f"{prefix}stats",
            f"{prefix}config:schema",
        ):
            continue
        # In milliseconds: a lock of a few seconds may be within half a second of its
        # end (TTL rounds that to 0), or gone since the scan saw it (-2).
        ttl_ms = sync_redis.pttl(key)
        assert ttl_ms == -2 or 0 < ttl_ms <= RETENTION * DAY * 1000, f"{key} has TTL {ttl_ms} ms"

    # 8. /forgetme: the relayed copy is deleted, and no key or value names Anna any more.
    telegram.inject_message(ANNA["id"], ANNA, "/forgetme")
    await wait_until(lambda: private_to(telegram, ANNA["id"], "your data is erased"), 30, message="the erasure")
    await wait_until(lambda: not webhook_posts(discord), 30, message="the relayed copy deleted")
    leftovers = []
    for key in sync_redis.scan_iter(match=f"{prefix}*"):
        if key.startswith(f"{prefix}celery:"):
            continue
        if key.startswith(f"{prefix}rl:"):
            # Rate-limit bookings: Anna's private chat's bucket (1 per 1.05 s) is gone within seconds.
            assert "5001" not in key or sync_redis.pttl(key) <= 10_000
            continue
        kind = sync_redis.type(key)
        value = {
            "string": sync_redis.get,
            "hash": sync_redis.hgetall,
            "set": sync_redis.smembers,
            "zset": lambda k: sync_redis.zrange(k, 0, -1),
            "stream": sync_redis.xrange,
            "list": lambda k: sync_redis.lrange(k, 0, -1),
        }[kind](key)
        if "5001" in key or "telegram:5001" in json.dumps(value, default=str):
            leftovers.append(key)
    assert leftovers == []
    assert "erased" in [a["action"] for _, a in sync_redis.xrange(f"{prefix}audit:year8")]

    # 9. No message text, and no personal data, in the logs (INFO level).
    logs = procs.log("worker") + procs.log("run")
    for bit in SECRET_BITS + ("Hello Krefeld", "Is anyone there", "Second message", "[email removed]"):
        assert bit not in logs
