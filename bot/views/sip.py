"""The SIP-trunk request form and reading it back into a `SipTrunkRequest`."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Callable
from typing import Any

from bot.flows import validate
from bot.flows.errors import InputField, InvalidValue
from bot.flows.model import SipTrunkRequest
from bot.i18n import Catalog, Lang
from bot.ids import CallbackId
from bot.views.forms import View, modal, submitted_text, text_input
from bot.views.kit import context, section
from bot.views.prompts import sip_parameters_text
from bot.views.refs import FormMeta

_SPLIT = re.compile(r"[\s,;，；、]+")
# Phone numbers are written with spaces (020 8888 6666): only line breaks and list separators
# divide them.
_NUMBER_SPLIT = re.compile(r"[\r\n,;，；、]+")
# "203.0.113.10 - 203.0.113.20" is one range.
_RANGE_DASH = re.compile(r"\s*-\s*")


def sip_form(catalog: Catalog, lang: Lang, meta: FormMeta) -> View:
    t = catalog.t
    blocks = [
        section(t(lang, "conversation.forms.sip_intro")),
        context(sip_parameters_text(catalog, lang)),
        text_input(
            t(lang, "flow.fields.carrier"),
            InputField.CARRIER,
            max_length=60,
            hint=t(lang, "conversation.forms.carrier_hint"),
        ),
        text_input(
            t(lang, "flow.fields.sip_numbers"),
            InputField.SIP_NUMBERS,
            multiline=True,
            max_length=1000,
            hint=t(lang, "conversation.forms.sip_numbers_hint"),
        ),
        text_input(
            t(lang, "flow.fields.signalling"),
            InputField.SIGNALLING,
            multiline=True,
            max_length=1000,
            hint=t(lang, "conversation.forms.signalling_hint"),
        ),
        text_input(
            t(lang, "flow.fields.media_ip_range"),
            InputField.MEDIA_IP_RANGE,
            optional=True,
            max_length=200,
            hint=t(lang, "conversation.forms.media_hint"),
        ),
        text_input(t(lang, "flow.fields.contact_name"), InputField.CONTACT_NAME, max_length=60),
        text_input(t(lang, "flow.fields.contact_phone"), InputField.CONTACT_PHONE, max_length=30),
    ]
    return modal(catalog, lang, CallbackId.SIP_TRUNK, "conversation.forms.sip_title", meta, blocks)


def _items(text: str | None, split: re.Pattern[str] = _SPLIT) -> list[str]:
    return [item.strip() for item in split.split(text or "") if item.strip()]


def media_range(value: str) -> str:
    """A carrier's media addresses: IPs, CIDR blocks or `first-last` ranges, comma-separated."""
    items = _items(_RANGE_DASH.sub("-", value))
    if not items:
        raise InvalidValue(InputField.MEDIA_IP_RANGE, "empty")
    for item in items:
        first, dash, last = item.partition("-")
        try:
            if dash:
                start, end = ipaddress.ip_address(first), ipaddress.ip_address(last)
                if start.version != end.version or int(start) > int(end):
                    raise ValueError("range runs backwards")
            else:
                ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise InvalidValue(InputField.MEDIA_IP_RANGE, "not_ip_range") from None
    return ", ".join(items)


class FormErrors(Exception):
    """Several fields of a form are wrong; each is shown on its own field at once."""

    def __init__(self, errors: dict[InputField, InvalidValue]) -> None:
        super().__init__(", ".join(field.value for field in errors))
        self.errors = errors


def read_sip_form(view: dict[str, Any]) -> SipTrunkRequest:
    """The request as typed, with every field checked the way the flow checks it, so a customer
    sees all that is wrong at once instead of one field per submission (`FormErrors`)."""
    errors: dict[InputField, InvalidValue] = {}

    def check(field: InputField, run: Callable[[], object]) -> None:
        try:
            run()
        except InvalidValue as exc:
            errors.setdefault(field, exc)

    media = submitted_text(view, InputField.MEDIA_IP_RANGE)
    media_value: str | None = None
    if media:
        try:
            media_value = media_range(media)
        except InvalidValue as exc:
            errors[InputField.MEDIA_IP_RANGE] = exc
    request = SipTrunkRequest(
        carrier=submitted_text(view, InputField.CARRIER) or "",
        numbers=_items(submitted_text(view, InputField.SIP_NUMBERS), _NUMBER_SPLIT),
        signalling=_items(submitted_text(view, InputField.SIGNALLING)),
        media_ip_range=media_value,
        contact_name=submitted_text(view, InputField.CONTACT_NAME) or "",
        contact_phone=submitted_text(view, InputField.CONTACT_PHONE) or "",
    )
    check(
        InputField.CARRIER,
        lambda: validate.text(InputField.CARRIER, request.carrier, validate.NAME_MAX),
    )
    check(InputField.SIP_NUMBERS, lambda: validate.sip_numbers(request.numbers))
    check(InputField.SIGNALLING, lambda: validate.signalling_addresses(request.signalling))
    check(
        InputField.CONTACT_NAME,
        lambda: validate.text(InputField.CONTACT_NAME, request.contact_name, validate.NAME_MAX),
    )
    check(
        InputField.CONTACT_PHONE,
        lambda: validate.phone_number(InputField.CONTACT_PHONE, request.contact_phone),
    )
    if errors:
        raise FormErrors(errors)
    return request


def ticket_id_for(view_id: str, tenant_id: str) -> str:
    """One ticket per submitted form: a retried or repeated submission maps to the same id."""
    digest = hashlib.sha256(f"{tenant_id}:{view_id}".encode()).hexdigest()[:8].upper()
    return f"SIP-{digest}"
