"""What a change committed just before a crash asked for still happens: the outbox is carried
out by the next process that starts, in order."""

from __future__ import annotations

from bot.flows.effects import NotifyCustomer, PostStepPrompt, UpdateChecklist
from bot.flows.engine import next_action
from bot.flows.model import Step
from bot.i18n import Lang
from bot.runtime import HttpService
from bot.services import Services
from bot.state import RedisTenantStore, TenantRecord, create_redis
from bot.state.keys import Keys
from tests.conftest import REDIS_URL
from tests.e2e.conftest import CHANNEL, SE, delete_under, make_settings
from tests.e2e.journey import message_text
from tests.fakeslack.server import FakeSlack


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
