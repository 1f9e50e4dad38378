"""`/onboard purge <tenant>`: SEs and managers delete everything the bot keeps about a tenant.

The command only asks: an ephemeral confirmation (the company, what goes) with a danger-style
*Purge* button behind Slack's own confirmation dialog, and *Cancel*. The click purges (one
transaction in the store, which leaves a line in the purge log outside the tenant), asks Slack
to delete the files the record referred to, and answers the clicker alone with what became of
them. Everyone else is refused, politely and only to themselves.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.handlers.acks import answers_at_ack, answers_at_commit
from bot.handlers.clicks import Click
from bot.handlers.replies import EXPECTED
from bot.handlers.subcommands import Audience, CommandRequest, Subcommand, refusal, say
from bot.i18n import Catalog, Lang
from bot.ids import ActionId, action_pattern, is_tenant_id
from bot.mrkdwn import escape
from bot.slackfiles import FileDeletion, delete_files, log_deletion
from bot.state import Purged, TenantNotFound
from bot.views.kit import Message, actions, button, confirm_dialog, sections, shorten

log = logging.getLogger(__name__)

# How many files the report names one by one (the rest are counted).
_NAMED_FILES = 20


def confirmation(catalog: Catalog, lang: Lang, tenant_id: str, found: Purged) -> Message:
    """The question only the asker sees, with the company and what will be deleted."""
    company = (
        escape(found.company) if found.company else catalog.t(lang, "purge.confirm.unknown_company")
    )
    text = catalog.t(
        lang, "purge.confirm.question", company=company, tenant=tenant_id, files=len(found.files)
    )
    dialog = confirm_dialog(
        title=catalog.t(lang, "purge.confirm.title"),
        text=catalog.t(lang, "purge.confirm.text"),
        confirm=catalog.t(lang, "purge.confirm.proceed"),
        deny=catalog.t(lang, "purge.confirm.keep"),
        danger=True,
    )
    purge = button(
        catalog.t(lang, "purge.confirm.button"),
        ActionId.PURGE,
        tenant_id,
        style="danger",
        confirm=dialog,
    )
    cancel = button(catalog.t(lang, "purge.confirm.cancel"), ActionId.PURGE_CANCEL, tenant_id)
    return Message.of(text, [*sections(text), actions([purge, cancel], block_id="purge")])


def report(
    catalog: Catalog, lang: Lang, tenant_id: str, purged: Purged, files: FileDeletion
) -> Message:
    """What the purge did, for the one who clicked: the files Slack would not delete by name
    (they are for a person to delete)."""
    company = escape(purged.company) if purged.company else tenant_id
    text = catalog.t(
        lang,
        "purge.done",
        company=company,
        tenant=tenant_id,
        deleted=len(files.deleted),
        gone=len(files.gone),
        failed=len(files.failed),
    )
    if files.failed:
        names = [
            f"• {escape(shorten(file.name or file.file_id, 200))} (`{file.file_id}`)"
            for file, _error in files.failed[:_NAMED_FILES]
        ]
        if len(files.failed) > _NAMED_FILES:
            names.append("…")
        text += "\n" + catalog.t(lang, "purge.failed_files") + "\n" + "\n".join(names)
    return Message.plain_text(text)


async def _purge(req: CommandRequest) -> Message:
    """`/onboard purge <tenant>`: ask first (the click does it)."""
    words = req.args.split()
    if len(words) != 1:
        return say(req, "purge.usage")
    tenant_id = words[0].lower()
    if not is_tenant_id(tenant_id):
        return refusal(req, TenantNotFound(tenant_id))
    found = await req.services.store.purge_preview(tenant_id)
    if not found.existed:
        return refusal(req, TenantNotFound(tenant_id))
    return confirmation(req.services.catalog, req.lang, tenant_id, found)


PURGE = Subcommand("purge", _purge, Audience.STAFF, refused="purge.errors.staff_only")
SUBCOMMANDS = (PURGE,)


async def _answer(click: Click, message: Message) -> None:
    """Replace the confirmation with `message` (only the clicker sees either)."""
    if click.respond.response_url:
        try:
            sent = await click.respond(**message, replace_original=True, response_type="ephemeral")
            if sent.status_code == 200:
                return
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("could not replace the purge confirmation: %s", type(exc).__name__)
    await click.tell(message)


async def on_purge(
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
    catalog = services.catalog
    lang = await click.lang()
    if not PURGE.visible_to(click.actor, services.settings):
        await click.tell(catalog.t(lang, "purge.errors.staff_only"))
        return
    tenant_id = str(action.get("value") or "")
    try:
        purged = await services.store.purge(tenant_id, actor=click.actor.user_id)
    except EXPECTED as exc:
        await click.refuse(exc)
        return
    if not purged.existed:
        await _answer(click, Message.plain_text(catalog.t(lang, "purge.gone", tenant=tenant_id)))
        return
    log.info("tenant %s purged by %s", tenant_id, click.actor.user_id)
    files = await delete_files(client, purged.files)
    log_deletion("purge of", tenant_id, files)
    await _answer(click, report(catalog, lang, tenant_id, purged, files))


async def on_cancel(
    ack: AsyncAck,
    body: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    await ack()
    click = Click.of(body, context, client, respond)
    lang = await click.lang()
    await _answer(click, Message.plain_text(click.services.catalog.t(lang, "purge.cancelled")))


def register(app: AsyncApp) -> None:
    app.action(action_pattern(ActionId.PURGE))(answers_at_commit(on_purge))
    app.action(action_pattern(ActionId.PURGE_CANCEL))(answers_at_ack(on_cancel))
