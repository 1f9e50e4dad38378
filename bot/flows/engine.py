"""The flow's one entry point: `apply(onboarding, event, actor, now) -> Outcome`.

Pure: no I/O, no clock (the caller passes `now`), no Slack. The input record is never mutated;
a refused event raises a `FlowError` and the caller's record is exactly as it was. The query
helpers below answer what the UI needs without building effects.

SE override (`OverrideStep`) is handled here rather than in the chart: a transition from every
state to every step would bury the diagram under 70 arrows, and restoring the chart at the
target step's initial configuration is exactly what "move the tenant to step N" means. It clears
the completion facts of the target step and every later one, and never sets one, so no gate is
faked: a tenant moved to step 5 still cannot buy a number without step 4 approved.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
)
from statemachine.exceptions import TransitionNotAllowed

from bot.flows import validate
from bot.flows.catalogue import (
    CHECKLISTS,
    SIP_PARAMETER_LABEL_KEYS,
    STAMPED_NOTE_KEY,
    ChecklistItem,
    checklist_item_key,
    document_spec,
    documents_for,
    event_label_key,
    number_path_keys,
    role_name_key,
    sip_stage_key,
    step_spec,
)
from bot.flows.effects import (
    Effect,
    MessageRef,
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
from bot.flows.errors import (
    EventNotAllowed,
    InputField,
    InvalidValue,
    NotPermitted,
    UnknownDocument,
    error_keys,
)
from bot.flows.machine import (
    WAITING_STAGES,
    allowed_event_names,
    canonical,
    initial_configuration,
    leaf,
    resumed,
    roles_for,
)
from bot.flows.model import (
    Actor,
    ActorRole,
    DocKind,
    Document,
    NumberPath,
    Onboarding,
    Role,
    SipStage,
    SipTrunkRequest,
    Step,
    Verdict,
)
from bot.privacy import SHOWN, mask_emails

# -- events ---------------------------------------------------------------------------------------


class _Event(BaseModel):
    """An event with its arguments. `name` is the chart's event; the other fields are passed to
    the chart's guards and actions by name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def arguments(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in type(self).model_fields if name != "name"}


class ConfirmAccount(_Event):
    name: Literal["confirm_account"] = "confirm_account"
    uin: str | None = None


class ConfirmRealName(_Event):
    name: Literal["confirm_real_name"] = "confirm_real_name"


class CreateInstance(_Event):
    name: Literal["create_instance"] = "create_instance"
    call_center_name: str
    admin_name: str
    admin_email: str
    sla_agreed: bool


class ChooseRole(_Event):
    """Who applies. Switching removes the uploaded documents the new applicant does not need:
    `drop` names those the person agreed to remove (a switch that would remove others is
    refused with `SwitchDropsDocuments`, which lists them for a confirmation)."""

    name: Literal["choose_role"] = "choose_role"
    role: Role
    drop: frozenset[DocKind] = frozenset()

    @field_validator("drop", mode="before")
    @classmethod
    def _listed(cls, value: object) -> object:
        # A button carries the list as text: "agent_id,agent_holding_id".
        if isinstance(value, str):
            return frozenset(v.strip() for v in value.split(",") if v.strip())
        return value


class AddDocument(_Event):
    """Upload a document, or replace one (a new revision)."""

    name: Literal["add_document"] = "add_document"
    document: Document


class SendAnyway(_Event):
    """The customer sends a document with pre-check findings to review as it is."""

    name: Literal["send_anyway"] = "send_anyway"
    kind: DocKind
    revision: int = Field(ge=1)  # the revision the findings were told about


class SubmitDocuments(_Event):
    name: Literal["submit_documents"] = "submit_documents"


class ApproveDocument(_Event):
    name: Literal["approve_document"] = "approve_document"
    kind: DocKind
    revision: int = Field(ge=1)  # the revision the reviewer saw


class RejectDocument(_Event):
    name: Literal["reject_document"] = "reject_document"
    kind: DocKind
    revision: int = Field(ge=1)
    reason: str


class ChooseNumberPath(_Event):
    name: Literal["choose_number_path"] = "choose_number_path"
    path: NumberPath


class BackToNumberChoice(_Event):
    name: Literal["back_to_number_choice"] = "back_to_number_choice"


class Confirm400InboundOnly(_Event):
    """The customer understands a 400 number cannot make outbound calls."""

    name: Literal["confirm_toll_free_inbound_only"] = "confirm_toll_free_inbound_only"


class SubmitScript(_Event):
    name: Literal["submit_script"] = "submit_script"
    text: str | None = None
    file_id: str | None = None
    file_name: str | None = None


class ApproveScript(_Event):
    name: Literal["approve_script"] = "approve_script"
    revision: int = Field(ge=1)


class RejectScript(_Event):
    name: Literal["reject_script"] = "reject_script"
    revision: int = Field(ge=1)
    reason: str


class ConfirmPurchase(_Event):
    name: Literal["confirm_purchase"] = "confirm_purchase"
    number: str | None = None


class SubmitSipRequest(_Event):
    """`ticket_id` is chosen by the caller, so a retried submission opens no second ticket."""

    name: Literal["submit_sip_request"] = "submit_sip_request"
    ticket_id: str
    request: SipTrunkRequest


class AdvanceSipStage(_Event):
    name: Literal["advance_sip_stage"] = "advance_sip_stage"
    ticket_id: str
    stage: SipStage
    assigned_number: str | None = None  # required for NUMBER_ASSIGNED


class ConfirmConsole(_Event):
    name: Literal["confirm_console"] = "confirm_console"
    items: frozenset[ChecklistItem]


class ConfirmLogin(_Event):
    name: Literal["confirm_login"] = "confirm_login"
    items: frozenset[ChecklistItem]


class ConfirmSdk(_Event):
    name: Literal["confirm_sdk"] = "confirm_sdk"
    items: frozenset[ChecklistItem]


class ConfirmByCloud(_Event):
    """The TCCC cloud API shows the tenant's current step done (sent by the system only, after
    `bot.cloud` asked the API with the tenant's read-only key). `step` is the step the check was
    about: a tenant that moved on meanwhile refuses it. `sdk_app_id` is the instance the API
    showed (step 3); `number` a number it showed on the instance (step 5)."""

    name: Literal["confirm_by_cloud"] = "confirm_by_cloud"
    step: Step
    sdk_app_id: int | None = Field(default=None, ge=1)
    number: str | None = None


class OverrideStep(_Event):
    """An SE moves the tenant to the start of `step`, for a recorded reason."""

    name: Literal["override_step"] = "override_step"
    step: Step
    reason: str


FlowEvent = Annotated[
    ConfirmAccount
    | ConfirmRealName
    | CreateInstance
    | ChooseRole
    | AddDocument
    | SendAnyway
    | SubmitDocuments
    | ApproveDocument
    | RejectDocument
    | ChooseNumberPath
    | BackToNumberChoice
    | Confirm400InboundOnly
    | SubmitScript
    | ApproveScript
    | RejectScript
    | ConfirmPurchase
    | SubmitSipRequest
    | AdvanceSipStage
    | ConfirmConsole
    | ConfirmLogin
    | ConfirmSdk
    | ConfirmByCloud
    | OverrideStep,
    Field(discriminator="name"),
]

_EVENT_ADAPTER: TypeAdapter[FlowEvent] = TypeAdapter(FlowEvent)

OVERRIDE = "override_step"
EVENT_NAMES: tuple[str, ...] = tuple(
    str(cls.model_fields["name"].default) for cls in get_args(get_args(FlowEvent)[0])
)
"""Every event name `apply` accepts, in declaration order."""


def parse_event(data: object) -> FlowEvent:
    """An event from plain data (e.g. a button's value), refusing what is not one."""
    try:
        return _EVENT_ADAPTER.validate_python(data)
    except ValidationError as exc:
        for error in exc.errors():
            if error["loc"] and error["loc"][-1] == "kind":
                raise UnknownDocument(str(error.get("input"))) from None
        raise InvalidValue(InputField.EVENT, "malformed") from None


# -- outcome --------------------------------------------------------------------------------------


class AuditEntry(BaseModel):
    """What happened, for the tenant's audit stream."""

    model_config = ConfigDict(frozen=True)

    event: str
    actor: str
    actor_role: ActorRole
    at: datetime
    from_state: list[str]
    to_state: list[str]
    detail: dict[str, str] = Field(default_factory=dict)


class Outcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    onboarding: Onboarding  # a new record; the one passed in is untouched
    effects: list[Effect]
    from_step: Step
    to_step: Step
    audit: AuditEntry


def apply(onboarding: Onboarding, event: FlowEvent, actor: Actor, now: datetime) -> Outcome:
    """Apply one event. Raises a `FlowError` when it is refused."""
    work = onboarding.model_copy(deep=True)
    if isinstance(event, OverrideStep):
        _override(work, event, actor)
    else:
        if event.name not in allowed_event_names(onboarding.state):
            raise EventNotAllowed(event.name, onboarding.state)
        try:
            with resumed(work) as chart:
                chart.send(event.name, actor=actor, now=now, **event.arguments())
        except TransitionNotAllowed as exc:  # every guarded alternative said no
            raise EventNotAllowed(event.name, onboarding.state) from exc
        work.state = canonical(work.state)
    return Outcome(
        onboarding=work,
        effects=_effects(onboarding, work, event),
        from_step=onboarding.step,
        to_step=work.step,
        audit=AuditEntry(
            event=event.name,
            actor=actor.user_id,
            actor_role=actor.role,
            at=now,
            from_state=list(onboarding.state),
            to_state=list(work.state),
            detail=_audit_detail(event),
        ),
    )


def _override(work: Onboarding, event: OverrideStep, actor: Actor) -> None:
    if actor.role is not ActorRole.SE:
        raise NotPermitted(actor.role, OVERRIDE)
    if event.step is Step.LIVE:  # going live is earned by steps 6-8, never granted
        raise InvalidValue(InputField.STEP, "not_a_step")
    validate.reason(event.reason)
    target = event.step.number
    # The target step is done again and so is every later one; earlier facts stay true.
    if target <= Step.ACCOUNT.number:
        work.account_confirmed = False
    if target <= Step.REAL_NAME.number:
        work.real_name_confirmed = False
    if target <= Step.QUALIFICATION.number:
        work.qualification_approved = False
    if target <= Step.NUMBERS.number:
        work.purchase_confirmed = False
        work.number_path = None
        work.toll_free_inbound_only_confirmed = False
    if target <= Step.CONSOLE.number:
        work.console_done = False
    if target <= Step.LOGIN.number:
        work.login_done = False
    if target <= Step.SDK.number:
        work.sdk_done = False
    work.state = initial_configuration(event.step)


def _audit_detail(event: FlowEvent) -> dict[str, str]:
    detail: dict[str, str] = {}
    for name, value in event.arguments().items():
        if value is None or value == frozenset() or isinstance(value, Document | SipTrunkRequest):
            continue  # document metadata and ticket contents live in the record, not the audit
        if isinstance(value, frozenset):
            detail[name] = ",".join(sorted(str(v) for v in value))
        elif isinstance(value, StrEnum):
            detail[name] = value.value
        elif isinstance(value, SipStage):
            detail[name] = value.name.lower()
        else:
            detail[name] = mask_emails(str(value), SHOWN)  # no whole email address in the audit
    if isinstance(event, AddDocument):
        detail["kind"] = event.document.kind.value
    return detail


# -- effects --------------------------------------------------------------------------------------

# Every message key the effects name (the content test checks each exists).
NOTIFY_KEYS = (
    "flow.notify.instance_created",
    "flow.notify.documents_submitted",
    "flow.notify.document_approved",
    "flow.notify.document_rejected",
    "flow.notify.script_submitted",
    "flow.notify.script_approved",
    "flow.notify.script_rejected",
    "flow.notify.sip_stage",
    "flow.notify.moved_by_se",
    "flow.notify.confirmed_by_cloud",
    "flow.ops.documents_submitted",
    "flow.ops.document_replaced",
    "flow.ops.script_submitted",
    "flow.ops.sip_ticket_opened",
    "flow.ops.number_purchased",
    "flow.ops.override",
    "flow.ops.live",
)


def _step_title(step: Step) -> str:
    return step_spec(step).title_key


def _effects(before: Onboarding, after: Onboarding, event: FlowEvent) -> list[Effect]:
    effects: list[Effect] = []
    step_changed = before.step is not after.step
    stage = leaf(after.state)
    # The checklist shows the next action too: a change within a step (who applies, documents
    # submitted, a number path chosen) must reach it as well as a step completing.
    if step_changed or isinstance(event, OverrideStep) or next_action(before) != next_action(after):
        effects.append(UpdateChecklist())
    # The new prompt goes last: the customer reads what happened ("approved") before what to
    # do next.
    prompt: PostStepPrompt | None = None
    # A change of applicant changes the documents the prompt lists (and its buttons).
    role_changed = before.role is not after.role
    moved = step_changed or leaf(before.state) != stage or role_changed
    if (moved or isinstance(event, OverrideStep)) and stage not in WAITING_STAGES:
        prompt = PostStepPrompt(
            step=after.step,
            stage=stage if stage != after.step.value else None,
            next_action=next_action(after),
        )

    match event:
        case CreateInstance(admin_email=email):
            # Where the password arrives and where to log in, right when it becomes true.
            effects.append(
                NotifyCustomer(
                    message="flow.notify.instance_created",
                    params={"email": mask_emails(email, SHOWN)},
                )
            )
        case AddDocument(document=document):
            if stage == "qualification.review":
                # A replacement during the review: the reviewer sees the new version on the
                # round's card, and is told it arrived.
                effects.append(UpdateDocumentReview(document=document.kind))
                effects.append(
                    NotifyOps(
                        message="flow.ops.document_replaced",
                        params={"revision": str(after.documents[document.kind].revision)},
                        labels={"document": document_spec(document.kind).name_key},
                    )
                )
            elif _outstanding(before) and not _outstanding(after) and stage not in WAITING_STAGES:
                # The last document is in: the prompt with the "submit for review" button.
                effects.append(
                    PostStepPrompt(step=after.step, stage=stage, next_action=next_action(after))
                )
        case SendAnyway(kind=kind):
            if stage == "qualification.review":
                # Now it is in review: the card gets its verdict buttons.
                effects.append(UpdateDocumentReview(document=kind))
            elif _outstanding(before) and not _outstanding(after) and stage not in WAITING_STAGES:
                effects.append(
                    PostStepPrompt(step=after.step, stage=stage, next_action=next_action(after))
                )
        case SubmitDocuments():
            effects.append(PostDocumentReview(round=after.document_round))
            effects.append(NotifyCustomer(message="flow.notify.documents_submitted"))
            effects.append(
                NotifyOps(
                    message="flow.ops.documents_submitted",
                    params={"round": str(after.document_round)},
                )
            )
        case ApproveDocument(kind=kind) | RejectDocument(kind=kind):
            doc = after.documents[kind]
            effects.append(UpdateDocumentReview(document=kind))
            labels = {"document": document_spec(kind).name_key}
            if doc.verdict is Verdict.APPROVED:
                effects.append(
                    NotifyCustomer(message="flow.notify.document_approved", labels=labels)
                )
            else:
                effects.append(
                    NotifyCustomer(
                        message="flow.notify.document_rejected",
                        params={"reason": doc.reason or ""},
                        labels=labels,
                    )
                )
        case SubmitScript():
            assert after.script is not None
            effects.append(PostScriptReview(revision=after.script.revision))
            effects.append(NotifyCustomer(message="flow.notify.script_submitted"))
            effects.append(
                NotifyOps(
                    message="flow.ops.script_submitted",
                    params={"revision": str(after.script.revision)},
                )
            )
        case ApproveScript(revision=revision):
            effects.append(UpdateScriptReview(revision=revision))
            effects.append(NotifyCustomer(message="flow.notify.script_approved"))
        case RejectScript(reason=reason, revision=revision):
            effects.append(UpdateScriptReview(revision=revision))
            effects.append(
                NotifyCustomer(
                    message="flow.notify.script_rejected", params={"reason": reason.strip()}
                )
            )
        case ConfirmPurchase():
            effects.append(
                NotifyOps(
                    message="flow.ops.number_purchased",
                    params={"number": after.purchased_number or "-"},
                )
            )
        case SubmitSipRequest(ticket_id=ticket_id):
            effects.append(OpenSipTicket(ticket_id=ticket_id.strip()))
            effects.append(SipStageChanged(ticket_id=ticket_id.strip(), stage=SipStage.SUBMITTED))
            # The customer waits for the SEs now (no prompt): say the request is in.
            effects.append(
                NotifyCustomer(
                    message="flow.notify.sip_stage",
                    labels={"stage": sip_stage_key(SipStage.SUBMITTED)},
                )
            )
            effects.append(
                NotifyOps(message="flow.ops.sip_ticket_opened", params={"ticket_id": ticket_id})
            )
        case AdvanceSipStage(ticket_id=ticket_id, stage=sip_stage):
            effects.append(SipStageChanged(ticket_id=ticket_id, stage=sip_stage))
            effects.append(
                NotifyCustomer(
                    message="flow.notify.sip_stage", labels={"stage": sip_stage_key(sip_stage)}
                )
            )
        case ConfirmByCloud(step=step):
            effects.append(
                NotifyCustomer(
                    message="flow.notify.confirmed_by_cloud", labels={"step": _step_title(step)}
                )
            )
        case OverrideStep(step=step, reason=reason):
            labels = {"from_step": _step_title(before.step), "to_step": _step_title(step)}
            effects.append(
                NotifyCustomer(
                    message="flow.notify.moved_by_se", labels={"step": labels["to_step"]}
                )
            )
            effects.append(
                NotifyOps(message="flow.ops.override", params={"reason": reason}, labels=labels)
            )
        case _:
            pass
    if step_changed and after.step is Step.LIVE:
        effects.append(NotifyOps(message="flow.ops.live"))
    if prompt is not None:
        effects.append(prompt)
    return effects


# -- queries for the UI ---------------------------------------------------------------------------


def missing_documents(onboarding: Onboarding) -> tuple[DocKind, ...]:
    """Required documents not uploaded yet (none until a role is chosen)."""
    if onboarding.role is None:
        return ()
    return tuple(k for k in documents_for(onboarding.role) if k not in onboarding.documents)


def unconfirmed_documents(onboarding: Onboarding) -> tuple[DocKind, ...]:
    """Documents with pre-check findings the customer has not yet chosen to send anyway."""
    return tuple(kind for kind, doc in onboarding.documents.items() if doc.awaits_customer)


def _outstanding(onboarding: Onboarding) -> bool:
    """Something stands between the documents and a submission."""
    return bool(
        missing_documents(onboarding)
        or rejected_documents(onboarding)
        or unconfirmed_documents(onboarding)
    )


def rejected_documents(onboarding: Onboarding) -> tuple[DocKind, ...]:
    """Documents rejected and not replaced yet."""
    return tuple(
        kind for kind, doc in onboarding.documents.items() if doc.verdict is Verdict.REJECTED
    )


NEXT_KEYS = (
    "next.account",
    "next.real_name",
    "next.instance",
    "next.choose_role",
    "next.upload_documents",
    "next.submit_documents",
    "next.wait_document_review",
    "next.replace_documents",
    "next.confirm_findings",
    "next.resubmit_documents",
    "next.choose_number_path",
    "next.confirm_400",
    "next.submit_script",
    "next.resubmit_script",
    "next.wait_script_review",
    "next.wait_qualification",
    "next.purchase_number",
    "next.submit_sip_request",
    "next.wait_sip_stage",
    "next.console",
    "next.login",
    "next.console_first",
    "next.sdk",
    "next.live",
)


def next_action(onboarding: Onboarding) -> MessageRef:
    """Exactly what the customer must do next (or what they are waiting for)."""
    ob = onboarding
    match leaf(ob.state):
        case "qualification.role":
            return MessageRef(key="next.choose_role")
        case "qualification.collecting":
            missing = missing_documents(ob)
            if missing:
                return MessageRef(key="next.upload_documents", params={"count": str(len(missing))})
            return _confirm_findings(ob) or MessageRef(key="next.submit_documents")
        case "qualification.review":
            rejected = rejected_documents(ob)
            if rejected:  # replaced at once, then reviewed with the rest of the round
                return MessageRef(
                    key="next.replace_documents", params={"count": str(len(rejected))}
                )
            return _confirm_findings(ob) or MessageRef(key="next.wait_document_review")
        case "qualification.rework":
            rejected = rejected_documents(ob)
            if rejected:
                return MessageRef(
                    key="next.replace_documents", params={"count": str(len(rejected))}
                )
            return _confirm_findings(ob) or MessageRef(key="next.resubmit_documents")
        case "numbers.choose":
            return MessageRef(key="next.choose_number_path")
        case "numbers.confirm_400":
            return MessageRef(key="next.confirm_400")
        case "numbers.script":
            if ob.script is not None and ob.script.verdict is Verdict.REJECTED:
                return MessageRef(
                    key="next.resubmit_script", params={"reason": ob.script.reason or ""}
                )
            return MessageRef(key="next.submit_script")
        case "numbers.script_review":
            return MessageRef(key="next.wait_script_review")
        case "numbers.purchase":
            if not ob.qualification_approved:
                return MessageRef(key="next.wait_qualification")
            path = ob.number_path or NumberPath.LANDLINE
            return MessageRef(
                key="next.purchase_number", labels={"path": number_path_keys(path)[0]}
            )
        case "numbers.sip_request":
            return MessageRef(key="next.submit_sip_request")
        case "numbers.sip_ticket":
            stage = ob.sip.stage if ob.sip else SipStage.SUBMITTED
            return MessageRef(key="next.wait_sip_stage", labels={"stage": sip_stage_key(stage)})
        case "sdk" if not ob.console_done:
            return MessageRef(key="next.console_first")
        case value:
            return MessageRef(key=f"next.{value}")


def _confirm_findings(onboarding: Onboarding) -> MessageRef | None:
    unconfirmed = unconfirmed_documents(onboarding)
    if not unconfirmed:
        return None
    return MessageRef(key="next.confirm_findings", params={"count": str(len(unconfirmed))})


def available_events(onboarding: Onboarding, actor_role: ActorRole) -> list[str]:
    """Events `actor_role` may send now (guards on values are not evaluated)."""
    names = [
        name for name in allowed_event_names(onboarding.state) if actor_role in roles_for(name)
    ]
    if actor_role is ActorRole.SE:
        names.append(OVERRIDE)
    return names


class StepStatus(StrEnum):
    DONE = "done"
    CURRENT = "current"
    TODO = "todo"


def step_done(onboarding: Onboarding, step: Step) -> bool:
    """Whether the record holds the fact that completes `step`."""
    ob = onboarding
    facts = {
        Step.ACCOUNT: ob.account_confirmed,
        Step.REAL_NAME: ob.real_name_confirmed,
        Step.INSTANCE: ob.instance is not None or ob.sdk_app_id is not None,
        Step.QUALIFICATION: ob.qualification_approved,
        Step.NUMBERS: ob.purchase_confirmed
        or (ob.sip is not None and ob.sip.stage is SipStage.NUMBER_ASSIGNED),
        Step.CONSOLE: ob.console_done,
        Step.LOGIN: ob.login_done,
        Step.SDK: ob.sdk_done,
        Step.LIVE: ob.step is Step.LIVE,
    }
    return facts[step]


def checklist(onboarding: Onboarding) -> list[tuple[Step, StepStatus]]:
    """The eight steps with their status. A step skipped by an SE override is not shown done."""
    current = onboarding.step
    rows: list[tuple[Step, StepStatus]] = []
    for step in Step.ordered():
        if step is current:
            status = StepStatus.CURRENT
        elif step.number < current.number and step_done(onboarding, step):
            status = StepStatus.DONE
        else:
            status = StepStatus.TODO
        rows.append((step, status))
    return rows


# -- content keys the flow names ------------------------------------------------------------------


def referenced_content_keys() -> frozenset[str]:
    """Every content key the flow code can name, collected in one place for the content test."""
    keys: set[str] = set(NOTIFY_KEYS) | set(NEXT_KEYS) | error_keys()
    keys.update({STAMPED_NOTE_KEY, "flow.title"})
    keys.update(f"flow.status.{status.value}" for status in StepStatus)
    keys.update(f"flow.fields.{field.value}" for field in InputField)
    keys.update(SIP_PARAMETER_LABEL_KEYS)
    keys.update(event_label_key(name) for name in EVENT_NAMES)
    for step in Step:
        spec = step_spec(step)
        keys.update({spec.title_key, spec.prompt_key, spec.done_key, *spec.link_keys})
    for role in Role:
        keys.add(role_name_key(role))
        for kind in documents_for(role):
            doc = document_spec(kind)
            keys.update({doc.name_key, doc.example_key(role)})
            if doc.template_key:
                keys.add(doc.template_key)
    for path in NumberPath:
        keys.update(number_path_keys(path))
    for stage in SipStage:
        keys.add(sip_stage_key(stage))
    for checklist_step, items in CHECKLISTS.items():
        keys.update(checklist_item_key(checklist_step, item) for item in items)
    return frozenset(keys)
