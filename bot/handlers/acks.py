"""When Slack gets its answer, and what goes on after it.

Bolt runs with `process_before_response=True`: it answers Slack when the listener returns, with
no polling for `ack()`. Every listener is wrapped so that it returns as soon as its answer is
known, and the rest of its work (Slack calls, the outbox drain) goes on in the background,
kept by the effect runner (`EffectRunner.spawn`), with failures answered as Bolt's error handler
would answer them:

- `answers_at_ack`: the answer goes out when the listener calls `ack()` (a command's reply, a
  form's inline errors, a click that only opens a form), or when it finishes.
- `answers_at_commit`: for clicks that change an onboarding. Slack never sends a click again, so
  once we have answered, a change that only lived in the process would die with it: the click's
  `ack()` is held until the store has committed its change (`bot.state.commits`), or the listener
  has finished (a refusal, which changes nothing), or `ACK_DEADLINE_SECONDS` have passed, whichever
  comes first. The deadline keeps us inside Slack's 3 s when Slack is slow to answer the lookups
  that come before the change.

Until it is answered a request is counted (`Turns.answer`): meanwhile the effects of earlier
requests start only two at a time (`bot.turns`), so a burst of clicks does not push the
answers back. The request itself never waits for a place.

Event listeners are run in the background by `bot.handlers.inbox.settles`, since an event is
durable once the inbox has taken it.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.kwargs_injection.async_args import AsyncArgs

from bot.handlers.failures import on_error
from bot.handlers.inbox import WRAPPED
from bot.services import Services
from bot.state.commits import on_commit

# Well inside Slack's 3 s, leaving room for the network between Slack and us. A click's change
# gets 2 s to commit; a listener that answers by itself (a form keeps its own 2 s deadline) is
# answered for at 2.5 s if it has not, and what it says later goes to its response_url.
ACK_DEADLINE_SECONDS = 2.0
ANSWER_DEADLINE_SECONDS = 2.5

Listener = Callable[..., Awaitable[None]]

log = logging.getLogger(__name__)


class HeldAck:
    """Stands in for Bolt's `ack` in a listener: what the listener asked for is sent by
    `send()`, and `answered` is set once it has been."""

    def __init__(self, real: AsyncAck, *, hold: bool, respond: AsyncRespond | None) -> None:
        self._real = real
        self._hold = hold
        self._respond = respond
        self._asked: tuple[tuple[Any, ...], dict[str, Any]] = ((), {})
        self.answered = asyncio.Event()

    async def __call__(self, *args: Any, **kwargs: Any) -> None:
        if self.answered.is_set():
            await self._late(kwargs)
            return
        self._asked = (args, kwargs)
        if not self._hold:
            await self.send()

    async def _late(self, kwargs: dict[str, Any]) -> None:
        """A reply asked for after Slack was answered (an empty 200 at the deadline): sent to
        the response_url, where a command's or a click's reply can still go."""
        said = {k: v for k, v in kwargs.items() if k in ("text", "blocks") and v}
        if not said or self._respond is None or not self._respond.response_url:
            return
        try:
            await self._respond(**said, response_type="ephemeral", replace_original=False)
        except Exception:  # the person already waits; do not raise a second failure
            log.warning("could not send a late reply", exc_info=True)

    async def send(self) -> None:
        if self.answered.is_set():
            return
        args, kwargs = self._asked
        await self._real(*args, **kwargs)
        self.answered.set()


def _early(listener: Listener, *, hold: bool) -> Listener:
    names = inspect.getfullargspec(listener).args

    async def wrapped(args: AsyncArgs) -> None:
        context = args.context
        services: Services = context["services"]
        ack = HeldAck(args.ack, hold=hold, respond=args.respond)
        kwargs = {name: ack if name == "ack" else getattr(args, name) for name in names}

        async def work() -> None:
            try:
                if hold:
                    with on_commit(ack.send):
                        await listener(**kwargs)
                else:
                    await listener(**kwargs)
            except Exception as exc:
                if not ack.answered.is_set():
                    raise  # nothing went out yet: Bolt's error handler gives the answer
                await on_error(exc, args.body, context, args.respond, None)
                return
            await ack.send()

        with services.runner.turns.answer():  # effects wait while Slack waits on this
            task = services.runner.spawn_task(work())
            answered = asyncio.ensure_future(ack.answered.wait())
            try:
                await asyncio.wait(
                    {task, answered},
                    timeout=ACK_DEADLINE_SECONDS if hold else ANSWER_DEADLINE_SECONDS,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                answered.cancel()
            if task.done() and not ack.answered.is_set():
                failure = task.exception()
                if failure is not None:
                    raise failure
            await ack.send()

    wrapped.__name__ = getattr(listener, "__name__", "listener")
    wrapped.__qualname__ = getattr(listener, "__qualname__", wrapped.__name__)
    setattr(wrapped, WRAPPED, True)
    return wrapped


def answers_at_ack(listener: Listener) -> Listener:
    return _early(listener, hold=False)


def answers_at_commit(listener: Listener) -> Listener:
    return _early(listener, hold=True)
