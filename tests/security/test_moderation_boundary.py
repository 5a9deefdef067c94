"""The privacy boundary between the two worker roles: the moderation worker is the
only process that sees what a member wrote; a translation worker receives only
what moderation let cross (redacted), and cannot decide anything a moderator
decides. Real `twinbridge worker --role moderation` and `--role translation`
processes, real adapters, the stand-ins; what the translation worker received is
read from its queue in Redis, and what the translator received from the stand-in."""

from __future__ import annotations

import asyncio
import json
import re
import textwrap

import pytest

from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn
from sandbox.translator import LibreTranslateStandIn
from core.task_queue import TRANSLATE_TASK, task_arguments

from ..helpers import DC_TOKEN, TG_TOKEN, bridge_env, handed_to_translation, serving, wait_until

pytestmark = pytest.mark.e2e

CLASS_TG = -1001000000071
GUILD = 112233445566770000
CLASS_DC = 112233445566778871
TEACHER = {"id": 9001, "is_bot": False, "first_name": "Mrs", "last_name": "Patel"}
PUPIL = {"id": 5071, "is_bot": False, "first_name": "Anna", "last_name": "Smith"}
PHONE = "07700 900123"
EMAIL = "anna.smith.trap@example.org"
TRAPS = (PHONE, "07700900123", "900123", EMAIL, "anna.smith.trap")


def links(moderation: str | None) -> str:
    # `moderation: none` on the school policy: pupils' messages cross without a teacher's
    # approval, so that they do reach the translation worker (redacted).
    override = f", moderation: {moderation}" if moderation else ""
    return textwrap.dedent(f"""
        version: 1
        communities:
          leicester: {{name: Leicester Year 8, language: en, chats: [{{telegram: {CLASS_TG}}}]}}
          krefeld: {{name: Krefeld Klasse 8b, language: de, chats: [{{discord: {CLASS_DC}}}]}}
        links:
          - {{id: year8, communities: [leicester, krefeld], policy: school}}
        policies:
          school: {{moderators: ["telegram:{TEACHER["id"]}"]{override}}}
        """)


@pytest.fixture
async def stand_ins():
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(token=DC_TOKEN, guilds={GUILD: {"name": "Krefeld", "channels": {CLASS_DC: "8b"}}})
    libre = LibreTranslateStandIn()
    async with serving(telegram, discord, libre):
        yield telegram, discord, libre


def environment(tmp_path, config: str, redis_url, prefix, telegram, discord, libre) -> dict[str, str]:
    return bridge_env(
        tmp_path,
        config,
        redis_url,
        prefix,
        telegram,
        discord,
        LIBRETRANSLATE_URL=libre.url,
        TWINBRIDGE_PSEUDONYM_KEY="test-pseudonym-key-0123456789abcdef",
    )


def without_secrets(env: dict[str, str]) -> dict[str, str]:
    """A translation worker's environment: no policy secret (the pseudonym key)."""
    return {**env, "TWINBRIDGE_PSEUDONYM_KEY": ""}


def crossed(discord) -> list[dict]:
    return [p for p in discord.posts(CLASS_DC) if p.get("webhook_id")]


async def test_a_translation_worker_receives_only_redacted_text(
    tmp_path, procs, stand_ins, redis_url, prefix, sync_redis
):
    telegram, discord, libre = stand_ins
    env = environment(tmp_path, links("none"), redis_url, prefix, telegram, discord, libre)
    procs.start("moderation", ["worker", "--role", "moderation", "--concurrency", "1", "-n", "mod@%h"], env)
    procs.start("run", ["run"], env)
    await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter")
    telegram.start_private(PUPIL)

    telegram.inject_message(CLASS_TG, PUPIL, "/consent")
    telegram.inject_message(CLASS_TG, PUPIL, f"Hello Krefeld! Call me on {PHONE} or write to {EMAIL}")

    # No translation worker yet: what the moderation worker hands over waits in the
    # translation queue, every message of it, as the translation worker will receive it.
    queue = f"{prefix}celery:translation"
    raw = await wait_until(lambda: sync_redis.lrange(queue, 0, -1), 60, message="a task handed to translation")
    handed = [task_arguments(message) for message in raw]
    assert all(task == TRANSLATE_TASK for task, _args, _kwargs in handed)
    payloads = [message for message in raw] + [json.dumps(args, ensure_ascii=False) for _t, args, _k in handed]
    for trap in TRAPS:
        assert not any(trap in payload for payload in payloads), "unredacted text reached the translation queue"
    drafts = handed[0][1][0]
    assert "[phone removed]" in drafts["posts"][0]["text"] and "[email removed]" in drafts["posts"][0]["text"]
    assert all(not post["sender"] or post["sender"] != PUPIL["first_name"] for post in drafts["posts"])

    # The translation worker (without the pseudonym key) translates and publishes it.
    procs.start(
        "translation", ["worker", "--role", "translation", "--concurrency", "1", "-n", "tr@%h"], without_secrets(env)
    )
    [post] = await wait_until(lambda: crossed(discord), 60, message="the translated message in Krefeld")
    assert "[phone removed]" in post["content"]
    assert sync_redis.llen(queue) == 0
    assert libre.requests, "the message went through the translator"
    for request in libre.requests:
        sent = " ".join(request.q) + request.query_string
        for trap in TRAPS:
            assert trap not in sent
    for trap in TRAPS:
        assert trap not in post["content"]


async def test_a_translation_worker_alone_cannot_release_a_hold(
    tmp_path, procs, stand_ins, redis_url, prefix, sync_redis
):
    telegram, discord, libre = stand_ins
    env = environment(tmp_path, links(None), redis_url, prefix, telegram, discord, libre)
    procs.start("moderation", ["worker", "--role", "moderation", "--concurrency", "1", "-n", "mod@%h"], env)
    procs.start("run", ["run"], env)
    await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter")
    telegram.start_private(TEACHER)
    telegram.start_private(PUPIL)

    telegram.inject_message(CLASS_TG, PUPIL, "/consent")
    telegram.inject_message(CLASS_TG, PUPIL, "Hello Krefeld, we visit in May")
    held = await wait_until(
        lambda: next((m for m in telegram.private_messages(TEACHER["id"]) if "Held for approval" in m["text"]), None),
        60,
        message="the held message at the teacher",
    )
    hold_id = re.search(r"ID ([0-9a-zA-Z_-]+)", held["text"]).group(1)
    await wait_until(lambda: sync_redis.xlen(f"{prefix}ingress") == 0, 30, message="the ingress drained")

    # Only a translation worker runs when the teacher approves.
    procs.stop("moderation")
    procs.start(
        "translation", ["worker", "--role", "translation", "--concurrency", "1", "-n", "tr@%h"], without_secrets(env)
    )
    telegram.inject_message(TEACHER["id"], TEACHER, f"/approve {hold_id}")
    await wait_until(lambda: sync_redis.xlen(f"{prefix}ingress") == 1, 30, message="the approval accepted")
    # A negative: give the translation worker ample time to (wrongly) take the approval.
    for _ in range(50):
        await asyncio.sleep(0.1)
        assert procs.procs["translation"].poll() is None, "the translation worker died"
    assert sync_redis.exists(f"{prefix}held:{hold_id}"), "released without a moderation worker"
    assert not crossed(discord)
    assert sync_redis.xlen(f"{prefix}ingress") == 1  # the approval still waits

    # Once a moderation worker runs, the approval is done: the hold is released and the
    # message handed to the translation stage, which is the only translator (no
    # translation worker runs now: the moderation worker translates nothing itself).
    procs.stop("translation")
    asked = len(libre.requests)
    procs.start("moderation-2", ["worker", "--role", "moderation", "--concurrency", "1", "-n", "mod2@%h"], env)
    await wait_until(lambda: not sync_redis.exists(f"{prefix}held:{hold_id}"), 60, message="the hold released")
    [handed] = await wait_until(
        lambda: handed_to_translation(sync_redis, prefix), 30, message="the approved message handed to translation"
    )
    assert handed["text"] == "Hello Krefeld, we visit in May" and handed["language"] == "de"
    assert not crossed(discord) and len(libre.requests) == asked
    procs.start(
        "translation-2", ["worker", "--role", "translation", "--concurrency", "1", "-n", "tr2@%h"], without_secrets(env)
    )
    await wait_until(lambda: crossed(discord), 60, message="the approved message in Krefeld")
    assert len(libre.requests) > asked, "translated by the translation worker"
    await wait_until(lambda: sync_redis.llen(f"{prefix}celery:translation") == 0, 30, message="translated")
    assert len(crossed(discord)) == 1


async def test_a_translation_worker_loads_no_moderation_logic(tmp_path, procs, stand_ins, redis_url, prefix):
    """What a running translation worker has imported, asked of the worker itself (a
    Celery inspect command, workers/app.py) after it translated and published a message
    (``--pool solo``: its tasks run in the process that answers)."""
    from core.settings import Settings
    from workers.app import make_celery

    telegram, discord, libre = stand_ins
    env = environment(tmp_path, links("none"), redis_url, prefix, telegram, discord, libre)
    procs.start("moderation", ["worker", "--role", "moderation", "--pool", "solo", "-n", "mod@%h"], env)
    procs.start(
        "translation", ["worker", "--role", "translation", "--pool", "solo", "-n", "tr@%h"], without_secrets(env)
    )
    procs.start("run", ["run"], env)
    await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter")
    telegram.start_private(PUPIL)
    telegram.inject_message(CLASS_TG, PUPIL, "/consent")
    telegram.inject_message(CLASS_TG, PUPIL, "Hello Krefeld, see you in May")
    await wait_until(lambda: crossed(discord), 60, message="the translated message in Krefeld")

    control = make_celery(Settings(config_path=tmp_path / "links.yaml", redis_url=redis_url, redis_prefix=prefix))
    try:
        replies = await asyncio.to_thread(control.control.broadcast, "twinbridge_modules", reply=True, timeout=5)
    finally:
        control.close()
    loaded = {name.partition("@")[0]: set(modules) for reply in replies for name, modules in reply.items()}
    assert set(loaded) == {"mod", "tr"}, replies
    moderation_only = {
        "workers.moderation",
        "workers.moderation.redaction",
        "workers.moderation.profanity",
        "workers.moderation.events",
        "workers.holds",
        "workers.rights",
        "workers.privacy",
        "workers.command_handlers",
        "workers.pipeline",
        "workers.stages.moderation",
    }
    assert "workers.stages.translation" in loaded["tr"] and "workers.translation.stage" in loaded["tr"]
    assert not moderation_only & loaded["tr"], sorted(moderation_only & loaded["tr"])
    assert moderation_only <= loaded["mod"]  # the same question finds them where they are
