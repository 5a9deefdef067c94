"""Erasure leaves nothing in Celery's queues either (issue 12 follow-up).

With the workers down, what a member writes waits as Celery task messages in the
broker's Redis lists (the pipeline queue; kombu's ``unacked`` hash for what a worker
took and died holding), with their text and name, for as long as the workers stay
down. `twinbridge forget` must take those messages out too, with their ingress
entries and in-flight positions, so that a scan of every Redis key finds nothing
of the member, and the chat goes on when a worker starts: the other members'
messages arrive, the erased member's never do."""

from __future__ import annotations

import pytest
from kombu import Connection

from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn
from core.settings import Settings
from core.task_queue import MODERATION_QUEUE, TaskQueue
from workers.app import make_celery

from ..e2e.test_whole_path import DC_TOKEN, TG_TOKEN
from ..e2e.twins import GUILD, dc_channel, fleet_env, tg_chat
from ..helpers import wait_until
from ..processes import run_cli
from .traces import redis_traces, standin_traces

pytestmark = pytest.mark.e2e

ERIN = {"id": 8310000091, "is_bot": False, "first_name": "Ysolde", "last_name": "Marrowind", "username": "ym_queue"}
BOB = {"id": 8310000092, "is_bot": False, "first_name": "Bob"}
NEEDLES = [str(ERIN["id"]), ERIN["first_name"], ERIN["last_name"], ERIN["username"], "Ysolde's secret"]


async def test_erasure_takes_the_members_tasks_out_of_the_broker(tmp_path, procs, redis_url, prefix, sync_redis):
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(token=DC_TOKEN, guilds={GUILD: {"name": "Twins", "channels": {dc_channel(0): "twin-0"}}})
    for server in (telegram, discord):
        await server.start()
    held = None
    try:
        env = fleet_env(tmp_path, 1, redis_url, prefix, telegram, discord)
        procs.start("run", ["run"], env)  # the adapters only: every worker is down
        await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter")
        await wait_until(
            lambda: any(m == "getUpdates" for _, m, _ in telegram.requests), 30, message="the Telegram adapter"
        )
        queue = TaskQueue.for_settings(Settings(redis_url=redis_url, redis_prefix=prefix))

        telegram.inject_message(tg_chat(0), ERIN, "Ysolde's secret 1")
        telegram.inject_message(tg_chat(0), BOB, "Bob says hello")
        telegram.inject_message(tg_chat(0), ERIN, "Ysolde's secret 2")
        telegram.inject_message(tg_chat(0), ERIN, "/privacy")  # a command waits in the same queue
        telegram.inject_message(tg_chat(0), ERIN, "Ysolde's secret 3")
        await wait_until(lambda: sync_redis.llen(queue.key) == 5, 30, message="five tasks queued")

        # A worker took the oldest task (Erin's first message) and died holding it: kombu
        # keeps it in the unacked hash (restored to the queue after the visibility timeout).
        options = make_celery(Settings(redis_url=redis_url, redis_prefix=prefix)).conf.broker_transport_options
        held = Connection(redis_url, transport_options=options)
        message = held.channel().basic_get(MODERATION_QUEUE, no_ack=False)
        assert message is not None and sync_redis.hlen(queue.unacked_key) == 1
        assert redis_traces(redis_url, NEEDLES, prefix)  # the scan does see tasks while they wait

        forgot = run_cli(["forget", "--user", f"telegram:{ERIN['id']}"], env=env)
        assert forgot.returncode == 0, forgot.stderr
        assert redis_traces(redis_url, NEEDLES, prefix) == []
        assert sync_redis.llen(queue.key) == 1 and sync_redis.hlen(queue.unacked_key) == 0  # Bob's stays

        # A worker starts: Bob's message and one written now arrive; nothing of Erin's ever does.
        procs.start("worker", ["worker", "--concurrency", "2"], env)
        telegram.inject_message(tg_chat(0), BOB, "Bob again")

        def relayed():
            return [p.get("content", "") for p in discord.posts(dc_channel(0)) if p.get("webhook_id")]

        await wait_until(lambda: sum("Bob" in c for c in relayed()) == 2, 60, message="Bob's two messages")
        assert not any("Ysolde" in c for c in relayed())
        assert standin_traces(telegram, discord, NEEDLES) == []
        assert redis_traces(redis_url, NEEDLES, prefix) == []
    finally:
        if held is not None:
            held.release()
        procs.stop_all()
        for server in (telegram, discord):
            await server.stop()
