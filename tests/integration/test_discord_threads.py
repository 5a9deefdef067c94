"""Issue 15: Telegram forum topics get twin Discord threads, and a linked forum channel
takes posts into forum posts. The real DiscordAdapter (discord.py, webhook sender,
outbox consumer) against the Discord stand-in, the real Redis; assertions on what the
stand-in shows (threads, their messages, the webhook requests) and what Redis holds."""

from __future__ import annotations

import json

import pytest

from bridge.discord.adapter import DiscordAdapter
from bridge.ingress import Ingress
from core.models import ChatRef, EventKind, MessageRef, OutboundPost
from core.settings import Settings
from core.stats import Stats
from core.task_queue import TaskQueue
from sandbox.discord import DiscordStandIn
from tests.helpers import queued_events, two_community_links, wait_until, write_links

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

GUILD = 112233445566770000
CHANNEL = 112233445566778899
FORUM = 112233445566778877
TELEGRAM_CHAT = "-1001000000001"
LINK = "leicester-krefeld"
TOKEN = "OTAwMDAwMDAwMDAwMDAwMDAx.standin.S3cr3t-t0ken-for-tests"
JUERGEN = {"id": 331122334455667788, "username": "juergen.b", "global_name": "Jürgen Becker"}


@pytest.fixture
async def standin():
    server = DiscordStandIn(TOKEN, {GUILD: {"name": "Krefeld", "channels": {CHANNEL: "partnerschaft"}}})
    server.add_forum(GUILD, FORUM, "forum-leicester")
    await server.start()
    yield server
    await server.stop()


def make(tmp_path, redis_url, prefix, standin, aredis, keys, channel):
    settings = Settings(
        redis_url=redis_url,
        redis_prefix=prefix,
        discord_bot_token=TOKEN,
        discord_api_url=standin.api_url,
        discord_gateway_url=standin.gateway_url,
    )
    config = write_links(tmp_path, two_community_links(TELEGRAM_CHAT, channel, LINK))
    queue = TaskQueue.for_settings(settings)
    return DiscordAdapter(
        settings=settings, config=config, redis=aredis, keys=keys, ingress=Ingress(aredis, keys, queue)
    )


@pytest.fixture
async def adapter(tmp_path, redis_url, prefix, standin, aredis, keys):
    started = make(tmp_path, redis_url, prefix, standin, aredis, keys, CHANNEL)
    await started.start()
    yield started
    await started.stop()


@pytest.fixture
async def forum_adapter(tmp_path, redis_url, prefix, standin, aredis, keys):
    started = make(tmp_path, redis_url, prefix, standin, aredis, keys, FORUM)
    await started.start()
    yield started
    await started.stop()


class Posts:
    """Posts from the Telegram group put into the Discord outbox, in order."""

    def __init__(self, aredis, keys, channel: int):
        self._aredis, self._keys, self._channel, self._seq = aredis, keys, channel, 0

    async def push(self, text: str = "", thread: str = "", kind: EventKind = EventKind.NEW, source_id: str = "") -> str:
        self._seq += 1  # every event has its own position in its chat (the ingress gives it)
        source_id = source_id or str(500 + self._seq)
        post = OutboundPost(
            kind=kind,
            link_id=LINK,
            destination=ChatRef("discord", str(self._channel)),
            source=MessageRef("telegram", TELEGRAM_CHAT, source_id),
            sender="Anna",
            community="Leicester",
            text=text,
            seq=self._seq,
            thread=thread,
        )
        await self._aredis.set(self._keys.seq(post.source.chat.key), self._seq, ex=3600)
        await self._aredis.xadd(self._keys.outbox("discord"), {"post": json.dumps(post.to_dict())})
        return source_id


async def _stat_is(aredis, keys, name: str, value: int) -> bool:
    return (await Stats(aredis, keys).read()).get(name, 0) == value


def contents(standin, channel: int) -> list[str]:
    return [content for _, content in standin.transcript(channel)]


async def test_a_telegram_topic_gets_a_thread_that_its_posts_edits_and_deletes_follow(adapter, standin, aredis, keys):
    posts = Posts(aredis, keys, CHANNEL)
    first = await posts.push("🧵 Summer visit\nWho is coming?", thread="77")
    await wait_until(lambda: standin.threads_of(CHANNEL), message="a thread for the topic")
    (thread,) = standin.threads_of(CHANNEL)
    assert thread["name"] == "Summer visit"
    tid = int(thread["id"])
    second = await posts.push("🧵 Summer visit\nMe!", thread="77")
    await posts.push("in General")
    await wait_until(lambda: len(contents(standin, tid)) == 2, message="both posts in the thread")
    await wait_until(lambda: contents(standin, CHANNEL) == ["in General"], message="the General post in the channel")
    assert contents(standin, tid) == ["Who is coming?", "Me!"]  # the thread says the topic: no 🧵 line
    webhook_posts = [p for _, m, p, _ in standin.requests if m == "POST" and "/webhooks/" in p]
    assert len(webhook_posts) == 3  # posted through the channel's webhook, ?thread_id= for the thread
    assert await aredis.get(keys.thread_map(f"telegram:{TELEGRAM_CHAT}", "77", f"discord:{CHANNEL}")) == str(tid)
    assert await aredis.get(keys.thread_map(f"discord:{CHANNEL}", str(tid), f"telegram:{TELEGRAM_CHAT}")) == "77"

    await posts.push("🧵 Summer visit\nWho is coming? (edited)", thread="77", kind=EventKind.EDIT, source_id=first)
    await wait_until(lambda: contents(standin, tid)[0] == "Who is coming? (edited)", message="the edit in the thread")
    await posts.push(thread="77", kind=EventKind.DELETE, source_id=first)
    await wait_until(lambda: contents(standin, tid) == ["Me!"], message="the delete in the thread")
    # A delete that names no topic (an erasure, a Telegram /delete) finds the copy's thread.
    await posts.push(kind=EventKind.DELETE, source_id=second)
    await wait_until(lambda: contents(standin, tid) == [], message="the delete without a topic")
    await wait_until(lambda: _stat_is(aredis, keys, "discord.threads.created", 1), message="one thread made")


async def test_a_locked_archived_thread_is_unarchived_where_allowed_else_the_channel_gets_the_post(
    adapter, standin, aredis, keys
):
    posts = Posts(aredis, keys, CHANNEL)
    await posts.push("🧵 Summer visit\none", thread="77")
    await wait_until(lambda: standin.threads_of(CHANNEL), message="the thread")
    tid = int(standin.threads_of(CHANNEL)[0]["id"])
    standin.archive_thread(tid)  # not locked: a new message unarchives it
    await posts.push("🧵 Summer visit\ntwo", thread="77")
    await wait_until(lambda: len(contents(standin, tid)) == 2, message="posted into the archived thread")

    standin.archive_thread(tid, locked=True)
    standin.threads.manage_threads = True
    await posts.push("🧵 Summer visit\nthree", thread="77")
    await wait_until(lambda: len(contents(standin, tid)) == 3, message="unarchived and posted")
    await wait_until(lambda: _stat_is(aredis, keys, "discord.threads.unarchived", 1), message="counted")

    standin.archive_thread(tid, locked=True)
    standin.threads.manage_threads = False
    await posts.push("🧵 Summer visit\nfour", thread="77")
    await wait_until(lambda: contents(standin, CHANNEL) == ["🧵 Summer visit\nfour"], message="the channel's post")
    await wait_until(lambda: _stat_is(aredis, keys, "discord.threads.archived_fallback", 1), message="counted")

    standin.delete_thread(tid)
    await posts.push("🧵 Summer visit\nfive", thread="77")
    await wait_until(
        lambda: len(standin.threads_of(CHANNEL)) == 1 and int(standin.threads_of(CHANNEL)[0]["id"]) != tid,
        message="a new thread",
    )
    new = int(standin.threads_of(CHANNEL)[0]["id"])
    await wait_until(lambda: contents(standin, new) == ["five"], message="posted into the new thread")
    await wait_until(lambda: _stat_is(aredis, keys, "discord.threads.gone", 1), message="counted")


async def test_a_thread_message_is_relayed_with_its_thread(adapter, standin, aredis, prefix):
    thread = standin.add_thread(CHANNEL, "Stammtisch")
    standin.inject_message(thread, JUERGEN, "Hallo")
    await wait_until(lambda: queued_events(aredis, prefix), message="the event")
    (event,) = await queued_events(aredis, prefix)
    assert event["source"]["chat_id"] == str(CHANNEL)
    assert event["thread"] == str(thread)
    assert event["text"] == "🧵 Stammtisch\nHallo"


async def test_a_forum_destination_gets_one_forum_post_per_source_chat_and_one_per_topic(
    forum_adapter, standin, aredis, keys
):
    posts = Posts(aredis, keys, FORUM)
    await posts.push("Hello Krefeld")
    await wait_until(lambda: standin.threads_of(FORUM), message="the forum post")
    (post,) = standin.threads_of(FORUM)
    assert post["name"] == "🌉 Leicester"
    pid = int(post["id"])
    await posts.push("Second")
    await posts.push("🧵 Summer visit\nWho is coming?", thread="77")
    await wait_until(lambda: len(standin.threads_of(FORUM)) == 2, message="the topic's forum post")
    await wait_until(lambda: len(contents(standin, pid)) == 2, message="both in the chat's post")
    assert contents(standin, pid) == ["Hello Krefeld", "Second"]
    topic_post = standin.threads_of(FORUM)[1]
    assert topic_post["name"] == "Summer visit"
    assert contents(standin, int(topic_post["id"])) == ["Who is coming?"]
    assert contents(standin, FORUM) == []  # nothing refused: no plain post was tried in vain
    key = keys.thread_map(f"telegram:{TELEGRAM_CHAT}", "", f"discord:{FORUM}")
    assert await aredis.get(key) == str(pid) and 0 < await aredis.ttl(key) <= 30 * 86400

    standin.delete_thread(pid)  # a moderator deleted the post: made anew
    await posts.push("Third")
    await wait_until(
        lambda: len(standin.threads_of(FORUM)) == 2 and str(pid) not in {t["id"] for t in standin.threads_of(FORUM)},
        message="a new post",
    )
    newest = standin.threads_of(FORUM)[-1]
    assert newest["name"] == "🌉 Leicester"
    await wait_until(lambda: contents(standin, int(newest["id"])) == ["Third"], message="posted in it")


async def test_a_forum_destination_the_bot_cannot_post_into_is_reported_at_start_without_names(
    tmp_path, redis_url, prefix, standin, aredis, keys, caplog
):
    standin.manage_webhooks = False
    standin.state.send_messages = False
    started = make(tmp_path, redis_url, prefix, standin, aredis, keys, FORUM)
    with caplog.at_level("WARNING"):
        await started.start()
    try:
        lines = [r.getMessage() for r in caplog.records if "forum channel" in r.getMessage()]
        assert lines == [
            f"discord:{FORUM} is a linked forum channel the bot cannot post into: grant it Manage Webhooks "
            "(or Create Posts) there, or make the forum a one-way link's speaking side"
        ]
        assert "forum-leicester" not in caplog.text and "Krefeld" not in caplog.text
        assert await _stat_is(aredis, keys, "discord.forum.unpostable", 1)
    finally:
        await started.stop()


async def test_without_manage_webhooks_the_bot_opens_the_forum_post_itself(
    tmp_path, redis_url, prefix, standin, aredis, keys
):
    standin.manage_webhooks = False
    started = make(tmp_path, redis_url, prefix, standin, aredis, keys, FORUM)
    await started.start()
    try:
        posts = Posts(aredis, keys, FORUM)
        await posts.push("Hello Krefeld")
        await posts.push("Second")
        await wait_until(lambda: standin.threads_of(FORUM), message="the forum post")
        (post,) = standin.threads_of(FORUM)
        await wait_until(lambda: len(contents(standin, int(post["id"]))) == 2, message="both in it")
        assert [p["via"] for p in standin.posts()] == ["bot", "bot"]
    finally:
        await started.stop()


async def test_a_post_in_flight_into_a_thread_at_a_crash_is_found_there_not_posted_again(
    tmp_path, redis_url, prefix, standin, aredis, keys
):
    first = make(tmp_path, redis_url, prefix, standin, aredis, keys, CHANNEL)
    await first.start()
    posts = Posts(aredis, keys, CHANNEL)
    try:
        await posts.push("🧵 Summer visit\none", thread="77")
        await wait_until(lambda: standin.threads_of(CHANNEL), message="the thread")
        tid = int(standin.threads_of(CHANNEL)[0]["id"])
        await wait_until(lambda: _stat_is(aredis, keys, "discord.delivered.new", 1), message="the first recorded")
        standin.hold_webhook_answers()  # Discord shows the next post; the adapter never learns its id
        await posts.push("🧵 Summer visit\ntwo", thread="77")
        await wait_until(lambda: len(contents(standin, tid)) == 2, message="the held post shown")
    finally:
        await first.stop()
        standin.release_webhook_answers()
    second = make(tmp_path, redis_url, prefix, standin, aredis, keys, CHANNEL)
    await second.start()
    try:
        await wait_until(lambda: _stat_is(aredis, keys, "discord.intent.found", 1), message="found in the thread")
        await wait_until(lambda: _drained(aredis, keys), message="the outbox drained")
        assert contents(standin, tid) == ["one", "two"]  # not posted again
    finally:
        await second.stop()


async def _drained(aredis, keys) -> bool:
    return await aredis.xlen(keys.outbox("discord")) == 0
