"""A ticket backend that will not take the ticket is given up on, told on the card, and left
alone until an SE retries: after TICKET_MAX_ATTEMPTS failures in a row, or at once for a 4xx
that retrying cannot change. Real Redis, fake Slack, fake Jira, a webhook receiver; the clock
is moved by hand."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest

from bot.config import ConfigError, Mode, Settings, load_settings
from bot.flows.model import SipStage
from bot.i18n import Lang
from bot.ids import ActionId
from bot.tickets import DeliveryStatus, TicketDispatcher, TicketsPending, TicketView
from tests.fakeslack.server import FakeSlack
from tests.tickets.conftest import OPS, DispatcherFactory, FakeClock
from tests.tickets.fakes import FakeJira, WebhookReceiver
from tests.tickets.test_card import buttons
from tests.tickets.test_dispatcher import card, open_pending

NOTICE = "The bot stopped trying: Jira."


def retry_buttons(slack: FakeSlack) -> list[dict[str, Any]]:
    (message,) = slack.messages(OPS)
    return [b for b in buttons(message.blocks or []) if b["action_id"] == ActionId.RETRY_SIP_TICKET]


async def until_given_up(
    dispatcher: TicketDispatcher, view: TicketView, clock: FakeClock, attempts: int
) -> None:
    """Open the ticket `attempts - 1` times while it stays pending, moving the clock to each
    next try; the last round must then return."""
    for attempt in range(1, attempts):
        pending = await open_pending(dispatcher, view)
        state = pending.report.states["jira"]
        assert state.attempts == attempt and not state.given_up
        assert state.next_attempt_at is not None
        clock.now = state.next_attempt_at


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_a_4xx_that_will_not_change_is_given_up_at_once_and_told_on_the_card(
    make_dispatcher: DispatcherFactory,
    view: TicketView,
    slack: FakeSlack,
    jira: FakeJira,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    dispatcher = make_dispatcher()
    jira.go_down(status)
    caplog.set_level(logging.INFO, logger="bot.tickets")

    report = await dispatcher.open(view)  # no TicketsPending: nothing is owed any more

    state = report.states["jira"]
    assert state.status is DeliveryStatus.FAILED and state.given_up and state.permanent
    assert state.attempts == 1 and state.next_attempt_at is None
    assert report.given_up == ("jira",) and report.pending == () and report.retry_at is None
    _, text = card(slack)
    assert f"Jira: refused, not retried — jira search: HTTP {status}" in text
    assert NOTICE in text and "by hand" in text
    (retry,) = retry_buttons(slack)
    assert json.loads(retry["value"]) == {"tenant": view.tenant_id, "ticket": view.ticket_id}
    # One log line says so (the dead letter, with the ticket and the reason).
    gave_up = [r for r in caplog.records if "gave up on jira" in r.getMessage()]
    assert len(gave_up) == 1 and gave_up[0].levelno == logging.ERROR
    assert view.ticket_id in gave_up[0].getMessage()

    # Left alone: neither a later open nor a stage change asks Jira again.
    asked = len(jira.requests)
    clock.advance(timedelta(days=1))
    await dispatcher.open(view)
    await dispatcher.stage_changed(view.model_copy(update={"stage": SipStage.WHITELISTING}))
    assert len(jira.requests) == asked
    _, text = card(slack)
    assert "▶ Whitelisting IPs and ports" in text and NOTICE in text  # the card still moves on


@pytest.mark.parametrize("status", [408, 409, 425, 429])
async def test_a_4xx_that_may_change_is_retried(
    make_dispatcher: DispatcherFactory, view: TicketView, jira: FakeJira, status: int
) -> None:
    jira.fail_next(status)
    pending = await open_pending(make_dispatcher(), view)
    state = pending.report.states["jira"]
    assert state.status is DeliveryStatus.PENDING and not state.given_up


async def test_a_backend_down_for_good_is_given_up_after_the_maximum_attempts(
    make_dispatcher: DispatcherFactory,
    view: TicketView,
    slack: FakeSlack,
    jira: FakeJira,
    webhook: WebhookReceiver,
    clock: FakeClock,
) -> None:
    dispatcher = make_dispatcher(max_attempts=3)
    jira.go_down(503)

    await until_given_up(dispatcher, view, clock, attempts=3)
    report = await dispatcher.open(view)

    state = report.states["jira"]
    assert state.status is DeliveryStatus.FAILED and not state.permanent
    assert state.attempts == 3 and state.last_error == "jira search: HTTP 503"
    assert state.gave_up_at == clock.now and state.next_attempt_at is None
    assert len(jira.searches) == 3
    _, text = card(slack)
    assert "Jira: given up after 3 attempts — last error: jira search: HTTP 503" in text
    assert NOTICE in text and len(retry_buttons(slack)) == 1
    # The others go on as before: a stage change reaches the webhook, not Jira.
    clock.advance(timedelta(days=1))
    await dispatcher.stage_changed(view.model_copy(update={"stage": SipStage.TESTING}))
    assert len(jira.searches) == 3
    assert "sip-7f3a:ticket.stage_changed:testing" in webhook.accepted


async def test_the_default_is_eight_attempts(
    make_dispatcher: DispatcherFactory, view: TicketView, jira: FakeJira, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher("jira")
    jira.go_down(503)
    await until_given_up(dispatcher, view, clock, attempts=8)
    report = await dispatcher.open(view)
    assert report.given_up == ("jira",) and report.states["jira"].attempts == 8


async def test_a_stage_update_given_up_on_is_told_and_the_ticket_stays_delivered(
    make_dispatcher: DispatcherFactory,
    view: TicketView,
    slack: FakeSlack,
    webhook: WebhookReceiver,
    clock: FakeClock,
) -> None:
    dispatcher = make_dispatcher(max_attempts=2)
    await dispatcher.open(view)
    testing = view.model_copy(update={"stage": SipStage.TESTING})
    webhook.go_down(500)

    with pytest.raises(TicketsPending) as caught:
        await dispatcher.stage_changed(testing)
    next_try = caught.value.report.states["webhook"].next_attempt_at
    assert next_try is not None
    clock.now = next_try
    report = await dispatcher.stage_changed(testing)

    state = report.states["webhook"]
    assert state.delivered and state.given_up and not state.update_pending
    _, text = card(slack)
    assert "Webhook: delivered, stage update given up after 2 attempts" in text
    assert "The bot stopped trying: Webhook." in text


async def test_retry_gives_a_backend_given_up_on_one_more_try(
    make_dispatcher: DispatcherFactory,
    view: TicketView,
    slack: FakeSlack,
    jira: FakeJira,
    clock: FakeClock,
) -> None:
    dispatcher = make_dispatcher()
    jira.go_down(401)
    await dispatcher.open(view)
    asked = len(jira.requests)

    # Still refused: tried exactly once more, and given up on again (nothing would come back
    # for a second try).
    clock.advance(timedelta(minutes=5))
    report = await dispatcher.retry(view)
    assert len(jira.requests) == asked + 1
    state = report.states["jira"]
    assert state.given_up and state.attempts == 2 and state.gave_up_at == clock.now

    # Not a permanent answer this time, but the retry still gets one try only.
    jira.go_down(503)
    report = await dispatcher.retry(view)
    assert report.given_up == ("jira",) and report.states["jira"].next_attempt_at is None
    _, text = card(slack)
    assert "Jira: given up after 3 attempts — last error: jira search: HTTP 503" in text

    # Fixed: delivered, and the card says so, without the warning or the button.
    jira.come_back()
    report = await dispatcher.retry(view)
    assert report.given_up == () and report.states["jira"].delivered
    (issue,) = jira.issues.values()
    _, text = card(slack)
    assert f"Jira: delivered (<{jira.url}/browse/{issue.key}|{issue.key}>)" in text
    assert "stopped trying" not in text and retry_buttons(slack) == []
    assert len(slack.calls("chat.postMessage")) == 1  # the same card, updated


async def test_retry_leaves_what_was_not_given_up_on_to_its_schedule(
    make_dispatcher: DispatcherFactory,
    view: TicketView,
    jira: FakeJira,
    webhook: WebhookReceiver,
) -> None:
    dispatcher = make_dispatcher()
    jira.go_down(503)
    await open_pending(dispatcher, view)  # Jira pending, waiting for its next try

    report = await dispatcher.retry(view)

    assert len(jira.searches) == 1 and report.skipped == ("jira",)
    assert len(webhook.deliveries) == 1


async def test_the_card_says_it_in_the_ops_language(
    make_dispatcher: DispatcherFactory, view: TicketView, slack: FakeSlack, jira: FakeJira
) -> None:
    jira.go_down(403)
    await make_dispatcher(lang=Lang.ZH).open(view)
    _, text = card(slack)
    assert "Jira：被拒绝，不再重试 — jira search: HTTP 403" in text
    assert "机器人已停止投递：Jira。" in text
    (retry,) = retry_buttons(slack)
    assert retry["text"]["text"] == "重试"


def test_max_attempts_is_a_setting_with_a_bounded_value(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().ticket_max_attempts == 8
    monkeypatch.setenv("TICKET_MAX_ATTEMPTS", "3")
    assert Settings().ticket_max_attempts == 3
    for bad in ("0", "many", "1000"):
        monkeypatch.setenv("TICKET_MAX_ATTEMPTS", bad)
        with pytest.raises(ConfigError) as caught:
            load_settings(Mode.SHELL)
        line = str(caught.value)
        assert line.startswith("TICKET_MAX_ATTEMPTS: ") and "\n" not in line
