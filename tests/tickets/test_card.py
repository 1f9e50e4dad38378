"""The Slack card and the plain-text ticket show every item, TCCC's parameters, the progress and
the delivery status, in the ops language, from the content files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.flows.catalogue import tccc_sip_parameters
from bot.flows.model import SipStage
from bot.i18n import Catalog, Lang, require_keys
from bot.ids import ActionId
from bot.tickets import (
    DeliveryState,
    DeliveryStatus,
    TicketView,
    plain_text,
    referenced_content_keys,
)
from bot.views.ticket import ticket_card
from tests.tickets.conftest import CUSTOMER_CHANNEL, INSTANCE, make_view


def card_text(blocks: list[dict[str, Any]]) -> str:
    """Every piece of text in the blocks, as one string."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    parts.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return "\n".join(parts)


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def every_item(view: TicketView) -> list[str]:
    """The values a reader must find on any rendering of the ticket."""
    items = [
        view.ticket_id,
        view.tenant_id,
        view.carrier,
        *view.numbers,
        *view.signalling,
        view.contact_name,
        view.contact_phone,
        view.tccc.inbound,
        *view.tccc.inbound_ips,
        *view.tccc.outbound,
    ]
    items += [v for v in (view.instance_name, view.admin_email, view.media_ip_range) if v]
    return items


def test_every_content_key_the_tickets_use_exists(catalog: Catalog) -> None:
    require_keys(catalog, referenced_content_keys())


@pytest.mark.parametrize("lang", list(Lang))
def test_card_shows_every_item_and_the_tccc_parameters(catalog: Catalog, lang: Lang) -> None:
    view = make_view(catalog, instance=INSTANCE)
    message = ticket_card(view, catalog, lang, {})
    text = card_text(message["blocks"])
    for item in every_item(view):
        assert item in text, item
    header = message["blocks"][0]
    assert header["type"] == "header"
    assert view.company in header["text"]["text"] and view.ticket_id in header["text"]["text"]
    assert f"<#{CUSTOMER_CHANNEL}>" in text
    assert "<@U0CUSTOMER1>" in text
    # The parameters sit in one code block, ready to copy.
    params = tccc_sip_parameters(catalog)
    code = next(b for b in message["blocks"] if "```" in b.get("text", {}).get("text", ""))
    lines = [line.strip() for line in code["text"]["text"].split("```")[1].splitlines()]
    for value in (params.inbound, *params.inbound_ips, *params.outbound):
        assert value in lines  # one address per line, nothing else on it
    assert message["text"]  # notification fallback


def test_missing_instance_and_media_range_say_not_provided(catalog: Catalog) -> None:
    view = make_view(catalog, instance=None, media_ip_range=None)
    text = card_text(ticket_card(view, catalog, Lang.EN, {})["blocks"])
    assert text.count("not provided") == 3  # instance name, admin email, media range
    zh = card_text(ticket_card(view, catalog, Lang.ZH, {})["blocks"])
    assert zh.count("未提供") == 3


def test_progress_line_and_button_to_the_next_stage(catalog: Catalog) -> None:
    view = make_view(catalog, stage=SipStage.WHITELISTING)
    blocks = ticket_card(view, catalog, Lang.EN, {})["blocks"]
    text = card_text(blocks)
    assert "✅ Ticket submitted" in text
    assert "▶ Whitelisting IPs and ports" in text
    assert "○ Carrier handed the number to TCCC" in text
    assert "○ Number assigned to your instance" in text
    (button,) = buttons(blocks)
    assert button["action_id"] == ActionId.ADVANCE_SIP_STAGE
    assert json.loads(button["value"]) == {
        "tenant": "acme-x1y2",
        "ticket": "sip-7f3a",
        "stage": int(SipStage.CARRIER_HANDOVER),
    }
    assert "Carrier handed the number to TCCC" in button["text"]["text"]
    assert len(button["text"]["text"]) <= 75


def test_last_stage_asks_for_the_number_then_completes(catalog: Catalog) -> None:
    testing = ticket_card(make_view(catalog, stage=SipStage.TESTING), catalog, Lang.EN, {})
    (button,) = buttons(testing["blocks"])
    assert json.loads(button["value"])["stage"] == int(SipStage.NUMBER_ASSIGNED)

    done_view = make_view(
        catalog, stage=SipStage.NUMBER_ASSIGNED, assigned_number="+86 21 5555 0100"
    )
    done = ticket_card(done_view, catalog, Lang.EN, {})
    text = card_text(done["blocks"])
    assert buttons(done["blocks"]) == []
    assert "this ticket is complete" in text
    assert "○" not in text and "▶" not in text
    assert "+86 21 5555 0100" in text


def test_status_line_shows_pending_with_attempts_and_error(catalog: Catalog) -> None:
    view = make_view(catalog)
    statuses = {
        "jira": DeliveryState(attempts=3, last_error="jira create: HTTP 503"),
        "webhook": DeliveryState(status=DeliveryStatus.DELIVERED, external_id="wh-1"),
    }
    text = card_text(ticket_card(view, catalog, Lang.EN, statuses)["blocks"])
    assert "Jira: pending — attempts: 3, last error: jira create: HTTP 503" in text
    assert "Webhook: delivered" in text
    zh = card_text(ticket_card(view, catalog, Lang.ZH, statuses)["blocks"])
    assert "Jira：待重试 — 已尝试 3 次，最近错误：jira create: HTTP 503" in zh


def test_status_line_links_a_delivered_jira_issue(catalog: Catalog) -> None:
    statuses = {
        "jira": DeliveryState(
            status=DeliveryStatus.DELIVERED,
            external_id="SIP-12",
            url="https://acme.atlassian.net/browse/SIP-12",
        ),
        "webhook": DeliveryState(),
    }
    text = card_text(ticket_card(make_view(catalog), catalog, Lang.EN, statuses)["blocks"])
    assert "Jira: delivered (<https://acme.atlassian.net/browse/SIP-12|SIP-12>)" in text
    assert "Webhook: pending, not tried yet" in text


def test_customer_text_cannot_ping_or_link(catalog: Catalog) -> None:
    view = make_view(catalog, company="<!channel> <https://evil.example|click>")
    text = card_text(ticket_card(view, catalog, Lang.EN, {})["blocks"][1:])
    assert "<!channel>" not in text
    assert "&lt;!channel&gt;" in text


def test_card_respects_block_kit_limits(catalog: Catalog) -> None:
    view = make_view(catalog, company="很长的公司名" * 40, instance=INSTANCE)
    blocks = ticket_card(view, catalog, Lang.ZH, {})["blocks"]
    assert len(blocks) <= 50
    assert len(blocks[0]["text"]["text"]) <= 150
    for block in blocks:
        assert len(block.get("fields", [])) <= 10
        for item in block.get("fields", []):
            assert len(item["text"]) <= 2000


@pytest.mark.parametrize("lang", list(Lang))
def test_plain_text_carries_every_item(catalog: Catalog, lang: Lang) -> None:
    view = make_view(catalog, instance=INSTANCE)
    text = plain_text(view, catalog, lang)
    for item in every_item(view):
        assert item in text, item
    assert view.company in text
    assert "2026-03-02 08:00 UTC" in text  # opened at, in UTC
    assert "{noformat}" in text


def test_opened_time_in_slack_is_a_date_token(catalog: Catalog) -> None:
    view = make_view(catalog)
    text = card_text(ticket_card(view, catalog, Lang.EN, {})["blocks"])
    epoch = int(datetime(2026, 3, 2, 8, 0, tzinfo=UTC).timestamp())
    assert f"<!date^{epoch}^" in text


def test_a_completed_ticket_given_up_on_keeps_a_retry_button(catalog: Catalog) -> None:
    done = make_view(catalog, stage=SipStage.NUMBER_ASSIGNED, assigned_number="+86 21 5555 0100")
    given_up = DeliveryState(
        status=DeliveryStatus.DELIVERED,
        external_id="SIP-12",
        attempts=8,
        last_error="jira comment: HTTP 503",
        gave_up_at=datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
    )
    for lang, line, notice in (
        (
            Lang.EN,
            "Jira: delivered, stage update given up after 8 attempts — last error: "
            "jira comment: HTTP 503",
            "The bot stopped trying: Jira.",
        ),
        (
            Lang.ZH,
            "Jira：已送达，进度更新已放弃 — 共尝试 8 次，最近错误：jira comment: HTTP 503",
            "机器人已停止投递：Jira。",
        ),
    ):
        blocks = ticket_card(done, catalog, lang, {"jira": given_up})["blocks"]
        text = card_text(blocks)
        assert line in text and notice in text
        assert catalog.t(lang, "tickets.card.done") in text
        (button,) = buttons(blocks)
        assert button["action_id"] == ActionId.RETRY_SIP_TICKET
        assert json.loads(button["value"]) == {"tenant": "acme-x1y2", "ticket": "sip-7f3a"}


def test_an_error_on_the_card_is_escaped_once(catalog: Catalog) -> None:
    state = DeliveryState(
        status=DeliveryStatus.FAILED,
        attempts=1,
        last_error="jira create: HTTP 400: summary: <b> & co",
        gave_up_at=datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
        permanent=True,
    )
    text = card_text(ticket_card(make_view(catalog), catalog, Lang.EN, {"jira": state})["blocks"])
    assert "Jira: refused, not retried — jira create: HTTP 400: summary: &lt;b&gt; &amp; co" in text
