"""A tenant's read-only Tencent Cloud API key: `/onboard key [tenant]` opens the form that takes
it, the form keeps it (encrypted, `bot.cloud.vault`), `/onboard forget-key [tenant]` deletes it.

Who: a customer of the tenant (a member of its channel) or an SE gives a key; managers, who
watch, do not. Forgetting is open to the tenant's customers and to every SE and manager (taking
a key away only narrows what the bot can do). Without a tenant named, the tenant is the one of
the channel the command is typed in (or, in a DM, the only one whose channel the user is in).
Without `SECRETS_KEY` both commands answer that the feature is not enabled here.

The typed key never leaves this module but into the vault: it is not logged, not echoed in an
error, not carried in the form's `private_metadata`, and after saving only its masked SecretId
is shown.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.cloud.vault import VaultDisabled
from bot.config import Settings
from bot.flows.model import Actor, ActorRole
from bot.handlers.access import (
    tenant_for,
)
from bot.handlers.acks import answers_at_ack
from bot.handlers.clicks import TRIGGER_ERRORS, Click
from bot.handlers.replies import EXPECTED, explain, tell
from bot.handlers.subcommands import (
    Audience,
    CommandRequest,
    Subcommand,
    refusal,
    say,
    tenant_of_command,
)
from bot.i18n import Lang, lang_from_locale
from bot.ids import ActionId, CallbackId, action_pattern
from bot.mrkdwn import escape
from bot.onboarding import ConversationError
from bot.services import Services
from bot.state import TenantRecord
from bot.views.cloudkey import (
    KEY_STAGE,
    KeyField,
    KeyFormErrors,
    given_text,
    key_form,
    read_key_form,
)
from bot.views.kit import Message
from bot.views.refs import FormMeta, parse_form

log = logging.getLogger(__name__)


class ManagersWatch(ConversationError):
    key = "cloud.key.errors.managers"


class KeysDisabled(ConversationError):
    key = "cloud.key.disabled"


def _enabled(settings: Settings) -> bool:
    return settings.cloud_keys_enabled


# -- /onboard key ---------------------------------------------------------------------------------


async def open_key_form(
    services: Services,
    client: AsyncWebClient,
    trigger_id: str,
    record: TenantRecord,
    lang: Lang,
    channel: str,
) -> str | None:
    """Open the form for `record`'s key; None when it opened, else the content key that says
    why not (the trigger came too late, or Slack refused the form)."""
    meta = FormMeta(t=record.tenant_id, s=KEY_STAGE, c=channel or record.channel_id)
    view = key_form(services.catalog, lang, meta, await services.vault.info(record.tenant_id))
    try:
        await client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        error = str(exc.response.get("error") or "")
        if error in TRIGGER_ERRORS:
            log.info("views.open: %s", error)
            return "conversation.errors.form_expired"
        log.error("Slack refused the cloud key form: %s", error)
        return "conversation.errors.form_failed"
    return None


async def _key(req: CommandRequest) -> Message | None:
    """`/onboard key [tenant]`: open the form (the answer is the form itself)."""
    services = req.services
    try:
        record = await tenant_of_command(req)
    except EXPECTED as exc:
        return refusal(req, exc)
    trigger = str(req.payload.get("trigger_id") or "")
    failed = await open_key_form(
        services, services.slack, trigger, record, req.lang, req.channel_id
    )
    return say(req, failed) if failed else None


# -- /onboard forget-key --------------------------------------------------------------------------


async def _forget_key(req: CommandRequest) -> Message:
    """`/onboard forget-key [tenant]`: delete the tenant's key (audited); say which it was."""
    services = req.services
    try:
        record = await tenant_of_command(req)
        forgotten = await services.vault.forget(record.tenant_id, by=req.actor)
    except EXPECTED as exc:
        return refusal(req, exc)
    company = escape(record.company)
    if forgotten is None:
        return say(req, "cloud.key.none", company=company)
    log.info("cloud key of %s forgotten by %s", record.tenant_id, req.actor.user_id)
    return say(req, "cloud.key.forgotten", company=company, masked=escape(forgotten.masked))


SUBCOMMANDS = (
    Subcommand(
        "key",
        _key,
        Audience.PARTICIPANTS,
        refused=ManagersWatch.key,
        enabled=_enabled,
        disabled=KeysDisabled.key,
    ),
    Subcommand("forget-key", _forget_key, enabled=_enabled, disabled=KeysDisabled.key),
)


# -- the form -------------------------------------------------------------------------------------


async def _keep(services: Services, actor: Actor, view: dict[str, Any], meta: FormMeta) -> str:
    """Check the typed key, then who sends it, then keep it; the confirmation's text. Raises
    `KeyFormErrors` or one of `EXPECTED`."""
    key = read_key_form(view)  # the form's own fields first: they tell nothing of the tenant
    if not services.vault.enabled:
        raise KeysDisabled()
    if actor.role is ActorRole.MANAGER:
        raise ManagersWatch()
    record = await tenant_for(services.onboardings, services.memberships, meta.t, actor)
    try:
        info = await services.vault.put(record.tenant_id, key, by=actor)
    except VaultDisabled:
        raise KeysDisabled() from None
    log.info("cloud key %s of %s given by %s", info.masked, record.tenant_id, actor.user_id)
    lang = await _lang_of(services, actor, record.lang)
    return given_text(services.catalog, lang, "cloud.key.saved", info, tenant=record.tenant_id)


async def _lang_of(services: Services, actor: Actor, default: Lang) -> Lang:
    return lang_from_locale(await services.locales.locale_of(actor.user_id), default)


async def on_key_submission(
    ack: AsyncAck, view: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> None:
    services: Services = context["services"]
    actor: Actor = context["actor"]
    catalog = services.catalog
    lang = await _lang_of(services, actor, services.settings.ops_lang)
    meta = parse_form(view.get("private_metadata"))
    if meta is None or meta.s != KEY_STAGE:
        errors = {KeyField.SECRET_ID.value: catalog.t(lang, "errors.bad_request")}
        await ack(response_action="errors", errors=errors)
        return
    try:
        saved = await _keep(services, actor, view, meta)
    except KeyFormErrors as exc:
        errors = {field.value: catalog.t(lang, key) for field, key in exc.errors.items()}
        await ack(response_action="errors", errors=errors)
        return
    except EXPECTED as exc:
        errors = {KeyField.SECRET_ID.value: explain(exc, catalog, lang)}
        await ack(response_action="errors", errors=errors)
        return
    await ack()
    await tell(client, meta.c, actor.user_id, saved)


async def on_open_key_form(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    """*Give a cloud API key* on the customer's App Home (value: the tenant)."""
    await ack()
    click = Click.of(body, context, client, respond)
    services = click.services
    lang = await click.lang()
    try:
        if not services.vault.enabled:
            raise KeysDisabled()
        if click.actor.role is ActorRole.MANAGER:
            raise ManagersWatch()
        tenant_id = str(action.get("value") or "")
        record = await tenant_for(
            services.onboardings, services.memberships, tenant_id, click.actor
        )
    except EXPECTED as exc:
        await _refuse_privately(click, services, exc, lang)
        return
    failed = await open_key_form(
        services, client, str(body.get("trigger_id") or ""), record, lang, click.channel
    )
    if failed:
        await _refuse_privately(click, services, None, lang, key=failed)


async def _refuse_privately(
    click: Click, services: Services, exc: Exception | None, lang: Lang, *, key: str = ""
) -> None:
    """A refusal for a click on App Home, which has no channel to answer in: a DM's ephemeral
    message, or the one the click came from."""
    text = explain(exc, services.catalog, lang) if exc else services.catalog.t(lang, key)
    if click.channel:
        await click.tell(text)
        return
    try:
        opened = await click.client.conversations_open(users=click.actor.user_id)
    except SlackApiError as exc:
        log.warning(
            "could not refuse %s privately: %s", click.actor.user_id, exc.response.get("error")
        )
        return
    channel = str((opened.get("channel") or {}).get("id") or "")
    await tell(click.client, channel, click.actor.user_id, text)


def register(app: AsyncApp) -> None:
    app.view(CallbackId.CLOUD_KEY.value)(answers_at_ack(on_key_submission))
    app.action(action_pattern(ActionId.OPEN_KEY_FORM))(answers_at_ack(on_open_key_form))
