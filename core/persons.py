"""Naming people without their platform id: a salted hash (HMAC-SHA256) per member.

The audit log, the outbox posts and the erasure tombstones key people by
``person(...)`` instead of "telegram:5001": whoever reads Redis learns no
platform id, while the bridge (which knows the salt) still finds a member's
entries for /mydata and `twinbridge export`.

The salt is derived from ``TWINBRIDGE_PSEUDONYM_KEY`` when it is set; otherwise
it is a random value created once per install and kept in Redis as
configuration (``Keys.person_salt``, no expiry). Every process of one install
must see the same setting (as for pseudonyms): each process's wiring calls
:func:`use_secret` once with its settings' key.

An erasure leaves a *tombstone*: for a while (the longest retention of any
link: nothing of a member stays in flight longer, the streams that carry it
expire by then) the workers and the adapters refuse to publish or send what
the member wrote before the erasure, wherever it still waits.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from .storage.keys import Keys

PREFIX = "p:"  # every person key starts with it
_SALTS: dict[tuple[str, str | None], bytes] = {}  # (key prefix, secret) -> salt, per process
_secret: str | None = None


def use_secret(secret: str | None) -> None:
    """Derive this process's salt from ``secret`` (TWINBRIDGE_PSEUDONYM_KEY), if any."""
    global _secret
    _secret = secret or None


def salt(redis, keys: Keys) -> bytes:
    """The install's salt (synchronous client; cached per process)."""
    secret = _secret
    cached = _SALTS.get((keys.prefix, secret))
    if cached is not None:
        return cached
    if secret:
        value = hmac.new(secret.encode(), b"twinbridge person keys", hashlib.sha256).digest()
    else:
        redis.set(keys.person_salt(), secrets.token_hex(32), nx=True)
        stored = redis.get(keys.person_salt())
        value = stored.encode() if isinstance(stored, str) else stored
    _SALTS[(keys.prefix, secret)] = value
    return value


def person_of(salt_value: bytes, user_ref: str) -> str:
    """ "p:" and 32 hex digits for "telegram:5001" (128 bits: no collisions in practice)."""
    return PREFIX + hmac.new(salt_value, user_ref.encode(), hashlib.sha256).hexdigest()[:32]


def person(redis, keys: Keys, user_ref: str) -> str:
    """The person key of ``user_ref`` ("telegram:5001") in this install."""
    return person_of(salt(redis, keys), user_ref)


def tombstone_into(pipe, keys: Keys, person_id: str, erased_at: float, ttl_days: int) -> None:
    """Mark ``person_id`` erased at ``erased_at`` (a later erasure moves the mark on)."""
    pipe.set(keys.erased(person_id), repr(erased_at), ex=max(1, ttl_days) * 86400)


def erased_before(mark, written_at: float) -> bool:
    """Whether something written at ``written_at`` predates the erasure ``mark``
    (the tombstone's value, or None). An unknown time (0) counts as before."""
    if mark is None:
        return False
    mark = float(mark.decode() if isinstance(mark, bytes) else mark)
    return written_at <= mark


def erased_mark(redis, keys: Keys, person_id: str):
    """The tombstone of ``person_id`` (when they were erased), or None (a synchronous client)."""
    return redis.get(keys.erased(person_id))


def erased_mark_into(pipe, keys: Keys, person_id: str) -> None:
    """Read the tombstone of ``person_id`` on ``pipe`` (its reply: as :func:`erased_mark`)."""
    pipe.get(keys.erased(person_id))
