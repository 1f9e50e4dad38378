"""Webhook backend: POSTs signed JSON events to `TICKET_WEBHOOK_URL`.

Events: `ticket.opened` (once per ticket) and `ticket.stage_changed` (once per stage reached).
The headers, the signature and what a receiver must check are described in
`bot.tickets.signing`. The body is:

    {"event": "ticket.opened", "delivery_id": "...", "idempotency_key": "T-1:ticket.opened",
     "sent_at": "2026-03-02T09:00:00+00:00", "ticket": {...every TicketView field...}}

`ticket.stage` is the stage number (1-5) and `ticket.stage_name` its stable name.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime

import aiohttp
from pydantic import SecretStr

from bot.config import TicketBackend as BackendName
from bot.tickets.delivery import Delivery
from bot.tickets.http import DEFAULT_TIMEOUT, raise_for_status, send
from bot.tickets.signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
)
from bot.tickets.view import TicketView

OPENED = "ticket.opened"
STAGE_CHANGED = "ticket.stage_changed"


def event_key(event: str, ticket: TicketView) -> str:
    """What makes an event unique for the receiver: one `opened`, one change per stage."""
    return event if event == OPENED else f"{event}:{ticket.stage_name}"


def idempotency_key(event: str, ticket: TicketView) -> str:
    return f"{ticket.ticket_id}:{event_key(event, ticket)}"


class WebhookBackend:
    shows_status = False

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession,
        url: str,
        secret: SecretStr,
        clock: Callable[[], datetime],
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
    ) -> None:
        self._session = session
        self._url = url
        self._secret = secret
        self._clock = clock
        self._timeout = timeout

    @property
    def name(self) -> str:
        return BackendName.WEBHOOK.value

    async def open(self, ticket: TicketView) -> Delivery:
        return await self._post(OPENED, ticket)

    async def update(self, ticket: TicketView, delivery: Delivery) -> Delivery | None:
        await self._post(STAGE_CHANGED, ticket)
        return None

    async def _post(self, event: str, ticket: TicketView) -> Delivery:
        now = self._clock()
        delivery_id = uuid.uuid4().hex
        key = idempotency_key(event, ticket)
        payload = {
            "event": event,
            "delivery_id": delivery_id,
            "idempotency_key": key,
            "sent_at": now.isoformat(),
            "ticket": ticket.model_dump(mode="json"),
        }
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = int(now.timestamp())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            EVENT_HEADER: event,
            DELIVERY_HEADER: delivery_id,
            IDEMPOTENCY_HEADER: key,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self._secret.get_secret_value(), timestamp, body),
        }
        reply = await send(
            self._session,
            "POST",
            self._url,
            what="webhook",
            limits=self._timeout,
            data=body,
            headers=headers,
        )
        raise_for_status(reply, "webhook")
        answer = reply.json()
        their_id = answer.get("id") if isinstance(answer, dict) else None
        external = str(their_id) if isinstance(their_id, str | int) and their_id != "" else key
        return Delivery(external_id=external)
