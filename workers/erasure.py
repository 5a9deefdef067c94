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
- their answers to event notices (RSVP): the counts drop, and a refresh shows it
  on the notices' copies;
- the copy of their Telegram profile photo kept as their Discord avatar, and its URL;
- the reactions counted on the copies of their messages: the count line replying to their
  Telegram message (the bot's reactions on a Discord one) is taken back by the adapter, its
  keys go, and later reactions on copies not yet deleted are not counted;
- what of theirs is still on its way: entries in the outbox streams and the
  ingress stream are removed, their Telegram albums still being gathered are dropped,
  and a tombstone (by person key, with the erasure time) makes the workers and the
  adapters refuse anything they wrote before it that is still in someone's hands (a task running, a post in a lane);
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

import logging
import time
from collections import Counter
from functools import partial

from core import audit, deadletters, persons
from core.storage import albums, avatars, outbox, pending_work
from core.storage.erasures import ErasureRecords
from core.storage.members import authored_batch
from core.storage.keys import Keys
from core.links import LinksConfig
from core.models import PLATFORMS, ChatRef, EventKind, MessageRef, OutboundPost

from . import erasure_queue, rsvp
from .privacy import forget_pseudonym

log = logging.getLogger(__name__)

BATCH = 500
ERASED = "erased"
COUNTS = (
    "copies_to_delete",
    "quotes_dropped",
    "notices_to_delete",
    "held",
    "consents",
    "pseudonyms",
    "audit_entries",
    "in_flight",
    "dead_letters",
    "event_answers",
    "profile_photos",
)


def erase(redis, keys: Keys, config: LinksConfig, user_ref: str) -> dict:
    """Erase ``user_ref`` ("telegram:5001"); returns counts (no content)."""
    person = persons.person(redis, keys, user_ref)
    longest = max((link.policy.retention_days for link in config.links), default=1)
    records = ErasureRecords(redis, keys)
    erased_at = records.begin(person, user_ref, time.time(), longest)

    done: Counter = Counter(dict.fromkeys(COUNTS, 0))
    done["in_flight"] = _drop_in_flight(redis, keys, person, user_ref, erased_at)
    touched: set[str] = set()
    while members := authored_batch(redis, keys, user_ref, BATCH):
        _take_back(records, config, user_ref, members, done, touched)
    while entries := records.notices_batch(person, BATCH):
        _delete_notices(records, person, entries, done)
    _forget_gates(redis, keys, records, config, user_ref, done, touched)
    for link in config.links:
        rewritten = audit.rewrite_naming(redis, keys, link.id, (person, user_ref), ERASED)
        done["audit_entries"] += rewritten
        if rewritten:
            touched.add(link.id)
    done["dead_letters"] = _erase_dead_letters(redis, keys, person, user_ref)
    # Their answers to event notices: the counts drop, and the notices' copies show it.
    done["event_answers"] = rsvp.forget(redis, keys, person)
    # The copy of their Telegram profile photo shown as their avatar on Discord, and its URL.
    done["profile_photos"] = avatars.forget(redis, keys, person)

    audit_writes = []
    for link_id in sorted(touched):
        kept = config.link(link_id)  # None: the link left the configuration since
        audit_writes.append(
            partial(
                audit.record_into,
                keys=keys,
                link_id=link_id,
                action="erased",
                subject=ERASED,
                detail=f"copies={done['copies_to_delete']} consents={done['consents']}",
                retention_days=kept.policy.retention_days if kept else longest,
            )
        )
    records.finish(user_ref, person, audit_writes)
    return dict(done)


def resume(redis, keys: Keys, config: LinksConfig) -> int:
    """Finish every erasure a crash interrupted; returns how many."""
    finished = 0
    for user_ref in ErasureRecords(redis, keys).unfinished():
        erase(redis, keys, config, user_ref)
        finished += 1
    if finished:
        log.info("resumed %d interrupted erasure(s)", finished)
    return finished


def erase_person_keyed(redis, keys: Keys, person: str) -> None:
    """What is filed under an erased member's person key alone (their member ref unknown):
    the bot's notices showing their data, their answers to event notices, their profile
    photo. `twinbridge restore` runs it for a member erased since the backup whose data
    the file brings back but names by person key only."""
    records = ErasureRecords(redis, keys)
    done: Counter = Counter()
    while entries := records.notices_batch(person, BATCH):
        _delete_notices(records, person, entries, done)
    rsvp.forget(redis, keys, person)
    avatars.forget(redis, keys, person)


def _take_back(
    records: ErasureRecords, config: LinksConfig, user_ref: str, members: list[str], done: Counter, touched: set[str]
) -> None:
    """One batch of the member's index: delete posts for the relayed copies, edit posts
    for the replies quoting them, the held messages; then the batch's index entries."""
    posts: list[OutboundPost] = []
    unquoted: list[str] = []
    reactions: list[tuple[MessageRef, int, bool]] = []
    for member, found in zip(members, records.read_authored(members), strict=True):
        kind, _, rest = member.partition("|")
        if kind == "held":
            done["held"] += found
            continue
        copies, quoting, shows_reactions = found
        link = config.link(kind)
        retention = link.policy.retention_days if link else 1
        source = MessageRef(*rest.split(":", 2))
        known = {destination: len(ids) for destination, ids in copies.get(kind, {}).items()}
        if known:
            touched.add(kind)
            done["copies_to_delete"] += sum(known.values())
        # Every chat the message was routed to, not only those with a recorded copy: a
        # copy whose record is being written right now is recorded before this delete is
        # taken up, since it waits in the same outbox lane behind the post.
        for destination in sorted(set(known) | _routed(config, kind, source.chat)):
            posts.append(
                OutboundPost(
                    kind=EventKind.DELETE,
                    link_id=kind,
                    destination=ChatRef.parse(destination),
                    source=source,
                    sender="",
                    community="",
                    retention_days=retention,
                )
            )
        for entry in quoting:
            link_id, reply_source, destination = entry.split("|", 2)
            done["quotes_dropped"] += 1
            posts.append(
                OutboundPost(
                    kind=EventKind.UNQUOTE,
                    link_id=link_id,
                    destination=ChatRef.parse(destination),
                    source=MessageRef(*reply_source.split(":", 2)),
                    sender="",
                    community="",
                    retention_days=retention,
                )
            )
        unquoted.append(rest)
        # The reactions on its copies: counted no more, and the count line replying to it
        # (a Telegram original; the bot's reactions on a Discord one) taken back by its adapter.
        reactions.append((source, retention, shows_reactions))
    records.retire_authored(user_ref, members, posts, unquoted, reactions)


def _routed(config: LinksConfig, link_id: str, source_chat: ChatRef) -> set[str]:
    """The chats ``link_id`` relays a message of ``source_chat`` to."""
    link = config.link(link_id)
    if link is None:
        return set()
    return {
        chat.key
        for community in link.communities
        for chat in config.communities[community].chats
        if chat != source_chat
    }


def _delete_notices(records: ErasureRecords, person: str, entries: list[str], done: Counter) -> None:
    """One batch of the bot's notices showing the member's data: delete posts for them."""
    posts = []
    for entry in entries:
        link_id, source, destination, private_to = entry.split("|", 3)
        done["notices_to_delete"] += 1
        posts.append(
            OutboundPost(
                kind=EventKind.DELETE,
                link_id=link_id,
                destination=ChatRef.parse(destination),
                source=MessageRef(*source.split(":", 2)),
                sender="",
                community="",
                private_to=private_to,
                retention_days=1,
            )
        )
    records.retire_notices(person, entries, posts)


def _forget_gates(
    redis, keys: Keys, records: ErasureRecords, config: LinksConfig, user_ref: str, done: Counter, touched: set[str]
) -> None:
    consented = records.forget_consents([link.id for link in config.links], user_ref)
    for link, consents in zip(config.links, consented, strict=True):
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
        for page in pending_work.stream_pages(redis, stream):
            mine = [entry_id for entry_id, fields in page if outbox.author_of(fields) == person]
            if mine:
                outbox.drop(redis, keys, platform, mine)
                dropped += len(mine)
    dropped += albums.forget_gathered(redis, keys, lambda event: erasure_queue.written_by(event, user_ref, erased_at))
    dropped += erasure_queue.drop_ingress_entries(redis, keys, user_ref, erased_at)
    dropped += erasure_queue.drop_queued_tasks(redis, keys, user_ref, erased_at)
    return dropped


def _erase_dead_letters(redis, keys: Keys, person: str, user_ref: str) -> int:
    """Dead letters keep a post's text, the name as shown and a parked event's ids
    (issue 12 item 1): the dead-letter module removes the member's, filed under the
    same person key as everything else."""
    return deadletters.forget_author(redis, keys, user_ref)
