"""The flow end to end through `apply`: every path, every gate, every refusal."""

from __future__ import annotations

import pytest

from bot.flows.catalogue import CHECKLISTS, ChecklistItem, documents_for
from bot.flows.effects import (
    NotifyCustomer,
    NotifyOps,
    OpenSipTicket,
    PostDocumentReview,
    PostScriptReview,
    PostStepPrompt,
    SipStageChanged,
    UpdateChecklist,
    UpdateDocumentReview,
    UpdateScriptReview,
)
from bot.flows.engine import (
    AddDocument,
    AdvanceSipStage,
    ApproveDocument,
    ApproveScript,
    BackToNumberChoice,
    ChooseNumberPath,
    ChooseRole,
    Confirm400InboundOnly,
    ConfirmAccount,
    ConfirmConsole,
    ConfirmLogin,
    ConfirmPurchase,
    ConfirmRealName,
    ConfirmSdk,
    CreateInstance,
    OverrideStep,
    RejectDocument,
    RejectScript,
    StepStatus,
    SubmitDocuments,
    SubmitScript,
    SubmitSipRequest,
    apply,
    available_events,
    checklist,
    missing_documents,
    next_action,
    parse_event,
)
from bot.flows.errors import (
    AlreadyApproved,
    AlreadyReviewed,
    DocumentNotRequired,
    EventNotAllowed,
    FlowError,
    GateNotPassed,
    IncompleteChecklist,
    InvalidValue,
    MissingDocuments,
    NotPermitted,
    RejectedNotReplaced,
    SipStageOutOfOrder,
    StaleRevision,
    SwitchDropsDocuments,
    UnknownDocument,
    UnknownTicket,
)
from bot.flows.model import (
    ActorRole,
    DocKind,
    NumberPath,
    Onboarding,
    Role,
    SipStage,
    Step,
    Verdict,
)
from tests.flows.builders import (
    CUSTOMER,
    MANAGER,
    NOW,
    SE,
    SIP_REQUEST,
    SYSTEM,
    Driver,
    document,
)

# -- steps 1-3 ----------------------------------------------------------------------------------


def test_steps_one_to_three_record_what_the_customer_gave() -> None:
    d = Driver().through_instance()
    ob = d.onboarding
    assert ob.state == ["qualification", "qualification.role"]
    assert ob.account_confirmed and ob.account_uin == "100012345678"
    assert ob.real_name_confirmed
    assert ob.instance is not None and ob.instance.admin_email == "admin@acme.example.cn"


@pytest.mark.parametrize("uin", ["12ab", "１２３４５６", "123"])
def test_account_uin_must_be_digits(uin: str) -> None:
    with pytest.raises(InvalidValue) as err:
        apply(Onboarding(), ConfirmAccount(uin=uin), CUSTOMER, NOW)
    assert err.value.key == "errors.invalid.uin"


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("call_center_name", {"call_center_name": "   "}),
        ("call_center_name", {"call_center_name": "x" * 61}),
        ("admin_name", {"admin_name": ""}),
        ("admin_email", {"admin_email": "not-an-email"}),
        ("admin_email", {"admin_email": "a@b"}),
        ("sla_agreed", {"sla_agreed": False}),
    ],
)
def test_instance_refuses_garbage(field: str, values: dict[str, object]) -> None:
    d = Driver()
    d.send(ConfirmAccount())
    d.send(ConfirmRealName())
    before = d.onboarding.model_copy(deep=True)
    good: dict[str, object] = {
        "call_center_name": "Acme",
        "admin_name": "Han",
        "admin_email": "han@acme.cn",
        "sla_agreed": True,
    }
    with pytest.raises(InvalidValue) as err:
        d.send(CreateInstance.model_validate(good | values))
    assert err.value.field == field
    assert d.onboarding == before and d.onboarding.step is Step.INSTANCE


# -- step 4 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_each_role_goes_all_the_way_to_live(role: Role) -> None:
    d = Driver().through_qualification(role).buy().finish()
    assert d.state == ["live"]
    assert d.onboarding.qualification_approved and d.onboarding.sdk_done
    assert all(status is StepStatus.DONE for _, status in checklist(d.onboarding))
    assert any(isinstance(e, NotifyOps) and e.message == "flow.ops.live" for e in d.last.effects)  # type: ignore[union-attr]


def test_documents_per_role_follow_the_source() -> None:
    assert documents_for(Role.AGENT) == (
        DocKind.BUSINESS_LICENSE,
        DocKind.LEGAL_REP_ID,
        DocKind.AGENT_ID,
        DocKind.AGENT_HOLDING_ID,
        DocKind.PHONE_ACCEPTANCE_FORM,
        DocKind.NETWORK_ACCESS_COMMITMENT,
        DocKind.AUTHORIZATION_LETTER,
    )
    # The legal representative's ID is listed twice in the source; it is asked for once.
    assert documents_for(Role.LEGAL_REP) == (
        DocKind.BUSINESS_LICENSE,
        DocKind.LEGAL_REP_ID,
        DocKind.LEGAL_REP_HOLDING_ID,
        DocKind.PHONE_ACCEPTANCE_FORM,
        DocKind.NETWORK_ACCESS_COMMITMENT,
    )


def test_changing_role_asks_before_removing_documents_and_names_them() -> None:
    d = Driver().through_instance()
    d.send(ChooseRole(role=Role.AGENT))
    d.upload_all(Role.AGENT)
    before = d.onboarding
    with pytest.raises(SwitchDropsDocuments) as err:
        d.send(ChooseRole(role=Role.LEGAL_REP))
    assert set(err.value.kinds) == {
        DocKind.AGENT_ID,
        DocKind.AGENT_HOLDING_ID,
        DocKind.AUTHORIZATION_LETTER,
    }
    assert d.onboarding == before  # nothing switched, nothing removed
    # Agreeing to remove only some of them is not enough.
    with pytest.raises(SwitchDropsDocuments):
        d.send(ChooseRole(role=Role.LEGAL_REP, drop=frozenset({DocKind.AGENT_ID})))
    assert d.onboarding == before


def test_a_switch_that_removes_nothing_needs_no_confirmation() -> None:
    d = Driver().through_instance()
    d.send(ChooseRole(role=Role.AGENT))
    for kind in (DocKind.BUSINESS_LICENSE, DocKind.LEGAL_REP_ID):
        d.send(AddDocument(document=document(kind)))
    d.send(ChooseRole(role=Role.LEGAL_REP))
    d.send(ChooseRole(role=Role.AGENT))
    assert set(d.onboarding.documents) == {DocKind.BUSINESS_LICENSE, DocKind.LEGAL_REP_ID}


def test_changing_role_keeps_shared_documents_and_drops_the_rest() -> None:
    d = Driver().through_instance()
    d.send(ChooseRole(role=Role.AGENT))
    d.upload_all(Role.AGENT)
    dropped = "agent_id,agent_holding_id,authorization_letter"  # as a button carries it
    d.send(parse_event({"name": "choose_role", "role": "legal_rep", "drop": dropped}))
    assert d.onboarding.role is Role.LEGAL_REP
    assert set(d.onboarding.documents) == {
        DocKind.BUSINESS_LICENSE,
        DocKind.LEGAL_REP_ID,
        DocKind.PHONE_ACCEPTANCE_FORM,
        DocKind.NETWORK_ACCESS_COMMITMENT,
    }
    assert missing_documents(d.onboarding) == (DocKind.LEGAL_REP_HOLDING_ID,)
    assert next_action(d.onboarding).key == "next.upload_documents"
    assert next_action(d.onboarding).params == {"count": "1"}


def test_role_is_fixed_once_documents_are_submitted() -> None:
    d = Driver().through_instance()
    d.send(ChooseRole(role=Role.LEGAL_REP))
    d.upload_all(Role.LEGAL_REP)
    d.send(SubmitDocuments())
    with pytest.raises(EventNotAllowed):
        d.send(ChooseRole(role=Role.AGENT))


def test_a_document_the_role_does_not_need_is_refused() -> None:
    d = Driver().through_instance()
    d.send(ChooseRole(role=Role.LEGAL_REP))
    with pytest.raises(DocumentNotRequired) as err:
        d.send(AddDocument(document=document(DocKind.AUTHORIZATION_LETTER)))
    assert err.value.labels == {
        "document": "documents.authorization_letter.name",
        "role": "roles.legal_rep.name",
    }


def test_submission_needs_every_required_document() -> None:
    d = Driver().through_instance()
    d.send(ChooseRole(role=Role.AGENT))
    d.send(AddDocument(document=document(DocKind.BUSINESS_LICENSE)))
    with pytest.raises(MissingDocuments) as err:
        d.send(SubmitDocuments())
    assert len(err.value.kinds) == 6 and DocKind.BUSINESS_LICENSE not in err.value.kinds


def test_submission_posts_a_review_card_and_tells_ops() -> None:
    d = Driver().through_instance()
    d.send(ChooseRole(role=Role.LEGAL_REP))
    d.upload_all(Role.LEGAL_REP)
    out = d.send(SubmitDocuments())
    assert PostDocumentReview(round=1) in out.effects
    assert any(isinstance(e, NotifyOps) for e in out.effects)
    assert not any(isinstance(e, PostStepPrompt) for e in out.effects)  # waiting for the SE
    assert next_action(d.onboarding).key == "next.wait_document_review"


def test_rejection_round_trip_reviews_only_what_was_replaced() -> None:
    d = Driver().through_instance()
    d.send(ChooseRole(role=Role.LEGAL_REP))
    d.upload_all(Role.LEGAL_REP)
    d.send(SubmitDocuments())
    kinds = documents_for(Role.LEGAL_REP)
    for kind in kinds[:-1]:
        d.send(ApproveDocument(kind=kind, revision=1), SE)
    out = d.send(RejectDocument(kind=kinds[-1], revision=1, reason="公章不清晰"), SE)
    assert UpdateDocumentReview(document=kinds[-1]) in out.effects
    rejection = next(e for e in out.effects if isinstance(e, NotifyCustomer))
    assert rejection.message == "flow.notify.document_rejected"
    assert rejection.params == {"reason": "公章不清晰"}
    assert rejection.labels == {"document": f"documents.{kinds[-1].value}.name"}
    assert d.state == ["qualification", "qualification.rework"]
    assert any(isinstance(e, PostStepPrompt) for e in out.effects)
    assert next_action(d.onboarding).key == "next.replace_documents"

    with pytest.raises(RejectedNotReplaced):
        d.send(SubmitDocuments())
    d.send(AddDocument(document=document(kinds[-1], file_id="F0002")))
    replaced = d.onboarding.documents[kinds[-1]]
    assert (replaced.revision, replaced.verdict, replaced.reason) == (2, Verdict.PENDING, None)
    out = d.send(SubmitDocuments())
    assert PostDocumentReview(round=2) in out.effects
    # The approved ones keep their approval: one verdict finishes the second round.
    assert all(d.onboarding.documents[k].verdict is Verdict.APPROVED for k in kinds[:-1])
    d.send(ApproveDocument(kind=kinds[-1], revision=2), SE)
    assert d.onboarding.step is Step.NUMBERS and d.onboarding.qualification_approved


def test_a_document_rejected_while_the_round_is_open_is_replaced_at_once() -> None:
    d = Driver().through_instance()
    d.send(ChooseRole(role=Role.AGENT))
    d.upload_all(Role.AGENT)
    d.send(SubmitDocuments())
    licence = DocKind.BUSINESS_LICENSE
    d.send(RejectDocument(kind=licence, revision=1, reason="需加盖公章"), SE)
    # Six others still pending: the round is open, and the customer is told to replace it.
    assert d.state == ["qualification", "qualification.review"]
    assert next_action(d.onboarding).key == "next.replace_documents"

    out = d.send(AddDocument(document=document(licence, file_id="F0002")))
    replaced = d.onboarding.documents[licence]
    assert (replaced.revision, replaced.verdict) == (2, Verdict.PENDING)
    assert replaced.rejected_before == "需加盖公章"  # the card says what was wrong before
    assert d.state == ["qualification", "qualification.review"]
    assert UpdateDocumentReview(document=licence) in out.effects  # a new version on the card
    assert any(isinstance(e, NotifyOps) for e in out.effects)
    assert next_action(d.onboarding).key == "next.wait_document_review"

    # Reviewed with the rest of the round: no second submission.
    for kind in documents_for(Role.AGENT):
        d.send(ApproveDocument(kind=kind, revision=d.onboarding.documents[kind].revision), SE)
    assert d.onboarding.step is Step.NUMBERS and d.onboarding.document_round == 1


def test_an_approved_document_is_not_replaced_during_the_review() -> None:
    d = Driver().through_instance()
    d.send(ChooseRole(role=Role.LEGAL_REP))
    d.upload_all(Role.LEGAL_REP)
    d.send(SubmitDocuments())
    d.send(ApproveDocument(kind=DocKind.BUSINESS_LICENSE, revision=1), SE)
    before = d.onboarding
    with pytest.raises(AlreadyApproved):
        d.send(AddDocument(document=document(DocKind.BUSINESS_LICENSE, file_id="F0002")))
    assert d.onboarding is before


def test_verdict_on_a_replaced_revision_is_refused() -> None:
    d = Driver().through_instance()
    d.send(ChooseRole(role=Role.LEGAL_REP))
    d.upload_all(Role.LEGAL_REP)
    d.send(SubmitDocuments())
    kind = DocKind.BUSINESS_LICENSE
    d.send(RejectDocument(kind=kind, revision=1, reason="blurred"), SE)
    for other in documents_for(Role.LEGAL_REP)[1:]:
        d.send(ApproveDocument(kind=other, revision=1), SE)
    d.send(AddDocument(document=document(kind, file_id="F0002")))
    d.send(SubmitDocuments())
    before = d.onboarding
    with pytest.raises(StaleRevision) as err:
        d.send(ApproveDocument(kind=kind, revision=1), SE)
    assert (err.value.seen, err.value.current) == (1, 2)
    assert d.onboarding is before and before.documents[kind].verdict is Verdict.PENDING


def test_rejection_needs_a_reason() -> None:
    d = Driver().through_instance()
    d.send(ChooseRole(role=Role.LEGAL_REP))
    d.upload_all(Role.LEGAL_REP)
    d.send(SubmitDocuments())
    with pytest.raises(InvalidValue) as err:
        d.send(RejectDocument(kind=DocKind.BUSINESS_LICENSE, revision=1, reason="  "), SE)
    assert err.value.key == "errors.invalid.reason"


def test_verdict_on_a_document_never_uploaded_is_unknown() -> None:
    d = Driver().through_instance()
    d.send(ChooseRole(role=Role.LEGAL_REP))
    d.upload_all(Role.LEGAL_REP)
    d.send(SubmitDocuments())
    with pytest.raises(UnknownDocument):
        d.send(ApproveDocument(kind=DocKind.AGENT_ID, revision=1), SE)


def test_unknown_document_kind_in_plain_data_is_refused() -> None:
    with pytest.raises(UnknownDocument) as err:
        parse_event({"name": "approve_document", "kind": "passport", "revision": 1})
    assert err.value.kind == "passport"
    with pytest.raises(InvalidValue):
        parse_event({"name": "no_such_event"})
    assert parse_event({"name": "approve_document", "kind": "agent_id", "revision": 2}) == (
        ApproveDocument(kind=DocKind.AGENT_ID, revision=2)
    )


# -- permissions --------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", [CUSTOMER, MANAGER, SYSTEM])
def test_only_an_se_gives_verdicts(actor: object) -> None:
    d = Driver().through_instance()
    d.send(ChooseRole(role=Role.LEGAL_REP))
    d.upload_all(Role.LEGAL_REP)
    d.send(SubmitDocuments())
    before = d.onboarding
    with pytest.raises(NotPermitted):
        d.send(ApproveDocument(kind=DocKind.BUSINESS_LICENSE, revision=1), actor)  # type: ignore[arg-type]
    assert d.onboarding is before
    assert before.documents[DocKind.BUSINESS_LICENSE].verdict is Verdict.PENDING


def test_customers_cannot_review_scripts_or_move_sip_stages() -> None:
    d = Driver().through_qualification()
    d.send(ChooseNumberPath(path=NumberPath.LANDLINE))
    d.send(SubmitScript(text="hello"))
    with pytest.raises(NotPermitted):
        d.send(ApproveScript(revision=1))
    d.send(BackToNumberChoice())
    d.send(ChooseNumberPath(path=NumberPath.SIP_TRUNK))
    d.send(SubmitSipRequest(ticket_id="T-9", request=SIP_REQUEST))
    with pytest.raises(NotPermitted):
        d.send(AdvanceSipStage(ticket_id="T-9", stage=SipStage.WHITELISTING))


def test_managers_only_read() -> None:
    with pytest.raises(NotPermitted):
        apply(Onboarding(), ConfirmAccount(), MANAGER, NOW)
    assert available_events(Onboarding(), ActorRole.MANAGER) == []


def test_available_events_follow_state_and_role() -> None:
    d = Driver().through_instance()
    d.send(ChooseRole(role=Role.LEGAL_REP))
    d.upload_all(Role.LEGAL_REP)
    d.send(SubmitDocuments())
    # In review the customer can only replace a document (one the reviewer rejects).
    # ("send anyway" is there too: for a replacement the pre-check found problems with.)
    assert available_events(d.onboarding, ActorRole.CUSTOMER) == ["add_document", "send_anyway"]
    assert available_events(d.onboarding, ActorRole.SE) == [
        "add_document",
        "send_anyway",
        "approve_document",
        "reject_document",
        "override_step",
    ]


# -- events out of place ------------------------------------------------------------------------


def test_an_event_out_of_place_is_refused_and_changes_nothing() -> None:
    ob = Onboarding()
    snapshot = ob.model_dump()
    with pytest.raises(EventNotAllowed) as err:
        apply(ob, SubmitDocuments(), CUSTOMER, NOW)
    assert err.value.event == "submit_documents" and err.value.state == ["account"]
    assert err.value.message.labels == {"step": "steps.account.title"}
    assert ob.model_dump() == snapshot


def test_a_repeated_click_is_refused() -> None:
    d = Driver()
    d.send(ConfirmAccount())
    with pytest.raises(EventNotAllowed):
        d.send(ConfirmAccount())


def test_apply_never_mutates_its_input_even_when_it_succeeds() -> None:
    ob = Driver().through_instance().onboarding
    snapshot = ob.model_dump()
    out = apply(ob, ChooseRole(role=Role.AGENT), CUSTOMER, NOW)
    assert ob.model_dump() == snapshot
    assert out.onboarding.role is Role.AGENT and ob.role is None


# -- step 5 -------------------------------------------------------------------------------------


def test_400_needs_the_inbound_only_confirmation_and_allows_going_back() -> None:
    d = Driver().through_qualification()
    out = d.send(ChooseNumberPath(path=NumberPath.TOLL_FREE_400))
    assert d.state[-1] == "numbers.confirm_400"
    prompt = next(e for e in out.effects if isinstance(e, PostStepPrompt))
    assert prompt.next_action is not None and prompt.next_action.key == "next.confirm_400"
    with pytest.raises(EventNotAllowed):
        d.send(SubmitScript(text="hello"))
    d.send(BackToNumberChoice())
    assert d.state[-1] == "numbers.choose" and d.onboarding.number_path is None
    d.send(ChooseNumberPath(path=NumberPath.TOLL_FREE_400))
    d.send(Confirm400InboundOnly())
    assert d.onboarding.toll_free_inbound_only_confirmed
    assert d.state[-1] == "numbers.script"


def test_script_rejection_then_approval_then_purchase() -> None:
    d = Driver().through_qualification()
    d.send(ChooseNumberPath(path=NumberPath.LANDLINE))
    out = d.send(SubmitScript(file_id="FSCRIPT", file_name="script.docx"))
    assert PostScriptReview(revision=1) in out.effects
    out = d.send(RejectScript(revision=1, reason="缺少开场白"), SE)
    assert d.state[-1] == "numbers.script"
    assert NotifyCustomer(
        message="flow.notify.script_rejected", params={"reason": "缺少开场白"}
    ) in (out.effects)
    assert next_action(d.onboarding).key == "next.resubmit_script"
    d.send(SubmitScript(text="您好，这里是 Acme。"))
    with pytest.raises(StaleRevision):
        d.send(ApproveScript(revision=1), SE)
    out = d.send(ApproveScript(revision=2), SE)
    assert d.state[-1] == "numbers.purchase"
    prompt = next(e for e in out.effects if isinstance(e, PostStepPrompt))
    assert prompt.next_action is not None and prompt.next_action.key == "next.purchase_number"
    out = d.send(ConfirmPurchase(number="010-88886666"))
    assert d.onboarding.step is Step.CONSOLE and d.onboarding.purchase_confirmed
    assert d.onboarding.purchased_number == "010-88886666"
    assert UpdateChecklist() in out.effects
    assert PostStepPrompt in {type(e) for e in out.effects}


def test_switching_path_keeps_an_approved_script() -> None:
    d = Driver().through_qualification()
    d.send(ChooseNumberPath(path=NumberPath.LANDLINE))
    d.send(SubmitScript(text="hello"))
    d.send(ApproveScript(revision=1), SE)
    d.send(ChooseNumberPath(path=NumberPath.TOLL_FREE_400))
    assert d.state[-1] == "numbers.confirm_400"
    d.send(Confirm400InboundOnly())
    assert d.state[-1] == "numbers.purchase"


def test_purchase_is_refused_with_an_invalid_number() -> None:
    d = Driver().through_qualification()
    d.send(ChooseNumberPath(path=NumberPath.LANDLINE))
    d.send(SubmitScript(text="hello"))
    d.send(ApproveScript(revision=1), SE)
    with pytest.raises(InvalidValue):
        d.send(ConfirmPurchase(number="call me"))


def test_sip_stages_go_strictly_in_order() -> None:
    d = Driver().through_qualification()
    d.send(ChooseNumberPath(path=NumberPath.SIP_TRUNK))
    out = d.send(SubmitSipRequest(ticket_id="T-42", request=SIP_REQUEST))
    assert OpenSipTicket(ticket_id="T-42") in out.effects
    assert SipStageChanged(ticket_id="T-42", stage=SipStage.SUBMITTED) in out.effects
    with pytest.raises(SipStageOutOfOrder):
        d.send(AdvanceSipStage(ticket_id="T-42", stage=SipStage.TESTING), SE)
    with pytest.raises(UnknownTicket):
        d.send(AdvanceSipStage(ticket_id="T-41", stage=SipStage.WHITELISTING), SE)
    d.send(AdvanceSipStage(ticket_id="T-42", stage=SipStage.WHITELISTING), SE)
    with pytest.raises(SipStageOutOfOrder):
        d.send(AdvanceSipStage(ticket_id="T-42", stage=SipStage.SUBMITTED), SE)
    with pytest.raises(SipStageOutOfOrder):
        d.send(AdvanceSipStage(ticket_id="T-42", stage=SipStage.WHITELISTING), SE)
    out = d.send(AdvanceSipStage(ticket_id="T-42", stage=SipStage.CARRIER_HANDOVER), SE)
    assert NotifyCustomer(
        message="flow.notify.sip_stage", labels={"stage": "sip.stages.carrier_handover"}
    ) in (out.effects)
    d.send(AdvanceSipStage(ticket_id="T-42", stage=SipStage.TESTING), SE)
    with pytest.raises(InvalidValue):  # the number is part of the last stage
        d.send(AdvanceSipStage(ticket_id="T-42", stage=SipStage.NUMBER_ASSIGNED), SE)
    assert d.onboarding.step is Step.NUMBERS
    d.send(
        AdvanceSipStage(
            ticket_id="T-42", stage=SipStage.NUMBER_ASSIGNED, assigned_number="075586013388"
        ),
        SE,
    )
    assert d.state == ["console"]
    assert d.onboarding.sip is not None and d.onboarding.sip.assigned_number == "075586013388"
    assert checklist(d.onboarding)[4] == (Step.NUMBERS, StepStatus.DONE)


def test_sip_path_cannot_be_left_once_the_ticket_is_open() -> None:
    d = Driver().through_qualification()
    d.send(ChooseNumberPath(path=NumberPath.SIP_TRUNK))
    d.send(ChooseNumberPath(path=NumberPath.LANDLINE))  # before the ticket: fine
    d.send(ChooseNumberPath(path=NumberPath.SIP_TRUNK))
    d.send(SubmitSipRequest(ticket_id="T-1", request=SIP_REQUEST))
    with pytest.raises(EventNotAllowed):
        d.send(ChooseNumberPath(path=NumberPath.LANDLINE))


def test_sip_request_with_a_bad_signalling_address_is_refused() -> None:
    d = Driver().through_qualification()
    d.send(ChooseNumberPath(path=NumberPath.SIP_TRUNK))
    bad = SIP_REQUEST.model_copy(update={"signalling": ["sip.carrier.example:5060"]})
    with pytest.raises(InvalidValue) as err:
        d.send(SubmitSipRequest(ticket_id="T-1", request=bad))
    assert err.value.key == "errors.invalid.signalling"


# -- steps 6-8 ----------------------------------------------------------------------------------


def test_checklists_complete_only_when_every_item_is_ticked() -> None:
    d = Driver().through_qualification().sip()
    items = CHECKLISTS[Step.CONSOLE]
    with pytest.raises(IncompleteChecklist) as err:
        d.send(ConfirmConsole(items=frozenset(items[:-1])))
    assert err.value.missing == (items[-1].value,)
    with pytest.raises(InvalidValue):
        d.send(ConfirmConsole(items=frozenset({*items, ChecklistItem.SDK_LOADED})))
    d.send(ConfirmConsole(items=frozenset(items)))
    assert d.onboarding.console_done and d.onboarding.step is Step.LOGIN
    d.send(ConfirmLogin(items=frozenset(CHECKLISTS[Step.LOGIN])))
    d.send(ConfirmSdk(items=frozenset(CHECKLISTS[Step.SDK])))
    assert d.state == ["live"]


def test_step_eight_needs_step_six_even_after_an_override() -> None:
    d = Driver().through_qualification().buy()
    d.send(OverrideStep(step=Step.SDK, reason="customer integrates the SDK in parallel"), SE)
    assert not d.onboarding.console_done
    assert next_action(d.onboarding).key == "next.console_first"
    with pytest.raises(GateNotPassed) as err:
        d.send(ConfirmSdk(items=frozenset(CHECKLISTS[Step.SDK])))
    assert err.value.key == "errors.gate.console"


# -- SE override --------------------------------------------------------------------------------


def test_override_is_recorded_and_does_not_fake_qualification() -> None:
    d = Driver().through_instance()
    out = d.send(OverrideStep(step=Step.NUMBERS, reason="documents reviewed by email"), SE)
    assert d.state == ["numbers", "numbers.uncommitted", "numbers.choose"]
    assert out.audit.event == "override_step"
    assert out.audit.detail == {"step": "numbers", "reason": "documents reviewed by email"}
    assert out.audit.from_state == ["qualification", "qualification.role"]
    assert (out.from_step, out.to_step) == (Step.QUALIFICATION, Step.NUMBERS)
    assert any(isinstance(e, NotifyOps) and e.message == "flow.ops.override" for e in out.effects)
    assert not d.onboarding.qualification_approved
    assert checklist(d.onboarding)[3] == (Step.QUALIFICATION, StepStatus.TODO)

    d.send(ChooseNumberPath(path=NumberPath.LANDLINE))
    d.send(SubmitScript(text="hello"))
    d.send(ApproveScript(revision=1), SE)
    assert next_action(d.onboarding).key == "next.wait_qualification"
    with pytest.raises(GateNotPassed) as err:
        d.send(ConfirmPurchase())
    assert err.value.key == "errors.gate.qualification"


def test_override_back_clears_what_must_be_done_again() -> None:
    d = Driver().through_qualification().buy().finish()
    d.send(OverrideStep(step=Step.QUALIFICATION, reason="licence expired"), SE)
    ob = d.onboarding
    assert ob.state == ["qualification", "qualification.role"]
    assert not (ob.qualification_approved or ob.purchase_confirmed or ob.console_done)
    assert ob.account_confirmed and ob.instance is not None  # earlier steps stay done
    assert [s for s, status in checklist(ob) if status is StepStatus.DONE] == [
        Step.ACCOUNT,
        Step.REAL_NAME,
        Step.INSTANCE,
    ]


@pytest.mark.parametrize("actor", [CUSTOMER, MANAGER])
def test_only_an_se_overrides(actor: object) -> None:
    with pytest.raises(NotPermitted):
        apply(Onboarding(), OverrideStep(step=Step.SDK, reason="x"), actor, NOW)  # type: ignore[arg-type]


def test_override_needs_a_reason_and_a_real_step() -> None:
    with pytest.raises(InvalidValue):
        apply(Onboarding(), OverrideStep(step=Step.SDK, reason=" "), SE, NOW)
    with pytest.raises(InvalidValue) as err:
        apply(Onboarding(), OverrideStep(step=Step.LIVE, reason="skip it all"), SE, NOW)
    assert err.value.key == "errors.invalid.step"


# -- queries ------------------------------------------------------------------------------------


def test_checklist_marks_current_and_todo() -> None:
    d = Driver()
    d.send(ConfirmAccount())
    assert checklist(d.onboarding)[:3] == [
        (Step.ACCOUNT, StepStatus.DONE),
        (Step.REAL_NAME, StepStatus.CURRENT),
        (Step.INSTANCE, StepStatus.TODO),
    ]
    assert len(checklist(d.onboarding)) == 8


def test_every_error_names_a_message() -> None:
    try:
        apply(Onboarding(), ConfirmSdk(items=frozenset()), CUSTOMER, NOW)
    except FlowError as err:
        assert err.message.key == "errors.event_not_allowed"
    else:  # pragma: no cover
        pytest.fail("confirm_sdk at step 1 must be refused")


def test_a_second_verdict_on_the_same_document_is_refused() -> None:
    d = Driver().through_instance()
    d.send(ChooseRole(role=Role.LEGAL_REP))
    d.upload_all(Role.LEGAL_REP)
    d.send(SubmitDocuments())
    kind = DocKind.BUSINESS_LICENSE
    d.send(ApproveDocument(kind=kind, revision=1), SE)
    before = d.onboarding
    with pytest.raises(AlreadyReviewed):
        d.send(RejectDocument(kind=kind, revision=1, reason="changed my mind"), SE)
    with pytest.raises(AlreadyReviewed):
        d.send(ApproveDocument(kind=kind, revision=1), SE)
    assert d.onboarding is before and before.documents[kind].verdict is Verdict.APPROVED


def test_creating_the_instance_says_where_the_password_goes() -> None:
    d = Driver()
    d.send(ConfirmAccount())
    d.send(ConfirmRealName())
    out = d.send(
        CreateInstance(
            call_center_name="Acme", admin_name="Han", admin_email="admin@acme.cn", sla_agreed=True
        )
    )
    notice = next(e for e in out.effects if isinstance(e, NotifyCustomer))
    assert notice.message == "flow.notify.instance_created"
    assert notice.params == {"email": "a•••@acme.cn"}  # the outbox keeps no whole address


def test_the_last_document_brings_the_submit_prompt_and_each_one_the_checklist() -> None:
    d = Driver().through_instance()
    d.send(ChooseRole(role=Role.LEGAL_REP))
    kinds = documents_for(Role.LEGAL_REP)
    for kind in kinds[:-1]:
        out = d.send(AddDocument(document=document(kind)))
        assert UpdateChecklist() in out.effects
        assert not any(isinstance(e, PostStepPrompt) for e in out.effects)
    out = d.send(AddDocument(document=document(kinds[-1])))
    prompt = next(e for e in out.effects if isinstance(e, PostStepPrompt))
    assert prompt.stage == "qualification.collecting"
    assert prompt.next_action is not None and prompt.next_action.key == "next.submit_documents"


def test_script_verdicts_update_the_script_card() -> None:
    d = Driver().through_qualification()
    d.send(ChooseNumberPath(path=NumberPath.LANDLINE))
    d.send(SubmitScript(text="您好"))
    out = d.send(RejectScript(revision=1, reason="too short"), SE)
    assert UpdateScriptReview(revision=1) in out.effects
    d.send(SubmitScript(text="您好，这里是 Acme 客服。"))
    out = d.send(ApproveScript(revision=2), SE)
    assert UpdateScriptReview(revision=2) in out.effects


def test_a_change_within_a_step_reaches_the_checklist_and_a_new_applicant_a_new_prompt() -> None:
    d = Driver().through_instance()
    out = d.send(ChooseRole(role=Role.AGENT))
    assert UpdateChecklist() in out.effects  # its next action now counts documents
    out = d.send(ChooseRole(role=Role.LEGAL_REP))
    assert UpdateChecklist() in out.effects  # 7 documents became 5
    prompt = next(e for e in out.effects if isinstance(e, PostStepPrompt))
    assert prompt.stage == "qualification.collecting"
    # Choosing the same applicant again changes nothing the customer sees.
    out = d.send(ChooseRole(role=Role.LEGAL_REP))
    assert out.effects == []


def test_a_repeated_stage_click_says_the_ticket_is_there_already() -> None:
    d = Driver().through_qualification()
    d.send(ChooseNumberPath(path=NumberPath.SIP_TRUNK))
    d.send(SubmitSipRequest(ticket_id="T-9", request=SIP_REQUEST))
    d.send(AdvanceSipStage(ticket_id="T-9", stage=SipStage.WHITELISTING), SE)
    with pytest.raises(SipStageOutOfOrder) as again:
        d.send(AdvanceSipStage(ticket_id="T-9", stage=SipStage.WHITELISTING), SE)
    assert again.value.message.key == "errors.sip_stage_reached"
    with pytest.raises(SipStageOutOfOrder) as skip:
        d.send(AdvanceSipStage(ticket_id="T-9", stage=SipStage.TESTING), SE)
    assert skip.value.message.key == "errors.sip_stage_order"
