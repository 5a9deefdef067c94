"""The dead-letter store against a real Redis: each entry expires with its own link's
retention, one member or one link cannot fill it, organisers see counts, reasons and
ages without the text unless they ask, and a retry sends each kind back its own way."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import replace
from types import SimpleNamespace

import pytest

from core import deadletters, persons
from core.task_queue import IN_FLIGHT
from core.storage.keys import DAY
from core.models import Author, ChatRef, EventKind, MessageRef, OutboundPost, PlatformEvent
from core.task_queue import TaskQueue

from ..processes import run_cli

pytestmark = pytest.mark.integration

SOURCE = MessageRef("telegram", "-1001", "42")


def a_post(link="twins", text="Meet at the market on Saturday", sender="Anna", retention_days=30, message="42"):
    return OutboundPost(
        kind=EventKind.NEW,
        link_id=link,
        destination=ChatRef("discord", "778899"),
        source=MessageRef("telegram", "-1001", message),
        sender=sender,
        community="Leicester",
        text=text,
        seq=3,
        retention_days=retention_days,
    )


def park(redis, keys, post, reason="Forbidden: bot was kicked", author="telegram:5001", **caps):
    post = replace(post, author=persons.person(redis, keys, author) if author else "")
    return deadletters.add(redis, keys, deadletters.post_record(post, reason, 8), **caps)


def test_each_entry_expires_with_its_own_links_retention(sync_redis, keys):
    assert park(sync_redis, keys, a_post(link="school", retention_days=7)) == 1
    for n in range(5):  # entries of another link keep arriving
        assert park(sync_redis, keys, a_post(link="town", retention_days=30, message=str(100 + n))) == 1
    by_link = {letter.link: letter for letter in deadletters.read(sync_redis, keys)}
    school_ttl = sync_redis.ttl(keys.dead_letter(by_link["school"].entry_id))
    town_ttl = sync_redis.ttl(keys.dead_letter(by_link["town"].entry_id))
    assert 7 * DAY - 60 < school_ttl <= 7 * DAY  # not reset to the newest entry's 30 days
    assert 29 * DAY < town_ttl <= 30 * DAY
    assert sync_redis.ttl(keys.dead_letter_index()) > 0 and sync_redis.ttl(keys.dead_letters_of_link("school")) > 0


def test_an_expired_entry_leaves_the_indexes(sync_redis, keys):
    park(sync_redis, keys, a_post())
    [letter] = deadletters.read(sync_redis, keys)
    sync_redis.delete(keys.dead_letter(letter.entry_id))  # what its TTL does
    assert deadletters.read(sync_redis, keys) == []
    assert sync_redis.zcard(keys.dead_letter_index()) == 0


def test_one_member_or_one_link_cannot_fill_it(sync_redis, keys):
    stored = [
        park(sync_redis, keys, a_post(message=str(n)), author="telegram:666", sender_cap=5, link_cap=8)
        for n in range(7)
    ]
    assert stored == [1] * 5 + [0] * 2  # the flooding member's sixth and seventh are refused
    others = [
        park(sync_redis, keys, a_post(message=str(50 + n)), author=f"telegram:{700 + n}", sender_cap=5, link_cap=8)
        for n in range(4)
    ]
    assert others == [1, 1, 1, 0]  # the link is full at 8
    assert park(sync_redis, keys, a_post(link="other"), author="telegram:800", sender_cap=5, link_cap=8) == 1
    stats = sync_redis.hgetall(keys.stats())
    assert stats["dead_letters.refused.sender_full"] == "2" and stats["dead_letters.refused.link_full"] == "1"
    assert len(deadletters.read(sync_redis, keys)) == 9
    assert len(deadletters.read(sync_redis, keys, link="twins")) == 8
    assert deadletters.refused(sync_redis, keys) == {"link_full": 1, "sender_full": 2}


def test_the_command_shows_counts_reasons_and_ages_and_text_only_when_asked(sync_redis, redis_url, prefix, keys):
    park(sync_redis, keys, a_post())
    park(sync_redis, keys, a_post(message="43", text="Bring umbrellas"))
    park(sync_redis, keys, a_post(link="school", message="44"), reason="Not Found: unknown channel")
    env = {"REDIS_URL": redis_url, "TWINBRIDGE_REDIS_PREFIX": prefix}
    listed = run_cli(["dead-letters", "list"], env=env)
    assert listed.returncode == 0, listed.stderr
    assert "2  link twins: Forbidden: bot was kicked" in listed.stdout
    assert "1  link school: Not Found: unknown channel" in listed.stdout
    assert " ago " in listed.stdout and "3 dead letter(s)" in listed.stdout
    for private in ("Saturday", "umbrellas", "Anna", "5001"):
        assert private not in listed.stdout
    only = run_cli(["dead-letters", "list", "--link", "school"], env=env)
    assert "1 dead letter(s)" in only.stdout

    entry_id = next(letter.entry_id for letter in deadletters.read(sync_redis, keys) if letter.link == "school")
    shown = run_cli(["dead-letters", "show", entry_id], env=env)
    assert shown.returncode == 0, shown.stderr
    assert "Not Found" in shown.stdout and "Saturday" not in shown.stdout and "Anna" not in shown.stdout
    with_text = run_cli(["dead-letters", "show", entry_id, "--text"], env=env)
    assert "Meet at the market on Saturday" in with_text.stdout and "Anna · Leicester" in with_text.stdout

    purged = run_cli(["dead-letters", "purge", entry_id], env=env)
    assert "1 dead letter(s) purged" in purged.stdout
    assert run_cli(["dead-letters", "show", entry_id], env=env).returncode == 1
    assert "2 dead letter(s)" in run_cli(["dead-letters", "list"], env=env).stdout


def test_retry_sends_a_post_to_its_outbox_and_an_event_back_through_ingress(sync_redis, prefix, keys):
    park(sync_redis, keys, a_post())
    event = PlatformEvent(
        kind=EventKind.NEW, source=SOURCE, author=Author(id="5001", display_name="Anna"), text="hello", seq=4
    ).to_dict()
    sync_redis.set(keys.seq(SOURCE.chat.key), 9)
    digest = persons.person(sync_redis, keys, "telegram:5001")
    assert (
        deadletters.add(sync_redis, keys, deadletters.event_record(event, "twins", "AttributeError", 4, digest, 30))
        == 1
    )
    tasks = TaskQueue.for_settings(SimpleNamespace(redis_prefix=prefix))
    assert deadletters.retry(sync_redis, keys, tasks=tasks) == 2
    [(_, post_fields)] = sync_redis.xrange(keys.outbox("discord"))
    assert json.loads(post_fields["post"])["text"] == "Meet at the market on Saturday"
    assert json.loads(post_fields["post"])["author"] == digest  # still erasable after a retry
    [(entry_id, event_fields)] = sync_redis.xrange(keys.ingress())
    assert json.loads(event_fields["event"])["seq"] == 10  # a new position: the lanes moved past the old one
    assert sync_redis.get(keys.in_flight(SOURCE.chat.key, 10)) == entry_id
    [message] = sync_redis.lrange(tasks.key, 0, -1)
    assert json.loads(message)["headers"]["id"] == event_fields["task"]  # the sweeper finds it queued
    args = json.loads(base64.b64decode(json.loads(message)["body"]))[0]
    assert args == [json.loads(event_fields["event"]), IN_FLIGHT]
    assert deadletters.read(sync_redis, keys) == []


def test_the_old_stream_is_taken_over_with_each_entrys_own_expiry(sync_redis, keys):
    post = a_post(retention_days=7)
    sync_redis.xadd(
        keys.dead_letters(), {"post": json.dumps(post.to_dict()), "reason": "Forbidden", "attempts": "1", "at": "1"}
    )  # long expired
    sync_redis.xadd(
        keys.dead_letters(),
        {"post": json.dumps(post.to_dict()), "reason": "Forbidden", "attempts": "2", "at": str(int(time.time()))},
    )
    [letter] = deadletters.read(sync_redis, keys)
    assert letter.attempts == 2 and letter.reason == "Forbidden"
    assert not sync_redis.exists(keys.dead_letters())
    assert sync_redis.ttl(keys.dead_letter(letter.entry_id)) <= 7 * DAY


def test_forget_author_removes_only_that_members_entries(sync_redis, keys):
    park(sync_redis, keys, a_post(), author="telegram:5001")
    park(sync_redis, keys, a_post(message="43"), author="telegram:5002")
    assert deadletters.forget_author(sync_redis, keys, "telegram:5001") == 1
    [left] = deadletters.read(sync_redis, keys)
    assert left.source.endswith(":43")
    assert deadletters.forget_author(sync_redis, keys, "telegram:5001") == 0  # idempotent
