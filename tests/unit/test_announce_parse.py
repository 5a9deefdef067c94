"""Reading /announce as organisers write it in a chat (workers/announce_commands.py):
options, the event form, and what is answered with an example instead."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.models import Author, Command
from workers.announce_commands import BadForm, Written, _check_times, announcement_id, parse

pytestmark = pytest.mark.unit

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC).timestamp()
BERLIN = "Europe/Berlin"


def utc(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


def test_a_plain_notice_goes_now():
    written = parse("The summer fair is on Saturday!", BERLIN, NOW)
    assert written == Written(None, "", False, (), (), None, "The summer fair is on Saturday!")


def test_options_before_the_text():
    written = parse("at 2027-03-14 19:30 pin Choir rehearsal moves to the hall", BERLIN, NOW)
    assert written.at == utc(2027, 3, 14, 18, 30) and written.pin  # 19:30 in Berlin (CET)
    assert written.text == "Choir rehearsal moves to the hall"
    assert parse("in 2h Soup is ready", BERLIN, NOW).at == NOW + 7200
    assert parse("in 1d 2h Soup", BERLIN, NOW).at == NOW + 93600
    assert parse("at tomorrow 19:00 Soup", BERLIN, NOW).at == utc(2027, 3, 2, 18, 0)
    assert parse("at 2027-03-14 19:30 Europe/London Tea", BERLIN, NOW).at == utc(2027, 3, 14, 19, 30)
    # Words that merely begin like an option are text.
    assert parse("in the town hall at noon", BERLIN, NOW).text == "in the town hall at noon"


def test_the_event_form():
    written = parse(
        "pin remind 1d event Summer fair | 2027-06-12 14:00 | 18:00 | Market square | https://example.org\n"
        "Bring a cake!",
        BERLIN,
        NOW,
    )
    assert written.pin and written.reminders == (86400,) and written.text == "Bring a cake!"
    event = written.event
    assert event is not None and event.title == "Summer fair" and event.place == "Market square"
    assert (event.start, event.end) == (utc(2027, 6, 12, 12, 0), utc(2027, 6, 12, 16, 0))  # CEST
    assert event.url == "https://example.org"
    # An end earlier in the day than the start is past midnight.
    late = parse("event Party | 2027-06-12 23:00 | 01:30", BERLIN, NOW).event
    assert late is not None and late.end == utc(2027, 6, 12, 23, 30)
    # Place and link in any order, both optional.
    short = parse("event Meeting | 2027-06-12 19:00 | https://x.example | Town hall", BERLIN, NOW).event
    assert short is not None and (short.place, short.url, short.end) == ("Town hall", "https://x.example", None)


@pytest.mark.parametrize(
    "written,phrase",
    [
        ("", "no_text"),
        ("pin", "no_text"),
        ("at soon Hello", "bad_time"),
        ("at 2027-13-40 19:30 Hello", "bad_time"),
        ("at 2020-01-01 10:00 Hello", "past"),
        ("at 2027-03-28 02:30 Hello", "no_such_time"),  # the hour Berlin's clocks skip
        ("remind soon event X | 2027-06-12 14:00", "bad_remind"),
        ("event Summer fair", "event_form"),
        ("event | 2027-06-12 14:00", "event_form"),
        ("event X | 2027-06-12 14:00 | a | b", "event_form"),
        ("event X | 2027-06-12 14:00 | 2027-06-11 10:00", "end_before_start"),
        ("event X | yesterday", "bad_time"),
        ("at 2027-06-12 14:00 Mars/Olympus Hello", "unknown_zone"),
        ("event X | 2027-06-12 14:00 Europe/Krefeld", "unknown_zone"),
    ],
)
def test_what_cannot_be_used_says_how_to_write_it(written, phrase):
    with pytest.raises(BadForm) as raised:
        parse(written, BERLIN, NOW)
    assert raised.value.phrase == phrase


def test_times_that_do_not_fit_together():
    with pytest.raises(BadForm, match="remind_needs_event"):
        _check_times(parse("remind 1d Hello", BERLIN, NOW), NOW, NOW)
    event = parse("at 2027-06-13 10:00 event X | 2027-06-12 14:00", BERLIN, NOW)
    with pytest.raises(BadForm, match="at_after_event"):
        _check_times(event, event.at or NOW, NOW)
    soon = parse("remind 2d event X | 2027-03-02 14:00", BERLIN, NOW)
    with pytest.raises(BadForm, match="remind_too_late"):
        _check_times(soon, NOW, NOW)


def test_the_id_comes_from_the_command():
    said = Command("announce", "Hello", "telegram", "-100", "7", Author("5", "Anna"))
    again = Command("announce", "Hello", "telegram", "-100", "7", Author("5", "Anna"))
    other = Command("announce", "Hello", "telegram", "-100", "8", Author("5", "Anna"))
    assert announcement_id(said) == announcement_id(again) != announcement_id(other)
    assert len(announcement_id(said)) == 6
