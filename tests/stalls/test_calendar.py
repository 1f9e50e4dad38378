"""Business time: weekends do not count, quiet hours hold reminders back, settings parse."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.stalls.calendar import (
    BusinessCalendar,
    format_duration,
    parse_days,
    parse_duration,
    parse_quiet_hours,
    parse_weekly,
    parse_zone,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
CAL = BusinessCalendar()  # mon-fri, Asia/Shanghai, quiet 21:00-09:00


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    """2026-12-{day} at hour:minute Shanghai time (2026-12-04 is a Friday)."""
    return datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("45m", timedelta(minutes=45)),
        ("36h", timedelta(hours=36)),
        ("2d", timedelta(days=2)),
        (" 5D ", timedelta(days=5)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert parse_duration(format_duration(expected)) == expected


@pytest.mark.parametrize("text", ["", "2", "d", "1.5d", "0d", "-1d", "2w", "1d12h", "two days"])
def test_what_is_not_a_duration_says_so(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration such as 30s, 45m, 36h or 2d"):
        parse_duration(text)


def test_days_times_and_zones_parse() -> None:
    assert parse_days("mon-fri") == frozenset(range(5))
    assert parse_days("mon-sun") == frozenset(range(7))
    assert parse_days("mon,wed,fri") == {0, 2, 4}
    assert parse_days("mon-tue, sat") == {0, 1, 5}
    assert parse_quiet_hours("21:00-09:00") == (time(21), time(9))
    assert parse_quiet_hours("OFF") is None
    assert parse_weekly("mon 09:00") == (0, time(9))
    assert parse_weekly("off") is None
    assert parse_zone("Europe/Berlin") == "Europe/Berlin"
    for bad, parse in [
        ("fri-mon", parse_days),
        ("weekdays", parse_days),
        ("21-9", parse_quiet_hours),
        ("09:00-09:00", parse_quiet_hours),
        ("monday 9am", parse_weekly),
        ("Mars/Olympus", parse_zone),
    ]:
        with pytest.raises(ValueError):
            parse(bad)


def test_a_weekend_does_not_count() -> None:
    # Friday 10:00 to Tuesday 10:00: Friday's 14 hours, all of Monday, Tuesday's 10 hours.
    assert CAL.elapsed(at(4, 10), at(8, 10)) == timedelta(hours=48)
    assert CAL.add(at(4, 10), timedelta(days=2)) == at(8, 10)
    # Saturday to Monday morning: nothing.
    assert CAL.elapsed(at(5, 9), at(7, 0)) == timedelta(0)
    # Every day counts with mon-sun.
    every_day = BusinessCalendar(days=frozenset(range(7)))
    assert every_day.elapsed(at(4, 10), at(8, 10)) == timedelta(days=4)


def test_a_stall_that_starts_on_the_weekend_counts_from_monday() -> None:
    assert CAL.add(at(5, 15), timedelta(days=1)) == at(8, 0)  # Saturday + 1d: Tuesday 00:00
    assert CAL.elapsed(at(5, 15), at(7, 12)) == timedelta(hours=12)


def test_long_spans_agree_with_day_by_day_counting() -> None:
    start = at(1, 13)
    for days in (1, 5, 6, 13, 20, 61):
        end = start + timedelta(days=days, hours=7)
        walked = timedelta(0)
        cursor = start
        while cursor < end:  # an hour at a time, the slow and obvious way
            if CAL.is_business_day(CAL.local(cursor).date()):
                walked += timedelta(hours=1)
            cursor += timedelta(hours=1)
        assert CAL.elapsed(start, end) == walked
        assert CAL.elapsed(start, CAL.add(start, walked)) == walked


def test_quiet_hours_across_midnight() -> None:
    assert CAL.is_quiet(at(3, 22)) and CAL.is_quiet(at(4, 8, 59))
    assert not CAL.is_quiet(at(4, 9)) and not CAL.is_quiet(at(3, 20, 59))
    assert CAL.after_quiet(at(3, 22)) == at(4, 9)
    assert CAL.after_quiet(at(4, 3)) == at(4, 9)
    assert CAL.after_quiet(at(4, 12)) == at(4, 12)
    assert not BusinessCalendar(quiet=None).is_quiet(at(4, 3))


def test_a_customer_reminder_waits_for_a_business_day_out_of_quiet_hours_once_a_day() -> None:
    # Friday 22:00 is quiet, and the next business day is Monday: Monday 09:00.
    assert CAL.customer_slot(at(4, 22), None) == at(7, 9)
    # Already reminded on Thursday at 10:00: at Thursday 15:00 the next slot is Friday 09:00.
    assert CAL.customer_slot(at(3, 15), at(3, 10)) == at(4, 9)
    # Not reminded today, in business hours: now.
    assert CAL.customer_slot(at(3, 15), at(2, 10)) == at(3, 15)


def test_weekly_moments_and_week_starts() -> None:
    assert CAL.next_weekly(at(3, 12), 0, time(9)) == at(7, 9)  # Thursday -> Monday 09:00
    assert CAL.next_weekly(at(7, 9), 0, time(9)) == at(14, 9)  # strictly after
    # The week of Sunday 2026-12-06 began on Monday 2026-11-30, 00:00 in Shanghai.
    assert CAL.week_start(at(6, 23)) == datetime(2026, 11, 30, tzinfo=SHANGHAI).astimezone(UTC)
    assert CAL.week_start(at(4, 10)) == datetime(2026, 11, 30, tzinfo=SHANGHAI).astimezone(UTC)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.elapsed(datetime(2026, 12, 1), at(2))
