"""Files customers upload: qualification documents, or the call script as a file.

A file shared in the tenant's channel (or in a direct message by someone who belongs to a
tenant) is recognised from the message text or the file name, fetched from Slack's file host
with the bot token, checked (size, real type by magic bytes, duplicates, whether this role needs
it), described by its metadata and sha256, and the bytes are dropped. The customer gets the
verdict as a reply in the file's thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.documents import (
    UploadRejected,
    ask_which,
    classify,
    inspect_file,
)
from bot.flows.catalogue import documents_for
from bot.flows.effects import MessageRef
from bot.flows.engine import SubmitScript
from bot.flows.machine import leaf
from bot.flows.model import Actor, DocKind
from bot.handlers.access import may_act_for, tenant_for, tenant_of_channel, tenant_of_user
from bot.handlers.acks import answers_at_commit
from bot.handlers.replies import EXPECTED, explain, tell
from bot.ids import ActionId, action_pattern
from bot.mrkdwn import typed_text
from bot.services import Services
from bot.state import TenantRecord
from bot.views.kit import Message
from bot.views.text import render
from bot.views.uploads import pick_menu

log = logging.getLogger(__name__)

# Stages where uploads are documents (during the review too: a rejected file is replaced at
# once), and where one is the call script.
DOCUMENT_STAGES = frozenset(
    {
        "qualification.role",
        "qualification.collecting",
        "qualification.review",
        "qualification.rework",
    }
)
SCRIPT_STAGE = "numbers.script"
# More files than this in one message are not processed (each is a download).
MAX_FILES_PER_MESSAGE = 10


@dataclass(frozen=True)
class Upload:
    """One file of a message, and where to answer about it."""

    file: dict[str, Any]
    text: str
    channel: str
    thread_ts: str


async def _reply(client: AsyncWebClient, upload: Upload, message: Message | str) -> None:
    body = Message.plain_text(message) if isinstance(message, str) else message
    try:
        await client.chat_postMessage(channel=upload.channel, thread_ts=upload.thread_ts, **body)
    except SlackApiError as exc:
        log.warning("could not reply about an upload: %s", exc.response.get("error"))


async def take_document(
    services: Services,
    client: AsyncWebClient,
    actor: Actor,
    record: TenantRecord,
    upload: Upload,
    kind: DocKind | None,
) -> None:
    """Fetch, check and record one upload as `kind` (or ask which document it is)."""
    catalog, lang = services.catalog, record.lang
    settings = services.settings
    assert settings.slack_bot_token is not None
    try:
        inspected = await inspect_file(
            services.http,
            upload.file,
            bot_token=settings.slack_bot_token.get_secret_value(),
            allowed_hosts=settings.slack_file_hosts,
            max_bytes=settings.max_upload_bytes,
            slack=client,
        )
    except UploadRejected as exc:
        log.info("upload %s refused: %s", upload.file.get("id"), exc.reason.value)
        await _reply(client, upload, render(exc.message, catalog, lang))
        return
    if kind is None:
        await _reply(
            client,
            upload,
            pick_menu(
                catalog, record, str(upload.file["id"]), render(ask_which(inspected), catalog, lang)
            ),
        )
        return
    # Whoever picked the document from the menu, the uploader is who shared the file.
    uploaded_by = inspected.uploader or actor.user_id
    try:
        check = await services.onboardings.add_document(
            record.tenant_id, kind, inspected, actor, uploaded_by=uploaded_by
        )
    except EXPECTED as exc:
        await _reply(client, upload, explain(exc, catalog, lang))
        return
    await _reply(client, upload, render(check.message, catalog, lang))
    if check.ok:
        await services.runner.drain(record.tenant_id)


async def take_script(
    services: Services, client: AsyncWebClient, actor: Actor, record: TenantRecord, upload: Upload
) -> None:
    """A file shared while the call script is due is the script: it goes to review as a file."""
    event = SubmitScript(
        file_id=str(upload.file.get("id")), file_name=str(upload.file.get("name") or "")
    )
    try:
        await services.onboardings.act(record.tenant_id, event, actor, stage=SCRIPT_STAGE)
    except EXPECTED as exc:
        await _reply(client, upload, explain(exc, services.catalog, record.lang))
        return
    await services.runner.drain(record.tenant_id)


async def on_file_message(
    event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> None:
    services: Services = context["services"]
    actor: Actor = context["actor"]
    channel = str(event.get("channel") or "")
    if event.get("channel_type") == "im":
        record = await tenant_of_user(services.store, services.memberships, actor.user_id)
    else:
        record = await tenant_of_channel(services.store, channel)
    if record is None:
        return  # files in channels without an onboarding are none of our business
    files = [f for f in event.get("files") or [] if isinstance(f, dict) and f.get("id")]
    uploads = [
        Upload(
            file=f,
            text=typed_text(event.get("text")) if len(files) == 1 else "",
            channel=channel,
            thread_ts=str(event.get("thread_ts") or event.get("ts")),
        )
        for f in files
    ]
    if not uploads:
        return
    lang = record.lang
    if not await may_act_for(services.memberships, record, actor):
        return
    if len(uploads) > MAX_FILES_PER_MESSAGE:
        await _reply(
            client,
            uploads[0],
            services.catalog.t(lang, "conversation.uploads.too_many", limit=MAX_FILES_PER_MESSAGE),
        )
        uploads = uploads[:MAX_FILES_PER_MESSAGE]
    stage = leaf(record.onboarding.state)
    if stage == SCRIPT_STAGE and len(uploads) == 1:
        await take_script(services, client, actor, record, uploads[0])
        return
    if stage not in DOCUMENT_STAGES:
        await _reply(client, uploads[0], services.catalog.t(lang, "conversation.uploads.not_now"))
        return
    if record.onboarding.role is None:
        await _reply(
            client,
            uploads[0],
            render(MessageRef(key="uploads.no_role_yet"), services.catalog, lang),
        )
        return
    required = documents_for(record.onboarding.role)
    for upload in uploads:
        name = str(upload.file.get("name") or "")
        kind = classify(upload.text, name, required, keywords=services.keywords)
        if kind is None:
            # A file plainly named as a document this applicant does not need is answered as
            # such (the checks say so), not with a menu that cannot hold the right answer.
            named = classify(upload.text, name, tuple(DocKind), keywords=services.keywords)
            kind = named if named is not None and named not in required else None
        # The checks run on the record being written (`add_document`); the menu, when one is
        # needed, lists what the record as it is now requires.
        fresh = await services.onboardings.get(record.tenant_id)
        await take_document(services, client, actor, fresh, upload, kind)


async def on_pick_document(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    await ack()
    services: Services = context["services"]
    actor: Actor = context["actor"]
    value = str((action.get("selected_option") or {}).get("value") or "")
    tenant_id, _, rest = value.partition("|")
    file_id, _, kind_value = rest.partition("|")
    message = body.get("message") or {}
    channel = str((body.get("channel") or {}).get("id") or "")
    upload = Upload(
        file={"id": file_id, "file_access": "check_file_info"},
        text="",
        channel=channel,
        thread_ts=str(message.get("thread_ts") or message.get("ts") or ""),
    )
    try:
        record = await tenant_for(services.onboardings, services.memberships, tenant_id, actor)
        kind = DocKind(kind_value)
    except (*EXPECTED, ValueError) as exc:
        # A refused pick is the picker's business only (like a refused button click).
        lang = await services.locales.lang_of(actor.user_id, services.settings.ops_lang)
        text = explain(exc, services.catalog, lang)
        await tell(client, channel, actor.user_id, text, respond)
        return
    await take_document(services, client, actor, record, upload, kind)


def register(app: AsyncApp) -> None:
    app.action(action_pattern(ActionId.PICK_DOCUMENT))(answers_at_commit(on_pick_document))
