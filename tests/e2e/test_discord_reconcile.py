"""Discord deletes and edits made while the adapter was away, and bulk deletes (issue 15).

`twinbridge run` is stopped; meanwhile a member's message is deleted and another edited
on Discord (the stand-in's gateway has no session to tell); a new `twinbridge run`
starts a new gateway session, which Discord replays nothing to, and reads the channel's
history instead: the copies on Telegram follow, once. A moderator's bulk delete
(MESSAGE_DELETE_BULK) takes every message's copies, batched where Telegram allows.
"""

from __future__ import annotations

import pytest

from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn

from ..helpers import DC_TOKEN, TG_TOKEN, bridge_env, serving, wait_until

LEICESTER = -1001000000001
GUILD = 112233445566770000
KREFELD = 112233445566778899
LINKS = f"""
version: 1
communities:
  leicester: {{name: Leicester, language: en, chats: [{{telegram: {LEICESTER}}}]}}
  krefeld: {{name: Krefeld, language: en, chats: [{{discord: {KREFELD}}}]}}
links:
  - id: twins
    communities: [leicester, krefeld]
    policy: open
"""
MAX = {"id": "300000000000000301", "username": "max.k", "global_name": "Max", "discriminator": "0"}


@pytest.fixture
async def standins():
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(token=DC_TOKEN, guilds={GUILD: {"name": "Krefeld", "channels": {KREFELD: "twins"}}})
    async with serving(telegram, discord):
        yield telegram, discord


def _copy_of(telegram, text: str):
    return next((s for s in telegram.sent(LEICESTER) if s["text"].endswith(f"</b> {text}")), None)


async def _write(telegram, discord, text: str) -> tuple[dict, dict]:
    message = discord.inject_message(KREFELD, MAX, text)
    copy = await wait_until(lambda: _copy_of(telegram, text), 30, message=f"the copy of {text}")
    return message, copy


def _shown(telegram, copy: dict) -> str | None:
    found = telegram.message(LEICESTER, copy["message_id"])
    return found["text"] if found else None


async def _stat(aredis, prefix, name) -> int:
    return int(await aredis.hget(f"{prefix}stats", name) or 0)


async def _start_run(procs, name, env, discord, sessions: int) -> None:
    procs.start(name, ["run"], env)
    # Generous: a loaded machine takes a while to import the adapters.
    await wait_until(lambda: discord.sessions_started >= sessions, 90, message=f"{name}'s gateway session")
    await wait_until(lambda: procs.log(name).count("connected as bot"), 60, message=f"{name}'s Discord adapter ready")


@pytest.mark.slow
async def test_changes_while_away_are_reconciled_once(tmp_path, procs, standins, redis_url, prefix, aredis):
    telegram, discord = standins
    env = bridge_env(tmp_path, LINKS, redis_url, prefix, telegram, discord)
    procs.start("worker", ["worker", "--concurrency", "2"], env)
    await _start_run(procs, "run-1", env, discord, 1)

    gone, gone_copy = await _write(telegram, discord, "Wird gelöscht")
    edited, edited_copy = await _write(telegram, discord, "Erste Fassung")
    _kept, kept_copy = await _write(telegram, discord, "Bleibt")
    assert procs.stop("run-1") == 0

    # While no adapter is connected: one message deleted, one edited.
    discord.inject_delete(KREFELD, int(gone["id"]))
    discord.inject_edit(KREFELD, int(edited["id"]), "Zweite Fassung")

    await _start_run(procs, "run-2", env, discord, 2)
    await wait_until(lambda: _shown(telegram, gone_copy) is None, 30, message="the deleted message's copy gone")
    await wait_until(
        lambda: (_shown(telegram, edited_copy) or "").endswith("Zweite Fassung"), 30, message="the edit relayed"
    )
    assert (_shown(telegram, kept_copy) or "").endswith("Bleibt")
    assert await _stat(aredis, prefix, "discord.reconciled.deleted") == 1
    assert await _stat(aredis, prefix, "discord.reconciled.edited") == 1

    # Another new session finds nothing more to do: the edit is not relayed again.
    assert procs.stop("run-2") == 0
    await _start_run(procs, "run-3", env, discord, 3)
    await _write(telegram, discord, "Nach dem Neustart")  # relayed after the reconcile (live events wait)
    assert await _stat(aredis, prefix, "discord.reconciled.deleted") == 1
    assert await _stat(aredis, prefix, "discord.reconciled.edited") == 1
    edits = [r for r in telegram.requests if r[1] == "editMessageText"]
    assert len(edits) == 1, edits
    for name in ("run-1", "run-2", "run-3"):
        log = procs.log(name)
        assert "Zweite Fassung" not in log and "Erste Fassung" not in log


async def test_bulk_delete_takes_every_copy_in_one_batch(tmp_path, procs, standins, redis_url, prefix, aredis):
    telegram, discord = standins
    env = bridge_env(tmp_path, LINKS, redis_url, prefix, telegram, discord)
    procs.start("worker", ["worker", "--concurrency", "2"], env)
    await _start_run(procs, "run", env, discord, 1)

    written = [await _write(telegram, discord, f"Spam {n}") for n in range(5)]
    _survivor, survivor_copy = await _write(telegram, discord, "Kein Spam")
    deletes_before = len([r for r in telegram.requests if r[1] in ("deleteMessage", "deleteMessages")])
    discord.inject_bulk_delete(KREFELD, [int(message["id"]) for message, _ in written])

    for _, copy in written:
        await wait_until(lambda copy=copy: _shown(telegram, copy) is None, 30, message="every copy gone")
    assert _shown(telegram, survivor_copy) is not None
    requests = [r for r in telegram.requests if r[1] in ("deleteMessage", "deleteMessages")][deletes_before:]
    # Consecutive deletes go together (deleteMessages); the first may go before the rest arrive.
    assert len(requests) <= 2, requests
