"""`check_against` and `to_document`: can an inspected upload become the tenant's document?"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.documents import CheckReason, InspectedFile, ask_which, check_against, to_document
from bot.flows.catalogue import documents_for
from bot.flows.effects import MessageRef
from bot.flows.errors import InputField
from bot.flows.model import DocKind, Document, Onboarding, Role, Verdict
from bot.flows.validate import TEXT_MAX, text
from bot.i18n import Lang, load_catalog

NOW = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
K = DocKind


def inspected(digit: str = "1", name: str = "scan.pdf", size: int = 1_258_291) -> InspectedFile:
    return InspectedFile(
        file_id=f"F0{digit * 9}",
        name=name,
        mimetype="application/pdf",
        size=size,
        sha256=digit * 64,
    )


def document(kind: DocKind, digit: str, **changes: object) -> Document:
    doc = to_document(kind, inspected(digit), "U0CUSTOMER1", NOW)
    return doc.model_copy(update=changes)


def onboarding(role: Role | None, *docs: Document) -> Onboarding:
    return Onboarding(role=role, documents={doc.kind: doc for doc in docs})


def render(message: MessageRef) -> dict[Lang, str]:
    catalog = load_catalog()
    return {lang: message.render(catalog, lang) for lang in Lang}


def test_before_a_role_is_chosen_nothing_can_be_taken() -> None:
    check = check_against(onboarding(None), K.BUSINESS_LICENSE, inspected())

    assert check.rejected is CheckReason.NO_ROLE_YET and not check.ok
    assert "legal representative" in render(check.message)[Lang.EN]


def test_a_document_the_role_does_not_need_is_refused_naming_both() -> None:
    check = check_against(onboarding(Role.LEGAL_REP), K.AUTHORIZATION_LETTER, inspected())

    assert check.rejected is CheckReason.NOT_REQUIRED
    zh = render(check.message)[Lang.ZH]
    assert "委托授权书" in zh and "公司法定代表人" in zh


def test_the_same_bytes_as_another_document_are_a_duplicate() -> None:
    ob = onboarding(Role.AGENT, document(K.BUSINESS_LICENSE, "7"))

    check = check_against(ob, K.LEGAL_REP_ID, inspected("7"))

    assert check.rejected is CheckReason.DUPLICATE
    assert check.duplicate_of is K.BUSINESS_LICENSE
    en = render(check.message)[Lang.EN]
    assert "Business licence scan" in en and "Legal representative's ID card" in en


def test_sending_the_same_file_again_changes_nothing() -> None:
    ob = onboarding(Role.AGENT, document(K.BUSINESS_LICENSE, "7"))

    check = check_against(ob, K.BUSINESS_LICENSE, inspected("7"))

    assert check.rejected is CheckReason.DUPLICATE
    assert check.message.key == "uploads.rejected.duplicate_same"
    assert check.replaces_revision is None


def test_resending_a_rejected_file_is_refused() -> None:
    rejected = document(K.BUSINESS_LICENSE, "7", verdict=Verdict.REJECTED, reason="blurry")
    ob = onboarding(Role.AGENT, rejected)

    check = check_against(ob, K.BUSINESS_LICENSE, inspected("7"))

    assert check.rejected is CheckReason.DUPLICATE
    assert check.message.key == "uploads.rejected.duplicate_rejected"
    assert "营业执照扫描件" in render(check.message)[Lang.ZH]


def test_a_file_rejected_under_the_wrong_document_may_be_sent_as_the_right_one() -> None:
    misfiled = document(K.LEGAL_REP_ID, "7", verdict=Verdict.REJECTED, reason="wrong file")
    ob = onboarding(Role.AGENT, misfiled)

    check = check_against(ob, K.BUSINESS_LICENSE, inspected("7"))

    assert check.ok and check.previous is None


def test_a_first_upload_is_accepted_and_counts_what_is_missing() -> None:
    ob = onboarding(Role.LEGAL_REP, document(K.BUSINESS_LICENSE, "1"))

    check = check_against(ob, K.LEGAL_REP_ID, inspected("2"))

    assert check.ok and check.previous is None and check.replaces_revision is None
    assert check.message.key == "uploads.accepted"
    missing = len(documents_for(Role.LEGAL_REP)) - 2
    assert check.message.params == {"size": "1.2 MB", "remaining": str(missing)}
    en = render(check.message)[Lang.EN]
    assert en.startswith("Received *Legal representative's ID card, both sides* (1.2 MB)")
    assert f"still needed: {missing}" in en


def test_the_last_missing_document_says_so() -> None:
    required = documents_for(Role.LEGAL_REP)
    docs = [document(kind, str(i)) for i, kind in enumerate(required[:-1], start=1)]

    check = check_against(onboarding(Role.LEGAL_REP, *docs), required[-1], inspected("9"))

    assert check.ok and check.message.key == "uploads.accepted_all"
    render(check.message)


def test_a_replacement_is_noted_with_the_revision_it_replaces() -> None:
    old = document(K.BUSINESS_LICENSE, "1", revision=2, verdict=Verdict.REJECTED)
    ob = onboarding(Role.AGENT, old)

    check = check_against(ob, K.BUSINESS_LICENSE, inspected("2"))

    assert check.ok
    assert check.previous == old and check.replaces_revision == 2
    assert check.message.key == "uploads.replaced"
    assert check.message.params["revision"] == "3"
    assert "第 3 版" in render(check.message)[Lang.ZH]

    replacement = to_document(K.BUSINESS_LICENSE, inspected("2"), "U0CUSTOMER1", NOW, old)
    assert replacement.revision == 3
    assert replacement.verdict is Verdict.PENDING and replacement.reason is None


def test_in_rework_rejected_documents_still_count_as_needed() -> None:
    required = documents_for(Role.LEGAL_REP)
    docs = [document(kind, str(i)) for i, kind in enumerate(required, start=1)]
    docs[1] = docs[1].model_copy(update={"verdict": Verdict.REJECTED})
    docs[2] = docs[2].model_copy(update={"verdict": Verdict.REJECTED})
    ob = onboarding(Role.LEGAL_REP, *docs)

    first = check_against(ob, required[1], inspected("a"))
    assert first.message.key == "uploads.replaced"
    assert first.message.params["remaining"] == "1"

    ob.documents[required[2]] = document(required[2], "b")
    last = check_against(ob, required[1], inspected("a"))
    assert last.message.key == "uploads.replaced_all"
    render(last.message)


def test_the_record_holds_metadata_only() -> None:
    doc = to_document(K.AGENT_ID, inspected("3", name="经办人身份证.pdf"), "U0CUSTOMER1", NOW)

    assert doc.model_dump() == {
        "kind": K.AGENT_ID,
        "file_id": "F0333333333",
        "name": "经办人身份证.pdf",
        "mimetype": "application/pdf",
        "size": 1_258_291,
        "sha256": "3" * 64,
        "uploaded_by": "U0CUSTOMER1",
        "uploaded_at": NOW,
        "revision": 1,
        "rejected_before": None,
        "verdict": Verdict.PENDING,
        "reason": None,
        "reviewed_by": None,
        "reviewed_at": None,
        "findings": (),
        "findings_confirmed": False,
    }


def test_a_long_name_is_shortened_to_what_the_flow_accepts() -> None:
    long = "营业执照" * 80 + ".pdf"

    doc = to_document(K.BUSINESS_LICENSE, inspected(name=long), "U0CUSTOMER1", NOW)

    assert len(doc.name) == TEXT_MAX and doc.name.endswith(".pdf")
    assert text(InputField.DOCUMENT, doc.name) == doc.name


def test_a_record_needs_an_aware_time_and_a_matching_previous_document() -> None:
    with pytest.raises(ValueError, match="timezone"):
        to_document(K.AGENT_ID, inspected(), "U0CUSTOMER1", datetime(2026, 1, 5))
    with pytest.raises(ValueError, match="cannot replace"):
        to_document(K.AGENT_ID, inspected(), "U0CUSTOMER1", NOW, document(K.LEGAL_REP_ID, "4"))


def test_the_menu_prompt_names_the_file() -> None:
    message = ask_which(inspected(name="IMG_2041*.jpg"))

    assert "IMG_2041*.jpg" in render(message)[Lang.EN]
