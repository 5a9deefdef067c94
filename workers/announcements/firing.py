"""Firing one announcement (or one of its reminders): what the moderation stage's fire task
does (workers/stages/moderation.py). It fires only what was handed to it (the firing marker
set by core/storage/announcements.py is there) and not cancelled; the drafts then go to the
translation stage, whose publishing retires the marker, so the notice is published once
however often the task runs."""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass

from core import stats
from core.links import LinksConfig
from core.storage import announcement_posts, announcements, rsvps
from core.storage.keys import Keys

from ..drafts import Drafts, Outcome
from ..records import after_data
from .compose import drafts_of, kind_of, source_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Firing:
    drafts: Drafts
    after: dict  # the records after publishing (workers/records.py): counters only


def fire(redis, keys: Keys, config: LinksConfig, announcement_id: str, what: str) -> Firing | None:
    """The drafts of ``what`` of the announcement, or None when there is nothing to fire: it
    is gone or cancelled, or it was published before (its firing marker is gone)."""
    announcement = announcements.load(redis, keys, announcement_id)
    if announcement is None or announcements.is_cancelled(announcement):
        stats.count(redis, keys, "announcements.not_fired")
        return None
    if not announcement_posts.is_firing(redis, keys, announcement_id, what):
        stats.count(redis, keys, "announcements.already_published")
        return None
    drafts = drafts_of(announcement, what, config, current_counts(redis, keys, announcement_id))
    if not drafts.posts:
        # Its link is no longer configured: nothing to publish, and nothing to try again.
        log.warning("announcement %s of an unknown link: not fired", announcement_id)
        announcements.retire_firing(redis, keys, announcement_id, what)
        stats.count(redis, keys, "announcements.not_fired")
        return None
    outcome = Outcome(counts=Counter({f"announcements.{kind_of(what)}_posts": len(drafts.posts)}))
    after = after_data(source_of(announcement_id, what), time.time(), "", "", outcome, approved=True)
    return Firing(drafts, after)


def current_counts(redis, keys: Keys, announcement_id: str) -> dict[str, int]:
    """The RSVP totals across every twin so far (zeros before the first answer): an
    announcement fired again after a crash, or answered before its copies were kept,
    shows what was counted."""
    return rsvps.totals(redis, keys, announcement_id)
