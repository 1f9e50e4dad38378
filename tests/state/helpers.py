"""Small builders shared by the state tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.flows.effects import Effect, NotifyOps
from bot.flows.model import Actor, ActorRole, Step
from bot.state.records import AuditEntry, TenantRecord
from bot.state.store import Change

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)
SE = Actor(user_id="U0SE", role=ActorRole.SE)


class FakeClock:
    """A clock the test moves by hand, so staleness is tested without sleeping."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now


def make_record(tenant_id: str = "acme-x1y2", channel_id: str = "C0ACME") -> TenantRecord:
    return TenantRecord.new(
        tenant_id=tenant_id,
        company="Acme 有限公司",
        channel_id=channel_id,
        created_by="U0CUSTOMER",
    )


def at_step(record: TenantRecord, step: Step) -> TenantRecord:
    onboarding = record.onboarding.model_copy(update={"state": [step.value]})
    return record.model_copy(update={"onboarding": onboarding})


def advance_to(step: Step, *effects: Effect) -> Callable[[TenantRecord], Change]:
    """An `apply` that moves the tenant to `step`, audits it, and asks for `effects`."""

    def apply(record: TenantRecord) -> Change:
        entry = AuditEntry(actor=SE, event="advance", from_step=record.step, to_step=step)
        return Change(at_step(record, step), effects=list(effects), audit=[entry])

    return apply


def note(text: str) -> Effect:
    return NotifyOps(message="ops.note", params={"text": text})
