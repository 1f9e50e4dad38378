"""Whether an inspected upload can become one of the tenant's documents, and its record.

Pure functions of the onboarding: they decide and describe, the flow (`AddDocument`) writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.documents.fetch import InspectedFile
from bot.documents.formats import format_size
from bot.flows.catalogue import document_spec, documents_for, role_name_key
from bot.flows.effects import MessageRef
from bot.flows.machine import leaf
from bot.flows.model import DocKind, Document, Onboarding, Verdict
from bot.flows.validate import TEXT_MAX

# While the documents are in review, a rejected (or not yet reviewed) one can be replaced.
REVIEW_STAGE = "qualification.review"

ASK_WHICH_KEY = "uploads.ask_which"  # {name}: the menu's prompt when `classify` cannot tell
NO_ROLE_YET_KEY = "uploads.no_role_yet"  # no placeholders

_ACCEPTED = "uploads.accepted"
_ACCEPTED_ALL = "uploads.accepted_all"
_REPLACED = "uploads.replaced"
_REPLACED_ALL = "uploads.replaced_all"
_REPLACED_IN_REVIEW = "uploads.replaced_in_review"
_REPLACED_IN_REVIEW_MORE = "uploads.replaced_in_review_more"
_ALREADY_APPROVED = "uploads.rejected.already_approved"
_NOT_REQUIRED = "uploads.rejected.not_required"
_DUPLICATE = "uploads.rejected.duplicate"
_DUPLICATE_SAME = "uploads.rejected.duplicate_same"
_DUPLICATE_REJECTED = "uploads.rejected.duplicate_rejected"

CHECK_KEYS = frozenset(
    {
        ASK_WHICH_KEY,
        NO_ROLE_YET_KEY,
        _ACCEPTED,
        _ACCEPTED_ALL,
        _REPLACED,
        _REPLACED_ALL,
        _REPLACED_IN_REVIEW,
        _REPLACED_IN_REVIEW_MORE,
        _ALREADY_APPROVED,
        _NOT_REQUIRED,
        _DUPLICATE,
        _DUPLICATE_SAME,
        _DUPLICATE_REJECTED,
    }
)


class CheckReason(StrEnum):
    """Why a well-formed file still cannot be taken as the document the customer meant."""

    NO_ROLE_YET = "no_role_yet"  # who applies is not chosen, so nothing is required yet
    NOT_REQUIRED = "not_required"
    DUPLICATE = "duplicate"
    ALREADY_APPROVED = "already_approved"  # during a review, an approved file stays


@dataclass(frozen=True)
class DocumentCheck:
    """The verdict on taking an upload as `kind`, with the message to show either way."""

    kind: DocKind
    message: MessageRef
    rejected: CheckReason | None = None
    previous: Document | None = None  # the document of this kind the upload replaces
    duplicate_of: DocKind | None = None  # the document already holding the same bytes

    @property
    def ok(self) -> bool:
        return self.rejected is None

    @property
    def replaces_revision(self) -> int | None:
        """The revision being replaced, when the upload is accepted as a replacement."""
        return self.previous.revision if self.ok and self.previous is not None else None


def ask_which(inspected: InspectedFile) -> MessageRef:
    """The prompt above the menu of required documents when `classify` could not tell."""
    return MessageRef(key=ASK_WHICH_KEY, params={"name": inspected.name})


def check_against(onboarding: Onboarding, kind: DocKind, inspected: InspectedFile) -> DocumentCheck:
    """Can `inspected` be taken as the tenant's `kind`? Checks, in order: a role is chosen;
    the role needs `kind`; the same bytes are not already one of the tenant's documents (a
    rejected copy of another kind does not count: that is usually the file filed under the
    wrong document, now sent again under the right one); during the review, an approved
    document stays as it is. An accepted upload either adds `kind` or replaces its current
    revision (`previous`)."""
    document = document_spec(kind).name_key
    role = onboarding.role
    if role is None:
        return DocumentCheck(kind, MessageRef(key=NO_ROLE_YET_KEY), CheckReason.NO_ROLE_YET)
    required = documents_for(role)
    if kind not in required:
        message = MessageRef(
            key=_NOT_REQUIRED, labels={"document": document, "role": role_name_key(role)}
        )
        return DocumentCheck(kind, message, CheckReason.NOT_REQUIRED)

    for other in onboarding.documents.values():
        if other.sha256 != inspected.sha256:
            continue
        if other.kind is kind:
            rejected_before = other.verdict is Verdict.REJECTED
            key = _DUPLICATE_REJECTED if rejected_before else _DUPLICATE_SAME
            message = MessageRef(key=key, labels={"document": document})
        elif other.verdict is Verdict.REJECTED:
            continue
        else:
            held = document_spec(other.kind).name_key
            message = MessageRef(key=_DUPLICATE, labels={"document": held, "target": document})
        return DocumentCheck(kind, message, CheckReason.DUPLICATE, duplicate_of=other.kind)

    documents = onboarding.documents
    previous = documents.get(kind)
    in_review = leaf(onboarding.state) == REVIEW_STAGE
    if in_review and previous is not None and previous.verdict is Verdict.APPROVED:
        message = MessageRef(key=_ALREADY_APPROVED, labels={"document": document})
        return DocumentCheck(kind, message, CheckReason.ALREADY_APPROVED)
    still_needed = [
        k
        for k in required
        if k is not kind and (k not in documents or documents[k].verdict is Verdict.REJECTED)
    ]
    params = {"size": format_size(inspected.size), "remaining": str(len(still_needed))}
    if in_review and previous is not None:
        # Taken at once, and reviewed with the rest of the round: no "submit" to wait for.
        key = _REPLACED_IN_REVIEW_MORE if still_needed else _REPLACED_IN_REVIEW
        params["revision"] = str(previous.revision + 1)
    elif previous is None:
        key = _ACCEPTED if still_needed else _ACCEPTED_ALL
    else:
        key = _REPLACED if still_needed else _REPLACED_ALL
        params["revision"] = str(previous.revision + 1)
    message = MessageRef(key=key, params=params, labels={"document": document})
    return DocumentCheck(kind, message, previous=previous)


def _fit(name: str, limit: int = TEXT_MAX) -> str:
    """`name` cut to what the flow accepts, keeping its extension."""
    if len(name) <= limit:
        return name
    stem, dot, extension = name.rpartition(".")
    if dot and stem and len(extension) <= 10:
        return stem[: limit - len(extension) - 2] + "…." + extension
    return name[: limit - 1] + "…"


def to_document(
    kind: DocKind,
    inspected: InspectedFile,
    uploaded_by: str,
    now: datetime,
    previous: Document | None = None,
) -> Document:
    """The metadata record of an accepted upload; a replacement is `previous`'s next revision."""
    if now.tzinfo is None:
        raise ValueError("`now` must be timezone-aware")
    if previous is not None and previous.kind is not kind:
        raise ValueError(f"a {kind.value} cannot replace a {previous.kind.value}")
    return Document(
        kind=kind,
        file_id=inspected.file_id,
        name=_fit(inspected.name.strip() or inspected.file_id),
        mimetype=inspected.mimetype,
        size=inspected.size,
        sha256=inspected.sha256,
        uploaded_by=uploaded_by,
        uploaded_at=now,
        revision=previous.revision + 1 if previous is not None else 1,
        findings=inspected.findings,
    )
