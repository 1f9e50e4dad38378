"""Buttons of step prompts: send the flow event, or open the step's form."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.flows.engine import next_action, parse_event
from bot.flows.errors import FlowError, SwitchDropsDocuments
from bot.flows.machine import leaf
from bot.flows.model import Actor, Step
from bot.handlers.access import tenant_for
from bot.handlers.acks import answers_at_ack, answers_at_commit
from bot.handlers.clicks import Click
from bot.handlers.replies import EXPECTED
from bot.i18n import Lang
from bot.ids import ActionId, action_pattern
from bot.onboarding import StalePrompt
from bot.services import Services
from bot.state import TenantRecord
from bot.views import forms
from bot.views.prompts import (
    FORM_ACCOUNT,
    FORM_CHECKLIST,
    FORM_INSTANCE,
    FORM_PURCHASE,
    FORM_SCRIPT,
    FORM_SIP_TRUNK,
    role_switch_confirmation,
)
from bot.views.refs import FormMeta, PromptRef, parse_prompt
from bot.views.sip import sip_form

log = logging.getLogger(__name__)


async def authorised_prompt(services: Services, actor: Actor, ref: PromptRef) -> TenantRecord:
    """The tenant of a prompt button, once the clicker may act for it and the prompt is current."""
    record = await tenant_for(services.onboardings, services.memberships, ref.t, actor)
    if leaf(record.onboarding.state) != ref.s:
        # The reply renders what to do now in the clicker's language, links intact.
        raise StalePrompt(next_step=next_action(record.onboarding))
    return record


async def on_step_event(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    await ack()
    click = Click.of(body, context, client, respond)
    services = click.services
    ref = parse_prompt(action.get("value"))
    record: TenantRecord | None = None
    try:
        if ref is None or ref.e is None:
            raise FlowError("malformed button value")
        record = await authorised_prompt(services, click.actor, ref)
        event = parse_event({"name": ref.e, **ref.a})
        await services.onboardings.act(ref.t, event, click.actor, stage=ref.s)
    except SwitchDropsDocuments as exc:
        # Ask first, and only the clicker: which documents go, which stay.
        assert record is not None and ref is not None
        lang = await click.lang(record.lang)
        question = role_switch_confirmation(
            record, ref.s, exc.role, exc.kinds, services.catalog, lang
        )
        await click.tell(question)
        return
    except EXPECTED as exc:
        await click.refuse(exc, record.lang if record else None)
        return
    if click.from_ephemeral:
        # The confirmation the clicker answered has done its job.
        lang = await click.lang(record.lang)
        await click.close_ephemeral(services.catalog.t(lang, "conversation.prompt.switch_done"))
    await services.runner.drain(ref.t)


async def on_dismiss(
    ack: AsyncAck,
    body: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    """ "Keep it as it is" on a question asked of the clicker only: nothing changes."""
    await ack()
    click = Click.of(body, context, client, respond)
    lang = await click.lang()
    await click.close_ephemeral(
        click.services.catalog.t(lang, "conversation.prompt.switch_cancelled")
    )


def form_for(form: str, services: Services, lang: Lang, meta: FormMeta) -> dict[str, Any]:
    """The form `form`, in `lang`: a form is personal, so it speaks the user's language (as
    ephemeral replies do) and so do its inline errors."""
    catalog = services.catalog
    if form == FORM_ACCOUNT:
        return forms.account_form(catalog, lang, meta)
    if form == FORM_INSTANCE:
        return forms.instance_form(catalog, lang, meta)
    if form == FORM_SCRIPT:
        return forms.script_form(catalog, lang, meta)
    if form == FORM_PURCHASE:
        return forms.purchase_form(catalog, lang, meta)
    if form == FORM_SIP_TRUNK:
        return sip_form(catalog, lang, meta)
    if form == FORM_CHECKLIST:
        return forms.checklist_form(catalog, lang, meta, Step(meta.s))
    raise FlowError(f"unknown form {form}")


async def on_open_form(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    await ack()
    click = Click.of(body, context, client, respond)
    ref = parse_prompt(action.get("value"))
    record: TenantRecord | None = None
    try:
        if ref is None or ref.f is None:
            raise FlowError("malformed button value")
        record = await authorised_prompt(click.services, click.actor, ref)
        lang = await click.lang(record.lang)
        meta = FormMeta(t=record.tenant_id, s=ref.s, c=record.channel_id)
        view = form_for(ref.f, click.services, lang, meta)
    except (*EXPECTED, ValidationError, ValueError) as exc:
        await click.refuse(exc, record.lang if record else None)
        return
    await click.open_form(view, lang)


def register(app: AsyncApp) -> None:
    app.action(action_pattern(ActionId.STEP_EVENT))(answers_at_commit(on_step_event))
    app.action(action_pattern(ActionId.OPEN_FORM))(answers_at_ack(on_open_form))
    app.action(action_pattern(ActionId.DISMISS))(answers_at_ack(on_dismiss))
