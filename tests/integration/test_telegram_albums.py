"""Telegram albums: the parts of a media group reach the ingress as ONE event, through
the real adapter (aiogram polling against the stand-in), real Redis and the real Celery
producer; gathered in Redis so that an adapter dying mid-album loses nothing."""

from __future__ import annotations

import asyncio

import pytest
from aiogram.types import Message

from bridge.ingress import Ingress
from bridge.telegram.adapter import TelegramAdapter
from bridge.telegram.albums import AlbumCollector
from bridge.telegram.convert import event_from_message
from core.idmap import IdMap
from core.models import ChatRef, EventKind, MessageRef
from core.settings import Settings
from core.stats import Stats
from core.task_queue import TaskQueue
from sandbox.telegram import TelegramStandIn
from tests.helpers import queued_events, two_community_links, wait_until, write_links

pytestmark = pytest.mark.integration

TOKEN = "7000001:AAH-test-secret-token-for-the-stand-in"
TG_CHAT = -1001000000001
DISCORD_CHAT = "112233445566778899"
LINK = "leicester-krefeld"
ANNA = {"id": 111222333, "first_name": "Anna"}


@pytest.fixture
async def standin():
    server = TelegramStandIn(TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def settings(redis_url, prefix, standin, tmp_path):
    write_links(tmp_path, two_community_links(TG_CHAT, DISCORD_CHAT, LINK))
    return Settings(
        config_path=tmp_path / "links.yaml",
        redis_url=redis_url,
        redis_prefix=prefix,
        telegram_bot_token=TOKEN,
        telegram_api_url=standin.url,
    )


@pytest.fixture
def ingress(aredis, keys, settings):
    return Ingress(aredis, keys, TaskQueue.for_settings(settings))


@pytest.fixture
async def adapter(settings, tmp_path, aredis, keys, ingress):
    from core.links import load_links

    tg = TelegramAdapter(
        settings=settings, config=load_links(tmp_path / "links.yaml"), redis=aredis, keys=keys, ingress=ingress
    )
    await tg.start()
    yield tg
    await tg.stop()


async def events_queued(aredis, prefix, count: int) -> list[dict]:
    async def enough():
        return len(await queued_events(aredis, prefix)) >= count

    await wait_until(enough, timeout=15, message=f"{count} queued events")
    return await queued_events(aredis, prefix)


async def test_an_album_of_five_photos_is_one_event_before_the_message_after_it(adapter, standin, aredis, prefix):
    parts = standin.inject_album(TG_CHAT, ANNA, [("photo", b"photo %d" % i) for i in range(5)], caption="Spring fair")
    standin.inject_message(TG_CHAT, ANNA, "And a word after the album")
    album, after = await events_queued(aredis, prefix, 2)
    assert album["source"]["message_id"] == str(parts[0]["message_id"])
    assert album["text"] == "Spring fair"
    assert [a["kind"] for a in album["attachments"]] == ["photo"] * 5
    assert [a["file_id"] for a in album["attachments"]] == [p["photo"][-1]["file_id"] for p in parts]
    assert after["text"] == "And a word after the album" and after["seq"] == album["seq"] + 1
    await asyncio.sleep(0)  # nothing more comes, even after the quiet time
    await asyncio.sleep(1.5)
    assert len(await queued_events(aredis, prefix)) == 2


async def test_an_album_alone_is_handed_over_after_the_quiet_time_and_its_parts_map_to_it(
    adapter, standin, aredis, prefix, keys
):
    parts = standin.inject_album(TG_CHAT, ANNA, [("photo", b"a"), ("video", b"b"), ("photo", b"c")])
    [album] = await events_queued(aredis, prefix, 1)
    assert [a["kind"] for a in album["attachments"]] == ["photo", "video", "photo"]
    first = MessageRef("telegram", str(TG_CHAT), str(parts[0]["message_id"]))
    idmap = IdMap(aredis, keys)
    for part in parts:
        assert await idmap.album_of(MessageRef("telegram", str(TG_CHAT), str(part["message_id"]))) == first
    # The caption of the third photo edited: an edit of the album's message.
    standin.inject_caption_edit(TG_CHAT, parts[2]["message_id"], "Now with a caption")
    _, edit = await events_queued(aredis, prefix, 2)
    assert edit["kind"] == "edit" and edit["source"] == first.__dict__ and edit["text"] == "Now with a caption"
    stats = await Stats(aredis, keys).read()
    assert stats.get("telegram.albums") == 1


async def test_an_adapter_dying_mid_album_loses_nothing_and_doubles_nothing(standin, aredis, prefix, keys, ingress):
    raw = standin.inject_album(TG_CHAT, ANNA, [("photo", b"%d" % i) for i in range(4)], caption="Day one")
    messages = [Message.model_validate(m) for m in raw]
    stats = Stats(aredis, keys)
    first = AlbumCollector(aredis, keys, ingress, stats, quiet=30)  # an adapter that never finishes it
    await first.start()
    for message in messages[:3]:
        await first.accept(message, event_from_message(message, EventKind.NEW))
    first._task.cancel()  # killed: no stop, no hand-over
    assert await queued_events(aredis, prefix) == []

    # The next adapter gets the unconfirmed last part, and the first three again.
    second = AlbumCollector(aredis, keys, ingress, stats, quiet=0.3)
    await second.start()
    for message in messages[3:] + messages[:1]:
        await second.accept(message, event_from_message(message, EventKind.NEW))
    [album] = await events_queued(aredis, prefix, 1)
    assert [a["file_id"] for a in album["attachments"]] == [m.photo[-1].file_id for m in messages]
    # A part delivered once more after the album went is a duplicate, not a second post.
    await second.accept(messages[1], event_from_message(messages[1], EventKind.NEW))
    await asyncio.sleep(0.8)
    await second.stop()
    assert len(await queued_events(aredis, prefix)) == 1
    assert await aredis.zcard(keys.albums_due()) == 0
    assert not await aredis.exists(keys.album_parts(ChatRef("telegram", str(TG_CHAT)).key, messages[0].media_group_id))


async def test_forgetme_drops_an_album_still_being_gathered(
    standin, aredis, sync_redis, prefix, keys, ingress, settings
):
    """A member erased while their album is gathered: its captions and name leave Redis at
    once, and no adapter hands it over afterwards."""
    from core.links import load_links
    from workers import erasure

    raw = standin.inject_album(TG_CHAT, ANNA, [("photo", b"a"), ("photo", b"b")], caption="Anna's day")
    theirs = [Message.model_validate(m) for m in raw]
    collector = AlbumCollector(aredis, keys, ingress, Stats(aredis, keys), quiet=30)
    await collector.start()
    for message in theirs:
        await collector.accept(message, event_from_message(message, EventKind.NEW))
    parts = keys.album_parts(ChatRef("telegram", str(TG_CHAT)).key, theirs[0].media_group_id)
    assert "Anna" in repr(await aredis.dump(parts))

    config = load_links(settings.config_path)
    counts = await asyncio.to_thread(erasure.erase, sync_redis, keys, config, f"telegram:{ANNA['id']}")
    assert counts["in_flight"] == 1
    assert not await aredis.exists(parts)
    assert await aredis.zcard(keys.albums_due()) == 0

    await collector.stop()  # hands over what is gathered: nothing is left of hers
    assert await queued_events(aredis, prefix) == []
    assert not [k async for k in aredis.scan_iter(match=f"{prefix}album:parts:*")]
