"""What a user can do: the subcommands they may run, and examples of what to ask."""

from __future__ import annotations

from bot.i18n import Catalog, Lang
from bot.views.kit import Block, Message, context, section, sections


def help_blocks(catalog: Catalog, lang: Lang, subcommands: list[str]) -> list[Block]:
    lines = [catalog.t(lang, f"help.commands.{name}") for name in subcommands]
    title = catalog.t(lang, "help.title")
    return [
        *sections(title + "\n" + "\n".join(f"• {line}" for line in lines)),
        context(catalog.t(lang, "help.footer")),
    ]


def help_message(
    catalog: Catalog, lang: Lang, subcommands: list[str], *, hint: str | None = None
) -> Message:
    """The list of subcommands this user can run, optionally after a one-line hint."""
    title = catalog.t(lang, "help.title")
    blocks: list[Block] = [section(hint)] if hint else []
    blocks += help_blocks(catalog, lang, subcommands)
    return Message.of(f"{hint}\n{title}" if hint else title, blocks)
