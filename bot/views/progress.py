"""The progress checklist: one message per tenant, updated in place as steps complete."""

from __future__ import annotations

from bot.flows.catalogue import step_spec
from bot.flows.engine import StepStatus, checklist, next_action
from bot.flows.model import Step
from bot.i18n import Catalog, Lang
from bot.mrkdwn import escape
from bot.state import TenantRecord
from bot.views.kit import Block, Message, context, section, sections
from bot.views.text import render

ICONS = {StepStatus.DONE: "✅", StepStatus.CURRENT: "▶️", StepStatus.TODO: "⚪"}


def progress_lines(record: TenantRecord, catalog: Catalog, lang: Lang) -> list[str]:
    lines = []
    for step, status in checklist(record.onboarding):
        title = catalog.t(lang, step_spec(step).title_key)
        line = f"{ICONS[status]} {step.number}. {title}"
        lines.append(f"*{line}*" if status is StepStatus.CURRENT else line)
    if record.step is Step.LIVE:
        lines.append("🎉 " + catalog.t(lang, step_spec(Step.LIVE).title_key))
    return lines


def next_action_text(record: TenantRecord, catalog: Catalog, lang: Lang) -> str:
    action = render(next_action(record.onboarding), catalog, lang)
    return catalog.t(lang, "conversation.next", action=action)


def checklist_title(record: TenantRecord, catalog: Catalog, lang: Lang) -> str:
    return catalog.t(lang, "conversation.checklist.title", company=escape(record.company))


def progress_blocks(record: TenantRecord, catalog: Catalog, lang: Lang) -> list[Block]:
    title = checklist_title(record, catalog, lang)
    lines = progress_lines(record, catalog, lang)
    return [
        *sections(title + "\n" + "\n".join(lines)),
        section(next_action_text(record, catalog, lang)),
        context(catalog.t(lang, "conversation.tenant_footer", tenant=record.tenant_id)),
    ]


def progress_message(record: TenantRecord, catalog: Catalog, lang: Lang | None = None) -> Message:
    """The checklist of the eight steps with the exact next action, in `lang` (default: the
    tenant's language)."""
    lang = lang or record.lang
    return Message.of(
        checklist_title(record, catalog, lang), progress_blocks(record, catalog, lang)
    )
