"""The counting proxy counts what the app waited for: a command alone, a pipeline and a
MULTI … EXEC sent at once are one round trip each; a WATCH, a read under it and the
transaction are three. Commands are counted one by one, by name."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from redis.asyncio import Redis

from bench.proxy import CountingProxy
from tests.conftest import REDIS_URL


async def test_round_trips_and_commands_are_counted_as_the_client_waits_for_them() -> None:
    target = urlsplit(REDIS_URL)
    proxy = CountingProxy(target.hostname or "127.0.0.1", target.port or 6379)
    await proxy.start()
    client = Redis(host="127.0.0.1", port=proxy.port, db=int(target.path.strip("/") or 0))
    key = f"bench-proxy-{uuid.uuid4().hex[:8]}"
    try:
        await client.ping()  # the connection's own hello is not the figures'
        start = proxy.tally()
        await client.set(key, "x" * 100_000)  # one command, many TCP reads
        after_set = proxy.tally()
        async with client.pipeline(transaction=False) as pipe:
            for _ in range(5):
                pipe.get(key)
            await pipe.execute()
        after_pipe = proxy.tally()
        async with client.pipeline(transaction=True) as pipe:
            await pipe.watch(key)
            await pipe.get(key)
            pipe.multi()
            pipe.set(key, "y")
            pipe.incr(f"{key}:n")
            await pipe.execute()
        after_cas = proxy.tally()
    finally:
        await client.delete(key, f"{key}:n")
        await client.aclose()
        await proxy.stop()
    one = after_set - start
    assert (one.round_trips, one.commands, one.by_name) == (1, 1, {"set": 1})
    pipeline = after_pipe - after_set
    assert (pipeline.round_trips, pipeline.commands) == (1, 5)
    cas = after_cas - after_pipe
    assert cas.round_trips == 3
    assert cas.by_name == {"watch": 1, "get": 1, "multi": 1, "set": 1, "incrby": 1, "exec": 1}
