"""Where do we stand: the figures of a summary, read from the indexes (never every record), and
the rows of the export (which does read every record, a page at a time).

Counting uses the indexes the store keeps with every write: tenants per step, the stalled ones
per step (scored by their last progress), the live ones (scored by when), the business time each
finished step took (a median per step by rank), and each SE's onboardings in progress. Only the
five longest stalls are read as records, for their names.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.flows.model import Step
from bot.stalls.policy import Rung, StallPolicy, waits_on
from bot.state import RedisTenantStore, TenantRecord

LONGEST = 5
EXPORT_PAGE = 500


@dataclass(frozen=True)
class Stalled:
    record: TenantRecord
    since: datetime


@dataclass(frozen=True)
class Summary:
    at: datetime
    per_step: dict[Step, int]
    stalled_per_step: dict[Step, int]
    longest: tuple[Stalled, ...]
    median_days: dict[Step, float | None]  # business days in each finished step
    live_this_week: int
    live_total: int
    per_owner: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.per_step.values())

    @property
    def in_progress(self) -> int:
        return self.total - self.per_step.get(Step.LIVE, 0)

    @property
    def stalled(self) -> int:
        return sum(self.stalled_per_step.values())

    @property
    def unowned(self) -> int:
        return max(0, self.in_progress - sum(self.per_owner.values()))


async def gather(
    store: RedisTenantStore, policy: StallPolicy, owners: Sequence[str], now: datetime
) -> Summary:
    figures = await store.figures(week_start=policy.calendar.week_start(now), owners=owners)
    longest = await store.stalled(limit=LONGEST)
    records = await store.get_many([t for t, _, _ in longest], skip_corrupt=True)
    day = timedelta(days=1).total_seconds()
    return Summary(
        at=now,
        per_step=figures.per_step,
        stalled_per_step=figures.stalled_per_step,
        longest=tuple(Stalled(records[t], since) for t, _step, since in longest if t in records),
        median_days={
            step: None if seconds is None else seconds / day
            for step, seconds in figures.median_seconds.items()
        },
        live_this_week=figures.live_this_week,
        live_total=figures.live_total,
        per_owner=figures.per_owner,
    )


@dataclass(frozen=True)
class Changes:
    """What changed since the last digest."""

    went_live: tuple[TenantRecord, ...]
    newly_stalled: tuple[TenantRecord, ...]
    escalated: tuple[TenantRecord, ...]  # stalls that reached the managers' rung since
    unstalled: tuple[TenantRecord, ...]


async def changes_since(store: RedisTenantStore, policy: StallPolicy, since: datetime) -> Changes:
    """Once a week, so it may read the stalled tenants' records (their rungs)."""
    live, unstalled = await store.changed_since(since)
    stalled = await store.stalled()
    # A stall is new if its threshold was crossed after `since` (the index keeps its start).
    newly = [
        tenant
        for tenant, step, progress in stalled
        if (became := policy.stalls_at(progress, step)) is not None and became > since
    ]
    records = await store.get_many(
        [*live, *(t for t, _, _ in stalled), *unstalled], skip_corrupt=True
    )
    escalated = [
        tenant
        for tenant, _, _ in stalled
        if tenant in records
        and (stall := records[tenant].stall) is not None
        and (reached := stall.at(Rung.MANAGERS)) is not None
        and reached > since
    ]

    def pick(ids: Sequence[str]) -> tuple[TenantRecord, ...]:
        return tuple(records[t] for t in ids if t in records)

    still_stalled = {t for t, _, _ in stalled}
    return Changes(
        went_live=pick(live),
        newly_stalled=pick(newly),
        escalated=pick(escalated),
        unstalled=pick([t for t in unstalled if t not in still_stalled]),
    )


# -- the export -----------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "company",
    "tenant_id",
    "step",
    "applicant_role",
    "number_path",
    "days_in_step",
    "stalled",
    "waits_on",
    "owner",
    "started",
    "last_activity",
    "live_date",
)


async def export_records(store: RedisTenantStore) -> AsyncIterator[TenantRecord]:
    """Every tenant's record, a page at a time, in tenant-id order."""
    ids = sorted(await store.all_tenant_ids())
    for start in range(0, len(ids), EXPORT_PAGE):
        page = await store.get_many(ids[start : start + EXPORT_PAGE], skip_corrupt=True)
        for tenant_id in ids[start : start + EXPORT_PAGE]:
            if tenant_id in page:
                yield page[tenant_id]


def _cell(value: str) -> str:
    """A value a spreadsheet shows as text: one starting like a formula (`=`, `+`, `-`, `@`)
    gets a leading apostrophe, so a company name cannot run in a manager's Excel."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def export_row(record: TenantRecord, policy: StallPolicy, now: datetime) -> list[str]:
    ob = record.onboarding
    began = record.step_since or record.last_activity_at
    live = record.step is Step.LIVE
    days = policy.calendar.elapsed(began, now).total_seconds() / 86400
    return [
        _cell(record.company),
        record.tenant_id,
        f"{record.step.number} {record.step.value}" if not live else "live",
        ob.role.value if ob.role else "",
        ob.number_path.value if ob.number_path else "",
        "" if live else f"{days:.1f}",
        "yes" if record.stall is not None else "no",
        "" if live else waits_on(ob).value,
        record.se_user or "",
        record.created_at.isoformat(timespec="minutes"),
        record.last_activity_at.isoformat(timespec="minutes"),
        record.live_at.isoformat(timespec="minutes") if record.live_at else "",
    ]


async def export_csv(store: RedisTenantStore, policy: StallPolicy, now: datetime) -> bytes:
    """All onboardings as CSV, UTF-8 with a byte-order mark so Excel reads Chinese names."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    async for record in export_records(store):
        writer.writerow(export_row(record, policy, now))
    return buffer.getvalue().encode("utf-8-sig")
