"""The ticket as labelled fields, rendered for Slack mrkdwn or for plain text (Jira).

One list of fields serves every backend, so no backend can leave an item out. A `Style` decides
only how a value looks (a Slack mention or a plain user id, a Slack date token or ISO time).
All labels come from the content (`tickets.*`, `sip.*`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from bot.flows.catalogue import SIP_PARAMETER_LABEL_KEYS, sip_stage_key
from bot.flows.model import SipStage
from bot.i18n import Catalog, Lang
from bot.mrkdwn import escape
from bot.tickets.view import TicketView

FIELD_KEYS = (
    "tickets.fields.ticket_id",
    "tickets.fields.company",
    "tickets.fields.tenant",
    "tickets.fields.channel",
    "tickets.fields.instance_name",
    "tickets.fields.admin_email",
    "tickets.fields.stage",
    "tickets.fields.assigned_number",
    "tickets.fields.carrier",
    "tickets.fields.numbers",
    "tickets.fields.signalling",
    "tickets.fields.media_ip_range",
    "tickets.fields.contact",
    "tickets.fields.opened",
)
NOT_PROVIDED_KEY = "tickets.values.not_provided"
NOT_YET_KEY = "tickets.values.not_yet"
CONTACT_KEY = "tickets.values.contact"
OPENED_KEY = "tickets.values.opened"
TCCC_TITLE_KEY = "tickets.tccc.title"


class Style(Protocol):
    def text(self, value: str) -> str: ...
    def user(self, user_id: str) -> str: ...
    def channel(self, channel_id: str) -> str: ...
    def time(self, when: datetime) -> str: ...


class PlainStyle:
    """For Jira and other plain-text readers: ids stay ids, times are UTC."""

    def text(self, value: str) -> str:
        return value

    def user(self, user_id: str) -> str:
        return f"Slack {user_id}"

    def channel(self, channel_id: str) -> str:
        return f"Slack {channel_id}"

    def time(self, when: datetime) -> str:
        return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


class SlackStyle:
    """For Block Kit mrkdwn: customer text escaped, mentions and dates as Slack renders them."""

    def text(self, value: str) -> str:
        return escape(value)

    def user(self, user_id: str) -> str:
        return f"<@{user_id}>"

    def channel(self, channel_id: str) -> str:
        return f"<#{channel_id}>"

    def time(self, when: datetime) -> str:
        # Each reader sees the time in their own time zone; the fallback is UTC.
        fallback = PlainStyle().time(when)
        return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


@dataclass(frozen=True)
class Field:
    label: str
    value: str


def stage_label(catalog: Catalog, lang: Lang, stage: SipStage) -> str:
    return catalog.t(lang, sip_stage_key(stage))


def ticket_fields(view: TicketView, catalog: Catalog, lang: Lang, style: Style) -> list[Field]:
    """Every item of the ticket except TCCC's parameters (see `tccc_lines`), labelled."""

    def label(name: str) -> str:
        return catalog.t(lang, f"tickets.fields.{name}")

    def optional(value: str | None, missing_key: str = NOT_PROVIDED_KEY) -> str:
        return style.text(value) if value else catalog.t(lang, missing_key)

    def listed(values: Sequence[str]) -> str:
        return ", ".join(style.text(v) for v in values) if values else optional(None)

    contact = catalog.t(
        lang,
        CONTACT_KEY,
        name=style.text(view.contact_name),
        phone=style.text(view.contact_phone),
    )
    opened = catalog.t(
        lang, OPENED_KEY, user=style.user(view.opened_by), when=style.time(view.opened_at)
    )
    return [
        Field(label("ticket_id"), style.text(view.ticket_id)),
        Field(label("company"), style.text(view.company)),
        Field(label("tenant"), style.text(view.tenant_id)),
        Field(label("channel"), style.channel(view.channel_id)),
        Field(label("instance_name"), optional(view.instance_name)),
        Field(label("admin_email"), optional(view.admin_email)),
        Field(label("stage"), stage_label(catalog, lang, view.stage)),
        Field(label("assigned_number"), optional(view.assigned_number, NOT_YET_KEY)),
        Field(label("carrier"), style.text(view.carrier)),
        Field(label("numbers"), listed(view.numbers)),
        Field(label("signalling"), listed(view.signalling)),
        Field(label("media_ip_range"), optional(view.media_ip_range)),
        Field(label("contact"), contact),
        Field(label("opened"), opened),
    ]


def tccc_lines(view: TicketView, catalog: Catalog, lang: Lang) -> list[str]:
    """TCCC's SIP parameters: each label, then its addresses one per line, so an engineer can
    copy them straight into a whitelist."""
    inbound_key, inbound_ips_key, outbound_key = SIP_PARAMETER_LABEL_KEYS
    params = view.tccc
    lines: list[str] = []
    for key, values in (
        (inbound_key, (params.inbound,)),
        (inbound_ips_key, params.inbound_ips),
        (outbound_key, params.outbound),
    ):
        lines.append(f"{catalog.t(lang, key)}:")
        lines += [f"  {value}" for value in values]
    return lines


def plain_text(view: TicketView, catalog: Catalog, lang: Lang) -> str:
    """The whole ticket as readable text (the Jira description; Jira wiki markup for the
    parameter block, which reads fine as plain text too)."""
    lines = [catalog.t(lang, "tickets.text.title", ticket_id=view.ticket_id, company=view.company)]
    lines.append("")
    lines += [f"{f.label}: {f.value}" for f in ticket_fields(view, catalog, lang, PlainStyle())]
    lines += ["", catalog.t(lang, TCCC_TITLE_KEY), "{noformat}"]
    lines += tccc_lines(view, catalog, lang)
    lines += ["{noformat}", "", catalog.t(lang, "tickets.text.footer")]
    return "\n".join(lines)


def progress_marks(view: TicketView, catalog: Catalog, lang: Lang) -> list[str]:
    """Each stage with ✅ done / ▶ current / ○ to do; the last stage reached means all done."""
    marks = []
    for stage in SipStage:
        if stage < view.stage or view.is_complete:
            key = "tickets.progress.done"
        elif stage == view.stage:
            key = "tickets.progress.current"
        else:
            key = "tickets.progress.todo"
        marks.append(catalog.t(lang, key, stage=stage_label(catalog, lang, stage)))
    return marks
