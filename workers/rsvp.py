"""Members' answers to event notices (RSVP, issue 14): the press of a Going / Maybe /
Can't button, and the refresh that shows the new counts on every copy. Plain functions.

A press reaches the moderation worker as the command ("rsvp", "ID CHOICE"): the answer
is recorded under the member's person key (core/persons.py) with the community of the
chat they pressed in (core/storage/rsvps.py: one answer per member, a changed mind
moves their count), and a refresh is scheduled a few seconds later, at most one per
notice waiting at a time: a burst of presses makes one round of edits, however long.
The refresh edits every published copy (core/storage/announcement_posts.py) with the
totals across every twin, through the outboxes, whose limiters pace the edits further.
The member was answered at once by their adapter; only a press that cannot count
(the notice is gone, cancelled or over, or pressed outside its link) is answered here,
privately, in the member's own language where the bridge has it, else their chat's
community's (core/announce_phrases.py).
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import UTC, datetime

from core import announce_phrases, persons
from core.announcements import CANCELLED, RSVP_CHOICES, Announcement, AnnouncementView
from core.links import LinksConfig
from core.models import Command, EventKind, OutboundPost
from core.storage import announcement_posts, announcements, rsvps
from core.storage.keys import DAY, Keys

from .notices import tell_privately
from .organisers import answer_language

log = logging.getLogger(__name__)

# The refresh runs this long after the first press of a burst (the presses meanwhile
# are shown with it); its gate lapses after GATE, should the refresh task be lost.
REFRESH_DELAY = 3.0
REFRESH_GATE = 60

# The answers to a press that cannot count (English here; core/announce_phrases.py has them all).
NOT_OPEN = announce_phrases.say("en", "rsvp_not_open")
CANCELLED_TEXT = announce_phrases.say("en", "rsvp_cancelled")
OVER = announce_phrases.say("en", "rsvp_over")
ELSEWHERE = announce_phrases.say("en", "rsvp_elsewhere")
UNREADABLE = announce_phrases.say("en", "rsvp_unreadable")


def handle(command: Command, config: LinksConfig, redis, keys: Keys, now: float | None = None) -> list[OutboundPost]:
    """Record the member's answer (the command "rsvp" with args "ID CHOICE") and schedule
    the refresh of the counts shown; the private answers when it cannot count."""
    started = time.time() if now is None else now
    community = config.community_of(command.chat)
    language = answer_language(command, community.language if community is not None else "en")
    announcement_id, _, choice = command.args.strip().partition(" ")
    choice = choice.strip()
    if not announcement_id or choice not in RSVP_CHOICES:
        return [_tell(command, language, "rsvp_unreadable")]
    announcement = announcements.load(redis, keys, announcement_id)
    link = config.link(announcement.link_id) if announcement is not None else None
    if announcement is None or announcement.event is None or link is None:
        return [_tell(command, language, "rsvp_not_open")]
    if announcement.state == CANCELLED:
        return [_tell(command, language, "rsvp_cancelled")]
    if _over(announcement, started):
        return [_tell(command, language, "rsvp_over")]
    if community is None or community.id not in link.communities:
        return [_tell(command, language, "rsvp_elsewhere")]
    person = persons.person(redis, keys, command.user_ref)
    ttl = int(announcements.expires_at(announcement, link.policy.retention_days) - started)
    # At the time of the press: of two presses handled in parallel, the later one stands.
    pressed = min(command.pressed_at or started, started)
    rsvps.record(redis, keys, announcement.id, person, community.id, choice, ttl, now=pressed)
    if _erased_since(redis, keys, person, started):
        # The member asked to be forgotten while this press was being handled: the erasure
        # may have looked before the answer was there, so it is taken back here.
        forget(redis, keys, person)
        return []
    # Whether it changed the counts or not (a run repeated after a crash must still
    # schedule what the first run may not have): the gate keeps it to one refresh.
    schedule_refresh(redis, keys, announcement.id)
    return []


def _over(announcement: Announcement, now: float) -> bool:
    event = announcement.event
    return event is not None and (event.end or event.start) < now


def _erased_since(redis, keys: Keys, person: str, started: float) -> bool:
    """Whether an erasure of ``person`` began after ``started`` (their tombstone's time)."""
    mark = persons.erased_mark(redis, keys, person)
    return mark is not None and float(mark) >= started


def _tell(command: Command, language: str, phrase: str) -> OutboundPost:
    # Nothing is said in the group when the member cannot be told privately: a notice
    # that is over would otherwise gather a line per press.
    return tell_privately(command, announce_phrases.say(language, phrase), fallback="")


def schedule_refresh(redis, keys: Keys, announcement_id: str) -> bool:
    """Schedule the refresh of the notice's counts, unless one is waiting already."""
    return rsvps.schedule_refresh(redis, keys, announcement_id, REFRESH_DELAY, REFRESH_GATE)


def refresh(config: LinksConfig, redis, keys: Keys, announcement_id: str) -> int:
    """Queue an edit of every published copy of the notice showing the current totals
    (the refresh task's work); how many edits were queued (0 when nothing changed since
    the last refresh, or the notice is gone or cancelled)."""
    # From here on a press schedules the next refresh: whatever this one reads is shown.
    rsvps.release_refresh(redis, keys, announcement_id)
    announcement = announcements.load(redis, keys, announcement_id)
    if announcement is None or announcement.state == CANCELLED:
        return 0
    totals, version = rsvps.versioned_totals(redis, keys, announcement_id)
    edits = [
        edit
        for post in announcement_posts.published(redis, keys, announcement_id)
        if (edit := edited(post, totals)) is not None
    ]
    if not edits:
        return 0
    link = config.link(announcement.link_id)
    retention = link.policy.retention_days if link is not None else max(p.retention_days for p in edits)
    ttl = max(DAY, int(announcements.expires_at(announcement, retention) - time.time()))
    if not rsvps.show(redis, keys, announcement_id, version, edits, ttl):
        return 0
    log.info("RSVP counts of an announcement queued to %d cop(ies)", len(edits))
    return len(edits)


def edited(post: OutboundPost, totals: dict[str, int]) -> OutboundPost | None:
    """The edit of one published copy showing ``totals`` (None for a copy without RSVP:
    a reminder, or not an event notice)."""
    if not post.announcement:
        return None
    view = AnnouncementView.from_dict(post.announcement)
    if not view.has_rsvp:
        return None
    return replace(post, kind=EventKind.EDIT, seq=0, announcement=view.with_counts(totals).to_dict())


def answers_of(redis, keys: Keys, person: str) -> list[dict]:
    """The member's answers for their access request (/mydata): the notice's id and
    event title, their choice, the community they answered from and when."""
    found = []
    for answer in rsvps.of_person(redis, keys, person):
        announcement = announcements.load(redis, keys, answer.announcement_id)
        title = announcement.event.title if announcement is not None and announcement.event else ""
        found.append(
            {
                "announcement": answer.announcement_id,
                "title": title,
                "choice": answer.choice,
                "community": answer.community,
                "at": _iso(answer.at),
            }
        )
    return found


def forget(redis, keys: Keys, person: str) -> int:
    """Take back every answer of ``person`` (their erasure) and schedule the refresh of
    each notice whose counts dropped; how many answers."""
    touched = rsvps.forget(redis, keys, person)
    for announcement_id in touched:
        schedule_refresh(redis, keys, announcement_id)
    return len(touched)


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")
