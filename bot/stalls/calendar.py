"""Business time: which days count, in which time zone, and the quiet hours in which no reminder
reaches a customer. Pure: every function takes the moments it works on.

A stall is measured in business time, so a Friday evening's silence is not two days old on
Monday morning: with `mon-fri`, only the hours of Monday to Friday (local time, whole days)
count. Quiet hours only hold reminders back; they do not stop the clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY = timedelta(days=1)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


# -- parsing settings -----------------------------------------------------------------------------


def parse_duration(text: str) -> timedelta:
    """`30s`, `45m`, `36h`, `2d`: a whole number and one unit, more than zero."""
    match = _DURATION.match(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration such as 30s, 45m, 36h or 2d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def format_duration(value: timedelta) -> str:
    """The shortest of `2d`, `36h`, `45m`, `30s` that says `value` exactly."""
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def parse_days(text: str) -> frozenset[int]:
    """`mon-fri`, `mon-sun`, `mon,wed,fri` or `mon-thu,sat`: the weekdays (0 = Monday) that
    count as business days."""
    days: set[int] = set()
    for part in (p.strip().lower() for p in text.split(",")):
        first, dash, last = part.partition("-")
        if first not in WEEKDAYS or (dash and last not in WEEKDAYS):
            raise ValueError(f"{text!r} is not a list of days such as mon-fri or mon,wed,fri")
        start = WEEKDAYS.index(first)
        end = WEEKDAYS.index(last) if dash else start
        if end < start:
            raise ValueError(f"{part!r} runs backwards; write the days Monday first, e.g. mon-fri")
        days.update(range(start, end + 1))
    return frozenset(days)


def parse_clock(text: str) -> time:
    match = _CLOCK.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a time of day such as 09:00")
    return time(int(match.group(1)), int(match.group(2)))


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    """`21:00-09:00` (across midnight), `12:00-13:30`, or `off`."""
    if text.strip().lower() == "off":
        return None
    start, dash, end = text.partition("-")
    if not dash:
        raise ValueError(f"{text!r} is not a range of hours such as 21:00-09:00 (or off)")
    quiet = (parse_clock(start), parse_clock(end))
    if quiet[0] == quiet[1]:
        raise ValueError(f"{text!r} starts and ends at the same time; write off to disable")
    return quiet


def parse_weekly(text: str) -> tuple[int, time] | None:
    """`mon 09:00` (a weekday and a time of day), or `off`."""
    if text.strip().lower() == "off":
        return None
    day, _, clock = text.strip().lower().partition(" ")
    if day not in WEEKDAYS:
        raise ValueError(f"{text!r} is not a weekday and a time such as mon 09:00 (or off)")
    return WEEKDAYS.index(day), parse_clock(clock)


def parse_zone(text: str) -> str:
    try:
        ZoneInfo(text.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{text!r} is not a time zone such as Asia/Shanghai") from None
    return text.strip()


# -- the calendar ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BusinessCalendar:
    """Business days in a time zone, and the quiet hours of reminders to customers."""

    days: frozenset[int] = frozenset(range(5))
    zone: str = "Asia/Shanghai"
    quiet: tuple[time, time] | None = (time(21), time(9))
    _tz: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.days:
            raise ValueError("a business calendar needs at least one business day")
        object.__setattr__(self, "_tz", ZoneInfo(self.zone))

    # -- days -------------------------------------------------------------------------------

    def local(self, when: datetime) -> datetime:
        _aware(when)
        return when.astimezone(self._tz)

    def _midnight(self, day: date) -> datetime:
        """The start of `day` in the calendar's zone, as an aware UTC moment."""
        return datetime.combine(day, time(0), self._tz).astimezone(UTC)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() in self.days

    def _days(self, start: datetime, end: datetime) -> Iterable[tuple[date, datetime, datetime]]:
        """Each local day touching [start, end), with its [midnight, next midnight) in UTC."""
        day = self.local(start).date()
        last = self.local(end).date()
        while day <= last:
            begin = self._midnight(day)
            following = self._midnight(day + DAY)
            yield day, begin, following
            day += DAY

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time in [start, end): the parts of it that fall on business days."""
        _aware(start)
        _aware(end)
        if end <= start:
            return timedelta(0)
        total = timedelta(0)
        # Whole weeks at once: each holds one business day per weekday that counts.
        weeks = (end - start) // (7 * DAY)
        if weeks > 1:
            total += (weeks - 1) * len(self.days) * DAY
            start = start + (weeks - 1) * 7 * DAY
        for day, begin, following in self._days(start, end):
            if self.is_business_day(day):
                total += max(timedelta(0), min(end, following) - max(start, begin))
        return total

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment at which `duration` of business time has passed since `start`."""
        _aware(start)
        remaining = duration
        cursor = start.astimezone(UTC)
        if remaining <= timedelta(0):
            return cursor
        full_weeks = remaining // (len(self.days) * DAY)
        if full_weeks > 1:
            cursor += (full_weeks - 1) * 7 * DAY
            remaining -= (full_weeks - 1) * len(self.days) * DAY
        while True:
            day = self.local(cursor).date()
            following = self._midnight(day + DAY)
            if self.is_business_day(day):
                available = following - cursor
                if remaining <= available:
                    return cursor + remaining
                remaining -= available
            cursor = following

    def week_start(self, when: datetime) -> datetime:
        """Monday 00:00 (local) of `when`'s week."""
        day = self.local(when).date()
        return self._midnight(day - timedelta(days=day.weekday()))

    # -- quiet hours ------------------------------------------------------------------------

    def is_quiet(self, when: datetime) -> bool:
        if self.quiet is None:
            return False
        start, end = self.quiet
        now = self.local(when).time()
        return start <= now < end if start < end else now >= start or now < end

    def after_quiet(self, when: datetime) -> datetime:
        """`when`, or the end of the quiet hours it falls in."""
        if self.quiet is None or not self.is_quiet(when):
            return when
        end = self.quiet[1]
        local = self.local(when)
        candidate = datetime.combine(local.date(), end, self._tz)
        if candidate <= local:
            candidate = datetime.combine(local.date() + DAY, end, self._tz)
        return candidate.astimezone(UTC)

    def customer_slot(self, when: datetime, last_reminder: datetime | None) -> datetime:
        """The earliest moment from `when` at which a reminder may reach a customer: not in
        quiet hours, on a business day, and not a second one on the local day of the last."""
        cursor = when
        for _ in range(14):  # a fortnight always holds a slot: days are never all excluded
            day = self.local(cursor).date()
            reminded_today = last_reminder is not None and self.local(last_reminder).date() == day
            if not self.is_business_day(day) or reminded_today:
                cursor = self._midnight(day + DAY)
                continue
            slot = self.after_quiet(cursor)
            if self.local(slot).date() == day:
                return slot
            cursor = slot
        return cursor

    def next_weekly(self, after: datetime, weekday: int, at: time) -> datetime:
        """The first `weekday` `at` (local) strictly after `after`."""
        local = self.local(after)
        day = local.date() + timedelta(days=(weekday - local.weekday()) % 7)
        candidate = datetime.combine(day, at, self._tz)
        if candidate <= local:
            candidate = datetime.combine(day + timedelta(days=7), at, self._tz)
        return candidate.astimezone(UTC)


def _aware(when: datetime) -> None:
    if when.tzinfo is None:
        raise ValueError("business time needs timezone-aware datetimes")
