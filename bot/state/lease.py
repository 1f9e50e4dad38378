"""A lease with a fencing token, so one replica at a time runs the stalled-onboarding sweep.

Acquiring sets the lease key to the owner's id with a time to live (only if nobody holds it)
and increments a fence counter in the same transaction (both keys share the hash tag
`{lease:<name>}`, so this works on a Redis Cluster); the new counter value is the holder's
fencing token. Renewing and releasing succeed only for the current owner and token, checked
under WATCH (no Lua).

No lease guarantees a single leader: a holder can pause (GC, a slow network) past its ttl while
another replica takes over. The token lets a guarded action detect that it is stale
(`is_current`, or compare tokens where the action writes), and every guarded action must still
be idempotent, because the check and the action are not one atomic step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from bot.state.cas import MAX_CAS_ATTEMPTS, backoff, positive_ms
from bot.state.keys import Keys
from bot.state.wire import as_text, begin_multi, opt_bytes


@dataclass(frozen=True)
class LeaseGrant:
    name: str
    owner: str
    token: int  # the fencing token: larger for every new holder


class Leases:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def acquire(self, name: str, owner: str, ttl: timedelta) -> LeaseGrant | None:
        """Take the lease if it is free; None if someone else holds it.

        If `owner` already holds it, the ttl is extended and the current token returned (so a
        retry after a lost reply does not look like losing the lease). `owner` must be unique
        per process, e.g. `f"{hostname}:{pid}:{uuid4().hex}"`.
        """
        if not owner:
            raise ValueError("a lease owner must be a non-empty id")
        ttl_ms = positive_ms(ttl)
        lease_key, fence_key = self._keys.lease(name), self._keys.lease_fence(name)
        await self._carry_over_fence(name)
        for attempt in range(1, MAX_CAS_ATTEMPTS + 1):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(lease_key, fence_key)
                    holder = opt_bytes(await pipe.get(lease_key))
                    if holder is not None and holder != owner.encode():
                        return None
                    if holder is not None:
                        token = int(opt_bytes(await pipe.get(fence_key)) or 0)
                        begin_multi(pipe)
                        pipe.pexpire(lease_key, ttl_ms)
                        await pipe.execute()
                        return LeaseGrant(name, owner, token)
                    begin_multi(pipe)
                    pipe.incr(fence_key)
                    pipe.set(lease_key, owner, px=ttl_ms)
                    token, _ = await pipe.execute()
                    return LeaseGrant(name, owner, int(token))
                except WatchError:
                    await backoff(attempt)
        return None

    async def _carry_over_fence(self, name: str) -> None:
        """Start the fence where the untagged one of earlier versions left off (once: NX)."""
        fence_key = self._keys.lease_fence(name)
        if await self._redis.exists(fence_key):
            return
        legacy = opt_bytes(await self._redis.get(self._keys.legacy_lease_fence(name)))
        if legacy is not None:
            await self._redis.set(fence_key, legacy, nx=True)

    async def renew(self, grant: LeaseGrant, ttl: timedelta) -> bool:
        """Extend the lease; False if it expired or someone else holds it now."""
        ttl_ms = positive_ms(ttl)
        for attempt in range(1, MAX_CAS_ATTEMPTS + 1):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    if not await self._held(pipe, grant):
                        return False
                    begin_multi(pipe)
                    pipe.pexpire(self._keys.lease(grant.name), ttl_ms)
                    await pipe.execute()
                    return True
                except WatchError:
                    await backoff(attempt)
        return False

    async def release(self, grant: LeaseGrant) -> bool:
        """Give the lease up; False (nothing done) if it is not ours any more."""
        for attempt in range(1, MAX_CAS_ATTEMPTS + 1):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    if not await self._held(pipe, grant):
                        return False
                    begin_multi(pipe)
                    pipe.delete(self._keys.lease(grant.name))
                    await pipe.execute()
                    return True
                except WatchError:
                    await backoff(attempt)
        return False

    async def is_current(self, grant: LeaseGrant) -> bool:
        """Whether `grant` still holds the lease (a snapshot: act idempotently regardless)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.get(self._keys.lease(grant.name))
            pipe.get(self._keys.lease_fence(grant.name))
            holder, fence = await pipe.execute()
        return (
            opt_bytes(holder) == grant.owner.encode() and int(opt_bytes(fence) or 0) == grant.token
        )

    async def holder(self, name: str) -> LeaseGrant | None:
        """Who holds the lease now, with their token, or None."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.get(self._keys.lease(name))
            pipe.get(self._keys.lease_fence(name))
            owner, fence = await pipe.execute()
        if owner is None:
            return None
        return LeaseGrant(name, as_text(owner), int(opt_bytes(fence) or 0))

    async def _held(self, pipe: Pipeline, grant: LeaseGrant) -> bool:
        """Watch the lease and say whether `grant` holds it (the caller's MULTI then fails if
        that changes before EXEC)."""
        lease_key, fence_key = self._keys.lease(grant.name), self._keys.lease_fence(grant.name)
        await pipe.watch(lease_key, fence_key)
        holder = opt_bytes(await pipe.get(lease_key))
        fence = opt_bytes(await pipe.get(fence_key))
        return holder == grant.owner.encode() and int(fence or 0) == grant.token
