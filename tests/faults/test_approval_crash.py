"""An approval being handled when its worker is killed (SIGKILL) is not lost:
commands go through the durable ingress like messages, and releasing a hold is
one atomic step, so the approval is simply done again by the next worker and
the message crosses exactly once. Real adapters, workers and stand-ins."""

from __future__ import annotations

import re
import signal
import time

import pytest

from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn
from sandbox.translator import LibreTranslateStandIn

from ..helpers import DC_TOKEN, TG_TOKEN, bridge_env, wait_until

pytestmark = pytest.mark.e2e

CLASS_TG = -1001000000031
GUILD = 112233445566770000
CLASS_DC = 112233445566778831
TEACHER = {"id": 9001, "is_bot": False, "first_name": "Mrs", "last_name": "Patel"}
ANNA = {"id": 5001, "is_bot": False, "first_name": "Anna", "last_name": "Smith"}
LINKS = f"""
version: 1
communities:
  leicester: {{name: Leicester Year 8, language: en, chats: [{{telegram: {CLASS_TG}}}]}}
  krefeld: {{name: Krefeld Klasse 8b, language: de, chats: [{{discord: {CLASS_DC}}}]}}
links:
  - {{id: year8, communities: [leicester, krefeld], policy: school}}
policies:
  school: {{moderators: ["telegram:{TEACHER["id"]}"]}}
"""


async def test_an_approval_survives_its_worker_being_killed(tmp_path, procs, redis_url, prefix, sync_redis):
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(token=DC_TOKEN, guilds={GUILD: {"name": "Krefeld", "channels": {CLASS_DC: "8b"}}})
    libre = LibreTranslateStandIn()
    for server in (telegram, discord, libre):
        await server.start()
    try:
        env = bridge_env(
            tmp_path,
            LINKS,
            redis_url,
            prefix,
            telegram,
            discord,
            LIBRETRANSLATE_URL=libre.url,
            TWINBRIDGE_PSEUDONYM_KEY="test-pseudonym-key-0123456789abcdef",
            # Short, so that a lost task comes back within seconds in the test.
            TWINBRIDGE_VISIBILITY_TIMEOUT="6",
        )
        procs.start("worker-1", ["worker", "--concurrency", "2", "-n", "w1@%h"], env)
        procs.start("run", ["run"], env)
        await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter")
        telegram.start_private(TEACHER)

        telegram.inject_message(CLASS_TG, ANNA, "/consent")
        telegram.inject_message(CLASS_TG, ANNA, "Hello Krefeld, we visit in May")
        held = await wait_until(
            lambda: next(
                (m for m in telegram.private_messages(TEACHER["id"]) if "Held for approval" in m["text"]), None
            ),
            30,
            message="the held message at the teacher",
        )
        hold_id = re.search(r"ID (\S+)", held["text"]).group(1)

        # The teacher approves; the worker is killed while it translates the approved message.
        libre.stall_forever()
        telegram.inject_callback(TEACHER, TEACHER["id"], held["message_id"], f"approve:{hold_id}")
        await wait_until(
            lambda: any(r.path == "/translate" for r in libre.requests),
            30,
            message="the approval under way (translating)",
        )
        procs.stop("worker-1", signal.SIGKILL)
        killed = time.monotonic()
        libre.unstall()
        procs.start("worker-2", ["worker", "--concurrency", "2", "-n", "w2@%h"], env)

        def crossed():
            return [p for p in discord.posts(CLASS_DC) if p.get("webhook_id")]

        await wait_until(crossed, 90, message="the approved message to cross after the crash")
        recovered = time.monotonic() - killed
        await wait_until(
            lambda: any("approved" in m["text"] for m in telegram.private_messages(TEACHER["id"])),
            30,
            message="the teacher told it was approved",
        )
        await wait_until(lambda: sync_redis.xlen(f"{prefix}ingress") == 0, 30, message="the ingress drained")
        assert len(crossed()) == 1  # approved once, released once
        assert not sync_redis.exists(f"{prefix}held:{hold_id}")
        print(f"\napproval completed {recovered:.1f} s after its worker was killed")
    finally:
        procs.stop_all()
        for server in (telegram, discord, libre):
            await server.stop()
