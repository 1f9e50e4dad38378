"""The `uploads.*` content: both languages complete, and every key the code names exists."""

from __future__ import annotations

from bot.documents import CONTENT_KEYS, FileFormat, RejectReason, UploadRejected
from bot.i18n import Lang, load_catalog, require_keys


def test_the_content_loads_with_every_key_the_code_names() -> None:
    catalog = load_catalog()  # fails when zh and en keys or placeholders differ

    require_keys(catalog, CONTENT_KEYS)
    assert set(catalog.keys_under("uploads")) == CONTENT_KEYS  # and no message nobody shows


def test_every_refusal_renders_in_both_languages_with_the_limit() -> None:
    catalog = load_catalog()
    labels = {"claimed": FileFormat.PDF.label_key, "actual": FileFormat.OFFICE_ZIP.label_key}
    for reason in RejectReason:
        rejected = UploadRejected(reason, {"name": "营业执照.pdf", "limit": "20 MB"}, labels=labels)
        for lang in Lang:
            text = rejected.message.render(catalog, lang)
            assert "营业执照.pdf" in text
            if reason is RejectReason.TOO_LARGE:
                assert "20 MB" in text
