"""The one place a Redis client is made: a real one for `REDIS_URL`, or the embedded store.

Call `create_redis` inside the running event loop that will use the client (a client bound to
another loop fails with "attached to a different loop"), and close it with
`await client.aclose()`, which also closes its pool.

Responses stay bytes (`decode_responses=False`) everywhere: the record is JSON handed to
pydantic as bytes, and a stored value that is not valid UTF-8 must reach our decoder and become
a `CorruptRecord` naming the tenant, not a `UnicodeDecodeError` inside the client.

Redis Cluster: `redis+cluster://host:port[,host:port…]` (or `rediss+cluster://` for TLS) gives
a `redis.asyncio.cluster.RedisCluster` that starts from those nodes and finds the rest. Its
commands and pipelines are the same as a single Redis's for everything the bot does: each
transaction (WATCH … MULTI/EXEC) touches keys of one hash slot, and other multi-key commands
are split by slot by the client (see `bot.state.keys`). Two things the bot never calls: the
client's `transaction()` helper (with `watch_delay` it blocks the loop in `time.sleep`) and a
pipeline outside `async with` (its first WATCH would set the client up on another loop).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qsl, unquote, urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, ClusterPipeline, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError

log = logging.getLogger(__name__)

CLUSTER_SCHEMES = {"redis+cluster": False, "rediss+cluster": True}  # scheme -> TLS


class BadRedisUrl(ValueError):
    """A `REDIS_URL` that cannot be used; the text never includes the password."""


@dataclass(frozen=True)
class ClusterUrl:
    """What a `redis+cluster://` URL says: the nodes to start from, credentials, TLS."""

    nodes: tuple[tuple[str, int], ...]
    username: str | None
    password: str | None
    tls: bool


def is_cluster_url(url: str) -> bool:
    return url.split("://", 1)[0].lower() in CLUSTER_SCHEMES


def parse_cluster_url(url: str) -> ClusterUrl:
    """`redis+cluster://[user:password@]host:port[,host:port…]`; raises `BadRedisUrl`."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in CLUSTER_SCHEMES:
        raise BadRedisUrl("must start with redis+cluster:// or rediss+cluster://")
    rest, _, query = rest.partition("?")
    if query and parse_qsl(query, keep_blank_values=True):
        raise BadRedisUrl("a cluster URL takes no options after '?'")
    credentials, at, hosts = rest.rpartition("@")
    hosts = hosts.rstrip("/")
    if "/" in hosts:
        raise BadRedisUrl("a cluster has only database 0: leave out the /<db>")
    username = password = None
    if at:
        user, colon, secret = credentials.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    nodes: list[tuple[str, int]] = []
    for item in hosts.split(","):
        host, colon, port = item.strip().rpartition(":")
        host = host.strip("[]")
        if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise BadRedisUrl("each cluster node must be written host:port, comma-separated")
        nodes.append((host, int(port)))
    return ClusterUrl(tuple(nodes), username, password, CLUSTER_SCHEMES[scheme.lower()])


def check_redis_url(url: str) -> None:
    """Raise `BadRedisUrl` unless `url` is a URL `create_redis` accepts."""
    if is_cluster_url(url):
        parse_cluster_url(url)
        return
    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise BadRedisUrl(
            "must be a redis://, rediss://, unix:// or redis+cluster://host:port[,host:port…] URL"
        )


class _TransactionPipeline(ClusterPipeline):
    """A cluster WATCH/MULTI/EXEC with the same outcome as on one Redis when its connection
    drops: `WatchError` (the store re-reads, and finds its own write if it landed). The cluster
    client would otherwise send MULTI/EXEC again on a new connection without the WATCH, and a
    write whose reply was lost would be applied twice."""

    async def execute(self, raise_on_error: bool = True, allow_redirections: bool = True) -> Any:
        try:
            return await super().execute(raise_on_error, allow_redirections)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise WatchError("connection lost around EXEC: outcome unknown") from exc


class _Cluster(RedisCluster):
    """`RedisCluster` whose transactions are never resent by the client (see above)."""

    def pipeline(
        self, transaction: Any | None = None, shard_hint: Any | None = None
    ) -> ClusterPipeline:
        if not transaction:
            return super().pipeline(transaction, shard_hint)
        pipe = _TransactionPipeline(self, transaction)  # type: ignore[abstract]
        # The strategy copies the client's retry policy; a transaction gets none.
        pipe._execution_strategy._retry = Retry(NoBackoff(), 0)  # type: ignore[attr-defined]
        return pipe


def create_redis(
    url: str | None,
    *,
    max_connections: int = 64,
    socket_timeout: float = 5.0,
    socket_connect_timeout: float = 3.0,
    pool_timeout: float = 5.0,
    health_check_interval: int = 30,
    retries: int = 2,
) -> Redis:
    """A Redis client for `url`, or an in-process fake when `url` is None (nothing persists).

    A `redis+cluster://` URL gives a `RedisCluster` client (typed as `Redis`: the bot uses
    only what both have in common, and the state tests run every store test on both).

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
    retry = Retry(ExponentialWithJitterBackoff(cap=1.0, base=0.05), retries)
    if is_cluster_url(url):
        target = parse_cluster_url(url)
        cluster = _Cluster(
            startup_nodes=[ClusterNode(host, port) for host, port in target.nodes],
            username=target.username,
            password=target.password,
            ssl=target.tls,
            max_connections=max_connections,  # per node
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_connect_timeout,
            socket_keepalive=True,
            health_check_interval=health_check_interval,
            retry=retry,
            decode_responses=False,
            client_name="onboarding-bot",
        )
        # Same commands, pipelines and WATCH transactions as `Redis` for what the bot does.
        return cast(Redis, cluster)
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=pool_timeout,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_connect_timeout,
        socket_keepalive=True,
        health_check_interval=health_check_interval,
        retry=retry,
        decode_responses=False,
        client_name="onboarding-bot",
    )
    # from_pool hands the pool to the client, so aclose() closes both.
    return Redis.from_pool(pool)
