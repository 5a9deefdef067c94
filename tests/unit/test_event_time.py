"""core/event_time.py: an event's time in a community's zone and language (Babel, zoneinfo),
right across daylight-saving changes; and the announcement phrases (core/phrases.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core import phrases
from core.announcements import RSVP_CHOICES
from core.event_time import local_datetime, local_when, locale_for, zone_abbreviation


def utc(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


def test_german_and_british_ways_of_writing_one_moment():
    start = utc(2027, 3, 14, 18, 30)
    assert local_when(start, None, "Europe/Berlin", "de") == "So., 14. März 2027, 19:30 MEZ"
    assert local_when(start, None, "Europe/London", "en") == "Sun, 14 March 2027, 18:30 GMT"


def test_an_end_on_the_same_day_adds_only_its_time():
    when = local_when(utc(2027, 3, 14, 18, 30), utc(2027, 3, 14, 21, 0), "Europe/Berlin", "de")
    assert when.startswith("So., 14. März 2027, 19:30")
    assert "22:00" in when and when.endswith("MEZ") and when.count("2027") == 1


def test_an_end_on_another_day_carries_its_date():
    when = local_when(utc(2027, 5, 1, 8, 0), utc(2027, 5, 2, 16, 0), "Europe/Berlin", "de")
    assert "1. Mai 2027" in when and "2. Mai 2027" in when and when.endswith("MESZ")


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # Last Sunday of March 2027 (28th): clocks go forward at 02:00, so 19:30 is summer time.
        (utc(2027, 3, 28, 17, 30), "So., 28. März 2027, 19:30 MESZ"),
        # The Saturday before: still winter time, one hour more from UTC.
        (utc(2027, 3, 27, 18, 30), "Sa., 27. März 2027, 19:30 MEZ"),
        # Last Sunday of October 2027 (31st): clocks go back at 03:00, so 19:30 is winter time.
        (utc(2027, 10, 31, 18, 30), "So., 31. Oktober 2027, 19:30 MEZ"),
        (utc(2027, 10, 30, 17, 30), "Sa., 30. Oktober 2027, 19:30 MESZ"),
    ],
)
def test_berlin_on_both_sides_of_the_daylight_saving_changes(start, expected):
    assert local_when(start, None, "Europe/Berlin", "de") == expected


def test_an_event_announced_in_winter_for_summer_shows_summer_time():
    # Announced on 1 February (MEZ, UTC+1) for 19:30 on 10 April (MESZ, UTC+2): the
    # offset is the event day's, not the announcement's.
    announced = utc(2027, 2, 1, 12, 0)
    start = datetime(2027, 4, 10, 19, 30, tzinfo=local_datetime(announced, "Europe/Berlin").tzinfo).timestamp()
    assert start == utc(2027, 4, 10, 17, 30)
    assert local_when(start, None, "Europe/Berlin", "de") == "Sa., 10. April 2027, 19:30 MESZ"
    assert zone_abbreviation(announced, "Europe/Berlin", "de") == "MEZ"
    assert local_when(start, None, "Europe/London", "en") == "Sat, 10 April 2027, 18:30 BST"


def test_the_night_of_the_change_names_each_times_zone():
    # 01:00 MEZ to 04:00 MESZ is two hours: the zone's name changes in between.
    when = local_when(utc(2027, 3, 28, 0, 0), utc(2027, 3, 28, 2, 0), "Europe/Berlin", "de")
    assert "01:00 MEZ" in when and "04:00 MESZ" in when


def test_kolkata_is_five_and_a_half_hours_ahead():
    start = utc(2027, 3, 14, 14, 0)
    assert (
        local_when(start, None, "Asia/Kolkata", "en") == "Sun, 14 March 2027, 7:30\u202fPM IST"
    )  # CLDR: a narrow no-break space
    assert "07:30" in local_when(start, None, "Asia/Kolkata", "gu")
    # A locale that knows no short name for the zone shows its offset.
    assert zone_abbreviation(start, "Asia/Kolkata", "de") == "GMT+05:30"
    # The date turns over in Kolkata before it does in UTC.
    assert "15." in local_when(utc(2027, 3, 14, 19, 0), None, "Asia/Kolkata", "de")


def test_locales_take_the_zones_region_and_fall_back_to_english():
    assert str(locale_for("en", "Europe/London")) == "en_GB"
    assert str(locale_for("es", "America/Managua")) == "es_NI"
    assert str(locale_for("pt-BR", "Europe/Lisbon")) == "pt_BR"
    assert str(locale_for("xx", "UTC")) == "en"
    assert local_when(utc(2027, 3, 14, 14, 0), None, "Nowhere/Atlantis", "en").endswith("UTC")


@pytest.mark.parametrize("language", ["en", "de", "fr", "es", "it", "pt", "nl", "pl", "zh", "gu"])
def test_every_language_of_the_phrases_has_the_announcement_words(language):
    labels = phrases.rsvp_labels(language)
    assert list(labels) == list(RSVP_CHOICES) and all(labels.values())
    if language != "en":
        assert labels != phrases.rsvp_labels("en")
        assert phrases.announcement_word(language) != "Announcement"
    header = phrases.announcement_header(language, "announcement", "Leicester")
    assert header.startswith("📢 ") and header.endswith(" · Leicester")
    assert phrases.announcement_word(language, "reminder") != phrases.announcement_word(language)
    line = phrases.rsvp_counts_line(language, {"going": 3, "maybe": 1})
    assert all(label in line for label in labels.values()) and "3" in line and "0" in line


def test_announcement_phrases_fall_back_to_english_and_keep_our_separator():
    assert phrases.announcement_header("de-AT", "reminder", "Krefeld") == "📢 Erinnerung · Krefeld"
    assert phrases.announcement_header("sw", "announcement", "Masaya") == "📢 Announcement · Masaya"
    assert phrases.announcement_header("en", "announcement", "Fake · Krefeld\n") == "📢 Announcement · Fake - Krefeld"
    assert phrases.rsvp_counts_line("en", {"going": 2, "maybe": 0, "cant": 1}) == "Going: 2 · Maybe: 0 · Can't: 1"
