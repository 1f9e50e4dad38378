"""Outbox primitives for the effect runner, on the real Redis and on the embedded store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.flows.effects import (
    Effect,
    NotifyCustomer,
    NotifyOps,
    OpenSipTicket,
    PostDocumentReview,
    PostScriptReview,
    PostStepPrompt,
    SipStageChanged,
    UpdateChecklist,
    UpdateDocumentReview,
)
from bot.flows.model import DocKind, SipStage, Step
from bot.state.errors import CorruptOutboxEntry
from bot.state.records import refs_update
from bot.state.store import Change, RedisTenantStore
from bot.state.wire import as_text
from tests.state.conftest import Backend
from tests.state.helpers import advance_to, make_record, note

EVERY_KIND: list[Effect] = [
    UpdateChecklist(),
    PostStepPrompt(step=Step.NUMBERS),
    NotifyCustomer(message="steps.account.done", params={"company": "Acme 有限公司"}),
    NotifyOps(message="ops.review_needed", params={"tenant": "acme-x1y2"}),
    PostDocumentReview(round=2),
    UpdateDocumentReview(document=DocKind.BUSINESS_LICENSE),
    PostScriptReview(revision=3),
    OpenSipTicket(ticket_id="SIP-1"),
    SipStageChanged(ticket_id="SIP-1", stage=SipStage.TESTING),
]
MINUTE = timedelta(minutes=1)


async def with_effects(store: RedisTenantStore, *effects: Effect) -> None:
    await store.create(make_record())
    await store.update("acme-x1y2", lambda r: Change(r, effects=list(effects)))


async def test_every_effect_kind_round_trips_in_order(store: RedisTenantStore) -> None:
    await with_effects(store, *EVERY_KIND)
    pending = await store.outbox.pending_effects("acme-x1y2")
    assert [p.effect for p in pending] == EVERY_KIND
    assert [p.effect_id for p in pending] == [f"2-{i}" for i in range(len(EVERY_KIND))]
    assert all(p.attempts == 0 and p.last_error is None for p in pending)


async def test_claim_is_exclusive_until_released(store: RedisTenantStore) -> None:
    await with_effects(store, UpdateChecklist())
    outbox = store.outbox
    claim = await outbox.claim("acme-x1y2", "2-0", MINUTE)
    assert claim is not None
    assert await outbox.claim("acme-x1y2", "2-0", MINUTE) is None  # another replica

    forged = type(claim)(claim.tenant_id, claim.effect_id, token="not-mine")
    assert await outbox.release_claim(forged) is False
    assert await outbox.claim("acme-x1y2", "2-0", MINUTE) is None
    assert await outbox.release_claim(claim) is True
    assert await outbox.claim("acme-x1y2", "2-0", MINUTE) is not None


async def test_claim_carries_its_ttl(store: RedisTenantStore, backend: Backend) -> None:
    await with_effects(store, UpdateChecklist())
    assert await store.outbox.claim("acme-x1y2", "2-0", timedelta(seconds=30))
    ttl_ms = await backend.redis.pttl(backend.keys.effect_claim("acme-x1y2", "2-0"))
    assert 0 < ttl_ms <= 30_000
    with pytest.raises(ValueError, match="positive"):
        await store.outbox.claim("acme-x1y2", "2-0", timedelta(0))


async def test_a_done_effect_cannot_be_claimed_again(store: RedisTenantStore) -> None:
    await with_effects(store, UpdateChecklist())
    outbox = store.outbox
    [pending] = await outbox.pending_effects("acme-x1y2")  # a slow runner read this list
    assert await outbox.claim("acme-x1y2", pending.effect_id, MINUTE)
    assert await outbox.mark_done("acme-x1y2", pending.stream_entry_id)
    # The mark removed the claim too, yet the stale list must not lead to a second run.
    assert await outbox.claim("acme-x1y2", pending.effect_id, MINUTE) is None
    assert await outbox.claim("acme-x1y2", "9-9", MINUTE) is None


async def test_mark_done_clears_pending_only_with_the_last_effect(
    store: RedisTenantStore,
) -> None:
    await with_effects(store, UpdateChecklist(), note("a"))
    outbox = store.outbox
    first, second = await outbox.pending_effects("acme-x1y2")

    assert await outbox.mark_done("acme-x1y2", first.stream_entry_id) is True
    assert await outbox.tenants_with_pending() == ["acme-x1y2"]
    assert [p.effect_id for p in await outbox.pending_effects("acme-x1y2")] == ["2-1"]

    # An effect added after the runner read the outbox keeps the tenant pending.
    await store.update("acme-x1y2", advance_to(Step.REAL_NAME, note("b")))
    assert await outbox.mark_done("acme-x1y2", second.stream_entry_id) is True
    assert await outbox.tenants_with_pending() == ["acme-x1y2"]
    [third] = await outbox.pending_effects("acme-x1y2")
    assert third.effect_id == "3-0"
    assert await outbox.mark_done("acme-x1y2", third.stream_entry_id) is True
    assert await outbox.tenants_with_pending() == []
    assert await outbox.mark_done("acme-x1y2", third.stream_entry_id) is False


async def test_failures_are_counted_and_abandoned_effects_kept_for_people(
    store: RedisTenantStore, backend: Backend
) -> None:
    await with_effects(store, OpenSipTicket(ticket_id="SIP-9"), note("after"))
    outbox = store.outbox
    first = (await outbox.pending_effects("acme-x1y2"))[0]

    counts = [
        await outbox.record_failure("acme-x1y2", first.effect_id, f"503 #{n}") for n in (1, 2)
    ]
    assert counts == [1, 2]
    again = (await outbox.pending_effects("acme-x1y2"))[0]
    assert (again.attempts, again.last_error) == (2, "503 #2")
    assert await outbox.record_failure("acme-x1y2", "7-7", "unknown effect") == 0
    # Given the stream id (as the runner is), the same, looking at that entry only.
    at = first.stream_entry_id
    assert await outbox.record_failure("acme-x1y2", first.effect_id, "503 #3", entry=at) == 3
    assert await outbox.record_failure("acme-x1y2", "7-7", "unknown effect", entry=at) == 0
    assert await outbox.record_failure("acme-x1y2", first.effect_id, "x", entry="1-1") == 0
    again = (await outbox.pending_effects("acme-x1y2"))[0]
    assert (again.attempts, again.last_error) == (3, "503 #3")
    assert outbox.max_attempts == 5

    assert await outbox.abandon("acme-x1y2", first.stream_entry_id, "gave up after 2") is True
    [dead] = await outbox.abandoned("acme-x1y2")
    assert (dead.effect_id, dead.reason, dead.attempts) == ("2-0", "gave up after 2", 3)
    assert "SIP-9" in dead.effect_json
    assert [p.effect_id for p in await outbox.pending_effects("acme-x1y2")] == ["2-1"]
    assert await backend.redis.hget(backend.keys.outbox_attempts("acme-x1y2"), "2-0") is None


async def test_an_unreadable_entry_is_reported_and_can_be_abandoned(
    store: RedisTenantStore, backend: Backend
) -> None:
    await with_effects(store, UpdateChecklist())
    # An effect kind a later release wrote, or plain damage.
    bad_id = await backend.redis.xadd(
        backend.keys.outbox("acme-x1y2"),
        {"effect_id": "3-0", "effect": '{"kind": "teleport"}'},
    )
    with pytest.raises(CorruptOutboxEntry, match="acme-x1y2") as caught:
        await store.outbox.pending_effects("acme-x1y2")
    assert caught.value.stream_entry_id == as_text(bad_id)

    assert await store.outbox.abandon("acme-x1y2", caught.value.stream_entry_id, str(caught.value))
    assert [p.effect for p in await store.outbox.pending_effects("acme-x1y2")] == [
        UpdateChecklist()
    ]


async def test_error_texts_kept_beside_effects_are_scrubbed_as_log_lines_are(
    store: RedisTenantStore, backend: Backend
) -> None:
    """People read the failure text and the dead letter as they read the logs: no token, no
    whole email address (a Slack error can quote a request)."""
    await with_effects(store, UpdateChecklist())
    outbox = store.outbox
    [pending] = await outbox.pending_effects("acme-x1y2")
    leaky = "SlackApiError: token xoxb-1234-5678-abcdefgh refused for li.wei@acme.cn"
    await outbox.record_failure("acme-x1y2", pending.effect_id, leaky)
    [again] = await outbox.pending_effects("acme-x1y2")
    await outbox.abandon("acme-x1y2", pending.stream_entry_id, leaky)
    [dead] = await outbox.abandoned("acme-x1y2")
    for kept in (again.last_error or "", dead.reason):
        assert "xoxb-1234-5678-abcdefgh" not in kept and "li.wei@acme.cn" not in kept
        assert "xoxb-[redacted]" in kept and "l***@acme.cn" in kept


async def test_a_claim_records_its_starts_and_results_and_can_be_kept_and_taken_back(
    store: RedisTenantStore, backend: Backend
) -> None:
    await with_effects(store, UpdateChecklist())
    outbox = store.outbox
    first = await outbox.claim("acme-x1y2", "2-0", MINUTE, owner="runner-a")
    assert first is not None and first.tries == 1 and first.results == {}
    await outbox.record_result(first, {"0": "1700000000.000100"})
    assert await outbox.extend_claim(first, MINUTE) is True
    # Another runner waits; the owner, whose call failed with Redis away, takes it back.
    assert await outbox.claim("acme-x1y2", "2-0", MINUTE, owner="runner-b", reclaim=True) is None
    again = await outbox.claim("acme-x1y2", "2-0", MINUTE, owner="runner-a", reclaim=True)
    assert again is not None and again.tries == 2
    assert again.results == {"0": "1700000000.000100"}
    assert await outbox.extend_claim(first, MINUTE) is False  # the old claim is gone
    [pending] = await outbox.pending_effects("acme-x1y2")
    assert await outbox.mark_done("acme-x1y2", pending.stream_entry_id)
    keys = store.keys
    assert await outbox.claim("acme-x1y2", "2-0", MINUTE, owner="runner-a") is None
    redis = store._redis
    assert await redis.hget(keys.outbox_tries("acme-x1y2"), "2-0") is None
    assert await redis.hget(keys.outbox_results("acme-x1y2"), "2-0") is None


async def test_a_claim_by_stream_id_reads_the_record_and_done_keeps_message_ts(
    store: RedisTenantStore,
) -> None:
    await with_effects(store, UpdateChecklist(), note("after"))
    outbox = store.outbox
    first, second = await outbox.pending_effects("acme-x1y2")
    at = first.stream_entry_id
    claim = await outbox.claim(
        "acme-x1y2", first.effect_id, MINUTE, owner="runner-a", entry=at, read_record=True
    )
    assert claim is not None and claim.tries == 1 and claim.record is not None
    record = store.seen_as("acme-x1y2", claim.record, claim.messages)
    assert record == await store.get("acme-x1y2")
    # Held: another runner is refused; the owner with `reclaim` takes it back.
    assert await outbox.claim("acme-x1y2", first.effect_id, MINUTE, owner="b", entry=at) is None
    again = await outbox.claim(
        "acme-x1y2", first.effect_id, MINUTE, owner="runner-a", reclaim=True, entry=at
    )
    assert again is not None and again.tries == 2 and again.record is None
    assert await outbox.release_claim(claim) is False  # replaced by `again`
    # Done: gone with what was kept for it, and the message ts kept for the tenant.
    kept = refs_update({"checklist_ts": "1700000000.000500"})
    removed, left = await outbox.done("acme-x1y2", at, first.effect_id, kept)
    assert (removed, left) == (True, 1)
    assert await outbox.claim("acme-x1y2", first.effect_id, MINUTE, entry=at) is None
    stored = await store.get("acme-x1y2")
    assert stored is not None and stored.slack.checklist_ts == "1700000000.000500"
    assert stored.version == record.version  # no new version for a message ts
    assert await outbox.tenants_with_pending() == ["acme-x1y2"]
    assert await outbox.done("acme-x1y2", second.stream_entry_id, second.effect_id) == (True, 0)
    assert await outbox.tenants_with_pending() == []
