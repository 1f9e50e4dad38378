"""`python -m bench`: how fast the parts on a Slack request's path are, with baselines.

Each figure is measured next to a baseline taken in the same run on the same machine, so the
ratio says what our code adds on top of work that cannot be avoided:

- flow: `apply()` of one event vs. a deep copy of the onboarding record (every apply makes one);
- store: one compare-and-set update (record, audit, outbox, indexes in one MULTI) vs. a plain
  SET and GET of the same bytes on the same Redis;
- contention: 50 concurrent updates of one tenant, and how many retries the CAS needed;
- summary: counts per step over 1,000 tenants vs. one SCARD;
- http: a signed `/onboard help` through the served app vs. `GET /healthz` (a Redis PING).
  Bolt's async runner checks for the ack every 10 ms, so about 10 ms of a command's time is
  that polling, not our work;
- stalls (`bench/stalls.py`): over `--tenants` tenants (100,000; `--quick`: 2,000), the
  summary (`bot.summary.gather`) vs. one SCARD, and the stalled sweep's pass with 1 % of the
  tenants due and with none due; with the Redis commands each sends (INFO commandstats) and
  the tenant records each reads.

It prints figures and asserts nothing. Needs the Redis the tests use (TEST_REDIS_URL or
127.0.0.1:6379); keys are written under a unique prefix and deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from redis.asyncio import Redis

from bench.stalls import delete_prefix, report_lines, run_stall_bench
from bench.timing import row, timed, timed_sync
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

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ACTOR = Actor(user_id="UBENCH0001", role=ActorRole.CUSTOMER)
SECRET = "bench-signing-secret"


def bench_flow() -> None:
    onboarding = Onboarding()
    now = datetime.now(UTC)
    event = ConfirmAccount(uin="100012345678")
    timed_sync(lambda: apply(onboarding, event, ACTOR, now), 50)  # warm-up
    samples = timed_sync(lambda: apply(onboarding, event, ACTOR, now), 2000)
    base = timed_sync(lambda: onboarding.model_copy(deep=True), 2000)
    row("flow apply(confirm_account)", samples, base, "record deep copy")


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


async def bench_store(keys: Keys) -> None:
    redis = create_redis(REDIS_URL)
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
    row("store update (CAS)", samples, base, "SET + GET same bytes")

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


async def bench_http(keys: Keys) -> None:
    async with FakeSlack() as fake:
        fake.add_user("U0BENCH001", "bench", locale="en-US")
        fake.add_channel("C0BENCH01", "bench", members=[fake.bot_user_id, "U0BENCH001"])
        settings = Settings(
            slack_bot_token=fake.bot_token,
            slack_signing_secret=SECRET,
            slack_api_url=fake.api_url,
            redis_url=REDIS_URL,
            host="127.0.0.1",
            port=0,
            onboarding_ops_channel="C0BENCH02",
            log_level="WARNING",
        )
        service = await HttpService.start(settings, await Services.start(settings, keys=keys))
        try:
            url = f"http://127.0.0.1:{service.port}"
            async with (
                aiohttp.ClientSession() as http,
                SlackDriver(
                    url, SECRET, team_id=fake.team_id, api_app_id=fake.api_app_id, session=http
                ) as slack,
            ):

                async def help_command() -> None:
                    reply = await slack.slash_command(
                        "help", user_id="U0BENCH001", channel_id="C0BENCH01"
                    )
                    assert reply.status == 200

                async def healthz() -> None:
                    async with http.get(f"{url}/healthz") as resp:
                        assert resp.status == 200

                await timed(help_command, 20)
                samples = await timed(help_command, 300)
                base = await timed(healthz, 300)
                row("http /onboard help", samples, base, "GET /healthz")
        finally:
            await service.stop()


async def cleanup(keys: Keys) -> None:
    client = Redis.from_url(REDIS_URL)
    try:
        await delete_prefix(client, keys)
    finally:
        await client.aclose()


async def bench_stalls(keys: Keys, tenants: int) -> None:
    # A prefix of its own: the tenants `bench_store` made must not be in these indexes.
    stall_keys = Keys(prefix=f"{keys.prefix}-stalls")
    result = await run_stall_bench(REDIS_URL, stall_keys, tenants)
    for line in report_lines(result):
        print(line)


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
        "--quick", action="store_true", help="a small population (2,000 tenants), for trying"
    )
    args = parser.parse_args(argv)
    if args.tenants is None:
        args.tenants = 2000 if args.quick else 100_000
    if args.tenants < 100:
        parser.error("--tenants must be at least 100")
    return args


async def main(args: argparse.Namespace) -> None:
    import logging

    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    keys = Keys(prefix=f"bench-{uuid.uuid4().hex[:8]}")
    print(f"bench on {REDIS_URL} (figures in milliseconds; lower is better)")
    bench_flow()
    try:
        await bench_store(keys)
        await bench_http(keys)
    finally:
        await cleanup(keys)
    await bench_stalls(keys, args.tenants)
    print(f"bench took {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
