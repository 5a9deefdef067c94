"""A neutral avatar: one of Discord's six default avatar images, chosen from the label the
post shows (a pseudonym and community: the same pseudonym always gets the same one), so it
reveals nothing the label does not."""

from __future__ import annotations

import hashlib

DEFAULT_AVATARS = 6
URL = "https://cdn.discordapp.com/embed/avatars/{index}.png"


def neutral_avatar_url(label: str) -> str:
    index = hashlib.sha256(label.encode()).digest()[0] % DEFAULT_AVATARS
    return URL.format(index=index)
