"""The event inbox: what an ack promises is durable at the ack.

Slack retries an event delivery with the same `event_id` until it is acknowledged, and not after.
So the moment we answer 200 we alone are responsible for the event. The inbox takes an event in
one atomic step (SET NX of its body under the id, and an entry in the pending index), before Bolt
acks it; the listener marks it done when it has finished. A process that dies in between leaves
the event pending with a lease that is no longer extended; once the lease lapses, a retry of the
same delivery (or the periodic replay) takes it over and runs it again. A repeated delivery of an
event that is done, or still being worked on, is dropped.

Keys live under the hash tag `{inbox}`, so the two-key transaction stays in one slot of a Redis
Cluster. The body is kept only while the event is pending; a done event keeps only its id (for
the dedupe TTL). Nothing here blocks on a lock; leases are checked with WATCH.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import WatchError

from bot.state.cas import MAX_CAS_ATTEMPTS, backoff, positive_ms
from bot.state.keys import Keys
from bot.state.wire import begin_multi, opt_bytes, texts

log = logging.getLogger(__name__)

# Slack's event ids look like `Ev0123ABCD`; anything else is not used to build a key.
EVENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

# How long a taker holds an event without extending its lease: a process that died is noticed
# after this. The taker extends it every third of it while the listener runs.
DEFAULT_LEASE = timedelta(seconds=10)
# How many times an event is taken before it is given up on (a listener that keeps failing).
MAX_TAKES = 3

_PENDING, _DONE, _DROPPED = "pending", "done", "dropped"


@dataclass(frozen=True)
class Receipt:
    """Proof that this process holds an event: needed to extend its lease and to settle it."""

    event_id: str
    token: str
    takes: int


def _encode(state: str, **fields: Any) -> bytes:
    return json.dumps({"s": state, **fields}, separators=(",", ":")).encode()


def _decode(raw: bytes | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return {"s": _DROPPED}
    return value if isinstance(value, dict) else {"s": _DROPPED}


class Inbox:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        *,
        ttl_seconds: int,
        clock: Callable[[], datetime],
        lease: timedelta = DEFAULT_LEASE,
        max_takes: int = MAX_TAKES,
    ) -> None:
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds}")
        self._redis = redis
        self._keys = keys
        self._ttl = ttl_seconds
        self._clock = clock
        self.lease = lease
        self._lease_ms = positive_ms(lease)
        self.max_takes = max_takes

    def _now_ms(self) -> int:
        return int(self._clock().timestamp() * 1000)

    async def receive(self, event_id: str, body: str) -> Receipt | None:
        """Take a delivery: the receipt the first time `event_id` is seen, None for a repeat.

        One transaction writes the body and the pending entry, so there is never a dedupe mark
        without the means to finish the work it stands for.
        """
        key = self._keys.inbox_event(event_id)
        pending = self._keys.inbox_pending()
        token = uuid.uuid4().hex
        until = self._now_ms() + self._lease_ms
        value = _encode(_PENDING, t=token, u=until, n=1, b=body)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(key, value, nx=True, ex=self._ttl)
            pipe.zadd(pending, {event_id: until}, nx=True)
            taken, added = await pipe.execute()
        if taken:
            return Receipt(event_id, token, 1)
        if added:
            # Not pending (done, or given up on): the index entry this repeat made is wrong.
            await self._redis.zrem(pending, event_id)
        return None

    async def take_over(self, event_id: str) -> tuple[Receipt, str] | None:
        """Take an event whose taker let its lease lapse (a process that died): the receipt
        and the stored body, or None when it is done, held, or given up on now."""
        key = self._keys.inbox_event(event_id)
        pending = self._keys.inbox_pending()
        for attempt in range(1, MAX_CAS_ATTEMPTS + 1):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    entry = _decode(opt_bytes(await pipe.get(key)))
                    now = self._now_ms()
                    if entry is None or entry.get("s") != _PENDING:
                        begin_multi(pipe)
                        pipe.zrem(pending, event_id)
                        await pipe.execute()
                        return None
                    if int(entry.get("u", 0)) > now:
                        return None  # its taker is alive and extending the lease
                    takes = int(entry.get("n", 0))
                    begin_multi(pipe)
                    if takes >= self.max_takes:
                        pipe.set(key, _encode(_DROPPED, n=takes), xx=True, keepttl=True)
                        pipe.zrem(pending, event_id)
                        await pipe.execute()
                        log.error("gave up on event %s after %s takes", event_id, takes)
                        return None
                    token = uuid.uuid4().hex
                    until = now + self._lease_ms
                    body = str(entry.get("b") or "")
                    value = _encode(_PENDING, t=token, u=until, n=takes + 1, b=body)
                    pipe.set(key, value, xx=True, keepttl=True)
                    pipe.zadd(pending, {event_id: until}, xx=True)
                    await pipe.execute()
                    return Receipt(event_id, token, takes + 1), body
                except WatchError:
                    await backoff(attempt)
        return None

    async def extend(self, receipt: Receipt) -> bool:
        """Push the lease on; False when the event is no longer ours (done, or taken over)."""
        key = self._keys.inbox_event(receipt.event_id)
        for attempt in range(1, MAX_CAS_ATTEMPTS + 1):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    entry = _decode(opt_bytes(await pipe.get(key)))
                    ours = entry is not None and entry.get("t") == receipt.token
                    if entry is None or not ours or entry.get("s") != _PENDING:
                        return False
                    until = self._now_ms() + self._lease_ms
                    entry["u"] = until
                    begin_multi(pipe)
                    pipe.set(key, json.dumps(entry, separators=(",", ":")), xx=True, keepttl=True)
                    pipe.zadd(self._keys.inbox_pending(), {receipt.event_id: until}, xx=True)
                    await pipe.execute()
                    return True
                except WatchError:
                    await backoff(attempt)
        return False

    async def settle(self, receipt: Receipt) -> None:
        """The event's work is finished: forget its body, keep its id until the TTL ends."""
        async with self._redis.pipeline(transaction=True) as pipe:
            key = self._keys.inbox_event(receipt.event_id)
            pipe.set(key, _encode(_DONE), xx=True, keepttl=True)
            pipe.zrem(self._keys.inbox_pending(), receipt.event_id)
            await pipe.execute()

    async def lapsed(self, limit: int = 50) -> list[str]:
        """Ids of pending events whose lease has run out, oldest lease first."""
        found = await self._redis.zrangebyscore(
            self._keys.inbox_pending(), "-inf", self._now_ms(), start=0, num=limit
        )
        return texts(found)

    async def pending(self) -> int:
        """How many events are taken and not finished (for health figures and tests)."""
        return int(await self._redis.zcard(self._keys.inbox_pending()))
