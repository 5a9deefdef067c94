"""/delete on Telegram (issue 15 item 4): a member replies /delete to their message, or
to its relayed copy, or an admin to any message, and every copy goes on both platforms.

`twinbridge worker` and `twinbridge run` against the stand-ins; every assertion is on
what the stand-ins show members now (deleted messages are gone from their chats).
"""

from __future__ import annotations

import pytest

from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn

from ..helpers import DC_TOKEN, TG_TOKEN, bridge_env, serving, wait_until

LEICESTER = -1001000000001
MASAYA = -1001000000003
GUILD = 112233445566770000
KREFELD = 112233445566778899

LINKS = f"""
version: 1
communities:
  leicester: {{name: Leicester, language: en, chats: [{{telegram: {LEICESTER}}}]}}
  krefeld: {{name: Krefeld, language: en, chats: [{{discord: {KREFELD}}}]}}
  masaya: {{name: Masaya, language: en, chats: [{{telegram: {MASAYA}}}]}}
links:
  - id: twins
    communities: [leicester, krefeld, masaya]
    policy: open
"""
ANNA = {"id": 5001, "is_bot": False, "first_name": "Anna"}
BOB = {"id": 5002, "is_bot": False, "first_name": "Bob"}
CAROL = {"id": 5003, "is_bot": False, "first_name": "Carol"}
MAX = {"id": "300000000000000301", "username": "max.k", "global_name": "Max", "discriminator": "0"}


@pytest.fixture
async def standins():
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(token=DC_TOKEN, guilds={GUILD: {"name": "Krefeld", "channels": {KREFELD: "twins"}}})
    async with serving(telegram, discord):
        yield telegram, discord


async def _bridge(tmp_path, procs, telegram, discord, redis_url, prefix) -> None:
    env = bridge_env(tmp_path, LINKS, redis_url, prefix, telegram, discord)
    procs.start("worker", ["worker", "--concurrency", "2"], env)
    procs.start("run", ["run"], env)
    # Generous: a loaded machine takes a while to import the adapters.
    await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter to identify")
    await wait_until(lambda: any(m == "getUpdates" for _, m, _ in telegram.requests), 90, message="Telegram polled")


async def _relayed(telegram, discord, text: str, author=ANNA, chat=LEICESTER) -> tuple[dict, dict, dict]:
    """A member writes ``text``; returns (the original, its Discord copy, its copy in the other group)."""
    other = MASAYA if chat == LEICESTER else LEICESTER
    original = telegram.inject_message(chat, author, text)
    on_discord = await wait_until(
        lambda: next((p for p in discord.posts(KREFELD) if p.get("content") == text), None), 30, message="the copy"
    )
    on_telegram = await wait_until(
        lambda: next((s for s in telegram.sent(other) if text in s["text"]), None), 30, message="the copy"
    )
    return original, on_discord, on_telegram


async def _stat(aredis, prefix, name) -> int:
    return int(await aredis.hget(f"{prefix}stats", name) or 0)


async def test_delete_by_author_and_on_a_copy_refused_for_others(tmp_path, procs, standins, redis_url, prefix, aredis):
    telegram, discord = standins
    telegram.allow_delete(LEICESTER)  # the bot is an admin allowed to delete members' messages
    telegram.allow_delete(MASAYA)
    await _bridge(tmp_path, procs, telegram, discord, redis_url, prefix)

    # Anna takes back her message: every copy goes, her original and her /delete too.
    hello, on_discord, on_masaya = await _relayed(telegram, discord, "Hello twins!")
    command = telegram.inject_message(LEICESTER, ANNA, "/delete", reply_to_message_id=hello["message_id"])
    telegram.inject_update({"message": command})  # the same update delivered twice: handled once
    await wait_until(lambda: discord.message(KREFELD, int(on_discord["id"])) is None, 30, message="the Discord copy")
    await wait_until(lambda: telegram.message(MASAYA, on_masaya["message_id"]) is None, 30, message="Masaya's copy")
    await wait_until(lambda: telegram.message(LEICESTER, hello["message_id"]) is None, 30, message="the original")
    await wait_until(lambda: telegram.message(LEICESTER, command["message_id"]) is None, 30, message="the /delete")

    # Bob may not delete Anna's message: told (in the chat: he never opened a private
    # chat with the bot), nothing changes.
    second, second_on_discord, second_on_masaya = await _relayed(telegram, discord, "Second message")
    telegram.inject_message(LEICESTER, BOB, "/delete", reply_to_message_id=second["message_id"])
    refusal = await wait_until(
        lambda: [s for s in telegram.sent(LEICESTER) if "only the author" in s["text"]], 30, message="the refusal"
    )
    assert len(refusal) == 1
    assert discord.message(KREFELD, int(second_on_discord["id"])) is not None
    assert telegram.message(MASAYA, second_on_masaya["message_id"]) is not None
    assert telegram.message(LEICESTER, second["message_id"]) is not None

    # /delete on the relayed copy: Anna is in Masaya's group too, and replies to the copy
    # of her Leicester message there. The copies and her original go (nothing is answered
    # when it works).
    telegram.inject_message(MASAYA, ANNA, "/delete", reply_to_message_id=second_on_masaya["message_id"])
    await wait_until(
        lambda: discord.message(KREFELD, int(second_on_discord["id"])) is None, 30, message="the Discord copy"
    )
    await wait_until(
        lambda: telegram.message(MASAYA, second_on_masaya["message_id"]) is None, 30, message="Masaya's copy"
    )
    await wait_until(lambda: telegram.message(LEICESTER, second["message_id"]) is None, 30, message="the original")

    # Not a reply: a short how-to, nothing deleted.
    telegram.inject_message(MASAYA, BOB, "/delete")
    await wait_until(
        lambda: any("reply to it with /delete" in s["text"] for s in telegram.sent(MASAYA)), 30, message="the how-to"
    )
    await wait_until(lambda: _stat(aredis, prefix, "commands.delete"), 30, message="the count")
    assert await _stat(aredis, prefix, "commands.delete") == 4  # the duplicate update was one command
    assert "Hello twins!" not in procs.log("worker") + procs.log("run")


async def test_delete_by_admin_and_past_48_hours(tmp_path, procs, standins, redis_url, prefix, aredis):
    telegram, discord = standins
    await _bridge(tmp_path, procs, telegram, discord, redis_url, prefix)

    # An admin of Leicester deletes Bob's message. The bot may not delete members' messages
    # there (no right): the copies go all the same, the refusal is counted.
    telegram.make_admin(LEICESTER, CAROL)
    bobs, on_discord, on_masaya = await _relayed(telegram, discord, "Bob was here", author=BOB)
    telegram.inject_message(LEICESTER, CAROL, "/delete", reply_to_message_id=bobs["message_id"])
    await wait_until(lambda: discord.message(KREFELD, int(on_discord["id"])) is None, 30, message="the Discord copy")
    await wait_until(lambda: telegram.message(MASAYA, on_masaya["message_id"]) is None, 30, message="Masaya's copy")
    await wait_until(lambda: _stat(aredis, prefix, "telegram.delete.refused"), 30, message="the refusal counted")
    assert telegram.message(LEICESTER, bobs["message_id"]) is not None

    # An admin's /delete on a relayed copy of a Discord message: its copies go, the original
    # on Discord stays (an admin of one chat has no say over another's).
    maxs = discord.inject_message(KREFELD, MAX, "Grüße aus Krefeld")
    copy_here = await wait_until(
        lambda: next((s for s in telegram.sent(LEICESTER) if "Grüße aus Krefeld" in s["text"]), None), 30
    )
    copy_there = await wait_until(
        lambda: next((s for s in telegram.sent(MASAYA) if "Grüße aus Krefeld" in s["text"]), None), 30
    )
    telegram.inject_message(LEICESTER, CAROL, "/delete", reply_to_message_id=copy_here["message_id"])
    await wait_until(lambda: telegram.message(LEICESTER, copy_here["message_id"]) is None, 30, message="this copy")
    await wait_until(lambda: telegram.message(MASAYA, copy_there["message_id"]) is None, 30, message="the other")
    assert discord.message(KREFELD, int(maxs["id"])) is not None

    # Past Telegram's 48 hours: the copy on Discord goes, the Telegram ones stay, and Anna is told.
    old, old_on_discord, old_on_masaya = await _relayed(telegram, discord, "An old message")
    telegram.allow_delete(LEICESTER)
    telegram.age_message(LEICESTER, old["message_id"], 49 * 3600)
    telegram.inject_message(LEICESTER, ANNA, "/delete", reply_to_message_id=old["message_id"])
    await wait_until(lambda: [s for s in telegram.sent(LEICESTER) if "48 hours" in s["text"]], 30, message="the answer")
    await wait_until(
        lambda: discord.message(KREFELD, int(old_on_discord["id"])) is None, 30, message="the Discord copy"
    )
    assert telegram.message(MASAYA, old_on_masaya["message_id"]) is not None
    assert telegram.message(LEICESTER, old["message_id"]) is not None
