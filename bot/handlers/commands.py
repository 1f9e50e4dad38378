"""The `/onboard` slash command: parse the subcommand, run it, answer ephemerally."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext

from bot.flows.engine import OverrideStep
from bot.flows.model import Actor, Step
from bot.handlers import cloudkey, purge, staff, verify
from bot.handlers.access import (
    NoTenantHere,
    NotInTenant,
    may_act_for,
    tenant_of_channel,
)
from bot.handlers.acks import answers_at_ack
from bot.handlers.replies import EXPECTED
from bot.handlers.subcommands import (
    Audience,
    CommandRequest,
    Subcommand,
    parse_command,
    refusal,
    say,
    tenant_of_command,
)
from bot.i18n import Lang
from bot.ids import Command
from bot.mrkdwn import escape
from bot.services import Services
from bot.state import ChannelAlreadyBound
from bot.views.help import help_message
from bot.views.kit import Message
from bot.views.progress import progress_message

log = logging.getLogger(__name__)

# How much of an unknown subcommand we echo back in the hint.
_ECHO_LIMIT = 40


async def _help(req: CommandRequest) -> Message:
    return help_for(req)


async def _start(req: CommandRequest) -> Message:
    """`/onboard start <company>`: bind this channel to a new tenant."""
    services = req.services
    settings = services.settings
    if not SUBCOMMANDS["start"].visible_to(req.actor, settings):
        return say(req, "conversation.errors.start_not_allowed")
    if req.channel_id.startswith("D") or not req.channel_id:
        return say(req, "conversation.errors.start_in_dm")
    if req.channel_id in (settings.onboarding_ops_channel, settings.onboarding_manager_channel):
        # Every member of a staff channel would act for the tenant bound to it.
        return say(req, "conversation.errors.start_in_ops")
    if not req.args:
        return say(req, "conversation.errors.start_usage")
    # The tenant speaks the starter's language until someone changes it with `lang`.
    try:
        record = await services.onboardings.start(
            company=req.args,
            channel_id=req.channel_id,
            team_id=req.team_id,
            actor=req.actor,
            lang=req.lang,
        )
    except ChannelAlreadyBound as exc:
        bound = await services.store.get(exc.tenant_id)
        company = escape(bound.company) if bound else "?"
        return say(req, "conversation.errors.already_bound", company=company, tenant=exc.tenant_id)
    except EXPECTED as exc:
        return refusal(req, exc)
    services.runner.kick(record.tenant_id)
    return say(req, "conversation.started", company=escape(record.company), tenant=record.tenant_id)


async def _status(req: CommandRequest) -> Message:
    """`/onboard status [tenant]`: the checklist and the exact next action, only to the asker."""
    try:
        record = await tenant_of_command(req)
    except EXPECTED as exc:
        return refusal(req, exc)
    return progress_message(record, req.services.catalog, req.lang)


async def _lang(req: CommandRequest) -> Message | None:
    """`/onboard lang zh|en`: the language of this channel's onboarding."""
    services = req.services
    choice = req.args.strip().lower()
    if choice not in {lang.value for lang in Lang}:
        return say(req, "conversation.errors.lang_usage")
    try:
        record = await tenant_of_channel(services.store, req.channel_id)
        if record is None:
            raise NoTenantHere()
        if not await may_act_for(services.memberships, record, req.actor):
            raise NotInTenant()
        await services.onboardings.set_lang(record.tenant_id, Lang(choice), req.actor)
    except EXPECTED as exc:
        return refusal(req, exc)
    services.runner.kick(record.tenant_id)
    return None  # the channel is told, in the new language


def help_for(req: CommandRequest, hint: str | None = None) -> Message:
    settings = req.services.settings
    names = [s.name for s in SUBCOMMANDS.values() if s.visible_to(req.actor, settings)]
    return help_message(req.services.catalog, req.lang, names, hint=hint)


# Only subcommands that work are listed; each issue that adds one adds it here.
async def _move(req: CommandRequest) -> Message | None:
    """`/onboard move <tenant> <step 1-8> <reason>`: an SE moves a tenant, for the record."""
    services = req.services
    parts = req.args.split(maxsplit=2)
    steps = {str(step.number): step for step in Step.ordered()} | {
        s.value: s for s in Step.ordered()
    }
    if len(parts) < 3 or parts[1].lower() not in steps:
        return say(req, "conversation.errors.move_usage")
    tenant_id, step, reason = parts[0].lower(), steps[parts[1].lower()], parts[2]
    try:
        await services.onboardings.act(tenant_id, OverrideStep(step=step, reason=reason), req.actor)
    except EXPECTED as exc:
        return refusal(req, exc)
    services.runner.kick(tenant_id)
    return say(req, "conversation.moved", tenant=tenant_id, number=step.number)


SUBCOMMANDS: dict[str, Subcommand] = {
    s.name: s
    for s in [
        Subcommand("help", _help),
        Subcommand("start", _start, Audience.STARTERS),
        Subcommand("status", _status),
        Subcommand("lang", _lang),
        Subcommand("move", _move, Audience.SES),
        *staff.SUBCOMMANDS,
        *purge.SUBCOMMANDS,
        *cloudkey.SUBCOMMANDS,
        *verify.SUBCOMMANDS,
    ]
}


async def onboard(ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext) -> None:
    services: Services = context["services"]
    actor: Actor = context["actor"]
    lang = await services.locales.lang_of(actor.user_id, default=Lang.ZH)
    name, args = parse_command(command.get("text"))
    req = CommandRequest(
        services=services,
        actor=actor,
        lang=lang,
        channel_id=str(command.get("channel_id") or ""),
        team_id=command.get("team_id"),
        args=args,
        payload=command,
    )
    sub = SUBCOMMANDS.get(name.lower()) if name else SUBCOMMANDS["help"]
    if sub is not None and sub.disabled and not sub.enabled(services.settings):
        await ack(response_type="ephemeral", **say(req, sub.disabled))
        return
    if sub is not None and sub.refused and not sub.visible_to(actor, services.settings):
        await ack(response_type="ephemeral", **say(req, sub.refused))
        return
    if sub is None or (sub.name != "start" and not sub.visible_to(actor, services.settings)):
        given = name if len(name) <= _ECHO_LIMIT else name[:_ECHO_LIMIT] + "…"
        # Backticks would end the inline code span the hint puts the name in.
        given = escape(given.replace("`", "'"))
        hint = services.catalog.t(lang, "help.unknown", given=given)
        log.info("unknown subcommand from %s", actor.user_id)
        await ack(response_type="ephemeral", **help_for(req, hint))
        return
    reply = await sub.run(req)
    if reply is None:
        await ack()
    else:
        await ack(response_type="ephemeral", **reply)


def register(app: AsyncApp) -> None:
    app.command(Command.ONBOARD.value)(answers_at_ack(onboard))
