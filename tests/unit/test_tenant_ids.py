"""Tenant ids from people: only text shaped like one becomes part of a Redis key."""

from __future__ import annotations

import pytest

from bot.ids import is_tenant_id
from bot.state.keys import InvalidTenantId, Keys
from bot.views.refs import parse_form, parse_prompt
from bot.views.reviews import parse_review, stage_value
from bot.views.stalls import StallRef

NOT_IDS = ["", "A", "Acme-1a2b", "acme 1a2b", "acme}:record", "*", "acme-1a2b\n", "-acme", "a" * 64]


@pytest.mark.parametrize("text", NOT_IDS)
def test_keys_refuse_what_is_not_a_tenant_id(text: str) -> None:
    keys = Keys(prefix="t")
    assert not is_tenant_id(text)
    for build in (keys.record, keys.audit, keys.outbox, keys.tickets, keys.tenant_keys):
        with pytest.raises(InvalidTenantId):
            build(text)
    with pytest.raises(InvalidTenantId):
        keys.ticket_deliveries(text, "SIP-1")


@pytest.mark.parametrize("text", NOT_IDS)
def test_button_values_and_form_metadata_naming_no_tenant_are_refused(text: str) -> None:
    quoted = '"' + text.replace("\n", "\\n") + '"'
    assert parse_prompt('{"t":' + quoted + ',"s":"account","e":"confirm_account"}') is None
    assert parse_form('{"t":' + quoted + ',"s":"account","c":"C1"}') is None
    assert parse_review('{"t":' + quoted + ',"r":1}') is None
    assert stage_value('{"tenant":' + quoted + ',"ticket":"SIP-1","stage":2}') is None
    assert StallRef.parse(f"{text}|1700000000") is None


def test_a_tenant_id_makes_keys_and_parses() -> None:
    keys = Keys(prefix="t")
    assert keys.record("acme-1a2b3c") == "t:{acme-1a2b3c}:record"
    assert parse_prompt('{"t":"acme-1a2b3c","s":"account"}') is not None
    assert StallRef.parse("acme-1a2b3c|1700000000") == StallRef("acme-1a2b3c", 1700000000)
