"""The onboarding as a statechart: the eight steps in order, the sub-stages of steps 4 and 5, and
the guards that keep every gate shut until it is passed.

Only states, transitions and guards live here. What an event writes into the record is in
`record.py` (the chart's model); turning an event into a new record plus effects is `engine.py`.

Two kinds of guard:
- *validators* raise a domain error (`errors.py`) that tells the user why the event was refused:
  the actor may not send it, a value is invalid, a document is missing, a gate is shut;
- *conditions* (`cond=`) pick between transitions of one event (which number path was chosen,
  whether the review is finished) and show up in the generated diagram.

Every state has a stable `value=`: records store values, so a Python attribute can be renamed
freely. Top-level values are `Step` values, children are `<step>.<stage>`.
"""

# The class body below is python-statemachine's declarative API, whose `State.to.itself` is not
# annotated; the rest of this module is checked strictly.
# mypy: disable-error-code="no-untyped-call"
from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from threading import Lock
from typing import TYPE_CHECKING

from statemachine import State, StateChart

from bot.flows import validate
from bot.flows.catalogue import CHECKLISTS, ChecklistItem, documents_for
from bot.flows.errors import (
    AlreadyApproved,
    AlreadyReviewed,
    AwaitsCustomer,
    DocumentNotRequired,
    EventNotAllowed,
    FindingsNotConfirmed,
    Gate,
    GateNotPassed,
    IncompleteChecklist,
    InputField,
    InvalidValue,
    MissingDocuments,
    NoFindings,
    NotPermitted,
    RejectedNotReplaced,
    SipStageOutOfOrder,
    StaleRevision,
    SwitchDropsDocuments,
    UnknownDocument,
    UnknownTicket,
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
from bot.flows.record import ChartModel

if TYPE_CHECKING:
    from statemachine.state import State as StateType

# Who may send what. Customer-side events may also be sent by an SE acting for the customer (an
# SE who received the documents by email uploads them); managers only read. Review verdicts and
# SIP stages are SE-only: a customer must never pass a gate by sending them. The system sends
# only what the cloud API showed (`confirm_by_cloud`), and nobody else may.
CUSTOMER_SIDE_ROLES = frozenset({ActorRole.CUSTOMER, ActorRole.SE})
SE_ONLY_EVENTS = frozenset(
    {"approve_document", "reject_document", "approve_script", "reject_script", "advance_sip_stage"}
)
SYSTEM_EVENTS = frozenset({"confirm_by_cloud"})

# Sub-stages where the customer waits for an SE: entering one posts no step prompt.
WAITING_STAGES = frozenset({"qualification.review", "numbers.script_review", "numbers.sip_ticket"})

# Validator every evented transition runs first.
_MAY = "actor_may_send"


def roles_for(event: str) -> frozenset[ActorRole]:
    if event in SYSTEM_EVENTS:
        return frozenset({ActorRole.SYSTEM})
    return frozenset({ActorRole.SE}) if event in SE_ONLY_EVENTS else CUSTOMER_SIDE_ROLES


class OnboardingChart(StateChart[ChartModel]):
    """One tenant's onboarding. Build it around a `ChartModel`; `engine.apply` does that."""

    allow_event_without_transition = False  # a stale or forbidden click must raise
    catch_errors_as_events = False  # a refused event must not half-happen

    account = State("1 Tencent Cloud account", initial=True, value=Step.ACCOUNT.value)
    real_name = State("2 Real-name verification", value=Step.REAL_NAME.value)
    instance = State("3 Call-center instance", value=Step.INSTANCE.value)

    class qualification(State.Compound, name="4 Qualification review", value="qualification"):
        choosing_role = State("Choose applicant", initial=True, value="qualification.role")
        collecting = State("Upload documents", value="qualification.collecting")
        in_review = State("Documents in review", value="qualification.review")
        rework = State("Replace rejected documents", value="qualification.rework")

    class numbers(State.Compound, name="5 Number access", value="numbers"):
        # While the path is not committed (nothing bought, no ticket opened) the customer may
        # switch paths: one transition from this parent covers every child.
        class uncommitted(State.Compound, name="Path open", value="numbers.uncommitted"):
            choosing_path = State("Choose a path", initial=True, value="numbers.choose")
            confirming_400 = State("400: inbound only?", value="numbers.confirm_400")
            writing_script = State("Submit call script", value="numbers.script")
            script_in_review = State("Script in review", value="numbers.script_review")
            purchasing = State("Buy the number", value="numbers.purchase")
            sip_request = State("SIP trunk request", value="numbers.sip_request")

        sip_ticket = State("SIP ticket in progress", value="numbers.sip_ticket")

    console = State("6 Console setup", value=Step.CONSOLE.value)
    login = State("7 First login", value=Step.LOGIN.value)
    sdk = State("8 SDK integration", value=Step.SDK.value)
    live = State("Live", final=True, value=Step.LIVE.value)

    # -- steps 1-3 -------------------------------------------------------------------------------
    confirm_account = account.to(real_name, validators=[_MAY, "valid_uin"])
    confirm_real_name = real_name.to(instance, validators=[_MAY])
    create_instance = instance.to(qualification, validators=[_MAY, "valid_instance"])

    # -- step 4 ----------------------------------------------------------------------------------
    # The role can change until the documents are submitted; a change that would remove
    # uploaded documents waits for the person to confirm which.
    choose_role = qualification.choosing_role.to(
        qualification.collecting, validators=[_MAY]
    ) | qualification.collecting.to.itself(validators=[_MAY, "switch_confirmed"])
    # A document can be replaced while it is collected, after a review asked for new ones, and
    # during the review itself: a file the reviewer rejected (or one not reviewed yet) is
    # replaced at once and reviewed with the rest of that round.
    add_document = (
        qualification.collecting.to.itself(internal=True, validators=[_MAY, "document_required"])
        | qualification.rework.to.itself(internal=True, validators=[_MAY, "document_required"])
        | qualification.in_review.to.itself(
            internal=True, validators=[_MAY, "document_required", "replaceable_in_review"]
        )
    )
    # The pre-check saw something wrong with a file; the customer sends it to review as it is
    # (replacing it is an `add_document`).
    send_anyway = (
        qualification.collecting.to.itself(internal=True, validators=[_MAY, "findings_open"])
        | qualification.rework.to.itself(internal=True, validators=[_MAY, "findings_open"])
        | qualification.in_review.to.itself(internal=True, validators=[_MAY, "findings_open"])
    )
    submit_documents = qualification.collecting.to(
        qualification.in_review, validators=[_MAY, "documents_ready"]
    ) | qualification.rework.to(qualification.in_review, validators=[_MAY, "documents_ready"])
    approve_document = qualification.in_review.to.itself(
        internal=True, validators=[_MAY, "verdict_applies"]
    )
    reject_document = qualification.in_review.to.itself(
        internal=True, validators=[_MAY, "verdict_applies", "reason_given"]
    )
    # Eventless: once every document has a verdict, the review decides by itself.
    qualification.in_review.to(
        numbers, cond="all_documents_approved", on="mark_qualification_approved"
    )
    qualification.in_review.to(qualification.rework, cond="review_finished_with_rejections")

    # -- step 5 ----------------------------------------------------------------------------------
    choose_number_path = (
        numbers.uncommitted.to(  # type: ignore[operator]  # a TransitionList at run time
            numbers.uncommitted.confirming_400, cond="path_is_toll_free", validators=[_MAY]
        )
        | numbers.uncommitted.to(
            numbers.uncommitted.sip_request, cond="path_is_sip_trunk", validators=[_MAY]
        )
        | numbers.uncommitted.to(
            numbers.uncommitted.purchasing, cond="script_approved", validators=[_MAY]
        )
        | numbers.uncommitted.to(numbers.uncommitted.writing_script, validators=[_MAY])
    )
    back_to_number_choice = numbers.uncommitted.to(
        numbers.uncommitted.choosing_path, validators=[_MAY]
    )
    confirm_toll_free_inbound_only = numbers.uncommitted.confirming_400.to(
        numbers.uncommitted.purchasing, cond="script_approved", validators=[_MAY]
    ) | numbers.uncommitted.confirming_400.to(numbers.uncommitted.writing_script, validators=[_MAY])
    submit_script = numbers.uncommitted.writing_script.to(
        numbers.uncommitted.script_in_review, validators=[_MAY, "valid_script"]
    )
    approve_script = numbers.uncommitted.script_in_review.to(
        numbers.uncommitted.purchasing, validators=[_MAY, "script_revision_current"]
    )
    reject_script = numbers.uncommitted.script_in_review.to(
        numbers.uncommitted.writing_script,
        validators=[_MAY, "script_revision_current", "reason_given"],
    )
    confirm_purchase = numbers.uncommitted.purchasing.to(
        console, validators=[_MAY, "purchase_allowed", "valid_number"]
    )
    submit_sip_request = numbers.uncommitted.sip_request.to(
        numbers.sip_ticket, validators=[_MAY, "valid_sip_request"]
    )
    advance_sip_stage = numbers.sip_ticket.to(
        console, cond="number_assigned", validators=[_MAY, "sip_stage_is_next"]
    ) | numbers.sip_ticket.to.itself(internal=True, validators=[_MAY, "sip_stage_is_next"])

    # -- steps 6-8 -------------------------------------------------------------------------------
    confirm_console = console.to(login, validators=[_MAY, "checklist_complete"])
    confirm_login = login.to(sdk, validators=[_MAY, "checklist_complete"])
    confirm_sdk = sdk.to(live, validators=[_MAY, "console_done", "checklist_complete"])

    # -- confirmed by the cloud API (steps 3-8) -------------------------------------------------
    # What the API shows done is done, from wherever in the step the tenant is: an instance
    # exists, Tencent approved the qualification, the instance has a number, members and a skill
    # group exist, someone logged in, a call was made. Step 8 still needs step 6 done.
    confirm_by_cloud = (
        instance.to(qualification, validators=[_MAY, "cloud_step_current"])
        | qualification.to(numbers, validators=[_MAY, "cloud_step_current"])
        | numbers.to(console, validators=[_MAY, "cloud_step_current"])
        | console.to(login, validators=[_MAY, "cloud_step_current"])
        | login.to(sdk, validators=[_MAY, "cloud_step_current"])
        | sdk.to(live, validators=[_MAY, "cloud_step_current", "console_done"])
    )

    # -- guards ----------------------------------------------------------------------------------

    @property
    def onboarding(self) -> Onboarding:
        return self.model.onboarding

    def actor_may_send(self, actor: Actor, event: str) -> None:
        if actor.role not in roles_for(str(event)):
            raise NotPermitted(actor.role, str(event))

    def valid_uin(self, uin: str | None = None) -> None:
        validate.uin(uin)

    def valid_instance(
        self, call_center_name: str, admin_name: str, admin_email: str, sla_agreed: bool
    ) -> None:
        validate.instance(call_center_name, admin_name, admin_email, sla_agreed)

    def document_required(self, document: Document) -> None:
        role = self.onboarding.role
        if role is None or document.kind not in documents_for(role):
            raise DocumentNotRequired(document.kind, role)
        validate.text(InputField.DOCUMENT, document.file_id)
        validate.text(InputField.DOCUMENT, document.name)

    def switch_confirmed(self, role: Role, drop: frozenset[DocKind] = frozenset()) -> None:
        ob = self.onboarding
        if role is ob.role:
            return
        wanted = set(documents_for(role))
        removed = [kind for kind in ob.documents if kind not in wanted]
        if any(kind not in drop for kind in removed):
            raise SwitchDropsDocuments(role, removed)

    def replaceable_in_review(self, document: Document) -> None:
        current = self.onboarding.documents.get(document.kind)
        if current is not None and current.verdict is Verdict.APPROVED:
            raise AlreadyApproved(document.kind)

    def documents_ready(self) -> None:
        ob = self.onboarding
        assert ob.role is not None  # collecting is entered by choosing a role
        missing = [kind for kind in documents_for(ob.role) if kind not in ob.documents]
        if missing:
            raise MissingDocuments(missing)
        rejected = [kind for kind, doc in ob.documents.items() if doc.verdict is Verdict.REJECTED]
        if rejected:
            raise RejectedNotReplaced(rejected)
        unconfirmed = [kind for kind, doc in ob.documents.items() if doc.awaits_customer]
        if unconfirmed:
            raise FindingsNotConfirmed(unconfirmed)

    def findings_open(self, kind: DocKind, revision: int) -> None:
        doc = self.onboarding.documents.get(kind)
        if doc is None:
            raise UnknownDocument(kind.value)
        if revision != doc.revision:
            raise StaleRevision(kind.value, revision, doc.revision)
        if not doc.awaits_customer:
            raise NoFindings(kind)

    def verdict_applies(self, kind: DocKind, revision: int) -> None:
        doc = self.onboarding.documents.get(kind)
        if doc is None:
            raise UnknownDocument(kind.value)
        if revision != doc.revision:
            raise StaleRevision(kind.value, revision, doc.revision)
        if doc.awaits_customer:
            raise AwaitsCustomer(kind)
        if doc.verdict is not Verdict.PENDING:
            # One verdict per revision: a second click (or a second reviewer) changes nothing.
            raise AlreadyReviewed(kind.value, doc.verdict.value)

    def reason_given(self, reason: str | None = None) -> None:
        validate.reason(reason)

    def all_documents_approved(self) -> bool:
        docs = self.onboarding.documents.values()
        return bool(docs) and all(doc.verdict is Verdict.APPROVED for doc in docs)

    def review_finished_with_rejections(self) -> bool:
        verdicts = [doc.verdict for doc in self.onboarding.documents.values()]
        return Verdict.PENDING not in verdicts and Verdict.REJECTED in verdicts

    def path_is_toll_free(self, path: NumberPath) -> bool:
        return path is NumberPath.TOLL_FREE_400

    def path_is_sip_trunk(self, path: NumberPath) -> bool:
        return path is NumberPath.SIP_TRUNK

    def script_approved(self) -> bool:
        script = self.onboarding.script
        return script is not None and script.verdict is Verdict.APPROVED

    def valid_script(self, text: str | None = None, file_id: str | None = None) -> None:
        validate.script(text, file_id)

    def script_revision_current(self, revision: int) -> None:
        script = self.onboarding.script
        assert script is not None  # script_in_review is entered by submitting one
        if revision != script.revision:
            raise StaleRevision("script", revision, script.revision)

    def purchase_allowed(self) -> None:
        # An SE override can bring a tenant to step 5 without step 4 passed: buying stays shut.
        if not self.onboarding.qualification_approved:
            raise GateNotPassed(Gate.QUALIFICATION)
        if not self.script_approved():
            raise GateNotPassed(Gate.SCRIPT)

    def valid_number(self, number: str | None = None) -> None:
        if number is not None and number.strip():
            validate.phone_number(InputField.NUMBER, number)

    def valid_sip_request(self, ticket_id: str, request: SipTrunkRequest) -> None:
        validate.ticket_id(ticket_id)
        validate.sip_request(request)

    def sip_stage_is_next(
        self, ticket_id: str, stage: SipStage, assigned_number: str | None = None
    ) -> None:
        ticket = self.onboarding.sip
        if ticket is None or ticket.ticket_id != ticket_id:
            raise UnknownTicket(ticket_id)
        if stage != ticket.stage + 1:
            raise SipStageOutOfOrder(ticket.stage, stage)
        if stage is SipStage.NUMBER_ASSIGNED:
            validate.phone_number(InputField.ASSIGNED_NUMBER, assigned_number)

    def number_assigned(self, stage: SipStage) -> bool:
        return stage is SipStage.NUMBER_ASSIGNED

    def checklist_complete(self, source: StateType, items: frozenset[ChecklistItem]) -> None:
        step = Step(source.value)
        wanted = CHECKLISTS[step]
        foreign = [item for item in items if item not in wanted]
        if foreign:
            raise InvalidValue(InputField.CHECKLIST_ITEMS, "other_step")
        missing = [item.value for item in wanted if item not in items]
        if missing:
            raise IncompleteChecklist(step, missing)

    def cloud_step_current(
        self,
        source: StateType,
        step: Step,
        sdk_app_id: int | None = None,
        number: str | None = None,
    ) -> None:
        # `source` is the step's state (a transition from a compound step starts at the step).
        if Step(source.value) is not step:
            raise EventNotAllowed("confirm_by_cloud", list(self.onboarding.state))
        if step is Step.INSTANCE and sdk_app_id is None:  # what shows the instance exists
            raise InvalidValue(InputField.EVENT, "no_sdk_app_id")
        if number is not None:
            validate.text(InputField.NUMBER, number)

    def console_done(self) -> None:
        if not self.onboarding.console_done:
            raise GateNotPassed(Gate.CONSOLE)


# -- the chart as data ----------------------------------------------------------------------------


def _state(value: str) -> StateType:
    state: StateType = OnboardingChart.states_map[value]
    return state


def initial_configuration(step: Step) -> list[str]:
    """The configuration a chart has right after entering `step`: the step and, for a compound
    step, its initial child, recursively (outermost first)."""
    state = _state(step.value)
    values = [state.value]
    while state.states:
        state = next(child for child in state.states if child.initial)
        values.append(state.value)
    return values


def canonical(values: list[str]) -> list[str]:
    """A configuration ordered outermost first (python-statemachine appends entered states)."""
    return sorted(values, key=lambda value: _state(value).document_order)


def leaf(values: list[str]) -> str:
    """The innermost active state: what the tenant is doing right now."""
    return canonical(values)[-1]


def restore(onboarding: Onboarding) -> OnboardingChart:
    """A new chart resuming `onboarding` where it is (its initial states are not entered again).

    The chart keeps a reference to `onboarding` and writes to it: pass a copy you own. Building
    one is most of what an event costs (python-statemachine binds ~55 callbacks per instance);
    `resumed` lends a chart built earlier instead.
    """
    check_configuration(onboarding.state)
    return OnboardingChart(model=ChartModel(onboarding))


# A chart instance keeps nothing of a record but the reference its `ChartModel` holds: the
# configuration is read from the model on every step and written back to it, and the guards and
# actions read `model.onboarding`. So a chart that finished an event cleanly can take the next
# record by pointing its model at it, and building one per event (80 % of an apply) is not
# needed. What would make an instance remember something is excluded below: a refused event
# (the chart is dropped, not reused), a stopped engine (the final state was entered), and history
# states (their values live on the machine; the chart has none, and the check keeps it so).
if any(state.history for state in OnboardingChart.states_map.values()):
    raise TypeError("OnboardingChart has history states: its charts cannot be lent (`resumed`)")
_IDLE_LIMIT = 8  # more than the threads that ever apply events at once
_PLACEHOLDER = Onboarding()  # what an idle chart's model points at: no tenant's record


class _Lender:
    def __init__(self) -> None:
        self._idle: list[OnboardingChart] = []
        self._lock = Lock()

    @contextmanager
    def resumed(self, onboarding: Onboarding) -> Iterator[OnboardingChart]:
        check_configuration(onboarding.state)
        with self._lock:
            chart = self._idle.pop() if self._idle else None
        if chart is None:
            chart = OnboardingChart(model=ChartModel(onboarding))
        else:
            chart.model.onboarding = onboarding
        reusable = False
        try:
            yield chart
            reusable = not chart.is_terminated and not chart.history_values
        finally:
            chart.model.onboarding = _PLACEHOLDER
            if reusable:
                with self._lock:
                    if len(self._idle) < _IDLE_LIMIT:
                        self._idle.append(chart)


_LENDER = _Lender()


def resumed(onboarding: Onboarding) -> AbstractContextManager[OnboardingChart]:
    """A chart resuming `onboarding`, as `restore` builds it, for the length of a `with` block.

    The chart is one built earlier and lent again when the block ends without an exception;
    it writes to `onboarding`: pass a copy you own. `restore` gives a new chart; both answer
    every event alike (tests/flows/test_lending.py checks this on random event sequences).
    """
    return _LENDER.resumed(onboarding)


def check_configuration(values: list[str]) -> None:
    """Refuse a stored configuration the chart does not know (a corrupt or foreign record)."""
    for value in values:
        if value not in OnboardingChart.states_map:
            raise ValueError(f"stored state {value!r} is not a state of the onboarding chart")
    if not values or values[0] not in {s.value for s in Step}:
        raise ValueError(f"stored state {values!r} does not start with a step")


def allowed_event_names(configuration: list[str]) -> list[str]:
    """Events with a transition from `configuration` (guards not checked), read from the class
    so answering needs no chart instance."""
    check_configuration(configuration)
    seen: dict[str, None] = {}
    for value in configuration:
        for event in _state(value).transitions.unique_events:
            name = str(event)
            if not name.startswith("__"):
                seen[name] = None
    return list(seen)
