"""Who may do what in the web console (issue 18): the organisers and moderators the
configuration names, each for their own links only. Chats' admins (whom the platforms
make organisers in chat) are not named in the configuration: they use the chat commands."""

from __future__ import annotations

from .links import LinksConfig

ORGANISER = "organiser"
MODERATOR = "moderator"


def roles(config: LinksConfig, user: str) -> dict[str, frozenset[str]]:
    """Link id -> what ``user`` ("telegram:111") is in it; links where they are nothing are absent."""
    found: dict[str, frozenset[str]] = {}
    for link in config.links:
        mine = set()
        if user in config.organisers(link):
            mine.add(ORGANISER)
        if user in link.policy.moderators:
            mine.add(MODERATOR)
        if mine:
            found[link.id] = frozenset(mine)
    return found


def named(config: LinksConfig, user: str) -> bool:
    """Whether the configuration names ``user`` as an organiser or moderator of some link."""
    return bool(roles(config, user))
