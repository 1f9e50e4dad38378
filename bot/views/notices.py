"""Short messages: what happened, told to the customer or to the SEs."""

from __future__ import annotations

from bot.views.kit import Block, Message, context, sections


def notice_message(text: str, footer: str | None = None) -> Message:
    """`text` (mrkdwn, user values already escaped), with an optional context line under it."""
    blocks: list[Block] = [*sections(text)]
    if footer:
        blocks.append(context(footer))
    return Message.of(text, blocks)
