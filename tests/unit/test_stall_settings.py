"""The settings of keeping onboardings moving become one policy, as the README's table says."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from bot.config import Settings
from bot.flows.model import Step


def test_defaults_are_the_documented_ones() -> None:
    settings = Settings()
    policy = settings.stall_policy()
    assert all(policy.threshold(step) == timedelta(days=2) for step in Step.ordered())
    assert policy.escalate_every == timedelta(days=1)
    assert policy.calendar.days == frozenset(range(5))
    assert policy.calendar.zone == "Asia/Shanghai"
    assert policy.calendar.quiet == (time(21), time(9))
    assert settings.sweep_every == timedelta(minutes=5)
    assert settings.digest_at == (0, time(9))
    assert settings.onboarding_manager_channel is None


def test_a_step_of_its_own_and_a_calendar_of_every_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STALLED_AFTER", "36h")
    monkeypatch.setenv("STALLED_AFTER_QUALIFICATION", "5d")
    monkeypatch.setenv("BUSINESS_DAYS", "mon-sun")
    monkeypatch.setenv("BUSINESS_TZ", "Europe/Berlin")
    monkeypatch.setenv("QUIET_HOURS", "off")
    monkeypatch.setenv("ESCALATE_EVERY", "45m")
    monkeypatch.setenv("DIGEST_AT", "off")
    settings = Settings()
    policy = settings.stall_policy()
    assert policy.threshold(Step.QUALIFICATION) == timedelta(days=5)
    assert policy.threshold(Step.NUMBERS) == timedelta(hours=36)
    assert policy.escalate_every == timedelta(minutes=45)
    assert policy.calendar.days == frozenset(range(7))
    assert policy.calendar.zone == "Europe/Berlin" and policy.calendar.quiet is None
    assert settings.digest_at is None
