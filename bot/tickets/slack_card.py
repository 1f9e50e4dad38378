"""Slack backend: the ticket card in `ONBOARDING_OPS_CHANNEL`, posted once, then updated in place.

Slack has no idempotency key for `chat.postMessage`; the dispatcher stores the card's ts as soon
as the post returns, and never posts again once it has one. The card carries message metadata
(`onboarding_sip_ticket`, tenant and ticket) so a card whose ts was lost can be recognised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import TicketBackend as BackendName
from bot.i18n import Catalog, Lang
from bot.tickets.delivery import BackendError, Delivery, DeliveryState
from bot.tickets.view import TicketView
from bot.views.ticket import ticket_card

# The other backends' states, in display order, for the card's status line.
StatusSource = Callable[[TicketView], Awaitable[Mapping[str, DeliveryState]]]

# Bounds the whole call, including the client's own retries of rate limits.
DEFAULT_TIMEOUT_SECONDS = 30.0
METADATA_EVENT = "onboarding_sip_ticket"


class SlackCardBackend:
    shows_status = True

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        channel: str,
        catalog: Catalog,
        lang: Lang,
        statuses: StatusSource,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._client = client
        self._channel = channel
        self._catalog = catalog
        self._lang = lang
        self._statuses = statuses
        self._timeout = timeout

    @property
    def name(self) -> str:
        return BackendName.SLACK.value

    async def open(self, ticket: TicketView) -> Delivery:
        message = ticket_card(ticket, self._catalog, self._lang, await self._statuses(ticket))
        metadata = {
            "event_type": METADATA_EVENT,
            "event_payload": {"tenant": ticket.tenant_id, "ticket": ticket.ticket_id},
        }
        reply = await self._call(
            "slack post",
            self._client.chat_postMessage(channel=self._channel, metadata=metadata, **message),
        )
        ts = reply.get("ts")
        if not isinstance(ts, str):
            raise BackendError("slack post: answer without a message ts")
        return Delivery(external_id=ts, channel=str(reply.get("channel") or self._channel))

    async def update(self, ticket: TicketView, delivery: Delivery) -> Delivery | None:
        message = ticket_card(ticket, self._catalog, self._lang, await self._statuses(ticket))
        channel = delivery.channel or self._channel
        try:
            await self._call(
                "slack update",
                self._client.chat_update(channel=channel, ts=delivery.external_id, **message),
            )
        except _CardGone:
            # Someone deleted the card: the engineers still need one.
            return await self.open(ticket)
        return None

    async def _call(self, what: str, call: Awaitable[Any]) -> Mapping[str, Any]:
        try:
            async with asyncio.timeout(self._timeout):
                response = await call
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "unknown_error")
            if error in ("message_not_found", "cant_update_message"):
                raise _CardGone(f"{what}: {error}") from None
            status = exc.response.status_code
            if status == 429:
                raw = str(exc.response.headers.get("Retry-After", ""))
                after = timedelta(seconds=int(raw)) if raw.isdigit() else None
                raise BackendError(f"{what}: rate limited", retry_after=after) from None
            suffix = f" (HTTP {status})" if status != 200 else ""
            raise BackendError(f"{what}: {error}{suffix}") from None
        except TimeoutError:
            raise BackendError(f"{what}: no answer within {self._timeout:g} s") from None
        except aiohttp.ClientError as exc:
            raise BackendError(f"{what}: connection failed ({type(exc).__name__})") from None
        except SlackClientError as exc:
            raise BackendError(f"{what}: {type(exc).__name__}") from None
        data = response.data
        return data if isinstance(data, dict) else {}


class _CardGone(BackendError):
    """The card no longer exists (deleted), so it must be posted again."""
