"""Files customers upload: qualification documents, or the call script as a file.

A file shared in the tenant's channel (or in a direct message by someone who belongs to a
tenant) is recognised from the message text or the file name, fetched from Slack's file host
with the bot token, checked (size, real type by magic bytes, duplicates, whether this role needs
it), looked at by the pre-check (too small, blurry, no seal…), described by its metadata, sha256
and findings, and the bytes are dropped. The customer gets the verdict as a reply in the file's
thread; when the pre-check found something, with "Upload again" and "Send anyway": such a
document goes to review only once sent anyway (or replaced).
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
from bot.documents.precheck import SENT_ANYWAY_KEY, UPLOAD_AGAIN_HOW_KEY
from bot.flows.catalogue import document_spec, documents_for
from bot.flows.effects import MessageRef
from bot.flows.engine import SendAnyway, SubmitScript
from bot.flows.errors import FlowError
from bot.flows.machine import leaf
from bot.flows.model import Actor, DocKind
from bot.handlers.access import may_act_for, tenant_for, tenant_of_channel, tenant_of_user
from bot.handlers.acks import answers_at_commit
from bot.handlers.clicks import Click
from bot.handlers.replies import EXPECTED, explain, tell
from bot.ids import ActionId, action_pattern
from bot.mrkdwn import mention, typed_text
from bot.services import Services
from bot.state import TenantRecord
from bot.views.kit import Message
from bot.views.reviews import ReviewRef, parse_review
from bot.views.text import render
from bot.views.uploads import findings_reply, findings_settled, pick_menu

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
    # Only a file known to be a document is looked at: one the customer still has to name
    # from the menu is fetched again, and checked, once they have.
    examine = (
        services.prechecks.for_document(stamped=document_spec(kind).stamped)
        if kind is not None
        else None
    )
    try:
        inspected = await inspect_file(
            services.http,
            upload.file,
            bot_token=settings.slack_bot_token.get_secret_value(),
            allowed_hosts=settings.slack_file_hosts,
            max_bytes=settings.max_upload_bytes,
            slack=client,
            examine=examine,
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
    received = render(check.message, catalog, lang)
    if check.ok and inspected.findings:
        ref = ReviewRef(t=record.tenant_id, k=kind.value, r=(check.replaces_revision or 0) + 1)
        reply = findings_reply(catalog, lang, ref, kind, inspected.findings, received)
        await _reply(client, upload, reply)
    else:
        await _reply(client, upload, received)
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


def _findings_ref(action: dict[str, Any]) -> tuple[ReviewRef, DocKind]:
    ref = parse_review(action.get("value"))
    if ref is None or ref.k is None or ref.k not in DocKind.__members__.values():
        raise FlowError("malformed button value")
    return ref, DocKind(ref.k)


async def on_send_anyway(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    """The customer sends a document with findings to review as it is."""
    await ack()
    click = Click.of(body, context, client, respond)
    services = click.services
    record: TenantRecord | None = None
    try:
        ref, kind = _findings_ref(action)
        record = await tenant_for(services.onboardings, services.memberships, ref.t, click.actor)
        record = await services.onboardings.act(
            ref.t, SendAnyway(kind=kind, revision=ref.r), click.actor
        )
    except EXPECTED as exc:
        await click.refuse(exc, record.lang if record else None)
        return
    catalog, lang = services.catalog, record.lang
    document = catalog.t(lang, document_spec(kind).name_key)
    note = catalog.t(lang, SENT_ANYWAY_KEY, user=mention(click.actor.user_id), document=document)
    message = body.get("message") or {}
    try:
        await client.chat_update(
            channel=click.channel,
            ts=str(message.get("ts") or ""),
            **findings_settled(str(message.get("text") or ""), note),
        )
    except SlackApiError as exc:
        log.warning("could not update a findings reply: %s", exc.response.get("error"))
    await services.runner.drain(ref.t)


async def on_upload_again(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    """How to replace a document with findings, told to the clicker only; nothing changes
    (the document stays out of review until replaced or sent anyway)."""
    await ack()
    click = Click.of(body, context, client, respond)
    services = click.services
    try:
        ref, kind = _findings_ref(action)
        record = await tenant_for(services.onboardings, services.memberships, ref.t, click.actor)
    except EXPECTED as exc:
        await click.refuse(exc)
        return
    lang = await click.lang(record.lang)
    document = services.catalog.t(lang, document_spec(kind).name_key)
    await click.tell(services.catalog.t(lang, UPLOAD_AGAIN_HOW_KEY, document=document))


def register(app: AsyncApp) -> None:
    app.action(action_pattern(ActionId.PICK_DOCUMENT))(answers_at_commit(on_pick_document))
    app.action(action_pattern(ActionId.SEND_ANYWAY))(answers_at_commit(on_send_anyway))
    app.action(action_pattern(ActionId.UPLOAD_AGAIN))(answers_at_commit(on_upload_again))
