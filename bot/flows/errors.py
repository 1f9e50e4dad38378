"""Why the flow refused an event, as exceptions that carry the message to show.

Every error names a content key (under `errors.` in `flow.yaml`) plus its parameters, so the one
place that turns domain errors into replies (handlers) never needs to know each case. `params`
are literal values; `labels` are content keys (a document's name, a step's title) that the reader
renders in their own language before filling them in: see `MessageRef` in `effects.py`.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from bot.flows.effects import MessageRef
from bot.flows.model import ActorRole, DocKind, Role, SipStage, Step


class FlowError(Exception):
    """The flow refused an event. The onboarding it was applied to is unchanged."""

    key: str = "errors.generic"

    def __init__(
        self,
        detail: str,
        *,
        params: dict[str, str] | None = None,
        labels: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.params: dict[str, str] = params or {}
        self.labels: dict[str, str] = labels or {}

    @property
    def message(self) -> MessageRef:
        """What to tell the user, in their language."""
        return MessageRef(key=self.key, params=self.params, labels=self.labels)


class EventNotAllowed(FlowError):
    """The event makes no sense in the onboarding's current state (a stale or repeated click)."""

    key = "errors.event_not_allowed"

    def __init__(self, event: str, state: Iterable[str]) -> None:
        self.event = event
        self.state = list(state)
        step = Step(self.state[0]) if self.state else Step.ACCOUNT
        super().__init__(
            f"{event} is not allowed in {'/'.join(self.state)}",
            labels={"step": f"steps.{step.value}.title"},
        )


class NotPermitted(FlowError):
    """The actor's role may not send this event (e.g. a customer approving a document)."""

    key = "errors.not_permitted"

    def __init__(self, role: ActorRole, event: str) -> None:
        self.role = role
        self.event = event
        super().__init__(f"{role.value} may not send {event}")


class UnknownDocument(FlowError):
    """A document kind the flow does not know, or one this onboarding has not received."""

    key = "errors.unknown_document"

    def __init__(self, kind: str) -> None:
        self.kind = kind
        super().__init__(f"no document {kind!r}", params={"kind": kind})


class DocumentNotRequired(FlowError):
    key = "errors.document_not_required"

    def __init__(self, kind: DocKind, role: Role | None) -> None:
        self.kind = kind
        self.role = role
        role_key = f"roles.{role.value}.name" if role else "roles.none"
        super().__init__(
            f"{kind.value} is not required for {role}",
            labels={"document": f"documents.{kind.value}.name", "role": role_key},
        )


class MissingDocuments(FlowError):
    """Submission refused: these required documents have not been uploaded."""

    key = "errors.missing_documents"

    def __init__(self, kinds: Iterable[DocKind]) -> None:
        self.kinds = tuple(kinds)
        super().__init__(
            f"missing {', '.join(k.value for k in self.kinds)}",
            params={"count": str(len(self.kinds))},
        )


class RejectedNotReplaced(FlowError):
    """Resubmission refused: these rejected documents have not been replaced yet."""

    key = "errors.rejected_not_replaced"

    def __init__(self, kinds: Iterable[DocKind]) -> None:
        self.kinds = tuple(kinds)
        super().__init__(
            f"not replaced: {', '.join(k.value for k in self.kinds)}",
            params={"count": str(len(self.kinds))},
        )


class FindingsNotConfirmed(FlowError):
    """Submission refused: the pre-check saw something wrong with these documents and the
    customer has neither replaced them nor chosen to send them anyway."""

    key = "errors.findings_not_confirmed"

    def __init__(self, kinds: Iterable[DocKind]) -> None:
        self.kinds = tuple(kinds)
        super().__init__(
            f"findings not confirmed: {', '.join(k.value for k in self.kinds)}",
            params={"count": str(len(self.kinds))},
        )


class AwaitsCustomer(FlowError):
    """A verdict on a document the customer may still replace: it has findings they have not
    chosen to send anyway, so it is not in review yet."""

    key = "errors.awaits_customer"

    def __init__(self, kind: DocKind) -> None:
        self.kind = kind
        super().__init__(f"{kind.value} awaits the customer's choice")


class NoFindings(FlowError):
    """ "Send anyway" on a document with nothing to send anyway (or already sent)."""

    key = "errors.no_findings"

    def __init__(self, kind: DocKind) -> None:
        self.kind = kind
        super().__init__(f"{kind.value} has no findings to confirm")


class StaleRevision(FlowError):
    """A verdict on a revision that has been replaced since the reviewer looked at it."""

    key = "errors.stale_revision"

    def __init__(self, subject: str, seen: int, current: int) -> None:
        self.subject = subject
        self.seen = seen
        self.current = current
        super().__init__(
            f"{subject}: revision {seen} was reviewed but {current} is current",
            params={"seen": str(seen), "current": str(current)},
        )


class AlreadyReviewed(FlowError):
    """A second verdict on a document (or script) that already has one in this round."""

    key = "errors.already_reviewed"

    def __init__(self, subject: str, verdict: str) -> None:
        self.subject = subject
        self.verdict = verdict
        super().__init__(f"{subject} is already {verdict}")


class AlreadyApproved(FlowError):
    """A replacement for a document already approved in this review: nothing to replace."""

    key = "errors.already_approved"

    def __init__(self, kind: DocKind) -> None:
        self.kind = kind
        super().__init__(
            f"{kind.value} is already approved", labels={"document": f"documents.{kind.value}.name"}
        )


class SwitchDropsDocuments(FlowError):
    """Changing who applies would remove uploaded documents the new applicant does not need;
    the switch waits until the person confirms which (`ChooseRole.drop`)."""

    key = "errors.switch_drops_documents"

    def __init__(self, role: Role, kinds: Iterable[DocKind]) -> None:
        self.role = role
        self.kinds = tuple(kinds)
        super().__init__(
            f"switching to {role.value} removes {', '.join(k.value for k in self.kinds)}",
            params={"count": str(len(self.kinds))},
            labels={"role": f"roles.{role.value}.name"},
        )


class InputField(StrEnum):
    """The values the flow checks; each has its own message, `errors.invalid.<field>`."""

    UIN = "uin"
    CALL_CENTER_NAME = "call_center_name"
    ADMIN_NAME = "admin_name"
    ADMIN_EMAIL = "admin_email"
    SLA_AGREED = "sla_agreed"
    DOCUMENT = "document"
    REASON = "reason"
    SCRIPT = "script"
    NUMBER = "number"
    TICKET_ID = "ticket_id"
    CARRIER = "carrier"
    SIP_NUMBERS = "sip_numbers"
    SIGNALLING = "signalling"
    MEDIA_IP_RANGE = "media_ip_range"
    CONTACT_NAME = "contact_name"
    CONTACT_PHONE = "contact_phone"
    ASSIGNED_NUMBER = "assigned_number"
    CHECKLIST_ITEMS = "checklist_items"
    STEP = "step"
    EVENT = "event"


class InvalidValue(FlowError):
    """A value the flow will not store; `why` is a short code for logs and tests."""

    def __init__(self, field: InputField, why: str) -> None:
        self.field = field
        self.why = why
        self.key = f"errors.invalid.{field.value}"
        super().__init__(f"{field.value}: {why}")


class Gate(StrEnum):
    QUALIFICATION = "qualification"  # numbers can only be bought after step 4 passed
    SCRIPT = "script"  # ... and after the call script passed review
    CONSOLE = "console"  # SDK integration needs members and IVR set up (step 6)


class GateNotPassed(FlowError):
    """An earlier gate must be passed first (e.g. buying a number before qualification)."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.key = f"errors.gate.{gate.value}"
        super().__init__(f"gate not passed: {gate.value}")


class IncompleteChecklist(FlowError):
    """A step is confirmed only when every item of its checklist is ticked."""

    key = "errors.checklist_incomplete"

    def __init__(self, step: Step, missing: Iterable[str]) -> None:
        self.step = step
        self.missing = tuple(missing)
        super().__init__(
            f"{step.value}: not confirmed: {', '.join(self.missing)}",
            params={"count": str(len(self.missing))},
        )


class UnknownTicket(FlowError):
    """A SIP stage update for a ticket that is not this onboarding's current ticket."""

    key = "errors.unknown_ticket"

    def __init__(self, ticket_id: str) -> None:
        self.ticket_id = ticket_id
        super().__init__(f"no ticket {ticket_id!r}", params={"ticket_id": ticket_id})


class SipStageOutOfOrder(FlowError):
    """SIP stages move one at a time, forward only."""

    key = "errors.sip_stage_order"

    def __init__(self, current: SipStage, requested: SipStage) -> None:
        self.current = current
        self.requested = requested
        if requested <= current:
            # A repeated click (or an older card): the ticket is there already.
            self.key = "errors.sip_stage_reached"
        super().__init__(
            f"ticket is at {current.name}, cannot move to {requested.name}",
            labels={
                "current": f"sip.stages.{current.name.lower()}",
                "requested": f"sip.stages.{requested.name.lower()}",
            },
        )


def error_keys() -> frozenset[str]:
    """Every content key an error can name, for the test that the content has them all."""
    fixed = (
        FlowError,
        EventNotAllowed,
        NotPermitted,
        UnknownDocument,
        DocumentNotRequired,
        MissingDocuments,
        RejectedNotReplaced,
        FindingsNotConfirmed,
        AwaitsCustomer,
        NoFindings,
        StaleRevision,
        AlreadyReviewed,
        AlreadyApproved,
        SwitchDropsDocuments,
        IncompleteChecklist,
        UnknownTicket,
        SipStageOutOfOrder,
    )
    return frozenset(
        [cls.key for cls in fixed]
        + [f"errors.invalid.{f.value}" for f in InputField]
        + [f"errors.gate.{g.value}" for g in Gate]
        + ["roles.none", "errors.sip_stage_reached"]
    )
