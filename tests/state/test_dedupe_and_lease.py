"""Event dedupe and the sweep lease, on the real Redis and on the embedded store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.state.dedupe import first_delivery
from bot.state.lease import LeaseGrant, Leases
from tests.state.conftest import Backend

TTL = timedelta(seconds=30)


async def test_only_the_first_delivery_of_an_event_passes(backend: Backend) -> None:
    redis, keys = backend.redis, backend.keys
    assert await first_delivery(redis, keys, "Ev0123", ttl_seconds=3600) is True
    assert await first_delivery(redis, keys, "Ev0123", ttl_seconds=3600) is False
    assert await first_delivery(redis, keys, "Ev0456", ttl_seconds=3600) is True
    ttl = await redis.ttl(keys.dedupe("Ev0123"))
    assert 0 < ttl <= 3600


async def test_dedupe_needs_a_ttl(backend: Backend) -> None:
    with pytest.raises(ValueError, match="positive"):
        await first_delivery(backend.redis, backend.keys, "Ev0123", ttl_seconds=0)


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
