"""Global Bolt middleware: services into the context and the actor (events are taken by
`bot.handlers.inbox.take_event`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_bolt.context.async_context import AsyncBoltContext
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


async def resolve_actor(context: AsyncBoltContext, next: Next) -> BoltResponse | None:
    """Who is acting, with their role: SE and manager lists come from the settings."""
    user_id = context.user_id
    if user_id:
        services: Services = context["services"]
        context["actor"] = Actor(user_id=user_id, role=services.actor_role(user_id))
    return await next()
