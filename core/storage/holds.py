"""Messages held for a moderator (sync client): the hold (a JSON record: link, author,
the event with its text) under a random ID, the event's reference to its ID, the
notices queued with a hold and the translation task handed an approved one, atomically."""

from __future__ import annotations

import json
import time

from ..models import OutboundPost, PlatformEvent
from . import scripts
from .keys import DAY, Keys
from .outbox import script_streams


def record(link_id: str, author: str, event: PlatformEvent, shown_as: str = "", preview: str = "") -> str:
    """The stored form of a hold. ``shown_as`` and ``preview``: the sender and the text as the
    moderators are shown them (pseudonymised, redacted), for the web console (issue 18)."""
    return json.dumps(
        {"link_id": link_id, "author": author, "event": event.to_dict(), "shown_as": shown_as, "preview": preview},
        ensure_ascii=False,
    )


def pending_in_link(redis, keys: Keys, link_id: str) -> list[tuple[str, dict]]:
    """``link_id``'s holds still waiting, oldest first: (hold ID, the stored hold)."""
    index = keys.held_of_link(link_id)
    ids = redis.zrangebyscore(index, time.time(), "+inf")
    if not ids:
        return []
    found = [(hold_id, raw) for hold_id, raw in zip(ids, redis.mget([keys.held(i) for i in ids]), strict=True) if raw]
    return [(hold_id, json.loads(raw)) for hold_id, raw in found]


def hold(
    redis,
    keys: Keys,
    link_id: str,
    dedup_key: str,
    hold_id: str,
    stored: str,
    retention_days: int,
    notices: list[OutboundPost],
) -> tuple[str, int]:
    """Store the hold ``stored`` (see :func:`record`) under ``hold_id`` and queue
    ``notices``, unless the event was held in this link before: (its ID, 1) when held
    now, (the earlier ID, 0) when held before, ('', 0) when ``hold_id`` is taken."""
    stream_keys, args = script_streams(keys, notices)
    got, created = scripts.run(
        redis,
        "hold",
        [keys.hold_ref(link_id, dedup_key), keys.held(hold_id), *stream_keys],
        [hold_id, stored, retention_days * DAY, *args],
    )
    if created:
        # Beside the script: a crash between the two leaves the hold uncounted in /status
        # only (it is decided as ever); what is decided is pruned when counted.
        index = keys.held_of_link(link_id)
        pipe = redis.pipeline(transaction=False)
        pipe.zadd(index, {got: time.time() + retention_days * DAY})
        pipe.expire(index, retention_days * DAY)
        pipe.execute()
    return got, created


def waiting_in_link(redis, keys: Keys, link_id: str) -> int:
    """How many of ``link_id``'s messages wait for a moderator (what /status shows)."""
    index = keys.held_of_link(link_id)
    redis.zremrangebyscore(index, "-inf", time.time())
    ids = redis.zrange(index, 0, -1)
    if not ids:
        return 0
    pipe = redis.pipeline(transaction=False)
    for hold_id in ids:
        pipe.exists(keys.held(hold_id))
    there = pipe.execute()
    decided = [hold_id for hold_id, exists in zip(ids, there, strict=True) if not exists]
    if decided:
        redis.zrem(index, *decided)
    return len(ids) - len(decided)


def load(redis, keys: Keys, hold_id: str) -> dict | None:
    """The stored hold (link_id, author, event as a dict), or None."""
    raw = redis.get(keys.held(hold_id))
    return json.loads(raw) if raw else None


def release(redis, keys: Keys, hold_id: str, queue_key: str, message: str, retention_days: int) -> bool:
    """Remove the hold and push ``message`` (the translation task of its approved drafts)
    onto the Celery list ``queue_key``, with the hold's release mark (Keys.released, which
    publishing retires), atomically; False if it was gone (decided before)."""
    return (
        scripts.run(
            redis,
            "hold_release",
            [keys.held(hold_id), keys.released(hold_id), queue_key],
            [retention_days * DAY, message],
        )
        != -1
    )


def remove(redis, keys: Keys, hold_id: str) -> bool:
    """Remove the hold; False if it was gone."""
    return bool(redis.delete(keys.held(hold_id)))


def remove_into(pipe, keys: Keys, hold_id: str) -> None:
    """Remove the hold on ``pipe`` (its reply: 1 if it was there)."""
    pipe.delete(keys.held(hold_id))
