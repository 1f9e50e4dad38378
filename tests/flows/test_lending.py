"""`apply` runs each event on a chart lent again and again (`machine.resumed`); it must answer
exactly as a chart built for that one event (`machine.restore`) does.

The stateful test drives three tenants at once, in random order, so the one lent chart keeps
moving between records at different steps, with random actors and right and wrong arguments.
After every event the record `apply` returns equals the one a new chart leaves, or both refuse
with the same error. Effects and the audit entry are computed from the record before and after,
so equal records mean equal outcomes.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule
from statemachine.exceptions import TransitionNotAllowed

from bot.flows.catalogue import CHECKLISTS
from bot.flows.engine import (
    ConfirmAccount,
    ConfirmRealName,
    ConfirmSdk,
    FlowEvent,
    OverrideStep,
    SubmitDocuments,
    apply,
    available_events,
    parse_event,
)
from bot.flows.errors import EventNotAllowed, FlowError, MissingDocuments
from bot.flows.machine import allowed_event_names, canonical, restore, resumed
from bot.flows.model import Actor, Onboarding, Step
from tests.flows.builders import CUSTOMER, NOW, SE, Driver
from tests.flows.test_properties import ACTORS, ALL_EVENTS, _arguments, _next_move


def on_a_new_chart(ob: Onboarding, event: FlowEvent, actor: Actor) -> Onboarding | FlowError:
    """What the chart does with `event`, built for it alone: the record after, or the refusal."""
    work = ob.model_copy(deep=True)
    try:
        if event.name not in allowed_event_names(ob.state):
            raise EventNotAllowed(event.name, ob.state)
        restore(work).send(event.name, actor=actor, now=NOW, **event.arguments())
    except TransitionNotAllowed:
        return EventNotAllowed(event.name, ob.state)
    except FlowError as err:
        return err
    work.state = canonical(work.state)
    return work


def on_a_lent_chart(ob: Onboarding, event: FlowEvent, actor: Actor) -> Onboarding | FlowError:
    try:
        return apply(ob, event, actor, NOW).onboarding
    except FlowError as err:
        return err


def assert_same(lent: Onboarding | FlowError, new: Onboarding | FlowError) -> None:
    if isinstance(new, FlowError):
        assert isinstance(lent, FlowError), f"lent chart took what a new one refused: {new}"
        assert type(lent) is type(new)
        assert str(lent) == str(new)
        assert lent.message == new.message
    else:
        assert not isinstance(lent, FlowError), f"lent chart refused: {lent!r}"
        assert lent == new


class Tenants(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.records = [Onboarding(), Onboarding(), Onboarding()]

    def _send(self, index: int, event: FlowEvent, actor: Actor) -> None:
        ob = self.records[index]
        new = on_a_new_chart(ob, event, actor)
        lent = on_a_lent_chart(ob, event, actor)
        assert_same(lent, new)
        if isinstance(lent, Onboarding):
            self.records[index] = lent

    @rule(data=st.data(), index=st.integers(0, 2))
    def act(self, data: st.DataObject, index: int) -> None:
        """A random actor sends an offered or any chart event, with right or wrong values."""
        ob = self.records[index]
        actor: Actor = data.draw(st.sampled_from(ACTORS))
        offered = [n for n in available_events(ob, actor.role) if n != "override_step"]
        if offered and data.draw(st.integers(0, 9)) < 8:
            name = data.draw(st.sampled_from(offered))
        else:
            name = data.draw(st.sampled_from([n for n in ALL_EVENTS if n != "override_step"]))
        self._send(index, parse_event({"name": name, **_arguments(name, ob, data.draw)}), actor)

    @rule(data=st.data(), index=st.integers(0, 2))
    def progress(self, data: st.DataObject, index: int) -> None:
        """The helpful next move, so runs reach the later steps and `live`."""
        move = _next_move(self.records[index], data.draw)
        if move is not None:
            self._send(index, *move)

    @rule(index=st.integers(0, 2), step=st.sampled_from(Step.ordered()))
    def override(self, index: int, step: Step) -> None:
        """An SE moves a tenant (no chart involved), so tenants sit at any step."""
        event = OverrideStep(step=step, reason="x")
        self.records[index] = apply(self.records[index], event, SE, NOW).onboarding


TestLentChartAgreesWithNewChart = Tenants.TestCase
TestLentChartAgreesWithNewChart.settings = settings(
    max_examples=80,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_a_chart_is_lent_again_after_a_clean_event_but_not_after_a_refusal() -> None:
    a, b = Onboarding(), Onboarding()
    with resumed(a) as first:
        first.send("confirm_account", actor=CUSTOMER, uin=None)
    with resumed(b) as second:
        assert second is first
        assert list(second.configuration_values) == ["account"]  # b's state, not a's
    with pytest.raises(TransitionNotAllowed), resumed(Onboarding()) as refused:
        assert refused is first
        refused.send("confirm_real_name", actor=CUSTOMER)  # step 1 is not done
    with resumed(Onboarding()) as after:
        assert after is not first


def test_a_refused_event_leaves_the_next_tenant_unaffected() -> None:
    d = Driver().through_instance()
    d.send(parse_event({"name": "choose_role", "role": "agent"}))
    with pytest.raises(MissingDocuments):
        d.send(SubmitDocuments())  # nothing uploaded yet
    assert Driver().send(ConfirmAccount()).onboarding.state == ["real_name"]


def test_a_chart_that_went_live_is_not_lent_again() -> None:
    d = Driver()
    d.send(OverrideStep(step=Step.SDK, reason="x"), SE)
    d.onboarding = d.onboarding.model_copy(update={"console_done": True})
    items = frozenset(CHECKLISTS[Step.SDK])
    with resumed(d.onboarding.model_copy(deep=True)) as chart:
        chart.send("confirm_sdk", actor=CUSTOMER, items=items)
        assert chart.is_terminated  # the engine stopped: it would refuse every later event
    with resumed(Onboarding()) as next_chart:
        assert next_chart is not chart
        assert not next_chart.is_terminated
    assert d.send(ConfirmSdk(items=items)).onboarding.state == ["live"]
    assert Driver().send(ConfirmAccount()).onboarding.state == ["real_name"]


def test_an_idle_chart_keeps_no_tenant_record() -> None:
    ob = Onboarding(account_uin="100012345678")
    with resumed(ob) as chart:
        assert chart.model.onboarding is ob
    assert chart.model.onboarding is not ob
    assert chart.model.onboarding == Onboarding()


def test_threads_applying_at_once_get_what_one_thread_gets() -> None:
    def journey(_: int) -> list[list[str]]:
        d = Driver()
        states = []
        for event in (ConfirmAccount(uin="100012345678"), ConfirmRealName()):
            states.append(d.send(event).onboarding.state)
        d.send(OverrideStep(step=Step.QUALIFICATION, reason="x"), SE)
        d.send(parse_event({"name": "choose_role", "role": "legal_rep"}))
        states.append(d.state)
        return states

    alone = journey(0)
    barrier = threading.Barrier(4)

    def together(i: int) -> list[list[list[str]]]:
        barrier.wait()
        return [journey(i) for _ in range(100)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        for runs in pool.map(together, range(4)):
            assert all(run == alone for run in runs)
