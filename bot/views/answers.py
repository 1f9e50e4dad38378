"""Answers to questions asked in a mention or a direct message."""

from __future__ import annotations

from bot.flows.engine import missing_documents, rejected_documents
from bot.i18n import Catalog, Lang
from bot.state import TenantRecord
from bot.views.help import help_blocks
from bot.views.kit import Message, context, section, sections
from bot.views.prompts import document_line


def missing_documents_answer(record: TenantRecord, catalog: Catalog, lang: Lang) -> Message:
    """The documents still to upload (rejected ones first), each with its links."""
    ob = record.onboarding
    if ob.role is None:
        return Message.plain_text(catalog.t(lang, "conversation.answers.no_role"))
    missing = missing_documents(ob)
    rejected = rejected_documents(ob)
    if not missing and not rejected:
        return Message.plain_text(catalog.t(lang, "conversation.answers.nothing_missing"))
    lines = [document_line(catalog, lang, ob.role, kind) for kind in (*rejected, *missing)]
    title = catalog.t(lang, "conversation.answers.missing", count=len(lines))
    return Message.of(
        title,
        [
            *sections(title + "\n" + "\n".join(lines)),
            context(catalog.t(lang, "conversation.prompt.upload_hint")),
        ],
    )


def help_answer(catalog: Catalog, lang: Lang, subcommands: list[str], *, unknown: bool) -> Message:
    """What the bot can help with: a greeting (or "I can't answer that"), the commands, and
    examples of questions."""
    intro = catalog.t(lang, "conversation.answers.unknown" if unknown else "mention.greeting")
    blocks = [
        section(intro),
        *help_blocks(catalog, lang, subcommands),
        context(catalog.t(lang, "conversation.answers.examples")),
    ]
    return Message.of(intro + "\n" + catalog.t(lang, "help.title"), blocks)
