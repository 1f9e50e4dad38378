"""Drop Slack's repeated deliveries of one event: Slack retries with the same `event_id`.

Dropping every request that carries `X-Slack-Retry-Num` would lose events whose first delivery
never reached us; remembering the ids we have seen does not.
"""

from __future__ import annotations

from redis.asyncio import Redis

from bot.state.keys import Keys


async def first_delivery(redis: Redis, keys: Keys, event_id: str, ttl_seconds: int) -> bool:
    """True the first time `event_id` is seen within `ttl_seconds` (SET NX EX), else False."""
    if ttl_seconds <= 0:
        raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds}")
    return bool(await redis.set(keys.dedupe(event_id), b"1", nx=True, ex=ttl_seconds))
