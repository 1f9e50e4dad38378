"""The chart itself: its settings, its stable state values, storing and restoring its state."""

from __future__ import annotations

from typing import Any

import pytest
from statemachine.orderedset import OrderedSet

from bot.flows.engine import EVENT_NAMES, ChooseNumberPath, ChooseRole, OverrideStep
from bot.flows.machine import (
    OnboardingChart,
    allowed_event_names,
    canonical,
    initial_configuration,
    restore,
)
from bot.flows.model import NumberPath, Onboarding, Role, Step
from bot.flows.record import ChartModel, from_chart_value, to_chart_value
from tests.flows.builders import SE, Driver


class EntrySpy:
    def __init__(self) -> None:
        self.entered: list[str] = []

    def on_enter_state(self, state: Any) -> None:
        self.entered.append(state.value)


def test_refusals_raise_instead_of_passing_silently() -> None:
    assert OnboardingChart.allow_event_without_transition is False
    assert OnboardingChart.catch_errors_as_events is False


def test_state_values_are_unique_and_nested_under_their_step() -> None:
    values = list(OnboardingChart.states_map)
    assert len(values) == len(set(values))
    top = [s.value for s in OnboardingChart.states]
    assert top == [step.value for step in Step]
    for value, state in OnboardingChart.states_map.items():
        if state.parent is not None:
            assert value.startswith(state.parent.value.split(".")[0] + ".")


def test_every_chart_event_has_a_typed_event_and_vice_versa() -> None:
    chart_events = {str(event.id) for event in restore(Onboarding()).events}
    assert chart_events == set(EVENT_NAMES) - {"override_step"}


def test_a_new_chart_starts_at_step_one() -> None:
    ob = Onboarding(state=[])
    OnboardingChart(model=ChartModel(ob))
    assert ob.state == ["account"]
    assert allowed_event_names(ob.state) == ["confirm_account"]


@pytest.mark.parametrize(
    "stored",
    [
        ["account"],
        ["qualification", "qualification.review"],
        ["numbers", "numbers.uncommitted", "numbers.purchase"],
        ["numbers", "numbers.sip_ticket"],
        ["live"],
    ],
)
def test_restoring_resumes_exactly_without_entering_initial_states(stored: list[str]) -> None:
    ob = Onboarding.model_validate_json(Onboarding(state=stored).model_dump_json())
    spy = EntrySpy()
    chart = OnboardingChart(model=ChartModel(ob), listeners=[spy])
    assert spy.entered == []
    assert list(chart.configuration_values) == stored
    assert ob.state == stored


def test_configuration_round_trips_between_list_and_chart_value() -> None:
    assert to_chart_value([]) is None
    assert to_chart_value(["sdk"]) == "sdk"
    nested = to_chart_value(["numbers", "numbers.uncommitted", "numbers.choose"])
    assert isinstance(nested, OrderedSet)
    assert from_chart_value(nested) == ["numbers", "numbers.uncommitted", "numbers.choose"]
    assert from_chart_value("live") == ["live"]
    assert from_chart_value(None) == []


def test_stored_state_after_a_nested_transition_is_outermost_first() -> None:
    d = Driver().through_qualification()
    d.send(ChooseNumberPath(path=NumberPath.TOLL_FREE_400))
    assert d.state == ["numbers", "numbers.uncommitted", "numbers.confirm_400"]
    assert canonical(list(reversed(d.state))) == d.state


def test_initial_configuration_descends_into_compound_steps() -> None:
    assert initial_configuration(Step.ACCOUNT) == ["account"]
    assert initial_configuration(Step.QUALIFICATION) == ["qualification", "qualification.role"]
    assert initial_configuration(Step.NUMBERS) == [
        "numbers",
        "numbers.uncommitted",
        "numbers.choose",
    ]


def test_restore_refuses_a_corrupt_record() -> None:
    with pytest.raises(ValueError, match="not a state"):
        restore(Onboarding(state=["qualification", "qualification.nowhere"]))
    with pytest.raises(ValueError, match="does not start with a step"):
        restore(Onboarding(state=["qualification.review"]))


def test_override_lands_on_a_configuration_the_chart_accepts() -> None:
    d = Driver()
    for step in Step.ordered():
        d.send(OverrideStep(step=step, reason="testing"), SE)
        chart = restore(d.onboarding.model_copy(deep=True))
        assert list(chart.configuration_values) == initial_configuration(step)
    d.send(OverrideStep(step=Step.QUALIFICATION, reason="testing"), SE)
    d.send(ChooseRole(role=Role.AGENT))
    assert d.state == ["qualification", "qualification.collecting"]
