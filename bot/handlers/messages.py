"""Messages addressed to the bot: @mentions in channels and direct messages."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks import Message, help_message, section
from bot.flows.model import Actor
from bot.handlers.commands import SUBCOMMANDS
from bot.i18n import Lang, lang_of_text
from bot.services import Services

log = logging.getLogger(__name__)

_MENTION = re.compile(r"<@[A-Z0-9]+(\|[^>]*)?>")


def _question(event: dict[str, Any]) -> str:
    return _MENTION.sub(" ", str(event.get("text") or "")).strip()


async def _answer(services: Services, actor: Actor, question: str) -> Message:
    lang = lang_of_text(question) or await services.locales.lang_of(actor.user_id, Lang.ZH)
    names = [s.name for s in SUBCOMMANDS.values() if s.visible_to(actor)]
    reply = help_message(services.catalog, lang, names)
    greeting = services.catalog.t(lang, "mention.greeting")
    return Message.of(greeting + "\n" + reply["text"], [section(greeting), *reply["blocks"]])


async def on_mention(
    event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> None:
    services: Services = context["services"]
    actor: Actor = context["actor"]
    reply = await _answer(services, actor, _question(event))
    thread = event.get("thread_ts")
    await client.chat_postMessage(channel=event["channel"], thread_ts=thread, **reply)


async def on_message(
    event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> None:
    # Only direct messages without a subtype (edits, joins, bot posts) are questions here.
    if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
        return
    if "actor" not in context:
        return
    services: Services = context["services"]
    reply = await _answer(services, context["actor"], _question(event))
    await client.chat_postMessage(channel=event["channel"], **reply)


def register(app: AsyncApp) -> None:
    app.event("app_mention")(on_mention)
    app.event("message")(on_message)
