"""The stored record: its shape, its versioning, and how unreadable data is named."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.flows.model import Step
from bot.i18n import Lang
from bot.state import records
from bot.state.errors import CorruptRecord, UnknownSchemaVersion
from bot.state.records import (
    TENANT_ID_PATTERN,
    AuditEntry,
    TenantRecord,
    decode_record,
    encode_record,
    migrate,
    record_json,
)
from tests.state.helpers import SE, at_step, make_record


@pytest.mark.parametrize("tenant_id", ["acme-x1y2", "a1", "0-9", "z" * 63])
def test_valid_tenant_ids(tenant_id: str) -> None:
    assert make_record(tenant_id).tenant_id == tenant_id


@pytest.mark.parametrize("tenant_id", ["a", "-acme", "Acme", "acme_1", "acme.1", "z" * 64, "ac me"])
def test_invalid_tenant_ids(tenant_id: str) -> None:
    with pytest.raises(ValidationError, match="tenant_id"):
        make_record(tenant_id)


def test_step_is_the_onboarding_step() -> None:
    assert make_record().step is Step.ACCOUNT
    assert at_step(make_record(), Step.SDK).step is Step.SDK


def test_timestamps_must_carry_a_timezone() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        TenantRecord.new(
            tenant_id="acme-1",
            company="Acme",
            channel_id="C1",
            created_by="U1",
            now=datetime(2026, 1, 1),
        )
    with pytest.raises(ValidationError):
        AuditEntry(actor=SE, event="x", when=datetime(2026, 1, 1))


@given(
    tenant_id=st.from_regex(TENANT_ID_PATTERN, fullmatch=True),
    company=st.text(min_size=1, max_size=200),
    lang=st.sampled_from(Lang),
    step=st.sampled_from(Step),
    rounds=st.dictionaries(st.integers(1, 50), st.text(max_size=20), max_size=5),
)
def test_any_valid_record_reads_back_equal(
    tenant_id: str, company: str, lang: Lang, step: Step, rounds: dict[int, str]
) -> None:
    record = at_step(make_record(tenant_id), step).model_copy(
        update={"company": company, "lang": lang}
    )
    record.slack.review_card_ts.update(rounds)
    assert decode_record(tenant_id, encode_record(record)) == record


def raw_record(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(record_json(make_record()))
    raw.update(changes)
    return raw


def test_unknown_fields_are_refused_not_dropped() -> None:
    data = json.dumps(raw_record(added_by_a_newer_release=True)).encode()
    with pytest.raises(CorruptRecord, match="added_by_a_newer_release"):
        decode_record("acme-x1y2", data)


@pytest.mark.parametrize("version", [None, "1", True, 1.0])
def test_a_schema_version_that_is_not_a_number_is_corrupt(version: object) -> None:
    with pytest.raises(CorruptRecord, match="schema_version"):
        decode_record("acme-x1y2", json.dumps(raw_record(schema_version=version)).encode())


@pytest.mark.parametrize("version", [0, 3, 99])
def test_a_version_without_a_path_is_unknown(version: int) -> None:
    with pytest.raises(UnknownSchemaVersion) as caught:
        decode_record("acme-x1y2", json.dumps(raw_record(schema_version=version)).encode())
    assert caught.value.tenant_id == "acme-x1y2"
    assert caught.value.found == version and caught.value.supported == records.SCHEMA_VERSION


def test_migrations_run_in_order_before_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    # A pretend schema 0 named the company "name"; the hook renames it on the way in.
    def v0_to_v1(raw: dict[str, Any]) -> dict[str, Any]:
        raw = dict(raw)
        raw["company"] = raw.pop("name")
        return raw

    monkeypatch.setitem(records.MIGRATIONS, 0, v0_to_v1)
    old = raw_record(schema_version=0)
    old["name"] = old.pop("company")

    assert migrate(dict(old))["schema_version"] == records.SCHEMA_VERSION
    record = decode_record("acme-x1y2", json.dumps(old).encode())
    assert record.company == "Acme 有限公司"
    assert record.schema_version == records.SCHEMA_VERSION


SCHEMA_2_FIELDS = (
    "step_since",
    "live_at",
    "check_at",
    "stall",
    "last_reminder_at",
    "last_nudge",
    "queued_nudge",
)


@pytest.mark.parametrize("step", [Step.QUALIFICATION, Step.LIVE])
def test_a_schema_1_record_reads_as_schema_2(step: Step) -> None:
    raw = json.loads(record_json(at_step(make_record(), step)))
    for name in SCHEMA_2_FIELDS:
        raw.pop(name)
    raw["schema_version"] = 1
    record = decode_record("acme-x1y2", json.dumps(raw).encode())
    # Its step began no later than its last activity; a live one went live then.
    assert record.step_since == record.last_activity_at
    assert record.live_at == (record.last_activity_at if step is Step.LIVE else None)
    assert record.stall is None and record.check_at is None


def test_a_schema_1_company_name_is_decoded_once() -> None:
    # Schema 1 kept the name as Slack sent it; a typed "&lt;" arrived as "&amp;lt;".
    raw = json.loads(record_json(make_record()))
    for name in SCHEMA_2_FIELDS:
        raw.pop(name)
    raw.update(schema_version=1, company="Procter &amp; Gamble &lt;China&gt; &amp;lt;x&amp;gt;")
    record = decode_record("acme-x1y2", json.dumps(raw).encode())
    assert record.company == "Procter & Gamble <China> &lt;x&gt;"


def test_a_record_is_stored_compressed_and_plain_json_is_still_read() -> None:
    record = make_record()
    stored = encode_record(record)
    plain = record_json(record)
    assert stored != plain and len(stored) < len(plain)
    assert encode_record(record) == stored  # the same record, the same bytes
    assert decode_record(record.tenant_id, stored) == record
    assert decode_record(record.tenant_id, plain) == record  # as written before, or by a tool
    with pytest.raises(CorruptRecord, match="not JSON"):
        decode_record(record.tenant_id, b"\x78\x9cnot zlib at all")
