"""Who may act for a tenant, and which tenant a channel or a user belongs to.

Customers act for the tenant whose channel they are a member of (in a Slack Connect channel,
that includes the customer's own people); SEs and managers act for every tenant. Someone who may
not act for a tenant is told the same whether it exists or not, so tenant ids cannot be probed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.flows.model import Actor, ActorRole
from bot.ids import is_tenant_id
from bot.onboarding import ConversationError, Onboardings
from bot.state import RedisTenantStore, TenantNotFound, TenantRecord

log = logging.getLogger(__name__)

MEMBERSHIP_TTL_SECONDS = 60.0
_CACHE_SIZE = 5_000


class NotInTenant(ConversationError):
    key = "conversation.errors.not_in_tenant"


class NoTenantHere(ConversationError):
    key = "conversation.errors.no_tenant_here"


@dataclass
class Memberships:
    """Channel members and users' channels, asked of Slack and kept for a minute."""

    client: AsyncWebClient
    _members: dict[str, tuple[float, frozenset[str]]] = field(default_factory=dict)
    _channels: dict[str, tuple[float, tuple[str, ...]]] = field(default_factory=dict)

    async def members_of(self, channel_id: str) -> frozenset[str]:
        hit = self._members.get(channel_id)
        if hit and time.monotonic() - hit[0] < MEMBERSHIP_TTL_SECONDS:
            return hit[1]
        members: set[str] = set()
        cursor: str | None = None
        try:
            while True:
                resp = await self.client.conversations_members(
                    channel=channel_id, limit=200, cursor=cursor
                )
                members.update(str(m) for m in resp.get("members") or [])
                cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    break
        except SlackApiError as exc:
            log.warning("members of %s unknown: %s", channel_id, exc.response.get("error"))
            return frozenset()
        if len(self._members) >= _CACHE_SIZE:
            self._members.clear()
        self._members[channel_id] = (time.monotonic(), frozenset(members))
        return frozenset(members)

    async def channels_of(self, user_id: str) -> tuple[str, ...]:
        hit = self._channels.get(user_id)
        if hit and time.monotonic() - hit[0] < MEMBERSHIP_TTL_SECONDS:
            return hit[1]
        channels: list[str] = []
        cursor: str | None = None
        try:
            while True:
                resp = await self.client.users_conversations(
                    user=user_id,
                    types="public_channel,private_channel",
                    exclude_archived=True,
                    limit=200,
                    cursor=cursor,
                )
                channels += [str(c["id"]) for c in resp.get("channels") or [] if c.get("id")]
                cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    break
        except SlackApiError as exc:
            log.warning("channels of %s unknown: %s", user_id, exc.response.get("error"))
            return ()
        if len(self._channels) >= _CACHE_SIZE:
            self._channels.clear()
        self._channels[user_id] = (time.monotonic(), tuple(channels))
        return tuple(channels)


def is_staff(actor: Actor) -> bool:
    return actor.role in (ActorRole.SE, ActorRole.MANAGER)


async def may_act_for(memberships: Memberships, record: TenantRecord, actor: Actor) -> bool:
    if is_staff(actor):
        return True
    return actor.user_id in await memberships.members_of(record.channel_id)


async def tenant_for(
    onboardings: Onboardings, memberships: Memberships, tenant_id: str, actor: Actor
) -> TenantRecord:
    """The tenant a person named (typed, or carried back by a button or a form), once `actor`
    may act for it. Anyone else hears `NotInTenant` whether the tenant exists or not; staff, who
    may act for every tenant, are told when there is no such tenant."""
    try:
        if not is_tenant_id(tenant_id):
            raise TenantNotFound(tenant_id)
        record = await onboardings.get(tenant_id)
    except TenantNotFound:
        if is_staff(actor):
            raise
        raise NotInTenant() from None
    if not await may_act_for(memberships, record, actor):
        raise NotInTenant()
    return record


async def tenant_of_channel(store: RedisTenantStore, channel_id: str) -> TenantRecord | None:
    tenant_id = await store.tenant_for_channel(channel_id)
    return await store.get(tenant_id) if tenant_id else None


async def tenants_of_user(
    store: RedisTenantStore, memberships: Memberships, user_id: str
) -> list[str]:
    """The tenants whose channels the user is in, in the order Slack lists the channels."""
    found: list[str] = []
    for channel_id in await memberships.channels_of(user_id):
        tenant_id = await store.tenant_for_channel(channel_id)
        if tenant_id and tenant_id not in found:
            found.append(tenant_id)
    return found


async def tenant_of_user(
    store: RedisTenantStore, memberships: Memberships, user_id: str
) -> TenantRecord | None:
    """The tenant whose channel the user is in (for direct messages to the bot), when there is
    exactly one: an SE in many customers' channels must not have a question answered, or a
    file filed, for whichever channel Slack happens to list first."""
    tenants = await tenants_of_user(store, memberships, user_id)
    return await store.get(tenants[0]) if len(tenants) == 1 else None
