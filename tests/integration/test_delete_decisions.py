"""What /delete queues (workers/deletes.py), against a real Redis holding the id map and
the members' index as the bridge writes them: who may, which copies go, Telegram's 48 hours."""

from __future__ import annotations

import json
import time

import pytest

from core.models import Author, Command, EventKind, MessageRef
from core.storage import members
from workers import deletes

from ..helpers import write_links

LEICESTER = "-1001000000001"
MASAYA = "-1001000000003"
KREFELD = "112233445566778899"
LINKS = f"""
version: 1
communities:
  leicester: {{name: Leicester, language: en, chats: [{{telegram: {LEICESTER}}}]}}
  krefeld: {{name: Krefeld, language: de, chats: [{{discord: {KREFELD}}}]}}
  masaya: {{name: Masaya, language: es, chats: [{{telegram: {MASAYA}}}]}}
links:
  - id: twins
    communities: [leicester, krefeld, masaya]
    policy: open
"""
ORIGINAL = MessageRef("telegram", LEICESTER, "10")


@pytest.fixture
def config(tmp_path):
    return write_links(tmp_path, LINKS)


@pytest.fixture
def relayed(sync_redis, keys):
    """Anna's message 10 in Leicester, relayed to Krefeld (900) and Masaya (20)."""
    sync_redis.hset(keys.idmap(ORIGINAL.key), "twins|discord:" + KREFELD, json.dumps(["900"]))
    sync_redis.hset(keys.idmap(ORIGINAL.key), "twins|telegram:" + MASAYA, json.dumps(["20"]))
    sync_redis.set(keys.origin(f"telegram:{MASAYA}:20"), f"twins|{ORIGINAL.key}")
    sync_redis.set(keys.origin(f"discord:{KREFELD}:900"), f"twins|{ORIGINAL.key}")
    members.note_authored(sync_redis, keys, "telegram:5001", f"twins|{ORIGINAL.key}", 30)


def _command(user_id="5001", chat=LEICESTER, reply_to="10", admin=False, at=None, platform="telegram"):
    return Command(
        name="delete",
        args="",
        platform=platform,
        chat_id=chat,
        message_id="11",
        user=Author(id=user_id, display_name="X"),
        admin=admin,
        reply_to=reply_to,
        reply_to_at=time.time() - 60 if at is None else at,
    )


def _deleted(posts):
    return sorted((p.destination.key, p.source.message_id, p.itself) for p in posts if p.kind == EventKind.DELETE)


def _said(posts):
    return [p.text for p in posts if p.kind == EventKind.NOTICE]


def test_the_author_takes_back_every_copy_the_original_and_the_command(config, sync_redis, keys, relayed):
    posts = deletes.handle(_command(), config, sync_redis, keys)
    assert _deleted(posts) == [
        (f"discord:{KREFELD}", "10", False),
        (f"telegram:{LEICESTER}", "10", True),
        (f"telegram:{LEICESTER}", "11", True),
        (f"telegram:{MASAYA}", "10", False),
    ]
    assert not _said(posts)


def test_on_a_relayed_copy_the_author_is_the_originals(config, sync_redis, keys, relayed):
    posts = deletes.handle(_command(chat=MASAYA, reply_to="20"), config, sync_redis, keys)
    assert _deleted(posts) == [
        (f"discord:{KREFELD}", "10", False),
        (f"telegram:{LEICESTER}", "10", True),
        (f"telegram:{MASAYA}", "10", False),
        (f"telegram:{MASAYA}", "11", True),
    ]


def test_someone_else_is_refused_privately_in_the_chat_language(config, sync_redis, keys, relayed):
    posts = deletes.handle(_command(user_id="5002", chat=MASAYA, reply_to="20"), config, sync_redis, keys)
    assert not _deleted(posts)
    (notice,) = posts
    assert notice.private_to == "5002" and "no se borró nada" in notice.text


def test_an_admin_takes_the_copies_and_the_original_only_in_their_own_chat(config, sync_redis, keys, relayed):
    here = deletes.handle(_command(user_id="5003", admin=True), config, sync_redis, keys)
    assert (f"telegram:{LEICESTER}", "10", True) in _deleted(here)
    there = deletes.handle(_command(user_id="5003", chat=MASAYA, reply_to="20", admin=True), config, sync_redis, keys)
    assert (f"telegram:{LEICESTER}", "10", True) not in _deleted(there)
    assert (f"discord:{KREFELD}", "10", False) in _deleted(there)


def test_past_48_hours_only_the_discord_copies_go(config, sync_redis, keys, relayed):
    posts = deletes.handle(_command(at=time.time() - 49 * 3600), config, sync_redis, keys)
    assert _deleted(posts) == [(f"discord:{KREFELD}", "10", False), (f"telegram:{LEICESTER}", "11", True)]
    (text,) = _said(posts)
    assert "48 hours" in text and "Discord" in text


def test_not_a_reply_not_relayed_and_discord(config, sync_redis, keys, relayed):
    (how_to,) = deletes.handle(_command(reply_to=""), config, sync_redis, keys)
    assert "reply to it with /delete" in how_to.text
    (nothing,) = deletes.handle(_command(reply_to="12", admin=True), config, sync_redis, keys)
    assert "no copies" in nothing.text
    (discord,) = deletes.handle(_command(chat=KREFELD, platform="discord"), config, sync_redis, keys)
    assert "Auf Discord" in discord.text and not discord.private_to
