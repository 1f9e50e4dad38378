"""SIP-trunk tickets for TCCC's integration engineers: one ticket, several places (a Slack card
in the ops channel, a Jira issue, a signed webhook), each delivered at least once and exactly
once in effect.

    view = ticket_view_from_record(record, catalog, effect.ticket_id)
    await dispatcher.open(view)            # OpenSipTicket: raises TicketsPending to be retried
    await dispatcher.stage_changed(view)   # SipStageChanged
    await dispatcher.status(view)          # per-backend delivery state, for the UI
"""

from bot.tickets.content import referenced_content_keys
from bot.tickets.delivery import (
    Backend,
    BackendError,
    Delivery,
    DeliveryState,
    DeliveryStatus,
    DispatchReport,
    TicketBusy,
    TicketConfigError,
    TicketError,
    TicketsPending,
    backoff_delay,
)
from bot.tickets.dispatcher import TicketDispatcher, ticket_secrets
from bot.tickets.jira import JiraBackend
from bot.tickets.signing import InvalidSignature, sign, verify
from bot.tickets.slack_card import SlackCardBackend
from bot.tickets.text import plain_text
from bot.tickets.view import TicketNotFound, TicketView, ticket_view, ticket_view_from_record
from bot.tickets.webhook import WebhookBackend

__all__ = [
    "Backend",
    "BackendError",
    "Delivery",
    "DeliveryState",
    "DeliveryStatus",
    "DispatchReport",
    "InvalidSignature",
    "JiraBackend",
    "SlackCardBackend",
    "TicketBusy",
    "TicketConfigError",
    "TicketDispatcher",
    "TicketError",
    "TicketNotFound",
    "TicketView",
    "TicketsPending",
    "WebhookBackend",
    "backoff_delay",
    "plain_text",
    "referenced_content_keys",
    "sign",
    "ticket_secrets",
    "ticket_view",
    "ticket_view_from_record",
    "verify",
]
