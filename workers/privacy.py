"""How a sender is shown on the other side, as the link's policy allows.

Pseudonyms: a keyed hash of the member and the link proposes a name; the
first proposal no other member of the link holds is theirs (allocated in
Redis, see :class:`PseudonymBook`), so no two members of a link share one
and a member keeps theirs while they write (it lapses after the link's
retention without a message, and erasure deletes it).
"""

from __future__ import annotations

import hashlib
import hmac

from core.storage import pseudonyms as stored_pseudonyms
from core.storage.keys import Keys
from core.models import Author, ForwardOrigin

_ADJECTIVES = (
    "Amber",
    "Blue",
    "Brave",
    "Bright",
    "Calm",
    "Clever",
    "Coral",
    "Crimson",
    "Gentle",
    "Golden",
    "Green",
    "Happy",
    "Jolly",
    "Kind",
    "Lively",
    "Lucky",
    "Merry",
    "Misty",
    "Nimble",
    "Olive",
    "Quiet",
    "Rapid",
    "Rosy",
    "Silver",
    "Sunny",
    "Swift",
    "Teal",
    "Violet",
    "Warm",
    "Wise",
    "Witty",
    "Young",
)
_ANIMALS = (
    "Badger",
    "Beaver",
    "Bison",
    "Crane",
    "Dolphin",
    "Eagle",
    "Falcon",
    "Fox",
    "Gecko",
    "Hare",
    "Hedgehog",
    "Heron",
    "Ibis",
    "Koala",
    "Lark",
    "Lynx",
    "Marten",
    "Moose",
    "Newt",
    "Otter",
    "Owl",
    "Panda",
    "Puffin",
    "Robin",
    "Salmon",
    "Seal",
    "Sparrow",
    "Stork",
    "Swan",
    "Tiger",
    "Wolf",
    "Wren",
)


# How many names a member is offered before the fallback: with 102,400 two-digit
# names, even a link of 1,000 members finds a free one among the first few.
CANDIDATES = 12


def _digest(platform: str, user_id: str, link_id: str, key: str, attempt: int = 0) -> bytes:
    suffix = f"\x00{attempt}" if attempt else ""
    return hmac.new(key.encode(), f"{link_id}\x00{platform}\x00{user_id}{suffix}".encode(), hashlib.sha256).digest()


def _name(digest: bytes, wide: bool = False) -> str:
    adjective = _ADJECTIVES[digest[0] % len(_ADJECTIVES)]
    animal = _ANIMALS[digest[1] % len(_ANIMALS)]
    number = int.from_bytes(digest[2:6], "big") % 100_000 if wide else int.from_bytes(digest[2:4], "big") % 100
    return f"{adjective} {animal} {number}"


def pseudonym_for(platform: str, user_id: str, link_id: str, key: str) -> str:
    """A readable pseudonym ("Blue Heron 42") derived from the member, the link and
    the key: unlinkable across links, different under a rotated key. Only the
    first proposal; :class:`PseudonymBook` makes it unique within the link."""
    return _name(_digest(platform, user_id, link_id, key))


def pseudonym_candidates(platform: str, user_id: str, link_id: str, key: str) -> list[str]:
    """The names offered to a member in order (deterministic); the last one is drawn
    from a thousand times more names, the fallback when all others are taken."""
    names = [_name(_digest(platform, user_id, link_id, key, i)) for i in range(CANDIDATES)]
    return names + [_name(_digest(platform, user_id, link_id, key, CANDIDATES), wide=True)]


class PseudonymBook:
    """Allocates each member's pseudonym in a link, unique and stable (Redis).

    The claim markers hold a keyed hash of the member, not their id. A member's
    name is renewed each time it is shown, so it lapses only after the link's
    retention without a message from them."""

    def __init__(self, redis, keys: Keys, key: str):
        self._stored = stored_pseudonyms.Pseudonyms(redis, keys)
        self._key = key

    def name(self, platform: str, user_id: str, link_id: str, retention_days: int) -> str:
        user_ref = f"{platform}:{user_id}"
        names = pseudonym_candidates(platform, user_id, link_id, self._key)
        owner = _digest(platform, user_id, link_id, self._key, -1).hex()[:32]
        return self._stored.allocate(link_id, user_ref, owner, names, retention_days)


def current_pseudonym(redis, keys: Keys, link_id: str, user_ref: str) -> str | None:
    """The pseudonym ``user_ref`` holds in ``link_id`` now, if any (for /mydata)."""
    return stored_pseudonyms.current(redis, keys, link_id, user_ref)


def forget_pseudonym(redis, keys: Keys, link_id: str, user_ref: str) -> int:
    """Erase a member's pseudonym in a link, and its claim (the name is free again)."""
    return stored_pseudonyms.forget(redis, keys, link_id, user_ref)


def shown_sender(
    author: Author,
    platform: str,
    mode: str,
    link_id: str,
    pseudonym_key: str | None,
    pseudonyms: PseudonymBook | None = None,
    retention_days: int = 1,
) -> str:
    """The sender as ``mode`` (a policy's `sender`) allows; "" when hidden.
    Pseudonyms come from ``pseudonyms`` when given (the workers: unique in the
    link), else only derived (tests and tools without Redis)."""
    name = (author.display_name or "").strip()
    first = (author.first_name or name.split(" ")[0] if name else "").strip()
    if mode == "full":
        return name or first or "Someone"
    if mode == "first_name":
        return first or "Someone"
    if mode == "initials":
        parts = [p for p in name.replace("-", " ").split() if p[:1].isalpha()]
        return "".join(p[0].upper() + "." for p in parts[:3]) or "?"
    if mode == "pseudonym":
        if not pseudonym_key:
            # Never fall back to the real name; `twinbridge check` demands the key.
            return "A member"
        if pseudonyms is not None:
            return pseudonyms.name(platform, author.id, link_id, retention_days)
        return pseudonym_for(platform, author.id, link_id, pseudonym_key)
    return ""


def shown_forward_origin(origin: ForwardOrigin, mode: str) -> str:
    """Who or what a forwarded message came from, as ``mode`` (the policy's `sender`) lets
    it show; "" for "forwarded" alone. A forwarded member is shown as the link shows its own
    members (a name where it shows names, never under pseudonyms); a member who hides their
    account from forwards only under `full` (they chose that name to be seen); a public
    channel's or chat's title under any mode but pseudonym and hidden; a private one's only
    where names show. Pseudonymous links say "forwarded" only."""
    if mode in ("pseudonym", "hidden"):
        return ""
    names = mode in ("full", "first_name")
    if origin.kind == "user":
        if not origin.name.strip():
            return ""
        author = Author(id="", display_name=origin.name, first_name=origin.first_name or None)
        return shown_sender(author, "", mode, "", None)
    if origin.kind == "hidden_user":
        return origin.name if mode == "full" else ""
    if origin.kind in ("chat", "channel", "message"):
        return origin.name if origin.public or names else ""
    return ""
