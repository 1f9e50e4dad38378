"""Global Bolt middleware: services into the context and the actor (events are taken by
`bot.handlers.inbox.take_event`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.internals import extract_actor_team_id
from slack_bolt.response import BoltResponse

from bot.flows.model import Actor
from bot.services import Services

log = logging.getLogger(__name__)

Next = Callable[[], Awaitable[BoltResponse]]


def attach_services(services: Services) -> Callable[..., Awaitable[BoltResponse | None]]:
    async def services_middleware(context: AsyncBoltContext, next: Next) -> BoltResponse | None:
        context["services"] = services
        return await next()

    return services_middleware


def actor_team(body: dict[str, Any]) -> str | None:
    """The team of the person who acted, as the payload says it (never our own team by default).

    Interactions (buttons, selects, forms) carry `user.team_id`; a slash command comes with the
    `team_id` of the workspace it was typed in; for events Bolt's reading applies: in a channel
    shared with other organisations `event.user_team` / `event.team` (an org id mapped to its
    team), elsewhere the workspace the event was delivered for.
    """
    user = body.get("user")
    if isinstance(user, dict):
        team = user.get("team_id")
        return str(team) if team else None
    if body.get("command"):
        team = body.get("team_id")
        return str(team) if team else None
    if body.get("type") == "event_callback":
        return extract_actor_team_id(body)
    return None


async def resolve_actor(
    body: dict[str, Any], context: AsyncBoltContext, next: Next
) -> BoltResponse | None:
    """Who is acting, with their role: SE and manager lists come from the settings, and name
    people of our workspace (the team `auth.test` answered, which Bolt keeps in
    `authorize_result`)."""
    user_id = context.user_id
    if user_id:
        services: Services = context["services"]
        authorized = context.authorize_result
        home_team = authorized.team_id if authorized is not None else None
        role = services.actor_role(user_id, actor_team(body), home_team)
        context["actor"] = Actor(user_id=user_id, role=role)
    return await next()
