"""What the bridge keeps per member (sync client): their consent per link and the
"told once" marker, and the index of what they wrote ("link|source message" and
"held|ID", each scored with its own expiry), which access and erasure read."""

from __future__ import annotations

import time

from ..idmap import copies_by_link
from .keys import DAY, Keys


# -- consent ---------------------------------------------------------------------------
def has_consent(redis, keys: Keys, link_id: str, user_ref: str) -> bool:
    return bool(redis.exists(keys.consent(link_id, user_ref)))


def give_consent(redis, keys: Keys, link_id: str, user_ref: str, retention_days: int) -> None:
    """Consent, lapsing after the link's retention; the member need not be told again."""
    redis.set(keys.consent(link_id, user_ref), "1", ex=retention_days * DAY)
    redis.delete(keys.explained(link_id, user_ref))


def withdraw_consent(redis, keys: Keys, link_id: str, user_ref: str) -> bool:
    """False when there was none."""
    return bool(redis.delete(keys.consent(link_id, user_ref)))


def refresh_consent_into(pipe, keys: Keys, link_id: str, user_ref: str, retention_days: int) -> None:
    """Consent lapses only after the link's retention without a message (on ``pipe``)."""
    pipe.expire(keys.consent(link_id, user_ref), retention_days * DAY, xx=True)


def consent_days_left(redis, keys: Keys, link_id: str, user_ref: str) -> float | None:
    """None without consent, else the days until it lapses (None if unknown)."""
    return _days_left(redis, keys.consent(link_id, user_ref))


def note_explained_into(pipe, keys: Keys, link_id: str, user_ref: str, retention_days: int) -> None:
    """Mark the member told why their messages do not cross yet; ``pipe`` answers True
    for it only the first time."""
    pipe.set(keys.explained(link_id, user_ref), "1", nx=True, ex=retention_days * DAY)


def forget_consents_into(pipe, keys: Keys, link_ids, user_ref: str) -> None:
    """Delete the member's consent and "told once" marker in each link: two replies per
    link on ``pipe``, the first 1 where there was consent."""
    for link_id in link_ids:
        pipe.delete(keys.consent(link_id, user_ref))
        pipe.delete(keys.explained(link_id, user_ref))


# -- what a member wrote -------------------------------------------------------------------
def note_authored_into(pipe, keys: Keys, user_ref: str, member: str, retention_days: int) -> None:
    """Remember ``member`` ("link|source message", or "held|ID") for the member's access
    and erasure requests, on ``pipe`` (a redis-py pipeline cannot hold another one). Each
    entry carries its own expiry (the score), so none outlives its link's retention even
    while the member keeps writing."""
    key = keys.authored(user_ref)
    now = time.time()
    pipe.zremrangebyscore(key, "-inf", now)
    pipe.zadd(key, {member: now + retention_days * DAY})
    pipe.expire(key, retention_days * DAY, nx=True)
    pipe.expire(key, retention_days * DAY, gt=True)


def note_authored(redis, keys: Keys, user_ref: str, member: str, retention_days: int) -> None:
    pipe = redis.pipeline()
    note_authored_into(pipe, keys, user_ref, member, retention_days)
    pipe.execute()


def authored(redis, keys: Keys, user_ref: str) -> list[str]:
    """What the member wrote that has not expired."""
    return redis.zrangebyscore(keys.authored(user_ref), time.time(), "+inf")


def wrote_any(redis, keys: Keys, user_ref: str, members: list[str]) -> bool:
    """Whether any of ``members`` ("link|source message") is in the member's index, unexpired."""
    if not members:
        return False
    now = time.time()
    with redis.pipeline(transaction=False) as pipe:
        for member in members:
            pipe.zscore(keys.authored(user_ref), member)
        scores = pipe.execute()
    return any(score is not None and float(score) > now for score in scores)


def authored_batch(redis, keys: Keys, user_ref: str, count: int) -> list[str]:
    """Up to ``count`` entries of the member's index, expired or not (erasure)."""
    return redis.zrange(keys.authored(user_ref), 0, count - 1)


def forget_authored(redis, keys: Keys, user_ref: str, member: str) -> None:
    redis.zrem(keys.authored(user_ref), member)


def relayed_copies(redis, keys: Keys, source_key: str) -> tuple[dict[str, dict[str, list[str]]], float | None]:
    """The copies of one source message (link id -> destination chat key -> copy ids) and
    the days they are kept for (for the member's access request)."""
    return copies_by_link(redis.hgetall(keys.idmap(source_key))), _days_left(redis, keys.idmap(source_key))


def _days_left(redis, key: str) -> float | None:
    ttl = redis.ttl(key)
    return round(ttl / DAY, 1) if ttl and ttl > 0 else None
