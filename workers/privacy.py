"""How a sender is shown on the other side, as the link's policy allows."""
from __future__ import annotations

import hashlib
import hmac

from bridge.models import Author

_ADJECTIVES = (
    "Amber", "Blue", "Brave", "Bright", "Calm", "Clever", "Coral", "Crimson", "Gentle", "Golden",
    "Green", "Happy", "Jolly", "Kind", "Lively", "Lucky", "Merry", "Misty", "Nimble", "Olive",
    "Quiet", "Rapid", "Rosy", "Silver", "Sunny", "Swift", "Teal", "Violet", "Warm", "Wise",
    "Witty", "Young",
)
_ANIMALS = (
    "Badger", "Beaver", "Bison", "Crane", "Dolphin", "Eagle", "Falcon", "Fox", "Gecko", "Hare",
    "Hedgehog", "Heron", "Ibis", "Koala", "Lark", "Lynx", "Marten", "Moose", "Newt", "Otter",
    "Owl", "Panda", "Puffin", "Robin", "Salmon", "Seal", "Sparrow", "Stork", "Swan", "Tiger",
    "Wolf", "Wren",
)


def pseudonym_for(platform: str, user_id: str, link_id: str, key: str) -> str:
    """A readable pseudonym ("Blue Heron 42"), stable for one user in one link,
    unlinkable across links, and different under a rotated key."""
    digest = hmac.new(key.encode(), f"{link_id}\x00{platform}\x00{user_id}".encode(), hashlib.sha256).digest()
    adjective = _ADJECTIVES[digest[0] % len(_ADJECTIVES)]
    animal = _ANIMALS[digest[1] % len(_ANIMALS)]
    number = int.from_bytes(digest[2:4], "big") % 100
    return f"{adjective} {animal} {number}"


def shown_sender(author: Author, platform: str, mode: str, link_id: str, pseudonym_key: str | None) -> str:
    """The sender as ``mode`` (a policy's `sender`) allows; "" when hidden."""
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
        return pseudonym_for(platform, author.id, link_id, pseudonym_key)
    return ""
