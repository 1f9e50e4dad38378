"""Fixtures for the state tier: every store test runs on the real Redis, the embedded store
AND a three-master Redis Cluster.

The real Redis is the one CI runs at 127.0.0.1:6379 (override with TEST_REDIS_URL); the cluster
is started by the tests themselves (`redis_cluster`, tests/rediscluster.py) and reached through
`REDIS_URL`'s `redis+cluster://` form, as a deployment would.
Each test gets its own key prefix and deletes every key under it afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import redis as sync_redis
from fakeredis import FakeAsyncRedis, FakeRedis, FakeServer
from redis.asyncio import Redis

from bot.state.connection import create_redis
from bot.state.keys import Keys
from bot.state.store import RedisTenantStore
from tests.rediscluster import Cluster
from tests.state.helpers import FakeClock

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@dataclass
class Backend:
    name: str
    redis: Redis  # what the code under test uses
    sync: (
        sync_redis.Redis | sync_redis.RedisCluster
    )  # a second, blocking client on the same data: to interfere mid-call
    keys: Keys


async def _delete_prefix(client: Redis, keys: Keys) -> None:
    doomed = [k async for k in client.scan_iter(match=keys.everything_pattern(), count=1000)]
    if doomed:
        await client.delete(*doomed)


@pytest.fixture
def keys() -> Keys:
    return Keys(prefix=f"t-{uuid.uuid4().hex[:12]}")


@pytest.fixture
async def real_backend(keys: Keys) -> AsyncIterator[Backend]:
    client = create_redis(REDIS_URL)
    sync = sync_redis.Redis.from_url(REDIS_URL)
    try:
        yield Backend("redis", client, sync, keys)
    finally:
        await _delete_prefix(client, keys)
        sync.close()
        await client.aclose()


@pytest.fixture
async def embedded_backend(keys: Keys) -> AsyncIterator[Backend]:
    # What create_redis(None) builds, plus a blocking twin sharing its in-memory server.
    server = FakeServer()
    client = FakeAsyncRedis(server=server, decode_responses=False)
    sync = FakeRedis(server=server)
    try:
        yield Backend("embedded", client, sync, keys)
    finally:
        await _delete_prefix(client, keys)
        sync.close()
        await client.aclose()


@pytest.fixture
async def cluster_backend(keys: Keys, redis_cluster: Cluster) -> AsyncIterator[Backend]:
    client = create_redis(redis_cluster.url)
    sync = redis_cluster.sync_client()
    try:
        yield Backend("cluster", client, sync, keys)
    finally:
        await _delete_prefix(client, keys)
        sync.close()
        await client.aclose()


_BACKENDS = {"redis": "real_backend", "embedded": "embedded_backend", "cluster": "cluster_backend"}


@pytest.fixture(params=list(_BACKENDS))
def backend(request: pytest.FixtureRequest) -> Backend:
    result: Backend = request.getfixturevalue(_BACKENDS[request.param])
    return result


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(backend: Backend, clock: FakeClock) -> RedisTenantStore:
    return RedisTenantStore(backend.redis, backend.keys, clock=clock)
