"""Organisers' link control in chat: /status, /pause [duration], /resume (issue 14).

/pause writes the link's pause (core/storage/link_control.py): routing then drops what
would cross it (``dropped.paused``), and every chat of the link is told once, in its
community's language and time zone. A pause with a duration simply ends when it is over
(nothing is announced then: the notice said until when); /resume ends it at once and
says so on every side. Plain functions; the answers are the command's notices.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace

from core import deadletters, organiser_phrases, persons
from core.links import Link, LinksConfig
from core.models import Command, OutboundPost
from core.storage import holds, link_activity, link_control

from .notices import answer
from .organisers import Asked, others, reply, resolve

# "2h", "30m", "1d 12h", "90 min", "1 week": a number and a unit, repeated.
_PART = re.compile(r"(\d{1,4})\s*(w|weeks?|d|days?|h|hours?|hrs?|m|mins?|minutes?)(?![a-z])", re.IGNORECASE)
_UNIT = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60}
MAX_PAUSE = 366 * 86400


def parse_duration(text: str) -> int | None:
    """Seconds in ``text`` ("2h", "1d 12h", "30 min"); None if it is not only a duration."""
    text = text.strip()
    parts = list(_PART.finditer(text))
    if not parts or _PART.sub("", text).strip(" ,+and"):
        return None
    seconds = sum(int(p.group(1)) * _UNIT[p.group(2)[0].lower()] for p in parts)
    return seconds if 0 < seconds <= MAX_PAUSE else None


def _to_every_chat(config: LinksConfig, link: Link, command: Command, phrase: str, until: float = 0.0):
    """One notice per chat of ``link``, in its community's language (and time zone)."""
    posts = []
    for community_id in link.communities:
        community = config.communities[community_id]
        when = organiser_phrases.local_time(until, community.timezone, community.language) if until else ""
        text = organiser_phrases.say(community.language, phrase, others=others(config, link, community_id), until=when)
        for chat in community.chats:
            posts.append(replace(answer(command, text), destination=chat))
    return posts


def _command_id(command: Command, redis, keys) -> str:
    """What a pause record names its command by: keyed with the install's secret (a pause
    may outlive every other trace of the command, and in a private chat the dedup key's
    material includes the member's id)."""
    return persons.person(redis, keys, command.dedup_key)


def pause(command: Command, config: LinksConfig, redis, keys) -> list[OutboundPost]:
    asked = resolve(command, config)
    if not isinstance(asked, Asked):
        return [asked]
    seconds = None
    if asked.rest:
        seconds = parse_duration(asked.rest)
        if seconds is None:
            return [reply(command, organiser_phrases.say(asked.language, "bad_duration", typed=asked.rest[:40]))]
    now = time.time()
    posts: list[OutboundPost] = []
    for link in asked.links:
        # Keyed by the command: run again, it finds its own pause and says the same.
        held = link_control.pause(
            redis, keys, link.id, _command_id(command, redis, keys), now + seconds if seconds else 0.0, now
        )
        phrase = "paused_open" if held.open_ended else "paused_until"
        posts += _to_every_chat(config, link, command, phrase, held.until)
    return posts


def resume(command: Command, config: LinksConfig, redis, keys) -> list[OutboundPost]:
    asked = resolve(command, config)
    if not isinstance(asked, Asked):
        return [asked]
    posts: list[OutboundPost] = []
    for link in asked.links:
        if link_control.resume(redis, keys, link.id, _command_id(command, redis, keys)):
            posts += _to_every_chat(config, link, command, "resumed")
        else:
            text = organiser_phrases.say(asked.language, "not_paused", others=others(config, link, asked.community.id))
            posts.append(reply(command, text))
    return posts


def status(command: Command, config: LinksConfig, redis, keys) -> list[OutboundPost]:
    asked = resolve(command, config)
    if not isinstance(asked, Asked):
        return [asked]
    blocks = [_link_status(link, asked, config, redis, keys) for link in asked.links]
    return [reply(command, "\n\n".join(blocks))]


def _link_status(link: Link, asked: Asked, config: LinksConfig, redis, keys) -> str:
    language, zone = asked.language, asked.community.timezone

    def say(name: str, **values) -> str:
        return organiser_phrases.say(language, name, **values)

    pause_ = link_control.paused(redis, keys, link.id)
    if pause_ is None:
        state = say("running")
    elif pause_.open_ended:
        state = say("status_paused_open")
    else:
        state = say("status_paused_until", until=organiser_phrases.local_time(pause_.until, zone, language))
    lines = [f"{say('status_link', link=link.id)}: {state}"]
    activity = link_activity.activity(redis, keys, link.id, link.communities)
    for community_id in link.communities:
        community = config.communities[community_id]
        platforms = ", ".join(sorted({chat.platform.capitalize() for chat in community.chats}))
        last, week = activity[community_id]
        crossed = say("last", when=organiser_phrases.local_time(last, zone, language)) if last else say("never")
        chats = say("chats", count=len(community.chats), platforms=platforms)
        lines.append(f"• {community.name} ({community.language}, {chats}): {crossed}; {say('week', count=week)}")
    lines.append(say("held", count=holds.waiting_in_link(redis, keys, link.id)))
    lines.append(say("dead", count=deadletters.count_of_link(redis, keys, link.id)))
    return "\n".join(lines)
