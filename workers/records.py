"""What follows a published event: counters, the audit of each link's policy
decisions, the index of what crossed (for the member's access and erasure
requests) and the consent that a message keeps alive. Ids and counters only,
no text and no secret: the stage that published writes them (the translation
stage for what it translated), so no task is added per message."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict

from core import audit, persons, stats
from core.storage import link_activity, members
from core.storage.keys import Keys
from core.storage.writes import replies_of
from core.links import LinksConfig
from core.models import MessageRef

from .drafts import Outcome


def after_data(
    source: MessageRef,
    timestamp: float,
    author: str,
    person: str,
    outcome: Outcome,
    *,
    approved: bool = False,
    new: bool = True,
) -> dict:
    """What the records after publishing need, as plain data (JSON: it travels with the
    translation task). ``approved``: a held message a moderator released; its decisions
    were recorded when it was held, and it is not counted as a message again. ``new``: a
    new message (not an edit or a delete), counted in its links' activity (/status)."""
    data = {
        "source": asdict(source),
        "timestamp": timestamp,
        "author": author,
        "person": person,
        "counts": dict(outcome.counts),
        "crossed": sorted(outcome.crossed),
        "decisions": {link_id: dict(counter) for link_id, counter in outcome.decisions.items()},
    }
    if approved:
        data["approved"] = True
    if not new:
        data["new"] = False
    return data


def record_published(redis, keys: Keys, config: LinksConfig, after: dict) -> bool:
    """Write the records of a published event (``after``: :func:`after_data`, counters
    of later stages added). True when its author was erased while it was published:
    the caller has the moderation worker take it back (workers/stages/translation.py).

    All of it goes in one pipeline, one round trip (this runs for every message).
    Not a transaction: none of these writes depends on another, and a run that
    dies halfway is not repeated either way (the event is already published)."""
    source = MessageRef(**after["source"])
    author, person = after["author"], after["person"]
    approved = bool(after.get("approved"))
    crossed = after.get("crossed") or ()
    community = config.community_of(source.chat)
    new_message = after.get("new", True)

    def records(writes) -> None:
        if not approved:
            stats.count_into(writes, keys, "worker.processed")
        for name, n in Counter(after.get("counts") or {}).items():
            stats.count_into(writes, keys, name, n)
        stats.keep_into(writes, keys)
        for link_id, decisions in (after.get("decisions") or {}).items():
            # The author by person key (a salted hash), never by platform id.
            audit.record_decisions_into(
                writes,
                keys,
                link_id,
                Counter(decisions),
                subject=person,
                retention_days=config.known_link(link_id).policy.retention_days,
            )
        for link_id in crossed:
            policy = config.known_link(link_id).policy
            members.note_authored_into(writes, keys, author, f"{link_id}|{source.key}", policy.retention_days)
            if policy.consent == "opt_in" and not approved:
                members.refresh_consent_into(writes, keys, link_id, author, policy.retention_days)
            if new_message and community is not None:
                link_activity.note_relayed_into(writes, keys, link_id, community.id, policy.retention_days)
        # Read last, after the index entry is written: an erasure that read the member's index
        # before that entry existed had set their tombstone first, so it shows here.
        persons.erased_mark_into(writes, keys, person)

    mark = replies_of(redis, records)[-1]
    return bool(crossed) and persons.erased_before(mark, float(after.get("timestamp") or 0.0))
