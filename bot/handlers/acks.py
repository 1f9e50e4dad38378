"""A click is acknowledged once the change it asked for is durable.

Slack does not send a click again: once we have answered 200, a change that only lived in the
process dies with it. `acks_when_committed` wraps a click listener so that its `ack()` is held
until the store has committed the click's change (`bot.state.commits`), or the listener has
finished (a refusal, which changes nothing), or `ACK_DEADLINE_SECONDS` have passed, whichever
comes first: the deadline keeps us inside Slack's three seconds when Slack itself is slow to
answer the membership lookups that come before the change.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.kwargs_injection.async_args import AsyncArgs

from bot.state.commits import on_commit

# Well inside Slack's 3 s, leaving room for the network between Slack and us.
ACK_DEADLINE_SECONDS = 2.0

Listener = Callable[..., Awaitable[None]]


class HeldAck:
    """Stands in for Bolt's `ack` in a listener: a call is remembered and sent by `send()`."""

    def __init__(self, real: AsyncAck) -> None:
        self._real = real
        self._asked: tuple[tuple[Any, ...], dict[str, Any]] = ((), {})
        self._sent = False
        self._late: asyncio.Task[None] | None = None

    async def __call__(self, *args: Any, **kwargs: Any) -> None:
        if not self._sent:
            self._asked = (args, kwargs)

    def send_soon(self) -> None:
        """At the deadline: send from a task of its own (kept, so it is not collected)."""
        self._late = asyncio.ensure_future(self.send())

    async def send(self) -> None:
        if self._sent:
            return
        self._sent = True
        args, kwargs = self._asked
        await self._real(*args, **kwargs)


def acks_when_committed(listener: Listener) -> Listener:
    names = inspect.getfullargspec(listener).args

    async def held(args: AsyncArgs) -> None:
        ack = HeldAck(args.ack)
        deadline = asyncio.get_running_loop().call_later(ACK_DEADLINE_SECONDS, ack.send_soon)
        kwargs = {name: ack if name == "ack" else getattr(args, name) for name in names}
        try:
            with on_commit(ack.send):
                await listener(**kwargs)
        finally:
            deadline.cancel()
            await ack.send()

    held.__name__ = getattr(listener, "__name__", "listener")
    held.__qualname__ = getattr(listener, "__qualname__", held.__name__)
    return held
