"""Short messages: what happened, told to the customer or to the SEs."""

from __future__ import annotations

from bot.i18n import Catalog, Lang
from bot.mrkdwn import escape
from bot.state import TenantRecord
from bot.views.kit import Block, Message, context, sections


def notice_message(text: str, footer: str | None = None) -> Message:
    """`text` (mrkdwn, user values already escaped), with an optional context line under it."""
    blocks: list[Block] = [*sections(text)]
    if footer:
        blocks.append(context(footer))
    return Message.of(text, blocks)


def ops_notice(record: TenantRecord, text: str, catalog: Catalog, lang: Lang) -> Message:
    """A notice for the SEs, with a footer naming the company, tenant and channel."""
    footer = catalog.t(
        lang,
        "conversation.ops_footer",
        company=escape(record.company),
        tenant=record.tenant_id,
        channel=record.channel_id,
    )
    return notice_message(text, footer)
