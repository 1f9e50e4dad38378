"""The chart's model: an `Onboarding` in the shape python-statemachine expects, and the updates
each event makes to it.

python-statemachine writes the active configuration to `model.<state_field>` as a single value
(one active state) or an `OrderedSet` (a compound state and its active children), and reads it
back the same way. `Onboarding.state` is stored as a plain `list[str]`, outermost first, so this
adapter converts at the boundary: the pydantic record never holds an `OrderedSet`, and a record
restored from storage resumes exactly where it was (the engine does not re-enter initial states
when the state field is set).

The `on_<event>` methods are the chart's actions (found on the model by naming convention): they
run only after the chart's validators and guards accepted the event, so they just record.
"""

from __future__ import annotations

from collections.abc import MutableSet
from datetime import datetime

from statemachine.orderedset import OrderedSet

from bot.flows.catalogue import documents_for
from bot.flows.model import (
    Actor,
    DocKind,
    Document,
    InstanceInfo,
    NumberPath,
    Onboarding,
    Role,
    ScriptReview,
    SipStage,
    SipTrunkRequest,
    SipTrunkTicket,
    Step,
    Verdict,
)


def to_chart_value(values: list[str]) -> str | OrderedSet[str] | None:
    """The stored list as python-statemachine reads it from a model."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return OrderedSet(values)


def from_chart_value(value: object) -> list[str]:
    """What python-statemachine writes to a model, as the list we store."""
    if value is None:
        return []
    if isinstance(value, MutableSet):
        return [str(v) for v in value]
    return [str(value)]


class ChartModel:
    """Wraps one working copy of an `Onboarding`; the engine never hands it the caller's copy."""

    def __init__(self, onboarding: Onboarding) -> None:
        self.onboarding = onboarding

    @property
    def state(self) -> str | OrderedSet[str] | None:
        return to_chart_value(self.onboarding.state)

    @state.setter
    def state(self, value: object) -> None:
        self.onboarding.state = from_chart_value(value)

    # -- steps 1-3 -------------------------------------------------------------------------------

    def on_confirm_account(self, uin: str | None = None) -> None:
        self.onboarding.account_confirmed = True
        self.onboarding.account_uin = uin.strip() if uin and uin.strip() else None

    def on_confirm_real_name(self) -> None:
        self.onboarding.real_name_confirmed = True

    def on_create_instance(
        self, call_center_name: str, admin_name: str, admin_email: str, sla_agreed: bool
    ) -> None:
        self.onboarding.instance = InstanceInfo(
            call_center_name=call_center_name.strip(),
            admin_name=admin_name.strip(),
            admin_email=admin_email.strip(),
            sla_agreed=sla_agreed,
        )

    # -- step 4 ----------------------------------------------------------------------------------

    def on_choose_role(self, role: Role) -> None:
        # Documents both roles need (business licence, legal rep's ID, the two forms) are kept;
        # the rest belong to the other role's set and would only confuse the reviewer.
        self.onboarding.role = role
        wanted = set(documents_for(role))
        self.onboarding.documents = {
            kind: doc for kind, doc in self.onboarding.documents.items() if kind in wanted
        }

    def on_add_document(self, document: Document) -> None:
        previous = self.onboarding.documents.get(document.kind)
        revision = previous.revision + 1 if previous else 1
        rejected = previous is not None and previous.verdict is Verdict.REJECTED
        # A new file is a new revision with no verdict, whatever the caller put in those fields.
        self.onboarding.documents[document.kind] = document.model_copy(
            update={
                "revision": revision,
                "rejected_before": (previous.reason or "-") if previous and rejected else None,
                "verdict": Verdict.PENDING,
                "reason": None,
                "reviewed_by": None,
                "reviewed_at": None,
                "findings_confirmed": False,
            }
        )

    def on_send_anyway(self, kind: DocKind) -> None:
        doc = self.onboarding.documents[kind]
        self.onboarding.documents[kind] = doc.model_copy(update={"findings_confirmed": True})

    def on_submit_documents(self) -> None:
        self.onboarding.document_round += 1

    def _record_verdict(
        self, kind: DocKind, verdict: Verdict, reason: str | None, actor: Actor, now: datetime
    ) -> None:
        doc = self.onboarding.documents[kind]
        self.onboarding.documents[kind] = doc.model_copy(
            update={
                "verdict": verdict,
                "reason": reason,
                "reviewed_by": actor.user_id,
                "reviewed_at": now,
            }
        )

    def on_approve_document(self, kind: DocKind, actor: Actor, now: datetime) -> None:
        self._record_verdict(kind, Verdict.APPROVED, None, actor, now)

    def on_reject_document(self, kind: DocKind, reason: str, actor: Actor, now: datetime) -> None:
        self._record_verdict(kind, Verdict.REJECTED, reason.strip(), actor, now)

    def mark_qualification_approved(self) -> None:
        self.onboarding.qualification_approved = True

    # -- step 5 ----------------------------------------------------------------------------------

    def on_choose_number_path(self, path: NumberPath) -> None:
        self.onboarding.number_path = path
        # The inbound-only warning is acknowledged for one choice of the 400 path, not forever.
        self.onboarding.toll_free_inbound_only_confirmed = False

    def on_back_to_number_choice(self) -> None:
        self.onboarding.number_path = None
        self.onboarding.toll_free_inbound_only_confirmed = False

    def on_confirm_toll_free_inbound_only(self) -> None:
        self.onboarding.toll_free_inbound_only_confirmed = True

    def on_submit_script(
        self, text: str | None = None, file_id: str | None = None, file_name: str | None = None
    ) -> None:
        previous = self.onboarding.script
        self.onboarding.script = ScriptReview(
            text=text.strip() if text and text.strip() else None,
            file_id=file_id or None,
            file_name=file_name or None,
            revision=previous.revision + 1 if previous else 1,
        )

    def on_approve_script(self, actor: Actor) -> None:
        assert self.onboarding.script is not None  # the validator checked it
        self.onboarding.script = self.onboarding.script.model_copy(
            update={"verdict": Verdict.APPROVED, "reason": None, "reviewed_by": actor.user_id}
        )

    def on_reject_script(self, reason: str, actor: Actor) -> None:
        assert self.onboarding.script is not None
        self.onboarding.script = self.onboarding.script.model_copy(
            update={
                "verdict": Verdict.REJECTED,
                "reason": reason.strip(),
                "reviewed_by": actor.user_id,
            }
        )

    def on_confirm_purchase(self, number: str | None = None) -> None:
        self.onboarding.purchase_confirmed = True
        self.onboarding.purchased_number = number.strip() if number and number.strip() else None

    def on_submit_sip_request(
        self, ticket_id: str, request: SipTrunkRequest, actor: Actor, now: datetime
    ) -> None:
        self.onboarding.sip = SipTrunkTicket(
            ticket_id=ticket_id.strip(), request=request, opened_by=actor.user_id, opened_at=now
        )

    def on_advance_sip_stage(self, stage: SipStage, assigned_number: str | None = None) -> None:
        assert self.onboarding.sip is not None
        update: dict[str, object] = {"stage": stage}
        if stage is SipStage.NUMBER_ASSIGNED and assigned_number:
            update["assigned_number"] = assigned_number.strip()
        self.onboarding.sip = self.onboarding.sip.model_copy(update=update)

    # -- steps 6-8 -------------------------------------------------------------------------------

    def on_confirm_console(self) -> None:
        self.onboarding.console_done = True

    def on_confirm_login(self) -> None:
        self.onboarding.login_done = True

    def on_confirm_sdk(self) -> None:
        self.onboarding.sdk_done = True

    # -- confirmed by the cloud API ----------------------------------------------------------------

    def on_confirm_by_cloud(
        self, step: Step, sdk_app_id: int | None = None, number: str | None = None
    ) -> None:
        ob = self.onboarding
        if sdk_app_id is not None:
            ob.sdk_app_id = sdk_app_id
        if step is Step.QUALIFICATION:
            ob.qualification_approved = True
        elif step is Step.NUMBERS:
            # The number is on the instance: bought, or assigned after a SIP trunk.
            ob.purchase_confirmed = True
            if number and number.strip() and ob.purchased_number is None:
                ob.purchased_number = number.strip()
        elif step is Step.CONSOLE:
            ob.console_done = True
        elif step is Step.LOGIN:
            ob.login_done = True
        elif step is Step.SDK:
            ob.sdk_done = True
