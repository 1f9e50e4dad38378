"""Backoff and delivery-state bookkeeping, as pure functions."""

from __future__ import annotations

import random
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.tickets import Delivery, DeliveryState, backoff_delay
from tests.tickets.conftest import T0


@given(attempts=st.integers(1, 200), seed=st.integers(0, 2**32))
def test_backoff_doubles_from_30_seconds_and_stops_at_an_hour(attempts: int, seed: int) -> None:
    step = min(timedelta(hours=1), timedelta(seconds=30) * 2 ** min(attempts - 1, 30))
    delay = backoff_delay(attempts, random.Random(seed))
    assert step / 2 <= delay <= step
    assert delay <= timedelta(hours=1)


def test_jitter_spreads_retries_out() -> None:
    rng = random.Random(1)
    delays = {backoff_delay(3, rng) for _ in range(20)}
    assert len(delays) > 10


def test_retry_after_wins_when_longer_but_never_past_the_cap() -> None:
    rng = random.Random(1)
    assert backoff_delay(1, rng, retry_after=timedelta(minutes=10)) == timedelta(minutes=10)
    assert backoff_delay(1, rng, retry_after=timedelta(days=2)) == timedelta(hours=1)
    assert backoff_delay(1, rng, retry_after=timedelta(seconds=1)) >= timedelta(seconds=15)


def test_failure_then_success_resets_the_count_and_keeps_the_reference() -> None:
    state = DeliveryState().failed("jira create: HTTP 503", T0 + timedelta(seconds=20))
    state = state.failed("jira create: HTTP 503", T0 + timedelta(seconds=50))
    assert state.attempts == 2 and not state.due(T0) and state.due(T0 + timedelta(seconds=50))
    assert not state.update_pending

    done = state.succeeded(Delivery("SIP-1", url="https://x.example/browse/SIP-1"), 1, T0)
    assert done.delivered and done.attempts == 0 and done.last_error is None
    assert done.delivery() == Delivery("SIP-1", url="https://x.example/browse/SIP-1")

    behind = done.failed("jira comment: HTTP 500", T0 + timedelta(seconds=20))
    assert behind.delivered and behind.update_pending and behind.attempts == 1
    assert behind.delivery() == done.delivery()


def test_stored_error_is_kept_short() -> None:
    state = DeliveryState().failed("x" * 5000, T0)
    assert len(state.last_error or "") == 300
