"""The one place a refusal becomes a sentence for the user, in their language."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.flows.errors import FlowError
from bot.i18n import Catalog, Lang
from bot.marked import find_marked, mark
from bot.mrkdwn import escape, mention
from bot.onboarding import ConversationError, StalePrompt
from bot.state import Contention, CorruptRecord, TenantNotFound, UnknownSchemaVersion
from bot.state.inbox import Receipt
from bot.views.kit import Message
from bot.views.text import render

log = logging.getLogger(__name__)

# What a user is told, per kind of refusal. Anything else is a bug: logged, and answered with
# the generic apology by the app's error handler.
EXPECTED = (
    FlowError,
    ConversationError,
    TenantNotFound,
    CorruptRecord,
    UnknownSchemaVersion,
    Contention,
)


def explain(exc: Exception, catalog: Catalog, lang: Lang) -> str:
    if isinstance(exc, FlowError):
        return render(exc.message, catalog, lang)
    if isinstance(exc, ConversationError):
        params = {k: escape(v) for k, v in exc.params.items()}
        params.update((k, mention(user)) for k, user in exc.mentions.items())
        if isinstance(exc, StalePrompt) and exc.next_step is not None:
            params["action"] = render(exc.next_step, catalog, lang)  # our content: not escaped
        return catalog.t(lang, exc.key, **params)
    if isinstance(exc, TenantNotFound):
        return catalog.t(lang, "conversation.errors.tenant_not_found", tenant=escape(exc.tenant_id))
    if isinstance(exc, CorruptRecord | UnknownSchemaVersion):
        log.error("unreadable tenant record: %s", exc)
        return catalog.t(lang, "conversation.errors.tenant_unreadable")
    if isinstance(exc, Contention):
        return catalog.t(lang, "conversation.errors.busy")
    return catalog.t(lang, "errors.internal")


REPLY_EVENT_TYPE = "onboarding_reply"


async def answer_event(
    client: AsyncWebClient,
    event: dict[str, Any],
    message: Message,
    receipt: Receipt | None,
    *,
    thread_ts: str | None = None,
) -> None:
    """Reply to a message event in its channel, once.

    The reply carries the event id as message metadata. When the event is being run again
    (its first taker died), Slack is asked first whether that reply is already there: the
    first take may have posted it and died before it could settle the event.
    """
    channel = str(event["channel"])
    if receipt is None:
        await client.chat_postMessage(channel=channel, thread_ts=thread_ts, **message)
        return
    since = str(event.get("ts") or "0")
    metadata = mark(REPLY_EVENT_TYPE, "event_id", receipt.event_id)
    if receipt.takes > 1 and await find_marked(
        client, channel, metadata, since_ts=since, thread_ts=thread_ts
    ):
        log.info("event %s was answered before; not answering twice", receipt.event_id)
        return
    await client.chat_postMessage(
        channel=channel, thread_ts=thread_ts, metadata=metadata, **message
    )


async def tell(
    client: AsyncWebClient,
    channel: str,
    user: str,
    text: str | Message,
    respond: AsyncRespond | None = None,
) -> None:
    """An ephemeral reply only `user` sees: a sentence, or a message with blocks.

    Slack refuses `chat.postEphemeral` to someone who is not a member of the channel
    (`user_not_in_channel`), yet anyone can click a button in a public channel they only
    browse. With the click's `respond`, such a user is answered through its response_url.
    """
    message = Message.plain_text(text) if isinstance(text, str) else text
    try:
        await client.chat_postEphemeral(channel=channel, user=user, **message)
        return
    except SlackApiError as exc:
        error = exc.response.get("error")
    if respond is not None and respond.response_url:
        try:
            sent = await respond(**message, response_type="ephemeral", replace_original=False)
            if sent.status_code == 200:
                return
            error = f"{error}; response_url answered {sent.status_code}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"{error}; response_url failed: {type(exc).__name__}"
    log.warning("could not answer %s ephemerally: %s", user, error)
