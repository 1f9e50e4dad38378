"""One HTTP call for the Jira and webhook backends: bounded in time and size, and every failure
turned into a `BackendError` whose text names the status or the exception class only.

Raw exception messages are never used: aiohttp puts the URL in them, and a webhook URL can carry
a token in its path or query.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from bot.tickets.delivery import BackendError

# Jira and a webhook receiver answer in well under a second; 15 s means they are in trouble.
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=15, connect=5)
# Answers are small JSON documents; more than this is not an answer we want to read.
MAX_BODY_BYTES = 256 * 1024
# 4xx answers that may change if asked again (timeout, conflict, too early, rate limited); every
# other 4xx says the request itself is wrong (bad fields, credentials, permissions, a missing
# project), and asking again only repeats it.
RETRYABLE_4XX = frozenset({408, 409, 425, 429})


@dataclass(frozen=True)
class HttpReply:
    status: int
    # Header names are case-insensitive (RFC 9110): `retry-after` is `Retry-After`.
    headers: CIMultiDictProxy[str]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body as JSON, or None when it is empty or not JSON."""
        try:
            return json.loads(self.body) if self.body.strip() else None
        except ValueError:
            return None


async def send(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    what: str,
    limits: aiohttp.ClientTimeout,
    **kwargs: Any,
) -> HttpReply:
    """Make one request; `what` names it in errors ("jira search", "webhook")."""
    try:
        # No redirects: a redirected POST can silently turn into a GET elsewhere.
        async with session.request(
            method, url, timeout=limits, allow_redirects=False, **kwargs
        ) as resp:
            chunks: list[bytes] = []
            size = 0
            async for chunk in resp.content.iter_chunked(16 * 1024):
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    break
                chunks.append(chunk)
            headers = CIMultiDictProxy(CIMultiDict(resp.headers))
            return HttpReply(resp.status, headers, b"".join(chunks))
    except TimeoutError:
        raise BackendError(f"{what}: no answer within {limits.total:g} s") from None
    except aiohttp.ClientConnectionError as exc:
        raise BackendError(f"{what}: connection failed ({type(exc).__name__})") from None
    except aiohttp.ClientError as exc:
        raise BackendError(f"{what}: {type(exc).__name__}") from None


def retry_after(headers: CIMultiDictProxy[str]) -> timedelta | None:
    """The delay a server asked for in seconds (`Retry-After: 120`); the HTTP-date form is
    ignored, the backoff then decides."""
    value = headers.get("Retry-After", "").strip()
    return timedelta(seconds=int(value)) if value.isdigit() else None


def permanent(status: int) -> bool:
    """True when asking again cannot get another answer (see `RETRYABLE_4XX`)."""
    return 400 <= status < 500 and status not in RETRYABLE_4XX


def raise_for_status(
    reply: HttpReply, what: str, detail: Callable[[HttpReply], str | None] | None = None
) -> None:
    """Raise `BackendError` for anything but 2xx; `detail` may add a short, safe explanation.
    A 4xx that will not change is marked permanent, so the dispatcher gives up at once."""
    if reply.ok:
        return
    status = reply.status
    after = retry_after(reply.headers)
    if status == 429:
        raise BackendError(f"{what}: HTTP 429 (rate limited)", retry_after=after)
    if status in (401, 403):
        raise BackendError(
            f"{what}: HTTP {status} (check the credentials and permissions)", permanent=True
        )
    extra = detail(reply) if detail is not None and 400 <= status < 500 else None
    raise BackendError(
        f"{what}: HTTP {status}" + (f": {extra}" if extra else ""),
        # A 503 often says when to come back; a 4xx that will not change has nothing to wait for.
        retry_after=None if permanent(status) else after,
        permanent=permanent(status),
    )
