"""Form submissions: turn the values into a flow event; show refused values on their field."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext

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
from bot.flows.errors import InputField, InvalidValue
from bot.flows.model import Actor
from bot.handlers.access import tenant_for
from bot.handlers.replies import EXPECTED, explain
from bot.ids import CallbackId
from bot.services import Services
from bot.views.forms import submitted_choices, submitted_text
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


async def on_submission(ack: AsyncAck, view: dict[str, Any], context: AsyncBoltContext) -> None:
    services: Services = context["services"]
    actor: Actor = context["actor"]
    callback = CallbackId(view["callback_id"])
    read, main_field = READERS[callback]
    meta = parse_form(view.get("private_metadata"))
    lang = await services.locales.lang_of(actor.user_id, services.settings.ops_lang)
    if meta is None:
        await ack(
            response_action="errors",
            errors={main_field.value: services.catalog.t(lang, "errors.bad_request")},
        )
        return
    try:
        record = await tenant_for(services.onboardings, services.memberships, meta.t, actor)
        lang = await services.locales.lang_of(actor.user_id, record.lang)
        event = read(view, meta)
        await services.onboardings.act(meta.t, event, actor, stage=meta.s)
    except InvalidValue as exc:
        field = _shown_on(view, exc.field, main_field)
        await ack(response_action="errors", errors={field: explain(exc, services.catalog, lang)})
        return
    except FormErrors as exc:
        errors: dict[str, str] = {}
        for f, e in exc.errors.items():
            errors.setdefault(_shown_on(view, f, main_field), explain(e, services.catalog, lang))
        await ack(response_action="errors", errors=errors)
        return
    except ValidationError:
        await ack(
            response_action="errors",
            errors={main_field.value: services.catalog.t(lang, "errors.bad_request")},
        )
        return
    except EXPECTED as exc:
        await ack(
            response_action="errors",
            errors={main_field.value: explain(exc, services.catalog, lang)},
        )
        return
    await ack()
    await services.runner.drain(meta.t)


def register(app: AsyncApp) -> None:
    for callback in READERS:
        app.view(callback.value)(on_submission)
