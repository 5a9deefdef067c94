"""Delivery intents on Discord, with the real adapter against the stand-in: a copy
that a crash left unrecorded is found through its intent when a delete (what erasure
sends) comes for it, and then deleted like any other copy."""

from __future__ import annotations

import pytest

from bridge.discord import render
from bridge.discord.sender import _shown
from core.idmap import IdMap
from core.intents import Intents
from core.models import EventKind
from core.stats import Stats
from tests.helpers import wait_until

from .test_discord_adapter import CHANNEL, outbound, outbox_empty, put_in_outbox
from .test_discord_adapter import adapter, config, make_adapter, settings, standin  # noqa: F401 - fixtures

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


async def test_a_delete_finds_a_copy_known_only_by_its_intent(adapter, standin, aredis, keys):
    post = outbound(EventKind.NEW, "Hello Krefeld")
    await put_in_outbox(aredis, keys, post)
    await wait_until(lambda: outbox_empty(aredis, keys), message="the post delivered")
    (copy,) = standin.posts(CHANNEL)
    idmap = IdMap(aredis, keys)
    assert (await idmap.trace(post.source)).copies

    # What a crash between Discord's answer and the id map's write leaves: no copy
    # recorded, only the intent (written before the post, with what it would show).
    await idmap.forget(post.link_id, post.source, post.destination)
    await Intents(aredis, keys).record(post, [_shown(render.webhook_username("Anna", "Leicester"), copy["content"])])
    trace = await idmap.trace(post.source)
    assert trace.copies == {} and [i.destination for i in trace.unknown] == [post.destination]

    await put_in_outbox(aredis, keys, outbound(EventKind.DELETE))
    await wait_until(lambda: outbox_empty(aredis, keys), message="the delete done")
    assert standin.message(CHANNEL, int(copy["id"])) is None  # deleted on Discord
    trace = await idmap.trace(post.source)
    assert trace.copies == {} and trace.unknown == []
    assert (await Stats(aredis, keys).read()).get("discord.intent.found") == 1


async def test_a_post_read_again_is_found_not_posted_twice_also_as_the_bot(adapter, standin, aredis, keys):
    """The restart path, for a bot post (no Manage Webhooks): the entry is read again
    with its intent still there; the post is in the channel, so it is recorded, not sent."""
    standin.manage_webhooks = False
    post = outbound(EventKind.NEW, "Hello Krefeld")
    await put_in_outbox(aredis, keys, post)
    await wait_until(lambda: outbox_empty(aredis, keys), message="the post delivered")
    (copy,) = standin.posts(CHANNEL)
    assert copy["via"] == "bot"

    # As if the process died right after Discord answered: nothing recorded but the intent.
    idmap = IdMap(aredis, keys)
    await idmap.forget(post.link_id, post.source, post.destination)
    await aredis.delete(keys.delivered(post.delivery_key))
    await Intents(aredis, keys).record(post, [_shown(None, copy["content"])])

    await put_in_outbox(aredis, keys, post)
    await wait_until(lambda: outbox_empty(aredis, keys), message="the entry handled again")
    assert len(standin.posts(CHANNEL)) == 1  # not posted again
    trace = await idmap.trace(post.source)
    assert trace.copies == {(post.link_id, post.destination): [str(copy["id"])]} and trace.unknown == []


async def test_a_delete_for_a_copy_nowhere_to_be_found_drops_the_intent(adapter, standin, aredis, keys):
    post = outbound(EventKind.NEW, "never arrived", source_id="777")
    await Intents(aredis, keys).record(post, [_shown("Anna · Leicester", "never arrived")])
    await put_in_outbox(aredis, keys, outbound(EventKind.DELETE, source_id="777"))
    await wait_until(lambda: outbox_empty(aredis, keys), message="the delete handled")
    assert not await aredis.exists(keys.intents(post.source.key))
    assert (await Stats(aredis, keys).read()).get("discord.intent.not_found") == 1


async def test_without_read_message_history_the_post_is_sent_again_not_parked(adapter, standin, aredis, keys):
    post = outbound(EventKind.NEW, "Hello Krefeld", source_id="888")
    await Intents(aredis, keys).record(post, [_shown("Anna · Leicester", "Hello Krefeld")])
    standin.fail_next("GET /channels/*/messages", 403)
    await put_in_outbox(aredis, keys, post)
    await wait_until(lambda: outbox_empty(aredis, keys), message="the post handled")
    assert [p["content"] for p in standin.posts(CHANNEL)] == ["Hello Krefeld"]
    assert await aredis.xlen(keys.dead_letters()) == 0
    assert (await Stats(aredis, keys).read()).get("discord.intent.unverifiable") == 1
