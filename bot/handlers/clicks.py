"""What every button handler needs: who clicked where, and how to answer only them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.flows.model import Actor
from bot.handlers.replies import explain, tell
from bot.i18n import Lang
from bot.services import Services
from bot.views.kit import Message

log = logging.getLogger(__name__)

# What Slack answers to a trigger used too late (or twice): the person can simply click again.
TRIGGER_ERRORS = frozenset({"expired_trigger_id", "exchanged_trigger_id", "invalid_trigger_id"})


def channel_of(body: dict[str, Any]) -> str:
    channel = body.get("channel") or {}
    container = body.get("container") or {}
    return str(channel.get("id") or container.get("channel_id") or "")


@dataclass(frozen=True)
class Click:
    services: Services
    actor: Actor
    channel: str
    body: dict[str, Any]
    client: AsyncWebClient
    respond: AsyncRespond

    @classmethod
    def of(
        cls,
        body: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> Click:
        return cls(context["services"], context["actor"], channel_of(body), body, client, respond)

    async def lang(self, default: Lang | None = None) -> Lang:
        """The clicker's own language (replies to a click are theirs alone)."""
        fallback = default or self.services.settings.ops_lang
        return await self.services.locales.lang_of(self.actor.user_id, fallback)

    async def tell(self, text: str | Message) -> None:
        await tell(self.client, self.channel, self.actor.user_id, text, self.respond)

    @property
    def from_ephemeral(self) -> bool:
        """The click was on a message only the clicker sees (a question the bot asked them)."""
        return bool((self.body.get("container") or {}).get("is_ephemeral"))

    async def close_ephemeral(self, text: str | None = None) -> None:
        """Remove the clicked ephemeral message (Slack allows it only through the
        response_url), or replace it with `text`."""
        if not self.respond.response_url:
            return
        try:
            if text is None:
                await self.respond(delete_original=True)
            else:
                await self.respond(text=text, replace_original=True, response_type="ephemeral")
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("could not close an ephemeral message: %s", type(exc).__name__)

    async def refuse(self, exc: Exception, default: Lang | None = None) -> None:
        """Explain a refusal to the clicker only; nothing else happens."""
        await self.tell(explain(exc, self.services.catalog, await self.lang(default)))

    async def open_form(self, view: dict[str, Any], lang: Lang) -> None:
        """Open a form. The trigger lives 3 s, so a click that came too late is told to click
        again; any other refusal is ours (the form itself), logged with Slack's explanation and
        never blamed on the click."""
        try:
            await self.client.views_open(trigger_id=self.body["trigger_id"], view=view)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            if error in TRIGGER_ERRORS:
                log.info("views.open: %s", error)
                await self.tell(self.services.catalog.t(lang, "conversation.errors.form_expired"))
                return
            details = (exc.response.get("response_metadata") or {}).get("messages") or []
            log.error(
                "Slack refused the form %s: %s %s",
                view.get("callback_id"),
                error,
                "; ".join(str(d) for d in details)[:500],
            )
            await self.tell(self.services.catalog.t(lang, "conversation.errors.form_failed"))
