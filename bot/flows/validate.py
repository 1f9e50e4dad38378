"""Checks on the values customers and SEs type in. The chart's validators call them so no garbage
is ever stored, whatever the form layer let through; the form layer may call them too, to show
the same message next to the field.

Each raises `InvalidValue(field, why)`; the field picks the message (`errors.invalid.<field>`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from bot.flows.errors import InputField, InvalidValue
from bot.flows.model import SipTrunkRequest

# Generous limits: long enough for any real value, short enough that a pasted essay is refused.
NAME_MAX = 60
TEXT_MAX = 200
REASON_MAX = 500
SCRIPT_MAX = 5000
EMAIL_MAX = 254

_UIN = re.compile(r"^[0-9]{5,20}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 -]{3,24}[0-9]$")
_TICKET_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


def text(field: InputField, value: str | None, max_len: int = TEXT_MAX) -> str:
    """A required, single-line-or-more text: not blank, not too long. Returns it stripped."""
    stripped = (value or "").strip()
    if not stripped:
        raise InvalidValue(field, "empty")
    if len(stripped) > max_len:
        raise InvalidValue(field, "too_long")
    return stripped


def uin(value: str | None) -> None:
    """The Tencent Cloud account id is optional; when given it is digits only."""
    if value is None or not value.strip():
        return
    if not _UIN.match(value.strip()):
        raise InvalidValue(InputField.UIN, "not_digits")


def email(field: InputField, value: str | None) -> None:
    stripped = text(field, value, EMAIL_MAX)
    if not _EMAIL.match(stripped):
        raise InvalidValue(field, "not_email")


def phone_number(field: InputField, value: str | None) -> None:
    stripped = text(field, value, 30)
    if not _PHONE.match(stripped):
        raise InvalidValue(field, "not_phone_number")


def instance(
    call_center_name: str | None, admin_name: str | None, admin_email: str | None, sla_agreed: bool
) -> None:
    text(InputField.CALL_CENTER_NAME, call_center_name, NAME_MAX)
    text(InputField.ADMIN_NAME, admin_name, NAME_MAX)
    email(InputField.ADMIN_EMAIL, admin_email)
    if sla_agreed is not True:
        raise InvalidValue(InputField.SLA_AGREED, "not_agreed")


def reason(value: str | None) -> None:
    text(InputField.REASON, value, REASON_MAX)


def script(text_value: str | None, file_id: str | None) -> None:
    """A call script is text typed in, or a file; at least one of them."""
    has_text = bool(text_value and text_value.strip())
    has_file = bool(file_id and file_id.strip())
    if not has_text and not has_file:
        raise InvalidValue(InputField.SCRIPT, "empty")
    if has_text:
        text(InputField.SCRIPT, text_value, SCRIPT_MAX)


def ticket_id(value: str | None) -> None:
    if not value or not _TICKET_ID.match(value.strip()):
        raise InvalidValue(InputField.TICKET_ID, "malformed")


def signalling_address(value: str) -> None:
    """`ip:port` or `[ipv6]:port`, the way carriers write their signalling endpoints."""
    host, sep, port = value.strip().rpartition(":")
    # isdigit() alone takes "²" and "٥", which int() refuses or reads as another number.
    if not sep or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise InvalidValue(InputField.SIGNALLING, "not_ip_port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise InvalidValue(InputField.SIGNALLING, "not_ip_port") from None


def _non_empty(field: InputField, values: Iterable[str]) -> list[str]:
    items = [v for v in values if v.strip()]
    if not items:
        raise InvalidValue(field, "empty")
    return items


def sip_numbers(numbers: Iterable[str]) -> None:
    for number in _non_empty(InputField.SIP_NUMBERS, numbers):
        phone_number(InputField.SIP_NUMBERS, number)


def signalling_addresses(addresses: Iterable[str]) -> None:
    for address in _non_empty(InputField.SIGNALLING, addresses):
        signalling_address(address)


def sip_request(request: SipTrunkRequest) -> None:
    text(InputField.CARRIER, request.carrier, NAME_MAX)
    sip_numbers(request.numbers)
    signalling_addresses(request.signalling)
    if request.media_ip_range is not None and request.media_ip_range.strip():
        text(InputField.MEDIA_IP_RANGE, request.media_ip_range)
    text(InputField.CONTACT_NAME, request.contact_name, NAME_MAX)
    phone_number(InputField.CONTACT_PHONE, request.contact_phone)
