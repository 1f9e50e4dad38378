"""The tenant store, on the real Redis and on the embedded store alike."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from bot.flows.effects import NotifyCustomer, PostStepPrompt, UpdateChecklist
from bot.flows.model import (
    DocKind,
    Document,
    ScriptReview,
    SipTrunkRequest,
    SipTrunkTicket,
    Step,
)
from bot.state.errors import (
    ChannelAlreadyBound,
    Contention,
    CorruptRecord,
    InvalidChange,
    TenantExists,
    TenantNotFound,
    UnknownSchemaVersion,
)
from bot.state.records import (
    SCHEMA_VERSION,
    AuditEntry,
    TenantRecord,
    encode_record,
    record_json,
    stored_json,
)
from bot.state.store import Change, RedisTenantStore
from bot.state.wire import as_text, scored
from tests.state.conftest import Backend
from tests.state.helpers import (
    FAR_FUTURE,
    SE,
    T0,
    FakeClock,
    advance_to,
    at_step,
    make_record,
    note,
)


async def snapshot(backend: Backend) -> dict[str, object]:
    """Every key under the test's prefix with its full contents, to prove nothing changed."""
    client = backend.redis
    result: dict[str, object] = {}
    async for raw in client.scan_iter(match=backend.keys.everything_pattern()):
        key = raw.decode()
        kind = as_text(await client.type(key))
        if kind == "string":
            result[key] = await client.get(key)
        elif kind == "set":
            result[key] = sorted(await client.smembers(key))
        elif kind == "zset":
            result[key] = await client.zrange(key, 0, -1, withscores=True)
        elif kind == "stream":
            result[key] = await client.xrange(key)
        elif kind == "hash":
            result[key] = await client.hgetall(key)
        else:
            raise AssertionError(f"unexpected type {kind} at {key}")
    return result


# -- create / get ---------------------------------------------------------------------------


async def test_create_then_get_round_trips(store: RedisTenantStore, clock: FakeClock) -> None:
    record = make_record()
    record = record.model_copy(update={"se_user": "U0SE", "team_id": "T0CUST"})
    record.slack.review_card_ts[1] = "1700000000.000100"
    created = await store.create(record)

    assert created.version == 1
    assert created.created_at == created.updated_at == created.last_activity_at == clock.now
    loaded = await store.get("acme-x1y2")
    assert loaded == created
    assert loaded.step is Step.ACCOUNT
    assert loaded.slack.review_card_ts == {1: "1700000000.000100"}
    assert await store.tenant_for_channel("C0ACME") == "acme-x1y2"
    assert await store.all_tenant_ids() == ["acme-x1y2"]


async def test_get_missing_tenant_is_none(store: RedisTenantStore) -> None:
    assert await store.get("nobody-here") is None
    assert await store.tenant_for_channel("C0NONE") is None


async def test_create_writes_its_audit_and_effects(store: RedisTenantStore) -> None:
    opened = AuditEntry(actor=SE, event="tenant.created", to_step=Step.ACCOUNT)
    await store.create(make_record(), effects=[UpdateChecklist()], audit=[opened])

    [entry] = await store.audit("acme-x1y2")
    assert entry.event == "tenant.created" and entry.version == 1
    [pending] = await store.outbox.pending_effects("acme-x1y2")
    assert pending.effect == UpdateChecklist() and pending.effect_id == "1-0"
    assert await store.outbox.tenants_with_pending() == ["acme-x1y2"]


async def test_a_bound_channel_cannot_be_bound_again(store: RedisTenantStore) -> None:
    await store.create(make_record("acme-x1y2", "C0ACME"))
    with pytest.raises(ChannelAlreadyBound) as caught:
        await store.create(make_record("other-z9", "C0ACME"))
    assert caught.value.tenant_id == "acme-x1y2"
    assert "C0ACME" in str(caught.value) and "acme-x1y2" in str(caught.value)
    assert await store.get("other-z9") is None
    assert await store.all_tenant_ids() == ["acme-x1y2"]


async def test_a_taken_tenant_id_is_refused(store: RedisTenantStore) -> None:
    first = await store.create(make_record("acme-x1y2", "C0ACME"))
    with pytest.raises(TenantExists, match="acme-x1y2"):
        await store.create(make_record("acme-x1y2", "C0OTHER"))
    assert await store.get("acme-x1y2") == first
    assert await store.tenant_for_channel("C0OTHER") is None


async def test_get_many_returns_existing_records_in_one_call(store: RedisTenantStore) -> None:
    await store.create(make_record("acme-x1y2", "C0A"))
    await store.create(make_record("beta-77", "C0B"))
    found = await store.get_many(["beta-77", "missing-1", "acme-x1y2"])
    assert list(found) == ["beta-77", "acme-x1y2"]
    assert found["beta-77"].channel_id == "C0B"


# -- update ---------------------------------------------------------------------------------


async def test_update_bumps_version_and_timestamps(
    store: RedisTenantStore, clock: FakeClock
) -> None:
    created = await store.create(make_record())
    clock.advance(timedelta(minutes=5))

    result = await store.update("acme-x1y2", advance_to(Step.REAL_NAME))

    assert result.changed and result.attempts == 1
    assert result.record.version == 2
    assert result.record.step is Step.REAL_NAME
    assert result.record.created_at == created.created_at
    assert result.record.updated_at == result.record.last_activity_at == clock.now
    assert await store.get("acme-x1y2") == result.record


async def test_apply_returning_none_writes_nothing(
    store: RedisTenantStore, backend: Backend
) -> None:
    await store.create(make_record())
    before = await snapshot(backend)
    result = await store.update("acme-x1y2", lambda record: None)
    assert not result.changed and result.record.version == 1
    assert await snapshot(backend) == before


async def test_apply_raising_leaves_everything_unchanged(
    store: RedisTenantStore, backend: Backend
) -> None:
    await store.create(make_record(), effects=[UpdateChecklist()])
    before = await snapshot(backend)

    def forbidden(record: TenantRecord) -> Change:
        advance_to(Step.INSTANCE, note("never"))(record)  # built, then refused
        raise PermissionError("only an SE may do that")

    with pytest.raises(PermissionError, match="only an SE"):
        await store.update("acme-x1y2", forbidden)
    assert await snapshot(backend) == before


async def test_record_audit_and_outbox_are_written_together(store: RedisTenantStore) -> None:
    await store.create(make_record())
    prompt = PostStepPrompt(step=Step.REAL_NAME)
    result = await store.update("acme-x1y2", advance_to(Step.REAL_NAME, UpdateChecklist(), prompt))

    assert result.effect_ids == ("2-0", "2-1")
    pending = await store.outbox.pending_effects("acme-x1y2")
    assert [(p.effect_id, p.effect) for p in pending] == [
        ("2-0", UpdateChecklist()),
        ("2-1", prompt),
    ]
    [entry] = await store.audit("acme-x1y2")
    assert (entry.from_step, entry.to_step, entry.version) == (Step.ACCOUNT, Step.REAL_NAME, 2)


async def test_a_refused_write_writes_no_effects_either(
    store: RedisTenantStore, backend: Backend
) -> None:
    await store.create(make_record())
    before = await snapshot(backend)

    def bad_language(record: TenantRecord) -> Change:
        # model_copy(update=...) skips validation; the store must not store what it can't read.
        return Change(record.model_copy(update={"lang": "fr"}), effects=[UpdateChecklist()])

    with pytest.raises(InvalidChange, match="lang"):
        await store.update("acme-x1y2", bad_language)
    assert await snapshot(backend) == before
    assert await store.outbox.pending_effects("acme-x1y2") == []


async def test_apply_cannot_switch_tenant(store: RedisTenantStore) -> None:
    await store.create(make_record())
    with pytest.raises(InvalidChange, match="other-1"):
        await store.update(
            "acme-x1y2", lambda r: Change(r.model_copy(update={"tenant_id": "other-1"}))
        )


async def test_update_of_missing_tenant(store: RedisTenantStore) -> None:
    with pytest.raises(TenantNotFound, match="ghost-1"):
        await store.update("ghost-1", advance_to(Step.REAL_NAME))


async def test_lost_race_is_retried_on_the_fresh_record(
    store: RedisTenantStore, backend: Backend
) -> None:
    await store.create(make_record())
    record_key = backend.keys.record("acme-x1y2")
    seen_versions: list[int] = []

    def apply(record: TenantRecord) -> Change:
        seen_versions.append(record.version)
        if len(seen_versions) == 1:
            # Another replica assigns an SE between our read and our write.
            theirs = record.model_copy(update={"se_user": "U0OTHER", "version": 2})
            backend.sync.set(record_key, encode_record(theirs))
        return Change(record.model_copy(update={"company": "Acme Holdings"}))

    result = await store.update("acme-x1y2", apply)

    assert seen_versions == [1, 2]
    assert result.attempts == 2
    stored = await store.get("acme-x1y2")
    assert stored is not None
    assert (stored.version, stored.se_user, stored.company) == (3, "U0OTHER", "Acme Holdings")


async def test_endless_contention_gives_up_without_writing(backend: Backend) -> None:
    store = RedisTenantStore(backend.redis, backend.keys, max_attempts=3)
    await store.create(make_record())
    record_key = backend.keys.record("acme-x1y2")
    calls = 0

    def apply(record: TenantRecord) -> Change:
        nonlocal calls
        calls += 1
        backend.sync.set(
            record_key, encode_record(record.model_copy(update={"se_user": f"U{calls}"}))
        )
        return Change(record.model_copy(update={"company": "Mine"}), effects=[note("x")])

    with pytest.raises(Contention, match="acme-x1y2"):
        await store.update("acme-x1y2", apply)
    assert calls == 3
    stored = await store.get("acme-x1y2")
    assert stored is not None and stored.company != "Mine"
    assert await store.outbox.pending_effects("acme-x1y2") == []


async def test_concurrent_tasks_lose_no_update(store: RedisTenantStore) -> None:
    await store.create(make_record())

    def add_round(n: int) -> Callable[[TenantRecord], Change]:
        def apply(record: TenantRecord) -> Change:
            refs = record.slack.model_copy(
                update={"review_card_ts": {**record.slack.review_card_ts, n: f"{n}.0"}}
            )
            return Change(record.model_copy(update={"slack": refs}), effects=[note(str(n))])

        return apply

    results = await asyncio.gather(*(store.update("acme-x1y2", add_round(n)) for n in range(10)))
    stored = await store.get("acme-x1y2")
    assert stored is not None
    assert sorted(stored.slack.review_card_ts) == list(range(10))
    assert stored.version == 11
    assert sorted(r.record.version for r in results) == list(range(2, 12))
    assert len(await store.outbox.pending_effects("acme-x1y2")) == 10


async def test_a_writer_whose_bytes_match_another_processes_write_still_applies_its_change(
    backend: Backend, clock: FakeClock
) -> None:
    """Two processes whose changes only move message ts, at the same instant: the second's
    record bytes equal the first's, so only its ts tell them apart. It must apply again on top
    of the first's write, not take that write for its own."""
    first = RedisTenantStore(backend.redis, backend.keys, clock=clock)
    second = RedisTenantStore(backend.redis, backend.keys, clock=clock)  # another process
    await first.create(make_record())
    await second.get("acme-x1y2")  # both have seen version 1

    def add_card(n: int) -> Callable[[TenantRecord], Change]:
        def apply(record: TenantRecord) -> Change:
            cards = {**record.slack.review_card_ts, n: f"{n}.0"}
            slack = record.slack.model_copy(update={"review_card_ts": cards})
            return Change(record.model_copy(update={"slack": slack}), effects=[note(str(n))])

        return apply

    await first.update("acme-x1y2", add_card(1))
    result = await second.update("acme-x1y2", add_card(2))

    assert result.attempts == 2  # refused once, then applied to what the first wrote
    stored = await first.get("acme-x1y2")
    assert stored is not None and stored.version == 3
    assert sorted(stored.slack.review_card_ts) == [1, 2]
    assert len(await first.outbox.pending_effects("acme-x1y2")) == 2


async def test_rebinding_a_channel_moves_the_binding(store: RedisTenantStore) -> None:
    await store.create(make_record("acme-x1y2", "C0OLD"))
    await store.create(make_record("beta-77", "C0TAKEN"))

    with pytest.raises(ChannelAlreadyBound):
        await store.update(
            "acme-x1y2", lambda r: Change(r.model_copy(update={"channel_id": "C0TAKEN"}))
        )
    await store.update("acme-x1y2", lambda r: Change(r.model_copy(update={"channel_id": "C0NEW"})))

    assert await store.tenant_for_channel("C0NEW") == "acme-x1y2"
    assert await store.tenant_for_channel("C0OLD") is None
    assert await store.tenant_for_channel("C0TAKEN") == "beta-77"


# -- indexes --------------------------------------------------------------------------------


async def test_step_index_follows_the_step(store: RedisTenantStore) -> None:
    await store.create(make_record("acme-x1y2", "C0A"))
    await store.create(make_record("beta-77", "C0B"))
    await store.create(make_record("gamma-3", "C0C"))
    await store.update("beta-77", advance_to(Step.INSTANCE))
    await store.update("gamma-3", advance_to(Step.INSTANCE))
    await store.update("gamma-3", advance_to(Step.QUALIFICATION))

    counts = await store.counts_by_step()
    assert counts[Step.ACCOUNT] == 1
    assert counts[Step.INSTANCE] == 1
    assert counts[Step.QUALIFICATION] == 1
    assert sum(counts.values()) == 3
    assert set(counts) == set(Step)
    assert await store.tenants_at(Step.INSTANCE) == ["beta-77"]
    assert await store.tenants_at(Step.REAL_NAME) == []


async def test_summaries_never_scan_the_keyspace(
    store: RedisTenantStore, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.create(make_record())

    def no_scan(*args: object, **kwargs: object) -> None:
        raise AssertionError("a summary scanned the keyspace")

    with monkeypatch.context() as patch:  # undone before the fixture's cleanup scans
        for name in ("scan", "scan_iter", "keys"):
            patch.setattr(backend.redis, name, no_scan)
        assert (await store.counts_by_step())[Step.ACCOUNT] == 1
        assert await store.tenants_at(Step.ACCOUNT) == ["acme-x1y2"]
        assert await store.all_tenant_ids() == ["acme-x1y2"]
        assert len(await store.stale_since(FAR_FUTURE)) == 1
        assert list(await store.get_many(["acme-x1y2"])) == ["acme-x1y2"]


async def test_stale_since_lists_the_quiet_onboardings_oldest_first(
    store: RedisTenantStore, clock: FakeClock
) -> None:
    await store.create(make_record("oldest-1", "C0A"))
    clock.advance(timedelta(days=1))
    await store.create(make_record("middle-2", "C0B"))
    clock.advance(timedelta(days=1))
    await store.create(make_record("fresh-3", "C0C"))
    cutoff = clock.now - timedelta(hours=12)

    stale = await store.stale_since(cutoff, limit=10)
    assert [t for t, _ in stale] == ["oldest-1", "middle-2"]
    assert stale[0][1] == clock.now - timedelta(days=2)
    assert [t for t, _ in await store.stale_since(cutoff, limit=1)] == ["oldest-1"]

    # Activity makes a tenant fresh again; a reminder (touch_activity=False) does not.
    clock.advance(timedelta(minutes=1))
    await store.update("oldest-1", advance_to(Step.REAL_NAME))
    await store.update(
        "middle-2", lambda r: Change(r, effects=[note("nudge")], touch_activity=False)
    )
    assert [t for t, _ in await store.stale_since(cutoff)] == ["middle-2"]


async def test_live_tenants_are_never_stale(store: RedisTenantStore, clock: FakeClock) -> None:
    await store.create(make_record())
    await store.update("acme-x1y2", advance_to(Step.LIVE))
    clock.advance(timedelta(days=30))
    assert await store.stale_since(clock.now) == []
    assert await store.tenants_at(Step.LIVE) == ["acme-x1y2"]


# -- audit ----------------------------------------------------------------------------------


async def test_audit_appends_newest_last(store: RedisTenantStore) -> None:
    await store.create(make_record())
    for step in (Step.REAL_NAME, Step.INSTANCE, Step.QUALIFICATION):
        await store.update("acme-x1y2", advance_to(step))

    entries = await store.audit("acme-x1y2")
    assert [e.to_step for e in entries] == [Step.REAL_NAME, Step.INSTANCE, Step.QUALIFICATION]
    assert [e.version for e in entries] == [2, 3, 4]
    assert entries[0].actor == SE
    latest = await store.audit("acme-x1y2", limit=2)
    assert [e.to_step for e in latest] == [Step.INSTANCE, Step.QUALIFICATION]


async def test_audit_stream_is_bounded(backend: Backend) -> None:
    store = RedisTenantStore(backend.redis, backend.keys, audit_maxlen=10)
    await store.create(make_record())
    entries = [AuditEntry(actor=SE, event=f"e{i}") for i in range(300)]
    await store.update("acme-x1y2", lambda r: Change(r, audit=entries))
    length = await backend.redis.xlen(backend.keys.audit("acme-x1y2"))
    assert 10 <= length < 300  # `~` trims whole nodes, so a little over the bound is fine
    assert (await store.audit("acme-x1y2", limit=1))[0].event == "e299"


# -- corrupt records ------------------------------------------------------------------------

CORRUPTIONS = {
    "garbage bytes": b"\xff\xfe\x00not json at all",
    "json of the wrong shape": json.dumps({"tenant_id": "acme-x1y2", "schema_version": 1}).encode(),
    "json that is not an object": b"[1, 2, 3]",
    "no schema version": json.dumps({"tenant_id": "acme-x1y2"}).encode(),
}


@pytest.mark.parametrize("value", CORRUPTIONS.values(), ids=list(CORRUPTIONS))
async def test_corrupt_record_is_named_and_isolated(
    store: RedisTenantStore, backend: Backend, value: bytes
) -> None:
    await store.create(make_record("acme-x1y2", "C0A"), effects=[UpdateChecklist()])
    await store.create(make_record("beta-77", "C0B"))
    await store.update("acme-x1y2", advance_to(Step.REAL_NAME))
    record_key = backend.keys.record("acme-x1y2")
    await backend.redis.set(record_key, value)
    before = await snapshot(backend)

    with pytest.raises(CorruptRecord) as caught:
        await store.get("acme-x1y2")
    assert caught.value.tenant_id == "acme-x1y2"
    assert "acme-x1y2" in str(caught.value) and record_key in str(caught.value)
    with pytest.raises(CorruptRecord):
        await store.update("acme-x1y2", advance_to(Step.INSTANCE))
    with pytest.raises(CorruptRecord):
        await store.get_many(["beta-77", "acme-x1y2"])
    assert await snapshot(backend) == before  # nothing was "repaired" behind anyone's back

    # Other tenants, the summaries and the broken tenant's history stay usable.
    assert list(await store.get_many(["beta-77", "acme-x1y2"], skip_corrupt=True)) == ["beta-77"]
    await store.update("beta-77", advance_to(Step.REAL_NAME))
    assert (await store.counts_by_step())[Step.REAL_NAME] == 2
    assert [e.to_step for e in await store.audit("acme-x1y2")] == [Step.REAL_NAME]
    assert len(await store.outbox.pending_effects("acme-x1y2")) == 1

    # The way out: an SE purges the tenant; its channel can then be onboarded again.
    assert (await store.purge("acme-x1y2")).existed
    assert await store.get("acme-x1y2") is None
    await store.create(make_record("acme-new1", "C0A"))
    assert await store.tenant_for_channel("C0A") == "acme-new1"


async def test_unknown_schema_version_is_refused_not_overwritten(
    store: RedisTenantStore, backend: Backend
) -> None:
    created = await store.create(make_record())
    raw = json.loads(record_json(created))
    raw["schema_version"] = SCHEMA_VERSION + 1
    raw["field_from_the_future"] = "kept"
    future = json.dumps(raw).encode()
    await backend.redis.set(backend.keys.record("acme-x1y2"), future)

    with pytest.raises(
        UnknownSchemaVersion, match=f"schema_version {SCHEMA_VERSION + 1}"
    ) as caught:
        await store.get("acme-x1y2")
    assert caught.value.tenant_id == "acme-x1y2"
    with pytest.raises(UnknownSchemaVersion):
        await store.update("acme-x1y2", advance_to(Step.REAL_NAME))
    assert await store.get_many(["acme-x1y2"], skip_corrupt=True) == {}
    assert (await store.rebuild_indexes()).corrupt == ("acme-x1y2",)
    assert await backend.redis.get(backend.keys.record("acme-x1y2")) == future


async def test_record_under_the_wrong_key_is_corrupt(
    store: RedisTenantStore, backend: Backend
) -> None:
    other = await store.create(make_record("beta-77", "C0B"))
    await backend.redis.set(backend.keys.record("acme-x1y2"), encode_record(other))
    with pytest.raises(CorruptRecord, match="holds tenant 'beta-77'"):
        await store.get("acme-x1y2")


# -- purge ----------------------------------------------------------------------------------


async def test_purge_removes_the_tenant_and_its_index_entries(
    store: RedisTenantStore, backend: Backend
) -> None:
    await store.create(make_record("acme-x1y2", "C0A"), effects=[UpdateChecklist()])
    await store.create(make_record("beta-77", "C0B"))
    await store.update("acme-x1y2", advance_to(Step.REAL_NAME, NotifyCustomer(message="hi")))
    pending = await store.outbox.pending_effects("acme-x1y2")
    await store.outbox.claim("acme-x1y2", pending[0].effect_id, timedelta(minutes=1))
    await store.outbox.record_failure("acme-x1y2", pending[0].effect_id, "boom")
    beta_before = {k: v for k, v in (await snapshot(backend)).items() if "beta-77" in k}

    purged = await store.purge("acme-x1y2")

    assert purged.existed and purged.company == "Acme 有限公司"
    assert await store.get("acme-x1y2") is None
    assert await store.tenant_for_channel("C0A") is None
    assert await store.all_tenant_ids() == ["beta-77"]
    assert sum((await store.counts_by_step()).values()) == 1
    assert [t for t, _ in await store.stale_since(FAR_FUTURE)] == ["beta-77"]
    assert await store.outbox.tenants_with_pending() == []
    remaining = await snapshot(backend)
    assert not [k for k in remaining if "acme-x1y2" in k]
    assert {k: v for k, v in remaining.items() if "beta-77" in k} == beta_before
    assert not (await store.purge("acme-x1y2")).existed
    assert await store.purges() == []  # nobody was named: no purge log line


def _document(kind: DocKind, file_id: str) -> Document:
    return Document(
        kind=kind,
        file_id=file_id,
        name=f"{kind.value}.pdf",
        mimetype="application/pdf",
        size=1234,
        sha256="ab" * 32,
        uploaded_by="U0CUSTOMER",
        uploaded_at=T0,
    )


def _holding_everything(record: TenantRecord) -> Change:
    """A tenant far along: documents, a script file, a SIP ticket, an owner, then live."""
    onboarding = record.onboarding.model_copy(
        update={
            "state": [Step.LIVE.value],
            "documents": {
                DocKind.BUSINESS_LICENSE: _document(DocKind.BUSINESS_LICENSE, "F0LICENSE"),
                DocKind.LEGAL_REP_ID: _document(DocKind.LEGAL_REP_ID, "F0IDCARD"),
            },
            "script": ScriptReview(file_id="F0SCRIPT", file_name="话术.docx"),
            "sip": SipTrunkTicket(
                ticket_id="SIP-1",
                request=SipTrunkRequest(
                    carrier="China Telecom",
                    numbers=["02112345678"],
                    signalling=["10.0.0.1:5060"],
                    contact_name="李四",
                    contact_phone="13800000000",
                ),
                opened_by="U0CUSTOMER",
                opened_at=T0,
            ),
        }
    )
    new = record.model_copy(update={"onboarding": onboarding, "se_user": "U0SE", "live_at": T0})
    return Change(new, effects=[note("live")], audit=[])


async def test_purge_leaves_nothing_of_the_tenant_behind(
    store: RedisTenantStore, backend: Backend
) -> None:
    """Tickets, their delivery state and lock, claims, dead letters, the owner and retention
    indexes: every key and every index entry of the tenant goes; one purge log line stays."""
    keys, redis = backend.keys, backend.redis
    await store.create(make_record("acme-x1y2", "C0A"), effects=[UpdateChecklist()])
    await store.create(make_record("beta-77", "C0B"))
    await store.update("beta-77", advance_to(Step.REAL_NAME))
    await store.update("acme-x1y2", advance_to(Step.SDK))
    await store.update("acme-x1y2", _holding_everything)
    pending = await store.outbox.pending_effects("acme-x1y2")
    await store.outbox.claim("acme-x1y2", pending[0].effect_id, timedelta(minutes=1))
    await store.outbox.abandon("acme-x1y2", pending[0].stream_entry_id, "gave up")
    await store.outbox.claim("acme-x1y2", pending[1].effect_id, timedelta(minutes=1))
    await store.outbox.record_failure("acme-x1y2", pending[1].effect_id, "boom")
    # Ticket state as the dispatcher leaves it: deliveries per backend, the ticket set, a lock.
    await redis.hset(keys.ticket_deliveries("acme-x1y2", "SIP-1"), "slack", "{}")
    await redis.sadd(keys.tickets("acme-x1y2"), "SIP-1", "SIP-0")
    await redis.set(keys.ticket_lock("acme-x1y2", "SIP-1"), "token", px=60_000)
    await redis.hset(keys.ticket_deliveries("acme-x1y2", "SIP-0"), "jira", "{}")
    assert await store.due_for_forgetting(FAR_FUTURE) == ["acme-x1y2"]
    beta_before = {k: v for k, v in (await snapshot(backend)).items() if "beta-77" in k}
    indexes_before = {k: v for k, v in (await snapshot(backend)).items() if "{" not in k}
    assert any("acme-x1y2" in str(v) for v in indexes_before.values())

    purged = await store.purge("acme-x1y2", actor="U0SE")

    assert purged.existed
    assert {f.file_id for f in purged.files} == {"F0LICENSE", "F0IDCARD", "F0SCRIPT"}
    remaining = await snapshot(backend)
    purge_log = keys.purges()
    assert not [k for k in remaining if "acme-x1y2" in k]
    leftovers = {k: v for k, v in remaining.items() if k != purge_log and "acme-x1y2" in str(v)}
    assert leftovers == {}
    assert {k: v for k, v in remaining.items() if "beta-77" in k} == beta_before
    assert await store.due_for_forgetting(FAR_FUTURE) == []
    (line,) = await store.purges()
    assert set(line) == {"actor", "at", "tenant_id"}
    assert line["actor"] == "U0SE" and line["tenant_id"] == "acme-x1y2"
    assert datetime.fromisoformat(line["at"]) == T0


async def test_purge_of_an_unreadable_record_still_finds_its_files_and_tickets(
    store: RedisTenantStore, backend: Backend
) -> None:
    keys, redis = backend.keys, backend.redis
    await store.create(make_record("acme-x1y2", "C0A"))
    await store.update("acme-x1y2", _holding_everything)
    raw = json.loads(stored_json(await redis.get(keys.record("acme-x1y2"))))
    raw["unexpected"] = True  # no longer validates
    await redis.set(keys.record("acme-x1y2"), json.dumps(raw))
    await redis.set(keys.ticket_lock("acme-x1y2", "SIP-1"), "token")  # not in the ticket set

    purged = await store.purge("acme-x1y2", actor="U0MGR")

    assert purged.existed and len(purged.files) == 3
    assert not [k for k in await snapshot(backend) if "acme-x1y2" in k]
    assert await store.tenant_for_channel("C0A") is None


async def test_the_retention_index_follows_the_records_and_is_seeded_once(
    store: RedisTenantStore, backend: Backend
) -> None:
    """Live tenants holding documents are indexed by when they went live; one without any, or
    not live, is not; tenants that went live before the index existed are put in it once."""
    await store.create(make_record("acme-x1y2", "C0A"))
    await store.create(make_record("beta-77", "C0B"))
    assert await store.due_for_forgetting(FAR_FUTURE) == []
    await store.update("acme-x1y2", _holding_everything)
    await store.update("beta-77", advance_to(Step.LIVE))  # live, but no documents
    assert await store.due_for_forgetting(FAR_FUTURE) == ["acme-x1y2"]
    assert await store.due_for_forgetting(T0) == []  # went live at T0: not before it

    await backend.redis.delete(backend.keys.retention())  # as written by an older release
    assert await store.seed_retention() is True
    # Both live tenants; the one without documents leaves at its first look (`sync_retention`).
    assert await store.due_for_forgetting(FAR_FUTURE) == ["acme-x1y2", "beta-77"]
    beta = await store.get("beta-77")
    assert beta is not None
    await store.sync_retention(beta)
    assert await store.due_for_forgetting(FAR_FUTURE) == ["acme-x1y2"]
    assert await store.seed_retention() is False

    await backend.redis.delete(backend.keys.retention())
    await store.rebuild_indexes()
    assert await store.due_for_forgetting(FAR_FUTURE) == ["acme-x1y2"]


# -- repair ---------------------------------------------------------------------------------


async def test_rebuild_indexes_recomputes_them_from_the_records(
    store: RedisTenantStore, backend: Backend
) -> None:
    await store.create(make_record("acme-x1y2", "C0A"), effects=[UpdateChecklist()])
    await store.create(make_record("beta-77", "C0B"))
    await store.update("beta-77", advance_to(Step.INSTANCE))
    await store.create(make_record("broken-9", "C0C"))
    keys = backend.keys
    good = await snapshot(backend)
    await backend.redis.set(keys.record("broken-9"), b"{oops")
    index_keys = [keys.tenants(), keys.last_activity(), keys.outbox_pending()]
    index_keys += [keys.step_index(s.value) for s in Step]
    # Wreck the indexes: lose them all, then add lies.
    await backend.redis.delete(*index_keys)
    await backend.redis.sadd(keys.step_index(Step.SDK.value), "beta-77", "ghost-1")
    await backend.redis.sadd(keys.tenants(), "ghost-1")
    await backend.redis.set(keys.channel("C0GHOST"), "ghost-1")
    await backend.redis.set(keys.channel("C0STALE"), "beta-77")

    report = await store.rebuild_indexes()

    assert report.tenants == 3
    assert report.corrupt == ("broken-9",)
    assert report.orphans_removed == ("ghost-1",)
    assert report.stale_channels_removed == 2
    assert await store.tenants_at(Step.INSTANCE) == ["beta-77"]
    assert await store.tenants_at(Step.ACCOUNT) == ["acme-x1y2"]
    assert await store.tenants_at(Step.SDK) == []
    assert await store.all_tenant_ids() == ["acme-x1y2", "beta-77", "broken-9"]
    assert await store.outbox.tenants_with_pending() == ["acme-x1y2"]
    assert await store.tenant_for_channel("C0GHOST") is None
    assert await store.tenant_for_channel("C0STALE") is None
    rebuilt = await snapshot(backend)
    assert (
        rebuilt[keys.step_index(Step.INSTANCE.value)] == good[keys.step_index(Step.INSTANCE.value)]
    )
    active = scored(await backend.redis.zrange(keys.last_activity(), 0, -1, withscores=True))
    assert [member for member, _score in active] == ["acme-x1y2", "beta-77"]


async def test_create_rebinds_a_channel_whose_tenant_is_gone(
    store: RedisTenantStore, backend: Backend
) -> None:
    await backend.redis.set(backend.keys.channel("C0A"), "vanished-1")
    await store.create(make_record("acme-x1y2", "C0A"))
    assert await store.tenant_for_channel("C0A") == "acme-x1y2"


async def test_a_record_at_a_later_step_can_be_created(store: RedisTenantStore) -> None:
    # Imports from another system start mid-way; the index must say so from the start.
    await store.create(at_step(make_record(), Step.NUMBERS))
    assert await store.tenants_at(Step.NUMBERS) == ["acme-x1y2"]


async def test_rebuilding_the_indexes_of_an_empty_store(store: RedisTenantStore) -> None:
    report = await store.rebuild_indexes()
    assert report.tenants == 0 and report.corrupt == ()
