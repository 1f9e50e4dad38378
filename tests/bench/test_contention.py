"""The benchmark's contention figure survives the load it makes: writers that lose every
compare-and-set are counted, not fatal (`python -m bench` crashed on them)."""

from __future__ import annotations

import uuid

from bench.__main__ import contention
from bot.state import Change, RedisTenantStore, TenantRecord, create_redis
from bot.state.keys import Keys
from tests.conftest import REDIS_URL


def _touch(current: TenantRecord) -> Change:
    return Change(current.model_copy(update={"company": f"Bench {current.version}"}))


async def test_writers_that_give_up_are_counted_and_nothing_else_is_lost() -> None:
    keys = Keys(prefix=f"bench-test-{uuid.uuid4().hex[:8]}")
    redis = create_redis(REDIS_URL)
    # One attempt each: of 50 writers racing on one record, most lose (`Contention`).
    store = RedisTenantStore(redis, keys, max_attempts=1)
    try:
        await store.create(
            TenantRecord.new(
                tenant_id="bench-c1", company="Bench", channel_id="C0BENCHC1", created_by="U0BENCH1"
            )
        )
        figures = await contention(store, "bench-c1", _touch, writers=50)
        assert figures.done + figures.gave_up == 50
        assert figures.done >= 1
        assert figures.versions == figures.done  # every landed update counted, none twice
        assert figures.retries == 0  # one attempt each
    finally:
        doomed = [k async for k in redis.scan_iter(match=keys.everything_pattern())]
        if doomed:
            await redis.delete(*doomed)
        await redis.aclose()
