"""The loaded configuration: a tree of frozen dataclasses, and the questions
the bridge asks of it (which links a chat is in, which languages, how long to keep)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path

from ..models import ChatRef
from .schema import REDACTIONS


@dataclass(frozen=True)
class Policy:
    name: str
    sender: str = "full"
    redact: tuple[str, ...] = ()
    media: str = "allow"
    links: str = "allow"
    mentions: str = "none"
    translation: tuple[str, ...] = ("libre",)
    show_original: bool = False
    consent: str = "none"
    moderation: str = "none"
    moderators: tuple[str, ...] = ()
    retention_days: int = 30
    # Added to the contract: days a translation may be cached (0: never, the
    # default, as message text is personal data); at most retention_days.
    translation_cache_days: int = 0


BUILTIN_POLICIES: dict[str, Policy] = {
    # Adults who know each other; still never pings anyone across the bridge.
    "open": Policy(
        name="open",
        sender="full",
        redact=(),
        media="allow",
        links="allow",
        mentions="none",
        translation=("libre", "google", "mymemory"),
        show_original=False,
        consent="none",
        moderation="none",
        retention_days=30,
    ),
    # The default for associations: first names, obvious personal data removed.
    "community": Policy(
        name="community",
        sender="first_name",
        redact=("email", "phone", "iban", "card"),
        media="images",
        links="allow",
        mentions="none",
        translation=("libre", "mymemory"),
        show_original=False,
        consent="none",
        moderation="profanity",
        retention_days=30,
    ),
    # Children: pseudonyms, everything personal removed, self-hosted translator
    # only, consent and a teacher's approval before anything crosses.
    "school": Policy(
        name="school",
        sender="pseudonym",
        redact=REDACTIONS,
        media="block",
        links="block",
        mentions="none",
        translation=("libre",),
        show_original=True,
        consent="opt_in",
        moderation="approve",
        retention_days=7,
    ),
}
POLICY_FIELDS = tuple(f.name for f in fields(Policy) if f.name != "name")


@dataclass(frozen=True)
class Community:
    id: str
    name: str
    language: str
    chats: tuple[ChatRef, ...]
    timezone: str = "UTC"  # IANA name; event times are shown in it
    organisers: tuple[str, ...] = ()  # "platform:user id", besides the chats' admins


@dataclass(frozen=True)
class Link:
    id: str
    communities: tuple[str, ...]
    direction: str
    policy: Policy
    # Added to the contract: words never translated (town, school and people's
    # names); the communities' own names are always kept as well.
    glossary: tuple[str, ...] = ()
    # Added to the contract (issue 14): "platform:user id" of who may announce to, and
    # control (/status, /pause, /resume), this link, besides the chats' admins and the
    # organisers of its communities.
    organisers: tuple[str, ...] = ()

    def speakers(self) -> tuple[str, ...]:
        """Communities whose messages cross: all of them, or the first for one-way."""
        return self.communities if self.direction == "both" else self.communities[:1]


@dataclass(frozen=True)
class Membership:
    """A chat's place in one link."""

    link: Link
    community: Community


@dataclass(frozen=True)
class LinksConfig:
    path: Path
    communities: dict[str, Community]
    links: tuple[Link, ...]
    policies: dict[str, Policy] = field(default_factory=dict)
    # Added to the contract (issue 15): chats whose entry says `topics: true|false`.
    topic_choices: tuple[tuple[ChatRef, bool], ...] = ()

    def topics(self, chat: ChatRef) -> bool | None:
        """Whether threads and forum topics get their twins in ``chat``: as its entry says,
        or None (the default: on for a forum group and a Discord channel)."""
        return dict(self.topic_choices).get(chat)

    @cached_property
    def _memberships(self) -> dict[ChatRef, tuple[Membership, ...]]:
        # Built once: every event asks, and a deployment may have hundreds of links.
        found: dict[ChatRef, list[Membership]] = {}
        for link in self.links:
            for community_id in link.communities:
                community = self.communities[community_id]
                for chat in community.chats:
                    found.setdefault(chat, []).append(Membership(link, community))
        return {chat: tuple(m) for chat, m in found.items()}

    @cached_property
    def _links_by_id(self) -> dict[str, Link]:
        return {link.id: link for link in self.links}

    @cached_property
    def _community_by_chat(self) -> dict[ChatRef, Community]:
        return {chat: community for community in self.communities.values() for chat in community.chats}

    def memberships(self, chat: ChatRef) -> list[Membership]:
        """Every link this chat takes part in (empty: an unknown chat)."""
        return list(self._memberships.get(chat, ()))

    def retention_days(self, chat: ChatRef) -> int:
        """The shortest retention among the links this chat is in (what bounds
        every trace of its messages); the default policy's for an unknown chat."""
        days = [m.link.policy.retention_days for m in self.memberships(chat)]
        return min(days) if days else BUILTIN_POLICIES["community"].retention_days

    def organisers(self, link: Link) -> tuple[str, ...]:
        """Who organises a link (besides the chats' admins): its own organisers and
        those of each of its communities, each once."""
        listed = link.organisers + tuple(o for c in link.communities for o in self.communities[c].organisers)
        return tuple(dict.fromkeys(listed))

    def glossary(self, link: Link) -> tuple[str, ...]:
        """What a link's translations keep as written: its glossary and its communities' names."""
        names = tuple(self.communities[c].name for c in link.communities)
        return tuple(dict.fromkeys(link.glossary + names))

    def languages(self, link: Link) -> tuple[str, ...]:
        """The languages the link's communities write, each once, in order."""
        return tuple(dict.fromkeys(self.communities[c].language for c in link.communities))

    def languages_around(self, chat: ChatRef) -> tuple[str, ...]:
        """The languages of every community this chat's links join (where a
        message from it is most likely written in)."""
        return tuple(dict.fromkeys(lang for m in self.memberships(chat) for lang in self.languages(m.link)))

    def community_of(self, chat: ChatRef) -> Community | None:
        return self._community_by_chat.get(chat)

    def known_community(self, chat: ChatRef) -> Community:
        """The community of a chat this configuration gave out (a route's destination): KeyError for any other."""
        return self._community_by_chat[chat]

    def chats(self, platform: str | None = None) -> list[ChatRef]:
        return [
            chat
            for community in self.communities.values()
            for chat in community.chats
            if platform is None or chat.platform == platform
        ]

    def link(self, link_id: str) -> Link | None:
        return self._links_by_id.get(link_id)

    def known_link(self, link_id: str) -> Link:
        """A link by an id this configuration gave out (routes, outcomes): KeyError for any other."""
        return self._links_by_id[link_id]
