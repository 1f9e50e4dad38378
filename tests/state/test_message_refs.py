"""Message ts beside the record, and updates sent from the record a process last saw.

Remembering the ts of a message the bot keeps makes no new version of the record (it goes to
the tenant's `messages` hash), yet every read of the record shows it, and an update applies to
the latest ts. Records written before, with the ts inside, still load and keep them. An update
from a record this process saw earlier, changed since by someone else, is refused by its
compare-and-set script and applied again to what is stored, without a read of its own.
"""

from __future__ import annotations

import pytest

from bot.flows.model import Step
from bot.state.errors import TenantNotFound
from bot.state.records import TenantRecord, encode_record, record_json
from bot.state.store import Change, RedisTenantStore
from tests.state.conftest import Backend
from tests.state.helpers import advance_to, make_record, note


async def test_remembering_a_message_ts_makes_no_new_version(store: RedisTenantStore) -> None:
    created = await store.create(make_record())
    await store.remember("acme-x1y2", {"prompt_ts": "1700000000.000200", "prompt_stage": "s1"})
    await store.remember("acme-x1y2", {"review_card_ts": {2: "1700000000.000300"}})
    stored = await store.get("acme-x1y2")
    assert stored is not None and stored.version == created.version == 1
    assert stored.slack.prompt_ts == "1700000000.000200"
    assert stored.slack.prompt_stage == "s1"
    assert stored.slack.review_card_ts == {2: "1700000000.000300"}
    assert (await store.get_many(["acme-x1y2"]))["acme-x1y2"].slack == stored.slack
    await store.remember("acme-x1y2", {"script_card_ts": "1.5", "script_card_revision": 3})
    card = await store.get("acme-x1y2")
    assert card is not None and (card.slack.script_card_ts, card.slack.script_card_revision) == (
        "1.5",
        3,
    )
    await store.remember("acme-x1y2", {"script_card_ts": None, "script_card_revision": None})
    assert await store.get("acme-x1y2") == stored  # None forgets them
    # A later update keeps them, and sees them in what it is given.
    seen: list[str | None] = []

    def apply(record: TenantRecord) -> Change:
        seen.append(record.slack.prompt_ts)
        return advance_to(Step.REAL_NAME, note("on"))(record)

    result = await store.update("acme-x1y2", apply)
    assert seen == ["1700000000.000200"]
    assert result.record.slack == stored.slack
    assert await store.get("acme-x1y2") == result.record


async def test_a_ts_remembered_by_another_process_is_seen_by_the_next_update(
    store: RedisTenantStore, backend: Backend
) -> None:
    await store.create(make_record())
    assert await store.get("acme-x1y2") is not None  # this process has seen it now
    other = RedisTenantStore(backend.redis, backend.keys)
    await other.remember("acme-x1y2", {"checklist_ts": "1700000000.000900"})
    seen: list[str | None] = []

    def apply(record: TenantRecord) -> Change:
        seen.append(record.slack.checklist_ts)
        return advance_to(Step.REAL_NAME)(record)

    result = await store.update("acme-x1y2", apply)
    assert seen[-1] == "1700000000.000900"
    assert result.record.slack.checklist_ts == "1700000000.000900"


async def test_remembering_for_a_tenant_that_is_gone_raises(store: RedisTenantStore) -> None:
    with pytest.raises(TenantNotFound):
        await store.remember("acme-x1y2", {"checklist_ts": "1.0"})


async def test_a_record_with_its_ts_inside_loads_and_moves_them_out_at_its_next_write(
    store: RedisTenantStore, backend: Backend
) -> None:
    created = await store.create(make_record())
    old = created.model_copy(deep=True)
    old.slack.checklist_ts = "1700000000.000100"
    old.slack.review_card_ts[1] = "1700000000.000101"
    key = backend.keys.record("acme-x1y2")
    backend.sync.set(key, record_json(old))  # as an earlier release wrote it (plain JSON)
    loaded = await store.get("acme-x1y2")
    assert loaded is not None and loaded.slack == old.slack
    result = await store.update("acme-x1y2", advance_to(Step.REAL_NAME))
    assert result.record.slack == old.slack
    stored = backend.sync.get(key)
    assert isinstance(stored, bytes)
    inside = TenantRecord.model_validate_json(
        record_json(result.record.model_copy(update={"slack": type(old.slack)()}))
    )
    assert stored == encode_record(inside)  # the record no longer holds them
    assert await store.get("acme-x1y2") == result.record


async def test_an_update_from_a_stale_record_is_applied_to_the_stored_one(
    store: RedisTenantStore, backend: Backend
) -> None:
    await store.create(make_record())
    other = RedisTenantStore(backend.redis, backend.keys)
    await other.update("acme-x1y2", advance_to(Step.REAL_NAME, note("elsewhere")))
    versions: list[int] = []

    def apply(record: TenantRecord) -> Change:
        versions.append(record.version)
        return advance_to(Step.INSTANCE, note("here"))(record)

    result = await store.update("acme-x1y2", apply)  # this store last saw version 1
    assert versions == [1, 2]
    assert result.attempts == 2 and result.record.version == 3
    assert result.effect_ids == ("3-0",)
    stored = await store.get("acme-x1y2")
    assert stored == result.record and stored.step is Step.INSTANCE
    pending = await store.outbox.pending_effects("acme-x1y2")
    assert [p.effect_id for p in pending] == ["2-0", "3-0"]
