"""Consent is checked again when a moderator approves (real Redis, the
workers' command handling): a member who withdrew consent, or erased
themselves, while their message waited is not relayed."""

from __future__ import annotations

import json
import textwrap

import pytest

from core.links import load_links
from core.models import Author, Command, EventKind, MessageRef, PlatformEvent
from workers import command_handlers, holds, rights
from workers.moderation.stage import Moderated
from workers.pipeline import Context

from ..helpers import SCHOOL_CLASSES_LINKS, handed_to_translation

pytestmark = pytest.mark.integration

TEACHER = Author(id="9001", display_name="Mrs Patel")
ANNA = Author(id="5001", display_name="Anna Smith")


@pytest.fixture
def ctx(tmp_path):
    path = tmp_path / "links.yaml"
    path.write_text(textwrap.dedent(SCHOOL_CLASSES_LINKS))
    return Context(load_links(path, pseudonym_key="k"), pseudonym_key="k")


def hold_one(redis, keys, ctx, n: int) -> str:
    event = PlatformEvent(kind=EventKind.NEW, source=MessageRef("telegram", "-1002", str(n)), text="hello", author=ANNA)
    return holds.hold(redis, keys, event, ctx.config.link("classes"), Moderated("hello", ()), "X")[0]


def approve(redis, keys, ctx, hold_id: str) -> str:
    command = Command(
        name="approve",
        args=hold_id,
        platform="telegram",
        chat_id="9001",
        message_id="1",
        user=TEACHER,
        private=True,
        via="button",
    )
    [answer] = command_handlers.handle(command, ctx, redis, keys)
    return answer.text


def relayed(redis, keys) -> list[dict]:
    """Posts on their way to the twin chats: an approved message is handed to the
    translation stage, which publishes it."""
    posts = [json.loads(f["post"]) for _, f in redis.xrange(keys.outbox("discord"))]
    posts += handed_to_translation(redis, keys.prefix)
    return [p for p in posts if p["kind"] == "new" and p["destination"]["platform"] == "discord"]


def test_withdrawn_consent_is_not_relayed_on_approval(sync_redis, keys, ctx):
    rights.give_consent(sync_redis, keys, "classes", "telegram:5001", 7)
    kept, withdrawn = hold_one(sync_redis, keys, ctx, 1), hold_one(sync_redis, keys, ctx, 2)
    assert "approved" in approve(sync_redis, keys, ctx, kept)
    assert len(relayed(sync_redis, keys)) == 1
    rights.withdraw_consent(sync_redis, keys, "classes", "telegram:5001", 7)
    answer = approve(sync_redis, keys, ctx, withdrawn)
    assert "not relayed" in answer and "consent" in answer
    assert len(relayed(sync_redis, keys)) == 1 and holds.load(sync_redis, keys, withdrawn) is None
    assert "dropped.no_consent" in [f["action"] for _, f in sync_redis.xrange(keys.audit("classes"))]


def test_an_erased_member_is_not_relayed_on_approval(sync_redis, keys, ctx):
    rights.give_consent(sync_redis, keys, "classes", "telegram:5001", 7)
    hold_id = hold_one(sync_redis, keys, ctx, 3)
    rights.erase_user(sync_redis, keys, ctx.config, "telegram:5001")
    assert "approved" not in approve(sync_redis, keys, ctx, hold_id)
    assert relayed(sync_redis, keys) == []


def test_a_paused_link_keeps_its_held_messages_waiting(sync_redis, keys, ctx):
    from core.storage import holds as held_store, link_control

    rights.give_consent(sync_redis, keys, "classes", "telegram:5001", 7)
    hold_id = hold_one(sync_redis, keys, ctx, 4)
    assert held_store.waiting_in_link(sync_redis, keys, "classes") == 1  # what /status shows
    link_control.pause(sync_redis, keys, "classes", "cmd:organiser")
    assert "paused by an organiser" in approve(sync_redis, keys, ctx, hold_id)
    assert relayed(sync_redis, keys) == [] and holds.load(sync_redis, keys, hold_id) is not None
    link_control.resume(sync_redis, keys, "classes", "cmd:organiser2")
    assert "approved" in approve(sync_redis, keys, ctx, hold_id)
    assert len(relayed(sync_redis, keys)) == 1
    assert held_store.waiting_in_link(sync_redis, keys, "classes") == 0


def test_approve_pressed_twice_is_decided_once(sync_redis, keys, ctx):
    """Each button press is its own command now (Command.press_id, for RSVPs): a second
    press of Approve reaches the workers too, and finds the message decided."""
    rights.give_consent(sync_redis, keys, "classes", "telegram:5001", 7)
    hold_id = hold_one(sync_redis, keys, ctx, 5)
    assert "approved" in approve(sync_redis, keys, ctx, hold_id)
    assert "decided already" in approve(sync_redis, keys, ctx, hold_id)
    assert len(relayed(sync_redis, keys)) == 1
