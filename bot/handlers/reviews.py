"""SE actions in the ops channel: document and call-script verdicts, SIP-trunk stages."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.flows.catalogue import document_spec
from bot.flows.engine import (
    AdvanceSipStage,
    ApproveDocument,
    ApproveScript,
    FlowEvent,
    RejectDocument,
    RejectScript,
    apply,
)
from bot.flows.errors import InputField, InvalidValue
from bot.flows.model import Actor, ActorRole, DocKind, SipStage
from bot.handlers.acks import answers_at_ack, answers_at_commit
from bot.handlers.clicks import Click
from bot.handlers.replies import EXPECTED, explain
from bot.i18n import Lang
from bot.ids import ActionId, CallbackId, action_pattern
from bot.onboarding import ConversationError
from bot.services import Services
from bot.state import TenantRecord
from bot.tickets import TicketBusy, TicketNotFound, ticket_view_from_record
from bot.views.forms import submitted_text
from bot.views.refs import FormMeta, parse_form
from bot.views.reviews import (
    ReviewRef,
    assigned_number_form,
    parse_review,
    reject_form,
    stage_value,
)
from bot.views.ticket import parse_retry

log = logging.getLogger(__name__)


class NotReviewer(ConversationError):
    key = "reviews.not_se"


class TicketRetryBusy(ConversationError):
    key = "tickets.retry.busy"


class StaleTicketCard(ConversationError):
    """The card's ticket is no longer the tenant's (the request was made again)."""

    key = "conversation.errors.unknown_action"


def _require_se(actor: Actor) -> None:
    if actor.role is not ActorRole.SE:
        raise NotReviewer()


async def _lang(services: Services, actor: Actor) -> Lang:
    return await services.locales.lang_of(actor.user_id, services.settings.ops_lang)


async def _act(click: Click, tenant: str, event: FlowEvent) -> None:
    """Apply an SE's event; a refusal is told to the clicker only, and the card stays as it
    was."""
    try:
        _require_se(click.actor)
        await click.services.onboardings.act(tenant, event, click.actor)
    except EXPECTED as exc:
        await click.refuse(exc)
        return
    await click.services.runner.drain(tenant)


def _review(action: dict[str, Any]) -> ReviewRef:
    ref = parse_review(action.get("value"))
    if ref is None:
        raise InvalidValue(InputField.EVENT, "malformed")
    return ref


async def on_approve(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    """Approve a document or the call script, at the revision the card showed."""
    await ack()
    click = Click.of(body, context, client, respond)
    event: FlowEvent
    try:
        ref = _review(action)
        if action_pattern(ActionId.APPROVE_DOCUMENT).match(str(action["action_id"])):
            event = ApproveDocument(kind=DocKind(ref.k or ""), revision=ref.r)
        else:
            event = ApproveScript(revision=ref.r)
    except (InvalidValue, ValueError) as exc:
        await click.refuse(exc)
        return
    await _act(click, ref.t, event)


async def on_reject(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    """Reject (a document or the script): ask the SE for the reason in a form."""
    await ack()
    click = Click.of(body, context, client, respond)
    services = click.services
    lang = await click.lang()
    event: FlowEvent
    try:
        _require_se(click.actor)
        ref = _review(action)
        record = await services.onboardings.get(ref.t)
        if action_pattern(ActionId.REJECT_DOCUMENT).match(str(action["action_id"])):
            kind = DocKind(ref.k or "")
            event = RejectDocument(kind=kind, revision=ref.r, reason=_PENDING_REASON)
            what = services.catalog.t(lang, document_spec(kind).name_key)
            callback = CallbackId.REJECT_DOCUMENT
            extra = {"k": kind.value, "r": str(ref.r)}
        else:
            event = RejectScript(revision=ref.r, reason=_PENDING_REASON)
            what = services.catalog.t(lang, "reviews.script_subject")
            callback = CallbackId.REJECT_SCRIPT
            extra = {"r": str(ref.r)}
        _refuse_early(record, event, click.actor)
    except (*EXPECTED, ValueError) as exc:
        await click.refuse(exc)
        return
    meta = FormMeta(t=record.tenant_id, s="review", c=click.channel, x=extra)
    await click.open_form(reject_form(services.catalog, lang, meta, callback, what), lang)


async def on_advance_stage(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    await ack()
    click = Click.of(body, context, client, respond)
    parsed = stage_value(action.get("value"))
    try:
        _require_se(click.actor)
        if parsed is None:
            raise InvalidValue(InputField.EVENT, "malformed")
        tenant, ticket, stage_number = parsed
        stage = SipStage(stage_number)
        if stage is SipStage.NUMBER_ASSIGNED:
            event = AdvanceSipStage(ticket_id=ticket, stage=stage, assigned_number=_PENDING_NUMBER)
            _refuse_early(await click.services.onboardings.get(tenant), event, click.actor)
    except (*EXPECTED, ValueError) as exc:
        await click.refuse(exc)
        return
    if stage is SipStage.NUMBER_ASSIGNED:
        # The last stage needs the number TCCC assigned to the instance.
        lang = await click.lang()
        meta = FormMeta(t=tenant, s="sip", c=click.channel, x={"ticket": ticket})
        await click.open_form(assigned_number_form(click.services.catalog, lang, meta), lang)
        return
    await _act(click, tenant, AdvanceSipStage(ticket_id=ticket, stage=stage))


async def on_retry_ticket(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    """An SE's Retry on a ticket card: each backend given up on gets one more try, now; the
    card then shows how it went (delivered, or given up again)."""
    await ack()
    click = Click.of(body, context, client, respond)
    services = click.services
    try:
        _require_se(click.actor)
        parsed = parse_retry(action.get("value"))
        if parsed is None:
            raise InvalidValue(InputField.EVENT, "malformed")
        tenant, ticket = parsed
        record = await services.onboardings.get(tenant)
        view = ticket_view_from_record(record, services.catalog, ticket)
    except TicketNotFound:
        await click.refuse(StaleTicketCard())
        return
    except (*EXPECTED, ValueError) as exc:
        await click.refuse(exc)
        return
    try:
        report = await services.runner.tickets.retry(view)
    except TicketBusy:
        await click.refuse(TicketRetryBusy())
        return
    log.info(
        "ticket %s: retried by %s; given up on: %s",
        ticket,
        click.actor.user_id,
        ", ".join(report.given_up) or "none",
    )


# Stand-ins for what the SE has not typed yet: both pass their own checks, so a dry run with
# them is refused only for the other reasons (an older card, a colleague who was faster).
_PENDING_REASON = "-"
_PENDING_NUMBER = "10000"


def _refuse_early(record: TenantRecord, event: FlowEvent, actor: Actor) -> None:
    """Raise now the refusal `event` would meet, before a form asks the SE for more. `apply` is
    pure: the dry run changes nothing."""
    apply(record.onboarding, event, actor, datetime.now(UTC))


def _event_of(callback: CallbackId, view: dict[str, Any], meta: FormMeta) -> FlowEvent:
    if callback is CallbackId.SIP_NUMBER_ASSIGNED:
        return AdvanceSipStage(
            ticket_id=meta.x.get("ticket", ""),
            stage=SipStage.NUMBER_ASSIGNED,
            assigned_number=submitted_text(view, InputField.ASSIGNED_NUMBER),
        )
    reason = submitted_text(view, InputField.REASON) or ""
    revision = int(meta.x.get("r", "0"))
    if callback is CallbackId.REJECT_DOCUMENT:
        return RejectDocument(kind=DocKind(meta.x.get("k", "")), revision=revision, reason=reason)
    return RejectScript(revision=revision, reason=reason)


async def on_se_form(
    ack: AsyncAck, view: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> None:
    services: Services = context["services"]
    actor: Actor = context["actor"]
    callback = CallbackId(view["callback_id"])
    field = (
        InputField.ASSIGNED_NUMBER
        if callback is CallbackId.SIP_NUMBER_ASSIGNED
        else InputField.REASON
    )
    lang = await _lang(services, actor)
    meta = parse_form(view.get("private_metadata"))
    try:
        _require_se(actor)
        if meta is None:
            raise InvalidValue(field, "malformed")
        event = _event_of(callback, view, meta)
        await services.onboardings.act(meta.t, event, actor)
    except InvalidValue as exc:
        target = (
            exc.field if exc.field in (InputField.REASON, InputField.ASSIGNED_NUMBER) else field
        )
        await ack(
            response_action="errors", errors={target.value: explain(exc, services.catalog, lang)}
        )
        return
    except (*EXPECTED, ValueError) as exc:
        await ack(
            response_action="errors", errors={field.value: explain(exc, services.catalog, lang)}
        )
        return
    await ack()
    await services.runner.drain(meta.t)


def register(app: AsyncApp) -> None:
    app.action(action_pattern(ActionId.APPROVE_DOCUMENT))(answers_at_commit(on_approve))
    app.action(action_pattern(ActionId.APPROVE_SCRIPT))(answers_at_commit(on_approve))
    app.action(action_pattern(ActionId.REJECT_DOCUMENT))(answers_at_ack(on_reject))
    app.action(action_pattern(ActionId.REJECT_SCRIPT))(answers_at_ack(on_reject))
    app.action(action_pattern(ActionId.ADVANCE_SIP_STAGE))(answers_at_commit(on_advance_stage))
    app.action(action_pattern(ActionId.RETRY_SIP_TICKET))(answers_at_ack(on_retry_ticket))
    for callback in (
        CallbackId.REJECT_DOCUMENT,
        CallbackId.REJECT_SCRIPT,
        CallbackId.SIP_NUMBER_ASSIGNED,
    ):
        app.view(callback.value)(answers_at_ack(on_se_form))
