"""The real DiscordAdapter (real discord.py client) against the Discord
stand-in, the real Redis, the real ingress and the real Celery send.

Assertions are on what the stand-in received and what landed in Redis
(the Celery queue, the outbox stream, the id map), never on what our code
says it did.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
from dataclasses import replace

import aiohttp
import pytest

from bridge.adapter import AdapterStartError
from bridge.discord.adapter import DiscordAdapter
from core.idmap import IdMap
from bridge.ingress import Ingress
from core.task_queue import TaskQueue
from core.models import ChatRef, Command, EventKind, MessageRef, OutboundPost
from sandbox.discord import DiscordStandIn
from core.settings import Settings
from core.stats import Stats
from tests.helpers import queued_events, two_community_links, wait_until, write_links

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

GUILD = 112233445566770000
CHANNEL = 112233445566778899
UNLINKED = 112233445566778800
TELEGRAM_CHAT = "-1001000000001"
LINK = "leicester-krefeld"
TOKEN = "OTAwMDAwMDAwMDAwMDAwMDAx.standin.S3cr3t-t0ken-for-tests"
JUERGEN = {"id": 331122334455667788, "username": "juergen.b", "global_name": "Jürgen Becker"}

LINKS_YAML = two_community_links(TELEGRAM_CHAT, CHANNEL, LINK)


@pytest.fixture
async def standin():
    server = DiscordStandIn(
        TOKEN,
        {GUILD: {"name": "Krefeld", "channels": {CHANNEL: "partnerschaft-leicester", UNLINKED: "vorstand-intern"}}},
    )
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def config(tmp_path):
    return write_links(tmp_path, LINKS_YAML)


@pytest.fixture
def settings(redis_url, prefix, standin):
    return Settings(
        redis_url=redis_url,
        redis_prefix=prefix,
        discord_bot_token=TOKEN,
        discord_api_url=standin.api_url,
        discord_gateway_url=standin.gateway_url,
    )


@pytest.fixture
def make_adapter(settings, config, aredis, keys, celery_app):
    def make(**overrides):
        queue = TaskQueue.for_settings(celery_app.conf.twinbridge_settings)
        return DiscordAdapter(
            settings=overrides.get("settings", settings),
            config=config,
            redis=aredis,
            keys=keys,
            ingress=Ingress(aredis, keys, queue),
        )

    return make


@pytest.fixture
async def adapter(make_adapter):
    started = make_adapter()
    await started.start()
    yield started
    await started.stop()


# -- reading Redis -----------------------------------------------------------------


async def stat(aredis, keys, name) -> int:
    return (await Stats(aredis, keys).read()).get(name, 0)


def outbound(kind: EventKind, text: str = "", **fields) -> OutboundPost:
    return OutboundPost(
        kind=kind,
        link_id=LINK,
        destination=ChatRef("discord", str(CHANNEL)),
        source=MessageRef("telegram", TELEGRAM_CHAT, fields.pop("source_id", "501")),
        sender=fields.pop("sender", "Anna"),
        community="Leicester",
        text=text,
        **fields,
    )


async def put_in_outbox(aredis, keys, post: OutboundPost) -> None:
    await aredis.xadd(keys.outbox("discord"), {"post": json.dumps(post.to_dict())})


async def outbox_empty(aredis, keys) -> bool:
    return await aredis.xlen(keys.outbox("discord")) == 0


# -- inbound ----------------------------------------------------------------------------


async def test_messages_written_while_down_are_caught_up_from_history(make_adapter, standin, aredis, keys, prefix):
    first = make_adapter()
    await first.start()
    standin.inject_message(CHANNEL, JUERGEN, "before the outage")
    await wait_until(lambda: _queued_count(aredis, prefix, 1), message="the first message")
    await first.stop()

    # Written while the bridge was away: Discord will not replay them to a new session.
    for n in range(120):  # more than one page of history
        standin.inject_message(CHANNEL, JUERGEN, f"while away {n}")

    second = make_adapter()
    await second.start()
    try:
        await wait_until(lambda: _queued_count(aredis, prefix, 121), timeout=30, message="the caught-up messages")
        texts = [e["text"] for e in await queued_events(aredis, prefix)]
        assert texts == ["before the outage"] + [f"while away {n}" for n in range(120)]  # once each, in order
        assert await stat(aredis, keys, "discord.caught_up") == 120
    finally:
        await second.stop()


async def test_thread_messages_written_while_down_are_caught_up_in_order_once(
    make_adapter, standin, aredis, keys, prefix
):
    """Issue 15: the catch-up reads the linked channel's active threads too (List Active
    Guild Threads, filtered to linked parents), after the last seen message, merged with
    the channel's own history in the order written, each message once."""
    old_thread = standin.add_thread(CHANNEL, "Stammtisch")
    unlinked_thread = standin.add_thread(UNLINKED, "Vorstand")
    first = make_adapter()
    await first.start()
    standin.inject_message(old_thread, JUERGEN, "in the thread before")
    await wait_until(lambda: _queued_count(aredis, prefix, 1), message="the first message")
    await first.stop()

    standin.inject_message(CHANNEL, JUERGEN, "channel 1")
    standin.inject_message(old_thread, JUERGEN, "thread 1")
    new_thread = standin.add_thread(CHANNEL, "Besuch 2027")  # opened while the bridge was away
    standin.inject_message(new_thread, JUERGEN, "new thread 1")
    standin.inject_message(unlinked_thread, JUERGEN, "not linked")
    standin.inject_message(CHANNEL, JUERGEN, "channel 2")
    standin.inject_message(old_thread, JUERGEN, "thread 2")

    second = make_adapter()
    await second.start()
    try:
        await wait_until(lambda: _queued_count(aredis, prefix, 6), timeout=30, message="the caught-up messages")
        await wait_until(lambda: stat(aredis, keys, "discord.caught_up"), message="the catch-up's count")
        events = await queued_events(aredis, prefix)
        assert [e["text"] for e in events] == [
            "🧵 Stammtisch\nin the thread before",
            "channel 1",
            "🧵 Stammtisch\nthread 1",
            "🧵 Besuch 2027\nnew thread 1",
            "channel 2",
            "🧵 Stammtisch\nthread 2",
        ]
        assert {e["source"]["chat_id"] for e in events} == {str(CHANNEL)}  # the parent's chat
        assert await stat(aredis, keys, "discord.caught_up") == 5
        assert ("GET", f"/api/v10/guilds/{GUILD}/threads/active") in {(m, p) for _, m, p, _ in standin.requests}
        reads = {p for _, m, p, _ in standin.requests if m == "GET" and p.endswith("/messages")}
        assert f"/api/v10/channels/{unlinked_thread}/messages" not in reads
    finally:
        await second.stop()


async def _queued_count(aredis, prefix, n):
    return len(await queued_events(aredis, prefix)) >= n


async def test_member_message_is_enqueued_once(adapter, standin, aredis, keys, prefix):
    assert standin.intents & (1 << 15), "the adapter must ask for the Message Content intent"
    message = standin.inject_message(CHANNEL, JUERGEN, "Guten Morgen, Leicester!")

    events = await wait_until(lambda: queued_events(aredis, prefix), message="the pipeline task")
    assert len(events) == 1
    event = events[0]
    assert event["kind"] == "new"
    assert event["text"] == "Guten Morgen, Leicester!"
    assert event["source"] == {"platform": "discord", "chat_id": str(CHANNEL), "message_id": message["id"]}
    assert event["author"]["display_name"] == "Jürgen Becker"
    assert event["seq"] == 1

    # Discord redelivers the same event: it is accepted once.
    standin.inject_dispatch("MESSAGE_CREATE", message)
    await wait_until(lambda: stat(aredis, keys, "discord.skipped.duplicate"), message="the duplicate counted")
    assert len(await queued_events(aredis, prefix)) == 1


async def test_member_edit_and_delete_are_enqueued(adapter, standin, aredis, prefix):
    message = standin.inject_message(CHANNEL, JUERGEN, "Besuch im Juni")
    standin.inject_edit(CHANNEL, int(message["id"]), "Besuch im Juli")
    standin.inject_delete(CHANNEL, int(message["id"]))

    async def three_events():
        events = await queued_events(aredis, prefix)
        return events if len(events) == 3 else None

    events = await wait_until(three_events, message="three tasks")
    assert [e["kind"] for e in events] == ["new", "edit", "delete"]
    assert [e["seq"] for e in events] == [1, 2, 3]
    assert events[1]["text"] == "Besuch im Juli" and events[1]["revision"] > 0
    assert events[2]["author"] == {"id": "", "display_name": "", "first_name": None, "username": None, "is_bot": False}
    assert {e["source"]["message_id"] for e in events} == {message["id"]}


async def test_an_edit_that_takes_a_file_off_carries_the_files_left(adapter, standin, aredis, prefix):
    """MESSAGE_UPDATE with fewer attachments (the author took one off): the edit event names
    the files left, by their attachment ids, so the senders can take the others off the copies."""
    files = [("a.png", b"\x89PNG" + bytes(100)), ("b.png", b"\x89PNG" + bytes(200))]
    message = standin.inject_files_message(CHANNEL, JUERGEN, "Zwei Bilder", files)
    first, second = (a["id"] for a in message["attachments"])
    standin.inject_edit(CHANNEL, int(message["id"]), None, remove_attachments=[first])

    async def two_events():
        events = await queued_events(aredis, prefix)
        return events if len(events) == 2 else None

    new, edit = await wait_until(two_events, message="two tasks")
    assert [a["file_id"] for a in new["attachments"]] == [first, second]
    assert (edit["kind"], [a["file_id"] for a in edit["attachments"]]) == ("edit", [second])


async def test_unlinked_channel_is_counted_not_enqueued(adapter, standin, aredis, keys, prefix):
    standin.inject_message(UNLINKED, JUERGEN, "Interne Notiz")
    await wait_until(lambda: stat(aredis, keys, "discord.skipped.unknown_chat"), message="the skip counted")
    assert await queued_events(aredis, prefix) == []


async def test_bots_and_webhooks_are_not_enqueued(adapter, standin, aredis, keys, prefix):
    standin.inject_message(CHANNEL, {"id": 159985870458322944, "username": "MEE6", "bot": True}, "Level 3!")
    # Another integration's webhook, made and used over REST like any client would.
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {TOKEN}"}) as http:
        async with http.post(f"{standin.api_url}/channels/{CHANNEL}/webhooks", json={"name": "RSS"}) as resp:
            hook = await resp.json()
        async with http.post(
            f"{standin.api_url}/webhooks/{hook['id']}/{hook['token']}",
            json={"content": "Neuer Artikel", "username": "Stadt-News"},
        ) as resp:
            assert resp.status == 204

    await wait_until(lambda: stat(aredis, keys, "discord.skipped.bot"), message="the bot skip")
    await wait_until(lambda: stat(aredis, keys, "discord.skipped.webhook"), message="the webhook skip")
    assert await queued_events(aredis, prefix) == []


# -- outbound ----------------------------------------------------------------------------


async def test_post_edit_delete_through_the_webhook(adapter, standin, aredis, keys, prefix):
    await put_in_outbox(aredis, keys, outbound(EventKind.NEW, "@everyone hello <@&123>"))

    (post,) = await wait_until(lambda: standin.posts(CHANNEL), message="the webhook post")
    assert post["via"] == "webhook"
    assert post["username"] == "Anna · Leicester"
    # Shown as typed, neither a mention nor a ping (escaped; allowed_mentions as a second guard).
    assert post["content"] == "@\u200beveryone hello \\<@&123>"
    assert post["allowed_mentions"] == {"parse": []}
    assert post["notified"] == {"everyone": False, "users": [], "roles": []}
    assert [w["name"] for w in standin.webhooks(CHANNEL)] == ["twinbridge"]

    await wait_until(lambda: outbox_empty(aredis, keys), message="the outbox entry deleted")
    source = MessageRef("telegram", TELEGRAM_CHAT, "501")
    copies = await IdMap(aredis, keys).copies(LINK, source, ChatRef("discord", str(CHANNEL)))
    assert copies == [post["id"]]

    # The gateway echoes our webhook post back; the bridge must not re-ingest it.
    await wait_until(lambda: stat(aredis, keys, "discord.skipped.webhook"), message="the echo skipped")
    assert await queued_events(aredis, prefix) == []

    await put_in_outbox(aredis, keys, outbound(EventKind.EDIT, "hello again"))
    await wait_until(
        lambda: standin.transcript(CHANNEL) == [("Anna · Leicester", "hello again")], message="the edited copy"
    )
    (edited,) = standin.posts(CHANNEL)
    assert edited["edits"][-1]["allowed_mentions"] == {"parse": []}

    await put_in_outbox(aredis, keys, outbound(EventKind.DELETE))
    await wait_until(lambda: standin.transcript(CHANNEL) == [], message="the copy deleted")
    assert standin.posts(CHANNEL)[0]["deleted"] is True
    await wait_until(lambda: stat(aredis, keys, "discord.skipped.own_delete"), message="the delete echo skipped")
    await wait_until(lambda: outbox_empty(aredis, keys), message="the outbox drained")
    assert await IdMap(aredis, keys).copies(LINK, source, ChatRef("discord", str(CHANNEL))) == []
    assert await queued_events(aredis, prefix) == []
    # The webhook was created once and reused from the cache afterwards.
    assert (
        sum(
            1
            for _, method, path, _ in standin.requests
            if method == "POST" and path.endswith(f"/channels/{CHANNEL}/webhooks")
        )
        == 1
    )


async def test_rate_limited_webhook_is_retried_and_delivered_once(adapter, standin, aredis, keys):
    standin.fail_next("POST /webhooks/*", 429, retry_after=0.3)
    await put_in_outbox(aredis, keys, outbound(EventKind.NEW, "Hello Krefeld"))

    await wait_until(lambda: outbox_empty(aredis, keys), message="the outbox drained")
    assert [p["content"] for p in standin.posts(CHANNEL)] == ["Hello Krefeld"]
    executes = [
        t for t, method, path, _ in standin.requests if method == "POST" and path.startswith("/api/v10/webhooks/")
    ]
    assert len(executes) == 2
    assert executes[1] - executes[0] >= 0.3  # it waited retry_after
    assert await stat(aredis, keys, "discord.delivered.new") == 1
    assert await aredis.zcard(keys.dead_letter_index()) == 0


async def test_long_text_is_split_and_a_reply_quotes_the_copy(adapter, standin, aredis, keys):
    original = standin.inject_message(CHANNEL, JUERGEN, "Wann kommt ihr an?\nUnd wie viele?")
    # The Telegram reply to that Discord message: the reply target is the original itself.
    long_text = ("We arrive on Monday. " * 60 + "\n\n") * 2
    await put_in_outbox(
        aredis, keys, outbound(EventKind.NEW, long_text, reply_to=MessageRef("discord", str(CHANNEL), original["id"]))
    )

    posts = await wait_until(
        lambda: (lambda p: p if len(p) == 2 else None)(standin.posts(CHANNEL)), message="two parts"
    )
    assert all(len(p["content"]) <= 2000 for p in posts)
    assert all(p["allowed_mentions"] == {"parse": []} for p in posts)
    link = f"https://discord.com/channels/{GUILD}/{CHANNEL}/{original['id']}"
    assert posts[0]["content"].startswith(f"> Wann kommt ihr an?\n> Und wie viele?\n{link}\nWe arrive")
    assert not posts[1]["content"].startswith(">")
    await wait_until(lambda: outbox_empty(aredis, keys), message="the outbox drained")
    copies = await IdMap(aredis, keys).copies(
        LINK, MessageRef("telegram", TELEGRAM_CHAT, "501"), ChatRef("discord", str(CHANNEL))
    )
    assert copies == [p["id"] for p in posts]


async def test_without_manage_webhooks_the_bot_posts_itself(adapter, standin, aredis, keys):
    standin.manage_webhooks = False
    await put_in_outbox(aredis, keys, outbound(EventKind.NEW, "@here hi"))

    (post,) = await wait_until(lambda: standin.posts(CHANNEL), message="the bot post")
    assert post["via"] == "bot"
    assert post["content"] == "**Anna · Leicester:** @\u200bhere hi"
    assert post["allowed_mentions"] == {"parse": []}
    assert post["notified"] == {"everyone": False, "users": [], "roles": []}
    # Its own message comes back through the gateway and is not re-ingested.
    await wait_until(lambda: stat(aredis, keys, "discord.skipped.own_message"), message="the echo skipped")

    await put_in_outbox(aredis, keys, outbound(EventKind.EDIT, "@here hi, edited"))
    edited = [("twinbridge", "**Anna · Leicester:** @\u200bhere hi, edited")]
    await wait_until(lambda: standin.transcript(CHANNEL) == edited, message="the edited bot post")


# -- start-up failures ------------------------------------------------------------------


async def test_wrong_token_is_reported_without_the_token(make_adapter, settings, standin):
    wrong = "OTAwMDAwMDAwMDAwMDAwMDAx.wrong.N0t-the-r1ght-token"
    adapter = make_adapter(settings=replace(settings, discord_bot_token=wrong))
    with pytest.raises(AdapterStartError) as raised:
        await adapter.start()
    message = str(raised.value)
    assert "DISCORD_BOT_TOKEN" in message and standin.api_url in message
    assert wrong not in message and TOKEN not in message
    assert raised.value.retryable is False
    assert not standin.identified.is_set()
    await adapter.stop()


async def test_message_content_intent_off_is_explained(make_adapter, standin):
    standin.message_content_enabled = False
    adapter = make_adapter()
    with pytest.raises(AdapterStartError) as raised:
        await adapter.start()
    assert "4014" in str(raised.value) and "Message Content Intent" in str(raised.value)
    assert raised.value.retryable is False
    await adapter.stop()


async def test_unreachable_discord_is_named_and_retryable(make_adapter, settings):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api_url = f"http://127.0.0.1:{port}/api/v10"
    adapter = make_adapter(settings=replace(settings, discord_api_url=api_url))
    with pytest.raises(AdapterStartError) as raised:
        await adapter.start()
    assert api_url in str(raised.value)
    assert raised.value.retryable is True
    assert TOKEN not in str(raised.value)
    await adapter.stop()


# -- slash commands ---------------------------------------------------------------------


async def test_a_slash_command_is_handed_over_and_discord_py_s_own_tree_stays_quiet(
    adapter, standin, aredis, prefix, caplog
):
    await wait_until(lambda: standin.application_commands(), message="the slash commands registered")
    with caplog.at_level(logging.DEBUG, logger="discord.app_commands"):
        standin.inject_slash_command(JUERGEN, CHANNEL, "privacy")
        await wait_until(
            lambda: _tasks_named(aredis, prefix, "twinbridge.process_command"),
            message="the command handed to the workers",
        )
        await wait_until(lambda: standin.interaction_responses, message="the acknowledgement")
    # The tree (RelayOnlyTree) turns the command away unlooked-up: no "command not found" error.
    assert not [r for r in caplog.records if r.name.startswith("discord.app_commands")]


async def test_an_announce_typed_in_markdown_carries_its_formatting(adapter, standin, aredis, prefix):
    """The organiser's markdown is read as Discord shows it: the words plain, the marks as
    the command's formatting (the notice keeps them, workers/announce_commands.py)."""
    standin.inject_message(CHANNEL, JUERGEN, "/announce **Sommerfest** am [Samstag](https://example.org/sa) \\*echt\\*")
    tasks = await wait_until(
        lambda: _tasks_named(aredis, prefix, "twinbridge.process_command"), message="the command handed over"
    )
    command = Command.from_dict(json.loads(base64.b64decode(tasks[0]["body"]))[0][0])
    assert command.name == "announce" and command.args == "Sommerfest am Samstag *echt*"
    assert [(s.kind, command.args[s.start : s.end], s.data) for s in command.formatting] == [
        ("bold", "Sommerfest", ""),
        ("link", "Samstag", "https://example.org/sa"),
    ]


async def _tasks_named(aredis, prefix, name: str) -> list[dict]:
    tasks = [json.loads(raw) for raw in await aredis.lrange(f"{prefix}celery:moderation", 0, -1)]
    return [t for t in tasks if t["headers"]["task"] == name]


# -- one bad event never stalls the channel; fresh sessions catch up (issue 12, item 7) ----


async def test_a_malformed_gateway_event_is_skipped_and_the_session_lives_on(
    adapter, standin, aredis, keys, prefix, caplog
):
    for n in range(5):
        standin.inject_message(CHANNEL, JUERGEN, f"before {n}")
    standin.inject_malformed_message(CHANNEL, JUERGEN, "malformed secret words")
    for n in range(5):
        standin.inject_message(CHANNEL, JUERGEN, f"after {n}")

    await wait_until(lambda: _queued_count(aredis, prefix, 10), timeout=30, message="every well-formed message")
    texts = [e["text"] for e in await queued_events(aredis, prefix)]
    assert texts == [f"before {n}" for n in range(5)] + [f"after {n}" for n in range(5)]
    await wait_until(lambda: stat(aredis, keys, "discord.skipped.malformed"), message="the bad event counted")
    assert await stat(aredis, keys, "discord.skipped.malformed") == 1
    assert standin.sessions_started == 1, "the malformed event must not cost the gateway session"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "MESSAGE_CREATE" in logged and "secret words" not in logged


async def test_what_was_written_while_the_session_was_down_is_caught_up_after_a_fresh_session(
    adapter, standin, aredis, keys, prefix
):
    standin.inject_message(CHANNEL, JUERGEN, "before the session ended")
    await wait_until(lambda: _queued_count(aredis, prefix, 1), message="the first message")

    standin.end_sessions()  # Discord forgets the session: no RESUME, no replay
    for n in range(3):
        standin.inject_message(CHANNEL, JUERGEN, f"while down {n}")
    standin.accept_connections()

    await wait_until(lambda: standin.sessions_started == 2, timeout=30, message="a fresh session")
    standin.inject_message(CHANNEL, JUERGEN, "in the new session")  # must not overtake the missed ones
    await wait_until(lambda: _queued_count(aredis, prefix, 5), timeout=30, message="the caught-up messages")
    texts = [e["text"] for e in await queued_events(aredis, prefix)]
    assert texts == ["before the session ended", "while down 0", "while down 1", "while down 2", "in the new session"]
    assert await stat(aredis, keys, "discord.caught_up") >= 3
