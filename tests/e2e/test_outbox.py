"""What a change committed just before a crash asked for still happens: the outbox is carried
out by the next process that starts, in order."""

from __future__ import annotations

from datetime import timedelta

from bot.flows.effects import NotifyCustomer, PostStepPrompt, UpdateChecklist
from bot.flows.engine import next_action
from bot.flows.model import Actor, ActorRole, Step
from bot.i18n import Lang
from bot.runtime import HttpService
from bot.services import Services
from bot.state import RedisTenantStore, TenantRecord, create_redis
from bot.state.keys import Keys
from tests.conftest import REDIS_URL
from tests.e2e.conftest import CHANNEL, SE, delete_under, make_settings
from tests.e2e.journey import message_text
from tests.fakeslack.server import FakeSlack
from tests.waiting import eventually


async def test_effects_committed_before_a_crash_are_carried_out_after_restart(
    fake: FakeSlack, keys: Keys
) -> None:
    # A replica committed a new tenant with its effects, then died before posting anything.
    # (This writes through the store as that replica did; it is the state a crash leaves.)
    redis = create_redis(REDIS_URL)
    record = TenantRecord.new(
        tenant_id="acme-crash1", company="Acme", channel_id=CHANNEL, created_by=SE, lang=Lang.EN
    )
    effects = [
        NotifyCustomer(message="conversation.welcome", params={"company": "Acme"}),
        UpdateChecklist(),
        PostStepPrompt(step=Step.ACCOUNT, next_action=next_action(record.onboarding)),
    ]
    try:
        await RedisTenantStore(redis, keys).create(record, effects)
    finally:
        await redis.aclose()
    assert fake.calls("chat.postMessage") == []

    settings = make_settings(fake)
    service = await HttpService.start(settings, await Services.start(settings, keys=keys))
    try:
        posted = await fake.wait_for_message(channel=CHANNEL, count=3)
        assert "Welcome, *Acme*" in message_text(posted[0])
        assert "1. Register a Tencent Cloud account" in message_text(posted[1])
        assert "Step 1: Register a Tencent Cloud account" in message_text(posted[2])
    finally:
        await service.stop()
        await delete_under(keys)
    # Carried out once: nothing is left to repeat.
    assert len(fake.calls("chat.postMessage")) == 3


async def test_effects_a_dead_replica_had_started_are_not_carried_out_twice(
    fake: FakeSlack, keys: Keys
) -> None:
    """A replica took the welcome and posted it, but died before it could record that; it took
    the checklist, posted it and recorded its ts, but died before remembering it on the record.
    Their claims lapsed. The next replica finds both messages and posts neither again."""
    redis = create_redis(REDIS_URL)
    record = TenantRecord.new(
        tenant_id="acme-crash2", company="Acme", channel_id=CHANNEL, created_by=SE, lang=Lang.EN
    )
    effects = [
        NotifyCustomer(message="conversation.welcome", params={"company": "Acme"}),
        UpdateChecklist(),
        PostStepPrompt(step=Step.ACCOUNT, next_action=next_action(record.onboarding)),
    ]
    store = RedisTenantStore(redis, keys)
    try:
        await store.create(record, effects)
        welcome, checklist, _prompt = await store.outbox.pending_effects(record.tenant_id)
        for started in (welcome, checklist):
            claim = await store.outbox.claim(
                record.tenant_id, started.effect_id, timedelta(seconds=30), owner="dead"
            )
            assert claim is not None
            posted = fake.add_message(
                CHANNEL, "as the dead replica posted it", user=fake.bot_user_id
            )
            posted.metadata = {
                "event_type": "onboarding_effect",
                "event_payload": {"effect": f"{record.tenant_id}/{started.effect_id}/0"},
            }
            if started is checklist:
                await store.outbox.record_result(claim, {"0": posted.ts})
                checklist_ts = posted.ts
            # Its claim ran out.
            await redis.delete(keys.effect_claim(record.tenant_id, started.effect_id))
    finally:
        await redis.aclose()

    settings = make_settings(fake)
    service = await HttpService.start(settings, await Services.start(settings, keys=keys))
    try:
        await fake.wait_for_message(
            channel=CHANNEL, where=lambda m: "Step 1: Register" in message_text(m)
        )

        async def settled() -> bool:
            return not await service.services.store.outbox.pending_effects(record.tenant_id)

        await eventually(settled, timeout=10, what="the outbox is empty")
        # The checklist the dead replica posted is the one kept (and updated from now on).
        stored = await service.services.store.get(record.tenant_id)
        assert stored is not None and stored.slack.checklist_ts == checklist_ts
    finally:
        await service.stop()
        await delete_under(keys)
    assert len(fake.messages(CHANNEL)) == 3
    assert len(fake.calls("chat.postMessage")) == 1  # only the prompt was still to post


async def test_a_tenant_listed_as_pending_with_an_empty_outbox_is_taken_off_by_the_sweep(
    fake: FakeSlack, keys: Keys
) -> None:
    """A reconciler that counted an outbox just before its effects were carried out lists the
    tenant as pending after the runner took it off. The next sweep finds nothing to do and
    takes it off again, so `pending` means pending (a settled outbox is what waits rely on)."""
    settings = make_settings(fake)
    service = await HttpService.start(settings, await Services.start(settings, keys=keys))
    redis = create_redis(REDIS_URL)
    try:
        store = service.services.store
        record = await service.services.onboardings.start(
            company="Acme", channel_id=CHANNEL, team_id=fake.team_id,
            actor=Actor(user_id=SE, role=ActorRole.SE), lang=Lang.EN,
        )  # fmt: skip
        await service.services.runner.drain(record.tenant_id)
        assert len(fake.messages(CHANNEL)) == 3  # the welcome, the checklist, the first prompt
        assert not await store.outbox.pending_effects(record.tenant_id)
        await redis.sadd(keys.outbox_pending(), record.tenant_id)  # as the late reconciler did
        await service.services.runner.sweep()
        assert not await redis.sismember(keys.outbox_pending(), record.tenant_id)
        assert len(fake.messages(CHANNEL)) == 3  # and nothing was posted again
    finally:
        await redis.aclose()
        await service.stop()
        await delete_under(keys)
