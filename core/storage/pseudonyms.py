"""Members' pseudonyms per link and the claims on the names (sync client): a name
claimed by a keyed hash of its member (never their id), renewed each time it is shown,
so it lapses after the link's retention without a message from them."""

from __future__ import annotations

from . import scripts
from .keys import DAY, Keys


class Pseudonyms:
    def __init__(self, redis, keys: Keys):
        self._redis = redis
        self._keys = keys
        self._allocate = scripts.register(redis, "pseudonym_allocate")

    def allocate(self, link_id: str, user_ref: str, owner: str, names: list[str], retention_days: int) -> str:
        """The member's name in the link: the one they hold, else the first of ``names``
        nobody else (``owner`` is their hash) claims; renewed for ``retention_days``."""
        keys = [self._keys.pseudonym(link_id, user_ref)] + [self._keys.pseudonym_claim(link_id, n) for n in names]
        return self._allocate(keys=keys, args=[retention_days * DAY, owner, *names])


def current(redis, keys: Keys, link_id: str, user_ref: str) -> str | None:
    """The pseudonym ``user_ref`` holds in ``link_id`` now, if any."""
    return redis.get(keys.pseudonym(link_id, user_ref))


def forget(redis, keys: Keys, link_id: str, user_ref: str) -> int:
    """Delete a member's pseudonym in a link, and its claim (the name is free again)."""
    name = redis.get(keys.pseudonym(link_id, user_ref))
    if name is None:
        return 0
    return redis.delete(keys.pseudonym(link_id, user_ref), keys.pseudonym_claim(link_id, name))
