"""An event's time written the local way: in one community's time zone and language
("So., 14. März 2027, 19:30 MEZ", "Sun, 14 March 2027, 19:30 GMT"), by Babel's CLDR
data and zoneinfo's rules, so a daylight-saving change between the day an event is
announced and the day it happens is what the event's own date says.

The locale is the community's language with, when the language alone names no region,
the region of its time zone: "en" in Europe/London writes like en_GB (GMT, BST, 24-hour
times), "en" in Asia/Kolkata like en_IN (IST); a language Babel does not know falls back
to English.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_datetime, format_interval, format_skeleton, format_time, get_timezone_gmt

_DATE = "yMMMMEd"  # weekday, day, month in words, year: unambiguous in every locale


def zone(tz: str) -> ZoneInfo:
    """The IANA zone ``tz`` (UTC for one this machine does not know: the configuration
    validated it, so only a missing tzdata gets here)."""
    try:
        return ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_datetime(at: float, tz: str) -> datetime:
    """Unix seconds ``at`` as an aware datetime in ``tz``."""
    return datetime.fromtimestamp(at, zone(tz))


@cache
def locale_for(language: str, tz: str = "UTC") -> Locale:
    """Babel's locale for a community's ``language`` ("de", "pt-BR") in time zone ``tz``."""
    code = (language or "en").replace("-", "_")
    try:
        base = Locale.parse(code)
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")
    if base.territory:
        return base
    territory = get_global("zone_territories").get(tz)
    if territory and territory != "ZZ":
        try:
            return Locale.parse(f"{base.language}_{territory}")
        except (UnknownLocaleError, ValueError):
            pass
    return base


def zone_abbreviation(at: float, tz: str, language: str) -> str:
    """How readers of ``language`` name ``tz``'s offset at ``at``: "MEZ"/"MESZ", "GMT"/"BST",
    "IST", or, where the locale knows no short name, the offset ("GMT+05:30")."""
    moment = local_datetime(at, tz)
    locale = locale_for(language, tz)
    short = format_datetime(moment, "z", tzinfo=moment.tzinfo, locale=locale)
    if short and " " not in short and len(short) <= 6 and short[0] not in "+-":
        return short
    return get_timezone_gmt(moment, "long", locale=locale)


def _time_skeleton(locale: Locale) -> str:
    """'hm' where the locale writes a 12-hour clock, 'Hm' where a 24-hour one."""
    return "hm" if "h" in locale.time_formats["short"].pattern else "Hm"


def _date_and_time(locale: Locale, date: str, time: str) -> str:
    # The locale's own way of joining a date and a time ("{1}, {0}", "{1} {0}").
    return str(locale.datetime_formats["medium"]).replace("{1}", date).replace("{0}", time)


def local_when(start: float, end: float | None, tz: str, language: str) -> str:
    """The event's time in ``tz``, written for readers of ``language``; ``end`` (optional)
    on the same local day adds only its time ("19:30–22:00"), on a later day its date too.
    When the zone's name changes between start and end (the night of a daylight-saving
    change), each time carries its own."""
    locale = locale_for(language, tz)
    begins = local_datetime(start, tz)
    start_zone = zone_abbreviation(start, tz, language)
    date = format_skeleton(_DATE, begins, locale=locale)
    if end is None or end <= start:
        time = format_time(begins, "short", locale=locale)
        return f"{_date_and_time(locale, date, time)} {start_zone}"
    ends = local_datetime(end, tz)
    end_zone = zone_abbreviation(end, tz, language)
    if ends.date() == begins.date() and end_zone == start_zone:
        times = format_interval(begins, ends, _time_skeleton(locale), tzinfo=begins.tzinfo, locale=locale)
        return f"{_date_and_time(locale, date, times)} {start_zone}"
    first = _date_and_time(locale, date, format_time(begins, "short", locale=locale))
    last_time = format_time(ends, "short", locale=locale)
    if ends.date() != begins.date():
        last_time = _date_and_time(locale, format_skeleton(_DATE, ends, locale=locale), last_time)
    fallback = str(locale.interval_formats.get(None) or "{0} – {1}")
    if end_zone == start_zone:
        return fallback.replace("{0}", first).replace("{1}", last_time) + f" {end_zone}"
    return fallback.replace("{0}", f"{first} {start_zone}").replace("{1}", f"{last_time} {end_zone}")
