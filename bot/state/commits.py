"""Telling whoever waits that a change is durable: the ack of the click that asked for it.

A handler that must not acknowledge before its change is committed (Slack does not resend a
click) sets a callback with `on_commit`; the store calls `committed()` right after each
transaction it commits, in the same task. Nothing else in the store depends on it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

_waiting: contextvars.ContextVar[Callable[[], Awaitable[None]] | None] = contextvars.ContextVar(
    "waiting_for_commit", default=None
)


@contextmanager
def on_commit(callback: Callable[[], Awaitable[None]]) -> Iterator[None]:
    """Call `callback` after each commit made in this context (it must be idempotent)."""
    token = _waiting.set(callback)
    try:
        yield
    finally:
        _waiting.reset(token)


async def committed() -> None:
    callback = _waiting.get()
    if callback is not None:
        await callback()
