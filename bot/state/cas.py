"""Small compare-and-set helpers shared by the store, the outbox and the lease (no Lua)."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

from redis.asyncio import Redis
from redis.exceptions import WatchError

from bot.state.wire import begin_multi, opt_bytes

# Enough for a handful of replicas racing on one key; more means something is wrong.
MAX_CAS_ATTEMPTS = 16


async def backoff(attempt: int) -> None:
    """Wait a little after losing a race, with jitter so racers do not retry in lockstep."""
    # Not security-sensitive randomness.
    await asyncio.sleep(random.uniform(0, 0.002 * attempt))  # noqa: S311


# The longest wait between two compare-and-set attempts of one update.
MAX_BACKOFF_SECONDS = 0.25


async def backoff_exponential(attempt: int) -> None:
    """Wait after a refused compare-and-set, up to twice as long after each refusal (jittered,
    capped). A writer whose record is cached sends its next write at once, ahead of one that
    must first read what it lost to; doubling waits let a burst of the other's writes go by
    rather than losing to each of them in turn."""
    # Not security-sensitive randomness.
    await asyncio.sleep(random.uniform(0, min(0.001 * 2**attempt, MAX_BACKOFF_SECONDS)))  # noqa: S311


async def delete_if_equal(redis: Redis, key: str, expected: bytes) -> bool:
    """DEL `key` only if it still holds `expected`; False if it does not (or keeps changing)."""
    for attempt in range(1, MAX_CAS_ATTEMPTS + 1):
        async with redis.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(key)
                if opt_bytes(await pipe.get(key)) != expected:
                    return False
                begin_multi(pipe)
                pipe.delete(key)
                await pipe.execute()
                return True
            except WatchError:
                await backoff(attempt)
    return False


def positive_ms(ttl: timedelta) -> int:
    ms = int(ttl.total_seconds() * 1000)
    if ms <= 0:
        raise ValueError(f"ttl must be positive, got {ttl}")
    return ms
