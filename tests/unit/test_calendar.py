"""core/calendar.py: the .ics of an event notice, parsed back with icalendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from core.announcements import AnnouncementView, EventDetails
from core.calendar import event_uid, ics_filename, ics_for

BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")


def _event(ics: bytes):
    calendar = Calendar.from_ical(ics)
    [event] = calendar.walk("VEVENT")
    return calendar, event


def _at(year, month, day, hour, minute, tz) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=tz).timestamp()


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        # 2027's spring change in Berlin is on Sunday 28 March: +01:00 before, +02:00 after.
        ((2027, 3, 27, 19, 30), (2027, 3, 27, 18, 30)),
        ((2027, 3, 28, 19, 30), (2027, 3, 28, 17, 30)),
        # and back on Sunday 31 October.
        ((2027, 10, 30, 19, 30), (2027, 10, 30, 17, 30)),
        ((2027, 10, 31, 19, 30), (2027, 10, 31, 18, 30)),
    ],
)
def test_berlin_times_across_the_dst_changes(local, utc):
    start = _at(*local, BERLIN)
    _, event = _event(ics_for(EventDetails("Fest", start), "a7k2m9"))
    dtstart = event.decoded("dtstart")
    assert dtstart == datetime(*utc, tzinfo=UTC)
    assert dtstart.utcoffset() == timedelta(0)  # written in UTC: "…Z"
    assert dtstart.astimezone(BERLIN).timetuple()[:5] == local
    assert b"DTSTART:%04d%02d%02dT%02d%02d00Z" % utc in ics_for(EventDetails("Fest", start), "a7k2m9")


def test_kolkata_half_hour_offset_and_the_end():
    start = _at(2027, 3, 14, 19, 30, KOLKATA)
    end = _at(2027, 3, 14, 21, 45, KOLKATA)
    _, event = _event(ics_for(EventDetails("Mela", start, end, "Town Hall, Kolkata"), "k0l1"))
    assert event.decoded("dtstart") == datetime(2027, 3, 14, 14, 0, tzinfo=UTC)
    assert event.decoded("dtend") == datetime(2027, 3, 14, 16, 15, tzinfo=UTC)
    assert event.decoded("dtend").astimezone(KOLKATA).strftime("%H:%M") == "21:45"
    assert str(event["location"]) == "Town Hall, Kolkata"


def test_an_hour_without_an_end_and_the_fields():
    start = _at(2027, 6, 5, 18, 0, BERLIN)
    view = AnnouncementView(
        id="a7k2m9",
        header="📢 Ankündigung · Leicester",
        event=EventDetails("Städtefest; mit Musik, Tanz", start, None, "Rathaus, Krefeld", "https://example.org/fest"),
        language="de",
    )
    ics = ics_for(view, description="Alle sind willkommen!\nBringt Freunde mit.", stamp=1_800_000_000)
    calendar, event = _event(ics)
    assert str(calendar["version"]) == "2.0" and str(calendar["method"]) == "PUBLISH"
    assert event.decoded("dtend") - event.decoded("dtstart") == timedelta(hours=1)
    assert str(event["summary"]) == "Städtefest; mit Musik, Tanz"  # escaped in the file, whole when read
    assert event["summary"].params["LANGUAGE"] == "de"
    assert str(event["location"]) == "Rathaus, Krefeld"
    assert str(event["url"]) == "https://example.org/fest"
    description = str(event["description"])
    assert description.startswith("Alle sind willkommen!\nBringt Freunde mit.")
    assert description.endswith("https://example.org/fest")  # Google shows no URL property
    assert event.decoded("dtstamp") == datetime.fromtimestamp(1_800_000_000, UTC)
    assert str(event["uid"]) == event_uid("a7k2m9")
    assert all(len(line) <= 75 for line in ics.split(b"\r\n"))  # folded (octets)


def test_the_uid_is_stable_per_announcement():
    event = EventDetails("Fest", _at(2027, 6, 5, 18, 0, BERLIN))
    first = _event(ics_for(event, "a7k2m9", description="en", stamp=1))[1]
    again = _event(ics_for(event, "a7k2m9", description="fr", language="fr", stamp=2))[1]
    other = _event(ics_for(event, "b8l3n0"))[1]
    assert str(first["uid"]) == str(again["uid"]) != str(other["uid"])


def test_no_event_no_calendar():
    with pytest.raises(ValueError):
        ics_for(AnnouncementView(id="a1", header="x"))
    with pytest.raises(ValueError):
        ics_for(EventDetails("Fest", 1.0), "")


def test_filename():
    assert ics_filename("Städtefest 2027!") == "Stadtefest-2027.ics"
    assert ics_filename("祭り") == "event.ics"
    assert len(ics_filename("x" * 200)) <= 44
