"""The stalled sweep: every `SWEEP_EVERY`, under a lease, look at the onboardings that are due,
and do what `policy.decide` says, one atomic write per tenant. In the same pass, under the same
lease, the documents of tenants live for longer than `DOCUMENT_RETENTION` are forgotten.

The sweep reads only what is due (`stall_due`, kept by every write), never every tenant. One
replica sweeps at a time: it holds the `stall-sweep` lease, whose fencing token goes into every
rung it records. A sweep that lost the lease cannot do a rung twice: the rung is written in the
tenant's record in the same transaction as its effects, and a write finding that rung already
there (or a rung of a newer token) writes nothing. Forgetting documents is a write that finds
nothing to do once done, so only the replica whose write removed them asks Slack to delete the
files.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.flows.effects import Effect, NotifyManagers, NotifyOwner, RemindCustomer
from bot.flows.model import Actor, ActorRole, Step
from bot.stalls.policy import Climb, NotYet, Rung, StallPolicy, Wait, WaitsOn, decide
from bot.state import (
    AuditEntry,
    Change,
    Contention,
    CorruptRecord,
    RedisTenantStore,
    SlackFile,
    TenantNotFound,
    TenantRecord,
    UnknownSchemaVersion,
)
from bot.state.lease import LeaseGrant, Leases
from bot.state.store import IndexReport, holds_files, record_files

log = logging.getLogger(__name__)

LEASE = "stall-sweep"
BATCH = 500
# How often the reconciler rebuilds the global indexes from the records (it reads them all).
RECONCILE_EVERY = timedelta(minutes=15)
CONCURRENCY = 16  # tenants written at once in a pass (half the Redis pool: requests need some)
SWEEPER = Actor(user_id="stall-sweep", role=ActorRole.SYSTEM)

# Asks Slack to delete a tenant's forgotten files (best effort; it reports in the log).
ForgetFiles = Callable[[str, tuple[SlackFile, ...]], Awaitable[None]]


def process_owner() -> str:
    """A lease owner id unique to this process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class SweepReport:
    looked_at: int = 0
    rungs: int = 0
    nudges: int = 0
    held: bool = True  # False: another replica holds the lease; nothing was done
    changed: list[str] = field(default_factory=list)  # tenants with effects to carry out
    forgotten: list[str] = field(default_factory=list)  # tenants whose documents were forgotten
    reconciled: IndexReport | None = None  # what the reconciler found, on a pass that ran it


def rung_effects(record: TenantRecord, rung: Rung, waits: WaitsOn) -> list[Effect]:
    """What reaching `rung` sends: the ladder's rungs as effects."""
    if rung is Rung.REMINDER:
        # The customer is never nagged for our delay: then the owner hears instead.
        if waits is WaitsOn.CUSTOMER:
            return [RemindCustomer()]
        return [NotifyOwner(rung=int(Rung.REMINDER))]
    if rung is Rung.SE:
        return [NotifyOwner(rung=int(Rung.SE))]
    return [NotifyManagers()]


def stall_step(
    record: TenantRecord, now: datetime, policy: StallPolicy, token: int
) -> Change | None:
    """The sweep's write for one tenant (pure: it can run again when writers race). None when
    there is nothing to write, including when a newer sweeper already acted."""
    stall = record.stall
    if stall is not None and any(mark.token > token for mark in stall.rungs):
        return None  # a newer leaseholder has been here: this sweep is stale
    effects: list[Effect] = []
    audit: list[AuditEntry] = []
    update: dict[str, object] = {}
    queued = record.queued_nudge
    if queued is not None and queued.at <= now:
        # A nudge asked for in quiet hours, due now.
        effects.append(RemindCustomer(nudged_by=queued.by))
        audit.append(_audit(record, "nudge_posted", now, {"by": queued.by}))
        update.update(queued_nudge=None, last_reminder_at=now)
        queued = None
    decision = decide(
        onboarding=record.onboarding,
        last_progress=record.last_activity_at,
        stall=stall,
        last_customer_reminder=now if "last_reminder_at" in update else record.last_reminder_at,
        now=now,
        policy=policy,
        token=token,
    )
    match decision:
        case NotYet(check_at=check_at):
            update.update(stall=None, check_at=check_at)
        case Wait(stall=kept, check_at=check_at):
            update.update(stall=kept, check_at=check_at)
        case Climb(stall=climbed, rung=rung, check_at=check_at):
            update.update(stall=climbed, check_at=check_at)
            effects += rung_effects(record, rung, climbed.waits_on)
            if rung is Rung.REMINDER and climbed.waits_on is WaitsOn.CUSTOMER:
                update["last_reminder_at"] = now
            audit.append(
                _audit(
                    record,
                    "stall_rung",
                    now,
                    {"rung": str(int(rung)), "waits_on": climbed.waits_on.value},
                )
            )
    if queued is not None:
        # Look again when the queued nudge is due, if that comes first.
        check = update.get("check_at")
        if not isinstance(check, datetime) or queued.at < check:
            update["check_at"] = queued.at
    new = record.model_copy(update=update)
    if new == record:
        return None
    return Change(new, effects, audit, touch_activity=False)


def forget_step(record: TenantRecord, now: datetime, retention: timedelta) -> Change | None:
    """The retention write for one tenant (pure): a tenant live for longer than `retention`
    loses its document metadata (file ids, names, hashes, uploaders, reviewers) and the call
    script's file reference; the verdicts' outcome (`qualification_approved`) stays. None when
    there is nothing to forget (yet)."""
    if record.step is not Step.LIVE or not holds_files(record):
        return None
    went_live = record.live_at or record.updated_at
    if now - went_live <= retention:
        return None
    script = record.onboarding.script
    onboarding = record.onboarding.model_copy(
        update={
            "documents": {},
            "script": (
                script.model_copy(update={"file_id": None, "file_name": None}) if script else None
            ),
        }
    )
    entry = _audit(
        record,
        "documents_forgotten",
        now,
        {
            "documents": str(len(record.onboarding.documents)),
            "files": str(len(record_files(record))),
        },
    )
    return Change(record.model_copy(update={"onboarding": onboarding}), (), [entry], False)


def _audit(record: TenantRecord, event: str, now: datetime, detail: dict[str, str]) -> AuditEntry:
    return AuditEntry(
        actor=SWEEPER,
        event=event,
        when=now,
        from_step=record.step,
        to_step=record.step,
        detail=detail,
    )


@dataclass
class StallSweeper:
    """Runs the sweep; `run_once` is one pass (the loop calls it every `SWEEP_EVERY`)."""

    store: RedisTenantStore
    leases: Leases
    policy: StallPolicy
    clock: Callable[[], datetime]
    interval: timedelta
    owner: str = field(default_factory=process_owner)
    retention: timedelta | None = None  # None: documents are kept
    forget_files: ForgetFiles | None = None
    reconcile_every: timedelta | None = RECONCILE_EVERY  # None: never (measurements)

    async def run_once(self) -> SweepReport:
        report = SweepReport()
        ttl = max(2 * self.interval, timedelta(seconds=60))
        grant = await self.leases.acquire(LEASE, self.owner, ttl)
        if grant is None:
            report.held = False  # another replica sweeps
            return report
        if await self.store.seed_stall_checks():
            log.info("stalled sweep: every onboarding in progress is scheduled for a check")
        looked: set[str] = set()
        while True:
            now = self.clock()
            due = [t for t in await self.store.due_for_check(now, BATCH) if t not in looked]
            if not due:
                break
            if not await self.leases.is_current(grant):
                log.warning("stalled sweep lost its lease; stopping this pass")
                report.held = False
                break
            looked.update(due)
            report.looked_at += len(due)
            await self._sweep_many(due, now, grant, report)
        if report.held and self.retention is not None:
            await self._forget_documents(self.retention, grant, report)
        if report.held and await self.leases.is_current(grant):
            report.reconciled = await self._reconcile()
        return report

    async def _reconcile(self) -> IndexReport | None:
        """Rebuild the global indexes from the records, at most every `reconcile_every`: they
        are written after each tenant's transaction (another cluster slot), and a replica that
        died in between left them behind. Under the lease, so one replica does it."""
        now = self.clock()
        if self.reconcile_every is None:
            return None
        if not await self.store.reconcile_due(now, self.reconcile_every):
            return None
        try:
            found = await self.store.rebuild_indexes()
        except Exception:
            log.exception("sweep: rebuilding the indexes failed; trying again at the next pass")
            return None
        if found.corrupt or found.orphans_removed or found.stale_channels_removed:
            log.warning(
                "sweep: indexes rebuilt (%d tenants, %d unreadable, %d orphans, %d stale channels)",
                found.tenants,
                len(found.corrupt),
                len(found.orphans_removed),
                found.stale_channels_removed,
            )
        return found

    async def _forget_documents(
        self, retention: timedelta, grant: LeaseGrant, report: SweepReport
    ) -> None:
        """Forget the documents of every tenant live for longer than `retention`; the index
        names only live tenants that still hold some, so this reads nothing else."""
        if await self.store.seed_retention():
            log.info("sweep: every live tenant is scheduled for document retention")
        looked: set[str] = set()
        while True:
            now = self.clock()
            due = [
                t
                for t in await self.store.due_for_forgetting(now - retention, BATCH)
                if t not in looked
            ]
            if not due:
                return
            if not await self.leases.is_current(grant):
                log.warning("sweep lost its lease; documents are forgotten at the next pass")
                report.held = False
                return
            looked.update(due)
            gate = asyncio.Semaphore(CONCURRENCY)
            await asyncio.gather(
                *(self._gated(gate, self._forget_one(t, now, retention, report)) for t in due)
            )

    @staticmethod
    async def _gated(gate: asyncio.Semaphore, work: Awaitable[None]) -> None:
        async with gate:
            await work

    async def _forget_one(
        self, tenant_id: str, now: datetime, retention: timedelta, report: SweepReport
    ) -> None:
        files: list[tuple[SlackFile, ...]] = []

        def step(record: TenantRecord) -> Change | None:
            change = forget_step(record, now, retention)
            files[:] = [record_files(record)] if change is not None else []
            return change

        try:
            result = await self.store.update(tenant_id, step)
        except TenantNotFound:
            await self.store.forget_retention(tenant_id)
            return
        except (CorruptRecord, UnknownSchemaVersion) as exc:
            # Out of the index until a repair (`rebuild_indexes` puts it back).
            log.error("sweep cannot forget the documents of an unreadable tenant: %s", exc)
            await self.store.forget_retention(tenant_id)
            return
        except Contention:
            log.info("sweep: %s is busy; its documents are forgotten at the next pass", tenant_id)
            return
        if not result.changed:
            await self.store.sync_retention(result.record)
            return
        report.forgotten.append(tenant_id)
        log.info("sweep forgot the documents of %s (live for over %s)", tenant_id, retention)
        if files and files[0] and self.forget_files is not None:
            await self.forget_files(tenant_id, files[0])

    async def _sweep_many(
        self, due: list[str], now: datetime, grant: LeaseGrant, report: SweepReport
    ) -> None:
        """Each tenant is its own compare-and-set on its own keys: they do not contend, so a
        bounded number at once turns many round trips' waits into one."""
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(tenant_id: str) -> None:
            async with gate:
                await self._sweep_one(tenant_id, now, grant, report)

        await asyncio.gather(*(one(tenant_id) for tenant_id in due))

    async def _sweep_one(
        self, tenant_id: str, now: datetime, grant: LeaseGrant, report: SweepReport
    ) -> None:
        written: list[Change] = []

        def step(record: TenantRecord) -> Change | None:
            change = stall_step(record, now, self.policy, grant.token)
            written[:] = [change] if change is not None else []
            return change

        try:
            result = await self.store.update(tenant_id, step)
        except TenantNotFound:
            await self.store.forget_check(tenant_id)  # purged meanwhile
            return
        except (CorruptRecord, UnknownSchemaVersion) as exc:
            log.error("stalled sweep skips an unreadable tenant: %s", exc)
            await self.store.postpone_check(tenant_id, now + timedelta(hours=1))
            return
        except Contention:
            log.info("stalled sweep: %s is busy; it stays due for the next pass", tenant_id)
            return
        if not result.changed:
            await self.store.sync_check(result.record)  # it was due: now it is not
            return
        if written:
            if written[0].effects:
                report.changed.append(tenant_id)
            for entry in written[0].audit:
                if entry.event == "stall_rung":
                    report.rungs += 1
                elif entry.event == "nudge_posted":
                    report.nudges += 1

    async def run_until(
        self,
        stop: asyncio.Event,
        after: Callable[[SweepReport], Awaitable[None]] | None = None,
        on_error: Callable[[str, Exception], None] | None = None,
    ) -> None:
        """Sweep every `interval` until `stop` is set; `after` runs after each pass that held
        the lease (the weekly digest). A failed pass never stops the loop."""
        while not stop.is_set():
            try:
                report = await self.run_once()
                if report.rungs or report.nudges or report.forgotten:
                    log.info(
                        "stalled sweep: %s looked at, %s rungs, %s nudges, %s forgotten",
                        report.looked_at,
                        report.rungs,
                        report.nudges,
                        len(report.forgotten),
                    )
                if report.held and after is not None:
                    await after(report)
            except Exception as exc:
                if on_error is not None:
                    on_error("stalled sweep failed", exc)
                else:
                    log.exception("stalled sweep failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval.total_seconds())
