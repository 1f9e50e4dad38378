"""Replies about an uploaded file, in its thread: the verdict, or a menu asking which document
it is."""

from __future__ import annotations

from bot.flows.catalogue import document_spec, documents_for
from bot.i18n import Catalog
from bot.ids import ActionId
from bot.state import TenantRecord
from bot.views.kit import Message, actions, option, sections, static_select


def pick_value(tenant_id: str, file_id: str, kind: str) -> str:
    """What a menu option carries: the tenant, the file and the document it is."""
    return f"{tenant_id}|{file_id}|{kind}"


def pick_menu(catalog: Catalog, record: TenantRecord, file_id: str, prompt: str) -> Message:
    """Ask which of the applicant's documents a file is (`prompt` is mrkdwn, escaped)."""
    assert record.onboarding.role is not None
    lang = record.lang
    options = [
        option(
            catalog.t(lang, document_spec(kind).name_key),
            pick_value(record.tenant_id, file_id, kind.value),
        )
        for kind in documents_for(record.onboarding.role)
    ]
    menu = static_select(
        ActionId.PICK_DOCUMENT.value, catalog.t(lang, "conversation.uploads.pick"), options
    )
    return Message.of(prompt, [*sections(prompt), actions([menu])])
