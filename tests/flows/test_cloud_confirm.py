"""`confirm_by_cloud`: what the TCCC cloud API shows done moves the tenant on, from wherever in
the step it is; only the system sends it, and only about the step the tenant is at."""

from __future__ import annotations

import pytest

from bot.flows.engine import (
    ChooseNumberPath,
    ChooseRole,
    ConfirmAccount,
    ConfirmByCloud,
    ConfirmRealName,
    SubmitDocuments,
    SubmitSipRequest,
    apply,
    step_done,
)
from bot.flows.errors import EventNotAllowed, InvalidValue, NotPermitted
from bot.flows.model import Actor, NumberPath, Role, Step
from tests.flows.builders import CUSTOMER, NOW, SE, SIP_REQUEST, SYSTEM, Driver

SDK_APP_ID = 1400000001


def at_instance() -> Driver:
    d = Driver()
    d.send(ConfirmAccount(uin="100012345678"))
    d.send(ConfirmRealName())
    return d


def test_an_instance_the_api_shows_completes_step_3_and_records_its_sdk_app_id() -> None:
    d = at_instance()
    out = d.send(ConfirmByCloud(step=Step.INSTANCE, sdk_app_id=SDK_APP_ID), SYSTEM)
    assert out.to_step is Step.QUALIFICATION
    assert out.onboarding.sdk_app_id == SDK_APP_ID
    assert step_done(out.onboarding, Step.INSTANCE)
    assert out.audit.actor_role.value == "system"
    notices = [
        e for e in out.effects if getattr(e, "message", "") == "flow.notify.confirmed_by_cloud"
    ]
    assert len(notices) == 1
    assert any(type(e).__name__ == "PostStepPrompt" for e in out.effects)


def test_step_3_needs_the_instance_the_api_showed() -> None:
    with pytest.raises(InvalidValue):
        at_instance().send(ConfirmByCloud(step=Step.INSTANCE), SYSTEM)


@pytest.mark.parametrize("actor", [CUSTOMER, SE])
def test_nobody_but_the_system_sends_it(actor: Actor) -> None:
    with pytest.raises(NotPermitted):
        at_instance().send(ConfirmByCloud(step=Step.INSTANCE, sdk_app_id=SDK_APP_ID), actor)


def test_a_check_about_a_step_the_tenant_left_is_refused_and_changes_nothing() -> None:
    d = Driver().through_instance()
    before = d.onboarding.model_dump_json()
    with pytest.raises(EventNotAllowed):
        apply(d.onboarding, ConfirmByCloud(step=Step.INSTANCE, sdk_app_id=SDK_APP_ID), SYSTEM, NOW)
    assert d.onboarding.model_dump_json() == before


@pytest.mark.parametrize("stage", ["role", "collecting", "review"])
def test_tencent_approving_the_qualification_passes_step_4_from_any_stage(stage: str) -> None:
    d = Driver().through_instance()
    if stage != "role":
        d.send(ChooseRole(role=Role.LEGAL_REP))
        if stage == "review":
            d.upload_all(Role.LEGAL_REP)
            d.send(SubmitDocuments())
    assert d.onboarding.step is Step.QUALIFICATION
    out = d.send(ConfirmByCloud(step=Step.QUALIFICATION), SYSTEM)
    assert out.to_step is Step.NUMBERS
    assert out.onboarding.qualification_approved


def test_a_number_on_the_instance_passes_step_5_even_with_a_sip_ticket_open() -> None:
    d = Driver().through_qualification()
    d.send(ChooseNumberPath(path=NumberPath.SIP_TRUNK))
    d.send(SubmitSipRequest(ticket_id="T-1", request=SIP_REQUEST))
    assert d.state[-1] == "numbers.sip_ticket"
    out = d.send(ConfirmByCloud(step=Step.NUMBERS, number="075586013388"), SYSTEM)
    assert out.to_step is Step.CONSOLE
    assert step_done(out.onboarding, Step.NUMBERS)
    assert out.onboarding.purchased_number == "075586013388"


def test_steps_6_to_8_in_turn_reach_live() -> None:
    d = Driver().through_qualification().buy()
    for step in (Step.CONSOLE, Step.LOGIN, Step.SDK):
        out = d.send(ConfirmByCloud(step=step), SYSTEM)
        assert step_done(out.onboarding, step)
    assert d.onboarding.step is Step.LIVE
