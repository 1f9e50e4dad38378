"""Block Kit builders: one function per kind of message. Text comes from the content files."""

from __future__ import annotations

from typing import Any

from bot.i18n import Catalog, Lang

Block = dict[str, Any]

# Slack refuses a section text over 3000 characters and more than 50 blocks per message.
SECTION_LIMIT = 3000


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT]}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:SECTION_LIMIT]}]}


class Message(dict[str, Any]):
    """Keyword arguments for `chat.postMessage` / `ack` / `respond`: `text` plus `blocks`.

    `text` is the notification and screen-reader fallback, so it is always set.
    """

    @classmethod
    def of(cls, text: str, blocks: list[Block]) -> Message:
        return cls(text=text[:SECTION_LIMIT], blocks=blocks)


def help_message(
    catalog: Catalog, lang: Lang, subcommands: list[str], *, hint: str | None = None
) -> Message:
    """The list of subcommands this user can run, optionally after a one-line hint."""
    lines = [catalog.t(lang, f"help.commands.{name}") for name in subcommands]
    title = catalog.t(lang, "help.title")
    blocks: list[Block] = []
    if hint:
        blocks.append(section(hint))
    blocks.append(section(title + "\n" + "\n".join(f"• {line}" for line in lines)))
    blocks.append(context(catalog.t(lang, "help.footer")))
    text = f"{hint}\n{title}" if hint else title
    return Message.of(text, blocks)


def header(text: str) -> Block:
    # Header blocks take plain text of at most 150 characters.
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150], "emoji": True}}


def divider() -> Block:
    return {"type": "divider"}


def button(
    text: str, action_id: str, value: str, *, style: str | None = None, url: str | None = None
) -> Block:
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text[:75], "emoji": True},
        "action_id": action_id,
        "value": value[:2000],
    }
    if style:
        element["style"] = style
    if url:
        element["url"] = url
    return element


def actions(elements: list[Block], block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": elements[:25]}
    if block_id:
        block["block_id"] = block_id
    return block


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text[:75]), "value": value[:150]}
