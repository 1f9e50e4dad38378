"""When an onboarding is stalled, who it waits on, and the escalation ladder, as data. Pure.

An onboarding is stalled when its current step has had no progress (a change of its state,
never a message of ours) for longer than that step's threshold, in business time. A stall climbs
a ladder of three rungs, each once, `escalate_every` of business time apart:

1. a reminder: to the customer when they are the ones to act (in their channel, never in quiet
   hours, at most once a business day); to the owning SE when we are (the customer is never
   nagged for our delay);
2. a direct message to the owning SE (or the ops channel) with *Nudge now* and *Snooze 1 day*;
3. a notice to the managers, and the tenant is in the next digest.

`decide` says what the sweep does with one tenant now; the sweep records the rung in the
tenant's record in the same write as its effects, so a rung can never be carried out twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from bot.flows.engine import rejected_documents
from bot.flows.machine import WAITING_STAGES, leaf
from bot.flows.model import Onboarding, Step
from bot.stalls.calendar import BusinessCalendar


class WaitsOn(StrEnum):
    """Who has to act for the onboarding to move."""

    CUSTOMER = "customer"  # documents to upload, a form, a confirmation
    US = "us"  # a review, a ticket stage, a gate only an SE can open


class Rung(IntEnum):
    REMINDER = 1
    SE = 2
    MANAGERS = 3


LAST_RUNG = Rung.MANAGERS


class RungMark(BaseModel):
    """A rung reached: when, and the sweep's fencing token that recorded it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rung: Rung
    at: AwareDatetime
    token: int = Field(ge=0)


class StallState(BaseModel):
    """One stall of one tenant, kept in its record until progress ends it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    since: AwareDatetime  # the last progress: what "stalled for" counts from
    noticed_at: AwareDatetime  # when the sweep found it stalled
    step: Step
    waits_on: WaitsOn
    rungs: tuple[RungMark, ...] = ()
    snoozed_until: AwareDatetime | None = None
    snoozed_by: str | None = None

    @property
    def reached(self) -> Rung | None:
        return self.rungs[-1].rung if self.rungs else None

    def at(self, rung: Rung) -> datetime | None:
        return next((mark.at for mark in self.rungs if mark.rung is rung), None)


def waits_on(onboarding: Onboarding) -> WaitsOn:
    """Whose move it is. While the documents are reviewed, a rejected one makes it the
    customer's (they must replace it); a review, a script review or a ticket stage is ours."""
    stage = leaf(onboarding.state)
    if stage == "qualification.review" and rejected_documents(onboarding):
        return WaitsOn.CUSTOMER
    if stage in WAITING_STAGES:
        return WaitsOn.US
    # Gates only an SE can open: buying without step 4 passed, SDK work before the console.
    if stage == "numbers.purchase" and not onboarding.qualification_approved:
        return WaitsOn.US
    if stage == Step.SDK.value and not onboarding.console_done:
        return WaitsOn.US
    return WaitsOn.CUSTOMER


@dataclass(frozen=True)
class StallPolicy:
    """Thresholds per step, the time between rungs, and the business calendar."""

    stalled_after: timedelta = timedelta(days=2)
    per_step: Mapping[Step, timedelta] = field(default_factory=dict)
    escalate_every: timedelta = timedelta(days=1)
    calendar: BusinessCalendar = field(default_factory=BusinessCalendar)
    snooze: timedelta = timedelta(days=1)

    def threshold(self, step: Step) -> timedelta:
        return self.per_step.get(step, self.stalled_after)

    def stalls_at(self, last_progress: datetime, step: Step) -> datetime | None:
        """When an onboarding at `step` with no progress since then becomes stalled (never for
        a live one)."""
        if step is Step.LIVE:
            return None
        return self.calendar.add(last_progress, self.threshold(step))

    def stalled_for(self, last_progress: datetime, now: datetime) -> timedelta:
        return self.calendar.elapsed(last_progress, now)


# -- what the sweep does with one tenant ----------------------------------------------------------


@dataclass(frozen=True)
class NotYet:
    """Not stalled (or no longer): look again at `check_at` (None: never, it is live)."""

    check_at: datetime | None


@dataclass(frozen=True)
class Climb:
    """Reach `rung` now; then look again at `check_at` (None after the last rung)."""

    stall: StallState
    rung: Rung
    check_at: datetime | None


@dataclass(frozen=True)
class Wait:
    """Stalled, and the next rung is not due yet (or is held back): look again at `check_at`."""

    stall: StallState
    check_at: datetime | None


Decision = NotYet | Climb | Wait


def decide(
    *,
    onboarding: Onboarding,
    last_progress: datetime,
    stall: StallState | None,
    last_customer_reminder: datetime | None,
    now: datetime,
    policy: StallPolicy,
    token: int,
) -> Decision:
    """What to do with one tenant at `now`. Pure: the sweep writes what it says, atomically."""
    step = onboarding.step
    due = policy.stalls_at(last_progress, step)
    if due is None:
        return NotYet(check_at=None)
    if stall is not None and (stall.since != last_progress or stall.step is not step):
        stall = None  # progress since: that stall is over (the flow clears it too)
    if stall is None:
        if now < due:
            return NotYet(check_at=due)
        stall = StallState(
            since=last_progress, noticed_at=now, step=step, waits_on=waits_on(onboarding)
        )
    else:
        # Who it waits on can change without progress (a rejected document in a review).
        stall = stall.model_copy(update={"waits_on": waits_on(onboarding)})
    reached = stall.reached
    if reached == LAST_RUNG:
        return Wait(stall=stall, check_at=None)
    if stall.snoozed_until is not None and now < stall.snoozed_until:
        return Wait(stall=stall, check_at=stall.snoozed_until)
    rung = Rung(1) if reached is None else Rung(reached + 1)
    if reached is not None:
        previous = stall.at(reached)
        assert previous is not None
        next_at = policy.calendar.add(previous, policy.escalate_every)
        if now < next_at:
            return Wait(stall=stall, check_at=next_at)
    if rung is Rung.REMINDER and stall.waits_on is WaitsOn.CUSTOMER:
        slot = policy.calendar.customer_slot(now, last_customer_reminder)
        if now < slot:
            return Wait(stall=stall, check_at=slot)
    climbed = stall.model_copy(
        update={"rungs": (*stall.rungs, RungMark(rung=rung, at=now, token=token))}
    )
    check_at = None if rung is LAST_RUNG else policy.calendar.add(now, policy.escalate_every)
    return Climb(stall=climbed, rung=rung, check_at=check_at)
