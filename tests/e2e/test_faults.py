"""Faults from outside, black-box: the `serve` process killed mid-burst and started again, as
Slack sees it. What was acknowledged is done, and done once."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.flows.model import Step
from bot.handlers.inbox import replay_lapsed
from bot.i18n import Lang, load_catalog
from bot.state import RedisTenantStore, TenantRecord
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
from tests.e2e.conversation import checklists, prompt_posts, prompts, reply_text, seen_by_clicker
from tests.e2e.journey import Journey, message_text, stage_of
from tests.e2e.processes import ServeProcess, free_port, start_redis
from tests.fakeslack.driver import Reply, SlackDriver, text_input
from tests.fakeslack.server import FakeSlack
from tests.waiting import eventually

BURST = 10  # clicks and as many mentions, interleaved
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


def _customer_channel(fake: FakeSlack, n: int) -> str:
    channel = f"C0KILLTEST{n:02d}"
    fake.add_channel(channel, f"kill-{n}", members=[fake.bot_user_id, CUSTOMER_EN, SE])
    return channel


async def test_clicks_and_mentions_acked_before_a_kill_have_their_effect_once_after_restart(
    fake: FakeSlack, prefix: str
) -> None:
    """A burst of step clicks (each on its own onboarding) and @mentions; the process is killed
    with SIGKILL after 12 acks and started again on the same Redis, and Slack resends the
    mentions (it never resends a click). Every acked click moved its onboarding on once, with
    its next prompt posted once; every mention is answered once."""
    extra = {"ONBOARDING_SE_USERS": SE}
    first = ServeProcess(fake, prefix, extra=extra)
    await first.start()
    channels = [_customer_channel(fake, n) for n in range(BURST)]
    parents = [fake.add_message(CHANNEL, f"question {i}", user=CUSTOMER_EN) for i in range(BURST)]
    threads = {p.ts for p in parents}
    async with _driver(first, fake) as slack:
        journeys = [Journey(slack, fake, c, CUSTOMER_EN, SE, OPS_CHANNEL) for c in channels]
        tenants = [await j.start("Acme") for j in journeys]
        firsts = [await j.wait_prompt("account") for j in journeys]
        # Slack is a little slow now, so acked work is still in flight when the process dies:
        # a click's membership lookup comes before its change, a mention's answer after.
        fake.set_latency("chat.postMessage", 0.25)
        fake.set_latency("conversations.members", 0.3)
        acked_clicks: list[int] = []
        delivered: list[Reply] = []
        for i in range(KILLED_AFTER // 2):  # the last ack before the kill is a click's
            reply = await slack.app_mention(
                "help", user_id=CUSTOMER_EN, channel_id=CHANNEL, thread_ts=parents[i].ts
            )
            assert reply.status == 200
            delivered.append(reply)
            await journeys[i].click(firsts[i], lambda b: "confirm_account" in b["value"])
            acked_clicks.append(i)
    await first.kill()
    unanswered = len(delivered) - sum(_answers(fake, threads).values())
    stuck = [i for i in acked_clicks if not prompts(fake, channels[i], "real_name")]
    assert unanswered + len(stuck) > 0, "killed too late: nothing acked was still in flight"

    second = ServeProcess(fake, prefix, extra=extra)
    await second.start()
    try:
        async with _driver(second, fake) as slack:
            for reply in delivered:  # Slack retries what it thinks failed
                again = await slack.resend(reply, retry_num=1, retry_reason="http_timeout")
                assert again.status == 200

        def moved_on() -> bool:
            return all(
                any(stage_of(m) == "real_name" for m in journeys[i].messages())
                for i in acked_clicks
            )

        await eventually(moved_on, timeout=60, what="every acked click's next prompt")
        await eventually(
            lambda: len(_answers(fake, threads)) == len(delivered),
            timeout=60,
            what="every acked mention answered",
        )
        await eventually(lambda: _inbox_empty(prefix), timeout=30, what="every event settled")
        await eventually(lambda: _outbox_empty(prefix), timeout=60, what="every effect done")
        counts = _answers(fake, threads)
        assert {ts: n for ts, n in counts.items() if n != 1} == {}, "answered more than once"
        for i in acked_clicks:
            # Two prompts were posted in all: the first step's, then the second's.
            assert len(prompt_posts(fake, channels[i])) == 2, i
            assert len(prompts(fake, channels[i], "real_name")) == 1, i
            assert len(checklists(fake, channels[i])) == 1
            record = await _record(prefix, tenants[i])
            assert record.step is Step.REAL_NAME
    finally:
        await second.kill()
    fake.assert_no_refusals()


async def _outbox_empty(prefix: str) -> bool:
    client = Redis.from_url(REDIS_URL)
    try:
        return int(await client.scard(Keys(prefix).outbox_pending())) == 0
    finally:
        await client.aclose()


async def _record(prefix: str, tenant: str) -> TenantRecord:
    client = Redis.from_url(REDIS_URL)
    try:
        record = await RedisTenantStore(client, Keys(prefix)).get(tenant)
    finally:
        await client.aclose()
    assert record is not None
    return record


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
            await fake.wait_until(
                lambda: any(zh in t for t in seen_by_clicker(fake, click)),
                timeout=15,
                what="the outage told to the clicker only",
            )
            # A form: kept open, with the sentence on its field.
            meta = json.dumps({"t": tenant, "s": "account", "c": CHANNEL}, separators=(",", ":"))
            form = await slack.view_submission(
                "form.account",
                {"uin": {"value": text_input("100012345678")}},
                user_id=CUSTOMER_ZH,
                private_metadata=meta,
            )
            assert form.status == 200
            assert form.json() == {"response_action": "errors", "errors": {"uin": zh}}
            # A question: answered where it was asked, in the asker's language.
            question = await slack.app_mention(
                "what next?", user_id=CUSTOMER_EN, channel_id=CHANNEL
            )
            assert question.status == 200
            await fake.wait_for_message(channel=CHANNEL, where=lambda m: en in m.text, timeout=15)

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
            await journey.wait_prompt("real_name", timeout=15)
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


ACTIONS = 100


async def test_two_processes_apply_each_of_100_concurrent_actions_once(
    fake: FakeSlack, prefix: str
) -> None:
    """Two `serve` processes on one Redis; 100 distinct SE moves of one onboarding, each with
    its own reason, sent at once and split between them. Every move is applied: it is in the
    audit stream once and told to the ops channel once."""
    extra = {"ONBOARDING_SE_USERS": SE}
    a, b = ServeProcess(fake, prefix, extra=extra), ServeProcess(fake, prefix, extra=extra)
    await asyncio.gather(a.start(), b.start())
    try:
        async with _driver(a, fake) as to_a, _driver(b, fake) as to_b:
            journey = Journey(to_a, fake, CHANNEL, CUSTOMER_EN, SE, OPS_CHANNEL)
            tenant = await journey.start("Acme")
            await eventually(lambda: _outbox_empty(prefix), timeout=30, what="start settled")
            before = await _record(prefix, tenant)
            replies = await asyncio.gather(
                *(
                    (to_a if i % 2 else to_b).slash_command(
                        f"move {tenant} {1 + i % 7} reason-{i:03d}",
                        user_id=SE,
                        channel_id=OPS_CHANNEL,
                    )
                    for i in range(ACTIONS)
                )
            )
        assert all(r.status == 200 for r in replies)
        done = {f"reason-{i:03d}" for i, r in enumerate(replies) if "moved to step" in r.text}
        # Each process takes a tenant's updates in turn, so only the two processes race, and
        # no move is refused as busy.
        assert len(done) == ACTIONS, [r.text for r in replies if "moved to step" not in r.text][:3]
        await eventually(lambda: _outbox_empty(prefix), timeout=60, what="every effect done")

        after = await _record(prefix, tenant)
        assert after.version >= before.version + len(done)  # the runner's message refs add more
        client = Redis.from_url(REDIS_URL)
        try:
            audit = await RedisTenantStore(client, Keys(prefix)).audit(tenant, limit=1000)
        finally:
            await client.aclose()
        reasons = Counter(e.detail.get("reason") for e in audit if e.event == "override_step")
        assert reasons == Counter(done)
        told = Counter(
            word
            for m in fake.messages(OPS_CHANNEL)
            for word in set(re.findall(r"reason-\d{3}", message_text(m)))
        )
        assert told == Counter(done)
    finally:
        await asyncio.gather(a.kill(), b.kill())
    fake.assert_no_refusals()


async def test_while_slack_answers_429_and_5xx_every_message_arrives_once_and_in_order(
    fake: FakeSlack, keys: Keys
) -> None:
    """Slack rate-limits us, then fails with 503 and 500, around the posts of a new onboarding
    and of its next step: each message still arrives once, in the order it was meant."""
    async with served(fake, keys) as (_service, slack):
        journey = Journey(slack, fake, CHANNEL, CUSTOMER_EN, SE, OPS_CHANNEL)
        fake.fail_next("chat.postMessage", status=429, retry_after=1, times=2)
        fake.fail_next("chat.postMessage", status=503)
        await journey.command("start Acme", user=SE)
        prompt = await journey.wait_prompt("account", timeout=20)
        fake.fail_next("chat.postMessage", status=500)
        fake.fail_next("chat.update", status=429, retry_after=1)
        await journey.click(prompt, lambda b: "confirm_account" in b["value"])
        await journey.wait_prompt("real_name", timeout=20)
        posted = [m for m in journey.messages() if not m.thread_ts]
        texts_ = [message_text(m) for m in posted]
        assert len(posted) == 4, texts_
        assert "Welcome, *Acme*" in texts_[0]
        assert "1. Register a Tencent Cloud account" in texts_[1]  # the checklist
        assert "Step 1: Register a Tencent Cloud account" in texts_[2]  # closed by the click
        assert stage_of(posted[3]) == "real_name"
    refused = [c.http_status for c in fake.calls("chat.postMessage") if c.http_status != 200]
    assert sorted(refused) == [429, 429, 500, 503]
