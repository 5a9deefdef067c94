"""An undeliverable post does not block the others; organisers see it and can retry it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bridge.ingress import Ingress
from core.models import Author, EventKind, MessageRef, PlatformEvent
from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn
from core.task_queue import TaskQueue

from ..helpers import serving, wait_until
from ..processes import run_cli
from .test_whole_path import DC_TOKEN, GUILD, KREFELD, LEICESTER, MASAYA, MAX, TG_TOKEN, whole_path_env

pytestmark = pytest.mark.e2e


async def test_kicked_bot_is_dead_lettered_listed_and_retried(tmp_path, procs, redis_url, prefix, keys, aredis):
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(token=DC_TOKEN, guilds={GUILD: {"name": "Krefeld", "channels": {KREFELD: "x"}}})
    async with serving(telegram, discord):
        env = whole_path_env(tmp_path, redis_url, prefix, telegram, discord)
        procs.start("worker", ["worker", "--concurrency", "1"], env)
        procs.start("run", ["run"], env)
        await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter")

        telegram.remove_bot(MASAYA)
        discord.inject_message(KREFELD, MAX, "Treffen am Samstag")
        discord.inject_message(KREFELD, MAX, "Bringt Regenschirme mit")
        # Leicester gets both; Masaya's refusals do not hold anything up.
        await wait_until(lambda: len(telegram.sent(LEICESTER)) == 2, 30, message="Leicester's copies")
        await wait_until(lambda: _count_is(aredis, keys, 2), 30, message="two dead letters")

        listed = run_cli(["dead-letters", "list"], env=env)
        assert listed.returncode == 0, listed.stderr
        assert f"telegram:{MASAYA}" in listed.stdout and "Forbidden" in listed.stdout
        assert "Samstag" not in listed.stdout  # organisers see where and why, not what
        assert "2 dead letter(s)" in listed.stdout

        telegram.add_bot(MASAYA)
        retried = run_cli(["dead-letters", "retry"], env=env)
        assert "2 dead letter(s) put back" in retried.stdout, retried.stdout + retried.stderr
        await wait_until(lambda: len(telegram.sent(MASAYA)) == 2, 30, message="the retried copies")
        assert [text for _, text in telegram.transcript(MASAYA)] == [
            "Max · Krefeld: Treffen am Samstag",
            "Max · Krefeld: Bringt Regenschirme mit",
        ]
        assert "0 dead letter(s)" in run_cli(["dead-letters", "list"], env=env).stdout


async def test_erasure_removes_the_members_dead_letters(tmp_path, procs, redis_url, prefix, keys, aredis):
    """A member's post parked because the bot was kicked from one twin, and an event of
    theirs the workers could not decode: after `twinbridge forget`, no dead-letter key
    holds their text, their id, or their name."""
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(token=DC_TOKEN, guilds={GUILD: {"name": "Krefeld", "channels": {KREFELD: "x"}}})
    async with serving(telegram, discord):
        env = whole_path_env(tmp_path, redis_url, prefix, telegram, discord)
        procs.start("worker", ["worker", "--concurrency", "1"], env)
        procs.start("run", ["run"], env)
        await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter")

        telegram.remove_bot(MASAYA)
        discord.inject_message(KREFELD, MAX, "Treffen am Samstag")
        await wait_until(lambda: len(telegram.sent(LEICESTER)) == 1, 30, message="Leicester's copy")
        ingress = Ingress(aredis, keys, TaskQueue.for_settings(SimpleNamespace(redis_prefix=prefix)))
        max_author = Author(id=MAX["id"], display_name=MAX["global_name"], username=MAX["username"])
        assert await ingress.accept(
            PlatformEvent(
                kind=EventKind.NEW,
                source=MessageRef("discord", str(KREFELD), "300000000000009999"),
                author=max_author,
                text="Geheimnis am Sonntag",
                timestamp="not a number",
            )
        )
        await wait_until(lambda: _count_is(aredis, keys, 2), 30, message="two dead letters")
        before = await _dead_letter_contents(aredis, prefix)
        assert "Samstag" in before and "Geheimnis" in before  # the scan does see what is there

        forgotten = run_cli(["forget", "--user", f"discord:{MAX['id']}"], env=env)
        assert forgotten.returncode == 0, forgotten.stderr
        after = await _dead_letter_contents(aredis, prefix)
        for trace in ("Samstag", "Geheimnis", MAX["id"], "Max", MAX["username"]):
            assert trace not in after, trace
        assert "0 dead letter(s)" in run_cli(["dead-letters", "list"], env=env).stdout


async def _dead_letter_contents(aredis, prefix) -> str:
    """Every dead-letter key's name and content, as one text."""
    parts = []
    async for key in aredis.scan_iter(match=f"{prefix}dead*"):
        parts.append(key)
        kind = await aredis.type(key)
        if kind == "stream":
            parts.append(repr(await aredis.xrange(key)))
        elif kind == "hash":
            parts.append(repr(await aredis.hgetall(key)))
        elif kind == "zset":
            parts.append(repr(await aredis.zrange(key, 0, -1)))
        elif kind == "string":
            parts.append(repr(await aredis.get(key)))
    return "\n".join(parts)


async def _count_is(aredis, keys, n):
    if await aredis.type(keys.dead_letters()) == "stream":  # the store before issue 12
        return await aredis.xlen(keys.dead_letters()) == n
    return await aredis.zcard(keys.dead_letter_index()) == n
