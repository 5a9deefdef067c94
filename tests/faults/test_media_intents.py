"""A photo post that reached Discord but was never recorded (the adapter killed in
between), with real processes: after the restart the adapter recognises it in the channel's
history by what it shows (for a photo without a caption: the sender's name and the file's
size), records it and does not post it again."""

from __future__ import annotations

import os
import signal

import pytest

from core.idmap import IdMap
from core.models import ChatRef, MessageRef
from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn

from ..e2e.test_discord_media import JUERGEN, KREFELD, KREFELD_GUILD, LINKS, MOERS, MOERS_GUILD, png
from ..helpers import DC_TOKEN, TG_TOKEN, bridge_env, serving, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


async def test_a_photo_post_accepted_but_unrecorded_is_found_not_sent_again(
    tmp_path, procs, redis_url, prefix, keys, aredis
):
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(
        token=DC_TOKEN,
        guilds={
            KREFELD_GUILD: {"name": "Krefeld", "channels": {KREFELD: "partnerschaft"}},
            MOERS_GUILD: {"name": "Moers", "channels": {MOERS: "partnerschaft"}},
        },
    )
    async with serving(telegram, discord):
        env = bridge_env(tmp_path, LINKS, redis_url, prefix, telegram, discord, TWINBRIDGE_ADAPTER_LEASE="3")
        procs.start("worker", ["worker", "--concurrency", "1"], env)
        first = procs.start("run-1", ["run"], env)
        await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter")
        idmap = IdMap(aredis, keys)
        destination = ChatRef("discord", str(MOERS))
        try:
            # A first photo through (the channel's webhook made), then one in flight at the crash.
            discord.inject_files_message(KREFELD, JUERGEN, "", [("eins.png", png(1))])
            await wait_until(lambda: len(discord.posts(MOERS)) == 1, 60, message="the first photo")
            discord.hold_webhook_answers()
            held = discord.inject_files_message(KREFELD, JUERGEN, "", [("zwei.png", png(2))])
            source = MessageRef("discord", str(KREFELD), held["id"])
            await wait_until(lambda: len(discord.posts(MOERS)) == 2, 60, message="the second photo, unanswered")
            trace = await idmap.trace(source)
            assert trace.copies == {} and [i.destination for i in trace.unknown] == [destination]
            os.killpg(first.pid, signal.SIGKILL)
            await wait_until(lambda: first.poll() is not None, 10, message="run-1 gone")
        finally:
            discord.release_webhook_answers()

        procs.start("run-2", ["run"], env)
        trace = await wait_until(lambda: _recorded(idmap, source), 120, message="the held photo recorded")
        posts = discord.posts(MOERS)
        assert len(posts) == 2  # not posted again
        assert trace.copies == {("krefeld-moers", destination): [posts[1]["id"]]}
        assert [f["filename"] for p in posts for f in p["files"]] == ["eins.png", "zwei.png"]
        stats = await aredis.hgetall(keys.stats())
        assert int(stats.get("discord.intent.found", 0)) == 1, stats


async def _recorded(idmap: IdMap, source: MessageRef):
    trace = await idmap.trace(source)
    return trace if trace.copies and not trace.unknown else None
