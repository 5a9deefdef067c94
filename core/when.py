"""Times and durations as organisers write them (`twinbridge announce --at`, `/announce
at …`, `remind 1d`), read into Unix seconds.

A time is ISO 8601 with an offset ("2027-03-14T19:30+01:00", "…Z"), an ISO date and time
without one, read in the community's IANA time zone ("2027-03-14 19:30") or in the one
named after it ("2027-03-14 19:30 Europe/London"), a delay from now
("in 2h", "in 30m", "in 1d 2h"), or "today 19:00" / "tomorrow 19:00" in that zone. What
cannot be read raises :class:`WhenError`, whose message says how to write it (plain
English for the command line; ``reason`` lets a chat answer in the community's language).
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# WhenError.reason values.
UNREADABLE, PAST, UNKNOWN_ZONE, NO_SUCH_TIME, BAD_DURATION = (
    "unreadable",
    "past",
    "unknown_zone",
    "no_such_time",
    "bad_duration",
)

HOW_TO_WRITE_A_TIME = (
    'Write it as a date and time such as "2027-03-14 19:30" (read in {zone}), with an offset such as '
    '"2027-03-14T19:30+01:00", or as "in 2h", "in 30m", "in 1d 2h", "tomorrow 19:00".'
)
HOW_TO_WRITE_A_DURATION = (
    'Write a number and a unit, such as "1d", "2h", "30m" or "1d 12h" (d = days, h = hours, m = minutes).'
)

# A little slack for "now": the time it takes to type and send the command.
PAST_TOLERANCE = 60.0

_UNITS = {
    "w": 7 * 86400,
    "week": 7 * 86400,
    "weeks": 7 * 86400,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
}
_PART = re.compile(r"(\d+)\s*([a-z]+)")
_DURATION = re.compile(r"^(?:\d+\s*[a-z]+\s*,?\s*(?:and\s+)?)+$")
_DAY_WORDS = {"today": 0, "tomorrow": 1}
_NAMED_ZONE = re.compile(r"^(.*\d.*?) ((?:[A-Za-z_]+/[A-Za-z0-9_/+-]+)|UTC|GMT)$")
_CLOCK = re.compile(r"^(\d{1,2})(?::(\d{2}))?$")


class WhenError(ValueError):
    """A time or duration that cannot be used; the message says how to write it."""

    def __init__(self, message: str, reason: str = UNREADABLE):
        super().__init__(message)
        self.reason = reason


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``, or WhenError saying how to name one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise WhenError(
            f'"{name}" is not a time zone I know. Use an IANA name such as Europe/Berlin, Europe/London '
            "or Asia/Kolkata (https://en.wikipedia.org/wiki/List_of_tz_database_time_zones).",
            UNKNOWN_ZONE,
        ) from None


def parse_duration(text: str) -> int:
    """Seconds in ``text`` ("1d", "2h", "30m", "1d 12h", "2 hours"); WhenError otherwise."""
    cleaned = (text or "").strip().lower()
    if not cleaned or not _DURATION.match(cleaned):
        raise WhenError(f'I could not read "{text}" as a length of time. {HOW_TO_WRITE_A_DURATION}', BAD_DURATION)
    seconds = 0
    for number, unit in _PART.findall(cleaned):
        if unit not in _UNITS:
            raise WhenError(f'"{unit}" in "{text}" is not a unit I know. {HOW_TO_WRITE_A_DURATION}', BAD_DURATION)
        seconds += int(number) * _UNITS[unit]
    if seconds <= 0:
        raise WhenError(f'"{text}" is no time at all. {HOW_TO_WRITE_A_DURATION}', BAD_DURATION)
    return seconds


def parse_when(text: str, tz: str = "UTC", now: float | None = None, allow_past: bool = False) -> float:
    """Unix seconds of the time ``text`` (see the module's docstring), a time without an
    offset being read in the IANA zone ``tz``. Refuses a time already past unless
    ``allow_past`` (a minute's slack)."""
    now = time.time() if now is None else now
    cleaned = " ".join((text or "").strip().split())
    # "2027-03-14 19:30 Europe/Berlin": a zone named after the time replaces ``tz``.
    named = _NAMED_ZONE.match(cleaned)
    if named:
        cleaned, tz = named.group(1), named.group(2)
    here = zone(tz)
    lowered = cleaned.lower()
    if not cleaned:
        raise WhenError(f"No time was given. {HOW_TO_WRITE_A_TIME.format(zone=tz)}")
    if lowered == "now":
        moment = now
    elif lowered.startswith("in "):
        try:
            moment = now + parse_duration(lowered[3:])
        except WhenError:
            raise WhenError(f'I could not read "{text}". {HOW_TO_WRITE_A_TIME.format(zone=tz)}') from None
    elif lowered.split(" ", 1)[0] in _DAY_WORDS:
        moment = _day_and_clock(lowered, here, now, text, tz)
    else:
        moment = _iso(cleaned, here, text, tz)
    if not allow_past and moment < now - PAST_TOLERANCE:
        shown = datetime.fromtimestamp(moment, here).strftime("%Y-%m-%d %H:%M")
        raise WhenError(f'"{text}" ({shown} in {tz}) has already passed. Give a time in the future.', PAST)
    return moment


def _iso(cleaned: str, here: ZoneInfo, text: str, tz: str) -> float:
    candidate = cleaned.replace(" ", "T", 1) if re.match(r"^\d{4}-\d{2}-\d{2} \d", cleaned) else cleaned
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        raise WhenError(f'I could not read "{text}" as a time. {HOW_TO_WRITE_A_TIME.format(zone=tz)}') from None
    if parsed.tzinfo is None:
        if len(cleaned) <= 10:  # a date alone: a time is needed too
            raise WhenError(
                f'"{text}" has a date but no time of day. Add one, such as "{cleaned} 19:30".',
            )
        return _local(parsed, here, text, tz)
    return parsed.timestamp()


def _day_and_clock(lowered: str, here: ZoneInfo, now: float, text: str, tz: str) -> float:
    word, _, clock = lowered.partition(" ")
    match = _CLOCK.match(clock.removeprefix("at ").strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2) or 0) > 59:
        raise WhenError(f'I could not read "{text}". Write the time of day too, such as "{word} 19:00".')
    day = datetime.fromtimestamp(now, here).date() + timedelta(days=_DAY_WORDS[word])
    naive = datetime(day.year, day.month, day.day, int(match.group(1)), int(match.group(2) or 0))
    return _local(naive, here, text, tz)


def _local(naive: datetime, here: ZoneInfo, text: str, tz: str) -> float:
    """``naive`` read as a wall-clock time in ``here``; a time the clocks skip (the hour
    lost when summer time begins) does not exist there and is refused."""
    aware = naive.replace(tzinfo=here)
    back = datetime.fromtimestamp(aware.timestamp(), here).replace(tzinfo=None)
    if back != naive:
        raise WhenError(
            f'"{text}" does not exist in {tz}: the clocks skip that hour when summer time begins. '
            "Choose a time an hour later or earlier.",
            NO_SUCH_TIME,
        )
    return aware.timestamp()
