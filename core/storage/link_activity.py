"""What crossed each link, for organisers' /status (sync client): per link and source
community (a direction), when a message last crossed and how many crossed each UTC day.
Times and counts only, no ids, no text; each key lives Keys.LINK_ACTIVITY_TTL (a week
and a day), or the link's retention when that is shorter (a school link's 7 days: its
"this week" then counts what is kept). Written by the stage that publishes, in the pipeline of its records."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from .keys import DAY, Keys

WEEK_DAYS = 7


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def note_relayed_into(
    pipe, keys: Keys, link_id: str, community_id: str, retention_days: int, when: float | None = None
) -> None:
    """Count one message from ``community_id`` crossing ``link_id`` (on ``pipe``: 3 replies)."""
    when = time.time() if when is None else when
    ttl = min(Keys.LINK_ACTIVITY_TTL, max(1, retention_days) * DAY)
    day = keys.link_relayed_on(link_id, community_id, _day(when))
    pipe.incr(day)
    pipe.expire(day, ttl)
    # When it was written: a message published late (a retry) may set it back a little.
    pipe.set(keys.link_last_relayed(link_id, community_id), f"{when:.3f}", ex=ttl)


def activity(redis, keys: Keys, link_id: str, community_ids, now: float | None = None) -> dict[str, tuple[float, int]]:
    """Per source community: (when a message last crossed, 0 if not within the TTL;
    how many crossed in the last seven UTC days, today included)."""
    now = time.time() if now is None else now
    days = [_day((datetime.fromtimestamp(now, UTC) - timedelta(days=d)).timestamp()) for d in range(WEEK_DAYS)]
    pipe = redis.pipeline(transaction=False)
    for community_id in community_ids:
        pipe.get(keys.link_last_relayed(link_id, community_id))
        pipe.mget([keys.link_relayed_on(link_id, community_id, day) for day in days])
    replies = pipe.execute()
    found = {}
    for i, community_id in enumerate(community_ids):
        last, counts = replies[2 * i], replies[2 * i + 1]
        found[community_id] = (float(last or 0.0), sum(int(c or 0) for c in counts))
    return found


def daily(redis, keys: Keys, link_id: str, community_ids, now: float | None = None) -> dict[str, list[tuple[str, int]]]:
    """Per source community: the last seven UTC days, oldest first, as (YYYY-MM-DD, how many
    crossed) — the web console's weekly chart (issue 18)."""
    now = time.time() if now is None else now
    days = [_day((datetime.fromtimestamp(now, UTC) - timedelta(days=d)).timestamp()) for d in range(WEEK_DAYS)][::-1]
    pipe = redis.pipeline(transaction=False)
    for community_id in community_ids:
        pipe.mget([keys.link_relayed_on(link_id, community_id, day) for day in days])
    replies = pipe.execute()
    return {
        community_id: [(day, int(count or 0)) for day, count in zip(days, counts, strict=True)]
        for community_id, counts in zip(community_ids, replies, strict=True)
    }
