"""App Home: the customer's progress, an SE's tenants (stalled first), a manager's summary."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.flows.catalogue import step_spec
from bot.flows.model import Step
from bot.i18n import Catalog, Lang
from bot.mrkdwn import escape
from bot.stalls.policy import StallPolicy
from bot.state import TenantRecord
from bot.views.kit import (
    Block,
    context,
    header,
    home,
    pack,
    packed_sections,
    section,
)
from bot.views.progress import next_action_text, progress_blocks
from bot.views.stalls import duration_text

# Tenants are packed several to a section; a Home view holds at most 100 blocks, and the
# header, counts and the "more" line take three.
MAX_TENANT_SECTIONS = 96


def customer_home(
    record: TenantRecord | None,
    catalog: Catalog,
    lang: Lang,
    extra: Sequence[Block] = (),
) -> dict[str, Any]:
    """The customer's progress, then `extra` (the cloud API key's state and button)."""
    blocks: list[Block] = [header(catalog.t(lang, "conversation.home.title"))]
    if record is None:
        blocks.append(section(catalog.t(lang, "conversation.home.no_tenant")))
    else:
        blocks += progress_blocks(record, catalog, lang)
        blocks += extra
    return home(blocks)


def se_home(
    records: list[TenantRecord],
    catalog: Catalog,
    lang: Lang,
    now: datetime,
    policy: StallPolicy,
) -> dict[str, Any]:
    """The SE's tenants, the stalled ones first (oldest activity first), each with its next step
    and how long it has been without progress (in business time)."""
    active = [r for r in records if r.step is not Step.LIVE]
    active.sort(key=lambda r: (r.stall is None, r.last_activity_at))
    live = len(records) - len(active)
    blocks: list[Block] = [
        header(catalog.t(lang, "conversation.home.se_title")),
        context(catalog.t(lang, "conversation.home.se_counts", active=len(active), live=live)),
    ]
    if not active:
        blocks.append(section(catalog.t(lang, "conversation.home.se_none")))
    entries = []
    for record in active:
        stalled = record.stall is not None
        title = catalog.t(lang, step_spec(record.step).title_key)
        line = catalog.t(
            lang,
            "conversation.home.tenant_line",
            company=escape(record.company),
            tenant=record.tenant_id,
            channel=record.channel_id,
            number=record.step.number,
            step=title,
            age=duration_text(catalog, lang, policy.stalled_for(record.last_activity_at, now)),
        )
        if stalled:
            line = "⚠️ " + catalog.t(lang, "conversation.home.stalled") + " · " + line
        entries.append(line + "\n" + next_action_text(record, catalog, lang))
    groups = pack(entries)
    blocks += packed_sections(groups[:MAX_TENANT_SECTIONS])
    hidden = sum(len(group) for group in groups[MAX_TENANT_SECTIONS:])
    if hidden:
        blocks.append(context(catalog.t(lang, "conversation.home.more", count=hidden)))
    return home(blocks)
