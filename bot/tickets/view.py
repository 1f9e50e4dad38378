"""`TicketView`: everything a SIP-trunk ticket carries, in one flat, frozen value.

Every backend renders from this value and nothing else, so the Slack card, the Jira issue and the
webhook event cannot disagree about what the ticket says. The builder takes plain values rather
than the stored tenant record, so it is easy to test and does not change when the record does;
`ticket_view_from_record` is the thin adapter the effect runner uses.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, computed_field

from bot.flows.catalogue import SipParameters, tccc_sip_parameters
from bot.flows.model import InstanceInfo, SipStage, SipTrunkTicket
from bot.i18n import Catalog
from bot.state.records import TenantRecord


class TicketNotFound(LookupError):
    """The tenant has no SIP-trunk ticket with this id (resubmitted, or never opened)."""

    def __init__(self, tenant_id: str, ticket_id: str) -> None:
        super().__init__(f"tenant {tenant_id!r} has no SIP-trunk ticket {ticket_id!r}")
        self.tenant_id = tenant_id
        self.ticket_id = ticket_id


class TicketView(BaseModel):
    model_config = ConfigDict(frozen=True)

    ticket_id: str
    tenant_id: str
    company: str
    channel_id: str  # the tenant's Slack channel
    # Step 3's values; None when an SE skipped that step (shown as "not provided").
    instance_name: str | None
    admin_email: str | None
    # The customer's SIP-trunk request.
    carrier: str
    numbers: tuple[str, ...]
    signalling: tuple[str, ...]  # the carrier's "ip:port" list
    media_ip_range: str | None
    contact_name: str
    contact_phone: str
    # TCCC's side, which the carrier must whitelist.
    tccc: SipParameters
    stage: SipStage
    opened_by: str  # Slack user id
    opened_at: datetime
    assigned_number: str | None

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented pattern
    @property
    def stage_name(self) -> str:
        """The stage's stable name (`whitelisting`), for receivers that prefer names to numbers."""
        return self.stage.name.lower()

    @property
    def next_stage(self) -> SipStage | None:
        """The stage an SE can move the ticket to, or None when it is complete."""
        following = [s for s in SipStage if s > self.stage]
        return following[0] if following else None

    @property
    def is_complete(self) -> bool:
        return self.next_stage is None


def ticket_view(
    *,
    tenant_id: str,
    company: str,
    channel_id: str,
    instance: InstanceInfo | None,
    ticket: SipTrunkTicket,
    sip_parameters: SipParameters,
) -> TicketView:
    request = ticket.request
    media = request.media_ip_range.strip() if request.media_ip_range else None
    return TicketView(
        ticket_id=ticket.ticket_id,
        tenant_id=tenant_id,
        company=company,
        channel_id=channel_id,
        instance_name=instance.call_center_name if instance else None,
        admin_email=instance.admin_email if instance else None,
        carrier=request.carrier,
        numbers=tuple(request.numbers),
        signalling=tuple(request.signalling),
        media_ip_range=media or None,
        contact_name=request.contact_name,
        contact_phone=request.contact_phone,
        tccc=sip_parameters,
        stage=ticket.stage,
        opened_by=ticket.opened_by,
        opened_at=ticket.opened_at,
        assigned_number=ticket.assigned_number,
    )


def ticket_view_from_record(
    record: TenantRecord, catalog: Catalog, ticket_id: str | None = None
) -> TicketView:
    """The view of the tenant's current ticket; `ticket_id` guards against a resubmitted one."""
    ticket = record.onboarding.sip
    if ticket is None or (ticket_id is not None and ticket.ticket_id != ticket_id):
        raise TicketNotFound(record.tenant_id, ticket_id or "")
    return ticket_view(
        tenant_id=record.tenant_id,
        company=record.company,
        channel_id=record.channel_id,
        instance=record.onboarding.instance,
        ticket=ticket,
        sip_parameters=tccc_sip_parameters(catalog),
    )
