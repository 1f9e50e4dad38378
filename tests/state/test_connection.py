"""The client factory: a configured real client, or the embedded store with a warning."""

from __future__ import annotations

import logging

import pytest
from fakeredis import FakeAsyncRedis
from redis.asyncio import BlockingConnectionPool

from bot.flows.model import Step
from bot.state.connection import create_redis
from bot.state.keys import Keys
from bot.state.store import RedisTenantStore
from tests.state.conftest import REDIS_URL
from tests.state.helpers import advance_to, make_record


def test_refuses_to_build_a_client_outside_the_event_loop() -> None:
    with pytest.raises(RuntimeError, match="running event loop"):
        create_redis(None)


async def test_real_client_is_bounded_and_has_timeouts() -> None:
    client = create_redis(REDIS_URL, max_connections=7, socket_timeout=1.5)
    try:
        pool = client.connection_pool
        assert isinstance(pool, BlockingConnectionPool)
        assert pool.max_connections == 7
        settings = pool.connection_kwargs
        assert settings["socket_timeout"] == 1.5
        assert settings["socket_connect_timeout"] == 3.0
        assert settings["health_check_interval"] == 30
        assert settings["decode_responses"] is False
        assert await client.ping()
    finally:
        await client.aclose()


async def test_without_url_the_embedded_store_works_and_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.state.connection"):
        client = create_redis(None)
    try:
        assert isinstance(client, FakeAsyncRedis)
        assert "nothing persists" in caplog.text.lower()
        store = RedisTenantStore(client, Keys())
        await store.create(make_record())
        await store.update("acme-x1y2", advance_to(Step.REAL_NAME))
        stored = await store.get("acme-x1y2")
        assert stored is not None and stored.step is Step.REAL_NAME
    finally:
        await client.aclose()


async def test_embedded_stores_do_not_share_data() -> None:
    first, second = create_redis(None), create_redis(None)
    try:
        await RedisTenantStore(first).create(make_record())
        assert await RedisTenantStore(second).get("acme-x1y2") is None
    finally:
        await first.aclose()
        await second.aclose()
