"""The reaction count line ("Krefeld: 👍 2", the bot's reply to a Telegram original) goes
with its original (issue 15): after the author's erasure (/forgetme) and after a /delete
the line is deleted at the Telegram stand-in by the real refresher and aiogram bot, its
Redis keys are gone, and a later reaction on a copy not yet deleted is not counted (which
would send the line again). Real Redis, the real erasure and /delete functions."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bridge.reactions import ReactionRefresher
from bridge.telegram.reactions import TelegramReactionLine
from core.links import load_links
from core.models import Author, ChatRef, Command, EventKind, MessageRef, PlatformEvent
from core.stats import Stats
from core.storage import members
from core.storage.reactions import Reactions
from sandbox.telegram import TelegramStandIn
from tests.helpers import wait_until
from workers import deletes, erasure
from workers.moderation.events import moderate_event
from workers.pipeline import Context

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

TOKEN = "7000001:AAH-test-secret-token-for-the-stand-in"
TG_CHAT = -1001234567890
DC_CHANNEL = "112233445566778899"
ANNA = {"id": 5001, "first_name": "Anna"}
CONFIG = f"""
version: 1
communities:
  leicester: {{name: Leicester, language: en, chats: [{{telegram: {TG_CHAT}}}]}}
  krefeld: {{name: Krefeld, language: de, chats: [{{discord: {DC_CHANNEL}}}]}}
links:
  - {{id: twins, communities: [leicester, krefeld], policy: community}}
"""


@pytest.fixture
async def standin():
    server = TelegramStandIn(TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def bot(standin):
    bot = Bot(
        TOKEN,
        session=AiohttpSession(api=TelegramAPIServer.from_base(standin.url)),
        default=DefaultBotProperties(parse_mode=None),
    )
    yield bot
    await bot.session.close()


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "links.yaml"
    path.write_text(CONFIG)
    return load_links(path)


async def an_original_with_its_count_line(standin, bot, aredis, keys, config) -> tuple[MessageRef, int, object]:
    """Anna's message on Telegram, relayed (in her index), two reactions on its Discord copy,
    and the count line the refresher sent for them."""
    said = standin.inject_message(TG_CHAT, ANNA, "Meet at the market")
    original = MessageRef("telegram", str(TG_CHAT), str(said["message_id"]))
    reactions = Reactions(aredis, keys)
    copy_chat = ChatRef("discord", DC_CHANNEL)
    assert await reactions.change(original, copy_chat, {"👍": 2}, absolute=True, retention_days=7, delay=0)
    stats = Stats(aredis, keys)
    line = TelegramReactionLine(bot, aredis, keys, config, stats)
    refresher = ReactionRefresher(aredis, keys, "telegram", line.show, stats)
    await refresher.refresh_due()
    line_id = await reactions.line(original)
    assert line_id is not None
    assert standin.message(TG_CHAT, int(line_id))["text"] == "Krefeld: 👍 2"
    return original, int(line_id), refresher


async def no_reaction_keys(aredis, keys, original: MessageRef) -> None:
    assert not await aredis.exists(keys.reaction_line(original.key), keys.reactions_shown(original.key))
    assert not await aredis.zscore(keys.reactions_due("telegram"), original.key)
    # What stays is a mark without counts, expiring with the link: later reactions are not counted.
    assert set(await aredis.hkeys(keys.reactions(original.key))) <= {"~gone", "~ttl"}
    assert 0 < await aredis.ttl(keys.reactions(original.key)) <= 30 * 86400  # the community policy keeps 30 days
    again = await Reactions(aredis, keys).change(
        original, ChatRef("discord", DC_CHANNEL), {"❤️": 1}, absolute=False, retention_days=7, delay=0
    )
    assert not again


async def test_erasure_deletes_the_count_line_and_its_keys(standin, bot, aredis, sync_redis, keys, config):
    original, line_id, refresher = await an_original_with_its_count_line(standin, bot, aredis, keys, config)
    members.note_authored(sync_redis, keys, "telegram:5001", f"twins|{original.key}", 7)

    erasure.erase(sync_redis, keys, config, "telegram:5001")

    async def line_gone() -> bool:
        await refresher.refresh_due()
        return standin.message(TG_CHAT, line_id) is None

    await wait_until(line_gone, 10, message="the count line deleted")
    assert standin.message(TG_CHAT, int(original.message_id)) is not None  # the original is the member's own
    await no_reaction_keys(aredis, keys, original)


async def test_a_deleted_original_takes_its_count_line(standin, bot, aredis, sync_redis, keys, config):
    original, line_id, refresher = await an_original_with_its_count_line(standin, bot, aredis, keys, config)
    members.note_authored(sync_redis, keys, "telegram:5001", f"twins|{original.key}", 7)
    # The copy is in the id map, so /delete finds where it went.
    sync_redis.hset(keys.idmap(original.key), f"twins|discord:{DC_CHANNEL}", '["900000000000000001"]')
    asked = standin.inject_message(TG_CHAT, ANNA, "/delete", reply_to_message_id=int(original.message_id))
    command = Command(
        name="delete",
        args="",
        platform="telegram",
        chat_id=str(TG_CHAT),
        message_id=str(asked["message_id"]),
        user=Author(id="5001", display_name="Anna"),
        reply_to=original.message_id,
    )
    posts = deletes.handle(command, config, sync_redis, keys)
    assert any(p.itself and p.source == original for p in posts)

    async def line_gone() -> bool:
        await refresher.refresh_due()
        return standin.message(TG_CHAT, line_id) is None

    await wait_until(line_gone, 10, message="the count line deleted")
    await no_reaction_keys(aredis, keys, original)


async def test_a_discord_delete_takes_the_counts_and_schedules_taking_back_the_bots_reactions(
    aredis, sync_redis, keys, config
):
    """A Discord original deleted (a DELETE event through the moderation stage): its counts
    go, reactions on copies are not counted any more, and a refresh is due at once (the
    Discord adapter then finds no counts: nothing of the bot's reactions is kept)."""
    original = MessageRef("discord", DC_CHANNEL, "900000000000000042")
    reactions = Reactions(aredis, keys)
    await reactions.change(
        original, ChatRef("telegram", str(TG_CHAT)), {"👍": 3}, absolute=True, retention_days=7, delay=60
    )
    await reactions.set_shown(original, {"👍"}, 86400)
    deleted = PlatformEvent(
        kind=EventKind.DELETE, source=original, author=Author(id="300000000000000301", display_name=""), timestamp=1.0
    )
    moderate_event(deleted, None, Context(config, pseudonym_key="k"), sync_redis, keys)
    counts = await reactions.counts(original)
    assert counts.by_chat == {}
    assert [m.key for m in await reactions.claim_due("discord", 60)] == [original.key]  # due now
    assert not await reactions.change(
        original, ChatRef("telegram", str(TG_CHAT)), {"❤️": 1}, absolute=False, retention_days=7, delay=0
    )
