"""An undeliverable post does not block the others; organisers see it and can retry it."""
from __future__ import annotations

from bridge.sandbox.discord_api import DiscordStandIn
from bridge.sandbox.telegram_api import TelegramStandIn

from ..helpers import wait_until
from ..processes import run_cli
from .test_whole_path import DC_TOKEN, GUILD, KREFELD, LEICESTER, MASAYA, MAX, TG_TOKEN, bridge_env


async def test_kicked_bot_is_dead_lettered_listed_and_retried(tmp_path, procs, redis_url, prefix, keys, aredis):
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(token=DC_TOKEN, guilds={GUILD: {"name": "Krefeld", "channels": {KREFELD: "x"}}})
    await telegram.start()
    await discord.start()
    try:
        env = bridge_env(tmp_path, redis_url, prefix, telegram, discord)
        procs.start("worker", ["worker", "--concurrency", "1"], env)
        procs.start("run", ["run"], env)
        await wait_until(lambda: discord.identified.is_set(), 30, message="the Discord adapter")

        telegram.remove_bot(MASAYA)
        discord.inject_message(KREFELD, MAX, "Treffen am Samstag")
        discord.inject_message(KREFELD, MAX, "Bringt Regenschirme mit")
        # Leicester gets both; Masaya's refusals do not hold anything up.
        await wait_until(lambda: len(telegram.sent(LEICESTER)) == 2, 30, message="Leicester's copies")
        await wait_until(lambda: aredis.xlen(keys.dead_letters()), 30, message="a dead letter")
        await wait_until(lambda: _xlen_is(aredis, keys, 2), 30, message="two dead letters")

        listed = run_cli(["dead-letters", "list"], env=env)
        assert listed.returncode == 0, listed.stderr
        assert f"telegram:{MASAYA}" in listed.stdout and "Forbidden" in listed.stdout
        assert "Samstag" not in listed.stdout  # organisers see where and why, not what
        assert "2 dead letter(s)" in listed.stdout

        telegram.add_bot(MASAYA)
        retried = run_cli(["dead-letters", "retry"], env=env)
        assert "2 dead letter(s) put back" in retried.stdout
        await wait_until(lambda: len(telegram.sent(MASAYA)) == 2, 30, message="the retried copies")
        assert [text for _, text in telegram.transcript(MASAYA)] == \
            ["Max · Krefeld: Treffen am Samstag", "Max · Krefeld: Bringt Regenschirme mit"]
        assert "0 dead letter(s)" in run_cli(["dead-letters", "list"], env=env).stdout
    finally:
        await telegram.stop()
        await discord.stop()


async def _xlen_is(aredis, keys, n):
    return await aredis.xlen(keys.dead_letters()) == n
