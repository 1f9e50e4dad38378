"""What a subcommand of `/onboard` is: who may run it, what it is given, how it answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.config import Settings
from bot.flows.model import Actor, ActorRole
from bot.handlers.access import (
    NoTenantHere,
    NotInTenant,
    may_act_for,
    tenant_for,
    tenant_of_channel,
    tenant_of_user,
)
from bot.handlers.replies import explain
from bot.i18n import Lang
from bot.mrkdwn import typed_text
from bot.services import Services
from bot.state import TenantRecord
from bot.views.kit import Message


@dataclass(frozen=True)
class CommandRequest:
    services: Services
    actor: Actor
    lang: Lang  # the user's own language, for ephemeral replies
    channel_id: str
    team_id: str | None
    args: str  # the text after the subcommand name
    payload: dict[str, Any]


# A subcommand answers with an ephemeral message, or None when its effects say it all.
Run = Callable[[CommandRequest], Awaitable[Message | None]]


class Audience(StrEnum):
    """Who can run a subcommand; help lists a subcommand only to those who can."""

    EVERYONE = "everyone"
    STAFF = "staff"  # SEs and managers
    SES = "ses"  # solution engineers
    STARTERS = "starters"  # SEs, or everyone when no SE is configured
    PARTICIPANTS = "participants"  # customers and SEs: those who act (managers watch)


def _always(settings: Settings) -> bool:
    return True


@dataclass(frozen=True)
class Subcommand:
    name: str
    run: Run
    audience: Audience = Audience.EVERYONE
    # The content key that refuses someone outside the audience; None: they are shown help,
    # as for a subcommand that does not exist.
    refused: str | None = None
    # Whether this deployment offers it (a feature its settings may leave off), and the content
    # key that says so to whoever types it; help lists it only where it is offered.
    enabled: Callable[[Settings], bool] = _always
    disabled: str | None = None

    def visible_to(self, actor: Actor, settings: Settings) -> bool:
        if not self.enabled(settings):
            return False
        match self.audience:
            case Audience.STAFF:
                return actor.role in (ActorRole.SE, ActorRole.MANAGER)
            case Audience.SES:
                return actor.role is ActorRole.SE
            case Audience.STARTERS:
                return not settings.onboarding_se_users or actor.role is ActorRole.SE
            case Audience.PARTICIPANTS:
                return actor.role is not ActorRole.MANAGER
        return True


def parse_command(text: object) -> tuple[str, str]:
    """`/onboard <name> <args>` as Slack sends its text (escaped): the subcommand's name as
    typed ("" when none was), and the rest as typed, stripped. The name ends at the first
    whitespace of any kind (a pasted tab or line break too). Any value parses."""
    parts = typed_text(text).split(maxsplit=1)
    name = parts[0] if parts else ""
    return name, parts[1].strip() if len(parts) > 1 else ""


def say(req: CommandRequest, key: str, **params: object) -> Message:
    return Message.plain_text(req.services.catalog.t(req.lang, key, **params))


def refusal(req: CommandRequest, exc: Exception) -> Message:
    return Message.plain_text(explain(exc, req.services.catalog, req.lang))


async def tenant_of_command(req: CommandRequest) -> TenantRecord:
    """The tenant named in the command, or the one of the place it was typed, once the actor
    may act for it. Raises `NotInTenant`, `NoTenantHere`, `TenantNotFound` (to staff)."""
    services = req.services
    words = req.args.split()
    if words:
        return await tenant_for(
            services.onboardings, services.memberships, words[0].lower(), req.actor
        )
    record = await tenant_of_channel(services.store, req.channel_id)
    if record is None and req.channel_id.startswith("D"):
        record = await tenant_of_user(services.store, services.memberships, req.actor.user_id)
    if record is None:
        raise NoTenantHere()
    if not await may_act_for(services.memberships, record, req.actor):
        raise NotInTenant()
    return record
