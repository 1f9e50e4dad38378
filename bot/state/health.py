"""Whether Redis answers, told in the log once when it stops and once when it is back.

The outbox sweep, the health check and request handlers all notice an outage; without this
each would log a traceback every few seconds for as long as it lasts. Only the change of
state is logged, with where Redis is (never its password).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

# What an unreachable (or unresponsive) Redis raises through redis-py.
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)


def redis_location(url: str | None) -> str:
    """`redis://host:port/db` without credentials, the socket path, the cluster's nodes, or the
    embedded store."""
    if url is None:
        return "the embedded store"
    scheme, _, rest = url.partition("://")
    if scheme.lower().endswith("+cluster"):
        hosts = rest.partition("?")[0].rpartition("@")[2]
        return f"{scheme}://{hosts}"
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path or ''}"


def is_unreachable(exc: BaseException) -> bool:
    return isinstance(exc, UNREACHABLE)


class RedisHealth:
    """Remembers whether Redis was last seen answering; logs only when that changes."""

    def __init__(self, location: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.location = location
        self._clock = clock
        self._down_since: float | None = None

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def failed(self, exc: BaseException) -> None:
        if self._down_since is not None:
            log.debug("Redis still unreachable: %s", type(exc).__name__)
            return
        self._down_since = self._clock()
        reason = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
        log.error(
            "Redis at %s is unreachable (%s); retrying quietly until it answers",
            self.location,
            reason[:200],
        )

    def answered(self) -> None:
        if self._down_since is None:
            return
        seconds = self._clock() - self._down_since
        self._down_since = None
        log.warning("Redis at %s is back after %.0f s", self.location, seconds)
