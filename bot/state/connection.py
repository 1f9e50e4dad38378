"""The one place a Redis client is made: a real one for `REDIS_URL`, or the embedded store.

Call `create_redis` inside the running event loop that will use the client (a client bound to
another loop fails with "attached to a different loop"), and close it with
`await client.aclose()`, which also closes its pool.

Responses stay bytes (`decode_responses=False`) everywhere: the record is JSON handed to
pydantic as bytes, and a stored value that is not valid UTF-8 must reach our decoder and become
a `CorruptRecord` naming the tenant, not a `UnicodeDecodeError` inside the client.
"""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

log = logging.getLogger(__name__)


def create_redis(
    url: str | None,
    *,
    max_connections: int = 32,
    socket_timeout: float = 5.0,
    socket_connect_timeout: float = 3.0,
    pool_timeout: float = 2.0,
    health_check_interval: int = 30,
    retries: int = 2,
) -> Redis:
    """A Redis client for `url`, or an in-process fake when `url` is None (nothing persists).

    The pool is bounded and blocks for at most `pool_timeout` seconds when every connection is
    busy, so a burst of Slack events queues briefly instead of opening unbounded sockets.
    Commands are retried `retries` times on connection errors and timeouts. Our writes are built
    for that: each is idempotent, or runs under WATCH (where redis-py turns a dropped connection
    into `WatchError` and the store re-reads before trying again), or, for the effect failure
    counter only, tolerates counting one failure twice.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            "create_redis() must be called inside the running event loop that will use the client"
        ) from None
    if url is None:
        log.warning(
            "REDIS_URL is not set: using the embedded in-memory store. Nothing persists across"
            " restarts and replicas do not share state; set REDIS_URL for anything but a trial."
        )
        # Imported here: it pulls in numpy, a quarter of a second of every start otherwise.
        from fakeredis import FakeAsyncRedis

        return FakeAsyncRedis(decode_responses=False)
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=pool_timeout,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_connect_timeout,
        socket_keepalive=True,
        health_check_interval=health_check_interval,
        retry=Retry(ExponentialWithJitterBackoff(cap=1.0, base=0.05), retries),
        decode_responses=False,
        client_name="onboarding-bot",
    )
    # from_pool hands the pool to the client, so aclose() closes both.
    return Redis.from_pool(pool)
