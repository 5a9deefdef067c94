"""One salted hash per person (issue 12 follow-up): the dead letters, the outbox entries
and the answers to a member's commands name the member by the same person key
(core/persons.py) as the audit, the tombstones and the notices; there is no second
salt. Real Redis, the real publishing, parking and erasure functions."""

from __future__ import annotations

import json
import time

import pytest

from core import deadletters, persons
from core.storage.keys import DAY
from core.links import load_links
from core.models import Author, ChatRef, Command, EventKind, MessageRef, OutboundPost, PlatformEvent
from workers import erasure, failures, ordering, publishing

pytestmark = pytest.mark.integration

ANNA = "telegram:5001"
SOURCE = MessageRef("telegram", "-1001234567890", "42")
CONFIG = """
version: 1
communities:
  leicester: {name: Leicester, language: en, chats: [{telegram: -1001234567890}]}
  krefeld: {name: Krefeld, language: de, chats: [{discord: 112233445566778899}]}
links:
  - {id: twins, communities: [leicester, krefeld], policy: community}
"""


def an_event(seq=3) -> PlatformEvent:
    return PlatformEvent(
        kind=EventKind.NEW,
        source=SOURCE,
        author=Author(id="5001", display_name="Anna Smith"),
        text="Meet at the market",
        seq=seq,
    )


def a_post(author: str) -> OutboundPost:
    return OutboundPost(
        kind=EventKind.NEW,
        link_id="twins",
        destination=ChatRef("discord", "112233445566778899"),
        source=SOURCE,
        sender="Anna",
        community="Leicester",
        text="Meet at the market",
        seq=3,
        author=author,
        written_at=time.time(),
    )


def test_outbox_entries_carry_one_author_reference_the_posts_person_key(sync_redis, keys):
    anna = persons.person(sync_redis, keys, ANNA)
    event = an_event()
    assert publishing.publish(sync_redis, keys, event, [a_post(anna)])
    publishing.send_notices(
        sync_redis,
        keys,
        [
            OutboundPost(
                kind=EventKind.NOTICE,
                link_id="twins",
                destination=SOURCE.chat,
                source=SOURCE,
                sender="",
                community="",
                text="say /consent",
                private_to="5001",
            )
        ],
        author=ANNA,
    )
    entries = sync_redis.xrange(keys.outbox("discord")) + sync_redis.xrange(keys.outbox("telegram"))
    assert len(entries) == 2
    for _, fields in entries:
        assert set(fields) == {"post"}  # no second, differently salted digest beside the post
        assert json.loads(fields["post"])["author"] == anna


def test_commands_answers_are_tagged_with_the_members_person_key(sync_redis, keys):
    command = Command(
        name="privacy",
        args="",
        platform="telegram",
        chat_id="-1001234567890",
        message_id="7",
        user=Author(id="5001", display_name="Anna Smith"),
        seq=4,
    )
    answer = OutboundPost(
        kind=EventKind.NOTICE,
        link_id="",
        destination=SOURCE.chat,
        source=MessageRef("telegram", "-1001234567890", "7"),
        sender="",
        community="",
        text="notice",
    )
    assert ordering.finish_command(sync_redis, keys, command, [answer], "")
    [(_, fields)] = sync_redis.xrange(keys.outbox("telegram"))
    assert set(fields) == {"post"}
    assert json.loads(fields["post"])["author"] == persons.person(sync_redis, keys, ANNA)


def test_dead_letters_are_filed_under_the_person_key_and_no_other_salt_exists(sync_redis, keys, tmp_path):
    (tmp_path / "links.yaml").write_text(CONFIG)
    config = load_links(tmp_path / "links.yaml")
    anna = persons.person(sync_redis, keys, ANNA)
    assert failures.park_event(sync_redis, keys, config, an_event().to_dict(), "", "AttributeError", 4) == 1
    assert deadletters.add(sync_redis, keys, deadletters.post_record(a_post(anna), "Forbidden", 8)) == 1
    letters = deadletters.read(sync_redis, keys)
    assert [letter.author for letter in letters] == [anna, anna]
    assert sync_redis.zcard(keys.dead_letters_of_author(anna)) == 2
    assert not list(sync_redis.scan_iter(match=keys.prefix + "dead:salt*"))
    # Erasure finds both by the same key, and twinbridge's erasure reports them.
    done = erasure.erase(sync_redis, keys, config, ANNA)
    assert done["dead_letters"] == 2 and deadletters.read(sync_redis, keys) == []


def test_entries_filed_under_the_old_digest_are_moved_to_the_person_key(sync_redis, keys):
    """Dead letters written before this change carry a digest under the old `dead:salt`:
    they are re-filed (the person key is worked out from what each entry holds), the
    old salt and index are dropped, and erasure finds them."""
    legacy_salt = keys.prefix + "dead:salt"
    sync_redis.set(legacy_salt, "00" * 16)
    old_digest = "d" * 32
    now = int(time.time())
    for entry_id, payload, kind in (
        ("aaa", an_event().to_dict(), deadletters.EVENT),
        ("bbb", a_post(persons.person(sync_redis, keys, ANNA)).to_dict(), deadletters.POST),
    ):
        sync_redis.hset(
            keys.dead_letter(entry_id),
            mapping={
                "kind": kind,
                "link": "twins",
                "source": SOURCE.key,
                "destination": "",
                "what": "new",
                "reason": "x",
                "attempts": "1",
                "at": str(now),
                "expires": str(now + DAY),
                "author": old_digest,
                "payload": json.dumps(payload),
            },
        )
        sync_redis.expire(keys.dead_letter(entry_id), DAY)
        for index in (
            keys.dead_letter_index(),
            keys.dead_letters_of_link("twins"),
            keys.dead_letters_of_author(old_digest),
        ):
            sync_redis.zadd(index, {entry_id: now + DAY})
    assert {letter.author for letter in deadletters.read(sync_redis, keys)} == {persons.person(sync_redis, keys, ANNA)}
    assert not sync_redis.exists(legacy_salt) and not sync_redis.exists(keys.dead_letters_of_author(old_digest))
    assert deadletters.forget_author(sync_redis, keys, ANNA) == 2
    assert deadletters.read(sync_redis, keys) == []
