"""Times and durations as organisers write them (core/when.py)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from core.when import NO_SUCH_TIME, PAST, UNKNOWN_ZONE, WhenError, parse_duration, parse_when

# Saturday 2027-03-13 12:00 UTC (13:00 in Berlin, winter time).
NOW = datetime(2027, 3, 13, 12, 0, tzinfo=ZoneInfo("UTC")).timestamp()


def _utc(*parts) -> float:
    return datetime(*parts, tzinfo=ZoneInfo("UTC")).timestamp()


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2027-03-14T19:30+01:00", _utc(2027, 3, 14, 18, 30)),
        ("2027-03-14T18:30Z", _utc(2027, 3, 14, 18, 30)),
        ("2027-03-14 19:30", _utc(2027, 3, 14, 18, 30)),  # naive: Berlin, CET (+01:00)
        ("2027-04-14T19:30", _utc(2027, 4, 14, 17, 30)),  # CEST after the change (+02:00)
        ("in 2h", NOW + 7200),
        ("in 30m", NOW + 1800),
        ("In 1d 2h", NOW + 93600),
        ("in 90 minutes", NOW + 5400),
        ("tomorrow 19:00", _utc(2027, 3, 14, 18, 0)),
        ("today 18", _utc(2027, 3, 13, 17, 0)),
        ("now", NOW),
    ],
)
def test_times_are_read(text, expected):
    assert parse_when(text, "Europe/Berlin", NOW) == expected


def test_a_naive_time_is_read_in_the_zone_given():
    assert parse_when("2027-03-14 19:30", "Asia/Kolkata", NOW) == _utc(2027, 3, 14, 14, 0)
    assert parse_when("2027-03-14 19:30", "Europe/London", NOW) == _utc(2027, 3, 14, 19, 30)
    # A zone named after the time is the one it is read in.
    assert parse_when("2027-03-14 19:30 Asia/Kolkata", "Europe/London", NOW) == _utc(2027, 3, 14, 14, 0)
    assert parse_when("tomorrow 19:00 UTC", "Europe/Berlin", NOW) == _utc(2027, 3, 14, 19, 0)
    with pytest.raises(WhenError) as caught:
        parse_when("2027-03-14 19:30 Europe/Krefeld", "Europe/Berlin", NOW)
    assert caught.value.reason == UNKNOWN_ZONE


@pytest.mark.parametrize(
    "text", ["tomorow 7pm", "next friday", "2027-13-01 10:00", "in two hours", "", "in 2 fortnights"]
)
def test_what_cannot_be_read_says_how_to_write_it(text):
    with pytest.raises(WhenError) as caught:
        parse_when(text, "Europe/Berlin", NOW)
    assert "in 2h" in str(caught.value) or "19:00" in str(caught.value)


def test_a_date_without_a_time_asks_for_the_time():
    with pytest.raises(WhenError, match="no time of day"):
        parse_when("2027-03-14", "Europe/Berlin", NOW)


def test_a_past_time_is_refused_unless_allowed():
    with pytest.raises(WhenError) as caught:
        parse_when("2027-03-13 10:00", "Europe/Berlin", NOW)
    assert caught.value.reason == PAST and "already passed" in str(caught.value)
    assert parse_when("2027-03-13 10:00", "Europe/Berlin", NOW, allow_past=True) == _utc(2027, 3, 13, 9, 0)


def test_an_unknown_zone_names_how_to_write_one():
    with pytest.raises(WhenError) as caught:
        parse_when("in 2h", "Berlin", NOW)
    assert caught.value.reason == UNKNOWN_ZONE and "Europe/Berlin" in str(caught.value)


def test_the_hour_skipped_by_summer_time_does_not_exist():
    with pytest.raises(WhenError) as caught:
        parse_when("2027-03-28 02:30", "Europe/Berlin", NOW)
    assert caught.value.reason == NO_SUCH_TIME


@pytest.mark.parametrize(
    "text,seconds", [("1d", 86400), ("2h", 7200), ("30m", 1800), ("1d 12h", 129600), ("2 hours", 7200), ("1w", 604800)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "1", "d", "0h", "1 fortnight", "-1d", "1d x"])
def test_bad_durations_say_how_to_write_one(text):
    with pytest.raises(WhenError, match="1d"):
        parse_duration(text)
