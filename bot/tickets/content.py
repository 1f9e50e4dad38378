"""Every content key the ticket code names, in one place, so a test can check they all exist."""

from __future__ import annotations

from bot.config import TicketBackend as BackendName
from bot.flows.catalogue import SIP_PARAMETER_LABEL_KEYS, sip_stage_key
from bot.flows.model import SipStage
from bot.tickets.text import FIELD_KEYS

_KEYS = (
    "tickets.card.title",
    "tickets.card.fallback",
    "tickets.card.done",
    "tickets.values.not_provided",
    "tickets.values.not_yet",
    "tickets.values.contact",
    "tickets.values.opened",
    "tickets.tccc.title",
    "tickets.progress.title",
    "tickets.progress.done",
    "tickets.progress.current",
    "tickets.progress.todo",
    "tickets.status.title",
    "tickets.status.separator",
    "tickets.status.delivered",
    "tickets.status.delivered_ref",
    "tickets.status.waiting",
    "tickets.status.pending",
    "tickets.status.update_pending",
    "tickets.status.failed",
    "tickets.status.refused",
    "tickets.status.update_failed",
    "tickets.gave_up.notice",
    "tickets.retry.busy",
    "tickets.button.advance",
    "tickets.button.retry",
    "tickets.text.title",
    "tickets.text.footer",
    "tickets.jira.summary",
    "tickets.jira.stage_comment",
    "tickets.jira.assigned_comment",
)


def referenced_content_keys() -> frozenset[str]:
    keys = set(_KEYS) | set(FIELD_KEYS) | set(SIP_PARAMETER_LABEL_KEYS)
    keys.update(f"tickets.backends.{name.value}" for name in BackendName)
    keys.update(sip_stage_key(stage) for stage in SipStage)
    return frozenset(keys)
