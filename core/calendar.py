"""The calendar file (.ics, RFC 5545) that goes with an event notice, made with icalendar.

One VEVENT whose UID is derived from the announcement's id only, so the notice, its
reminders and a re-sent copy are the same event to a calendar: importing it twice
updates the entry instead of adding a second one. Times are written in UTC
(``DTSTART:20270314T183000Z``): Google Calendar, Apple Calendar and Outlook all read a
UTC time right and show it in the reader's own zone, while a TZID needs a matching
VTIMEZONE block that clients treat unevenly. The community's own local time is in the
post itself. Without an end the event lasts an hour.
"""

from __future__ import annotations

import re
import time
import unicodedata
from datetime import UTC, datetime, timedelta

from core.announcements import AnnouncementView, EventDetails

PRODID = "-//twinbridge//announcements//EN"
DEFAULT_DURATION = timedelta(hours=1)
UID_DOMAIN = "twinbridge.invalid"  # a UID needs a unique right-hand side, not a real host
MAX_FILENAME_STEM = 40


def event_uid(announcement_id: str) -> str:
    """The one UID of an announcement's event, the same in every copy and reminder."""
    return f"announcement-{announcement_id}@{UID_DOMAIN}"


def _utc(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


def ics_for(
    source: AnnouncementView | EventDetails,
    announcement_id: str = "",
    *,
    description: str = "",
    language: str = "",
    stamp: float | None = None,
) -> bytes:
    """The .ics of an announcement's event. ``source`` is a destination's view (its id,
    language and event are used) or the event itself (then ``announcement_id`` names the
    announcement). ``description`` is the notice's body as the destination reads it;
    ``stamp`` is when the file was made (DTSTAMP; now by default)."""
    if isinstance(source, AnnouncementView):
        if source.event is None:
            raise ValueError("an announcement without an event has no calendar entry")
        event_details = source.event
        announcement_id = announcement_id or source.id
        language = language or source.language
    else:
        event_details = source
    if not announcement_id:
        raise ValueError("the calendar entry needs the announcement's id for its UID")
    start = _utc(event_details.start)
    end = _utc(event_details.end) if event_details.end and event_details.end > event_details.start else None

    # Imported here, not at the top: every adapters process imports this module, few
    # ever post an event's calendar, and icalendar (with dateutil) is ~3 MB of memory.
    from icalendar import Calendar, Event

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")

    event = Event()
    event.add("uid", event_uid(announcement_id))
    event.add("dtstamp", _utc(time.time() if stamp is None else stamp))
    event.add("dtstart", start)
    event.add("dtend", end or start + DEFAULT_DURATION)
    summary_params = {"language": language} if language else {}
    event.add("summary", event_details.title.strip() or "Event", parameters=summary_params)
    if event_details.place.strip():
        event.add("location", event_details.place.strip())
    if event_details.url.strip():
        event.add("url", event_details.url.strip())
    text = description.strip()
    if event_details.url.strip() and event_details.url.strip() not in text:
        # Google Calendar shows no URL property: the link goes in the description too.
        text = f"{text}\n\n{event_details.url.strip()}" if text else event_details.url.strip()
    if text:
        event.add("description", text, parameters=summary_params)
    event.add("sequence", 0)
    event.add("transp", "OPAQUE")
    calendar.add_component(event)
    return bytes(calendar.to_ical())


def ics_filename(title: str) -> str:
    """A file name every platform and calendar app accepts: the title in plain ASCII
    letters and digits ("Stadtefest-2027.ics"), or "event.ics"."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9]+", "-", ascii_title).strip("-")[:MAX_FILENAME_STEM].strip("-")
    return f"{stem or 'event'}.ics"
