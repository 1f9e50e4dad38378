"""Form submissions: turn the values into a flow event; show refused values on their field."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.flows.catalogue import ChecklistItem
from bot.flows.engine import (
    ConfirmAccount,
    ConfirmConsole,
    ConfirmLogin,
    ConfirmPurchase,
    ConfirmSdk,
    CreateInstance,
    FlowEvent,
    SubmitScript,
    SubmitSipRequest,
)
from bot.flows.errors import IncompleteChecklist, InputField, InvalidValue
from bot.flows.model import Actor
from bot.handlers.access import NotInTenant, is_staff, may_act_for
from bot.handlers.acks import answers_at_ack
from bot.handlers.replies import EXPECTED, explain, tell
from bot.i18n import Lang, lang_from_locale
from bot.ids import CallbackId
from bot.mrkdwn import escape
from bot.services import Services
from bot.state import TenantNotFound
from bot.views.forms import status_view, submitted_choices, submitted_text
from bot.views.refs import FormMeta, parse_form
from bot.views.sip import FormErrors, read_sip_form, ticket_id_for

log = logging.getLogger(__name__)

Reader = Callable[[dict[str, Any], FormMeta], FlowEvent]


def _shown_on(view: dict[str, Any], field: InputField, main: InputField) -> str:
    """Where an error on `field` is shown: on its own input, or on the form's main one when the
    form has no such input. Slack shows an error only under an input block's id; any other key
    makes it show a generic error instead."""
    inputs = {
        str(block.get("block_id"))
        for block in view.get("blocks") or []
        if isinstance(block, dict) and block.get("type") == "input"
    }
    return field.value if not inputs or field.value in inputs else main.value


def _account(view: dict[str, Any], meta: FormMeta) -> FlowEvent:
    return ConfirmAccount(uin=submitted_text(view, InputField.UIN))


def _instance(view: dict[str, Any], meta: FormMeta) -> FlowEvent:
    return CreateInstance(
        call_center_name=submitted_text(view, InputField.CALL_CENTER_NAME) or "",
        admin_name=submitted_text(view, InputField.ADMIN_NAME) or "",
        admin_email=submitted_text(view, InputField.ADMIN_EMAIL) or "",
        sla_agreed="agreed" in submitted_choices(view, InputField.SLA_AGREED),
    )


def _script(view: dict[str, Any], meta: FormMeta) -> FlowEvent:
    return SubmitScript(text=submitted_text(view, InputField.SCRIPT))


def _purchase(view: dict[str, Any], meta: FormMeta) -> FlowEvent:
    return ConfirmPurchase(number=submitted_text(view, InputField.NUMBER))


def _checklist(view: dict[str, Any], meta: FormMeta) -> FlowEvent:
    try:
        items = frozenset(
            ChecklistItem(v) for v in submitted_choices(view, InputField.CHECKLIST_ITEMS)
        )
    except ValueError:
        raise InvalidValue(InputField.CHECKLIST_ITEMS, "unknown_item") from None
    events: dict[str, type[ConfirmConsole | ConfirmLogin | ConfirmSdk]] = {
        "console": ConfirmConsole,
        "login": ConfirmLogin,
        "sdk": ConfirmSdk,
    }
    if meta.s not in events:
        raise InvalidValue(InputField.CHECKLIST_ITEMS, "not_a_checklist_step")
    return events[meta.s](items=items)


def _sip_trunk(view: dict[str, Any], meta: FormMeta) -> FlowEvent:
    return SubmitSipRequest(
        ticket_id=ticket_id_for(str(view.get("id") or ""), meta.t), request=read_sip_form(view)
    )


READERS: dict[CallbackId, tuple[Reader, InputField]] = {
    # The form, and the field an error that belongs to no field is shown on.
    CallbackId.ACCOUNT: (_account, InputField.UIN),
    CallbackId.INSTANCE: (_instance, InputField.CALL_CENTER_NAME),
    CallbackId.SCRIPT: (_script, InputField.SCRIPT),
    CallbackId.PURCHASE: (_purchase, InputField.NUMBER),
    CallbackId.CHECKLIST: (_checklist, InputField.CHECKLIST_ITEMS),
    CallbackId.SIP_TRUNK: (_sip_trunk, InputField.CARRIER),
}


# Slack shows an error when a submission is not answered within 3 s, though the write may still
# land. The work gets this long; past it the form turns to "saving…", and the outcome follows on
# the form (or, when it was closed, in the channel).
ACK_DEADLINE_SECONDS = 2.0
# Errors of the values themselves, which the flow finds without the record being written: shown
# on their field before the slower checks of who is submitting.
VALUE_ERRORS = (InvalidValue, IncompleteChecklist)


@dataclass
class _Submission:
    """One form's checks and write, whatever answers it (Slack's ack or a later update)."""

    services: Services
    actor: Actor
    view: dict[str, Any]
    meta: FormMeta
    read: Reader
    main_field: InputField
    lang: Lang
    channel: str | None = None  # the tenant's channel, once the record is read

    def errors_of(self, exc: Exception) -> dict[str, str]:
        """Where each refusal is shown on the form, in the submitter's language."""
        catalog, view, main = self.services.catalog, self.view, self.main_field
        if isinstance(exc, InvalidValue):
            return {_shown_on(view, exc.field, main): explain(exc, catalog, self.lang)}
        if isinstance(exc, FormErrors):
            errors: dict[str, str] = {}
            for f, e in exc.errors.items():
                errors.setdefault(_shown_on(view, f, main), explain(e, catalog, self.lang))
            return errors
        if isinstance(exc, ValidationError):
            return {main.value: catalog.t(self.lang, "errors.bad_request")}
        return {main.value: explain(exc, catalog, self.lang)}

    async def run(self) -> dict[str, str] | None:
        """The refusals to show on the form, or None when it is saved."""
        services, actor, meta = self.services, self.actor, self.meta
        try:
            locale = await services.locales.locale_of(actor.user_id)
            self.lang = lang_from_locale(locale, services.settings.ops_lang)
            try:
                record = await services.onboardings.get(meta.t)
            except TenantNotFound:
                if is_staff(actor):
                    raise
                raise NotInTenant() from None  # the same answer whether it exists or not
            self.lang = lang_from_locale(locale, record.lang)
            self.channel = record.channel_id
            event = self.read(self.view, meta)
            try:
                await services.onboardings.check(meta.t, event, actor, stage=meta.s)
            except VALUE_ERRORS:
                raise
            except EXPECTED:
                pass  # decided again below, once it is known who is submitting
            if not await may_act_for(services.memberships, record, actor):
                raise NotInTenant()
            await services.onboardings.act(meta.t, event, actor, stage=meta.s)
        except (*EXPECTED, FormErrors, ValidationError) as exc:
            return self.errors_of(exc)
        return None


async def on_submission(
    ack: AsyncAck, view: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> None:
    services: Services = context["services"]
    actor: Actor = context["actor"]
    callback = CallbackId(view["callback_id"])
    read, main_field = READERS[callback]
    meta = parse_form(view.get("private_metadata"))
    if meta is None:
        lang = await services.locales.lang_of(actor.user_id, services.settings.ops_lang)
        await ack(
            response_action="errors",
            errors={main_field.value: services.catalog.t(lang, "errors.bad_request")},
        )
        return
    submission = _Submission(
        services, actor, view, meta, read, main_field, lang=services.settings.ops_lang
    )
    work = asyncio.ensure_future(submission.run())
    try:
        async with asyncio.timeout(ACK_DEADLINE_SECONDS):
            errors = await asyncio.shield(work)
    except TimeoutError:
        await _answer_later(ack, client, submission, work)
        return
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    await ack()
    await services.runner.drain(meta.t)


async def _answer_later(
    ack: AsyncAck,
    client: AsyncWebClient,
    submission: _Submission,
    work: asyncio.Future[dict[str, str] | None],
) -> None:
    """Past the deadline: the form says "saving…" now, and what came of it when it is known."""
    catalog, lang = submission.services.catalog, submission.lang
    title = _title_of(submission.view)
    saving = status_view(catalog, lang, title, catalog.t(lang, "conversation.forms.saving"))
    await ack(response_action="update", view=saving)
    try:
        errors = await work
    except Exception:
        log.exception("a form submission failed after its answer")
        errors = {"": catalog.t(submission.lang, "errors.internal")}
    lang = submission.lang
    if errors:
        reasons = "\n".join(dict.fromkeys(errors.values()))
        outcome = catalog.t(lang, "conversation.forms.not_saved", reason=reasons)
    else:
        outcome = catalog.t(lang, "conversation.forms.saved")
    try:
        await client.views_update(
            view_id=str(submission.view.get("id") or ""),
            view=status_view(catalog, lang, title, outcome),
        )
    except SlackApiError as exc:
        # Closed meanwhile (`not_found`): the outcome goes to the channel, to the submitter only.
        log.info("could not show a form's outcome on it: %s", exc.response.get("error"))
        if submission.channel is not None:
            heading = escape(title or catalog.t(lang, "conversation.forms.status_title"))
            text = catalog.t(lang, "conversation.forms.outcome", title=heading, outcome=outcome)
            await tell(client, submission.channel, submission.actor.user_id, text)
    if not errors:
        await submission.services.runner.drain(submission.meta.t)


def _title_of(view: dict[str, Any]) -> str | None:
    title = view.get("title")
    text = title.get("text") if isinstance(title, dict) else None
    return text if isinstance(text, str) and text else None


def register(app: AsyncApp) -> None:
    for callback in READERS:
        app.view(callback.value)(answers_at_ack(on_submission))
