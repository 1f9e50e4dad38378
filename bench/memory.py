"""Redis memory per tenant: `tenants` tenants written through the store, on the private Redis.

Each tenant is a record of the stall benchmark's population (`bench.stalls.plan`: onboardings
reached by the real flow engine at every stage in funnel proportions, documents included where
the stage has them, live ones, stalled ones, SE owners) with Slack references filled in as the
runner leaves them, written by `RedisTenantStore.create` with the audit entries its events
wrote (the start, then one per flow event, as `Onboardings` writes them) and one effect, which
is then carried out through the outbox (`Outbox.mark_done`), so the empty outbox stream a tenant
keeps is counted too.

Then `MEMORY USAGE <key> SAMPLES 0` over every key under the benchmark's prefix (records,
streams, the indexes the tenants are members of) is summed and divided by `tenants`: with the
audit streams left out, and with them.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from redis.asyncio import Redis

from bench.stalls import delete_prefix, plan, stage_journeys
from bot.flows.effects import UpdateChecklist
from bot.flows.model import Actor, ActorRole, Step
from bot.state import AuditEntry, RedisTenantStore, SlackRefs, create_redis
from bot.state.keys import Keys
from bot.state.outbox import RedisOutbox


@dataclass(frozen=True)
class MemoryFigures:
    tenants: int
    keys: int
    bytes_without_audit: int
    audit_bytes: int
    audit_entries: int
    used_memory_delta: int  # INFO memory `used_memory` after - before (allocator's view)

    @property
    def per_tenant(self) -> float:
        return self.bytes_without_audit / self.tenants

    @property
    def per_tenant_with_audit(self) -> float:
        return (self.bytes_without_audit + self.audit_bytes) / self.tenants

    def json(self) -> dict[str, object]:
        return {
            "memory_tenants": self.tenants,
            "redis_bytes_per_tenant": self.per_tenant,
            "redis_bytes_per_tenant_with_audit": self.per_tenant_with_audit,
            "audit_entries_per_tenant": self.audit_entries / self.tenants,
            "redis_used_memory_per_tenant": self.used_memory_delta / self.tenants,
        }

    def lines(self) -> list[str]:
        return [
            f"{f'memory, {self.tenants:,} tenants':<28} {self.per_tenant:8.0f} B a tenant without "
            f"its audit, {self.per_tenant_with_audit:8.0f} B with it "
            f"({self.audit_entries / self.tenants:.1f} audit entries a tenant, {self.keys:,} keys; "
            f"used_memory grew {self.used_memory_delta / self.tenants:.0f} B a tenant)"
        ]


async def run_memory_bench(url: str, tenants: int, *, parallel: int = 32) -> MemoryFigures:
    keys = Keys(prefix=f"bmem-{uuid.uuid4().hex[:6]}")
    redis = create_redis(url)
    store = RedisTenantStore(redis, keys)
    outbox = RedisOutbox(redis, keys)
    stages, (live, live_audit) = stage_journeys()
    audits = {tuple(o.state): a for o, _, a in stages}
    audits[tuple(live.state)] = live_audit
    try:
        before = int((await redis.info("memory"))["used_memory"])
        planned = list(plan(tenants, cohorts=1))

        async def write(n: int) -> None:
            record = planned[n].record
            actor = Actor(user_id=record.created_by, role=ActorRole.SE)
            start = AuditEntry(
                actor=actor, event="start", when=record.created_at, to_step=Step.ACCOUNT,
                detail={"company": record.company, "lang": record.lang.value},
            )  # fmt: skip
            refs = SlackRefs(
                checklist_ts=f"1765{n:06d}.000100",
                prompt_ts=f"1765{n:06d}.000200",
                prompt_stage=record.onboarding.state[-1],
            )
            record = record.model_copy(update={"slack": refs})
            flow = audits[tuple(record.onboarding.state)]
            await store.create(record, [UpdateChecklist()], [start, *flow])
            for pending in await outbox.pending_effects(record.tenant_id):
                await outbox.mark_done(record.tenant_id, pending.stream_entry_id)

        for first in range(0, tenants, parallel):
            await asyncio.gather(*(write(n) for n in range(first, min(tenants, first + parallel))))
        after = int((await redis.info("memory"))["used_memory"])
        return await _measure(redis, keys, tenants, after - before)
    finally:
        await delete_prefix(redis, keys)
        await redis.aclose()


async def _measure(redis: Redis, keys: Keys, tenants: int, grown: int) -> MemoryFigures:
    found = [k async for k in redis.scan_iter(match=keys.everything_pattern(), count=1000)]
    without = audit = entries = 0
    for first in range(0, len(found), 500):
        part = found[first : first + 500]
        async with redis.pipeline(transaction=False) as pipe:
            for key in part:
                pipe.memory_usage(key, samples=0)
            sizes = await pipe.execute()
        for key, size in zip(part, sizes, strict=True):
            if key.endswith(b":audit"):
                audit += int(size or 0)
                entries += int(await redis.xlen(key))
            else:
                without += int(size or 0)
    return MemoryFigures(tenants, len(found), without, audit, entries, grown)
