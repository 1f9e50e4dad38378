"""The webhook backend against a receiver that checks the signature the way we document it."""

from __future__ import annotations

import aiohttp
import pytest
from pydantic import SecretStr

from bot.flows.model import SipStage
from bot.tickets import BackendError, TicketView, WebhookBackend
from tests.tickets.conftest import INSTANCE, TEST_HTTP_TIMEOUT, WEBHOOK_SECRET, FakeClock
from tests.tickets.fakes import WebhookReceiver


def backend(
    http: aiohttp.ClientSession, url: str, clock: FakeClock, secret: str = WEBHOOK_SECRET
) -> WebhookBackend:
    return WebhookBackend(
        session=http, url=url, secret=SecretStr(secret), clock=clock, timeout=TEST_HTTP_TIMEOUT
    )


async def test_opened_event_is_signed_and_carries_the_whole_ticket(
    http: aiohttp.ClientSession, webhook: WebhookReceiver, clock: FakeClock, view: TicketView
) -> None:
    delivery = await backend(http, webhook.hook_url, clock).open(view)

    (received,) = webhook.deliveries
    assert received.verdict == "accepted"
    assert delivery.external_id == "wh-1"
    headers = received.headers
    assert headers["Idempotency-Key"] == "sip-7f3a:ticket.opened"
    assert headers["X-Onboarding-Event"] == "ticket.opened"
    assert len(headers["X-Onboarding-Delivery"]) == 32
    assert headers["X-Onboarding-Timestamp"] == str(int(clock.now.timestamp()))
    payload = received.json()
    assert payload["event"] == "ticket.opened"
    assert payload["idempotency_key"] == "sip-7f3a:ticket.opened"
    assert payload["delivery_id"] == headers["X-Onboarding-Delivery"]
    ticket = payload["ticket"]
    assert ticket == view.model_dump(mode="json")
    assert ticket["instance_name"] == INSTANCE.call_center_name
    assert ticket["admin_email"] == INSTANCE.admin_email
    assert ticket["tccc"]["inbound"] == "sip.pstn.avc.qcloud.com:5089"
    assert len(ticket["tccc"]["outbound"]) == 6
    assert ticket["stage"] == 1 and ticket["stage_name"] == "submitted"


async def test_retries_repeat_the_idempotency_key_with_a_new_delivery_id(
    http: aiohttp.ClientSession, webhook: WebhookReceiver, clock: FakeClock, view: TicketView
) -> None:
    webhook.lose_next_answers()
    hook = backend(http, webhook.hook_url, clock)
    with pytest.raises(BackendError, match="HTTP 502"):
        await hook.open(view)
    await hook.open(view)

    first, second = webhook.deliveries
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert first.headers["X-Onboarding-Delivery"] != second.headers["X-Onboarding-Delivery"]
    assert (first.verdict, second.verdict) == ("accepted", "duplicate")
    assert len(webhook.accepted) == 1


async def test_stage_change_is_its_own_event(
    http: aiohttp.ClientSession, webhook: WebhookReceiver, clock: FakeClock, view: TicketView
) -> None:
    hook = backend(http, webhook.hook_url, clock)
    delivery = await hook.open(view)
    await hook.update(view.model_copy(update={"stage": SipStage.TESTING}), delivery)

    changed = webhook.deliveries[-1]
    assert changed.verdict == "accepted"
    assert changed.headers["X-Onboarding-Event"] == "ticket.stage_changed"
    assert changed.headers["Idempotency-Key"] == "sip-7f3a:ticket.stage_changed:testing"
    assert changed.json()["ticket"]["stage"] == int(SipStage.TESTING)


async def test_receiver_rejects_a_tampered_body(
    http: aiohttp.ClientSession, webhook: WebhookReceiver, clock: FakeClock, view: TicketView
) -> None:
    await backend(http, webhook.hook_url, clock).open(view)
    genuine = webhook.deliveries[0]
    tampered = genuine.body.replace(b"sip-7f3a", b"sip-0000")
    headers = {k: v for k, v in genuine.headers.items() if k.startswith(("X-", "Idempotency"))}

    async with http.post(webhook.hook_url, data=tampered, headers=headers) as resp:
        assert resp.status == 401
    assert webhook.deliveries[-1].verdict == "bad signature"
    assert webhook.check(genuine.headers, genuine.body) is None


async def test_wrong_secret_is_rejected_and_reported(
    http: aiohttp.ClientSession, webhook: WebhookReceiver, clock: FakeClock, view: TicketView
) -> None:
    with pytest.raises(BackendError) as caught:
        await backend(http, webhook.hook_url, clock, secret="not-the-secret").open(view)
    assert caught.value.reason == "webhook: HTTP 401 (check the credentials and permissions)"
    assert webhook.accepted == {}


async def test_redirect_is_not_followed(
    http: aiohttp.ClientSession, webhook: WebhookReceiver, clock: FakeClock, view: TicketView
) -> None:
    webhook.fail_next(307)
    with pytest.raises(BackendError, match="HTTP 307"):
        await backend(http, webhook.hook_url, clock).open(view)
