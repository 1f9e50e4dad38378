"""The SIP-trunk ticket card that TCCC's engineers work from in the ops channel (Block Kit).

Header with company and ticket id; every field; TCCC's SIP parameters as a block to copy; the
stages as a progress line; how delivery to the other backends is going; one button to move the
ticket to its next stage. When a backend was given up on, a warning says which, and what the SEs
do (open it there by hand), with a button to try once more. Every sentence comes from the
content (`tickets.*`) in `ops_lang`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from bot.i18n import Catalog, Lang
from bot.ids import ActionId
from bot.mrkdwn import escape
from bot.tickets.delivery import DeliveryState
from bot.tickets.text import (
    SlackStyle,
    progress_marks,
    stage_label,
    tccc_lines,
    ticket_fields,
)
from bot.tickets.view import TicketView
from bot.views.kit import (
    Block,
    Message,
    actions,
    button,
    context,
    fields_sections,
    header,
    section,
    sections,
)

ACTIONS_BLOCK_ID = "sip_ticket_actions"


def backend_label(catalog: Catalog, lang: Lang, name: str) -> str:
    key = f"tickets.backends.{name}"
    return catalog.t(lang, key) if catalog.has(key) else name


def status_line(catalog: Catalog, lang: Lang, name: str, state: DeliveryState) -> str:
    """One backend's delivery status, e.g. "Jira: pending — attempts: 3, last error: HTTP 503"."""
    backend = backend_label(catalog, lang, name)
    error = escape(state.last_error) if state.last_error else "-"
    if state.given_up:
        if state.delivered:
            key = "tickets.status.update_failed"
        else:
            key = "tickets.status.refused" if state.permanent else "tickets.status.failed"
        return catalog.t(lang, key, backend=backend, attempts=state.attempts, error=error)
    if state.delivered and state.update_pending:
        return catalog.t(
            lang,
            "tickets.status.update_pending",
            backend=backend,
            attempts=state.attempts,
            error=error,
        )
    if state.delivered:
        if state.url and state.external_id:
            ref = f"<{state.url}|{state.external_id}>"
            return catalog.t(lang, "tickets.status.delivered_ref", backend=backend, ref=ref)
        return catalog.t(lang, "tickets.status.delivered", backend=backend)
    if state.attempts == 0:
        return catalog.t(lang, "tickets.status.waiting", backend=backend)
    return catalog.t(
        lang, "tickets.status.pending", backend=backend, attempts=state.attempts, error=error
    )


def advance_value(view: TicketView) -> str | None:
    """The button's value: which ticket, and the stage it moves to (the handler checks both)."""
    following = view.next_stage
    if following is None:
        return None
    return json.dumps(
        {"tenant": view.tenant_id, "ticket": view.ticket_id, "stage": int(following)},
        separators=(",", ":"),
    )


def retry_value(view: TicketView) -> str:
    return json.dumps({"tenant": view.tenant_id, "ticket": view.ticket_id}, separators=(",", ":"))


def parse_retry(value: object) -> tuple[str, str] | None:
    """(tenant, ticket) from a Retry button's value, or None when it is not one."""
    try:
        data = json.loads(str(value))
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    tenant, ticket = data.get("tenant"), data.get("ticket")
    if not isinstance(tenant, str) or not isinstance(ticket, str) or not tenant or not ticket:
        return None
    return tenant, ticket


def ticket_card(
    view: TicketView,
    catalog: Catalog,
    lang: Lang,
    statuses: Mapping[str, DeliveryState],
) -> Message:
    """The card; `statuses` are the other backends' delivery states, in display order."""
    style = SlackStyle()
    title = catalog.t(lang, "tickets.card.title", company=view.company, ticket_id=view.ticket_id)
    blocks: list[Block] = [header(title)]
    blocks += fields_sections(
        [f"*{f.label}*\n{f.value}" for f in ticket_fields(view, catalog, lang, style)]
    )

    params = "\n".join(tccc_lines(view, catalog, lang))
    blocks.append(section(f"*{catalog.t(lang, 'tickets.tccc.title')}*\n```\n{params}\n```"))

    progress = "   ".join(progress_marks(view, catalog, lang))
    blocks += sections(f"*{catalog.t(lang, 'tickets.progress.title')}*\n{progress}")

    if statuses:
        separator = catalog.t(lang, "tickets.status.separator")
        lines = separator.join(
            status_line(catalog, lang, name, state) for name, state in statuses.items()
        )
        blocks.append(context(f"{catalog.t(lang, 'tickets.status.title')}: {lines}"))

    given_up = [name for name, state in statuses.items() if state.given_up]
    if given_up:
        names = catalog.t(lang, "tickets.status.separator").join(
            backend_label(catalog, lang, name) for name in given_up
        )
        blocks.append(section(catalog.t(lang, "tickets.gave_up.notice", backends=names)))

    elements = []
    value = advance_value(view)
    if value is not None and view.next_stage is not None:
        label = catalog.t(
            lang, "tickets.button.advance", stage=stage_label(catalog, lang, view.next_stage)
        )
        elements.append(button(label, ActionId.ADVANCE_SIP_STAGE.value, value, style="primary"))
    if given_up:
        retry = catalog.t(lang, "tickets.button.retry")
        elements.append(button(retry, ActionId.RETRY_SIP_TICKET.value, retry_value(view)))
    if elements:
        blocks.append(actions(elements, block_id=ACTIONS_BLOCK_ID))
    if view.is_complete:
        blocks.append(context(catalog.t(lang, "tickets.card.done")))

    fallback = catalog.t(
        lang,
        "tickets.card.fallback",
        company=escape(view.company),
        ticket_id=view.ticket_id,
        stage=stage_label(catalog, lang, view.stage),
    )
    return Message.of(fallback, blocks)
