"""Faults from outside, black-box: the `serve` process killed mid-burst and started again, as
Slack sees it. What was acknowledged is done, and done once."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.handlers.inbox import replay_lapsed
from bot.i18n import Lang, load_catalog
from bot.state.keys import Keys
from tests.clock import MovableClock
from tests.conftest import REDIS_URL
from tests.e2e.conftest import (
    CHANNEL,
    CUSTOMER_EN,
    CUSTOMER_ZH,
    OPS_CHANNEL,
    SE,
    SIGNING_SECRET,
    delete_under,
    served,
)
from tests.e2e.conversation import checklists, reply_text, wait_refusal
from tests.e2e.journey import Journey, stage_of
from tests.e2e.processes import ServeProcess, free_port, start_redis
from tests.fakeslack.driver import Reply, SlackDriver
from tests.fakeslack.server import FakeSlack
from tests.waiting import eventually

MENTIONS = 30
KILLED_AFTER = 12


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    name = f"faults-{uuid.uuid4().hex[:10]}"
    yield name
    await delete_under(Keys(name))


def _driver(process: ServeProcess, fake: FakeSlack) -> SlackDriver:
    return SlackDriver(
        process.url,
        SIGNING_SECRET,
        team_id=fake.team_id,
        api_app_id=fake.api_app_id,
        bot_user_id=fake.bot_user_id,
        hooks_url=fake.hooks_url,
    )


def _answers(fake: FakeSlack, threads: set[str]) -> Counter[str]:
    """How many bot replies each of our threads holds."""
    return Counter(
        m.thread_ts
        for m in fake.messages(channel=CHANNEL)
        if m.user == fake.bot_user_id and m.thread_ts in threads
    )


async def _inbox_empty(prefix: str) -> bool:
    client = Redis.from_url(REDIS_URL)
    try:
        return int(await client.zcard(Keys(prefix).inbox_pending())) == 0
    finally:
        await client.aclose()


async def test_mentions_acked_before_a_kill_are_answered_once_after_the_restart(
    fake: FakeSlack, prefix: str
) -> None:
    # Slack answers a little slowly, so acked mentions are still in flight when the process dies.
    fake.set_latency("chat.postMessage", 0.25)
    parents = [
        fake.add_message(CHANNEL, f"question {i}", user=CUSTOMER_EN) for i in range(MENTIONS)
    ]
    threads = {p.ts for p in parents}

    first = ServeProcess(fake, prefix)
    await first.start()
    delivered: list[Reply] = []
    async with _driver(first, fake) as slack:
        for parent in parents[:KILLED_AFTER]:
            reply = await slack.app_mention(
                "help", user_id=CUSTOMER_EN, channel_id=CHANNEL, thread_ts=parent.ts
            )
            assert reply.status == 200
            delivered.append(reply)
    await first.kill()
    answered_before = sum(_answers(fake, threads).values())
    assert answered_before < KILLED_AFTER, "the kill came too late to test anything"

    second = ServeProcess(fake, prefix)
    await second.start()
    try:
        async with _driver(second, fake) as slack:
            # Slack retries what it thinks failed and delivers the rest for the first time.
            for reply in delivered:
                again = await slack.resend(reply, retry_num=1, retry_reason="http_timeout")
                assert again.status == 200
            for parent in parents[KILLED_AFTER:]:
                reply = await slack.app_mention(
                    "help", user_id=CUSTOMER_EN, channel_id=CHANNEL, thread_ts=parent.ts
                )
                assert reply.status == 200

        await eventually(
            lambda: len(_answers(fake, threads)) == MENTIONS,
            timeout=60,
            what="every mention answered",
        )
        await eventually(lambda: _inbox_empty(prefix), timeout=30, what="every event settled")
        counts = _answers(fake, threads)
        assert {ts: n for ts, n in counts.items() if n != 1} == {}, "answered more than once"
    finally:
        await second.kill()
    fake.assert_no_refusals()


async def test_an_event_replayed_after_its_reply_went_out_is_not_answered_twice(
    fake: FakeSlack, keys: Keys
) -> None:
    """The first taker posted its reply and died before it could settle the event: the replay
    finds the reply by its metadata and says nothing more; an event with no reply yet is
    answered by the replay."""
    clock = MovableClock()
    async with served(fake, keys, clock) as (service, slack):
        services = service.services
        answered, unanswered = (fake.add_message(CHANNEL, "q", user=CUSTOMER_EN) for _ in "ab")
        bodies = {}
        for parent in (answered, unanswered):
            event = slack.build_event(
                {
                    "type": "app_mention",
                    "user": CUSTOMER_EN,
                    "text": f"<@{fake.bot_user_id}> help",
                    "ts": slack.new_ts(),
                    "thread_ts": parent.ts,
                    "channel": CHANNEL,
                }
            )
            bodies[parent.ts] = event
            assert await services.inbox.receive(event["event_id"], json.dumps(event))
        # What the dead taker managed to post before it died.
        earlier = fake.add_message(CHANNEL, "help", user=fake.bot_user_id, thread_ts=answered.ts)
        earlier.metadata = {
            "event_type": "onboarding_reply",
            "event_payload": {"event_id": bodies[answered.ts]["event_id"]},
        }
        clock.advance(seconds=services.inbox.lease.total_seconds() + 1)
        assert await replay_lapsed(services, service.bolt) == 2
        await fake.wait_for_message(
            channel=CHANNEL, where=lambda m: m.thread_ts == unanswered.ts, timeout=10
        )

        async def settled() -> bool:
            return await services.inbox.pending() == 0

        await eventually(settled, timeout=10, what="both settled")
        counts = _answers(fake, {answered.ts, unanswered.ts})
        assert counts == {answered.ts: 1, unanswered.ts: 1}


async def test_during_a_redis_outage_people_are_told_to_try_again_and_nothing_is_half_done(
    fake: FakeSlack, keys: Keys, tmp_path: Path
) -> None:
    port = free_port()
    redis = start_redis(port, tmp_path)  # keeps its data over the restart, as a managed one
    zh, en = (load_catalog().t(lang, "errors.unavailable") for lang in (Lang.ZH, Lang.EN))
    try:
        async with served(fake, keys, redis_url=f"redis://127.0.0.1:{port}/0") as (service, slack):
            journey = Journey(slack, fake, CHANNEL, CUSTOMER_ZH, SE, OPS_CHANNEL)
            tenant = await journey.start()
            prompt = await journey.wait_prompt("account")
            before = await service.services.store.get(tenant)
            assert before is not None

            redis.kill()
            redis.wait()
            # A command: answered 200, only to the asker, in their language.
            status = await journey.command("status")
            assert zh in reply_text(status)
            # A click: 200, and told only to the clicker.
            click = await journey.click(prompt, lambda b: "confirm_account" in b["value"])
            await wait_refusal(fake, click, zh)
            # A question: answered where it was asked, in the asker's language.
            question = await slack.app_mention(
                "what next?", user_id=CUSTOMER_EN, channel_id=CHANNEL
            )
            assert question.status == 200
            await fake.wait_for_message(channel=CHANNEL, where=lambda m: en in m.text)

            redis = start_redis(port, tmp_path)
            health = f"http://127.0.0.1:{service.port}/healthz"
            async with aiohttp.ClientSession() as http:

                async def healthy() -> bool:
                    async with http.get(health) as resp:
                        return resp.status == 200

                await eventually(healthy, timeout=15, what="/healthz says 200 again")
            # Nothing was half done: the record is as it was, and the same click now works once.
            assert await service.services.store.get(tenant) == before
            await journey.click(prompt, lambda b: "confirm_account" in b["value"])
            await journey.wait_prompt("real_name")
            # What was on its way out when Redis went arrived once, not again afterwards.
            for stage in ("account", "real_name"):
                assert len([m for m in journey.messages() if stage_of(m) == stage]) == 1, stage
            assert len(checklists(fake, CHANNEL)) == 1
            after = await service.services.store.get(tenant)
            assert after is not None and after.version == before.version + 1
            audit = await service.services.store.audit(tenant)
            newer = [e for e in audit if e.version is not None and e.version > before.version]
            assert [e.version for e in newer] == [after.version]
    finally:
        redis.kill()
        redis.wait()
