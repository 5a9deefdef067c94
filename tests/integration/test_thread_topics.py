"""Issue 15: Discord threads and Telegram forum topics are twins. The real TelegramAdapter
(outbox consumer, aiogram poller) against the Telegram stand-in with a forum group, and
the real Redis: where the copies land (message_thread_id), which topics the bot made,
what the thread map holds, and what crosses from a topic."""

from __future__ import annotations

import json

import pytest

from bridge.ingress import Ingress
from bridge.telegram.adapter import TelegramAdapter
from core.models import ChatRef, EventKind, MessageRef, OutboundPost
from core.settings import Settings
from core.stats import Stats
from core.task_queue import TaskQueue
from sandbox.telegram import TelegramStandIn
from tests.helpers import queued_events, two_community_links, wait_until, write_links

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

TOKEN = "7000001:AAH-test-secret-token-for-the-stand-in"
TG_CHAT = -1001000000001
DISCORD_CHAT = "112233445566778899"
LINK = "leicester-krefeld"
ANNA = {"id": 111222333, "first_name": "Anna", "username": "anna_smith"}


@pytest.fixture
async def standin():
    server = TelegramStandIn(TOKEN)
    await server.start()
    server.make_forum(TG_CHAT, title="Leicester Twinning")
    yield server
    await server.stop()


def make_adapter(tmp_path, redis_url, prefix, standin, aredis, keys, links_yaml=None):
    settings = Settings(
        config_path=tmp_path / "links.yaml",
        redis_url=redis_url,
        redis_prefix=prefix,
        telegram_bot_token=TOKEN,
        telegram_api_url=standin.url,
    )
    config = write_links(tmp_path, links_yaml or two_community_links(TG_CHAT, DISCORD_CHAT, LINK))
    ingress = Ingress(aredis, keys, TaskQueue.for_settings(settings))
    return TelegramAdapter(settings=settings, config=config, redis=aredis, keys=keys, ingress=ingress)


@pytest.fixture
async def adapter(tmp_path, redis_url, prefix, standin, aredis, keys):
    tg = make_adapter(tmp_path, redis_url, prefix, standin, aredis, keys)
    await tg.start()
    yield tg
    await tg.stop()


class Posts:
    """Posts from Discord threads put into the Telegram outbox, in order."""

    def __init__(self, aredis, keys):
        self._aredis, self._keys, self._seq = aredis, keys, 0

    async def push(self, text: str, thread: str = "", kind: EventKind = EventKind.NEW, source_id: str = "") -> str:
        self._seq += 1  # every event has its own position in its chat (the ingress gives it)
        source_id = source_id or f"9000{self._seq}"
        post = OutboundPost(
            kind=kind,
            link_id=LINK,
            destination=ChatRef("telegram", str(TG_CHAT)),
            source=MessageRef("discord", DISCORD_CHAT, source_id),
            sender="Jonas",
            community="Krefeld",
            text=text,
            seq=self._seq,
            thread=thread,
        )
        await self._aredis.set(self._keys.seq(post.source.chat.key), self._seq, ex=3600)
        await self._aredis.xadd(self._keys.outbox("telegram"), {"post": json.dumps(post.to_dict())})
        return source_id


async def _stat_is(aredis, keys, name: str, value: int) -> bool:
    """The counter (counted soon: batched) reached ``value``."""
    return (await Stats(aredis, keys).read()).get(name, 0) == value


def bot_texts(standin, thread_id: int | None) -> list[str]:
    return [m["text"] for m in standin.messages_in(TG_CHAT, thread_id) if m["from"]["is_bot"]]


async def test_a_discord_thread_gets_its_own_topic_and_keeps_it(adapter, standin, aredis, keys):
    posts = Posts(aredis, keys)
    first = await posts.push("🧵 Stammtisch\nHallo aus dem Thread", thread="5001")
    await wait_until(lambda: len(standin.topics(TG_CHAT)) == 1, message="a topic for the thread")
    topic = standin.topics(TG_CHAT)[0]
    assert topic["name"] == "Stammtisch"  # named after the thread (its crossed "🧵" line)
    tid = topic["message_thread_id"]
    await posts.push("🧵 Stammtisch\nNoch eine", thread="5001")
    await posts.push("im Kanal selbst")  # the channel itself: the General topic
    await posts.push("🧵 Besuch 2027\nWer kommt?", thread="5002")
    await wait_until(lambda: len(standin.topics(TG_CHAT)) == 2, message="a second topic")
    await wait_until(lambda: len(bot_texts(standin, None)) == 1, message="the General post")

    assert bot_texts(standin, tid) == ["Jonas · Krefeld: Hallo aus dem Thread", "Jonas · Krefeld: Noch eine"]
    assert not any("🧵" in t for t in bot_texts(standin, tid))  # the topic says it; no line for it
    assert "im Kanal selbst" in bot_texts(standin, None)[0]
    second = standin.topics(TG_CHAT)[1]
    assert second["name"] == "Besuch 2027"
    assert bot_texts(standin, second["message_thread_id"])[0].endswith("Wer kommt?")
    # Remembered both ways, with the link's retention as expiry.
    forward = keys.thread_map(f"discord:{DISCORD_CHAT}", "5001", f"telegram:{TG_CHAT}")
    back = keys.thread_map(f"telegram:{TG_CHAT}", str(tid), f"discord:{DISCORD_CHAT}")
    assert await aredis.get(forward) == str(tid) and await aredis.get(back) == "5001"
    # An edit of a copy in the topic stays without the line.
    await posts.push("🧵 Stammtisch\nHallo aus dem Thread!", thread="5001", kind=EventKind.EDIT, source_id=first)
    await wait_until(lambda: bot_texts(standin, tid)[0].endswith("Thread!"), message="the edited copy")
    assert bot_texts(standin, tid)[0] == "Jonas · Krefeld: Hallo aus dem Thread!"
    assert 0 < await aredis.ttl(forward) <= 30 * 86400
    await wait_until(lambda: _stat_is(aredis, keys, "telegram.topics.created", 2), message="telegram.topics.created")


async def test_without_the_right_to_manage_topics_the_thread_arrives_in_general_counted(adapter, standin, aredis, keys):
    standin.deny_manage_topics(TG_CHAT)
    posts = Posts(aredis, keys)
    await posts.push("🧵 Stammtisch\nHallo", thread="5001")
    await posts.push("🧵 Stammtisch\nNoch eine", thread="5001")
    await wait_until(lambda: len(bot_texts(standin, None)) == 2, message="both posts in General")
    assert all("🧵 Stammtisch" in t for t in bot_texts(standin, None))  # today's line, kept
    assert standin.topics(TG_CHAT) == []
    await wait_until(
        lambda: _stat_is(aredis, keys, "telegram.topics.refused", 1), message="telegram.topics.refused"
    )  # asked once, not per post
    await wait_until(lambda: _stat_is(aredis, keys, "telegram.topics.fallback", 2), message="telegram.topics.fallback")


async def test_a_closed_topic_is_reopened_and_a_deleted_one_made_anew(adapter, standin, aredis, keys):
    posts = Posts(aredis, keys)
    await posts.push("🧵 Stammtisch\neins", thread="5001")
    await wait_until(lambda: len(standin.topics(TG_CHAT)) == 1, message="the topic")
    first = standin.topics(TG_CHAT)[0]["message_thread_id"]
    await wait_until(lambda: len(bot_texts(standin, first)) == 1, message="the first post")

    standin.close_topic(TG_CHAT, first)  # the bot manages topics: it still writes there, as admins may
    await posts.push("🧵 Stammtisch\nzwei", thread="5001")
    await wait_until(lambda: len(bot_texts(standin, first)) == 2, message="the post in the closed topic")

    standin.delete_topic(TG_CHAT, first)
    await posts.push("🧵 Stammtisch\ndrei", thread="5001")
    await wait_until(lambda: len(standin.topics(TG_CHAT)) == 2, message="a new topic")
    second = standin.topics(TG_CHAT)[1]["message_thread_id"]
    await wait_until(lambda: len(bot_texts(standin, second)) == 1, message="the post in the new topic")
    assert bot_texts(standin, second)[0].endswith("drei")
    await wait_until(lambda: _stat_is(aredis, keys, "telegram.topics.gone", 1), message="telegram.topics.gone")


async def test_a_closed_topic_the_bot_may_not_reopen_sends_the_post_to_general(adapter, standin, aredis, keys):
    posts = Posts(aredis, keys)
    await posts.push("🧵 Stammtisch\neins", thread="5001")
    await wait_until(lambda: len(standin.topics(TG_CHAT)) == 1, message="the topic")
    first = standin.topics(TG_CHAT)[0]["message_thread_id"]
    standin.close_topic(TG_CHAT, first)
    standin.deny_manage_topics(TG_CHAT)  # TOPIC_CLOSED, and reopenForumTopic refused
    await posts.push("🧵 Stammtisch\nzwei", thread="5001")
    await posts.push("danach")
    await wait_until(lambda: len(bot_texts(standin, None)) == 2, message="both posts in General")
    assert bot_texts(standin, None)[0] == "Jonas · Krefeld: 🧵 Stammtisch\nzwei"
    await wait_until(lambda: _stat_is(aredis, keys, "telegram.topics.closed_fallback", 1), message="counted")


async def test_a_message_in_a_topic_crosses_with_its_topic(adapter, standin, aredis, prefix):
    topic = standin.inject_topic(TG_CHAT, ANNA, "Summer visit")
    standin.inject_topic_message(TG_CHAT, topic, ANNA, "Who is coming?")
    standin.inject_message(TG_CHAT, ANNA, "in General")
    await wait_until(lambda: _queued(aredis, prefix, 2), message="two events")
    events = await queued_events(aredis, prefix)
    assert [(e["text"], e.get("thread", "")) for e in events] == [
        ("🧵 Summer visit\nWho is coming?", str(topic)),
        ("in General", ""),
    ]
    assert events[0]["reply_to"] is None  # the topic's start is no reply


async def _queued(aredis, prefix, n):
    return len(await queued_events(aredis, prefix)) >= n
