"""Replies about an uploaded file, in its thread: the verdict, or a menu asking which document
it is."""

from __future__ import annotations

from collections.abc import Sequence

from bot.documents.precheck import (
    FINDINGS_CHOOSE_KEY,
    FINDINGS_INTRO_KEY,
    SEND_ANYWAY_KEY,
    UPLOAD_AGAIN_KEY,
    finding_key,
)
from bot.flows.catalogue import document_spec, documents_for
from bot.flows.model import DocKind
from bot.i18n import Catalog, Lang
from bot.ids import ActionId
from bot.state import TenantRecord
from bot.views.kit import Message, actions, button, context, option, sections, static_select
from bot.views.reviews import ReviewRef


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


def findings_reply(
    catalog: Catalog,
    lang: Lang,
    ref: ReviewRef,
    kind: DocKind,
    findings: Sequence[str],
    received: str,
) -> Message:
    """The reply to an upload the pre-check found problems with: what was received
    (`received`, mrkdwn), what looks wrong, and the two ways on."""
    document = catalog.t(lang, document_spec(kind).name_key)
    lines = [catalog.t(lang, FINDINGS_INTRO_KEY, document=document)]
    lines += [catalog.t(lang, finding_key(finding)) for finding in findings]
    text = "\n".join([received, "", *lines])
    value = ref.encode()
    buttons = actions(
        [
            button(catalog.t(lang, UPLOAD_AGAIN_KEY), ActionId.UPLOAD_AGAIN, value),
            button(catalog.t(lang, SEND_ANYWAY_KEY), ActionId.SEND_ANYWAY, value, style="primary"),
        ],
        block_id=f"findings:{kind.value}:{ref.r}",
    )
    return Message.of(
        text, [*sections(text), context(catalog.t(lang, FINDINGS_CHOOSE_KEY)), buttons]
    )


def findings_settled(shown: str, note: str) -> Message:
    """The findings reply once the document was sent anyway: what it said (`shown`, the
    message's own mrkdwn) and who sent it, the buttons gone."""
    text = f"{shown}\n\n{note}"
    return Message.of(text, sections(text))
