"""The webhook signature: what we sign can be verified, and nothing else can."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.tickets import InvalidSignature, sign, verify
from tests.tickets.conftest import T0

SECRET = "whsec-test"
BODY = b'{"event":"ticket.opened","ticket":{"ticket_id":"sip-1"}}'
TS = int(T0.timestamp())


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{TS}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, TS, BODY) == f"sha256={expected}"


def test_genuine_request_verifies() -> None:
    verify(SECRET, BODY, str(TS), sign(SECRET, TS, BODY), now=T0 + timedelta(seconds=30))


def test_tampered_body_fails() -> None:
    signature = sign(SECRET, TS, BODY)
    tampered = BODY.replace(b"sip-1", b"sip-2")
    with pytest.raises(InvalidSignature, match="does not match"):
        verify(SECRET, tampered, str(TS), signature, now=T0)


def test_moved_timestamp_fails() -> None:
    # A replay with a fresh timestamp header but the old signature.
    signature = sign(SECRET, TS, BODY)
    with pytest.raises(InvalidSignature, match="does not match"):
        verify(SECRET, BODY, str(TS + 60), signature, now=T0 + timedelta(seconds=60))


def test_wrong_secret_fails() -> None:
    with pytest.raises(InvalidSignature):
        verify("other", BODY, str(TS), sign(SECRET, TS, BODY), now=T0)


@pytest.mark.parametrize("age", [timedelta(minutes=6), timedelta(minutes=-6)])
def test_old_or_future_timestamp_is_refused(age: timedelta) -> None:
    with pytest.raises(InvalidSignature, match="window"):
        verify(SECRET, BODY, str(TS), sign(SECRET, TS, BODY), now=T0 + age)


@pytest.mark.parametrize(("timestamp", "signature"), [(None, "sha256=00"), ("x", "sha256=00")])
def test_missing_or_malformed_headers_are_refused(
    timestamp: str | None, signature: str | None
) -> None:
    with pytest.raises(InvalidSignature):
        verify(SECRET, BODY, timestamp, signature, now=T0)


@given(
    body=st.binary(min_size=1, max_size=200),
    position=st.integers(min_value=0),
    flip=st.integers(1, 255),
)
def test_any_changed_byte_breaks_the_signature(body: bytes, position: int, flip: int) -> None:
    signature = sign(SECRET, TS, body)
    index = position % len(body)
    changed = body[:index] + bytes([body[index] ^ flip]) + body[index + 1 :]
    with pytest.raises(InvalidSignature):
        verify(SECRET, changed, str(TS), signature, now=T0)
