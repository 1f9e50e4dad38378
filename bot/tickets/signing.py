"""How webhook deliveries are signed, and how a receiver checks them.

Every request the webhook backend sends carries:

    Content-Type: application/json; charset=utf-8
    X-Onboarding-Event: ticket.opened | ticket.stage_changed
    X-Onboarding-Delivery: <uuid4 hex, new for every HTTP attempt>
    Idempotency-Key: <ticket_id>:<event key>      stable across retries of the same event
    X-Onboarding-Timestamp: <unix seconds when this attempt was signed>
    X-Onboarding-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>

The event key is `ticket.opened`, or `ticket.stage_changed:<stage name>` (one per stage). The
body (UTF-8 JSON) repeats the event, delivery id and idempotency key, so they are covered by the
signature too.

A receiver should:
1. Compute the HMAC over the exact bytes received (before any JSON parsing), prefixed by the
   timestamp header and a dot, and compare it in constant time with the signature header.
2. Reject a timestamp more than 5 minutes from its own clock (a captured request cannot be
   replayed later).
3. Treat `Idempotency-Key` as the identity of the event: a retried delivery of an event it has
   already processed gets a 2xx and no second effect. The delivery id only tells attempts apart
   (for logs); it is not an idempotency key.
Any 2xx means delivered; anything else (or no answer within the timeout) is retried with
exponential backoff. A JSON answer with an "id" field is kept as the external reference.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

SIGNATURE_HEADER = "X-Onboarding-Signature"
TIMESTAMP_HEADER = "X-Onboarding-Timestamp"
DELIVERY_HEADER = "X-Onboarding-Delivery"
EVENT_HEADER = "X-Onboarding-Event"
IDEMPOTENCY_HEADER = "Idempotency-Key"

SIGNATURE_PREFIX = "sha256="
DEFAULT_TOLERANCE = timedelta(minutes=5)


class InvalidSignature(Exception):
    """The request is not signed with the shared secret, or is too old to accept."""


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def sign(secret: str | bytes, timestamp: int, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp` (unix seconds)."""
    message = str(timestamp).encode() + b"." + body
    return SIGNATURE_PREFIX + hmac.new(_key(secret), message, hashlib.sha256).hexdigest()


def verify(
    secret: str | bytes,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> None:
    """Raise `InvalidSignature` unless `signature` signs `body` at a recent `timestamp`."""
    if not timestamp or not signature:
        raise InvalidSignature("missing timestamp or signature")
    try:
        sent = int(timestamp)
    except ValueError:
        raise InvalidSignature("malformed timestamp") from None
    if abs(now.timestamp() - sent) > tolerance.total_seconds():
        raise InvalidSignature("timestamp outside the accepted window")
    expected = sign(secret, sent, body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise InvalidSignature("signature does not match")
