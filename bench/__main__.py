"""`python -m bench [--quick] [--json]`: the load benchmarks, each with its baseline.

Everything runs against a redis-server the benchmark starts for itself on a free port (so its
command counts and memory are the benchmark's alone) and a fake Slack in this process; the app
under load runs as `python -m bot serve` in a process of its own. Each figure is measured next
to a baseline taken in the same run on the same machine:

- clicks (`bench.clicks`): signed step clicks that change state, at a fixed rate (open loop)
  for the ack's p50/p99, and at saturation (closed loop) for throughput; Redis round trips per
  click and per carried-out effect (a counting proxy); baseline: a bare Bolt app that only acks;
- flow: `apply()` of one event vs. a deep copy of the onboarding record (every apply makes one);
- store: one compare-and-set update vs. a plain SET and GET of the same bytes;
- contention: 50 concurrent updates of one tenant, its time and compare-and-set attempts;
- summary: counts per step over 1,000 tenants vs. one SCARD;
- http: a signed `/onboard help` through the in-process app vs. `GET /healthz`;
- memory (`bench.memory`): bytes of Redis per tenant over 10,000 tenants, with and without
  the audit stream;
- stalls (`bench.stalls`): over `--tenants` tenants (100,000), the summary vs. one SCARD, the
  stalled sweep's pass with 1 % of the tenants due and with none due;
- cold start (`bench.coldstart`): `python -m bot serve` to its first `/healthz` 200 vs.
  importing slack_bolt, aiohttp and redis.

It prints figures and asserts nothing; with `--json`, one JSON object on stdout (the figures in
ms or per second; see bench/README.md) and the readable lines on stderr. `--quick` is a short
run for smoke tests. Needs `redis-server` on the PATH.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp

from bench.clicks import run_click_bench
from bench.coldstart import run_cold_start
from bench.memory import run_memory_bench
from bench.procs import private_redis
from bench.stalls import delete_prefix, report_lines, run_stall_bench
from bench.timing import row, stats, timed, timed_sync
from bot.config import Settings
from bot.flows.engine import ConfirmAccount, apply
from bot.flows.model import Actor, ActorRole, Onboarding, Step
from bot.runtime import HttpService
from bot.services import Services
from bot.state import (
    Change,
    Contention,
    RedisTenantStore,
    TenantRecord,
    UpdateResult,
    create_redis,
)
from bot.state.keys import Keys
from tests.fakeslack.driver import SlackDriver
from tests.fakeslack.server import FakeSlack

ACTOR = Actor(user_id="UBENCH0001", role=ActorRole.CUSTOMER)
SECRET = "bench-signing-secret"
Figures = dict[str, Any]


def _ms(samples: list[float]) -> tuple[float, float]:
    med, p99 = stats(samples)
    return med * 1e3, p99 * 1e3


def bench_flow() -> Figures:
    onboarding = Onboarding()
    now = datetime.now(UTC)
    event = ConfirmAccount(uin="100012345678")
    timed_sync(lambda: apply(onboarding, event, ACTOR, now), 50)  # warm-up
    samples = timed_sync(lambda: apply(onboarding, event, ACTOR, now), 2000)
    base = timed_sync(lambda: onboarding.model_copy(deep=True), 2000)
    row("flow apply(confirm_account)", samples, base, "record deep copy")
    (p50, p99), (b50, _) = _ms(samples), _ms(base)
    return {
        "apply_p50_ms": p50,
        "apply_p99_ms": p99,
        "apply_baseline_deep_copy_p50_ms": b50,
        "apply_ratio": p50 / b50,
    }


@dataclass(frozen=True)
class ContentionFigures:
    elapsed_ms: float
    done: int  # updates that landed
    gave_up: int  # writers that lost every compare-and-set (`Contention`)
    retries: int  # compare-and-set attempts beyond the first, over the updates that landed
    versions: int  # how far the record's version moved (equals `done` when nothing is lost)


async def contention(
    store: RedisTenantStore,
    tenant_id: str,
    change: Callable[[TenantRecord], Change],
    writers: int = 50,
) -> ContentionFigures:
    """`writers` concurrent updates of one tenant. A writer that loses every compare-and-set
    raises `Contention` (the user is told to try again): a figure of this load, counted, not a
    reason for the benchmark to stop. Any other error is a bug and propagates."""
    before = await store.get(tenant_id)
    assert before is not None
    start = time.perf_counter()
    outcomes = await asyncio.gather(
        *(store.update(tenant_id, change) for _ in range(writers)), return_exceptions=True
    )
    elapsed = time.perf_counter() - start
    after = await store.get(tenant_id)
    assert after is not None
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, Contention):
            raise outcome
    done = [o for o in outcomes if isinstance(o, UpdateResult)]
    return ContentionFigures(
        elapsed_ms=elapsed * 1e3,
        done=len(done),
        gave_up=sum(1 for o in outcomes if isinstance(o, Contention)),
        retries=sum(r.attempts - 1 for r in done),
        versions=after.version - before.version,
    )


async def bench_store(url: str, keys: Keys) -> Figures:
    redis = create_redis(url)
    store = RedisTenantStore(redis, keys)
    record = TenantRecord.new(
        tenant_id="bench-0001", company="Bench", channel_id="C0BENCH01", created_by=ACTOR.user_id
    )
    await store.create(record)

    def touch(current: TenantRecord) -> Change:
        return Change(current.model_copy(update={"company": f"Bench {current.version}"}))

    await timed(lambda: store.update("bench-0001", touch), 20)
    samples = await timed(lambda: store.update("bench-0001", touch), 500)
    payload = (await redis.get(keys.record("bench-0001"))) or b""

    async def set_get() -> None:
        await redis.set(keys.record("bench-plain"), payload)
        await redis.get(keys.record("bench-plain"))

    base = await timed(set_get, 500)
    # Another tenant's bytes under this key read as a corrupt record: gone before the app's
    # own start-up check (`bench_http`) sees it.
    await redis.delete(keys.record("bench-plain"))
    row("store update (CAS)", samples, base, "SET + GET same bytes")
    update_p50, _ = _ms(samples)
    set_get_p50, _ = _ms(base)

    figures = await contention(store, "bench-0001", touch)
    print(
        f"{'contention: 50 updates':<28} {figures.elapsed_ms:8.1f} ms total, "
        f"{figures.retries} CAS retries, {figures.gave_up} gave up after "
        f"{store.max_attempts} attempts, version +{figures.versions} (expected +{figures.done})"
    )

    # Summary over many tenants reads only the indexes.
    for i in range(1000):
        await store.create(
            TenantRecord.new(
                tenant_id=f"bench-t{i:04d}",
                company=f"T{i}",
                channel_id=f"C0BT{i:05d}",
                created_by=ACTOR.user_id,
            )
        )
    samples = await timed(store.counts_by_step, 200)
    base = await timed(lambda: redis.scard(keys.step_index(Step.ACCOUNT.value)), 200)
    row("summary over 1,000 tenants", samples, base, "one SCARD")
    await redis.aclose()
    return {
        "store_update_p50_ms": update_p50,
        "store_update_baseline_set_get_p50_ms": set_get_p50,
        "contention_50_ms": figures.elapsed_ms,
        "contention_50_retries": figures.retries,
        "contention_50_attempts": figures.done
        + figures.retries
        + figures.gave_up * store.max_attempts,
        "contention_50_gave_up": figures.gave_up,
        "contention_50_lost": figures.done - figures.versions,
        "counts_by_step_1k_p50_ms": _ms(samples)[0],
        "counts_by_step_baseline_scard_p50_ms": _ms(base)[0],
    }


async def bench_http(url: str, keys: Keys) -> Figures:
    async with FakeSlack() as fake:
        fake.add_user("U0BENCH001", "bench", locale="en-US")
        fake.add_channel("C0BENCH01", "bench", members=[fake.bot_user_id, "U0BENCH001"])
        settings = Settings(
            slack_bot_token=fake.bot_token,
            slack_signing_secret=SECRET,
            slack_api_url=fake.api_url,
            redis_url=url,
            host="127.0.0.1",
            port=0,
            onboarding_ops_channel="C0BENCH02",
            log_level="WARNING",
        )
        service = await HttpService.start(settings, await Services.start(settings, keys=keys))
        try:
            base_url = f"http://127.0.0.1:{service.port}"
            async with (
                aiohttp.ClientSession() as http,
                SlackDriver(
                    base_url, SECRET, team_id=fake.team_id, api_app_id=fake.api_app_id,
                    session=http,
                ) as slack,
            ):  # fmt: skip
                statuses: list[int] = []

                async def help_command() -> None:
                    reply = await slack.slash_command(
                        "help", user_id="U0BENCH001", channel_id="C0BENCH01", check_reply=False
                    )
                    statuses.append(reply.status)

                async def healthz() -> None:
                    async with http.get(f"{base_url}/healthz") as resp:
                        statuses.append(resp.status)

                await timed(help_command, 20)
                samples = await timed(help_command, 300)
                base = await timed(healthz, 300)
                row("http /onboard help", samples, base, "GET /healthz")
        finally:
            await service.stop()
    return {
        "http_help_p50_ms": _ms(samples)[0],
        "http_healthz_p50_ms": _ms(base)[0],
        "http_not_200": sum(1 for s in statuses if s != 200),
    }


async def bench_stalls(url: str, tenants: int) -> Figures:
    keys = Keys(prefix=f"bench-stalls-{uuid.uuid4().hex[:6]}")
    result = await run_stall_bench(url, keys, tenants)
    for line in report_lines(result):
        print(line)
    s, w = result.summary, result.sweep
    return {
        "stalls_tenants": result.build.tenants,
        "summary_100k_ms": s.median_ms,
        "summary_100k_p99_ms": s.p99_ms,
        "summary_baseline_scard_ms": s.baseline_median_ms,
        "summary_matches": s.matches,
        "sweep_100k_ms": w.due_median_ms,
        "sweep_due_per_pass": w.passes[0].due if w.passes else 0,
        "sweep_per_due_tenant_ms": w.due_per_tenant_ms,
        "sweep_baseline_get_set_per_tenant_ms": w.baseline_per_tenant_ms,
        "sweep_none_due_ms": w.steady_median_ms,
        "sweep_none_due_baseline_ms": w.steady_baseline_median_ms,
    }


@dataclass(frozen=True)
class Plan:
    """How big a run is: the full one, or `--quick`."""

    tenants: int  # stalls population
    memory_tenants: int
    click_rate: float
    click_seconds: float
    saturation_clicks: int
    concurrency: int
    counted_clicks: int
    cold_starts: int


FULL = Plan(100_000, 10_000, 200.0, 10.0, 2000, 32, 50, 5)
QUICK = Plan(2000, 300, 200.0, 0.5, 100, 16, 6, 1)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument(
        "--tenants",
        type=int,
        default=None,
        help="tenants in the population of the stalls figures (default 100000)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a short run (seconds; small populations), for CI"
    )
    parser.add_argument(
        "--json", action="store_true", help="one JSON object on stdout; readable lines on stderr"
    )
    args = parser.parse_args(argv)
    if args.tenants is None:
        args.tenants = 2000 if args.quick else 100_000
    if args.tenants < 100:
        parser.error("--tenants must be at least 100")
    return args


async def collect(args: argparse.Namespace) -> Figures:
    """Every figure of one run (see bench/README.md for what each means)."""
    import logging

    logging.basicConfig(level=logging.WARNING)
    plan = QUICK if args.quick else FULL
    started = time.perf_counter()
    figures: Figures = {"date": datetime.now(UTC).isoformat(timespec="seconds")}
    figures["quick"] = bool(args.quick)
    with private_redis() as url:
        print("bench on a private redis-server (figures in milliseconds; lower is better)")
        figures |= bench_flow()
        keys = Keys(prefix=f"bench-{uuid.uuid4().hex[:8]}")
        client = create_redis(url)
        try:
            figures |= await bench_store(url, keys)
            figures |= await bench_http(url, keys)
        finally:
            await delete_prefix(client, keys)
            await client.aclose()
        clicks = await run_click_bench(
            url,
            rate=plan.click_rate,
            seconds=plan.click_seconds,
            saturation=plan.saturation_clicks,
            concurrency=plan.concurrency,
            counted=plan.counted_clicks,
        )
        for line in clicks.lines():
            print(line)
        figures |= clicks.json()
        memory = await run_memory_bench(url, plan.memory_tenants)
        for line in memory.lines():
            print(line)
        figures |= memory.json()
        figures |= await bench_stalls(url, args.tenants)
        cold = await run_cold_start(url, plan.cold_starts)
        for line in cold.lines():
            print(line)
        figures |= cold.json()
    figures["bench_seconds"] = time.perf_counter() - started
    print(f"bench took {figures['bench_seconds']:.1f} s")
    return figures


def _plain(value: object) -> object:
    """NaN (a figure that could not be had) as null: JSON has no NaN."""
    return None if isinstance(value, float) and math.isnan(value) else value


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.json:
        asyncio.run(collect(args))
        return 0
    with contextlib.redirect_stdout(sys.stderr):
        figures = asyncio.run(collect(args))
    json.dump({k: _plain(v) for k, v in figures.items()}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
