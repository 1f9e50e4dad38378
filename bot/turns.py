"""Slack's answer first: the effects behind a click wait their turn while Slack waits on us.

A click is answered once its change is committed (`bot.handlers.acks`); the messages that
change causes (the next prompt, the checklist) are carried out after it by the effect runner.
On one event loop both compete for the same core, and under a burst the effects of earlier
clicks would push every later answer back: Slack gives up after 3 s and the person sees an
error although the click worked.

`Turns` gives the answers priority without starving the effects:

- a request Slack is waiting on is counted while it is answered (`answering`); it never waits
  for a turn;
- each effect takes a turn (`effect`): up to `size` at once when no answer is pending, and only
  `when_busy` while any is, so effects keep moving under sustained load, only slower;
- waiting effects start in the order they asked, as soon as the rule lets them.

Nothing is dropped: an effect that waits is still in the outbox, and a process that dies with
it waiting leaves it to the sweep of another.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Iterator

# Effects at once when nothing waits for an answer (the Redis pool holds 64 connections).
EFFECTS_AT_ONCE = 32
# Effects at once while a request is being answered.
EFFECTS_WHEN_BUSY = 2


class Turns:
    def __init__(self, size: int = EFFECTS_AT_ONCE, when_busy: int = EFFECTS_WHEN_BUSY) -> None:
        if not 1 <= when_busy <= size:
            raise ValueError("need 1 <= when_busy <= size")
        self.size = size
        self.when_busy = when_busy
        self._answering = 0
        self._running = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    @property
    def answering(self) -> int:
        """Requests Slack is waiting on now."""
        return self._answering

    @property
    def running(self) -> int:
        """Effects holding a turn now."""
        return self._running

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @contextlib.contextmanager
    def answer(self) -> Iterator[None]:
        """Around the part of a request Slack waits for."""
        self._answering += 1
        try:
            yield
        finally:
            self._answering -= 1
            self._wake()

    @contextlib.asynccontextmanager
    async def effect(self) -> AsyncIterator[None]:
        """A turn for one effect; waits while the rule says no."""
        if self._waiting or not self._may_start():
            waiter = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._running -= 1  # the turn was handed over as we were cancelled
                    self._wake()
                else:
                    with contextlib.suppress(ValueError):
                        self._waiting.remove(waiter)
                raise
        else:
            self._running += 1
        try:
            yield
        finally:
            self._running -= 1
            self._wake()

    def _may_start(self) -> bool:
        limit = self.when_busy if self._answering else self.size
        return self._running < limit

    def _wake(self) -> None:
        """Hand turns to the longest waiting effects, as many as the rule allows now."""
        while self._waiting and self._may_start():
            waiter = self._waiting.popleft()
            if waiter.done():  # cancelled while waiting
                continue
            self._running += 1  # counted here, so the next wake cannot hand out the same turn
            waiter.set_result(None)
