"""The real TelegramAdapter (aiogram polling, outbox consumer) against the
Telegram stand-in, the real Redis and the real Celery producer.

Every assertion is on what the other side received: the task message in the
Celery queue in Redis, or what the stand-in got and now shows its members.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import time
import traceback
from pathlib import Path

import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from redis.exceptions import ConnectionError as RedisConnectionError

import bridge.telegram
from bridge.adapter import AdapterStartError
from core.idmap import IdMap
from bridge.ingress import Ingress
from core.models import ChatRef, Command, EventKind, MessageRef, OutboundPost, PlatformEvent
from sandbox.telegram import TelegramStandIn
from core.settings import Settings
from core.stats import Stats
from core.task_queue import TaskQueue
from bridge.telegram.adapter import TelegramAdapter
from bridge.telegram.polling import Poller
from tests.helpers import queued_events, two_community_links, wait_until, write_links

pytestmark = pytest.mark.integration

TOKEN = "7000001:AAH-test-secret-token-for-the-stand-in"
TG_CHAT = -1001000000001
DISCORD_CHAT = "112233445566778899"
LINK = "leicester-krefeld"
ANNA = {"id": 111222333, "first_name": "Anna", "last_name": "Smith", "username": "anna_smith"}
PAYLOADS = Path(bridge.telegram.__file__).parent / "payloads"

LINKS_YAML = two_community_links(TG_CHAT, DISCORD_CHAT, LINK)


# -- fixtures -----------------------------------------------------------------------


@pytest.fixture
async def standin():
    server = TelegramStandIn(TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def config(tmp_path):
    return write_links(tmp_path, LINKS_YAML)


@pytest.fixture
def settings(redis_url, prefix, standin, tmp_path):
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
async def adapter(settings, config, aredis, keys, ingress):
    tg = TelegramAdapter(settings=settings, config=config, redis=aredis, keys=keys, ingress=ingress)
    await tg.start()
    yield tg
    await tg.stop()


# -- helpers ------------------------------------------------------------------------


async def wait_for_queue(aredis, prefix, count: int) -> list[dict]:
    await wait_until(lambda: _length_is(aredis, prefix, count), timeout=10, message=f"{count} queued events")
    return await queued_events(aredis, prefix)


async def _length_is(aredis, prefix, count):
    return await aredis.llen(f"{prefix}celery:moderation") >= count


async def stats_of(aredis, keys) -> dict[str, int]:
    return await Stats(aredis, keys).read()


def recorded(name: str) -> dict:
    """A recorded update, re-dated and without its update_id (the stand-in numbers it)."""
    update = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    update.pop("update_id")
    for kind in ("message", "edited_message", "channel_post", "edited_channel_post"):
        if kind in update:
            update[kind]["date"] = int(time.time())
    return update


def outbound(
    kind: EventKind,
    text: str = "",
    *,
    source_id: str = "998877",
    sender: str = "Jonas",
    reply_to: MessageRef | None = None,
) -> OutboundPost:
    return OutboundPost(
        kind=kind,
        link_id=LINK,
        destination=ChatRef("telegram", str(TG_CHAT)),
        source=MessageRef("discord", DISCORD_CHAT, source_id),
        sender=sender,
        community="Krefeld",
        text=text,
        reply_to=reply_to,
        seq=1,
    )


async def push(aredis, keys, post: OutboundPost) -> str:
    return await aredis.xadd(keys.outbox("telegram"), {"post": json.dumps(post.to_dict())})


def requests_of(standin, method: str) -> list[tuple[float, dict]]:
    return [(at, params) for at, name, params in standin.requests if name == method]


# -- members' messages into the pipeline ---------------------------------------------


async def test_a_members_message_in_a_linked_chat_is_enqueued_exactly_once(adapter, standin, aredis, prefix, keys):
    first = standin.inject_message(TG_CHAT, ANNA, "Hello Krefeld! <b>&</b>")
    # A second message as a barrier: updates are handled in order, so once it is
    # queued the first has been fully handled (and could not be queued again).
    standin.inject_message(TG_CHAT, ANNA, "See you in May")
    events = await wait_for_queue(aredis, prefix, 2)
    assert [e["text"] for e in events] == ["Hello Krefeld! <b>&</b>", "See you in May"]
    event = PlatformEvent.from_dict(events[0])
    assert event.kind == EventKind.NEW
    assert event.source == MessageRef("telegram", str(TG_CHAT), str(first["message_id"]))
    assert event.author.display_name == "Anna Smith"
    assert [e["seq"] for e in events] == [1, 2]
    # Telegram was told both updates are done with (the next poll's offset).
    await wait_until(lambda: standin.pending_updates() == [], timeout=5, message="updates confirmed")
    assert (await stats_of(aredis, keys))["telegram.accepted"] == 2


async def test_the_same_event_accepted_again_is_not_enqueued_again(adapter, standin, aredis, prefix, keys, ingress):
    standin.inject_message(TG_CHAT, ANNA, "Only once, please")
    [queued] = await wait_for_queue(aredis, prefix, 1)
    # What a redelivered update would turn into: the identical event.
    again = PlatformEvent.from_dict({**queued, "seq": 0})
    assert await ingress.accept(again) is False
    assert len(await queued_events(aredis, prefix)) == 1
    assert (await stats_of(aredis, keys))["telegram.skipped.duplicate"] == 1


async def test_an_edit_is_enqueued_as_an_edit(adapter, standin, aredis, prefix):
    message = standin.inject_message(TG_CHAT, ANNA, "Meet at 5")
    standin.inject_edit(TG_CHAT, message["message_id"], "Meet at 6")
    events = await wait_for_queue(aredis, prefix, 2)
    assert [(e["kind"], e["text"]) for e in events] == [("new", "Meet at 5"), ("edit", "Meet at 6")]
    assert events[1]["revision"] > 0


async def test_an_unknown_chat_is_counted_and_not_enqueued(adapter, standin, aredis, prefix, keys):
    standin.inject_update(recorded("unknown_chat"))
    standin.inject_message(TG_CHAT, ANNA, "barrier")
    events = await wait_for_queue(aredis, prefix, 1)
    await wait_until(lambda: standin.pending_updates() == [], timeout=5, message="updates confirmed")
    assert [e["text"] for e in await queued_events(aredis, prefix)] == ["barrier"]
    assert [e["source"]["chat_id"] for e in events] == [str(TG_CHAT)]
    assert (await stats_of(aredis, keys))["telegram.skipped.unknown_chat"] == 1


async def test_poll_and_sticker_are_relayed_as_data_service_bot_and_command_are_counted(
    adapter, standin, aredis, prefix, keys
):
    """(Our own commands are answered, never relayed: see test_commands_are_handed_to_the_workers.)"""
    for name in ("poll", "new_chat_members", "from_bot", "live_location_update", "sticker"):
        standin.inject_update(recorded(name))
    standin.inject_message(TG_CHAT, ANNA, "/help")  # somebody else's command
    poll, sticker = await wait_for_queue(aredis, prefix, 2)  # the sticker comes last
    assert poll["text"].startswith("Which weekend for the visit?") and poll["shared"] == [
        {**EMPTY_SHARED, "kind": "poll"}
    ]
    assert sticker["text"] == "" and sticker["shared"] == [{**EMPTY_SHARED, "kind": "sticker", "emoji": "👍"}]
    counts = await stats_of(aredis, keys)
    assert {k: v for k, v in counts.items() if k.startswith("telegram.skipped.")} == {
        "telegram.skipped.service": 1,
        "telegram.skipped.from_bot": 1,
        "telegram.skipped.live_location_update": 1,
        "telegram.skipped.command": 1,
    }
    assert len(await queued_events(aredis, prefix)) == 2


EMPTY_SHARED = {
    "emoji": "",
    "value": 0,
    "latitude": None,
    "longitude": None,
    "title": "",
    "address": "",
    "phone": "",
    "withheld": False,
}


async def test_a_broker_outage_holds_the_update_until_it_is_stored_in_order(
    settings, config, aredis, keys, prefix, celery_app, standin
):
    """The update stays unconfirmed at Telegram while it cannot be enqueued, and the
    messages after it wait their turn (they must reach the pipeline in order)."""
    pending_during_outage: list[list[dict]] = []

    class FlakyQueue(TaskQueue):
        """The first two enqueues meet a broker that refuses connections."""

        def message(self, task: str, args: list, task_id: str | None = None) -> str:
            if len(pending_during_outage) < 2:
                pending_during_outage.append(standin.pending_updates())
                raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
            return super().message(task, args, task_id)

    real = TaskQueue.for_settings(settings)
    tg = TelegramAdapter(
        settings=settings,
        config=config,
        redis=aredis,
        keys=keys,
        ingress=Ingress(aredis, keys, FlakyQueue(real.key, "moderation")),
    )
    await tg.start()
    try:
        first = standin.inject_message(TG_CHAT, ANNA, "first")
        standin.inject_message(TG_CHAT, ANNA, "second")
        events = await wait_for_queue(aredis, prefix, 2)
        assert [e["text"] for e in events] == ["first", "second"]
        assert events[0]["seq"] < events[1]["seq"]
        # During the outage (including after the retry's back-off) Telegram still
        # held the first update: it had not been confirmed.
        assert len(pending_during_outage) == 2
        for pending in pending_during_outage:
            assert first["message_id"] in [u["message"]["message_id"] for u in pending]
        await wait_until(lambda: standin.pending_updates() == [], timeout=5, message="updates confirmed")
    finally:
        await tg.stop()


async def test_chats_are_accepted_side_by_side_each_in_order_and_confirmed_only_when_stored(
    settings, aredis, keys, prefix, standin, tmp_path
):
    """One getUpdates batch: a chat whose accept meets an outage does not hold up
    another chat, its own messages stay in order behind it, and the batch is
    confirmed to Telegram only once every update of it is stored."""
    other_chat = TG_CHAT - 1
    config = write_links(
        tmp_path,
        LINKS_YAML.replace(
            f"      - telegram: {TG_CHAT}\n", f"      - telegram: {TG_CHAT}\n      - telegram: {other_chat}\n"
        ),
    )
    stored: list[str] = []
    pending_while_held: list[list[dict]] = []

    class OutageForOneChat(TaskQueue):
        """The first two enqueues of TG_CHAT's first message meet a refusing broker."""

        def message(self, task: str, args: list, task_id: str | None = None) -> str:
            event = args[0]
            if event["text"] == "first" and len(pending_while_held) < 2:
                pending_while_held.append(standin.pending_updates())
                raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
            stored.append(event["text"])
            return super().message(task, args, task_id)

    real = TaskQueue.for_settings(settings)
    tg = TelegramAdapter(
        settings=settings,
        config=config,
        redis=aredis,
        keys=keys,
        ingress=Ingress(aredis, keys, OutageForOneChat(real.key, "moderation")),
    )
    # All three in one batch: written before the adapter starts polling.
    first = standin.inject_message(TG_CHAT, ANNA, "first")
    standin.inject_message(TG_CHAT, ANNA, "second")
    standin.inject_message(other_chat, ANNA, "elsewhere")
    await tg.start()
    try:
        events = await wait_for_queue(aredis, prefix, 3)
        # The other chat did not wait for the outage (~1.5 s of back-off) of the first.
        assert stored == ["elsewhere", "first", "second"]
        by_chat = {}
        for event in events:
            by_chat.setdefault(event["source"]["chat_id"], []).append(event)
        assert [e["text"] for e in by_chat[str(TG_CHAT)]] == ["first", "second"]
        assert by_chat[str(TG_CHAT)][0]["seq"] < by_chat[str(TG_CHAT)][1]["seq"]
        # While the first message could not be stored, the batch was not confirmed
        # (even though the other chat's update was stored by then).
        assert len(pending_while_held) == 2
        assert first["message_id"] in [u["message"]["message_id"] for u in pending_while_held[1]]
        await wait_until(lambda: standin.pending_updates() == [], timeout=5, message="updates confirmed")
    finally:
        await tg.stop()


async def test_nothing_of_ours_logs_text_or_token(adapter, standin, aredis, prefix, keys, caplog):
    caplog.set_level("DEBUG")
    standin.inject_message(TG_CHAT, ANNA, "a very private sentence")
    await wait_for_queue(aredis, prefix, 1)
    standin.fail_next("sendMessage", 429, retry_after=1)
    await push(aredis, keys, outbound(EventKind.NEW, "ein sehr privater Satz"))
    await wait_until(lambda: standin.sent(TG_CHAT), timeout=10, message="delivered")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "retrying a post" in logged  # the records were captured
    for secret in ("private sentence", "privater Satz", TOKEN, TOKEN.split(":")[1]):
        assert secret not in logged


# -- the outbox out to Telegram -------------------------------------------------------


async def test_a_post_is_sent_edited_and_deleted(adapter, standin, aredis, keys):
    idmap = IdMap(aredis, keys)
    source = MessageRef("discord", DISCORD_CHAT, "998877")
    destination = ChatRef("telegram", str(TG_CHAT))

    await push(aredis, keys, outbound(EventKind.NEW, "Hallo <b>hi</b> & tschüss"))
    await wait_until(lambda: standin.sent(TG_CHAT), timeout=10, message="sendMessage")
    [sent] = standin.sent(TG_CHAT)
    assert sent["text"] == "<b>Jonas · Krefeld:</b> Hallo &lt;b&gt;hi&lt;/b&gt; &amp; tschüss"
    assert sent["parse_mode"] == "HTML"
    assert sent["link_preview_options"] == {"is_disabled": True}
    assert standin.transcript(TG_CHAT) == [("bot", "Jonas · Krefeld: Hallo <b>hi</b> & tschüss")]
    await wait_until(lambda: _outbox_empty(aredis, keys), timeout=5, message="outbox entry deleted")
    assert await idmap.copies(LINK, source, destination) == [str(sent["message_id"])]

    await push(aredis, keys, outbound(EventKind.EDIT, "Hallo, bis Mai"))
    await wait_until(
        lambda: standin.transcript(TG_CHAT) == [("bot", "Jonas · Krefeld: Hallo, bis Mai")],
        timeout=10,
        message="the copy edited",
    )
    [(_, edit)] = requests_of(standin, "editMessageText")
    assert edit["message_id"] == sent["message_id"]

    await push(aredis, keys, outbound(EventKind.DELETE))
    await wait_until(lambda: standin.transcript(TG_CHAT) == [], timeout=10, message="the copy deleted")
    await wait_until(lambda: _outbox_empty(aredis, keys), timeout=5, message="outbox drained")
    assert await idmap.copies(LINK, source, destination) == []
    assert len(standin.sent(TG_CHAT)) == 1


async def test_a_reply_is_a_real_reply_to_the_members_message(adapter, standin, aredis, keys):
    original = standin.inject_message(TG_CHAT, ANNA, "Who brings the cake?")
    reply_to = MessageRef("telegram", str(TG_CHAT), str(original["message_id"]))
    await push(aredis, keys, outbound(EventKind.NEW, "Ich!", reply_to=reply_to))
    await wait_until(lambda: standin.sent(TG_CHAT), timeout=10, message="sendMessage")
    [sent] = standin.sent(TG_CHAT)
    assert sent["reply_parameters"] == {"message_id": original["message_id"], "allow_sending_without_reply": True}


async def test_a_long_post_is_split_and_all_parts_are_deleted_together(adapter, standin, aredis, keys):
    text = "\n\n".join(["Ein langer Absatz über das Frühlingsfest. " * 30] * 5)  # ~6500 characters
    await push(aredis, keys, outbound(EventKind.NEW, text.strip()))
    await wait_until(lambda: len(standin.sent(TG_CHAT)) == 2, timeout=10, message="two parts")
    parts = standin.sent(TG_CHAT)
    assert parts[0]["text"].startswith("<b>Jonas · Krefeld:</b> ")
    assert not parts[1]["text"].startswith("<b>")
    idmap, source = IdMap(aredis, keys), MessageRef("discord", DISCORD_CHAT, "998877")

    async def recorded_copies():  # recorded right after Telegram answered the last part
        return await idmap.copies(LINK, source, ChatRef("telegram", str(TG_CHAT))) == [
            str(p["message_id"]) for p in parts
        ]

    await wait_until(recorded_copies, timeout=10, message="both parts recorded")
    await push(aredis, keys, outbound(EventKind.DELETE))
    await wait_until(lambda: standin.transcript(TG_CHAT) == [], timeout=10, message="both parts deleted")


async def test_an_edit_that_changes_the_number_of_parts_leaves_exactly_one_copy(adapter, standin, aredis, keys, prefix):
    idmap = IdMap(aredis, keys)
    source = MessageRef("discord", DISCORD_CHAT, "998877")
    destination = ChatRef("telegram", str(TG_CHAT))
    long_text = "\n\n".join(["Ein langer Absatz über das Frühlingsfest. " * 30] * 5).strip()

    await push(aredis, keys, outbound(EventKind.NEW, "kurz"))
    await wait_until(lambda: _outbox_empty(aredis, keys), timeout=10, message="sent")
    await push(aredis, keys, outbound(EventKind.EDIT, long_text))  # one part -> two
    await wait_until(lambda: len(standin.transcript(TG_CHAT)) == 2, timeout=10, message="second part sent")
    shown = " ".join(text for _, text in standin.transcript(TG_CHAT))
    assert shown.startswith("Jonas · Krefeld: Ein langer") and shown.count("Frühlingsfest") == 150
    # the stand-in sees the second part before the adapter has recorded it in the id map
    await wait_until(lambda: _outbox_empty(aredis, keys), timeout=5, message="outbox drained")
    copies = await idmap.copies(LINK, source, destination)
    assert len(copies) == 2

    await push(aredis, keys, outbound(EventKind.EDIT, "wieder kurz"))  # two parts -> one
    await wait_until(
        lambda: standin.transcript(TG_CHAT) == [("bot", "Jonas · Krefeld: wieder kurz")],
        timeout=10,
        message="surplus part deleted",
    )
    await wait_until(lambda: _outbox_empty(aredis, keys), timeout=5, message="outbox drained")
    assert await idmap.copies(LINK, source, destination) == copies[:1]

    # The same text again: Telegram says "message is not modified", which is success.
    await push(aredis, keys, outbound(EventKind.EDIT, "wieder kurz"))
    await wait_until(lambda: _outbox_empty(aredis, keys), timeout=5, message="outbox drained")
    assert await aredis.zcard(keys.dead_letter_index()) == 0
    assert len(requests_of(standin, "editMessageText")) == 3
    assert standin.transcript(TG_CHAT) == [("bot", "Jonas · Krefeld: wieder kurz")]


async def test_flood_control_is_waited_out_and_the_post_delivered_once(adapter, standin, aredis, keys):
    standin.fail_next("sendMessage", 429, retry_after=1)
    await push(aredis, keys, outbound(EventKind.NEW, "Nach der Pause"))
    await wait_until(lambda: standin.sent(TG_CHAT), timeout=10, message="delivered after 429")
    attempts = requests_of(standin, "sendMessage")
    assert len(attempts) == 2
    assert attempts[1][0] - attempts[0][0] >= 1.0  # waited retry_after
    assert standin.transcript(TG_CHAT) == [("bot", "Jonas · Krefeld: Nach der Pause")]
    await wait_until(lambda: _outbox_empty(aredis, keys), timeout=5, message="outbox drained")
    assert len(standin.sent(TG_CHAT)) == 1


async def test_a_kicked_bot_is_a_permanent_failure_dead_lettered_without_text(adapter, standin, aredis, keys, prefix):
    standin.remove_bot(TG_CHAT)
    await push(aredis, keys, outbound(EventKind.NEW, "secret words"))
    await wait_until(lambda: aredis.zcard(keys.dead_letter_index()), timeout=10, message="dead letter")
    [entry_id] = await aredis.zrange(keys.dead_letter_index(), 0, -1)
    fields = await aredis.hgetall(keys.dead_letter(entry_id))
    assert "Forbidden" in fields["reason"] and "secret" not in fields["reason"]
    assert len(requests_of(standin, "sendMessage")) == 1  # not retried


async def _outbox_empty(aredis, keys) -> bool:
    return await aredis.xlen(keys.outbox("telegram")) == 0


# -- start and stop -----------------------------------------------------------------


async def test_a_wrong_token_stops_start_with_a_message_for_the_deployer(config, aredis, keys, ingress, settings):
    wrong = "7000001:this-is-not-the-right-secret"
    tg = TelegramAdapter(
        settings=Settings(**{**settings.__dict__, "telegram_bot_token": wrong}),
        config=config,
        redis=aredis,
        keys=keys,
        ingress=ingress,
    )
    with pytest.raises(AdapterStartError) as caught:
        await tg.start()
    message = str(caught.value)
    assert "TELEGRAM_BOT_TOKEN" in message and settings.telegram_api_url in message
    assert wrong not in message and "this-is-not-the-right-secret" not in message
    # Nor anywhere in what a traceback would print.
    assert "not-the-right-secret" not in "".join(traceback.format_exception(caught.value))


async def test_an_unreachable_api_names_the_url(config, aredis, keys, ingress, settings):
    dead = Settings(**{**settings.__dict__, "telegram_api_url": "http://127.0.0.1:9"})
    tg = TelegramAdapter(settings=dead, config=config, redis=aredis, keys=keys, ingress=ingress)
    with pytest.raises(AdapterStartError) as caught:
        await tg.start()
    assert "http://127.0.0.1:9" in str(caught.value) and TOKEN not in str(caught.value)


async def test_stop_ends_polling_and_wait_closed_returns(settings, config, aredis, keys, ingress, standin):
    tg = TelegramAdapter(settings=settings, config=config, redis=aredis, keys=keys, ingress=ingress)
    await tg.start()
    await wait_until(lambda: requests_of(standin, "getUpdates"), timeout=5, message="polling")
    started = time.monotonic()
    await tg.stop()
    await tg.wait_closed()
    assert time.monotonic() - started < 5
    polls = len(requests_of(standin, "getUpdates"))
    standin.inject_message(TG_CHAT, ANNA, "nobody listens")
    await tg.stop()  # twice is fine
    assert len(requests_of(standin, "getUpdates")) == polls


async def test_the_poller_emits_the_dispatchers_startup_and_shutdown_events_around_polling(standin):
    """As aiogram's own start_polling does: startup before the first getUpdates, shutdown
    when polling ends, each with the bot and the dispatcher's workflow data."""
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(standin.url)))
    dispatcher = Dispatcher(disable_fsm=True, ingress="the ingress")
    seen: list[tuple[str, int, str]] = []

    @dispatcher.startup()
    async def on_startup(bot: Bot, ingress: str) -> None:
        seen.append(("startup", len(requests_of(standin, "getUpdates")), ingress))

    @dispatcher.shutdown()
    async def on_shutdown(bot: Bot, ingress: str) -> None:
        seen.append(("shutdown", len(requests_of(standin, "getUpdates")), ingress))

    poller = Poller(bot, dispatcher, timeout=1, allowed_updates=["message"])
    polling = asyncio.create_task(poller.run())
    try:
        await wait_until(lambda: requests_of(standin, "getUpdates"), timeout=5, message="polling")
        assert seen == [("startup", 0, "the ingress")]
        poller.stop()
        await asyncio.wait_for(polling, 10)
        assert seen[-1][0] == "shutdown" and seen[-1][1] >= 1 and len(seen) == 2
    finally:
        polling.cancel()
        await bot.session.close()


async def test_wait_closed_reraises_when_the_outbox_consumer_dies(settings, config, aredis, keys, ingress):
    await aredis.set(keys.outbox("telegram"), "not a stream")  # the consumer's first call fails
    tg = TelegramAdapter(settings=settings, config=config, redis=aredis, keys=keys, ingress=ingress)
    await tg.start()
    try:
        with pytest.raises(Exception, match="WRONGTYPE"):
            await tg.wait_closed()
    finally:
        await tg.stop()


async def test_commands_are_handed_to_the_workers_not_relayed(adapter, standin, aredis, prefix, keys):
    standin.inject_update(recorded("bot_command"))  # "/privacy@twinbridge_bot" in the linked group
    standin.inject_message(TG_CHAT, ANNA, "/consent withdraw")
    standin.inject_message(TG_CHAT, ANNA, "/consent@some_other_bot")  # not ours: ignored
    standin.inject_message(TG_CHAT, ANNA, "barrier")
    await wait_until(lambda: _length_is(aredis, prefix, 3), timeout=10, message="three queued tasks")
    tasks = [json.loads(raw) for raw in reversed(await aredis.lrange(f"{prefix}celery:moderation", 0, -1))]
    names = [t["headers"]["task"] for t in tasks]
    assert names == ["twinbridge.process_command", "twinbridge.process_command", "twinbridge.process_event"]
    commands = [json.loads(base64.b64decode(t["body"]))[0][0] for t in tasks[:2]]
    assert [(c["name"], c["args"], c["chat_id"], c["user"]["id"]) for c in commands] == [
        ("privacy", "", str(TG_CHAT), "111222333"),
        ("consent", "withdraw", str(TG_CHAT), str(ANNA["id"])),
    ]
    assert standin.commands()  # the command menu was registered with setMyCommands


async def test_an_announce_carries_the_organisers_entities_over_its_words(adapter, standin, aredis, prefix):
    text = "/announce 🎉 The summer fair is on Saturday!"
    units = lambda part: len(part.encode("utf-16-le")) // 2  # noqa: E731 - Telegram counts UTF-16 units
    at = lambda part: units(text[: text.index(part)])  # noqa: E731
    entities = [
        {"type": "bold", "offset": at("summer fair"), "length": units("summer fair")},
        {"type": "text_link", "offset": at("Saturday"), "length": 8, "url": "https://example.org/sat"},
    ]
    standin.inject_message(TG_CHAT, ANNA, text, entities=entities)
    await wait_until(lambda: _length_is(aredis, prefix, 1), timeout=10, message="the queued command")
    (task,) = [json.loads(raw) for raw in await aredis.lrange(f"{prefix}celery:moderation", 0, -1)]
    command = Command.from_dict(json.loads(base64.b64decode(task["body"]))[0][0])
    assert command.name == "announce" and command.args == "🎉 The summer fair is on Saturday!"
    assert [(s.kind, command.args[s.start : s.end], s.data) for s in command.formatting] == [
        ("bold", "summer fair", ""),
        ("link", "Saturday", "https://example.org/sat"),
    ]


# -- one bad update never stalls the others (issue 12, item 7) -----------------------------


async def test_an_update_aiogram_cannot_parse_is_skipped_counted_and_confirmed(
    adapter, standin, aredis, prefix, keys, caplog
):
    for n in range(5):
        standin.inject_message(TG_CHAT, ANNA, f"before {n}")
    bad = standin.inject_unparseable(TG_CHAT, text="unparseable secret words")
    for n in range(5):
        standin.inject_message(TG_CHAT, ANNA, f"after {n}")

    events = await wait_for_queue(aredis, prefix, 10)
    assert [e["text"] for e in events] == [f"before {n}" for n in range(5)] + [f"after {n}" for n in range(5)]
    # Confirmed with the rest: Telegram will not send it again.
    await wait_until(lambda: standin.pending_updates() == [], timeout=10, message="the batch confirmed")
    await wait_until(
        lambda: _stat_is(aredis, keys, "telegram.skipped.unparseable", 1), timeout=10, message="the bad update counted"
    )
    # The poller still works: later messages come through.
    standin.inject_message(TG_CHAT, ANNA, "still here")
    assert (await wait_for_queue(aredis, prefix, 11))[-1]["text"] == "still here"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert str(bad["update_id"]) in logged and "secret words" not in logged


async def test_hostile_entities_are_left_out_counted_and_the_text_crosses_as_typed(
    adapter, standin, aredis, prefix, keys, caplog
):
    """A recorded formatted message whose entities were tampered with: offsets that are
    not integers (aiogram would reject the whole update), outside the text, negative,
    inside an emoji, crossing or nested as the Bot API never nests them. The message is
    enqueued with its text as typed and its good formatting; each bad entity is counted."""
    update = recorded("formatted_text")
    message = update["message"]
    text = message["text"]
    message["entities"] += [
        {"type": "bold", "offset": "15", "length": 3},  # a string
        {"type": "italic", "offset": 1.5, "length": 2},  # a fraction
        {"type": "underline", "offset": None, "length": 2},
        {"type": "bold", "offset": 0, "length": True},
        {"type": "spoiler", "offset": -5, "length": 9},  # negative
        {"type": "bold", "offset": 120, "length": 5000},  # past the end
        {"type": "strikethrough", "offset": 1, "length": 1},  # between 🎉's two units
        {"type": "italic", "offset": 29, "length": 4},  # crosses the bold (15..31) and the italic (23..30)
        {"type": "bold", "offset": 52, "length": 1},  # inside the code "<b>"
        {"type": "blockquote", "offset": 97, "length": 3},  # a quote in the quote
    ]
    standin.inject_update(update)
    standin.inject_message(TG_CHAT, ANNA, "after")  # a barrier: handled in order
    events = await wait_for_queue(aredis, prefix, 2)
    event = PlatformEvent.from_dict(events[0])
    assert event.text == text and events[1]["text"] == "after"
    shown = {(s.kind, event.text[s.start : s.end]) for s in event.formatting}
    assert ("bold", "Samstag im Park!") in shown and ("italic", "im Park") in shown and len(shown) == 9
    await wait_until(
        lambda: _stat_is(aredis, keys, "telegram.skipped.bad_entity", 10), timeout=10, message="10 bad entities counted"
    )
    stats = await stats_of(aredis, keys)
    assert "telegram.skipped.unparseable" not in stats and "telegram.skipped.error" not in stats
    assert "Samstag" not in "\n".join(r.getMessage() for r in caplog.records)


async def test_an_update_whose_handling_fails_is_skipped_counted_and_the_chat_goes_on(
    adapter, standin, aredis, prefix, keys, caplog
):
    """A handler raising what is not an outage (a bug) reaches the dispatcher's error
    handler: the update is confirmed, counted, logged without its text; polling goes on."""
    position = keys.seq(ChatRef("telegram", str(TG_CHAT)).key)
    await aredis.set(position, "not a number", ex=60)  # ingress cannot give out a position: a Redis error
    standin.inject_message(TG_CHAT, ANNA, "failing secret words")
    await wait_until(
        lambda: _stat_is(aredis, keys, "telegram.skipped.error", 1), timeout=10, message="the failed update counted"
    )
    await wait_until(lambda: standin.pending_updates() == [], timeout=10, message="the failed update confirmed")
    await aredis.delete(position)
    standin.inject_message(TG_CHAT, ANNA, "still here")
    assert [e["text"] for e in await wait_for_queue(aredis, prefix, 1)] == ["still here"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "could not be handled (ResponseError)" in logged and "secret words" not in logged
    assert "past the error handler" not in logged


async def _stat_is(aredis, keys, name: str, value: int) -> bool:
    return (await stats_of(aredis, keys)).get(name, 0) == value


async def test_a_position_published_after_a_long_wait_is_not_overtaken(adapter, standin, aredis, keys):
    """A post waits behind a missing position that is in flight (a worker died with it:
    kombu gives it to another worker ~15 s later). The worker that finally publishes it
    clears the in-flight marker in the same script that appends the post, which the
    outbox reads a moment later: the waiting post must not overtake it in between."""

    def post(seq: int, text: str) -> OutboundPost:
        return OutboundPost(
            kind=EventKind.NEW,
            link_id=LINK,
            destination=ChatRef("telegram", str(TG_CHAT)),
            source=MessageRef("discord", DISCORD_CHAT, str(seq)),
            sender="Jonas",
            community="Krefeld",
            text=text,
            seq=seq,
        )

    source_chat = ChatRef("discord", DISCORD_CHAT).key
    await aredis.set(keys.seq(source_chat), 3, ex=3600)  # the positions ingress gave out
    await push(aredis, keys, post(1, "one"))
    await wait_until(lambda: len(standin.transcript(TG_CHAT)) == 1, timeout=10, message="the first post")
    await aredis.set(keys.in_flight(source_chat, 2), "1-0", ex=60)
    await push(aredis, keys, post(3, "three"))
    await asyncio.sleep(3)  # past the lane's first look: position 2 is seen in flight
    assert len(standin.transcript(TG_CHAT)) == 1
    # Published: the marker goes at once; the post is read a moment later.
    await aredis.delete(keys.in_flight(source_chat, 2))
    await asyncio.sleep(1.0)
    await push(aredis, keys, post(2, "two"))
    await wait_until(lambda: len(standin.transcript(TG_CHAT)) == 3, timeout=15, message="all three posts")
    assert [text.rsplit(" ", 1)[-1] for _, text in standin.transcript(TG_CHAT)] == ["one", "two", "three"]


async def test_a_position_published_while_the_reader_is_held_back_is_not_overtaken(
    settings, config, aredis, keys, ingress, standin
):
    """The in-flight marker goes in the script that appends the post; only the reader
    puts the post in its lane, and the reader may be held back (here by back-pressure:
    as many posts in hand as the consumer takes, their lane waiting out flood control)
    for longer than any fixed grace. The waiting post must not overtake the missing
    position before the reader has read past the moment its marker went."""
    from bridge.outbox.consumer import MAX_IN_HAND
    from bridge.outbox.lane import GAP_GRACE

    settings = dataclasses.replace(settings, rate_limits="off")  # the backlog is delivered at once afterwards
    other_chat = TG_CHAT - 1

    def post(seq: int, text: str, chat: int = TG_CHAT, source: str = DISCORD_CHAT) -> OutboundPost:
        return OutboundPost(
            kind=EventKind.NEW,
            link_id=LINK,
            destination=ChatRef("telegram", str(chat)),
            source=MessageRef("discord", source, f"{source}-{seq}-{text}"),
            sender="Jonas",
            community="Krefeld",
            text=text,
            seq=seq,
        )

    source_chat = ChatRef("discord", DISCORD_CHAT).key
    tg = TelegramAdapter(settings=settings, config=config, redis=aredis, keys=keys, ingress=ingress)
    await tg.start()
    try:
        await aredis.set(keys.seq(source_chat), 3, ex=3600)  # the positions ingress gave out
        await push(aredis, keys, post(1, "one"))
        await wait_until(lambda: len(standin.transcript(TG_CHAT)) == 1, timeout=10, message="the first post")
        await aredis.set(keys.in_flight(source_chat, 2), "1-0", ex=60)
        await push(aredis, keys, post(3, "three"))
        await asyncio.sleep(GAP_GRACE + 1.5)  # past the lane's first look: position 2 is seen in flight
        # Another chat's backlog fills the consumer's hands; its lane waits out a 429.
        standin.fail_next("sendMessage", 429, retry_after=6)
        fillers = aredis.pipeline(transaction=False)
        for n in range(MAX_IN_HAND):
            fillers.xadd(
                keys.outbox("telegram"), {"post": json.dumps(post(0, f"filler {n}", other_chat, "998").to_dict())}
            )
        await fillers.execute()
        await wait_until(
            lambda: _pending_at_least(aredis, keys, MAX_IN_HAND + 1), timeout=20, message="the backlog in hand"
        )
        # Published: the post appended and its marker gone in one step (as workers/pipeline.py does).
        publish = aredis.pipeline(transaction=True)
        publish.xadd(keys.outbox("telegram"), {"post": json.dumps(post(2, "two").to_dict())})
        publish.delete(keys.in_flight(source_chat, 2))
        await publish.execute()
        # Position 3 overtaking would show as "one, three, two": once the 429 is waited out, the
        # order says it (no fixed pause that a loaded machine could outlast).
        await wait_until(lambda: len(standin.transcript(TG_CHAT)) == 3, timeout=60, message="all three posts")
        order = [text.rsplit(" ", 1)[-1] for _, text in standin.transcript(TG_CHAT)]
        assert order == ["one", "two", "three"], "position 3 overtook position 2 the reader had not read yet"
    finally:
        await tg.stop()


async def _pending_at_least(aredis, keys, count: int) -> bool:
    summary = await aredis.xpending(keys.outbox("telegram"), "senders")
    return summary["pending"] >= count
