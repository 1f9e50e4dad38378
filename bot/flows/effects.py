"""What a transition wants to happen outside the process, as data.

The flow returns effects; the state layer writes them to the tenant's outbox in the same atomic
write as the state change; the effect runner carries them out afterwards. Effects name *what*
should happen (in domain terms and message keys), never *how* it looks in Slack.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.flows.model import DocKind, SipStage, Step
from bot.i18n import Catalog, Lang


class MessageRef(BaseModel):
    """A message to show, named by content key, rendered later in the reader's language.

    `params` are literal values (a rejection reason, a ticket id). `labels` name other content
    keys (a document's name, a step's title) that are rendered in the same language first and
    then filled in, so a message can name a document in Chinese or English without the flow
    knowing which.
    """

    model_config = ConfigDict(frozen=True)

    key: str
    params: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)

    def render(self, catalog: Catalog, lang: Lang | str) -> str:
        # A label may be a message with placeholders of its own, filled from `params` too.
        values: dict[str, object] = {
            name: catalog.t(lang, key, **self.params) for name, key in self.labels.items()
        }
        values.update(self.params)
        return catalog.t(lang, self.key, **values)


class _Effect(BaseModel):
    model_config = ConfigDict(frozen=True)


class UpdateChecklist(_Effect):
    """Re-render the tenant's progress checklist message in place."""

    kind: Literal["update_checklist"] = "update_checklist"


class PostStepPrompt(_Effect):
    """Post the prompt of the tenant's current step (what to do next, with its buttons)."""

    kind: Literal["post_step_prompt"] = "post_step_prompt"
    step: Step
    stage: str | None = None  # the sub-stage (state value) inside the step, when it has one
    next_action: MessageRef | None = None  # what the customer must do, as of this change


class NotifyCustomer(_Effect):
    """Tell the customer something in the tenant's channel, in the tenant's language."""

    kind: Literal["notify_customer"] = "notify_customer"
    message: str  # content key
    params: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)  # placeholder -> content key

    @property
    def text(self) -> MessageRef:
        return MessageRef(key=self.message, params=self.params, labels=self.labels)


class NotifyOps(_Effect):
    """Tell the solution engineers something in the ops channel."""

    kind: Literal["notify_ops"] = "notify_ops"
    message: str  # content key
    params: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)  # placeholder -> content key

    @property
    def text(self) -> MessageRef:
        return MessageRef(key=self.message, params=self.params, labels=self.labels)


class PostDocumentReview(_Effect):
    """Post the review card for a document submission (one card per submission round)."""

    kind: Literal["post_document_review"] = "post_document_review"
    round: int


class UpdateDocumentReview(_Effect):
    """Re-render the review card after a verdict."""

    kind: Literal["update_document_review"] = "update_document_review"
    document: DocKind


class PostScriptReview(_Effect):
    kind: Literal["post_script_review"] = "post_script_review"
    revision: int


class UpdateScriptReview(_Effect):
    """Re-render the call-script review card after a verdict."""

    kind: Literal["update_script_review"] = "update_script_review"
    revision: int


class OpenSipTicket(_Effect):
    """Send the SIP-trunk ticket to the configured ticket backends."""

    kind: Literal["open_sip_ticket"] = "open_sip_ticket"
    ticket_id: str


class SipStageChanged(_Effect):
    kind: Literal["sip_stage_changed"] = "sip_stage_changed"
    ticket_id: str
    stage: SipStage


class RemindCustomer(_Effect):
    """A reminder in the customer's channel: the exact next action, and the documents still
    missing with their templates. From the stalled sweep, or an SE's nudge (`nudged_by`)."""

    kind: Literal["remind_customer"] = "remind_customer"
    nudged_by: str | None = None


class NotifyOwner(_Effect):
    """Tell the owning SE (or, without one, the ops channel) about the tenant's stall: rung 1
    when it waits on us, rung 2 with *Nudge now* and *Snooze 1 day*."""

    kind: Literal["notify_owner"] = "notify_owner"
    rung: int


class NotifyManagers(_Effect):
    """The last rung: the managers hear of the stall (their channel, or a DM each)."""

    kind: Literal["notify_managers"] = "notify_managers"


class DirectMessage(_Effect):
    """A message to one person, in their own language (`message` is a content key)."""

    kind: Literal["direct_message"] = "direct_message"
    user: str
    message: str
    params: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    mentions: dict[str, str] = Field(default_factory=dict)  # placeholder -> Slack user id

    @property
    def text(self) -> MessageRef:
        return MessageRef(key=self.message, params=self.params, labels=self.labels)


Effect = Annotated[
    UpdateChecklist
    | PostStepPrompt
    | NotifyCustomer
    | NotifyOps
    | PostDocumentReview
    | UpdateDocumentReview
    | PostScriptReview
    | UpdateScriptReview
    | OpenSipTicket
    | SipStageChanged
    | RemindCustomer
    | NotifyOwner
    | NotifyManagers
    | DirectMessage,
    Field(discriminator="kind"),
]
