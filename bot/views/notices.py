"""Short messages: what happened, told to the customer or to the SEs."""

from __future__ import annotations

from bot.blocks import Message, context, section


def notice_message(text: str, footer: str | None = None) -> Message:
    blocks = [section(text)]
    if footer:
        blocks.append(context(footer))
    return Message.of(text, blocks)
