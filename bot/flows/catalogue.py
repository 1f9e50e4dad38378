"""The step catalogue: which documents each applicant role needs, what each step links to, what
each checklist asks, as data the flow and the UI share.

One source of truth for each kind of fact:
- *Structure* lives here, in code, because the flow's logic depends on it: which documents a role
  needs, which are stamped or have a template, which links and checklist items a step has.
- *Everything a user reads* lives in the content files (`bot/content/<lang>/flow.yaml`), including
  the URLs and TCCC's SIP parameters, so an operator can fix wording or a moved page without a
  release. This module only names the content keys. Where code needs a fact that is text (the SIP
  parameters for a ticket), it reads it from the catalogue by key (`tccc_sip_parameters`).
- `tests/flows/test_catalogue.py` pins the content's URLs and SIP parameters to DOMAIN.md and checks
  that the structure here and the content agree (a template key exists exactly when
  `has_template`), so neither can drift silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.flows.model import DocKind, NumberPath, Role, SipStage, Step
from bot.i18n import Catalog, Lang

# -- step 4: documents per applicant role ---------------------------------------------------------

_DOCUMENTS: dict[Role, tuple[DocKind, ...]] = {
    Role.AGENT: (
        DocKind.BUSINESS_LICENSE,
        DocKind.LEGAL_REP_ID,
        DocKind.AGENT_ID,
        DocKind.AGENT_HOLDING_ID,
        DocKind.PHONE_ACCEPTANCE_FORM,
        DocKind.NETWORK_ACCESS_COMMITMENT,
        DocKind.AUTHORIZATION_LETTER,
    ),
    # The source's table lists the legal representative's ID card twice (rows 2 and 3); it is
    # one document, asked for once.
    Role.LEGAL_REP: (
        DocKind.BUSINESS_LICENSE,
        DocKind.LEGAL_REP_ID,
        DocKind.LEGAL_REP_HOLDING_ID,
        DocKind.PHONE_ACCEPTANCE_FORM,
        DocKind.NETWORK_ACCESS_COMMITMENT,
    ),
}


def documents_for(role: Role) -> tuple[DocKind, ...]:
    """The documents an applicant of `role` must upload, in the source's order."""
    return _DOCUMENTS[role]


@dataclass(frozen=True)
class DocumentSpec:
    kind: DocKind
    stamped: bool  # must carry the company seal (加盖公司公章)
    has_template: bool  # the source offers a template to download

    @property
    def name_key(self) -> str:
        return f"documents.{self.kind.value}.name"

    @property
    def template_key(self) -> str | None:
        return f"documents.{self.kind.value}.template" if self.has_template else None

    def example_key(self, role: Role) -> str:
        """The example link; the source shows a different business-licence example per role."""
        return _EXAMPLE_OVERRIDES.get((role, self.kind), f"documents.{self.kind.value}.example")


_SPECS: dict[DocKind, DocumentSpec] = {
    spec.kind: spec
    for spec in (
        DocumentSpec(DocKind.BUSINESS_LICENSE, stamped=True, has_template=False),
        DocumentSpec(DocKind.LEGAL_REP_ID, stamped=True, has_template=False),
        DocumentSpec(DocKind.AGENT_ID, stamped=True, has_template=False),
        DocumentSpec(DocKind.AGENT_HOLDING_ID, stamped=False, has_template=False),
        DocumentSpec(DocKind.LEGAL_REP_HOLDING_ID, stamped=False, has_template=False),
        DocumentSpec(DocKind.PHONE_ACCEPTANCE_FORM, stamped=True, has_template=True),
        DocumentSpec(DocKind.NETWORK_ACCESS_COMMITMENT, stamped=True, has_template=True),
        DocumentSpec(DocKind.AUTHORIZATION_LETTER, stamped=True, has_template=True),
    )
}

_EXAMPLE_OVERRIDES: dict[tuple[Role, DocKind], str] = {
    (Role.LEGAL_REP, DocKind.BUSINESS_LICENSE): "documents.business_license.example_legal_rep",
}

STAMPED_NOTE_KEY = "documents.stamped_note"


def document_spec(kind: DocKind) -> DocumentSpec:
    return _SPECS[kind]


def role_name_key(role: Role) -> str:
    return f"roles.{role.value}.name"


# -- steps ----------------------------------------------------------------------------------------

# The links each step's prompt offers, by name: `steps.<step>.links.<name>` in the content.
_STEP_LINKS: dict[Step, tuple[str, ...]] = {
    Step.ACCOUNT: ("register",),
    Step.REAL_NAME: ("console", "verification"),
    Step.INSTANCE: ("console", "sla", "login"),
    Step.QUALIFICATION: (),
    Step.NUMBERS: ("purchase_guide", "pricing", "workorder"),
    Step.CONSOLE: ("console",),
    Step.LOGIN: ("login",),
    Step.SDK: ("console",),
    Step.LIVE: (),
}


@dataclass(frozen=True)
class StepSpec:
    step: Step

    @property
    def title_key(self) -> str:
        return f"steps.{self.step.value}.title"

    @property
    def prompt_key(self) -> str:
        """What to do in this step, with its links."""
        return f"steps.{self.step.value}.prompt"

    @property
    def done_key(self) -> str:
        """How the bot knows the step is done."""
        return f"steps.{self.step.value}.done"

    @property
    def link_keys(self) -> tuple[str, ...]:
        return tuple(f"steps.{self.step.value}.links.{name}" for name in _STEP_LINKS[self.step])


def step_spec(step: Step) -> StepSpec:
    return StepSpec(step)


def event_label_key(event: str) -> str:
    """The label of an event's button (and its name in the audit view)."""
    return f"flow.events.{event}"


# -- steps 6-8: checklists the customer ticks -----------------------------------------------------


class ChecklistItem(StrEnum):
    """What the customer confirms to finish steps 6-8. Values are stored: never rename."""

    # step 6, console
    MEMBERS_ADDED = "members_added"
    SKILL_GROUPS_CREATED = "skill_groups_created"
    IVR_BOUND = "ivr_bound"
    OUTBOUND_NUMBERS_ASSIGNED = "outbound_numbers_assigned"
    # step 7, first login
    PASSWORD_RECEIVED = "password_received"  # noqa: S105 - a checklist item, not a secret
    WORKBENCH_LOGGED_IN = "workbench_logged_in"
    MICROPHONE_ALLOWED = "microphone_allowed"
    # step 8, SDK
    TOKEN_FROM_SERVER = "token_from_server"  # noqa: S105 - a checklist item, not a secret
    SDK_LOADED = "sdk_loaded"
    FIRST_CALL_RECORDED = "first_call_recorded"


CHECKLISTS: dict[Step, tuple[ChecklistItem, ...]] = {
    Step.CONSOLE: (
        ChecklistItem.MEMBERS_ADDED,
        ChecklistItem.SKILL_GROUPS_CREATED,
        ChecklistItem.IVR_BOUND,
        ChecklistItem.OUTBOUND_NUMBERS_ASSIGNED,
    ),
    Step.LOGIN: (
        ChecklistItem.PASSWORD_RECEIVED,
        ChecklistItem.WORKBENCH_LOGGED_IN,
        ChecklistItem.MICROPHONE_ALLOWED,
    ),
    Step.SDK: (
        ChecklistItem.TOKEN_FROM_SERVER,
        ChecklistItem.SDK_LOADED,
        ChecklistItem.FIRST_CALL_RECORDED,
    ),
}


def checklist_item_key(step: Step, item: ChecklistItem) -> str:
    return f"checklists.{step.value}.{item.value}"


# -- step 5: number paths and SIP -----------------------------------------------------------------


def number_path_keys(path: NumberPath) -> tuple[str, str]:
    """The name and the explanation of a number path."""
    return f"numbers.{path.value}.name", f"numbers.{path.value}.explain"


def sip_stage_key(stage: SipStage) -> str:
    return f"sip.stages.{stage.name.lower()}"


@dataclass(frozen=True)
class SipParameters:
    """TCCC's side of a SIP trunk, as the ticket and the customer's carrier need it."""

    inbound: str  # where the carrier sends calls to TCCC (a domain:port)
    inbound_ips: tuple[str, ...]  # that domain's addresses
    outbound: tuple[str, ...]  # where TCCC calls out from and answers signalling from


def _values_under(catalog: Catalog, prefix: str) -> tuple[str, ...]:
    return tuple(catalog.t(Lang.ZH, key) for key in catalog.keys_under(prefix))


def tccc_sip_parameters(catalog: Catalog) -> SipParameters:
    """Read TCCC's SIP parameters from the content, the one place they are written down."""
    return SipParameters(
        inbound=catalog.t(Lang.ZH, "sip.params.inbound"),
        inbound_ips=_values_under(catalog, "sip.params.inbound_ips"),
        outbound=_values_under(catalog, "sip.params.outbound"),
    )


SIP_PARAMETER_LABEL_KEYS = (
    "sip.labels.inbound",
    "sip.labels.inbound_ips",
    "sip.labels.outbound",
)
