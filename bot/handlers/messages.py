"""Messages to the bot: @mentions in channels and direct messages, with or without files.

Questions are answered in the language they are asked in. What a question is about is found by
keywords from the content files (`conversation.intents.*`, both languages always matched), so
an operator can teach the bot new phrasings without a release. Anything else gets a short help
with examples, never silence.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from enum import StrEnum
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.flows.model import Actor
from bot.handlers.access import tenant_of_channel, tenants_of_user
from bot.handlers.commands import SUBCOMMANDS
from bot.handlers.inbox import RECEIPT, settles
from bot.handlers.replies import answer_event
from bot.handlers.uploads import on_file_message
from bot.i18n import Catalog, Lang, lang_of_text
from bot.mrkdwn import typed_text
from bot.services import Services
from bot.state import TenantRecord
from bot.views.answers import help_answer, missing_documents_answer
from bot.views.kit import Message
from bot.views.progress import next_action_text, progress_message
from bot.views.prompts import sip_parameters_text

log = logging.getLogger(__name__)

_MENTION = re.compile(r"<@[A-Z0-9]+(\|[^>]*)?>")


class Intent(StrEnum):
    """What a question is about. Order matters: the first intent whose keyword matches wins,
    so the specific ones (missing documents) come before the broad ones (progress)."""

    MISSING_DOCUMENTS = "missing_documents"
    SIP = "sip"
    LOGIN = "login"
    NEXT = "next"
    PROGRESS = "progress"
    HELP = "help"


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def intent_of(question: str, catalog: Catalog) -> Intent | None:
    text = _normalise(question)
    for intent in Intent:
        for lang in Lang:
            words = catalog.t(lang, f"conversation.intents.{intent.value}").split(",")
            for word in (_normalise(w.strip()) for w in words):
                if word and word in text:
                    return intent
    return None


def _question(event: dict[str, Any]) -> str:
    # Mentions are Slack's own markup on the wire; what is left is typed text.
    return typed_text(_MENTION.sub(" ", str(event.get("text") or ""))).strip()


def _help(services: Services, actor: Actor, lang: Lang, *, unknown: bool) -> Message:
    names = [s.name for s in SUBCOMMANDS.values() if s.visible_to(actor, services.settings)]
    return help_answer(services.catalog, lang, names, unknown=unknown)


async def answer(
    services: Services,
    actor: Actor,
    question: str,
    record: TenantRecord | None,
    *,
    several: bool = False,
) -> Message:
    """The reply to a question, in the question's language (or the asker's, or the tenant's).
    `several`: no record because the asker takes part in several onboardings."""
    default = record.lang if record else Lang.ZH
    lang = lang_of_text(question) or await services.locales.lang_of(actor.user_id, default)
    catalog = services.catalog
    intent = intent_of(question, catalog)
    if intent is Intent.SIP:
        return Message.plain_text(sip_parameters_text(catalog, lang))
    if intent is Intent.LOGIN:
        return Message.plain_text(catalog.t(lang, "conversation.answers.login"))
    if intent is Intent.HELP or intent is None:
        return _help(services, actor, lang, unknown=intent is None)
    if record is None:
        key = "several_tenants" if several else "no_tenant_here"
        return Message.plain_text(catalog.t(lang, f"conversation.errors.{key}"))
    if intent is Intent.MISSING_DOCUMENTS:
        return missing_documents_answer(record, catalog, lang)
    if intent is Intent.NEXT:
        return Message.plain_text(next_action_text(record, catalog, lang))
    return progress_message(record, catalog, lang)


async def on_mention(
    event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> None:
    if event.get("files"):
        return  # the message event of the same post carries the files and answers them
    services: Services = context["services"]
    actor: Actor = context["actor"]
    record = await tenant_of_channel(services.store, str(event.get("channel") or ""))
    reply = await answer(services, actor, _question(event), record)
    thread = event.get("thread_ts")
    await answer_event(client, event, reply, context.get(RECEIPT), thread_ts=thread)


async def on_message(
    event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> None:
    if event.get("bot_id") or "actor" not in context:
        return  # our own posts and other bots
    if event.get("files"):
        await on_file_message(event, context, client)
        return
    # Other channel messages are conversation between people; edits, joins and the like carry
    # a subtype. Only a plain direct message is a question.
    if event.get("channel_type") != "im" or event.get("subtype"):
        return
    services: Services = context["services"]
    actor: Actor = context["actor"]
    tenants = await tenants_of_user(services.store, services.memberships, actor.user_id)
    record = await services.store.get(tenants[0]) if len(tenants) == 1 else None
    reply = await answer(services, actor, _question(event), record, several=len(tenants) > 1)
    await answer_event(client, event, reply, context.get(RECEIPT))


def register(app: AsyncApp) -> None:
    app.event("app_mention")(settles(on_mention))
    app.event("message")(settles(on_message))
