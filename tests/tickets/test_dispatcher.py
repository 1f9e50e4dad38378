"""The dispatcher end to end: real Redis, fake Slack, fake Jira, a webhook receiver.

Time is a `FakeClock` the tests move; nothing sleeps.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.flows.model import SipStage
from bot.i18n import Catalog, Lang
from bot.state.keys import Keys
from bot.tickets import (
    DeliveryStatus,
    TicketBusy,
    TicketConfigError,
    TicketDispatcher,
    TicketsPending,
    TicketView,
)
from tests.fakeslack.server import FakeSlack
from tests.tickets.conftest import (
    JIRA_TOKEN,
    OPS,
    T0,
    WEBHOOK_SECRET,
    DispatcherFactory,
    FakeClock,
    make_settings,
)
from tests.tickets.fakes import FakeJira, WebhookReceiver, closed_port
from tests.tickets.test_card import buttons, card_text


def card(slack: FakeSlack) -> tuple[str, str]:
    """The one ticket card in the ops channel: (ts, all its text)."""
    (message,) = slack.messages(OPS)
    return message.ts, card_text(message.blocks or [])


async def open_pending(dispatcher: TicketDispatcher, view: TicketView) -> TicketsPending:
    with pytest.raises(TicketsPending) as caught:
        await dispatcher.open(view)
    return caught.value


# -- delivery and idempotency -------------------------------------------------------------------


async def test_open_delivers_to_every_backend(
    make_dispatcher: DispatcherFactory,
    view: TicketView,
    slack: FakeSlack,
    jira: FakeJira,
    webhook: WebhookReceiver,
) -> None:
    report = await make_dispatcher().open(view)

    assert report.pending == ()
    assert set(report.delivered) == {"slack", "jira", "webhook"}
    (issue,) = jira.issues.values()
    assert report.states["jira"].external_id == issue.key
    assert report.states["jira"].url == f"{jira.url}/browse/{issue.key}"
    assert list(webhook.accepted) == ["sip-7f3a:ticket.opened"]
    ts, text = card(slack)
    assert report.states["slack"].external_id == ts
    assert report.states["slack"].channel == OPS
    # The card went last, so it shows how the others fared without a second call.
    assert f"Jira: delivered (<{jira.url}/browse/{issue.key}|{issue.key}>)" in text
    assert "Webhook: delivered" in text
    assert len(slack.calls("chat.update")) == 0
    for item in (*view.numbers, *view.tccc.outbound, view.carrier):
        assert item in text


async def test_open_twice_delivers_once(
    make_dispatcher: DispatcherFactory,
    view: TicketView,
    slack: FakeSlack,
    jira: FakeJira,
    webhook: WebhookReceiver,
) -> None:
    await make_dispatcher().open(view)
    # A second dispatcher (another replica, or after a restart) sees the same state.
    report = await make_dispatcher().open(view)

    assert report.attempted == ()
    assert len(jira.issues) == 1 and len(jira.creates) == 1
    assert len(slack.calls("chat.postMessage")) == 1
    assert len(webhook.deliveries) == 1


async def test_issue_created_before_a_crash_is_reused(
    make_dispatcher: DispatcherFactory, view: TicketView, jira: FakeJira
) -> None:
    # The issue exists, but the crash lost the delivery state that would have named it.
    earlier = jira.add_issue(labels=["onb-sip-7f3a", "sip-trunk"])

    report = await make_dispatcher().open(view)

    assert report.states["jira"].external_id == earlier.key
    assert jira.creates == []
    assert list(jira.issues) == [earlier.key]


async def test_lost_webhook_answer_is_retried_with_the_same_idempotency_key(
    make_dispatcher: DispatcherFactory,
    view: TicketView,
    webhook: WebhookReceiver,
    clock: FakeClock,
) -> None:
    dispatcher = make_dispatcher()
    webhook.lose_next_answers()
    pending = await open_pending(dispatcher, view)
    assert pending.report.states["webhook"].last_error == "webhook: HTTP 502"

    clock.advance(timedelta(hours=1))
    await dispatcher.open(view)

    keys = [d.headers["Idempotency-Key"] for d in webhook.deliveries]
    assert keys == ["sip-7f3a:ticket.opened"] * 2
    assert [d.verdict for d in webhook.deliveries] == ["accepted", "duplicate"]


# -- a backend that is down ---------------------------------------------------------------------


async def test_backend_down_stays_pending_backs_off_and_delivers_later(
    make_dispatcher: DispatcherFactory,
    view: TicketView,
    slack: FakeSlack,
    jira: FakeJira,
    webhook: WebhookReceiver,
    clock: FakeClock,
) -> None:
    dispatcher = make_dispatcher()
    jira.go_down(503)

    pending = await open_pending(dispatcher, view)

    assert pending.waiting == ("jira",)
    state = pending.report.states["jira"]
    assert state.status is DeliveryStatus.PENDING
    assert state.attempts == 1
    assert state.last_error == "jira search: HTTP 503"
    assert state.next_attempt_at is not None
    assert T0 + timedelta(seconds=15) <= state.next_attempt_at <= T0 + timedelta(seconds=30)
    assert pending.report.retry_at == state.next_attempt_at
    # Everyone else got the ticket, and the card says what is missing.
    assert set(pending.report.delivered) == {"slack", "webhook"}
    _, text = card(slack)
    assert "Jira: pending — attempts: 1, last error: jira search: HTTP 503" in text

    # Before its time, Jira is not even asked; the others are not called again.
    jira_requests, slack_calls = len(jira.requests), len(slack.calls())
    clock.advance(timedelta(seconds=10))
    pending = await open_pending(dispatcher, view)
    assert pending.report.skipped == ("jira",)
    assert pending.report.attempted == ()
    assert len(jira.requests) == jira_requests
    assert len(slack.calls()) == slack_calls
    assert len(webhook.deliveries) == 1

    # Still down at the next try: the count grows and so does the wait.
    clock.now = state.next_attempt_at
    pending = await open_pending(dispatcher, view)
    second = pending.report.states["jira"]
    assert second.attempts == 2
    assert second.next_attempt_at is not None
    assert second.next_attempt_at - clock.now >= timedelta(seconds=30)
    _, text = card(slack)
    assert "Jira: pending — attempts: 2" in text

    # Back up: delivered, and the same card now says so.
    jira.come_back()
    clock.now = second.next_attempt_at
    report = await dispatcher.open(view)
    assert report.pending == ()
    assert report.states["jira"].attempts == 0 and report.states["jira"].last_error is None
    assert len(jira.issues) == 1
    ts, text = card(slack)
    assert len(slack.calls("chat.postMessage")) == 1
    assert slack.last("chat.update").args["ts"] == ts
    assert "Jira: delivered" in text and "pending" not in text


async def test_jira_that_never_answers_times_out_and_stays_pending(
    make_dispatcher: DispatcherFactory, view: TicketView, jira: FakeJira
) -> None:
    jira.hang_next()
    pending = await open_pending(make_dispatcher(), view)
    assert pending.report.states["jira"].last_error == "jira search: no answer within 0.5 s"
    assert pending.report.states["slack"].delivered


async def test_connection_refused_stays_pending(
    make_dispatcher: DispatcherFactory, view: TicketView
) -> None:
    dispatcher = make_dispatcher(jira_url=f"http://127.0.0.1:{closed_port()}")
    pending = await open_pending(dispatcher, view)
    assert pending.report.states["jira"].last_error == (
        "jira search: connection failed (ClientConnectorError)"
    )


async def test_rate_limit_waits_at_least_retry_after(
    make_dispatcher: DispatcherFactory, view: TicketView, jira: FakeJira, clock: FakeClock
) -> None:
    jira.fail_next(429, headers={"Retry-After": "600"})
    pending = await open_pending(make_dispatcher("jira"), view)
    state = pending.report.states["jira"]
    assert state.last_error == "jira search: HTTP 429 (rate limited)"
    # The backoff alone would say 15-30 s; Jira asked for ten minutes.
    assert state.next_attempt_at == clock.now + timedelta(seconds=600)


async def test_card_that_fails_is_posted_later_with_the_others_status(
    make_dispatcher: DispatcherFactory,
    view: TicketView,
    slack: FakeSlack,
    jira: FakeJira,
    clock: FakeClock,
) -> None:
    dispatcher = make_dispatcher()
    slack.fail_next("chat.postMessage", status=500)

    pending = await open_pending(dispatcher, view)
    assert pending.waiting == ("slack",)
    assert pending.report.states["slack"].last_error == "slack post: internal_error (HTTP 500)"
    assert slack.messages(OPS) == []

    clock.advance(timedelta(minutes=5))
    await dispatcher.open(view)
    _, text = card(slack)
    assert "Jira: delivered" in text and "Webhook: delivered" in text
    assert len(jira.creates) == 1  # Jira was not asked again


async def test_deleted_card_is_posted_again(
    make_dispatcher: DispatcherFactory, view: TicketView, slack: FakeSlack
) -> None:
    dispatcher = make_dispatcher("slack")
    await dispatcher.open(view)
    (old,) = slack.messages(OPS)
    old.deleted = True

    report = await dispatcher.stage_changed(view.model_copy(update={"stage": SipStage.TESTING}))

    (new,) = slack.messages(OPS)
    assert new.ts != old.ts
    assert report.states["slack"].external_id == new.ts


# -- stage changes ------------------------------------------------------------------------------


async def test_stage_change_updates_every_delivered_backend_once(
    make_dispatcher: DispatcherFactory,
    view: TicketView,
    slack: FakeSlack,
    jira: FakeJira,
    webhook: WebhookReceiver,
) -> None:
    dispatcher = make_dispatcher()
    await dispatcher.open(view)
    # The effect that follows the opening (stage: submitted) changes nothing anywhere.
    await dispatcher.stage_changed(view)
    assert slack.calls("chat.update") == [] and len(webhook.deliveries) == 1
    whitelisting = view.model_copy(update={"stage": SipStage.WHITELISTING})

    report = await dispatcher.stage_changed(whitelisting)

    assert set(report.attempted) == {"slack", "jira", "webhook"}
    (issue,) = jira.issues.values()
    (comment,) = issue.comments
    assert "Stage: Whitelisting IPs and ports" in comment
    assert "sip-7f3a:ticket.stage_changed:whitelisting" in webhook.accepted
    _, text = card(slack)
    assert "▶ Whitelisting IPs and ports" in text
    (button,) = buttons(slack.messages(OPS)[0].blocks or [])
    assert json.loads(button["value"])["stage"] == int(SipStage.CARRIER_HANDOVER)
    assert all(state.stage_sent == 2 for state in report.states.values())

    # The same effect again (at-least-once delivery): nothing is sent twice.
    calls = (len(slack.calls()), len(jira.requests), len(webhook.deliveries))
    report = await dispatcher.stage_changed(whitelisting)
    assert report.attempted == ()
    assert (len(slack.calls()), len(jira.requests), len(webhook.deliveries)) == calls


async def test_failed_stage_update_is_pending_and_shown_then_retried(
    make_dispatcher: DispatcherFactory,
    view: TicketView,
    slack: FakeSlack,
    jira: FakeJira,
    webhook: WebhookReceiver,
    clock: FakeClock,
) -> None:
    dispatcher = make_dispatcher()
    await dispatcher.open(view)
    testing = view.model_copy(update={"stage": SipStage.TESTING})
    webhook.fail_next(500)

    with pytest.raises(TicketsPending) as caught:
        await dispatcher.stage_changed(testing)

    state = caught.value.report.states["webhook"]
    assert caught.value.waiting == ("webhook",)
    assert state.delivered and state.update_pending and state.attempts == 1
    assert len(jira.issues[next(iter(jira.issues))].comments) == 1
    _, text = card(slack)
    assert "Webhook: delivered, stage update pending — attempts: 1" in text
    # `open` does not touch a backend that has the ticket (its update is stage_changed's job).
    report = await dispatcher.open(testing)
    assert "webhook" not in report.attempted

    clock.advance(timedelta(hours=1))
    report = await dispatcher.stage_changed(testing)
    assert report.attempted == ("webhook", "slack")
    assert "sip-7f3a:ticket.stage_changed:testing" in webhook.accepted
    _, text = card(slack)
    assert "Webhook: delivered" in text and "pending" not in text


async def test_stage_change_delivers_to_a_backend_still_missing_the_ticket(
    make_dispatcher: DispatcherFactory, view: TicketView, jira: FakeJira, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher()
    jira.fail_next(503)
    await open_pending(dispatcher, view)
    clock.advance(timedelta(hours=1))

    report = await dispatcher.stage_changed(view.model_copy(update={"stage": SipStage.TESTING}))

    assert report.states["jira"].delivered and report.states["jira"].stage_sent == 4
    (issue,) = jira.issues.values()
    assert "Testing and verification" in issue.description
    assert issue.comments == []  # it was born at this stage


# -- secrets, status, locking, configuration ---------------------------------------------------


async def test_secrets_never_reach_stored_errors_or_logs(
    make_dispatcher: DispatcherFactory,
    view: TicketView,
    jira: FakeJira,
    webhook: WebhookReceiver,
    redis: Redis,
    keys: Keys,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A misbehaving Jira that echoes the request's credentials back in its error.
    echo = {"errorMessages": [f"bad token {JIRA_TOKEN}"], "errors": {"auth": JIRA_TOKEN}}
    jira.go_down(400, body=echo)
    webhook.fail_next(500, body={"error": WEBHOOK_SECRET})
    caplog.set_level(logging.DEBUG)

    pending = await open_pending(make_dispatcher(), view)

    assert "[secret]" in (pending.report.states["jira"].last_error or "")
    stored = await redis.hgetall(keys.ticket_deliveries(view.tenant_id, view.ticket_id))
    everything = b" ".join(stored.values()).decode() + str(pending) + caplog.text
    for secret in (JIRA_TOKEN, WEBHOOK_SECRET):
        assert secret not in everything
    assert "Basic " not in everything


async def test_status_lists_every_backend_in_configuration_order(
    make_dispatcher: DispatcherFactory, view: TicketView, jira: FakeJira
) -> None:
    dispatcher = make_dispatcher("webhook,jira,slack")
    before = await dispatcher.status(view)
    assert list(before) == ["webhook", "jira", "slack"]
    assert all(s.status is DeliveryStatus.PENDING and s.attempts == 0 for s in before.values())

    jira.fail_next(503)
    await open_pending(dispatcher, view)
    after = await dispatcher.status(view)
    assert after["jira"].attempts == 1
    assert after["webhook"].delivered and after["slack"].delivered


async def test_state_lives_under_the_tenant_hash_tag(
    make_dispatcher: DispatcherFactory, view: TicketView, redis: Redis, keys: Keys
) -> None:
    await make_dispatcher().open(view)
    found = sorted([k.decode() async for k in redis.scan_iter(match=keys.everything_pattern())])
    assert found == sorted(
        [keys.tickets(view.tenant_id), keys.ticket_deliveries(view.tenant_id, view.ticket_id)]
    )
    assert all("{acme-x1y2}" in key for key in found)
    assert await redis.smembers(keys.tickets(view.tenant_id)) == {b"sip-7f3a"}
    raw: Any = await redis.hget(keys.ticket_deliveries(view.tenant_id, view.ticket_id), "jira")
    assert json.loads(raw)["status"] == "delivered"


async def test_a_ticket_being_dispatched_elsewhere_is_busy(
    make_dispatcher: DispatcherFactory, view: TicketView, redis: Redis, keys: Keys
) -> None:
    await redis.set(keys.ticket_lock(view.tenant_id, view.ticket_id), b"other", px=60_000)
    with pytest.raises(TicketBusy):
        await make_dispatcher().open(view)


async def test_lock_is_released_after_a_round(
    make_dispatcher: DispatcherFactory, view: TicketView, redis: Redis, keys: Keys, jira: FakeJira
) -> None:
    jira.fail_next(503)
    await open_pending(make_dispatcher(), view)
    assert await redis.exists(keys.ticket_lock(view.tenant_id, view.ticket_id)) == 0


async def test_card_is_in_the_ops_language(
    make_dispatcher: DispatcherFactory, view: TicketView, slack: FakeSlack, jira: FakeJira
) -> None:
    jira.fail_next(503)
    await open_pending(make_dispatcher(lang=Lang.ZH), view)
    _, text = card(slack)
    assert "SIP 对接工单 · Acme 云通信有限公司 · sip-7f3a" in text
    assert "Jira：待重试 — 已尝试 1 次，最近错误：jira search: HTTP 503" in text


def test_slack_backend_needs_the_ops_channel(
    http: Any, slack_client: Any, catalog: Catalog, redis: Redis, keys: Keys
) -> None:
    settings = make_settings("slack", ops_channel=None)
    with pytest.raises(TicketConfigError, match="ONBOARDING_OPS_CHANNEL"):
        TicketDispatcher(
            settings, http=http, slack=slack_client, catalog=catalog, redis=redis, keys=keys
        )


async def test_two_rounds_at_once_post_one_card(
    make_dispatcher: DispatcherFactory, view: TicketView, slack: FakeSlack, jira: FakeJira
) -> None:
    results = await asyncio.gather(
        make_dispatcher().open(view), make_dispatcher().open(view), return_exceptions=True
    )
    assert sorted(type(r).__name__ for r in results) == ["DispatchReport", "TicketBusy"]
    assert len(slack.calls("chat.postMessage")) == 1
    assert len(jira.creates) == 1


async def test_failed_card_refresh_is_pending_and_retried(
    make_dispatcher: DispatcherFactory,
    view: TicketView,
    slack: FakeSlack,
    jira: FakeJira,
    clock: FakeClock,
) -> None:
    dispatcher = make_dispatcher()
    jira.fail_next(503)
    await open_pending(dispatcher, view)  # card posted, showing Jira pending
    clock.advance(timedelta(hours=1))
    slack.fail_next("chat.update", status=500)

    pending = await open_pending(dispatcher, view)  # Jira delivered; the refresh failed

    assert pending.waiting == ("slack",)
    assert pending.report.states["jira"].delivered
    assert pending.report.states["slack"].update_pending
    clock.advance(timedelta(hours=1))
    await dispatcher.open(view)
    _, text = card(slack)
    assert "Jira: delivered" in text
