"""Everything about one uploaded qualification document, short of Slack UI and state writes.

- `classify`: which required document a file is, from the message text or the file name.
- `inspect_file`: fetch it from Slack safely and describe it (real type, size, sha256), or
  raise `UploadRejected`.
- `precheck`: what looks wrong with the file's bytes (too small, blurry, no seal…), as findings
  the customer is told and the reviewer sees.
- `check_against` / `to_document`: whether it can be taken as the tenant's document of a kind,
  and the metadata record the flow stores.

Every sentence lives in the content under `uploads.` (`bot/content/<lang>/documents.yaml`);
`CONTENT_KEYS` lists those the code names, for the content test.
"""

from __future__ import annotations

from bot.documents.checks import (
    ASK_WHICH_KEY,
    CHECK_KEYS,
    NO_ROLE_YET_KEY,
    CheckReason,
    DocumentCheck,
    ask_which,
    check_against,
    to_document,
)
from bot.documents.classify import KeywordTable, classify, default_keywords, keywords_key
from bot.documents.fetch import (
    WRONG_TYPE_DISGUISED_KEY,
    InspectedFile,
    RejectReason,
    UploadRejected,
    inspect_file,
)
from bot.documents.formats import ACCEPTED, FileFormat, format_size
from bot.documents.precheck import FINDING_KEYS, Finding, finding_key, finding_short_key
from bot.flows.model import DocKind

CONTENT_KEYS: frozenset[str] = frozenset(
    {
        *CHECK_KEYS,
        *FINDING_KEYS,
        WRONG_TYPE_DISGUISED_KEY,
        *(f"uploads.rejected.{reason.value}" for reason in RejectReason),
        *(fmt.label_key for fmt in FileFormat),
        *(keywords_key(kind) for kind in DocKind),
    }
)

__all__ = [
    "ACCEPTED",
    "ASK_WHICH_KEY",
    "CONTENT_KEYS",
    "NO_ROLE_YET_KEY",
    "CheckReason",
    "DocumentCheck",
    "FileFormat",
    "Finding",
    "InspectedFile",
    "KeywordTable",
    "RejectReason",
    "UploadRejected",
    "ask_which",
    "check_against",
    "classify",
    "default_keywords",
    "finding_key",
    "finding_short_key",
    "format_size",
    "inspect_file",
    "to_document",
]
