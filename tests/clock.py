"""Time as a dependency: a clock the tests move instead of waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

# Monday 2026-12-07, 10:00 in Shanghai: a business day, outside quiet hours.
MONDAY_MORNING = datetime(2026, 12, 7, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


class MovableClock:
    """What the bot asks for the time; `advance` moves it on."""

    def __init__(self, start: datetime = MONDAY_MORNING) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, when: datetime) -> datetime:
        self.now = when
        return self.now
