"""Erasure (GDPR Art. 17: /forgetme, `twinbridge forget`): take back everything
the bridge keeps or shows of one member. Plain functions over Redis.

What goes:
- the relayed copies of their messages (delete posts queued for the adapters,
  which delete them on the platforms and their id-map entries with them);
- the quotes of their messages at the top of others' relayed replies on
  Discord (edit posts queued: the quote is dropped, the reply stays);
- the bot's notices showing their data: the held messages shown to the
  moderators privately, the decisions naming them, their /mydata answers;
- their messages held for approval, their consent and "told once" markers,
  their pseudonyms (and the names' claims), their index of what they wrote;
- what of theirs is still on its way: entries in the outbox streams and the
  ingress stream are removed, and a tombstone (by person key, with the erasure
  time) makes the workers and the adapters refuse anything they wrote before
  it that is still in someone's hands (a task running, a post in a lane);
- their name in the audit log: entries keyed by their person key (or, written
  before people were keyed, their platform id) are rewritten to "erased".

Bounded, idempotent, resumable: the work goes in batches (one read and one
write round trip per ``BATCH`` items, never one per message); every step can
run again harmlessly (a batch's deletes are queued and its index entries
removed in one transaction); and an erasure record (with the member's ref, the
only thing needed to go on) lives until the last step, so an erasure a crash
interrupted is driven to the end by :func:`resume` (each worker calls it when it
starts, through the resume task).
"""
from __future__ import annotations

import json
import logging
import time
from collections import Counter

from core import audit, deadletters, persons
from core.storage import outbox
from core.storage.keys import DAY, Keys
from core.links import LinksConfig
from core.models import PLATFORMS, ChatRef, EventKind, MessageRef, OutboundPost

from . import erasure_queue
from .privacy import forget_pseudonym

log = logging.getLogger(__name__)

BATCH = 500
ERASED = "erased"
COUNTS = ("copies_to_delete", "quotes_dropped", "notices_to_delete", "held", "consents", "pseudonyms",
          "audit_entries", "in_flight", "dead_letters")


def erase(redis, keys: Keys, config: LinksConfig, user_ref: str) -> dict:
    """Erase ``user_ref`` ("telegram:5001"); returns counts (no content)."""
    person = persons.person(redis, keys, user_ref)
    longest = max((link.policy.retention_days for link in config.links), default=1)
    job = keys.erasure(person)
    started = redis.hget(job, "started")
    erased_at = float(started) if started else time.time()
    begin = redis.pipeline(transaction=True)
    begin.hset(job, mapping={"user": user_ref, "started": repr(erased_at)})
    begin.expire(job, longest * DAY)
    persons.tombstone_into(begin, keys, person, erased_at, longest)
    begin.execute()

    done: Counter = Counter(dict.fromkeys(COUNTS, 0))
    done["in_flight"] = _drop_in_flight(redis, keys, person, user_ref, erased_at)
    touched: set[str] = set()
    while members := redis.zrange(keys.authored(user_ref), 0, BATCH - 1):
        _take_back(redis, keys, config, user_ref, members, done, touched)
    while entries := redis.zrange(keys.notices_about(person), 0, BATCH - 1):
        _delete_notices(redis, keys, person, entries, done)
    _forget_gates(redis, keys, config, user_ref, done, touched)
    for link in config.links:
        rewritten = audit.rewrite_naming(redis, keys, link.id, (person, user_ref), ERASED)
        done["audit_entries"] += rewritten
        if rewritten:
            touched.add(link.id)
    done["dead_letters"] = _erase_dead_letters(redis, keys, person, user_ref)

    finish = redis.pipeline(transaction=True)
    for link_id in sorted(touched):
        kept = config.link(link_id)  # None: the link left the configuration since
        audit.record_into(finish, keys, link_id, "erased", subject=ERASED,
                          detail=f"copies={done['copies_to_delete']} consents={done['consents']}",
                          retention_days=kept.policy.retention_days if kept else longest)
    finish.delete(keys.authored(user_ref), keys.notices_about(person), job)
    finish.execute()
    return dict(done)


def resume(redis, keys: Keys, config: LinksConfig) -> int:
    """Finish every erasure a crash interrupted; returns how many."""
    finished = 0
    for job in redis.scan_iter(match=keys.erasures(), count=1000):
        user_ref = redis.hget(job, "user")
        if user_ref:
            erase(redis, keys, config, user_ref)
            finished += 1
    if finished:
        log.info("resumed %d interrupted erasure(s)", finished)
    return finished


def _take_back(redis, keys: Keys, config: LinksConfig, user_ref: str, members: list[str],
               done: Counter, touched: set[str]) -> None:
    """One batch of the member's index: delete posts for the relayed copies, edit posts
    for the replies quoting them, the held messages; then the batch's index entries."""
    read = redis.pipeline(transaction=False)
    for member in members:
        kind, _, rest = member.partition("|")
        if kind == "held":
            read.delete(keys.held(rest))  # nothing to read: gone is gone
        else:
            read.hgetall(keys.idmap(rest))
            read.smembers(keys.quoted_in(rest))
    replies = iter(read.execute())
    write = redis.pipeline(transaction=True)
    for member in members:
        kind, _, rest = member.partition("|")
        if kind == "held":
            done["held"] += next(replies)
            continue
        copies, quoting = next(replies), next(replies)
        link = config.link(kind)
        retention = link.policy.retention_days if link else 1
        source = MessageRef(*rest.split(":", 2))
        known = {}
        for field, ids in copies.items():
            link_id, _, destination = field.partition("|")
            if link_id == kind:
                known[destination] = len(json.loads(ids))
        if known:
            touched.add(kind)
            done["copies_to_delete"] += sum(known.values())
        # Every chat the message was routed to, not only those with a recorded copy: a
        # copy whose record is being written right now is recorded before this delete is
        # taken up, since it waits in the same outbox lane behind the post.
        for destination in sorted(set(known) | _routed(config, kind, source.chat)):
            outbox.append_into(write, keys, OutboundPost(kind=EventKind.DELETE, link_id=kind,
                                                  destination=ChatRef.parse(destination), source=source,
                                                  sender="", community="", retention_days=retention))
        for entry in quoting:
            link_id, reply_source, destination = entry.split("|", 2)
            done["quotes_dropped"] += 1
            outbox.append_into(write, keys, OutboundPost(kind=EventKind.UNQUOTE, link_id=link_id,
                                                  destination=ChatRef.parse(destination),
                                                  source=MessageRef(*reply_source.split(":", 2)),
                                                  sender="", community="", retention_days=retention))
        write.delete(keys.quoted_in(rest))
    write.zrem(keys.authored(user_ref), *members)
    write.execute()


def _routed(config: LinksConfig, link_id: str, source_chat: ChatRef) -> set[str]:
    """The chats ``link_id`` relays a message of ``source_chat`` to."""
    link = config.link(link_id)
    if link is None:
        return set()
    return {chat.key for community in link.communities for chat in config.communities[community].chats
            if chat != source_chat}


def _delete_notices(redis, keys: Keys, person: str, entries: list[str], done: Counter) -> None:
    """One batch of the bot's notices showing the member's data: delete posts for them."""
    write = redis.pipeline(transaction=True)
    for entry in entries:
        link_id, source, destination, private_to = entry.split("|", 3)
        done["notices_to_delete"] += 1
        outbox.append_into(write, keys, OutboundPost(kind=EventKind.DELETE, link_id=link_id,
                                              destination=ChatRef.parse(destination),
                                              source=MessageRef(*source.split(":", 2)), sender="", community="",
                                              private_to=private_to, retention_days=1))
    write.zrem(keys.notices_about(person), *entries)
    write.execute()


def _forget_gates(redis, keys: Keys, config: LinksConfig, user_ref: str, done: Counter,
                  touched: set[str]) -> None:
    pipe = redis.pipeline(transaction=False)
    for link in config.links:
        pipe.delete(keys.consent(link.id, user_ref))
        pipe.delete(keys.explained(link.id, user_ref))
    replies = pipe.execute()
    for link, consents in zip(config.links, replies[::2], strict=True):
        done["consents"] += consents
        if consents:
            touched.add(link.id)
        # Their pseudonym in the link, and its claim (the name is free again).
        done["pseudonyms"] += 1 if forget_pseudonym(redis, keys, link.id, user_ref) else 0


def _drop_in_flight(redis, keys: Keys, person: str, user_ref: str, erased_at: float) -> int:
    """Remove what the member wrote that is still on its way: outbox entries tagged
    with their person key; their events and commands no worker has run yet, from the
    ingress stream and from the broker's queue and unacked hash (workers/erasure_queue.py,
    with their positions' markers, so no lane waits for them). A post or task a live
    worker or adapter is handling right now is refused by the tombstone instead."""
    dropped = 0
    for platform in PLATFORMS:
        stream = keys.outbox(platform)
        for page in erasure_queue.stream_pages(redis, stream):
            mine = [entry_id for entry_id, fields in page if outbox.author_of(fields) == person]
            if mine:
                outbox.drop(redis, keys, platform, mine)
                dropped += len(mine)
    dropped += erasure_queue.drop_ingress_entries(redis, keys, user_ref, erased_at)
    dropped += erasure_queue.drop_queued_tasks(redis, keys, user_ref, erased_at)
    return dropped


def _erase_dead_letters(redis, keys: Keys, person: str, user_ref: str) -> int:
    """Dead letters keep a post's text, the name as shown and a parked event's ids
    (issue 12 item 1): the dead-letter module removes the member's, filed under the
    same person key as everything else."""
    return deadletters.forget_author(redis, keys, user_ref)
