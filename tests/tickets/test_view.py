"""The ticket view carries everything the engineers need, from the record and the catalogue."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.flows.model import SipStage, SipTrunkRequest, SipTrunkTicket
from bot.i18n import Catalog
from bot.state.records import TenantRecord
from bot.tickets import TicketNotFound, ticket_view_from_record
from tests.tickets.conftest import INSTANCE, T0, make_view

# DOMAIN.md, "TCCC's SIP parameters" (pinned here too: the ticket is where they matter most).
SIP_INBOUND = "sip.pstn.avc.qcloud.com:5089"
SIP_INBOUND_IPS = ("139.199.233.98:5089", "114.221.144.81:5089")
SIP_OUTBOUND = (
    "139.199.4.25:5089",
    "203.195.240.224:5089",
    "129.211.167.158:5089",
    "129.211.167.34:5089",
    "129.211.166.16:5089",
    "129.204.27.73:5089",
)


def test_view_carries_the_request_instance_and_tccc_parameters(catalog: Catalog) -> None:
    view = make_view(catalog, instance=INSTANCE)
    assert view.instance_name == "Acme 客服中心"
    assert view.admin_email == "admin@acme.example"
    assert view.carrier == "中国电信 China Telecom"
    assert view.numbers == ("+86 21 5555 0100", "+86 21 5555 0101")
    assert view.signalling == ("198.51.100.7:5060", "[2001:db8::7]:5061")
    assert view.media_ip_range == "203.0.113.0/24"
    assert (view.contact_name, view.contact_phone) == ("王工 Wang", "+86 138 0013 8000")
    assert view.tccc.inbound == SIP_INBOUND
    assert view.tccc.inbound_ips == SIP_INBOUND_IPS
    assert view.tccc.outbound == SIP_OUTBOUND
    assert view.stage is SipStage.SUBMITTED
    assert view.opened_at == T0 - timedelta(hours=1)


def test_skipped_instance_step_and_blank_media_range_are_absent(catalog: Catalog) -> None:
    view = make_view(catalog, instance=None, media_ip_range="   ")
    assert view.instance_name is None
    assert view.admin_email is None
    assert view.media_ip_range is None


@pytest.mark.parametrize(
    ("stage", "following"),
    [
        (SipStage.SUBMITTED, SipStage.WHITELISTING),
        (SipStage.TESTING, SipStage.NUMBER_ASSIGNED),
        (SipStage.NUMBER_ASSIGNED, None),
    ],
)
def test_next_stage(catalog: Catalog, stage: SipStage, following: SipStage | None) -> None:
    view = make_view(catalog, stage=stage)
    assert view.next_stage is following
    assert view.is_complete is (following is None)


def test_json_form_names_the_stage(catalog: Catalog) -> None:
    data = make_view(catalog, stage=SipStage.CARRIER_HANDOVER).model_dump(mode="json")
    assert data["stage"] == 3
    assert data["stage_name"] == "carrier_handover"
    assert data["tccc"]["outbound"] == list(SIP_OUTBOUND)


def _record_with_ticket(catalog: Catalog) -> TenantRecord:
    record = TenantRecord.new(
        tenant_id="acme-x1y2", company="Acme", channel_id="C0ACME", created_by="U0CUSTOMER1"
    )
    view = make_view(catalog)
    ticket = SipTrunkTicket(
        ticket_id=view.ticket_id,
        request=SipTrunkRequest(
            carrier=view.carrier,
            numbers=list(view.numbers),
            signalling=list(view.signalling),
            media_ip_range=None,
            contact_name=view.contact_name,
            contact_phone=view.contact_phone,
        ),
        opened_by="U0CUSTOMER1",
        opened_at=T0,
    )
    onboarding = record.onboarding.model_copy(update={"sip": ticket, "instance": INSTANCE})
    return record.model_copy(update={"onboarding": onboarding})


def test_view_from_record(catalog: Catalog) -> None:
    record = _record_with_ticket(catalog)
    view = ticket_view_from_record(record, catalog, "sip-7f3a")
    assert (view.tenant_id, view.company, view.channel_id) == ("acme-x1y2", "Acme", "C0ACME")
    assert view.instance_name == INSTANCE.call_center_name
    assert view.tccc.inbound == SIP_INBOUND


def test_view_from_record_refuses_another_ticket(catalog: Catalog) -> None:
    record = _record_with_ticket(catalog)
    with pytest.raises(TicketNotFound):
        ticket_view_from_record(record, catalog, "sip-other")
    bare = TenantRecord.new(
        tenant_id="acme-x1y2", company="Acme", channel_id="C0ACME", created_by="U0CUSTOMER1"
    )
    with pytest.raises(TicketNotFound):
        ticket_view_from_record(bare, catalog)
