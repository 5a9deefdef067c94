"""A post that reached Discord but was never recorded (the adapter killed in between),
with real processes: its intent, recorded before the post, says where a copy may be
(what erasure and deletes read), and after the restart the adapter finds the post in
the channel's history, records it and does not post it again."""

from __future__ import annotations

import os
import signal

import pytest

from core.idmap import IdMap
from core.models import ChatRef, MessageRef

from ..e2e.test_whole_path import ANNA
from ..e2e.twins import dc_channel, fleet_env, standins, tg_chat
from ..helpers import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


async def test_post_accepted_but_unrecorded_is_found_not_sent_again(tmp_path, procs, redis_url, prefix, keys, aredis):
    telegram, discord = standins(1)
    await telegram.start()
    await discord.start()
    try:
        env = fleet_env(tmp_path, 1, redis_url, prefix, telegram, discord, TWINBRIDGE_ADAPTER_LEASE="3")
        procs.start("worker", ["worker", "--concurrency", "1"], env)
        first = procs.start("run-1", ["run"], env)
        await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter")
        channel = dc_channel(0)
        destination = ChatRef("discord", str(channel))
        idmap = IdMap(aredis, keys)

        # One message through, recorded as usual (and the channel's webhook made).
        before = telegram.inject_message(tg_chat(0), ANNA, "before the crash")
        source_before = MessageRef("telegram", str(tg_chat(0)), str(before["message_id"]))
        await wait_until(lambda: _recorded(idmap, source_before), 60, message="the first post recorded")

        # Discord takes the next post but its answer is held: the adapter dies before it learns the id.
        discord.hold_webhook_answers()
        held = telegram.inject_message(tg_chat(0), ANNA, "in flight at the crash")
        source = MessageRef("telegram", str(tg_chat(0)), str(held["message_id"]))
        await wait_until(lambda: len(discord.transcript(channel)) == 2, 60, message="the second post on Discord")
        trace = await idmap.trace(source)
        assert trace.copies == {}
        assert [(i.link_id, i.destination) for i in trace.unknown] == [("pair-0", destination)], trace
        assert len(trace.unknown[0].marks) == 1
        os.killpg(first.pid, signal.SIGKILL)
        await wait_until(lambda: first.poll() is not None, 10, message="run-1 gone")
        discord.release_webhook_answers()
        # What the id map does not know, a scan of Redis finds only as ids and digests.
        raw = await aredis.hgetall(keys.intents(source.key))
        assert raw and not any("in flight" in value or "Anna" in value for value in raw.values())

        procs.start("run-2", ["run"], env)
        trace = await wait_until(lambda: _recorded(idmap, source), 90, message="the held post recorded")
        shown = discord.transcript(channel)
        assert [text for _, text in shown] == ["before the crash", "in flight at the crash"], shown
        copy_id = str(max(int(m["id"]) for m in discord.posts(channel)))
        assert trace.copies == {("pair-0", destination): [copy_id]} and trace.unknown == []
        stats = await aredis.hgetall(keys.stats())
        assert int(stats.get("discord.intent.found", 0)) == 1, stats

        # The lane goes on after the restart.
        telegram.inject_message(tg_chat(0), ANNA, "after the restart")
        await wait_until(lambda: len(discord.transcript(channel)) == 3, 60, message="the next post")
        assert len(discord.posts(channel)) == 3  # three posts made, none twice
    finally:
        discord.release_webhook_answers()
        await telegram.stop()
        await discord.stop()


async def _recorded(idmap: IdMap, source: MessageRef):
    trace = await idmap.trace(source)
    return trace if trace.copies and not trace.unknown else None


MAX = {"id": "300000000000000301", "username": "max.k", "global_name": "Max", "discriminator": "0"}


@pytest.mark.slow
async def test_telegram_post_accepted_but_unrecorded_is_repeated_once_at_most(
    tmp_path, procs, redis_url, prefix, keys, aredis
):
    """The documented limit on Telegram, where a bot cannot read history: every chat's
    post in flight at the kill is shown again after the restart, once, right after
    itself, and nothing else is; until then its intent says where a copy may be."""
    pairs = 3
    telegram, discord = standins(pairs)
    await telegram.start()
    await discord.start()
    try:
        env = fleet_env(tmp_path, pairs, redis_url, prefix, telegram, discord, TWINBRIDGE_ADAPTER_LEASE="3")
        procs.start("worker", ["worker", "--concurrency", "2"], env)
        first = procs.start("run-1", ["run"], env)
        await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter")

        def shown(i: int) -> list[str]:
            return [m["text"].rpartition("</b> ")[2] for m in telegram.sent(tg_chat(i))]

        for i in range(pairs):
            discord.inject_message(dc_channel(i), MAX, "first")
        await wait_until(lambda: all(shown(i) == ["first"] for i in range(pairs)), 60, message="the first posts")
        telegram.hold_send_answers()
        sources = [discord.inject_message(dc_channel(i), MAX, "in flight") for i in range(pairs)]
        await wait_until(
            lambda: all(shown(i) == ["first", "in flight"] for i in range(pairs)),
            60,
            message="the second posts shown, unanswered",
        )
        idmap = IdMap(aredis, keys)
        for i, message in enumerate(sources):
            trace = await idmap.trace(MessageRef("discord", str(dc_channel(i)), str(message["id"])))
            assert trace.copies == {}
            assert [i.destination for i in trace.unknown] == [ChatRef("telegram", str(tg_chat(i)))]
        os.killpg(first.pid, signal.SIGKILL)
        await wait_until(lambda: first.poll() is not None, 10, message="run-1 gone")
        telegram.release_send_answers()

        procs.start("run-2", ["run"], env)
        for i in range(pairs):
            discord.inject_message(dc_channel(i), MAX, "after")
        await wait_until(lambda: all(shown(i)[-1:] == ["after"] for i in range(pairs)), 90, message="the last posts")
        for i in range(pairs):
            assert shown(i) == ["first", "in flight", "in flight", "after"], shown(i)
        stats = await aredis.hgetall(keys.stats())
        assert int(stats.get("telegram.intent.unverifiable", 0)) == pairs, stats
        for i, message in enumerate(sources):
            trace = await idmap.trace(MessageRef("discord", str(dc_channel(i)), str(message["id"])))
            assert len(trace.copies) == 1 and trace.unknown == []
    finally:
        telegram.release_send_answers()
        await telegram.stop()
        await discord.stop()
