"""Delivery intents on Discord, with the real adapter against the stand-in: a copy
that a crash left unrecorded is found through its intent when a delete (what erasure
sends) comes for it, and then deleted like any other copy."""
from __future__ import annotations

import pytest

from bridge.discord import render
from bridge.discord.sender import _shown
from bridge.idmap import IdMap
from bridge.intents import Intents
from bridge.models import EventKind
from bridge.stats import Stats
from tests.helpers import wait_until

from .test_discord_adapter import (CHANNEL, adapter, config, make_adapter, outbound, outbox_empty,  # noqa: F401
                                   put_in_outbox, settings, standin)

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
