"""The stalls benchmark (`bench/stalls.py`) on the real Redis, on a small population: its
population is indexed exactly as `create` indexes it, and its summary and sweep measurements run
end to end and say sane things (the summary's figures are the population's and it reads at most
five records; each sweep pass looks at exactly the tenants due)."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from bench.__main__ import parse_args
from bench.commands import CommandMeter, CommandTally
from bench.stalls import (
    SWEEP_AT,
    BuildFigures,
    StallBench,
    build_population,
    check_population,
    delete_prefix,
    measure_summary,
    measure_sweep,
    plan,
    report_lines,
    write_batch,
)
from bot.state import RedisTenantStore, create_redis
from bot.state.keys import Keys
from tests.clock import MovableClock
from tests.conftest import REDIS_URL


def _keys() -> Keys:
    return Keys(prefix=f"bench-test-{uuid.uuid4().hex[:8]}")


async def test_the_summary_and_the_sweep_are_measured_on_the_population_built() -> None:
    keys = _keys()
    probe = Redis.from_url(REDIS_URL)
    redis = create_redis(REDIS_URL)
    tally = CommandTally(keys)
    tally.install(redis)
    clock = MovableClock(SWEEP_AT)
    store = RedisTenantStore(redis, keys, clock=clock)
    try:
        population = await build_population(redis, store, 300, cohorts=2, due_share=0.02)
        assert population.tenants == 300
        assert [len(c) for c in population.cohorts] == [6, 6]
        assert await check_population(store, population) == []
        meter = CommandMeter(probe, tally)

        summary = await measure_summary(store, redis, meter, population, runs=20)
        assert summary.matches, summary.problems
        assert summary.total == 300
        assert summary.stalled == population.stalled > 5
        assert summary.commands.records_read <= 5
        assert summary.commands.round_trips == 4
        assert summary.commands.client_total > 0
        assert 0 < summary.median_ms <= summary.p99_ms

        sweep = await measure_sweep(store, redis, meter, clock, population, steady_runs=10)
        assert len(sweep.passes) == 2
        for due_pass, cohort in zip(sweep.passes, population.cohorts, strict=True):
            assert due_pass.problems == ()
            assert due_pass.held and due_pass.gave_up is None
            assert due_pass.due == due_pass.looked_at == len(cohort)
            assert due_pass.rungs == len(cohort)  # each due tenant climbed one rung
            # Each due tenant's record: read once, for its write (its compare-and-set script
            # writes its index entries with it: nothing to read back). No other record.
            assert due_pass.commands.records_read == len(cohort)
            assert due_pass.ms > 0
        assert sweep.steady_looked_at == 0
        assert sweep.steady_commands.records_read == 0
        assert 0 < sweep.steady_median_ms <= sweep.steady_p99_ms

        build = BuildFigures(
            tenants=population.tenants,
            seconds=population.build_seconds,
            live=population.live_total,
            stalled=population.stalled,
            owners=len(population.owners),
            cohorts=len(population.cohorts),
            due_per_pass=len(population.cohorts[0]),
        )
        lines = report_lines(StallBench(build=build, summary=summary, sweep=sweep))
        assert any("6 due" in line for line in lines)
    finally:
        await delete_prefix(probe, keys)
        await redis.aclose()
        await probe.aclose()
    assert [k async for k in probe.scan_iter(match=keys.everything_pattern())] == []


async def _dump(redis: Redis, keys: Keys) -> dict[str, object]:
    """Every key under the prefix and what it holds; records only by name (`create` stamps its
    own version and times), and without the step durations (only `update` writes those)."""
    found: dict[str, object] = {}
    async for raw in redis.scan_iter(match=keys.everything_pattern(), count=1000):
        name = raw.decode()[len(keys.prefix) + 1 :]
        if name.startswith("durations:"):
            continue
        if name.endswith(":record"):
            found[name] = "a record"
            continue
        kind = (await redis.type(raw)).decode()
        if kind == "set":
            found[name] = sorted(await redis.smembers(raw))
        elif kind == "zset":
            found[name] = await redis.zrange(raw, 0, -1, withscores=True)
        else:
            found[name] = await redis.get(raw)
    return found


async def test_the_population_is_indexed_exactly_as_create_indexes_it() -> None:
    bulk_keys, created_keys = _keys(), _keys()
    redis = create_redis(REDIS_URL)
    try:
        planned = list(plan(120, cohorts=2, due_share=0.02))
        bulk = RedisTenantStore(redis, bulk_keys)
        await write_batch(redis, bulk, planned[:70])
        await write_batch(redis, bulk, planned[70:])
        clock = MovableClock()
        store = RedisTenantStore(redis, created_keys, clock=clock)
        for tenant in planned:
            clock.set(tenant.record.last_activity_at)  # `create` stamps its clock's time
            await store.create(tenant.record)
        created = await _dump(redis, created_keys)
        assert len(created) > 2 * len(planned)  # records, channels, and the indexes
        assert await _dump(redis, bulk_keys) == created
        kinds = {t.kind for t in planned}
        assert kinds == {"live", "active", "stalled", "due"}
    finally:
        await delete_prefix(redis, bulk_keys)
        await delete_prefix(redis, created_keys)
        await redis.aclose()


def test_the_population_size_is_a_flag() -> None:
    assert parse_args([]).tenants == 100_000
    assert parse_args(["--quick"]).tenants == 2000
    assert parse_args(["--tenants", "5000"]).tenants == 5000
