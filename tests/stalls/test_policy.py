"""The stall rules as data: when an onboarding is stalled, who it waits on, and the ladder."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.flows.engine import AddDocument, ChooseRole, RejectDocument, SubmitDocuments
from bot.flows.model import DocKind, Onboarding, Role, Step
from bot.stalls.calendar import BusinessCalendar
from bot.stalls.policy import (
    Climb,
    NotYet,
    Rung,
    RungMark,
    StallPolicy,
    StallState,
    Wait,
    WaitsOn,
    decide,
    waits_on,
)
from tests.flows.builders import SE, Driver, document

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = StallPolicy(
    stalled_after=timedelta(days=2),
    per_step={Step.QUALIFICATION: timedelta(days=5)},
    escalate_every=timedelta(days=1),
    calendar=BusinessCalendar(quiet=(time(21), time(9))),
)


def at(day: int, hour: int = 0) -> datetime:
    """2026-12-{day} at {hour}:00 in Shanghai (the 4th is a Friday)."""
    return datetime(2026, 12, day, hour, tzinfo=SHANGHAI).astimezone(UTC)


def ladder(onboarding: Onboarding, since: datetime, until: datetime) -> list[tuple[Rung, datetime]]:
    """Run the sweep's decision hour by hour from `since` to `until`; the rungs reached."""
    stall: StallState | None = None
    reminded: datetime | None = None
    reached: list[tuple[Rung, datetime]] = []
    now = since
    while now <= until:
        decision = decide(
            onboarding=onboarding,
            last_progress=since,
            stall=stall,
            last_customer_reminder=reminded,
            now=now,
            policy=POLICY,
            token=1,
        )
        if isinstance(decision, Climb):
            reached.append((decision.rung, now))
            if decision.rung is Rung.REMINDER and decision.stall.waits_on is WaitsOn.CUSTOMER:
                reminded = now
        if isinstance(decision, Climb | Wait):
            stall = decision.stall
        now += timedelta(hours=1)
    return reached


def test_each_rung_once_in_order_a_business_day_apart_skipping_the_weekend_and_quiet_hours() -> (
    None
):
    # No progress since Wednesday 12:00 at step 1: stalled two business days later (Friday
    # 12:00): the reminder then; the SE on Monday 12:00; the managers on Tuesday 12:00.
    rungs = ladder(Onboarding(), at(2, 12), at(14))
    assert rungs == [(Rung.REMINDER, at(4, 12)), (Rung.SE, at(7, 12)), (Rung.MANAGERS, at(8, 12))]


def test_a_customer_reminder_due_in_quiet_hours_waits_for_the_morning() -> None:
    # Stalled at Friday 22:00 (quiet): the reminder waits for Monday 09:00, the next slot.
    rungs = ladder(Onboarding(), at(2, 22), at(14))
    assert rungs[0] == (Rung.REMINDER, at(7, 9))
    assert [r for r, _ in rungs] == [Rung.REMINDER, Rung.SE, Rung.MANAGERS]


def test_a_step_with_its_own_threshold() -> None:
    d = Driver().through_instance()  # step 4: five business days
    rungs = ladder(d.onboarding, at(2, 12), at(20))
    assert rungs[0] == (Rung.REMINDER, at(9, 12))  # Wed + 5 business days = next Wed


def test_waiting_on_us_goes_to_the_se_not_the_customer() -> None:
    d = Driver().through_instance()
    d.send(ChooseRole(role=Role.LEGAL_REP))
    d.upload_all(Role.LEGAL_REP)
    d.send(SubmitDocuments())
    assert waits_on(d.onboarding) is WaitsOn.US  # the review is ours
    decision = decide(
        onboarding=d.onboarding,
        last_progress=at(1, 10),
        stall=None,
        last_customer_reminder=None,
        now=at(9, 3),  # quiet hours: they hold back customer reminders only
        policy=POLICY,
        token=1,
    )
    assert isinstance(decision, Climb) and decision.rung is Rung.REMINDER
    assert decision.stall.waits_on is WaitsOn.US
    # A rejected document in the review makes it the customer's move again.
    d.send(RejectDocument(kind=DocKind.BUSINESS_LICENSE, revision=1, reason="盖章"), SE)
    assert waits_on(d.onboarding) is WaitsOn.CUSTOMER
    d.send(AddDocument(document=document(DocKind.BUSINESS_LICENSE, "F0002")))
    assert waits_on(d.onboarding) is WaitsOn.US


def test_not_stalled_yet_says_when_to_look_again_and_live_never() -> None:
    decision = decide(
        onboarding=Onboarding(),
        last_progress=at(4, 10),
        stall=None,
        last_customer_reminder=None,
        now=at(5, 10),
        policy=POLICY,
        token=1,
    )
    assert decision == NotYet(check_at=at(8, 10))
    live = Driver().through_qualification().buy().finish().onboarding
    assert live.step is Step.LIVE
    assert decide(
        onboarding=live,
        last_progress=at(1),
        stall=None,
        last_customer_reminder=None,
        now=at(20),
        policy=POLICY,
        token=1,
    ) == NotYet(check_at=None)


def test_a_snooze_holds_the_ladder_and_after_the_last_rung_nothing_is_due() -> None:
    stall = StallState(
        since=at(2, 12), noticed_at=at(4, 12), step=Step.ACCOUNT, waits_on=WaitsOn.CUSTOMER
    )
    first = decide(
        onboarding=Onboarding(),
        last_progress=at(2, 12),
        stall=stall,
        last_customer_reminder=None,
        now=at(4, 12),
        policy=POLICY,
        token=1,
    )
    assert isinstance(first, Climb)
    snoozed = first.stall.model_copy(update={"snoozed_until": at(9, 12)})
    held = decide(
        onboarding=Onboarding(),
        last_progress=at(2, 12),
        stall=snoozed,
        last_customer_reminder=at(4, 12),
        now=at(7, 12),  # the SE rung would be due now, but the stall is snoozed
        policy=POLICY,
        token=1,
    )
    assert held == Wait(stall=snoozed, check_at=at(9, 12))
    done = snoozed.model_copy(
        update={
            "rungs": tuple(
                RungMark(rung=rung, at=at(day, 12), token=1)
                for rung, day in ((Rung.REMINDER, 4), (Rung.SE, 9), (Rung.MANAGERS, 10))
            )
        }
    )
    final = decide(
        onboarding=Onboarding(),
        last_progress=at(2, 12),
        stall=done,
        last_customer_reminder=None,
        now=at(20),
        policy=POLICY,
        token=1,
    )
    assert isinstance(final, Wait) and final.check_at is None


def test_progress_ends_a_stall() -> None:
    old = StallState(
        since=at(1, 9), noticed_at=at(3, 9), step=Step.ACCOUNT, waits_on=WaitsOn.CUSTOMER
    )
    decision = decide(
        onboarding=Onboarding(),
        last_progress=at(4, 9),  # progress after the stall began
        stall=old,
        last_customer_reminder=None,
        now=at(4, 10),
        policy=POLICY,
        token=1,
    )
    assert isinstance(decision, NotYet)  # a new stall would start the ladder again
