"""Organisers' control of a link (sync client): /pause and /resume (issue 14).

A paused link carries nothing: routing drops what would cross it (counted as
``dropped.paused``, not queued). A pause with a duration is a key with that TTL: when it
expires the link simply carries again, without a notice (the pause notice said until
when). A pause without a duration is configuration-like link control and stays until
/resume. Each record names the command that wrote it (its hashed dedup key, never the
organiser), so the same command run twice changes nothing the second time.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass

from . import scripts
from .keys import DAY, Keys

PAUSED, RESUMED = "paused", "resumed"


@dataclass(frozen=True)
class Pause:
    """A link's pause in force: ``until`` Unix seconds, or 0 for "until /resume"."""

    until: float = 0.0

    @property
    def open_ended(self) -> bool:
        return not self.until


def pause(redis, keys: Keys, link_id: str, command_id: str, until: float = 0.0, now: float | None = None) -> Pause:
    """Pause ``link_id`` until ``until`` (0: until /resume) for the command ``command_id``;
    the pause in force (the earlier one when this same command paused it already)."""
    now = time.time() if now is None else now
    ttl = max(1, math.ceil(until - now)) if until else 0
    record = json.dumps({"state": PAUSED, "until": until, "command": command_id})
    written = scripts.run(redis, "link_pause", [keys.link_pause(link_id)], [command_id, record, ttl])
    return _pause(written) or Pause(until)


def resume(redis, keys: Keys, link_id: str, command_id: str) -> bool:
    """Resume ``link_id``; False when it was not paused (True again for the same command)."""
    record = json.dumps({"state": RESUMED, "command": command_id})
    return bool(scripts.run(redis, "link_resume", [keys.link_pause(link_id)], [command_id, record, DAY]))


def paused(redis, keys: Keys, link_id: str, now: float | None = None) -> Pause | None:
    """The pause in force on ``link_id``, or None."""
    return paused_links(redis, keys, [link_id], now).get(link_id)


def paused_links(redis, keys: Keys, link_ids, now: float | None = None) -> dict[str, Pause]:
    """The pauses in force among ``link_ids`` (one round trip: routing asks per event)."""
    link_ids = list(dict.fromkeys(link_ids))
    if not link_ids:
        return {}
    return pauses_in_force(link_ids, redis.mget([keys.link_pause(i) for i in link_ids]), now)


def paused_links_into(pipe, keys: Keys, link_ids) -> list[str]:
    """Queue on ``pipe`` the read of :func:`paused_links` (none for no links); the links
    read, for :func:`pauses_in_force` with the reply."""
    link_ids = list(dict.fromkeys(link_ids))
    if link_ids:
        pipe.mget([keys.link_pause(i) for i in link_ids])
    return link_ids


def pauses_in_force(link_ids: list[str], raws, now: float | None = None) -> dict[str, Pause]:
    """The pauses in force among ``link_ids``, from their stored values ``raws``."""
    now = time.time() if now is None else now
    found = {}
    for link_id, raw in zip(link_ids, raws, strict=True):
        pause_ = _pause(raw)
        if pause_ is not None and (pause_.open_ended or pause_.until > now):
            found[link_id] = pause_
    return found


def _pause(raw) -> Pause | None:
    if not raw:
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        return Pause()  # unreadable: the safe reading of a pause record is "paused"
    if record.get("state") != PAUSED:
        return None
    return Pause(float(record.get("until") or 0.0))
