"""The periodic cloud check: every tenant with a key is asked about at most every `CHECK_EVERY`.

Who is due lives in one global sorted set (`Keys.cloud_due`: tenant id → when to check next),
filled when a key is given and emptied when it is forgotten (a purged tenant's entry is dropped
the first time it comes due and has no key). A pass holds the `cloud-check` lease, so one
replica asks the API at a time; each due tenant is rescheduled *before* it is checked, so a
check that fails, hangs or crashes the process is tried again at its next turn rather than in a
loop. The API's rate limit (20 requests a second per account) is kept by the client
(`bot.cloud.ccc.RateLimiter`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.cloud.verify import CHECK_EVERY, Outcome, Trigger, Verifier
from bot.stalls.sweep import process_owner
from bot.state.keys import Keys
from bot.state.lease import Leases

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

LEASE = "cloud-check"
BATCH = 100  # tenants a pass takes at a time (it goes on while any are due)
PASS_EVERY = timedelta(seconds=60)


@dataclass
class CloudPass:
    held: bool = True  # False: another replica holds the lease
    checked: int = 0
    moved: int = 0
    dropped: int = 0  # due without a key any more


@dataclass
class CloudSweep:
    redis: Redis
    keys: Keys
    leases: Leases
    verifier: Verifier
    clock: Callable[[], datetime]
    every: timedelta = CHECK_EVERY
    interval: timedelta = PASS_EVERY
    owner: str = field(default_factory=process_owner)

    async def schedule(self, tenant_id: str, at: datetime | None = None) -> None:
        """Check `tenant_id` at `at` (now when None), and every `every` after."""
        when = (at or self.clock()).timestamp()
        await self.redis.zadd(self.keys.cloud_due(), {tenant_id: when})

    async def unschedule(self, tenant_id: str) -> None:
        await self.redis.zrem(self.keys.cloud_due(), tenant_id)

    async def due(self, now: datetime) -> list[str]:
        found = await self.redis.zrangebyscore(
            self.keys.cloud_due(), "-inf", now.timestamp(), start=0, num=BATCH
        )
        return [t.decode() if isinstance(t, bytes) else str(t) for t in found]

    async def run_once(self) -> CloudPass:
        report = CloudPass()
        if not self.verifier.enabled:
            return report
        ttl = max(2 * self.interval, timedelta(seconds=60))
        grant = await self.leases.acquire(LEASE, self.owner, ttl)
        if grant is None:
            report.held = False
            return report
        looked: set[str] = set()
        while True:
            now = self.clock()
            due = [t for t in await self.due(now) if t not in looked]
            if not due:
                break
            if not await self.leases.is_current(grant):
                log.warning("cloud check lost its lease; stopping this pass")
                report.held = False
                break
            looked.update(due)
            later = (now + self.every).timestamp()
            await self.redis.zadd(self.keys.cloud_due(), dict.fromkeys(due, later), xx=True)
            for tenant_id in due:
                await self._check(tenant_id, report)
        return report

    async def _check(self, tenant_id: str, report: CloudPass) -> None:
        try:
            result = await self.verifier.verify(tenant_id, Trigger.SWEEP)
        except Exception:  # one tenant's trouble (a purged record, Redis) must not stop the rest
            log.warning("cloud check of %s failed", tenant_id, exc_info=True)
            if await self.verifier.onboardings.store.get(tenant_id) is None:
                await self.unschedule(tenant_id)
                report.dropped += 1
            return
        report.checked += 1
        report.moved += result.moved
        if result.outcome is Outcome.NO_KEY:
            await self.unschedule(tenant_id)
            report.dropped += 1

    async def run_until(self, stop: asyncio.Event) -> None:
        """A pass every `interval` until `stop` is set. A failed pass never stops the loop."""
        while not stop.is_set():
            try:
                report = await self.run_once()
                if report.moved or report.dropped:
                    log.info(
                        "cloud check: %s checked, %s moved on, %s without a key",
                        report.checked,
                        report.moved,
                        report.dropped,
                    )
            except Exception:
                log.exception("cloud check pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval.total_seconds())
