"""The stalled sweep on a real Redis (and the embedded store): the ladder once and in order,
only what is due is read, and under one lease nothing is done twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.flows.catalogue import documents_for
from bot.flows.engine import (
    AddDocument,
    ChooseRole,
    ConfirmAccount,
    ConfirmRealName,
    CreateInstance,
    SubmitDocuments,
)
from bot.flows.model import Actor, ActorRole, Role, Step
from bot.i18n import Lang
from bot.onboarding import Onboardings
from bot.stalls.calendar import BusinessCalendar
from bot.stalls.policy import Rung, StallPolicy, WaitsOn
from bot.stalls.sweep import StallSweeper, stall_step
from bot.state.lease import Leases
from bot.state.store import RedisTenantStore
from tests.clock import MONDAY_MORNING, MovableClock
from tests.flows.builders import document
from tests.state.conftest import Backend

CUSTOMER = Actor(user_id="U0CUSTOMER", role=ActorRole.CUSTOMER)
SE = Actor(user_id="U0SOLENG1", role=ActorRole.SE)
POLICY = StallPolicy(
    stalled_after=timedelta(days=2),
    escalate_every=timedelta(days=1),
    calendar=BusinessCalendar(),
)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(MONDAY_MORNING)


@pytest.fixture
def store(backend: Backend, clock: MovableClock) -> RedisTenantStore:
    return RedisTenantStore(backend.redis, backend.keys, clock=clock)


@pytest.fixture
def onboardings(store: RedisTenantStore, clock: MovableClock) -> Onboardings:
    return Onboardings(store, clock=clock, policy=POLICY)


def sweeper(
    backend: Backend, store: RedisTenantStore, clock: MovableClock, owner: str
) -> StallSweeper:
    return StallSweeper(
        store=store,
        leases=Leases(backend.redis, backend.keys),
        policy=POLICY,
        clock=clock,
        interval=timedelta(minutes=5),
        owner=owner,
    )


async def start(onboardings: Onboardings, company: str, channel: str) -> str:
    record = await onboardings.start(
        company=company, channel_id=channel, team_id=None, actor=SE, lang=Lang.ZH
    )
    return record.tenant_id


async def effect_kinds(store: RedisTenantStore, tenant_id: str) -> list[str]:
    """The effects waiting in the tenant's outbox, after those of its start."""
    pending = await store.outbox.pending_effects(tenant_id)
    kinds = [p.effect.kind for p in pending]
    return [
        k for k in kinds if k not in ("notify_customer", "update_checklist", "post_step_prompt")
    ]


async def rungs(store: RedisTenantStore, tenant_id: str) -> list[str]:
    return [e.detail["rung"] for e in await store.audit(tenant_id) if e.event == "stall_rung"]


async def test_a_stall_climbs_each_rung_once_and_in_order(
    backend: Backend, store: RedisTenantStore, onboardings: Onboardings, clock: MovableClock
) -> None:
    tenant = await start(onboardings, "Acme", "C0ACME1")
    sweep = sweeper(backend, store, clock, "replica-a")
    expected = [
        (timedelta(days=1), []),  # Tuesday: one business day idle, not stalled
        (timedelta(days=1), ["remind_customer"]),  # Wednesday: stalled, the customer is reminded
        (timedelta(hours=3), ["remind_customer"]),  # the same day again: nothing new
        (timedelta(hours=21), ["remind_customer", "notify_owner"]),  # Thursday: the SE
        (timedelta(days=1), ["remind_customer", "notify_owner", "notify_managers"]),  # Friday
        (timedelta(days=3), ["remind_customer", "notify_owner", "notify_managers"]),  # done
    ]
    for step, kinds in expected:
        clock.advance(seconds=step.total_seconds())
        await sweep.run_once()
        assert await effect_kinds(store, tenant) == kinds, clock.now
    assert await rungs(store, tenant) == ["1", "2", "3"]
    record = await store.get(tenant)
    assert record is not None and record.stall is not None
    assert record.stall.waits_on is WaitsOn.CUSTOMER
    assert [t for t, _, _ in await store.stalled()] == [tenant]
    # A reminder is not progress: the stall still counts from the start.
    assert record.last_activity_at == MONDAY_MORNING


async def test_progress_ends_the_stall_and_a_new_stall_starts_the_ladder_again(
    backend: Backend, store: RedisTenantStore, onboardings: Onboardings, clock: MovableClock
) -> None:
    tenant = await start(onboardings, "Acme", "C0ACME1")
    sweep = sweeper(backend, store, clock, "replica-a")
    clock.advance(days=2)
    await sweep.run_once()
    assert await rungs(store, tenant) == ["1"]
    await onboardings.act(tenant, ConfirmAccount(), CUSTOMER)
    record = await store.get(tenant)
    assert record is not None and record.stall is None
    assert await store.stalled() == []
    assert await store.changed_since(MONDAY_MORNING) == ([], [tenant])  # the stall ended
    clock.advance(days=2)  # Friday: stalled again at step 2, from the start of the ladder
    await sweep.run_once()
    assert await rungs(store, tenant) == ["1", "1"]


async def test_waiting_on_us_reaches_the_se_and_not_the_customer(
    backend: Backend, store: RedisTenantStore, onboardings: Onboardings, clock: MovableClock
) -> None:
    tenant = await start(onboardings, "Acme", "C0ACME1")
    for event in (
        ConfirmAccount(),
        ConfirmRealName(),
        CreateInstance(
            call_center_name="Acme", admin_name="Han", admin_email="a@acme.cn", sla_agreed=True
        ),
        ChooseRole(role=Role.LEGAL_REP),
    ):
        await onboardings.act(tenant, event, CUSTOMER)
    for n, kind in enumerate(documents_for(Role.LEGAL_REP)):
        await onboardings.act(tenant, AddDocument(document=document(kind, f"F{n:04d}")), CUSTOMER)
    await onboardings.act(tenant, SubmitDocuments(), CUSTOMER)
    before = await effect_kinds(store, tenant)
    clock.advance(days=2, hours=1)
    await sweeper(backend, store, clock, "replica-a").run_once()
    assert (await effect_kinds(store, tenant))[len(before) :] == ["notify_owner"]
    record = await store.get(tenant)
    assert record is not None and record.stall is not None
    assert record.stall.waits_on is WaitsOn.US and record.step is Step.QUALIFICATION


async def test_the_sweep_reads_only_the_onboardings_that_are_due(
    backend: Backend, store: RedisTenantStore, onboardings: Onboardings, clock: MovableClock
) -> None:
    old = [await start(onboardings, f"Old {n}", f"C0OLD{n:05d}") for n in range(3)]
    clock.advance(days=1)
    for n in range(20):
        await start(onboardings, f"New {n}", f"C0NEW{n:05d}")
    clock.advance(days=1)  # the three started on Monday are stalled; the rest are not due
    report = await sweeper(backend, store, clock, "replica-a").run_once()
    assert report.looked_at == 3 and report.rungs == 3
    assert sorted(t for t, _, _ in await store.stalled()) == sorted(old)


async def test_two_sweepers_racing_under_one_lease_act_once(
    backend: Backend, store: RedisTenantStore, onboardings: Onboardings, clock: MovableClock
) -> None:
    tenants = [await start(onboardings, f"T {n}", f"C0T{n:07d}") for n in range(5)]
    clock.advance(days=2)
    a, b = sweeper(backend, store, clock, "replica-a"), sweeper(backend, store, clock, "replica-b")
    first, second = await asyncio.gather(a.run_once(), b.run_once())
    assert sorted([first.held, second.held]) == [False, True]
    assert first.rungs + second.rungs == 5
    for tenant in tenants:
        assert await rungs(store, tenant) == ["1"]
        assert (await effect_kinds(store, tenant)).count("remind_customer") == 1


async def test_a_stale_leaseholder_acting_after_losing_the_lease_doubles_nothing(
    backend: Backend, store: RedisTenantStore, onboardings: Onboardings, clock: MovableClock
) -> None:
    tenant = await start(onboardings, "Acme", "C0ACME1")
    leases = Leases(backend.redis, backend.keys)
    old = await leases.acquire("stall-sweep", "replica-a", timedelta(minutes=10))
    assert old is not None
    # Replica A pauses; its lease lapses and replica B takes over and sweeps.
    await backend.redis.delete(backend.keys.lease("stall-sweep"))
    clock.advance(days=2)
    report = await sweeper(backend, store, clock, "replica-b").run_once()
    assert report.held and report.rungs == 1
    clock.advance(days=1)
    await sweeper(backend, store, clock, "replica-b").run_once()
    assert await rungs(store, tenant) == ["1", "2"]
    # A wakes up and writes what it decided with its old token: nothing happens.
    stale = await store.update(tenant, lambda r: stall_step(r, clock.now, POLICY, old.token))
    assert not stale.changed
    assert await rungs(store, tenant) == ["1", "2"]
    assert (await effect_kinds(store, tenant)).count("notify_owner") == 1
    # And its own rung, had it been first, would not be repeated by anyone.
    record = await store.get(tenant)
    assert record is not None and record.stall is not None
    assert [m.rung for m in record.stall.rungs] == [Rung.REMINDER, Rung.SE]


async def test_onboardings_from_before_the_sweep_are_scheduled_on_its_first_pass(
    backend: Backend, store: RedisTenantStore, onboardings: Onboardings, clock: MovableClock
) -> None:
    tenants = [await start(onboardings, f"T {n}", f"C0T{n:07d}") for n in range(4)]
    # What an upgraded deployment has: onboardings in the activity index, none scheduled.
    await backend.redis.delete(backend.keys.stall_due(), backend.keys.stall_seeded())
    clock.advance(hours=1)
    first = await sweeper(backend, store, clock, "replica-a").run_once()
    assert first.looked_at == 4 and first.rungs == 0  # looked at once, each given its time
    again = await sweeper(backend, store, clock, "replica-a").run_once()
    assert again.looked_at == 0  # nothing due until Wednesday
    clock.advance(days=2)
    later = await sweeper(backend, store, clock, "replica-a").run_once()
    assert later.rungs == 4
    assert sorted(t for t, _, _ in await store.stalled()) == sorted(tenants)


async def test_indexes_a_dead_replica_left_behind_are_rebuilt_by_the_sweep(
    backend: Backend, store: RedisTenantStore, onboardings: Onboardings, clock: MovableClock
) -> None:
    """A replica that died between a tenant's commit and its index write (another cluster slot)
    leaves the summary behind; the next sweep pass that reconciles puts it right."""
    keys = backend.keys
    kept = await start(onboardings, "Acme", "C0ACME1")
    lost = await start(onboardings, "Beta", "C0BETA1")
    # What the dead replica never wrote: every index entry of `lost`, and its channel binding.
    backend.sync.srem(keys.tenants(), lost)
    backend.sync.srem(keys.step_index(Step.ACCOUNT.value), lost)
    backend.sync.zrem(keys.last_activity(), lost)
    backend.sync.zrem(keys.stall_due(), lost)
    backend.sync.delete(keys.channel("C0BETA1"))
    assert await store.counts_by_step() == {**dict.fromkeys(Step, 0), Step.ACCOUNT: 1}

    report = await sweeper(backend, store, clock, "replica-a").run_once()

    assert report.reconciled is not None and report.reconciled.tenants == 2
    assert await store.tenants_at(Step.ACCOUNT) == sorted([kept, lost])
    assert await store.all_tenant_ids() == sorted([kept, lost])
    assert await store.tenant_for_channel("C0BETA1") == lost
    assert await store.due_for_check(clock.now + timedelta(days=30)) == sorted([kept, lost])
    # Not at every pass: it reads every record, so at most every 15 minutes.
    clock.advance(seconds=300)
    assert (await sweeper(backend, store, clock, "replica-a").run_once()).reconciled is None
    clock.advance(seconds=600)
    assert (await sweeper(backend, store, clock, "replica-a").run_once()).reconciled is not None


async def test_a_replica_without_the_lease_does_not_reconcile(
    backend: Backend, store: RedisTenantStore, onboardings: Onboardings, clock: MovableClock
) -> None:
    await start(onboardings, "Acme", "C0ACME1")
    holder = await Leases(backend.redis, backend.keys).acquire(
        "stall-sweep", "replica-a", timedelta(minutes=10)
    )
    assert holder is not None
    report = await sweeper(backend, store, clock, "replica-b").run_once()
    assert not report.held and report.reconciled is None
