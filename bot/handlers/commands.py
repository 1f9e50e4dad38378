"""The `/onboard` slash command: parse the subcommand, run it, answer ephemerally."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext

from bot.blocks import Message, help_message
from bot.flows.model import Actor, ActorRole
from bot.i18n import Lang
from bot.ids import Command
from bot.services import Services
from bot.slackapi import escape

log = logging.getLogger(__name__)

# How much of an unknown subcommand we echo back in the hint.
_ECHO_LIMIT = 40


@dataclass(frozen=True)
class CommandRequest:
    services: Services
    actor: Actor
    lang: Lang  # the user's own language, for ephemeral replies
    channel_id: str
    team_id: str | None
    args: str  # the text after the subcommand name
    payload: dict[str, Any]


Run = Callable[[CommandRequest], Awaitable[Message]]


@dataclass(frozen=True)
class Subcommand:
    name: str
    run: Run
    staff_only: bool = False  # SEs and managers only

    def visible_to(self, actor: Actor) -> bool:
        return not self.staff_only or actor.role in (ActorRole.SE, ActorRole.MANAGER)


async def _help(req: CommandRequest) -> Message:
    return help_for(req)


def help_for(req: CommandRequest, hint: str | None = None) -> Message:
    names = [s.name for s in SUBCOMMANDS.values() if s.visible_to(req.actor)]
    return help_message(req.services.catalog, req.lang, names, hint=hint)


# Only subcommands that work are listed; each issue that adds one adds it here.
SUBCOMMANDS: dict[str, Subcommand] = {s.name: s for s in [Subcommand("help", _help)]}


async def onboard(ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext) -> None:
    services: Services = context["services"]
    actor: Actor = context["actor"]
    lang = await services.locales.lang_of(actor.user_id, default=Lang.ZH)
    text = str(command.get("text") or "").strip()
    name, _, args = text.partition(" ")
    req = CommandRequest(
        services=services,
        actor=actor,
        lang=lang,
        channel_id=str(command.get("channel_id") or ""),
        team_id=command.get("team_id"),
        args=args.strip(),
        payload=command,
    )
    sub = SUBCOMMANDS.get(name.lower()) if name else SUBCOMMANDS["help"]
    if sub is None or not sub.visible_to(actor):
        given = name if len(name) <= _ECHO_LIMIT else name[:_ECHO_LIMIT] + "…"
        # Backticks would end the inline code span the hint puts the name in.
        given = escape(given.replace("`", "'"))
        hint = services.catalog.t(lang, "help.unknown", given=given)
        log.info("unknown subcommand from %s", actor.user_id)
        await ack(response_type="ephemeral", **help_for(req, hint))
        return
    reply = await sub.run(req)
    await ack(response_type="ephemeral", **reply)


def register(app: AsyncApp) -> None:
    app.command(Command.ONBOARD.value)(onboard)
