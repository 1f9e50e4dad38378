"""The stalled sweep and the summary over a large population (`python -m bench --tenants N`).

The population is N tenant records in the store's own data model: `TenantRecord.new(...)` with
onboardings reached through the real flow engine (one per stage a tenant can wait at, in
funnel proportions), some live, a few per cent stalled (rungs of an earlier leaseholder), and
several owning SEs. Writing them one `store.create()` at a time would take minutes, so they are
written in pipelines with the store's own writing code: `encode_record` for the bytes, and
`RedisTenantStore._queue_indexes(pipe, record)` for the index entries, which is exactly
what `create` queues in its MULTI (the test `tests/bench/test_stall_bench.py` compares the
result with `create`'s, key by key). The business time of each finished step goes into the
durations index as `update` puts it there. Before anything is timed, the population is checked
through the public API (`figures`, `stalled`, `due_for_check`, `get_many`).

Time is a `MovableClock`: the sweep runs at `SWEEP_AT` (a Wednesday, 10:00 in Shanghai) and
every `INTERVAL` after it. The stall checks (`check_at`) are set so that at each of those
moments one cohort (1 % of the tenants by default) is due: most have just passed their
threshold, some are stalled with their next rung due. Everything else is due later (or never:
live, or at the last rung).
"""

from __future__ import annotations

import asyncio
import math
import random
import statistics
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bench.commands import CommandCount, CommandMeter, CommandTally
from bench.timing import stats, timed
from bot.flows.catalogue import CHECKLISTS, documents_for
from bot.flows.engine import (
    AddDocument,
    ApproveDocument,
    ApproveScript,
    ChooseNumberPath,
    ChooseRole,
    ConfirmAccount,
    ConfirmConsole,
    ConfirmLogin,
    ConfirmPurchase,
    ConfirmRealName,
    ConfirmSdk,
    CreateInstance,
    FlowEvent,
    Outcome,
    SubmitDocuments,
    SubmitScript,
    SubmitSipRequest,
)
from bot.flows.model import Actor, NumberPath, Onboarding, Role, Step
from bot.i18n import Lang
from bot.onboarding import audit_of
from bot.stalls.policy import Rung, RungMark, StallPolicy, StallState, WaitsOn, waits_on
from bot.stalls.sweep import LEASE, StallSweeper, SweepReport
from bot.state import AuditEntry, Contention, RedisTenantStore, TenantRecord, create_redis
from bot.state.keys import Keys
from bot.state.lease import Leases
from bot.state.records import encode_record
from bot.summary import LONGEST, Summary, gather
from tests.clock import MONDAY_MORNING, MovableClock
from tests.flows.builders import CUSTOMER, SE, SIP_REQUEST, Driver, document

SWEEP_AT = MONDAY_MORNING + timedelta(days=2)  # Wednesday 10:00 in Shanghai: a business day
INTERVAL = timedelta(minutes=5)  # the sweep's interval (`SWEEP_EVERY`)
OWNERS = tuple(f"U0BENCHSE{n}" for n in range(1, 9))
LIVE_SHARE = 0.15
STALLED_SHARE = 0.04  # stalled, and not due at any of the timed passes
OWNED_SHARE = 0.9  # the rest has no owning SE
NEXT_RUNG_SHARE = 0.2  # of a due cohort: stalled already, the next rung due (else: just stalled)
DAY = timedelta(days=1)


# -- the population ---------------------------------------------------------------------------


class _Recorder(Driver):
    """A flow driver that keeps the audit entries its events wrote, as the store keeps them."""

    def __init__(self, onboarding: Onboarding | None = None, audit: Sequence[AuditEntry] = ()):
        super().__init__(onboarding)
        self.audit = list(audit)

    def send(self, event: FlowEvent, actor: Actor = CUSTOMER) -> Outcome:
        outcome = super().send(event, actor)
        self.audit.append(audit_of(outcome, actor))
        return outcome

    def fork(self) -> _Recorder:
        return _Recorder(self.onboarding.model_copy(deep=True), self.audit)


def stage_prototypes() -> tuple[list[tuple[Onboarding, int]], Onboarding]:
    """One onboarding per stage a tenant can wait at, reached by the real flow engine, with how
    many in 85 are there (a funnel); and a live one (the other 15)."""
    stages, live = stage_journeys()
    return [(o, w) for o, w, _ in stages], live[0]


Journey = tuple[Onboarding, int, tuple[AuditEntry, ...]]


def stage_journeys() -> tuple[list[Journey], tuple[Onboarding, tuple[AuditEntry, ...]]]:
    """`stage_prototypes`, with the audit entries of the events that led to each onboarding."""
    d = _Recorder()
    at: list[Journey] = []

    def here(weight: int, driver: _Recorder | None = None) -> None:
        driver = driver or d
        at.append((driver.onboarding, weight, tuple(driver.audit)))

    here(12)
    d.send(ConfirmAccount(uin="100012345678"))
    here(8)
    d.send(ConfirmRealName())
    here(7)
    d.send(
        CreateInstance(
            call_center_name="Bench Support",
            admin_name="Han Meimei",
            admin_email="admin@bench.example.cn",
            sla_agreed=True,
        )
    )
    here(5)  # qualification.role
    d.send(ChooseRole(role=Role.LEGAL_REP))
    kinds = documents_for(Role.LEGAL_REP)
    d.send(AddDocument(document=document(kinds[0])))
    here(8)  # qualification.collecting
    for kind in kinds[1:]:
        d.send(AddDocument(document=document(kind)))
    d.send(SubmitDocuments())
    here(7)  # qualification.review (waits on us)
    for kind in kinds:
        d.send(ApproveDocument(kind=kind, revision=1), SE)
    here(6)  # numbers.choose
    sip = d.fork()
    sip.send(ChooseNumberPath(path=NumberPath.SIP_TRUNK))
    sip.send(SubmitSipRequest(ticket_id="T-1", request=SIP_REQUEST))
    here(3, sip)  # numbers.sip_ticket (waits on us)
    d.send(ChooseNumberPath(path=NumberPath.LANDLINE))
    d.send(SubmitScript(text="您好，这里是 Bench 客服中心。"))
    here(4)  # numbers.script_review (waits on us)
    d.send(ApproveScript(revision=1), SE)
    here(4)  # numbers.purchase
    d.send(ConfirmPurchase(number="4008001234"))
    here(7)  # console
    d.send(ConfirmConsole(items=frozenset(CHECKLISTS[Step.CONSOLE])))
    here(6)  # login
    d.send(ConfirmLogin(items=frozenset(CHECKLISTS[Step.LOGIN])))
    here(8)  # sdk
    d.send(ConfirmSdk(items=frozenset(CHECKLISTS[Step.SDK])))
    assert d.onboarding.step is Step.LIVE
    return at, (d.onboarding, tuple(d.audit))


@dataclass(frozen=True)
class Planned:
    """One tenant to write: its record, the business seconds of each step it finished, its kind
    (live, active, stalled, due) and, when due at one of the timed passes, which."""

    record: TenantRecord
    durations: tuple[tuple[Step, float], ...]
    kind: str
    cohort: int | None = None


def cohort_at(j: int) -> datetime:
    """When the sweep pass that finds cohort `j` due runs."""
    return SWEEP_AT + j * INTERVAL


def plan(
    tenants: int,
    *,
    cohorts: int = 5,
    due_share: float = 0.01,
    seed: int = 20261209,
    token: int = 1,
    policy: StallPolicy | None = None,
) -> Iterator[Planned]:
    """The population, one tenant at a time (deterministic for a seed). `token` is the fencing
    token of the earlier leaseholder whose rungs the stalled tenants carry."""
    policy = policy or StallPolicy()
    calendar = policy.calendar
    rng = random.Random(seed)
    stages, live_onboarding = stage_prototypes()
    onboardings = [o for o, _ in stages]
    weights = [w for _, w in stages]
    per_cohort = max(1, round(tenants * due_share))
    counts = {
        "due": cohorts * per_cohort,
        "live": round(tenants * LIVE_SHARE),
        "stalled": round(tenants * STALLED_SHARE),
    }
    if sum(counts.values()) > tenants:
        raise ValueError(f"{tenants} tenants are too few for {counts}")
    order = list(range(tenants))
    rng.shuffle(order)
    kinds: list[tuple[str, int | None]] = [("active", None)] * tenants
    position = 0
    for j in range(cohorts):
        for index in order[position : position + per_cohort]:
            kinds[index] = ("due", j)
        position += per_cohort
    for kind in ("live", "stalled"):
        for index in order[position : position + counts[kind]]:
            kinds[index] = (kind, None)
        position += counts[kind]
    last_pass = cohort_at(cohorts - 1)

    for i, (kind, cohort) in enumerate(kinds):
        onboarding = live_onboarding if kind == "live" else rng.choices(onboardings, weights)[0]
        step = onboarding.step
        stall: StallState | None = None
        live_at: datetime | None = None
        check_at: datetime | None = None
        reminded: datetime | None = None
        if kind == "live":
            live_at = SWEEP_AT - rng.uniform(0, 180) * DAY
            last = live_at
        elif kind == "active":
            # Progress within the threshold: its check comes after the last timed pass.
            span = policy.threshold(step) - (last_pass - SWEEP_AT) - timedelta(minutes=1)
            last = SWEEP_AT - rng.uniform(0, 1) * span
            check_at = policy.stalls_at(last, step)
        elif kind == "due" and rng.random() >= NEXT_RUNG_SHARE:
            # Its threshold passed since the previous pass: this pass finds it stalled.
            assert cohort is not None
            jitter = timedelta(seconds=rng.uniform(0, INTERVAL.total_seconds() - 1))
            last = cohort_at(cohort) - policy.threshold(step) - jitter
            check_at = policy.stalls_at(last, step)
        else:
            # Stalled, rungs reached by the earlier leaseholder. Due: the next rung is due at
            # its pass. Otherwise the latest rung is recent (the next one after the last
            # timed pass), or it was the last rung (nothing to check until progress).
            if kind == "due":
                assert cohort is not None
                reached = 1
                jitter = timedelta(seconds=rng.uniform(0, INTERVAL.total_seconds() - 1))
                latest = cohort_at(cohort) - policy.escalate_every - jitter
            else:
                reached = rng.choice((1, 2, 3))
                earliest = last_pass - policy.escalate_every + timedelta(minutes=1)
                latest = earliest + rng.uniform(0, 1) * (SWEEP_AT - earliest)
            marks = tuple(
                RungMark(rung=Rung(r), at=latest - (reached - r) * DAY, token=token)
                for r in range(1, reached + 1)
            )
            last = marks[0].at - rng.uniform(4, 30) * DAY  # the last progress
            waits = waits_on(onboarding)
            stall = StallState(
                since=last, noticed_at=marks[0].at, step=step, waits_on=waits, rungs=marks
            )
            if waits is WaitsOn.CUSTOMER:
                reminded = marks[0].at
            if reached < Rung.MANAGERS:
                check_at = calendar.add(latest, policy.escalate_every)
        # What the timed passes rely on: a due tenant is due at its pass and not at the one
        # before; every other tenant is due after the last pass, or never.
        if cohort is not None:
            if check_at is None or not cohort_at(cohort - 1) < check_at <= cohort_at(cohort):
                raise ValueError(f"tenant {i} of cohort {cohort} is due at {check_at}")
        elif check_at is not None and check_at <= last_pass:
            raise ValueError(f"tenant {i} ({kind}) is due at {check_at}, before the last pass")
        finished = list(Step)[: list(Step).index(step)]
        durations = tuple(
            (done, rng.lognormvariate(math.log(DAY.total_seconds()), 0.8)) for done in finished
        )
        step_since = live_at or last - rng.uniform(0, 10) * DAY
        created = step_since - timedelta(seconds=sum(s for _, s in durations) * 7 / 5)
        owner = rng.choice(OWNERS) if rng.random() < OWNED_SHARE else None
        record = TenantRecord.new(
            tenant_id=f"bench-{i:06d}",
            company=f"Bench Tenant {i} 有限公司",
            channel_id=f"C0B{i:07d}",
            created_by=owner or "U0BENCHCUST",
            lang=rng.choice(list(Lang)),
            team_id="T0BENCH",
            now=created,
            se_user=owner,
        ).model_copy(
            update={
                "version": 1 + 2 * len(finished) + (len(stall.rungs) if stall else 0),
                "updated_at": max(last, stall.rungs[-1].at) if stall else last,
                "last_activity_at": last,
                "onboarding": onboarding,
                "step_since": step_since,
                "live_at": live_at,
                "check_at": check_at,
                "stall": stall,
                "last_reminder_at": reminded,
            }
        )
        yield Planned(record, durations, kind, cohort)


@dataclass
class Population:
    """What was written, counted as it was planned: what the store must say about it."""

    keys: Keys
    policy: StallPolicy
    owners: tuple[str, ...] = OWNERS
    tenants: int = 0
    per_step: Counter[Step] = field(default_factory=Counter)
    stalled_per_step: Counter[Step] = field(default_factory=Counter)
    durations: dict[Step, list[float]] = field(default_factory=dict)
    live_total: int = 0
    live_this_week: int = 0
    per_owner: Counter[str] = field(default_factory=Counter)
    stalls: list[tuple[datetime, str]] = field(default_factory=list)
    cohorts: list[list[str]] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    samples: list[TenantRecord] = field(default_factory=list)
    build_seconds: float = 0.0

    @property
    def week_start(self) -> datetime:
        return self.policy.calendar.week_start(SWEEP_AT)

    @property
    def stalled(self) -> int:
        return len(self.stalls)

    def add(self, planned: Planned) -> None:
        record = planned.record
        self.tenants += 1
        self.kinds[planned.kind] += 1
        self.per_step[record.step] += 1
        if record.stall is not None:
            self.stalled_per_step[record.stall.step] += 1
            self.stalls.append((record.stall.since, record.tenant_id))
        if record.step is Step.LIVE:
            assert record.live_at is not None
            self.live_total += 1
            self.live_this_week += record.live_at >= self.week_start
        elif record.se_user is not None:
            self.per_owner[record.se_user] += 1
        for step, seconds in planned.durations:
            self.durations.setdefault(step, []).append(seconds)
        if planned.cohort is not None:
            while len(self.cohorts) <= planned.cohort:
                self.cohorts.append([])
            self.cohorts[planned.cohort].append(record.tenant_id)
        # A few of every kind, and every 5,000th, to read back through the store.
        if self.kinds[planned.kind] <= 3 or self.tenants % 5000 == 0:
            self.samples.append(record)

    def median_seconds(self, step: Step) -> float | None:
        values = self.durations.get(step)
        return statistics.median(values) if values else None

    def longest(self) -> list[str]:
        return [tenant for _, tenant in sorted(self.stalls)[:LONGEST]]


class _Collected:
    """Stands in for the pipeline `RedisTenantStore._queue_indexes` queues on: it collects the
    index entries the store writes for each tenant, per key and operation, so that a batch of
    tenants goes out as one command per key and operation instead of eight per tenant.

    That changes nothing in what is written: every tenant appears once in a batch, so no two
    collected operations touch one member of one key, and their order does not matter. Only
    the operations `_queue_indexes` uses today exist here: should it start using another,
    building fails loudly instead of writing indexes the store would not.
    """

    def __init__(self) -> None:
        self.members: dict[tuple[str, str], list[str]] = {}
        self.scores: dict[str, dict[str, float]] = {}

    def _add(self, op: str, key: str, members: tuple[str, ...]) -> None:
        self.members.setdefault((op, key), []).extend(members)

    def sadd(self, key: str, *members: str) -> None:
        self._add("sadd", key, members)

    def srem(self, key: str, *members: str) -> None:
        self._add("srem", key, members)

    def zrem(self, key: str, *members: str) -> None:
        self._add("zrem", key, members)

    def zadd(self, key: str, mapping: dict[str, float]) -> None:
        self.scores.setdefault(key, {}).update(mapping)

    def queue_on(self, pipe: Pipeline) -> None:
        for (op, key), members in self.members.items():
            getattr(pipe, op)(key, *members)
        for key, mapping in self.scores.items():
            pipe.zadd(key, mapping)


async def write_batch(redis: Redis, store: RedisTenantStore, batch: Sequence[Planned]) -> None:
    """Write tenants as `create` does (the record, its channel binding, the index entries the
    store queues for a new record), and the business time of each step they finished as each
    `update` that finished a step did (`step_durations`), in one pipeline."""
    keys = store.keys
    values: dict[str, bytes | str] = {}
    indexes = _Collected()
    for planned in batch:
        record = planned.record
        tenant_id = record.tenant_id
        values[keys.record(tenant_id)] = encode_record(record)
        values[keys.channel(record.channel_id)] = tenant_id
        store._queue_indexes(indexes, record)  # type: ignore[arg-type]  # the store's own
        for step, seconds in planned.durations:
            indexes.zadd(keys.step_durations(step.value), {tenant_id: seconds})
    async with redis.pipeline(transaction=False) as pipe:
        pipe.mset(values)
        indexes.queue_on(pipe)
        await pipe.execute()


async def build_population(
    redis: Redis,
    store: RedisTenantStore,
    tenants: int,
    *,
    cohorts: int = 5,
    due_share: float = 0.01,
    seed: int = 20261209,
    policy: StallPolicy | None = None,
    batch: int = 500,
) -> Population:
    policy = policy or StallPolicy()
    start = time.perf_counter()
    # A deployment that has swept before: the one-time seeding of the sweep's index is done
    # (on an empty keyspace it only sets its flag), and the stalls carry an earlier
    # leaseholder's token; the sweep timed here takes the lease after it (a larger token).
    await store.seed_stall_checks()
    leases = Leases(redis, store.keys)
    earlier = await leases.acquire(LEASE, "bench-earlier-sweeper", timedelta(minutes=1))
    if earlier is not None:
        await leases.release(earlier)
    population = Population(keys=store.keys, policy=policy)
    in_flight: list[asyncio.Task[None]] = []
    chunk: list[Planned] = []
    token = earlier.token if earlier is not None else 0
    planned_all = plan(
        tenants, cohorts=cohorts, due_share=due_share, seed=seed, token=token, policy=policy
    )
    for planned in planned_all:
        population.add(planned)
        chunk.append(planned)
        if len(chunk) == batch:
            # Two pipelines in flight: Redis works on one while the next is planned.
            in_flight.append(asyncio.create_task(write_batch(redis, store, chunk)))
            chunk = []
            await asyncio.sleep(0)
            if len(in_flight) >= 2:
                await in_flight.pop(0)
    if chunk:
        in_flight.append(asyncio.create_task(write_batch(redis, store, chunk)))
    await asyncio.gather(*in_flight)
    population.build_seconds = time.perf_counter() - start
    return population


async def check_population(store: RedisTenantStore, population: Population) -> list[str]:
    """What the store's public API says about the population, against what was written: the
    problems (none, or the figures would be meaningless)."""
    problems: list[str] = []

    def same(what: str, got: object, want: object) -> None:
        if got != want:
            problems.append(f"{what}: the store says {got!r}, the population has {want!r}")

    pop = population
    figures = await store.figures(week_start=pop.week_start, owners=pop.owners)
    same("tenants per step", figures.per_step, {s: pop.per_step[s] for s in Step})
    same(
        "stalled per step",
        figures.stalled_per_step,
        {s: pop.stalled_per_step[s] for s in Step.ordered()},
    )
    same(
        "live, live this week",
        (figures.live_total, figures.live_this_week),
        (pop.live_total, pop.live_this_week),
    )
    same("in progress per owner", figures.per_owner, {o: pop.per_owner[o] for o in pop.owners})
    for step in Step.ordered():
        got, want = figures.median_seconds[step], pop.median_seconds(step)
        if (got is None) != (want is None) or (
            got is not None and want is not None and abs(got - want) > 1e-6
        ):
            same(f"median seconds at {step.value}", got, want)
    stalled = await store.stalled()
    same("stalled onboardings", len(stalled), pop.stalled)
    same("the longest stalls", [t for t, _, _ in stalled[:LONGEST]], pop.longest())
    first = pop.cohorts[0]
    due = await store.due_for_check(cohort_at(0), limit=len(first) + 1)
    same("due at the first pass", sorted(due), sorted(first))
    same("due before the first pass", await store.due_for_check(cohort_at(-1), limit=1), [])
    found = await store.get_many([r.tenant_id for r in pop.samples])
    same(
        "sampled records read back",
        [found.get(r.tenant_id) for r in pop.samples],
        pop.samples,
    )
    return problems


class PopulationMismatch(RuntimeError):
    """The store's indexes do not describe the population written: a bug in the benchmark's
    builder (or in the store), and any figure measured on it would be meaningless."""


# -- the figures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildFigures:
    tenants: int
    seconds: float
    live: int
    stalled: int  # stall set in the record (the due cohorts' next-rung ones included)
    owners: int
    cohorts: int
    due_per_pass: int


@dataclass(frozen=True)
class SummaryFigures:
    """`bot.summary.gather` over the population, timed `runs` times; one run counted."""

    runs: int
    median_ms: float
    p99_ms: float
    baseline: str
    baseline_median_ms: float
    baseline_p99_ms: float
    commands: CommandCount
    total: int  # what the summary said
    stalled: int
    problems: tuple[str, ...]  # where it disagrees with the population (none expected)

    @property
    def matches(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class DuePass:
    """One `run_once` with a fresh cohort due (`due` counted by `due_for_check` just before)."""

    at: datetime
    due: int
    looked_at: int
    rungs: int
    held: bool
    gave_up: str | None  # the `Contention` that stopped the pass, if one did
    ms: float
    commands: CommandCount
    problems: tuple[str, ...]

    @property
    def per_tenant_ms(self) -> float:
        return self.ms / self.due if self.due else 0.0


@dataclass(frozen=True)
class SweepFigures:
    passes: tuple[DuePass, ...]
    baseline_per_tenant_ms: float  # GET + SET of one record, each due tenant of the last pass
    steady_runs: int
    steady_median_ms: float
    steady_p99_ms: float
    steady_looked_at: int  # over every steady run (0: nothing was due)
    steady_commands: CommandCount
    steady_baseline_median_ms: float  # one ZRANGEBYSCORE of the due index
    steady_baseline_p99_ms: float

    @property
    def due_median_ms(self) -> float:
        return statistics.median(p.ms for p in self.passes)

    @property
    def due_per_tenant_ms(self) -> float:
        return statistics.median(p.per_tenant_ms for p in self.passes)


@dataclass(frozen=True)
class StallBench:
    build: BuildFigures
    summary: SummaryFigures
    sweep: SweepFigures


def _summary_problems(summary: Summary, pop: Population) -> list[str]:
    problems: list[str] = []

    def same(what: str, got: object, want: object) -> None:
        if got != want:
            problems.append(f"{what}: the summary says {got!r}, the population has {want!r}")

    same("tenants", summary.total, pop.tenants)
    same("per step", summary.per_step, {s: pop.per_step[s] for s in Step})
    same("stalled", summary.stalled, pop.stalled)
    same(
        "live",
        (summary.live_total, summary.live_this_week),
        (pop.live_total, pop.live_this_week),
    )
    same("per owner", summary.per_owner, {o: pop.per_owner[o] for o in pop.owners})
    same("longest", [s.record.tenant_id for s in summary.longest], pop.longest())
    day = DAY.total_seconds()
    for step in Step.ordered():
        want = pop.median_seconds(step)
        got = summary.median_days[step]
        if (got is None) != (want is None) or (
            got is not None and want is not None and abs(got - want / day) > 1e-9
        ):
            same(f"median days at {step.value}", got, want and want / day)
    return problems


async def measure_summary(
    store: RedisTenantStore,
    redis: Redis,
    meter: CommandMeter,
    population: Population,
    *,
    runs: int = 300,
) -> SummaryFigures:
    """`gather(store, policy, owners, now)` at the first pass's moment: one counted run (its
    answer checked against the population), a warm-up, then `runs` timed ones; the baseline is
    one SCARD (a single round trip) on the same connection pool."""
    now = SWEEP_AT

    async def once() -> Summary:
        return await gather(store, population.policy, population.owners, now)

    await timed(once, 10)  # warm-up: connections made, code paths hot
    summary, commands, _ = await meter.count(once)
    samples = await timed(once, runs)
    base = await timed(lambda: redis.scard(store.keys.tenants()), runs)
    med, p99 = stats(samples)
    bmed, bp99 = stats(base)
    return SummaryFigures(
        runs=runs,
        median_ms=med * 1e3,
        p99_ms=p99 * 1e3,
        baseline="one SCARD",
        baseline_median_ms=bmed * 1e3,
        baseline_p99_ms=bp99 * 1e3,
        commands=commands,
        total=summary.total,
        stalled=summary.stalled,
        problems=tuple(_summary_problems(summary, population)),
    )


async def _one_pass(sweeper: StallSweeper) -> tuple[SweepReport | None, Contention | None]:
    """A pass that loses every compare-and-set on a tenant ends with `Contention`: a figure of
    this run (there is no other writer here, so none is expected), not a crash."""
    try:
        return await sweeper.run_once(), None
    except Contention as exc:
        return None, exc


async def measure_sweep(
    store: RedisTenantStore,
    redis: Redis,
    meter: CommandMeter,
    clock: MovableClock,
    population: Population,
    *,
    steady_runs: int = 200,
) -> SweepFigures:
    """The stalled sweep, one `run_once` per cohort.

    What is timed, per due pass: exactly one `run_once()` at `cohort_at(j)`, when cohort `j`
    (and only it: the earlier cohorts were rescheduled by their own passes, the later ones are
    not due yet) is due, from taking the lease to the empty `due_for_check` that ends it. Each
    pass finds a distinct cohort, so no rebuilding is needed between passes; the passes before
    it have changed nothing it reads. What is due is counted with `due_for_check` before the
    pass, outside the time, and checked against the cohort.

    Then the steady state: at the last pass's moment nothing is due any more; `steady_runs`
    passes are timed (lease, the seeding flag, one empty `due_for_check`).
    """
    keys = store.keys
    sweeper = StallSweeper(
        store=store,
        leases=Leases(redis, keys),
        policy=population.policy,
        clock=clock,
        interval=INTERVAL,
        # What a due pass costs, without the reconciler (every 15 minutes, it reads every
        # record: measured by the summary's population size, not here).
        reconcile_every=None,
    )
    passes: list[DuePass] = []
    for j, cohort in enumerate(population.cohorts):
        at = clock.set(cohort_at(j))
        due = await store.due_for_check(at, limit=len(cohort) + 1)
        problems = []
        if sorted(due) != sorted(cohort):
            problems.append(f"due at pass {j + 1}: {len(due)} tenants, not the {len(cohort)}")
        (report, error), commands, elapsed = await meter.count(lambda: _one_pass(sweeper))
        passes.append(
            DuePass(
                at=at,
                due=len(due),
                looked_at=report.looked_at if report else 0,
                rungs=report.rungs if report else 0,
                held=report.held if report else True,
                gave_up=str(error) if error else None,
                ms=elapsed * 1e3,
                commands=commands,
                problems=tuple(problems),
            )
        )

    # The baseline of a due tenant: the least a read-modify-write costs, one GET and one SET
    # of its record's bytes (to a scratch key), over the last cohort's tenants.
    scratch = keys.record("bench-scratch")
    last = population.cohorts[-1]

    async def get_set() -> None:
        for tenant_id in last:
            data = await redis.get(keys.record(tenant_id))
            await redis.set(scratch, data or b"")

    base = await timed(get_set, 1)

    (steady, _error), steady_commands, _ = await meter.count(lambda: _one_pass(sweeper))
    looked = steady.looked_at if steady else 0
    samples: list[float] = []
    for _ in range(steady_runs):
        start = time.perf_counter()
        report, _error = await _one_pass(sweeper)
        samples.append(time.perf_counter() - start)
        looked += report.looked_at if report else 0
    steady_base = await timed(lambda: store.due_for_check(clock()), steady_runs)
    med, p99 = stats(samples)
    bmed, bp99 = stats(steady_base)
    return SweepFigures(
        passes=tuple(passes),
        baseline_per_tenant_ms=base[0] * 1e3 / max(1, len(last)),
        steady_runs=steady_runs,
        steady_median_ms=med * 1e3,
        steady_p99_ms=p99 * 1e3,
        steady_looked_at=looked,
        steady_commands=steady_commands,
        steady_baseline_median_ms=bmed * 1e3,
        steady_baseline_p99_ms=bp99 * 1e3,
    )


async def delete_prefix(client: Redis, keys: Keys, batch: int = 1000) -> int:
    """Delete every key under `keys.prefix`, in batches while scanning. Returns how many."""
    doomed: list[bytes] = []
    deleted = 0
    async for key in client.scan_iter(match=keys.everything_pattern(), count=batch):
        doomed.append(key)
        if len(doomed) >= batch:
            deleted += await client.delete(*doomed)
            doomed = []
    if doomed:
        deleted += await client.delete(*doomed)
    return deleted


async def run_stall_bench(
    url: str,
    keys: Keys,
    tenants: int,
    *,
    cohorts: int = 5,
    due_share: float = 0.01,
    summary_runs: int = 300,
    steady_runs: int = 200,
) -> StallBench:
    """Build the population under `keys` (a prefix of its own), check it, measure the summary
    and the sweep, and delete every key under the prefix, whatever happens."""
    probe = Redis.from_url(url)  # for INFO only: its commands are not the operations'
    redis = create_redis(url)
    tally = CommandTally(keys)
    tally.install(redis)
    clock = MovableClock(SWEEP_AT)
    store = RedisTenantStore(redis, keys, clock=clock)
    policy = StallPolicy()
    try:
        await probe.ping()
        population = await build_population(
            redis, store, tenants, cohorts=cohorts, due_share=due_share, policy=policy
        )
        problems = await check_population(store, population)
        if problems:
            raise PopulationMismatch("; ".join(problems))
        meter = CommandMeter(probe, tally)
        summary = await measure_summary(store, redis, meter, population, runs=summary_runs)
        sweep = await measure_sweep(store, redis, meter, clock, population, steady_runs=steady_runs)
        build = BuildFigures(
            tenants=population.tenants,
            seconds=population.build_seconds,
            live=population.live_total,
            stalled=population.stalled,
            owners=len(population.owners),
            cohorts=len(population.cohorts),
            due_per_pass=len(population.cohorts[0]),
        )
        return StallBench(build=build, summary=summary, sweep=sweep)
    finally:
        await delete_prefix(probe, keys)
        await redis.aclose()
        await probe.aclose()


# -- the report -------------------------------------------------------------------------------

SUMMARY_GOAL_MS = 50.0
SWEEP_GOAL_MS = 100.0


def _goal(ms: float, goal: float) -> str:
    return f"goal {goal:.0f} ms: {'met' if ms < goal else 'NOT met'}"


def report_lines(result: StallBench) -> list[str]:
    b, s, w = result.build, result.summary, result.sweep
    lines = [
        f"stalls over {b.tenants:,} tenants ({b.live:,} live, {b.stalled:,} stalled, "
        f"{b.owners} owners; {b.due_per_pass:,} due at each of {b.cohorts} sweep passes): "
        f"built in {b.seconds:.1f} s ({b.tenants / b.seconds:,.0f} tenants/s), "
        "checked through figures(), stalled(), due_for_check(), get_many()",
        f"{'summary gather()':<28} median {s.median_ms:8.3f} ms  p99 {s.p99_ms:8.3f} ms   |  "
        f"{s.baseline:<22} median {s.baseline_median_ms:8.3f} ms  p99 "
        f"{s.baseline_p99_ms:8.3f} ms   |  ratio {s.median_ms / s.baseline_median_ms:6.1f}x  "
        f"({_goal(s.p99_ms, SUMMARY_GOAL_MS)} at p99)",
        f"{'':<28} {s.commands.describe()}",
        f"{'':<28} "
        + (
            f"matches the population: {s.total:,} tenants, {s.stalled:,} stalled"
            if s.matches
            else "DISAGREES with the population: " + "; ".join(s.problems)
        ),
    ]
    if w.passes:
        due = w.passes[0].due
        per = w.due_per_tenant_ms
        lines.append(
            f"{f'sweep pass, {due:,} due':<28} median {w.due_median_ms:8.1f} ms  "
            f"max {max(p.ms for p in w.passes):8.1f} ms over {len(w.passes)} passes  |  "
            f"{per:.3f} ms per due tenant vs GET + SET {w.baseline_per_tenant_ms:.3f} ms  |  "
            f"ratio {per / w.baseline_per_tenant_ms:6.1f}x  "
            f"({_goal(w.due_median_ms, SWEEP_GOAL_MS)}; met up to ~{SWEEP_GOAL_MS / per:,.0f} "
            "due a pass)"
        )
        for n, p in enumerate(w.passes, 1):
            trouble = [*p.problems]
            if p.gave_up:
                trouble.append(f"stopped on {p.gave_up}")
            if not p.held:
                trouble.append("lease not held")
            lines.append(
                f"{'':<28} pass {n} ({p.at:%a %H:%M} UTC): {p.due:,} due, looked at "
                f"{p.looked_at:,}, {p.rungs:,} rungs, {p.ms:7.1f} ms; {p.commands.brief()}"
                + (f"  [{'; '.join(trouble)}]" if trouble else "")
            )
        lines.append(f"{'':<28} pass 1: {w.passes[0].commands.describe()}")
    lines += [
        f"{'sweep pass, none due':<28} median {w.steady_median_ms:8.3f} ms  p99 "
        f"{w.steady_p99_ms:8.3f} ms   |  {'one ZRANGEBYSCORE':<22} median "
        f"{w.steady_baseline_median_ms:8.3f} ms  p99 {w.steady_baseline_p99_ms:8.3f} ms   |  "
        f"ratio {w.steady_median_ms / w.steady_baseline_median_ms:6.1f}x  "
        f"({_goal(w.steady_p99_ms, SWEEP_GOAL_MS)} at p99)",
        f"{'':<28} {w.steady_commands.describe()}; looked at {w.steady_looked_at} over "
        f"{w.steady_runs + 1} passes",
    ]
    return lines
