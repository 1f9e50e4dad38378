"""Review cards in the ops channel (documents, call script) and the SEs' forms."""

from __future__ import annotations

import json
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.documents import finding_short_key, format_size
from bot.flows.catalogue import document_spec, documents_for, role_name_key
from bot.flows.errors import InputField
from bot.flows.model import Document, Verdict
from bot.i18n import Catalog, Lang
from bot.ids import TENANT_ID_PATTERN, ActionId, CallbackId, is_tenant_id
from bot.mrkdwn import escape
from bot.state import TenantRecord
from bot.views.forms import View, modal, text_input
from bot.views.kit import (
    Block,
    Message,
    actions,
    button,
    context,
    divider,
    header,
    section,
    sections,
    shorten,
)
from bot.views.refs import FormMeta

# Slack shows at most 3000 characters in a section; longer scripts are cut on the card.
SCRIPT_PREVIEW = 2500


class ReviewRef(BaseModel):
    """What a verdict button carries: the tenant, the document (or none for the script), and
    the revision the reviewer is looking at, so a verdict on a replaced file is refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    t: str = Field(pattern=TENANT_ID_PATTERN)
    k: str | None = Field(default=None, max_length=64)
    r: int = Field(ge=1)

    def encode(self) -> str:
        return self.model_dump_json(exclude_none=True)


def parse_review(value: str | None) -> ReviewRef | None:
    try:
        return ReviewRef.model_validate_json(value or "")
    except ValidationError:
        return None


def _verdict_line(
    catalog: Catalog, lang: Lang, verdict: Verdict, by: str | None, reason: str | None
) -> str:
    if verdict is Verdict.APPROVED:
        return catalog.t(lang, "reviews.approved_by", user=f"<@{by}>" if by else "-")
    if verdict is Verdict.REJECTED:
        return catalog.t(
            lang, "reviews.rejected_by", user=f"<@{by}>" if by else "-", reason=escape(reason or "")
        )
    return catalog.t(lang, "reviews.pending")


def _document_block(
    record: TenantRecord, doc: Document, catalog: Catalog, lang: Lang, permalink: str | None
) -> list[Block]:
    name = catalog.t(lang, document_spec(doc.kind).name_key)
    file_name = escape(doc.name)
    file_text = f"<{permalink}|{file_name}>" if permalink else file_name
    details = catalog.t(
        lang,
        "reviews.document_details",
        file=file_text,
        type=doc.mimetype,
        size=format_size(doc.size),
        uploader=f"<@{doc.uploaded_by}>",
        revision=doc.revision,
        sha=doc.sha256[:12],
    )
    verdict = _verdict_line(catalog, lang, doc.verdict, doc.reviewed_by, doc.reason)
    lines = [f"*{name}*", details]
    if doc.findings:
        found = catalog.t(lang, "reviews.list_separator").join(
            catalog.t(lang, finding_short_key(f)) for f in doc.findings
        )
        key = "reviews.findings_waiting" if doc.awaits_customer else "reviews.findings_sent"
        lines.append(catalog.t(lang, key, findings=found))
    if doc.rejected_before is not None:
        # A replacement of a file the reviewer turned down: say so, with what was wrong.
        lines.append(
            catalog.t(
                lang,
                "reviews.new_version",
                revision=doc.revision,
                reason=escape(doc.rejected_before),
            )
        )
    lines.append(verdict)
    blocks: list[Block] = [*sections("\n".join(lines))]
    if doc.verdict is Verdict.PENDING and not doc.awaits_customer:
        ref = ReviewRef(t=record.tenant_id, k=doc.kind.value, r=doc.revision).encode()
        blocks.append(
            actions(
                [
                    button(
                        catalog.t(lang, "reviews.approve"),
                        ActionId.APPROVE_DOCUMENT,
                        ref,
                        style="primary",
                    ),
                    button(
                        catalog.t(lang, "reviews.reject"),
                        ActionId.REJECT_DOCUMENT,
                        ref,
                        style="danger",
                    ),
                ],
                block_id=f"review:{doc.kind.value}:{doc.revision}",
            )
        )
    return blocks


def document_review_card(
    record: TenantRecord, round_: int, catalog: Catalog, lang: Lang, permalinks: Mapping[str, str]
) -> Message:
    """One card per submission round: each document with its file, and verdict buttons."""
    ob = record.onboarding
    title = catalog.t(lang, "reviews.documents_title", company=record.company, round=round_)
    fallback = catalog.t(
        lang, "reviews.documents_title", company=escape(record.company), round=round_
    )
    role = catalog.t(lang, role_name_key(ob.role)) if ob.role else "-"
    blocks: list[Block] = [
        header(title),
        context(
            catalog.t(
                lang,
                "reviews.documents_context",
                tenant=record.tenant_id,
                channel=record.channel_id,
                role=role,
            )
        ),
    ]
    kinds = documents_for(ob.role) if ob.role else tuple(ob.documents)
    for kind in kinds:
        doc = ob.documents.get(kind)
        if doc is None:
            continue
        blocks += _document_block(record, doc, catalog, lang, permalinks.get(doc.file_id))
        blocks.append(divider())
    approved = sum(
        1 for k in kinds if k in ob.documents and ob.documents[k].verdict is Verdict.APPROVED
    )
    blocks.append(
        context(catalog.t(lang, "reviews.documents_tally", approved=approved, total=len(kinds)))
    )
    return Message.of(fallback, blocks)


def script_review_card(
    record: TenantRecord, catalog: Catalog, lang: Lang, permalink: str | None
) -> Message:
    script = record.onboarding.script
    title = catalog.t(lang, "reviews.script_title", company=record.company)
    fallback = catalog.t(lang, "reviews.script_title", company=escape(record.company))
    blocks: list[Block] = [
        header(title),
        context(
            catalog.t(
                lang, "reviews.script_context", tenant=record.tenant_id, channel=record.channel_id
            )
        ),
    ]
    if script is None:
        return Message.of(fallback, blocks)
    if script.text:
        # Backticks would end the code block early; the cut never splits an entity.
        body = shorten(escape(script.text).replace("```", "ˋˋˋ"), SCRIPT_PREVIEW)
        blocks.append(section(f"```{body}```"))
    if script.file_id:
        name = escape(script.file_name or script.file_id)
        blocks.append(
            section(
                catalog.t(
                    lang, "reviews.script_file", file=f"<{permalink}|{name}>" if permalink else name
                )
            )
        )
    blocks.append(context(catalog.t(lang, "reviews.script_revision", revision=script.revision)))
    blocks.append(
        section(_verdict_line(catalog, lang, script.verdict, script.reviewed_by, script.reason))
    )
    if script.verdict is Verdict.PENDING:
        ref = ReviewRef(t=record.tenant_id, r=script.revision).encode()
        blocks.append(
            actions(
                [
                    button(
                        catalog.t(lang, "reviews.approve"),
                        ActionId.APPROVE_SCRIPT,
                        ref,
                        style="primary",
                    ),
                    button(
                        catalog.t(lang, "reviews.reject"),
                        ActionId.REJECT_SCRIPT,
                        ref,
                        style="danger",
                    ),
                ],
                block_id=f"review:script:{script.revision}",
            )
        )
    return Message.of(fallback, blocks)


def reject_form(
    catalog: Catalog, lang: Lang, meta: FormMeta, callback: CallbackId, what: str
) -> View:
    blocks = [
        section(catalog.t(lang, "reviews.reject_intro", what=what)),
        text_input(
            catalog.t(lang, "flow.fields.reason"),
            InputField.REASON,
            multiline=True,
            max_length=500,
            hint=catalog.t(lang, "reviews.reason_hint"),
        ),
    ]
    return modal(catalog, lang, callback, "reviews.reject_title", meta, blocks)


def assigned_number_form(catalog: Catalog, lang: Lang, meta: FormMeta) -> View:
    blocks = [
        section(catalog.t(lang, "reviews.assigned_intro")),
        text_input(
            catalog.t(lang, "flow.fields.assigned_number"),
            InputField.ASSIGNED_NUMBER,
            max_length=30,
        ),
    ]
    return modal(
        catalog, lang, CallbackId.SIP_NUMBER_ASSIGNED, "reviews.assigned_title", meta, blocks
    )


def stage_value(value: str | None) -> tuple[str, str, int] | None:
    """The ticket card's advance button: (tenant, ticket, stage)."""
    try:
        data = json.loads(value or "")
        found = str(data["tenant"]), str(data["ticket"]), int(data["stage"])
    except (ValueError, KeyError, TypeError):
        return None
    return found if is_tenant_id(found[0]) else None
