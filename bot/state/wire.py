"""Redis replies, narrowed to what our clients are configured to return.

redis-py types replies as `bytes | str` (it cannot know `decode_responses`). Ours is always
False, so values are bytes; these helpers check that at runtime once, in one place, instead of
sprinkling casts. A failed check means a client was built outside `create_redis`.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio.client import Pipeline

StreamRow = tuple[str, dict[bytes, bytes]]


def as_bytes(value: object) -> bytes:
    if not isinstance(value, bytes):
        raise TypeError(f"expected bytes from Redis (decode_responses=False), got {value!r}")
    return value


def opt_bytes(value: object) -> bytes | None:
    return None if value is None else as_bytes(value)


def as_text(value: object) -> str:
    return as_bytes(value).decode()


def texts(values: Any) -> list[str]:
    """Members of a set reply, decoded and sorted (sorted: callers show them to people)."""
    return sorted(as_text(v) for v in values)


def scored(value: Any) -> list[tuple[str, float]]:
    """A sorted-set reply WITHSCORES as (member, score) pairs."""
    return [(as_text(member), float(score)) for member, score in value or ()]


def stream_rows(value: Any) -> list[StreamRow]:
    """An XRANGE / XREVRANGE reply as (entry id, fields) pairs."""
    rows: list[StreamRow] = []
    for entry_id, fields in value or ():
        rows.append(
            (as_text(entry_id), {as_bytes(k): as_bytes(v) for k, v in (fields or {}).items()})
        )
    return rows


def begin_multi(pipe: Pipeline) -> None:
    """Switch a WATCHing pipeline from immediate mode to queueing (MULTI)."""
    pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves multi() unannotated
