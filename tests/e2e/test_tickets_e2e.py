"""SIP-trunk tickets end to end: the customer's request form, one ticket per request, the ticket
in the ops channel (and in Jira and a signed webhook when configured), and the SEs moving it
through its stages until the number is assigned and step 5 is done.

Everything goes through the served HTTP endpoint. What reached Jira and the webhook receiver is
read from the local fakes of `tests/tickets/fakes.py` (the receiver checks the signature with its
own HMAC code).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from bot.runner import EffectRunner
from bot.runtime import HttpService
from bot.state.keys import Keys
from tests.clock import MovableClock
from tests.e2e.conftest import (
    CHANNEL,
    CUSTOMER_ZH,
    MANAGER,
    OPS_CHANNEL,
    SE,
    served,
)
from tests.e2e.journey import Journey, buttons, message_text, texts
from tests.e2e.ops import (
    ADVANCE_SIP,
    JSON,
    Snapshot,
    button_for,
    checklist,
    choose_path,
    press,
    refused,
    submit_round,
    to_numbers,
    upload_documents,
    wait_updated,
)
from tests.fakeslack.driver import SlackDriver
from tests.fakeslack.server import FakeSlack
from tests.fakeslack.state import Message
from tests.tickets.fakes import FakeJira, WebhookReceiver

# TCCC's SIP parameters, as DOMAIN.md gives them.
TCCC_DOMAIN = "sip.pstn.avc.qcloud.com:5089"
TCCC_INBOUND_IPS = ("139.199.233.98:5089", "114.221.144.81:5089")
TCCC_OUTBOUND_IPS = (
    "139.199.4.25:5089",
    "203.195.240.224:5089",
    "129.211.167.158:5089",
    "129.211.167.34:5089",
    "129.211.166.16:5089",
    "129.204.27.73:5089",
)

FIELDS = ["carrier", "sip_numbers", "signalling", "media_ip_range", "contact_name", "contact_phone"]
VALID = {
    "carrier": "中国电信 China Telecom",
    "sip_numbers": "02088886666\n020 8888 6667",
    "signalling": "198.51.100.7:5060\n[2001:db8::7]:65535\n203.0.113.9:1",
    "media_ip_range": "203.0.113.0/24, 198.51.100.10-198.51.100.20",
    "contact_name": "王工",
    "contact_phone": "+86 138 0013 8000",
}
JIRA_EMAIL = "bot@example.com"
JIRA_TOKEN = "jira-token-for-the-e2e-test-1234567890"
WEBHOOK_SECRET = "whsec-e2e-receiver-secret-5678"

# The ticket card in the ops language (zh).
TICKET_CARD = "SIP 对接工单"
STAGES_ZH = (
    "工单已提交",
    "IP 端口互相加白中",
    "运营商已将号码分给腾讯云",
    "测试验证中",
    "号码已分配到实例",
)


def journey(slack: SlackDriver, fake: FakeSlack, customer: str = CUSTOMER_ZH) -> Journey:
    return Journey(slack, fake, CHANNEL, customer, SE, OPS_CHANNEL)


def ticket_cards(j: Journey) -> list[Message]:
    return [
        m
        for m in j.messages(OPS_CHANNEL)
        if (m.metadata or {}).get("event_type") == "onboarding_sip_ticket"
    ]


async def open_sip_form(j: Journey, *, lang: str | None = "zh") -> JSON:
    """Step 4 passed, the SIP path chosen, its form opened; returns the form as Slack has it."""
    await to_numbers(j, lang=lang)
    await choose_path(j, "sip_trunk")
    prompt = await j.wait_prompt("numbers.sip_request", having='"f":"sip_trunk"')
    # The prompt already tells the customer TCCC's parameters for their carrier.
    for address in (TCCC_DOMAIN, *TCCC_INBOUND_IPS, *TCCC_OUTBOUND_IPS):
        assert address in message_text(prompt)
    await j.click(prompt, lambda b: '"f":"sip_trunk"' in str(b.get("value")))
    view = await j.opened_form("form.sip_trunk")
    return j.fake.view_json(view)


async def submit_sip(j: Journey, form: JSON, values: dict[str, str]) -> JSON | None:
    """Submit the SIP form; returns the response body (None when the form just closes)."""
    reply = await j.slack.view_submission(
        "form.sip_trunk",
        {field: {"value": {"type": "plain_text_input", "value": v}} for field, v in values.items()},
        user_id=j.customer,
        private_metadata=form["private_metadata"],
        view=form,
    )
    assert reply.status == 200, reply.text
    return reply.json() if reply.text.strip() else None


async def ticket_opened(j: Journey) -> Message:
    """The ticket card, once everything the submission causes has been posted."""
    found = await j.fake.wait_for_message(
        channel=OPS_CHANNEL,
        where=lambda m: (m.metadata or {}).get("event_type") == "onboarding_sip_ticket",
    )
    await j.wait_text("已提交 SIP Trunk 对接工单", channel=OPS_CHANNEL)  # the last effect
    return found[-1]


# -- the form -------------------------------------------------------------------------------------


async def test_the_sip_form_asks_for_every_field_and_shows_errors_inline(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    form = await open_sip_form(j)
    inputs = [b for b in form["blocks"] if b["type"] == "input"]
    assert [b["block_id"] for b in inputs] == FIELDS
    assert [b["block_id"] for b in inputs if b.get("optional")] == ["media_ip_range"]

    bad = [
        ("carrier", "   "),
        ("sip_numbers", "not a number"),
        ("sip_numbers", "12"),
        ("signalling", "198.51.100.7"),  # no port
        ("signalling", "198.51.100.7:0"),
        ("signalling", "198.51.100.7:65536"),
        ("signalling", "999.1.1.1:5060"),
        ("signalling", "sip.carrier.example:5060"),  # a name, not an IP
        ("signalling", "[2001:db8::zz]:5060"),
        ("media_ip_range", "203.0.113.0/33"),
        ("media_ip_range", "203.0.113.20-203.0.113.10"),  # runs backwards
        ("media_ip_range", "the usual"),
        ("contact_name", ""),
        ("contact_phone", "call me"),
    ]
    for field, value in bad:
        body = await submit_sip(j, form, {**VALID, field: value})
        assert body is not None, f"{field}={value!r} was accepted"
        assert body["response_action"] == "errors"
        assert list(body["errors"]) == [field], (field, value, body)
        assert body["errors"][field].strip()

    # Everything wrong is shown at once, each on its own field.
    body = await submit_sip(
        j, form, {**VALID, "carrier": " ", "signalling": "198.51.100.7", "contact_phone": "call me"}
    )
    assert body is not None
    assert sorted(body["errors"]) == ["carrier", "contact_phone", "signalling"]

    # The media range message says what is expected, in the customer's language.
    body = await submit_sip(j, form, {**VALID, "media_ip_range": "the usual"})
    assert body is not None
    assert "/24" in body["errors"]["media_ip_range"], body
    # Nothing was opened by the refused submissions.
    assert ticket_cards(j) == []
    assert not fake.calls("chat.postMessage") or all(
        TICKET_CARD not in c.args.get("text", "") for c in fake.calls("chat.postMessage")
    )


# -- one ticket per request -----------------------------------------------------------------------


async def test_a_request_opens_exactly_one_ticket_carrying_everything(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    form = await open_sip_form(j)
    prompt = await j.wait_prompt("numbers.sip_request", having='"f":"sip_trunk"')
    prompt_seen = fake.message_json(prompt)  # as the customer's client shows it
    assert await submit_sip(j, form, VALID) is None  # the form closes
    card = await ticket_opened(j)

    # The same submission again (a double click, or the request retried): no second ticket.
    again = await submit_sip(j, form, VALID)
    assert again is not None and again["response_action"] == "errors", again
    # Said on the form: nothing changed, the request is already in.
    assert "没有做任何更改" in again["errors"]["carrier"]
    assert STAGES_ZH[0] in again["errors"]["carrier"]
    # A click on the request form's button after submitting is refused as stale.
    opened = len(fake.calls("views.open"))
    open_form = next(b for b in buttons_in(prompt_seen) if '"f":"sip_trunk"' in str(b.get("value")))
    await press(j, prompt, open_form, user=CUSTOMER_ZH, as_seen=prompt_seen)
    await refused(j, CUSTOMER_ZH, "这个按钮已经过期")
    assert len(fake.calls("views.open")) == opened
    assert ticket_cards(j) == [card]
    assert sum("已提交 SIP Trunk 对接工单" in message_text(m) for m in j.messages(OPS_CHANNEL)) == 1

    # The customer is told the request went in.
    told = await j.wait_text(f"SIP 对接进度更新：*{STAGES_ZH[0]}*")
    assert not told.ephemeral

    # The ticket: tenant, instance, every field as typed, TCCC's parameters.
    shown = message_text(card)
    assert j.tenant and j.tenant in shown
    assert "示例呼叫中心" in shown and "admin@example.cn" in shown  # step 3's instance
    for value in (
        "中国电信 China Telecom",
        "02088886666, 020 8888 6667",
        "198.51.100.7:5060, [2001:db8::7]:65535, 203.0.113.9:1",
        "203.0.113.0/24, 198.51.100.10-198.51.100.20",
        "王工",
        "+86 138 0013 8000",
    ):
        assert value in shown, value
    for address in (TCCC_DOMAIN, *TCCC_INBOUND_IPS, *TCCC_OUTBOUND_IPS):
        assert address in shown, address
    advance = json.loads(button_for(card, ADVANCE_SIP)["value"])
    assert advance["tenant"] == j.tenant and advance["stage"] == 2


# -- stages ---------------------------------------------------------------------------------------


async def advance(j: Journey, card: Message, stage: str) -> None:
    """The SE moves the ticket on from its card; waits for the card and the customer."""
    versions = len(card.history)
    button = button_for(card, ADVANCE_SIP)
    assert stage in button["text"]["text"]
    await press(j, card, button, user=SE)
    await wait_updated(j, card, versions)
    await j.wait_text(f"SIP 对接进度更新：*{stage}*")


async def test_ses_move_the_ticket_through_its_stages_to_the_assigned_number(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    form = await open_sip_form(j)
    assert await submit_sip(j, form, VALID) is None
    card = await ticket_opened(j)
    submitted_view = fake.message_json(card)

    # Only SEs move tickets.
    before = Snapshot.of(card)
    told = len(j.messages())
    await press(j, card, button_for(card, ADVANCE_SIP), user=MANAGER)
    await refused(j, MANAGER, "只有解决方案工程师")
    assert before.unchanged(card) and len(j.messages()) == told

    await advance(j, card, STAGES_ZH[1])
    assert f"▶ {STAGES_ZH[1]}" in message_text(card) and f"✅ {STAGES_ZH[0]}" in message_text(card)

    # The card's button as it was before (a second SE, a double click): refused, unchanged.
    before = Snapshot.of(card)
    told = len(j.messages())
    stale = first_button(submitted_view, ADVANCE_SIP)
    await press(j, card, stale, user=SE, as_seen=submitted_view)
    await refused(j, SE, "is already at")
    assert before.unchanged(card) and len(j.messages()) == told

    await advance(j, card, STAGES_ZH[2])
    await advance(j, card, STAGES_ZH[3])
    testing_view = fake.message_json(card)

    # The last stage asks for the number TCCC assigned.
    await press(j, card, button_for(card, ADVANCE_SIP), user=SE)
    number_form = await j.opened_form("form.sip_number_assigned")
    assert [b["block_id"] for b in number_form.view["blocks"] if b["type"] == "input"] == [
        "assigned_number"
    ]
    body = (await j.submit(number_form, {"assigned_number": "soon"}, user=SE)).json()
    assert body["response_action"] == "errors" and list(body["errors"]) == ["assigned_number"]
    versions = len(card.history)
    reply = await j.submit(number_form, {"assigned_number": "020 8888 6666"}, user=SE)
    assert not reply.text.strip(), reply.text
    await wait_updated(j, card, versions)
    await j.wait_text(f"SIP 对接进度更新：*{STAGES_ZH[4]}*")
    shown = message_text(card)
    assert "020 8888 6666" in shown and "本工单已完成" in shown
    assert not [b for b in buttons(card) if b["action_id"] == ADVANCE_SIP]
    # Step 5 is complete: step 6 is prompted and the checklist shows step 5 done.
    await j.wait_prompt("console")
    assert "✅ 5. " in checklist(j) and "▶️ 6. " in checklist(j)

    # The "number assigned" button of an older card, once the ticket is done: refused.
    before = Snapshot.of(card)
    forms = len(fake.calls("views.open"))
    await press(j, card, first_button(testing_view, ADVANCE_SIP), user=SE, as_seen=testing_view)
    await refused(j, SE, "not available at the current step")
    assert before.unchanged(card) and len(fake.calls("views.open")) == forms


def buttons_in(message: JSON) -> list[JSON]:
    """The buttons of a message as Slack showed it (`fake.message_json`)."""
    return [
        dict(element, block_id=block.get("block_id"))
        for block in message.get("blocks") or []
        for element in block.get("elements") or []
        if isinstance(element, dict) and element.get("type") == "button"
    ]


def first_button(message: JSON, action_id: str) -> JSON:
    found = [b for b in buttons_in(message) if b.get("action_id") == action_id]
    assert found, f"no {action_id} in {message}"
    return found[0]


# -- Jira and the webhook -------------------------------------------------------------------------


@dataclass
class Backends:
    """The bot served with TICKET_BACKENDS=slack,jira,webhook, a fake Jira, a webhook receiver,
    a driver signing requests for that bot, and the clock the bot and the receiver share."""

    slack: SlackDriver
    jira: FakeJira
    webhook: WebhookReceiver
    service: HttpService
    clock: MovableClock

    @property
    def runner(self) -> EffectRunner:
        return self.service.services.runner


@asynccontextmanager
async def serve_backends(fake: FakeSlack, **overrides: Any) -> AsyncIterator[Backends]:
    keys = Keys(prefix=f"e2e-{uuid.uuid4().hex[:12]}")
    clock = MovableClock()
    async with (
        FakeJira(JIRA_EMAIL, JIRA_TOKEN, project="SIP") as jira,
        # The receiver checks the signature's timestamp against the bot's own time.
        WebhookReceiver(WEBHOOK_SECRET, clock) as webhook,
        served(
            fake,
            keys,
            clock,
            ticket_backends="slack,jira,webhook",
            jira_base_url=jira.url,
            jira_email=JIRA_EMAIL,
            jira_api_token=JIRA_TOKEN,
            jira_project_key="SIP",
            ticket_webhook_url=webhook.hook_url,
            ticket_webhook_secret=WEBHOOK_SECRET,
            **overrides,
        ) as (service, driver),
    ):
        yield Backends(driver, jira, webhook, service, clock)


@pytest.fixture
async def backends(fake: FakeSlack) -> AsyncIterator[Backends]:
    async with serve_backends(fake) as served_backends:
        yield served_backends


def delivery_line(card: Message) -> str:
    """The card's line on how delivery to Jira and the webhook is going."""
    return next(
        texts([b]) for b in card.blocks or [] if b["type"] == "context" and "投递状态" in texts([b])
    )


async def test_a_ticket_reaches_jira_and_a_signed_webhook(
    backends: Backends, fake: FakeSlack
) -> None:
    j = journey(backends.slack, fake)
    form = await open_sip_form(j)
    assert await submit_sip(j, form, VALID) is None
    card = await ticket_opened(j)
    ticket_id = json.loads(button_for(card, ADVANCE_SIP)["value"])["ticket"]

    # Jira: one issue, through the REST API, carrying the whole ticket.
    jira = backends.jira
    assert len(jira.creates) == 1
    (issue,) = jira.issues.values()
    assert f"onb-{ticket_id}" in issue.labels
    for value in (j.tenant or "?", "示例呼叫中心", "020 8888 6667", "[2001:db8::7]:65535"):
        assert value in issue.description, value
    for address in (TCCC_DOMAIN, *TCCC_INBOUND_IPS, *TCCC_OUTBOUND_IPS):
        assert address in issue.description, address
    # The webhook: one event, signed (checked by the receiver's own HMAC code), with every field.
    (delivery,) = backends.webhook.deliveries
    assert delivery.verdict == "accepted"
    event = delivery.json()
    assert event["event"] == "ticket.opened"
    ticket = event["ticket"]
    assert ticket["ticket_id"] == ticket_id and ticket["tenant_id"] == j.tenant
    assert ticket["numbers"] == ["02088886666", "020 8888 6667"]
    assert ticket["signalling"] == ["198.51.100.7:5060", "[2001:db8::7]:65535", "203.0.113.9:1"]
    assert ticket["contact_phone"] == "+86 138 0013 8000"
    assert ticket["tccc"]["outbound"] == list(TCCC_OUTBOUND_IPS)
    # The card says where the ticket went.
    line = delivery_line(card)
    assert issue.key in line and "Webhook：已送达" in line

    # A stage change reaches both: a Jira comment, a second signed event.
    await advance(j, card, STAGES_ZH[1])
    assert any(STAGES_ZH[1] in c for c in issue.comments)
    assert [d.json()["event"] for d in backends.webhook.deliveries] == [
        "ticket.opened",
        "ticket.stage_changed",
    ]
    assert all(d.verdict == "accepted" for d in backends.webhook.deliveries)


async def test_a_backend_that_is_down_keeps_the_ticket_pending_and_shows_it(
    backends: Backends, fake: FakeSlack
) -> None:
    backends.jira.go_down(503)
    j = journey(backends.slack, fake)
    form = await open_sip_form(j)
    assert await submit_sip(j, form, VALID) is None
    card = await ticket_opened(j)

    # Jira was tried and failed: the ticket is not lost, the SEs see it pending and why.
    assert backends.jira.requests and not backends.jira.issues
    line = delivery_line(card)
    assert "Jira：待重试 — 已尝试 1 次" in line and "503" in line, line
    assert "Webhook：已送达" in line
    # The onboarding goes on meanwhile: the customer was told, the SEs can work the ticket.
    await j.wait_text(f"SIP 对接进度更新：*{STAGES_ZH[0]}*")
    await advance(j, card, STAGES_ZH[1])
    assert "Jira：待重试" in delivery_line(card)


RETRY_TICKET = "ticket.sip.retry"
GAVE_UP_ZH = "机器人已停止投递：Jira。"


async def swept_until_done(b: Backends, tenant: str, *, timeout: float = 10.0) -> None:
    """Run the outbox sweep (what the service does every 15 s) until the tenant has nothing
    pending; a sweep running on its own schedule at the same moment only makes this wait."""
    async with asyncio.timeout(timeout):
        while tenant in await b.runner.outbox.tenants_with_pending():
            await b.runner.sweep()


async def test_a_backend_that_stays_down_is_given_up_and_the_card_tells_the_ses(
    fake: FakeSlack,
) -> None:
    async with serve_backends(fake, ticket_max_attempts=2) as b:
        b.jira.go_down(503)
        j = journey(b.slack, fake)
        form = await open_sip_form(j)
        assert await submit_sip(j, form, VALID) is None
        card = await ticket_opened(j)
        assert j.tenant is not None
        assert "Jira：待重试 — 已尝试 1 次" in delivery_line(card)
        # Owed: the tenant's ticket effects stay in the outbox, to be retried.
        assert j.tenant in await b.runner.outbox.tenants_with_pending()

        # Later, the sweep tries again; the second failure in a row is the last.
        versions = len(card.history)
        b.clock.advance(hours=2)
        await swept_until_done(b, j.tenant)
        await wait_updated(j, card, versions)

        line = delivery_line(card)
        assert "Jira：已放弃 — 共尝试 2 次，最近错误：jira search: HTTP 503" in line, line
        assert "Webhook：已送达" in line
        shown = message_text(card)
        assert GAVE_UP_ZH in shown and "手动" in shown  # what the SE does: open it by hand
        assert JIRA_TOKEN not in shown
        retry = button_for(card, RETRY_TICKET)
        assert retry["text"]["text"] == "重试"
        # Nothing is owed any more, so nothing is tried again, however long it waits.
        asked = len(b.jira.requests)
        b.clock.advance(days=1)
        await b.runner.sweep()
        assert len(b.jira.requests) == asked
        assert j.tenant not in await b.runner.outbox.tenants_with_pending()

        # Only SEs retry.
        before = Snapshot.of(card)
        await press(j, card, retry, user=MANAGER)
        await refused(j, MANAGER, "只有解决方案工程师")
        assert before.unchanged(card) and len(b.jira.requests) == asked

        # Jira is fixed; the SE presses Retry: the issue is made and the card says so.
        b.jira.come_back()
        versions = len(card.history)
        await press(j, card, retry, user=SE)
        await wait_updated(j, card, versions)
        (issue,) = b.jira.issues.values()
        assert issue.key in delivery_line(card)
        assert GAVE_UP_ZH not in message_text(card)
        assert not [x for x in buttons(card) if x["action_id"] == RETRY_TICKET]
        assert ticket_cards(j) == [card]


async def test_a_jira_that_refuses_the_ticket_is_given_up_at_once(
    backends: Backends, fake: FakeSlack
) -> None:
    backends.jira.go_down(403)
    j = journey(backends.slack, fake)
    form = await open_sip_form(j)
    assert await submit_sip(j, form, VALID) is None
    card = await ticket_opened(j)
    assert j.tenant is not None
    await swept_until_done(backends, j.tenant)  # nothing is owed: the first round gave up

    line = delivery_line(card)
    assert "Jira：被拒绝，不再重试 — jira search: HTTP 403" in line, line
    assert GAVE_UP_ZH in message_text(card)
    assert len(backends.jira.searches) == 1


# -- people's text on every surface ---------------------------------------------------------------

# Typed by the SE in `/onboard start`: characters that grow when escaped, a special mention and a
# link, which must never ping or link anywhere the company's name is shown.
HOSTILE = "Procter & Gamble <China> <!channel> <https://evil.example|点我> Ltd"
ESCAPED = (
    "Procter &amp; Gamble &lt;China&gt; &lt;!channel&gt; &lt;https://evil.example|点我&gt; Ltd"
)


def text_objects(node: object) -> list[tuple[str, str]]:
    """Every (type, text) of the text objects under `node` (blocks, a view)."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
            return [(str(node["type"]), node["text"])]
        for value in node.values():
            found += text_objects(value)
    elif isinstance(node, list):
        for value in node:
            found += text_objects(value)
    return found


async def test_a_company_name_with_markup_is_shown_as_typed_everywhere_and_never_pings(
    backends: Backends, fake: FakeSlack
) -> None:
    j = journey(backends.slack, fake)
    await j.start(HOSTILE)
    await j.through_instance()
    await j.choose_role("legal_rep")
    await upload_documents(j)
    await submit_round(j, "qualification.collecting", 1)
    await j.approve_all()
    await choose_path(j, "sip_trunk")
    prompt = await j.wait_prompt("numbers.sip_request", having='"f":"sip_trunk"')
    await j.click(prompt, lambda b: '"f":"sip_trunk"' in str(b.get("value")))
    form = fake.view_json(await j.opened_form("form.sip_trunk"))
    assert await submit_sip(j, form, VALID) is None
    await ticket_opened(j)
    # App Home (the SE's and the customer's) and a direct message.
    await j.slack.app_home_opened(SE)
    await j.slack.app_home_opened(CUSTOMER_ZH)
    await fake.wait_for("views.publish", count=2)
    dm = fake.open_im(CUSTOMER_ZH)
    await j.slack.message("进度", user_id=CUSTOMER_ZH, channel_id=dm.id, channel_type="im")
    await fake.wait_for_message(channel=dm.id)

    # Everything Slack received: messages (ephemeral too) in every channel, views, replies.
    surfaces: list[tuple[str, object]] = [
        (m.channel, {"text": m.text, "blocks": m.blocks}) for m in fake.messages()
    ]
    surfaces += [(f"view {v.id}", v.view) for v in fake.views.values()]
    surfaces += [("response_url", c.args) for c in fake.calls("response_url")]
    channels = {where for where, _ in surfaces}
    assert {CHANNEL, OPS_CHANNEL, dm.id} <= channels
    shown = 0
    for where, payload in surfaces:
        objects = text_objects(payload)
        if isinstance(payload, dict) and isinstance(payload.get("text"), str):
            objects.append(("mrkdwn", payload["text"]))  # a message's fallback is mrkdwn
        for kind, text in objects:
            assert "&amp;amp;" not in text and "&amp;lt;" not in text, (where, text)  # once
            if kind == "mrkdwn":
                assert "<!channel>" not in text, (where, text)
                assert "<https://evil.example" not in text, (where, text)
            if kind == "mrkdwn" and "Gamble" in text:
                assert ESCAPED in text, (where, text)
                shown += 1
            if kind == "plain_text" and "Gamble" in text:
                assert HOSTILE in text, (where, text)  # as typed: plain text is not markup
                shown += 1
    assert shown >= 8  # welcome, checklist, notices, review card, ticket card, Home, DM …

    # Jira and the webhook carry the name as typed, not as Slack escaped it.
    (issue,) = backends.jira.issues.values()
    assert HOSTILE in issue.description and "&amp;" not in issue.description
    (delivery,) = backends.webhook.deliveries
    assert delivery.json()["ticket"]["company"] == HOSTILE
