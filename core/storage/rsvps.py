"""Members' answers to event notices (RSVP, issue 14), synchronous client.

Per notice: each member's answer (by person key, core/persons.py: never a platform id)
with the community of the chat they answered in and when, and the answers counted per
community and choice, changed together by one script, so a member counts once
whatever they press and however often. Per member: the notices they answered (for
/mydata and /forgetme). Everything expires with the notice (the link's retention after
the event); the member's index entries each carry their own expiry.

The counts carry a version, bumped by every change: the refresh that shows them on the
notice's copies queues its edits only for a version newer than the last one queued
(:func:`show`), so refreshes finishing out of order never show older counts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..announcements import RSVP_CHOICES
from ..models import OutboundPost
from ..task_queue import MODERATION_QUEUE, REFRESH_RSVP_TASK, TaskQueue
from . import scripts
from .keys import Keys
from .outbox import script_streams

VERSION = "~version"  # the counts hash's field holding their version (no community id has "~")
FORGET_BATCH = 200  # notices taken back per script run


@dataclass(frozen=True)
class Rsvp:
    """One member's answer to one notice."""

    announcement_id: str
    choice: str
    community: str
    at: float  # when they chose it (Unix seconds)


def record(
    redis,
    keys: Keys,
    announcement_id: str,
    person: str,
    community: str,
    choice: str,
    ttl: int,
    now: float | None = None,
) -> bool:
    """Record ``person``'s answer ``choice`` (one of RSVP_CHOICES), given in a chat of
    ``community`` at ``now``, kept ``ttl`` seconds. True when the counts changed (a first
    answer, a changed mind or a changed community); False for the same answer again, or
    for one given before the answer recorded (presses handled out of order)."""
    if choice not in RSVP_CHOICES:
        raise ValueError(f"not an RSVP choice: {choice!r}")
    now = time.time() if now is None else now
    ttl = max(1, int(ttl))
    changed = scripts.run(
        redis,
        "rsvp_record",
        [keys.rsvp_choices(announcement_id), keys.rsvp_counts(announcement_id), keys.rsvps_of(person)],
        [person, choice, community, repr(now), ttl, repr(now + ttl), announcement_id],
    )
    return bool(changed)


def _counted(raw: dict) -> tuple[dict[str, dict[str, int]], int]:
    by_community: dict[str, dict[str, int]] = {}
    version = 0
    for field, value in raw.items():
        if field == VERSION:
            version = int(value)
            continue
        community, _, choice = field.partition("|")
        if choice in RSVP_CHOICES and int(value) > 0:
            by_community.setdefault(community, dict.fromkeys(RSVP_CHOICES, 0))[choice] = int(value)
    return by_community, version


def _summed(by_community: dict[str, dict[str, int]]) -> dict[str, int]:
    totals = dict.fromkeys(RSVP_CHOICES, 0)
    for counts in by_community.values():
        for choice, n in counts.items():
            totals[choice] += n
    return totals


def totals(redis, keys: Keys, announcement_id: str) -> dict[str, int]:
    """{"going": n, "maybe": n, "cant": n} across every community of the link."""
    return _summed(breakdown(redis, keys, announcement_id))


def breakdown(redis, keys: Keys, announcement_id: str) -> dict[str, dict[str, int]]:
    """{community id: {"going": n, "maybe": n, "cant": n}} for the communities whose
    members answered (for organisers: /announcements, `twinbridge announce --list`)."""
    return _counted(redis.hgetall(keys.rsvp_counts(announcement_id)))[0]


def versioned_totals(redis, keys: Keys, announcement_id: str) -> tuple[dict[str, int], int]:
    """The totals and their version, read together (what a refresh shows)."""
    by_community, version = _counted(redis.hgetall(keys.rsvp_counts(announcement_id)))
    return _summed(by_community), version


def of_person(redis, keys: Keys, person: str) -> list[Rsvp]:
    """The member's answers that have not expired, oldest first (for /mydata)."""
    ids = redis.zrangebyscore(keys.rsvps_of(person), time.time(), "+inf")
    if not ids:
        return []
    pipe = redis.pipeline(transaction=False)
    for announcement_id in ids:
        pipe.hget(keys.rsvp_choices(announcement_id), person)
    found = []
    for announcement_id, value in zip(ids, pipe.execute(), strict=True):
        if not value:
            continue
        choice, community, at = (value.decode() if isinstance(value, bytes) else value).split("|", 2)
        found.append(Rsvp(announcement_id, choice, community, float(at)))
    return sorted(found, key=lambda r: r.at)


def forget(redis, keys: Keys, person: str) -> list[str]:
    """Take back every answer of ``person`` (erasure): their counts drop, their index
    goes. The ids of the notices whose counts changed (to show them again)."""
    index = keys.rsvps_of(person)
    touched: list[str] = []
    while ids := redis.zrange(index, 0, FORGET_BATCH - 1):
        ids = [i.decode() if isinstance(i, bytes) else i for i in ids]
        pairs = [key for i in ids for key in (keys.rsvp_choices(i), keys.rsvp_counts(i))]
        done = scripts.run(redis, "rsvp_forget", [index, *pairs], [person, *ids])
        touched += [d.decode() if isinstance(d, bytes) else d for d in done]
    return touched


def schedule_refresh(
    redis, keys: Keys, announcement_id: str, delay: float, gate: int, now: float | None = None
) -> bool:
    """Schedule the refresh of the notice's shown counts (the task REFRESH_RSVP_TASK on the
    moderation queue, due ``delay`` seconds from now) unless one is scheduled and has not
    begun: at most one per notice waits, however many answers come meanwhile. The gate
    lapses after ``gate`` seconds, so a refresh lost with its worker blocks nothing for
    long. True when this call scheduled it."""
    queue = TaskQueue.for_prefix(keys.prefix, MODERATION_QUEUE)
    due = (time.time() if now is None else now) + delay
    message = queue.message(REFRESH_RSVP_TASK, [announcement_id], eta=due)
    return bool(
        scripts.run(
            redis,
            "rsvp_schedule_refresh",
            [keys.rsvp_refresh(announcement_id), queue.key],
            [max(1, int(gate)), message],
        )
    )


def release_refresh(redis, keys: Keys, announcement_id: str) -> None:
    """The refresh begins: an answer from now on schedules the next (this one may not see it)."""
    redis.delete(keys.rsvp_refresh(announcement_id))


def show(redis, keys: Keys, announcement_id: str, version: int, edits: list[OutboundPost], ttl: int) -> bool:
    """Queue ``edits`` (the notice's copies showing the counts of ``version``) to the
    outboxes, unless this version or a newer one was queued already; atomically. True
    when queued."""
    stream_keys, args = script_streams(keys, edits)
    return bool(
        scripts.run(
            redis,
            "rsvp_show",
            [keys.rsvp_shown(announcement_id), *stream_keys],
            [int(version), max(1, int(ttl)), *args],
        )
    )
