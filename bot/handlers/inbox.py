"""Events are taken durably before the ack and settled when their listener has finished.

`take_event` (global middleware) takes each Events API delivery into the inbox
(`bot.state.inbox`) before Bolt acks it. A repeat of an event that is done or being worked on is
dropped; a repeat of one whose taker died (its lease lapsed) takes it over and runs it now.
`settles` wraps each event listener: while it runs, the lease is extended; when it returns, the
event is settled. A listener that raises leaves the event pending, so it is run again (a bounded
number of times). `replay_lapsed` runs, periodically, the events whose takers died and which
Slack did not deliver again.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.kwargs_injection.async_args import AsyncArgs
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.logs import log_context
from bot.services import Services
from bot.state.inbox import EVENT_ID, Inbox, Receipt

log = logging.getLogger(__name__)

RECEIPT = "inbox_receipt"  # the context key of the delivery's receipt
# Set on every wrapped listener (here and in `bot.handlers.acks`), so a test can tell that none
# was registered bare, keeping Slack waiting for its work.
WRAPPED = "_answers_early"

Next = Callable[[], Awaitable[BoltResponse]]
Listener = Callable[..., Awaitable[None]]


def _header(req: AsyncBoltRequest, name: str) -> str | None:
    # Bolt keeps header values as lists.
    values = req.headers.get(name)
    return values[0] if values else None


async def take_event(
    req: AsyncBoltRequest,
    body: dict[str, Any],
    context: AsyncBoltContext,
    next: Next,
) -> BoltResponse | None:
    """Process each Events API delivery once, and never lose one we acked.

    Slack retries a delivery with the same `event_id`. Dropping every request that carries
    `X-Slack-Retry-Num` would lose events whose first delivery never reached us, so the first
    delivery of each id is taken, whichever attempt it is; a repeat is dropped unless the one who
    took it died without finishing.
    """
    if context.get(RECEIPT) is not None:
        return await next()  # a replay from the inbox: already taken
    event_id = body.get("event_id") if body.get("type") == "event_callback" else None
    if not isinstance(event_id, str) or not EVENT_ID.match(event_id):
        return await next()
    services: Services = context["services"]
    inbox = services.inbox
    raw = req.raw_body if isinstance(req.raw_body, str) and req.raw_body else json.dumps(body)
    receipt = await inbox.receive(event_id, raw)
    if receipt is None:
        taken = await inbox.take_over(event_id)
        if taken is None:
            log.info(
                "dropped a repeated delivery of %s (retry %s, %s)",
                event_id,
                _header(req, "x-slack-retry-num") or "-",
                _header(req, "x-slack-retry-reason") or "-",
            )
            return BoltResponse(status=200, body="")
        receipt = taken[0]
        log.info("took over event %s, whose first taker did not finish it", event_id)
    context[RECEIPT] = receipt
    return await next()


def settles(listener: Listener) -> Listener:
    """Wrap an event listener: Slack gets its 200 at once (the inbox has the event), and the
    listener runs in the background, with the lease extended while it runs; the event is
    settled when it has finished. One that raises leaves the event pending, so it is run again.
    Bolt passes the wrapper everything (`args`); the listener gets the arguments it names, as if
    Bolt had called it directly."""
    names = inspect.getfullargspec(listener).args
    what = getattr(listener, "__name__", "listener")

    async def settled(args: AsyncArgs) -> None:
        receipt: Receipt | None = args.context.get(RECEIPT)
        kwargs = {name: getattr(args, name) for name in names}
        services: Services = args.context["services"]
        services.runner.spawn(_run(services, receipt, listener, kwargs), f"event listener {what}")

    settled.__name__ = what
    settled.__qualname__ = getattr(listener, "__qualname__", what)
    setattr(settled, WRAPPED, True)
    return settled


async def _run(
    services: Services, receipt: Receipt | None, listener: Listener, kwargs: dict[str, Any]
) -> None:
    if receipt is None:
        async with services.runner.slot():
            await listener(**kwargs)
        return
    keeping = asyncio.create_task(_keep_lease(services.inbox, receipt))
    try:
        async with services.runner.slot():
            await listener(**kwargs)
    finally:
        keeping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeping
    try:
        await services.inbox.settle(receipt)
    except Exception as exc:  # the work is done; a replay will find its reply and stop
        log.info("could not settle event %s: %s", receipt.event_id, type(exc).__name__)


async def settle_unheard(context: dict[str, Any]) -> None:
    """An event no listener takes is finished as soon as it is answered."""
    receipt: Receipt | None = context.get(RECEIPT)
    services: Services | None = context.get("services")
    if receipt is not None and services is not None:
        await services.inbox.settle(receipt)


async def _keep_lease(inbox: Inbox, receipt: Receipt) -> None:
    every = inbox.lease.total_seconds() / 3
    while True:
        await asyncio.sleep(every)
        try:
            if not await inbox.extend(receipt):
                return
        except Exception as exc:  # Redis away: the lease may lapse; the work goes on
            log.info("could not extend the lease of %s: %s", receipt.event_id, type(exc).__name__)


async def replay_lapsed(services: Services, bolt: AsyncApp, limit: int = 50) -> int:
    """Run again the events whose takers died before finishing them; returns how many."""
    replayed = 0
    for event_id in await services.inbox.lapsed(limit):
        taken = await services.inbox.take_over(event_id)
        if taken is None:
            continue
        receipt, raw = taken
        try:
            body = json.loads(raw)
        except ValueError:
            await services.inbox.settle(receipt)
            continue
        log.info("replaying event %s (take %s)", event_id, receipt.takes)
        with log_context(request_id=event_id):
            # From our own store, not from the network: Bolt's signature check does not apply,
            # as for Socket Mode, whose requests arrive over an authenticated connection.
            request = AsyncBoltRequest(body=body, mode="socket_mode", context={RECEIPT: receipt})
            await bolt.async_dispatch(request)
        replayed += 1
    return replayed
