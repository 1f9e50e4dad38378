"""What solution engineers and managers run: stalled onboardings, nudges, snoozes, ownership.

`SUBCOMMANDS` joins `/onboard`'s (see `bot.handlers.commands`); `register` adds the buttons of
the SE's stall notice (*Nudge now*, *Snooze 1 day*) and of a nudge's confirmation.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.flows.errors import InputField, InvalidValue
from bot.flows.model import Actor, ActorRole
from bot.handlers.acks import answers_at_commit
from bot.handlers.clicks import Click
from bot.handlers.replies import EXPECTED
from bot.handlers.subcommands import Audience, CommandRequest, Subcommand, refusal, say
from bot.i18n import Lang
from bot.ids import ActionId, action_pattern
from bot.mrkdwn import escape, mention, user_of
from bot.onboarding import ConversationError, NudgeAgain, Nudged
from bot.reporting import NotHere
from bot.services import Services
from bot.views.kit import Message, actions, button, sections
from bot.views.stalls import LIST_LIMIT, StallRef, stalled_list, when_text

log = logging.getLogger(__name__)


class SeOnly(ConversationError):
    key = "stalls.errors.se_only"


# -- /onboard stalled -----------------------------------------------------------------------------


async def _stalled(req: CommandRequest) -> Message:
    """The stalled onboardings, longest first; only the asker sees it."""
    services = req.services
    found = await services.store.stalled()
    records = await services.store.get_many(
        [tenant for tenant, _, _ in found[:LIST_LIMIT]], skip_corrupt=True
    )
    shown = [records[t] for t, _, _ in found[:LIST_LIMIT] if t in records]
    return stalled_list(
        shown, len(found), services.catalog, req.lang, services.policy, services.clock()
    )


# -- /onboard nudge -------------------------------------------------------------------------------


def nudged_reply(services: Services, lang: Lang, done: Nudged) -> Message:
    record, catalog = done.record, services.catalog
    company = escape(record.company)
    if done.queued_for is not None:
        return Message.plain_text(
            catalog.t(lang, "stalls.nudge.queued", company=company, when=when_text(done.queued_for))
        )
    return Message.plain_text(
        catalog.t(lang, "stalls.nudge.sent", company=company, channel=record.channel_id)
    )


def nudge_again_question(
    services: Services, lang: Lang, tenant_id: str, exc: NudgeAgain
) -> Message:
    """Asked of the SE only: someone nudged this tenant within the hour."""
    minutes = max(1, int((services.clock() - exc.last.at).total_seconds() // 60))
    text = services.catalog.t(
        lang,
        "stalls.nudge.again",
        se=mention(exc.last.by),
        minutes=minutes,
        company=escape(exc.params.get("company", "")),
    )
    confirm = button(
        services.catalog.t(lang, "stalls.nudge.confirm"), ActionId.NUDGE_AGAIN, tenant_id
    )
    return Message.of(text, [*sections(text), actions([confirm])])


async def nudge(
    services: Services, actor: Actor, lang: Lang, tenant_id: str, *, confirmed: bool
) -> Message:
    """Nudge the tenant's customer for `actor` (an SE): the reply to show only to them."""
    if actor.role is not ActorRole.SE:
        return Message.plain_text(services.catalog.t(lang, SeOnly.key))
    try:
        done = await services.onboardings.nudge(tenant_id, actor, confirmed=confirmed)
    except NudgeAgain as exc:
        return nudge_again_question(services, lang, tenant_id, exc)
    services.runner.kick(tenant_id)
    return nudged_reply(services, lang, done)


async def _nudge(req: CommandRequest) -> Message:
    tenant_id = req.args.split()[0].lower() if req.args.split() else ""
    if not tenant_id:
        return say(req, "stalls.nudge.usage")
    try:
        return await nudge(req.services, req.actor, req.lang, tenant_id, confirmed=False)
    except EXPECTED as exc:
        return refusal(req, exc)


# -- /onboard assign ------------------------------------------------------------------------------


async def _assign(req: CommandRequest) -> Message:
    """`/onboard assign <tenant> <@user>`: hand the onboarding to another SE."""
    services = req.services
    parts = req.args.split()
    to_user = user_of(parts[1]) if len(parts) == 2 else None
    if to_user is None:
        return say(req, "stalls.assign.usage")
    if not services.settings.is_se(to_user):
        return say(req, "stalls.assign.not_se", user=mention(to_user))
    try:
        record = await services.onboardings.assign(parts[0].lower(), req.actor, to_user)
    except EXPECTED as exc:
        return refusal(req, exc)
    services.runner.kick(record.tenant_id)
    return say(
        req,
        "stalls.assign.done",
        user=mention(to_user),
        company=escape(record.company),
        tenant=record.tenant_id,
    )


# -- /onboard summary, /onboard export -------------------------------------------------------------


async def _report(req: CommandRequest, what: str) -> Message:
    """Post the summary (with its chart) or the export where it was asked, if that is a staff
    channel or a direct message; the figures come from the indexes, the rest after the ack."""
    services = req.services
    reporting = services.reporting
    try:
        channel = await reporting.destination(req.channel_id, req.actor.user_id)
    except NotHere:
        return say(req, "stalls.errors.not_here")
    if what == "summary":
        services.runner.spawn(reporting.post_summary(channel, req.lang), "posting a summary")
        key = "summary.posted"
    else:
        services.runner.spawn(reporting.post_export(channel, req.lang), "posting an export")
        key = "summary.exported"
    where = f"<#{channel}>" if not channel.startswith("D") else None
    return say(req, key, where=where or services.catalog.t(req.lang, "summary.dm"))


async def _summary(req: CommandRequest) -> Message:
    return await _report(req, "summary")


async def _export(req: CommandRequest) -> Message:
    return await _report(req, "export")


SUBCOMMANDS = (
    Subcommand("stalled", _stalled, Audience.STAFF),
    Subcommand("nudge", _nudge, Audience.SES),
    Subcommand("assign", _assign, Audience.SES),
    Subcommand("summary", _summary, Audience.STAFF),
    Subcommand("export", _export, Audience.STAFF),
)


# -- the buttons ----------------------------------------------------------------------------------


async def on_nudge_button(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    """*Nudge now* on a stall notice, or *Nudge again* on the confirmation."""
    await ack()
    click = Click.of(body, context, client, respond)
    lang = await click.lang()
    again = action_pattern(ActionId.NUDGE_AGAIN).match(str(action.get("action_id")))
    if again:
        tenant_id = str(action.get("value") or "")
    else:
        ref = StallRef.parse(action.get("value"))
        tenant_id = ref.tenant_id if ref else ""
    try:
        reply = await nudge(click.services, click.actor, lang, tenant_id, confirmed=bool(again))
    except EXPECTED as exc:
        await click.refuse(exc)
        return
    if again and click.from_ephemeral:
        await click.close_ephemeral()
    await click.tell(reply)


async def on_snooze_button(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    """*Snooze 1 day* on a stall notice: no reminder or escalation for a business day."""
    await ack()
    click = Click.of(body, context, client, respond)
    services = click.services
    lang = await click.lang()
    ref = StallRef.parse(action.get("value"))
    try:
        if click.actor.role is not ActorRole.SE:
            raise SeOnly()
        if ref is None:
            raise InvalidValue(InputField.EVENT, "malformed")
        record = await services.onboardings.snooze(ref.tenant_id, click.actor, ref.since)
    except EXPECTED as exc:
        await click.refuse(exc)
        return
    until = record.stall.snoozed_until if record.stall else None
    text = services.catalog.t(
        lang,
        "stalls.snooze.done",
        company=escape(record.company),
        when=when_text(until) if until else "-",
    )
    await click.tell(text)


def register(app: AsyncApp) -> None:
    app.action(action_pattern(ActionId.NUDGE))(answers_at_commit(on_nudge_button))
    app.action(action_pattern(ActionId.NUDGE_AGAIN))(answers_at_commit(on_nudge_button))
    app.action(action_pattern(ActionId.SNOOZE))(answers_at_commit(on_snooze_button))
