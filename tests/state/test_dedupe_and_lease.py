"""The event inbox (dedupe that loses nothing) and the sweep lease, on the real Redis and on
the embedded store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.state.inbox import Inbox
from bot.state.lease import LeaseGrant, Leases
from tests.clock import MovableClock
from tests.state.conftest import Backend

TTL = timedelta(seconds=30)


def _inbox(backend: Backend, clock: MovableClock, **kwargs: Any) -> Inbox:
    return Inbox(backend.redis, backend.keys, ttl_seconds=3600, clock=clock, **kwargs)


async def test_only_the_first_delivery_of_an_event_is_taken(backend: Backend) -> None:
    inbox = _inbox(backend, MovableClock())
    first = await inbox.receive("Ev0123", '{"event_id": "Ev0123"}')
    assert first is not None
    assert await inbox.receive("Ev0123", '{"event_id": "Ev0123"}') is None
    assert await inbox.receive("Ev0456", "{}") is not None
    ttl = await backend.redis.ttl(backend.keys.inbox_event("Ev0123"))
    assert 0 < ttl <= 3600
    assert await inbox.pending() == 2


async def test_a_settled_event_is_dropped_when_delivered_again_and_its_body_forgotten(
    backend: Backend,
) -> None:
    clock = MovableClock()
    inbox = _inbox(backend, clock)
    receipt = await inbox.receive("Ev0123", '{"text": "my words"}')
    assert receipt is not None
    await inbox.settle(receipt)
    clock.advance(minutes=5)
    assert await inbox.receive("Ev0123", '{"text": "my words"}') is None
    assert await inbox.take_over("Ev0123") is None
    assert await inbox.pending() == 0
    stored = await backend.redis.get(backend.keys.inbox_event("Ev0123"))
    assert b"my words" not in stored


async def test_an_event_whose_taker_died_is_taken_over_once_its_lease_lapses(
    backend: Backend,
) -> None:
    clock = MovableClock()
    inbox = _inbox(backend, clock, lease=timedelta(seconds=10))
    dead = await inbox.receive("Ev0123", '{"event_id": "Ev0123"}')
    assert dead is not None
    assert await inbox.lapsed() == []
    assert await inbox.take_over("Ev0123") is None  # its taker may still be working
    clock.advance(seconds=11)
    assert await inbox.lapsed() == ["Ev0123"]
    taken = await inbox.take_over("Ev0123")
    assert taken is not None
    receipt, body = taken
    assert body == '{"event_id": "Ev0123"}' and receipt.takes == 2
    assert await inbox.take_over("Ev0123") is None  # one taker at a time
    # The dead taker cannot extend a lease it no longer holds; the new one can.
    assert await inbox.extend(dead) is False
    assert await inbox.extend(receipt) is True


async def test_a_lease_that_is_extended_does_not_lapse(backend: Backend) -> None:
    clock = MovableClock()
    inbox = _inbox(backend, clock, lease=timedelta(seconds=10))
    receipt = await inbox.receive("Ev0123", "{}")
    assert receipt is not None
    for _ in range(5):
        clock.advance(seconds=8)
        assert await inbox.extend(receipt)
        assert await inbox.lapsed() == []
        assert await inbox.take_over("Ev0123") is None


async def test_an_event_that_keeps_failing_is_given_up_on(backend: Backend) -> None:
    clock = MovableClock()
    inbox = _inbox(backend, clock, lease=timedelta(seconds=10), max_takes=3)
    assert await inbox.receive("Ev0123", "{}") is not None
    for _ in range(2):
        clock.advance(seconds=11)
        assert await inbox.take_over("Ev0123") is not None
    clock.advance(seconds=11)
    assert await inbox.take_over("Ev0123") is None
    assert await inbox.pending() == 0
    assert await inbox.receive("Ev0123", "{}") is None


async def test_the_inbox_needs_a_ttl(backend: Backend) -> None:
    with pytest.raises(ValueError, match="positive"):
        Inbox(backend.redis, backend.keys, ttl_seconds=0, clock=MovableClock())


async def test_one_holder_at_a_time(backend: Backend) -> None:
    leases = Leases(backend.redis, backend.keys)
    a = await leases.acquire("sweep", "replica-a", TTL)
    assert a is not None
    assert await leases.acquire("sweep", "replica-b", TTL) is None
    assert await leases.holder("sweep") == a
    assert await leases.is_current(a)
    ttl_ms = await backend.redis.pttl(backend.keys.lease("sweep"))
    assert 0 < ttl_ms <= 30_000


async def test_acquiring_again_as_holder_keeps_the_token(backend: Backend) -> None:
    leases = Leases(backend.redis, backend.keys)
    first = await leases.acquire("sweep", "replica-a", TTL)
    again = await leases.acquire("sweep", "replica-a", TTL)
    assert first == again


async def test_others_can_neither_renew_nor_release(backend: Backend) -> None:
    leases = Leases(backend.redis, backend.keys)
    a = await leases.acquire("sweep", "replica-a", TTL)
    assert a is not None
    impostor = LeaseGrant("sweep", "replica-b", a.token)
    assert await leases.renew(impostor, TTL) is False
    assert await leases.release(impostor) is False
    assert await leases.holder("sweep") == a
    assert await leases.renew(a, timedelta(seconds=90)) is True
    assert await backend.redis.pttl(backend.keys.lease("sweep")) > 30_000
    assert await leases.release(a) is True
    assert await leases.holder("sweep") is None
    assert await leases.release(a) is False


async def test_fencing_token_grows_with_every_new_holder(backend: Backend) -> None:
    leases = Leases(backend.redis, backend.keys)
    a = await leases.acquire("sweep", "replica-a", TTL)
    assert a is not None
    # replica-a stalls past its ttl: simulate the expiry instead of waiting for it.
    await backend.redis.delete(backend.keys.lease("sweep"))
    b = await leases.acquire("sweep", "replica-b", TTL)
    assert b is not None and b.token > a.token

    assert await leases.is_current(a) is False
    assert await leases.renew(a, TTL) is False
    assert await leases.release(a) is False
    assert await leases.is_current(b)

    # Even the same owner coming back after losing the lease gets a new, larger token.
    await leases.release(b)
    a2 = await leases.acquire("sweep", "replica-a", TTL)
    assert a2 is not None and a2.token > b.token
    assert await leases.renew(a, TTL) is False  # the stale grant of the earlier tenure


async def test_leases_of_different_names_are_independent(backend: Backend) -> None:
    leases = Leases(backend.redis, backend.keys)
    assert await leases.acquire("sweep", "replica-a", TTL)
    assert await leases.acquire("reconcile", "replica-b", TTL)
    with pytest.raises(ValueError):
        await leases.acquire("sweep", "", TTL)
