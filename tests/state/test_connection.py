"""The client factory: a configured real client, or the embedded store with a warning."""

from __future__ import annotations

import logging

import pytest
from fakeredis import FakeAsyncRedis
from redis.asyncio import BlockingConnectionPool
from redis.asyncio.cluster import RedisCluster

from bot.flows.model import Step
from bot.state.connection import BadRedisUrl, check_redis_url, create_redis, parse_cluster_url
from bot.state.keys import Keys
from bot.state.store import RedisTenantStore
from tests.rediscluster import Cluster
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


async def test_a_cluster_url_gives_a_cluster_client_that_starts_from_its_nodes(
    redis_cluster: Cluster,
) -> None:
    client = create_redis(redis_cluster.url, max_connections=5)
    try:
        assert isinstance(client, RedisCluster)
        assert await client.ping()
        # It found all three masters from the nodes the URL lists.
        assert len(client.get_primaries()) == 3
        store = RedisTenantStore(client, Keys(prefix="t-connection"))
        await store.create(make_record())
        await store.update("acme-x1y2", advance_to(Step.REAL_NAME))
        assert await store.tenants_at(Step.REAL_NAME) == ["acme-x1y2"]
        await store.purge("acme-x1y2")
        assert await store.all_tenant_ids() == []
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    "url",
    [
        "redis+cluster://",
        "redis+cluster://h1:7000,h2",
        "redis+cluster://h1:7000/1",
        "redis+cluster://h1:70000",
        "redis+cluster://h1:7000?ssl=true",
    ],
)
def test_a_malformed_cluster_url_is_refused(url: str) -> None:
    with pytest.raises(BadRedisUrl):
        check_redis_url(url)


def test_cluster_urls_name_their_nodes_credentials_and_tls() -> None:
    parsed = parse_cluster_url("rediss+cluster://app:p%40ss@10.0.0.1:7000, 10.0.0.2:7001")
    assert parsed.nodes == (("10.0.0.1", 7000), ("10.0.0.2", 7001))
    assert (parsed.username, parsed.password, parsed.tls) == ("app", "p@ss", True)
