"""Who may use the organisers' commands (/announce, /announcements, /status, /pause,
/resume), for which link, and how they are answered. Plain functions.

An organiser of a link is, for a command said in one of the link's chats, an admin of
that chat (``Command.admin``: the adapter asked the platform) or a member named in the
``organisers:`` of the chat's community or of the link. Privately (a private chat with
the bot) only those named count, and they name the link: ``/status LINK``.
"""

from __future__ import annotations

from dataclasses import dataclass

from core import organiser_phrases
from core.links import Community, Link, LinksConfig
from core.models import Command, OutboundPost

from .notices import answer, tell_privately


def answer_language(command: Command, community_language: str) -> str:
    """The language to answer the asker in: their own (as their app reports it) where the
    bridge has words for it, else their community's ("de-AT" is "de"; "ja" falls back)."""
    own = command.language.replace("_", "-").split("-")[0].lower()
    return own if own in organiser_phrases.languages() else community_language


def is_organiser(command: Command, config: LinksConfig, link: Link) -> bool:
    """Whether ``command``'s author may use an organiser's command on ``link``."""
    if command.private:
        return command.user_ref in config.organisers(link)
    community = config.community_of(command.chat)
    if community is None or community.id not in link.communities:
        return False  # said in a chat of another link
    return command.admin or command.user_ref in community.organisers or command.user_ref in link.organisers


def anonymous_admin(command: Command) -> bool:
    """A Telegram admin writing as the group itself (the adapter gives the group's id as
    the author): no private chat to answer in."""
    return not command.private and command.user.id == command.chat_id


@dataclass(frozen=True)
class Asked:
    """An organiser's command resolved: the links it is about, the community it speaks
    for, the language to answer in, and the words left after the link's name."""

    links: tuple[Link, ...]
    community: Community
    language: str
    rest: str


def resolve(command: Command, config: LinksConfig) -> Asked | OutboundPost:
    """The links ``command`` is about (named by its first word, or all of its chat's);
    or the answer saying why it is refused or how to write it."""
    words = command.args.split(maxsplit=1)
    first = words[0] if words else ""
    named = config.link(first) if first else None
    rest = (words[1] if len(words) > 1 else "") if named is not None else command.args.strip()
    if command.private:
        mine = [link for link in config.links if is_organiser(command, config, link)]
        language = answer_language(command, _community_for(command, config, mine[0]).language if mine else "en")
        listed = ", ".join(link.id for link in mine)
        if not mine:
            return reply(command, organiser_phrases.say(language, "no_links", command=command.name))
        if named is not None and named in mine:
            return Asked((named,), _community_for(command, config, named), language, rest)
        if named is not None or (first and _looks_like_link(first)):
            # The same answer for a link that does not exist and one they do not organise.
            return reply(command, organiser_phrases.say(language, "unknown_link", typed=first[:40], links=listed))
        return reply(command, organiser_phrases.say(language, "name_link", command=command.name, links=listed))
    community = config.community_of(command.chat)
    language = answer_language(command, community.language if community is not None else "en")
    allowed = tuple(m.link for m in config.memberships(command.chat) if is_organiser(command, config, m.link))
    if community is None or not allowed:
        return refusal(command, language)
    if named is not None:
        if named not in allowed:
            listed = ", ".join(link.id for link in allowed)
            return reply(command, organiser_phrases.say(language, "unknown_link", typed=first[:40], links=listed))
        allowed = (named,)
    return Asked(allowed, community, language, rest)


def _looks_like_link(word: str) -> bool:
    # A duration ("2h"), a time ("19:30") or "cancel" is not a link's name.
    return not any(ch.isdigit() for ch in word) and word.lower() not in ("cancel", "help", "event", "at", "in")


def _community_for(command: Command, config: LinksConfig, link: Link) -> Community:
    """The community an organiser speaks for privately: the one naming them, else the link's first."""
    for community_id in link.communities:
        if command.user_ref in config.communities[community_id].organisers:
            return config.communities[community_id]
    return config.communities[link.communities[0]]


def refusal(command: Command, language: str) -> OutboundPost:
    """A polite refusal, to the member alone (a short public one where they cannot be told privately)."""
    text = organiser_phrases.say(language, "not_organiser", command=command.name)
    return tell_privately(command, text, fallback=text)


def reply(command: Command, text: str) -> OutboundPost:
    """An answer to the organiser alone: privately (in the chat for an anonymous admin)."""
    if anonymous_admin(command):
        return answer(command, text)
    return tell_privately(command, text)


def others(config: LinksConfig, link: Link, community_id: str) -> str:
    """The names of ``link``'s other communities ("Krefeld, Masaya")."""
    return ", ".join(config.communities[c].name for c in link.communities if c != community_id)
