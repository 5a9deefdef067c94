"""Hostile members against held messages (``moderation: approve``): hold IDs
cannot be guessed, a moderator decides only their own link's holds, and the
answer never tells which IDs exist.

Real Redis, the workers' own command handling (what `twinbridge worker` runs
for /approve, /reject and the buttons)."""

from __future__ import annotations

import json
import re
import secrets
import textwrap

import pytest

from core.links import load_links
from core.models import Author, Command, EventKind, MessageRef, PlatformEvent
from workers import command_handlers, holds
from workers.moderation.stage import Moderated
from workers.pipeline import Context

from ..helpers import handed_to_translation

pytestmark = pytest.mark.integration

LINKS = """
version: 1
communities:
  a: {name: Year 8, language: en, chats: [{telegram: -1001}]}
  b: {name: Klasse 8b, language: en, chats: [{telegram: -1002}]}
  c: {name: Year 9, language: en, chats: [{telegram: -1003}]}
  d: {name: Klasse 9c, language: en, chats: [{telegram: -1004}]}
links:
  - {id: eights, communities: [a, b], policy: school}
  - {id: nines, communities: [c, d], policy: school-nines}
policies:
  school: {moderators: ["telegram:9001"], consent: none}
  school-nines: {base: school, moderators: ["telegram:9002"], consent: none}
"""
BASE32 = "0123456789abcdefghjkmnpqrstvwxyz"
TEACHER_A = Author(id="9001", display_name="Mrs Patel")
TEACHER_C = Author(id="9002", display_name="Mr Jones")
PUPIL = Author(id="5001", display_name="Anna Smith")


@pytest.fixture
def ctx(tmp_path):
    path = tmp_path / "links.yaml"
    path.write_text(textwrap.dedent(LINKS))
    return Context(load_links(path, pseudonym_key="k"), pseudonym_key="k")


def guess(length: int = 13) -> str:
    return "".join(secrets.choice(BASE32) for _ in range(length))


def held_message(redis, keys, ctx, link_id: str, chat: str, n: int) -> str:
    event = PlatformEvent(
        kind=EventKind.NEW, source=MessageRef("telegram", chat, str(n)), text=f"message {n}", author=PUPIL
    )
    hold_id, _ = holds.hold(redis, keys, event, ctx.config.link(link_id), Moderated(f"message {n}", ()), "X")
    return hold_id


def decide(redis, keys, ctx, who: Author, name: str, hold_id: str, via: str = "message") -> str:
    command = Command(
        name=name, args=hold_id, platform="telegram", chat_id=who.id, message_id="1", user=who, private=True, via=via
    )
    [answer] = command_handlers.handle(command, ctx, redis, keys)
    return answer.text


def relayed(redis, keys) -> list[dict]:
    """Posts on their way to the twin chats (not the bot's answers to moderators): an
    approved message is handed to the translation stage, which publishes it."""
    posts = [json.loads(f["post"]) for _, f in redis.xrange(keys.outbox("telegram"))]
    posts += handed_to_translation(redis, keys.prefix)
    return [p for p in posts if p["destination"]["chat_id"].startswith("-")]


def test_hold_ids_are_random_unique_and_typeable(sync_redis, keys, ctx):
    ids = [held_message(sync_redis, keys, ctx, "eights", "-1001", n) for n in range(300)]
    assert len(set(ids)) == 300
    assert all(re.fullmatch(r"[0-9a-hjkmnp-tv-z]{13}", i) for i in ids)  # 65 bits, no i/l/o/u
    # Not derived from the message: the same kind of message in another link gets an unrelated ID.
    assert held_message(sync_redis, keys, ctx, "nines", "-1003", 0) != ids[0]
    # A task run twice holds once and notifies once.
    event = PlatformEvent(
        kind=EventKind.NEW, source=MessageRef("telegram", "-1001", "0"), text="message 0", author=PUPIL
    )
    before = sync_redis.xlen(keys.outbox("telegram"))
    again, notices = holds.hold(sync_redis, keys, event, ctx.config.link("eights"), Moderated("message 0", ()), "X")
    assert (again, notices) == (ids[0], []) and sync_redis.xlen(keys.outbox("telegram")) == before
    # Typed by a moderator: case, a leading # and look-alike letters do not matter.
    typed = "#" + ids[1].upper().replace("1", "L").replace("0", "O")
    assert holds.load(sync_redis, keys, typed).hold_id == ids[1]


def test_guessed_ids_release_nothing_and_look_like_missing_ones(sync_redis, keys, ctx):
    real = held_message(sync_redis, keys, ctx, "eights", "-1001", 1)
    answers = set()
    for _ in range(200):  # guesses in the old 6-hex form and in the new form
        for guessed in (secrets.token_hex(3), guess()):
            answers.add(decide(sync_redis, keys, ctx, TEACHER_A, "approve", guessed).replace(guessed, "ID"))
    assert len(answers) == 1 and relayed(sync_redis, keys) == []
    assert holds.load(sync_redis, keys, real) is not None


@pytest.mark.parametrize("who", [TEACHER_C, PUPIL], ids=["other-links-moderator", "non-moderator"])
@pytest.mark.parametrize("name,via", [("approve", "message"), ("approve", "button"), ("reject", "button")])
def test_only_the_links_moderators_decide_and_no_oracle(sync_redis, keys, ctx, who, name, via):
    real = held_message(sync_redis, keys, ctx, "eights", "-1001", 1)
    missing = guess(len(real))
    about_real = decide(sync_redis, keys, ctx, who, name, real, via)
    about_missing = decide(sync_redis, keys, ctx, who, name, missing, via)
    assert about_real.replace(real, "ID") == about_missing.replace(missing, "ID")  # exactly the same answer
    assert holds.load(sync_redis, keys, real) is not None and relayed(sync_redis, keys) == []
    # The link's own moderator can.
    assert "approved" in decide(sync_redis, keys, ctx, TEACHER_A, "approve", real)
    assert len(relayed(sync_redis, keys)) == 1
    # Approving twice releases once.
    assert "approved" not in decide(sync_redis, keys, ctx, TEACHER_A, "approve", real)
    assert len(relayed(sync_redis, keys)) == 1
