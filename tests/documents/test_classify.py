"""`classify`: which required document a file is, from the message or the file name."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import bot.i18n
from bot.documents import KeywordTable, classify, default_keywords
from bot.flows.catalogue import documents_for
from bot.flows.model import DocKind, Role
from bot.i18n import ContentError, Lang, load_catalog

AGENT = documents_for(Role.AGENT)
LEGAL_REP = documents_for(Role.LEGAL_REP)
K = DocKind


@pytest.mark.parametrize(
    ("text", "required", "expected"),
    [
        ("营业执照", AGENT, K.BUSINESS_LICENSE),
        ("这是我们的营业执照副本，已盖章", AGENT, K.BUSINESS_LICENSE),
        ("Here is our business license", AGENT, K.BUSINESS_LICENSE),
        ("business licence (stamped)", LEGAL_REP, K.BUSINESS_LICENSE),
        ("法人身份证", AGENT, K.LEGAL_REP_ID),
        ("法定代表人身份证正反面", AGENT, K.LEGAL_REP_ID),
        ("Legal representative's ID card, both sides", AGENT, K.LEGAL_REP_ID),
        ("经办人身份证", AGENT, K.AGENT_ID),
        ("the agent's ID card", AGENT, K.AGENT_ID),
        ("电话受理单", LEGAL_REP, K.PHONE_ACCEPTANCE_FORM),
        ("入网承诺书，已盖公章", LEGAL_REP, K.NETWORK_ACCESS_COMMITMENT),
        ("network access commitment letter", AGENT, K.NETWORK_ACCESS_COMMITMENT),
        ("委托授权书", AGENT, K.AUTHORIZATION_LETTER),
        ("授权书", AGENT, K.AUTHORIZATION_LETTER),
        ("signed authorization letter", AGENT, K.AUTHORIZATION_LETTER),
        # Width and case do not matter.
        ("ＢＵＳＩＮＥＳＳ　ＬＩＣＥＮＣＥ", AGENT, K.BUSINESS_LICENSE),
        ("AUTHORISATION LETTER", AGENT, K.AUTHORIZATION_LETTER),
        # Slack markup: the mention and the link's URL are not read, the label is.
        ("<@U0CUSTOMER1> <https://example.com/x|营业执照>", AGENT, K.BUSINESS_LICENSE),
    ],
)
def test_the_message_names_the_document(
    text: str, required: tuple[DocKind, ...], expected: DocKind
) -> None:
    assert classify(text, "", required) is expected


@pytest.mark.parametrize(
    ("filename", "required", "expected"),
    [
        ("营业执照-盖章.pdf", AGENT, K.BUSINESS_LICENSE),
        ("Legal_Rep_ID.jpg", AGENT, K.LEGAL_REP_ID),
        ("LegalRepID.jpg", LEGAL_REP, K.LEGAL_REP_ID),
        ("agent-id-card_front_back.pdf", AGENT, K.AGENT_ID),
        ("agent_holding_ID.png", AGENT, K.AGENT_HOLDING_ID),
        ("Legal Rep Holding ID.jpeg", LEGAL_REP, K.LEGAL_REP_HOLDING_ID),
        ("电话受理单（盖章）.pdf", AGENT, K.PHONE_ACCEPTANCE_FORM),
        ("Authorization_Letter_signed.pdf", AGENT, K.AUTHORIZATION_LETTER),
        ("入网承诺书.PDF", LEGAL_REP, K.NETWORK_ACCESS_COMMITMENT),
    ],
)
def test_the_file_name_names_the_document(
    filename: str, required: tuple[DocKind, ...], expected: DocKind
) -> None:
    assert classify("", filename, required) is expected


@pytest.mark.parametrize(
    ("text", "required", "expected"),
    [
        # The holding photo is a different document from the ID card it shows.
        ("法定代表人手持身份证照", LEGAL_REP, K.LEGAL_REP_HOLDING_ID),
        ("法定代表人身份证", LEGAL_REP, K.LEGAL_REP_ID),
        ("经办人手持身份证照", AGENT, K.AGENT_HOLDING_ID),
        ("经办人身份证", AGENT, K.AGENT_ID),
        ("holding ID card", AGENT, K.AGENT_HOLDING_ID),
        ("ID card", LEGAL_REP, K.LEGAL_REP_ID),
        (
            "Photo of the legal representative holding the ID card",
            LEGAL_REP,
            K.LEGAL_REP_HOLDING_ID,
        ),
        # Whose hand holds it follows from who applies.
        ("手持身份证", AGENT, K.AGENT_HOLDING_ID),
        ("手持身份证", LEGAL_REP, K.LEGAL_REP_HOLDING_ID),
        ("holding ID", AGENT, K.AGENT_HOLDING_ID),
        ("holding ID", LEGAL_REP, K.LEGAL_REP_HOLDING_ID),
        # With the legal representative applying there is only one ID card to upload.
        ("身份证", LEGAL_REP, K.LEGAL_REP_ID),
    ],
)
def test_the_most_specific_match_wins(
    text: str, required: tuple[DocKind, ...], expected: DocKind
) -> None:
    assert classify(text, "", required) is expected


@pytest.mark.parametrize(
    ("text", "filename", "required"),
    [
        ("", "", AGENT),
        ("请查收", "IMG_2041.jpg", AGENT),
        # Two documents in one message, and the name does not pick one.
        ("营业执照和法人身份证", "scan.pdf", AGENT),
        # An agent applying has two ID cards to upload: "ID card" alone is either.
        ("身份证", "", AGENT),
        ("ID card", "IMG_1.jpg", AGENT),
        # Documents the role does not need.
        ("委托授权书", "", LEGAL_REP),
        ("经办人身份证", "", LEGAL_REP),
        ("法定代表人手持身份证照", "", AGENT),
        ("agent holding ID", "", LEGAL_REP),
        # The name names a document the message did not mention among the two it did.
        ("营业执照和法人身份证", "经办人身份证.jpg", AGENT),
        # "id" only matches as a word.
        ("valid license", "", ()),
        ("", "", ()),
    ],
)
def test_unsure_gives_none(text: str, filename: str, required: tuple[DocKind, ...]) -> None:
    assert classify(text, filename, required) is None


def test_the_message_takes_precedence_over_the_file_name() -> None:
    assert classify("营业执照", "法人身份证.jpg", AGENT) is K.BUSINESS_LICENSE
    assert classify("the authorization letter", "business_license.pdf", AGENT) is (
        K.AUTHORIZATION_LETTER
    )


def test_the_file_name_picks_among_documents_the_message_named() -> None:
    text = "营业执照和法人身份证"
    assert classify(text, "营业执照.pdf", AGENT) is K.BUSINESS_LICENSE
    assert classify(text, "Legal_Rep_ID.jpg", AGENT) is K.LEGAL_REP_ID
    assert classify("两张身份证", "经办人身份证.jpg", AGENT) is K.AGENT_ID


def test_a_message_about_an_unneeded_document_is_not_overruled_by_the_name() -> None:
    assert classify("委托授权书", "营业执照.pdf", LEGAL_REP) is None


def test_a_word_is_a_word() -> None:
    assert classify("", "valid.pdf", AGENT) is None  # no "id" inside "valid"
    assert classify("", "licensed-photo.jpg", AGENT) is None


def test_every_documents_own_name_is_recognised() -> None:
    """Customers copy the names the checklist shows: each must classify as itself."""
    catalog = load_catalog()
    for role in Role:
        required = documents_for(role)
        for kind in required:
            for lang in Lang:
                name = catalog.t(lang, f"documents.{kind.value}.name")
                assert classify(name, "", required) is kind, (role, lang, name)
                assert classify("", f"{name}.pdf", required) is kind, (role, lang, name)


def _owners(table: KeywordTable) -> dict[str, set[DocKind]]:
    owners: dict[str, set[DocKind]] = {}
    for kind, word, _ in table.entries:
        owners.setdefault(word, set()).add(kind)
    return owners


def test_every_keyword_alone_names_its_document_when_only_it_fits() -> None:
    table = default_keywords()
    for word, kinds in _owners(table).items():
        for role in Role:
            required = documents_for(role)
            fitting = kinds & set(required)
            expected = next(iter(fitting)) if len(fitting) == 1 else None
            assert classify(word, "", required) is expected, (word, role)


def test_keywords_of_both_languages_are_loaded() -> None:
    words = default_keywords().keywords(K.BUSINESS_LICENSE)
    assert "营业执照" in words
    assert "business licence" in words


# -- properties ------------------------------------------------------------------------------

_KINDS = st.lists(st.sampled_from(list(DocKind)), unique=True).map(tuple)
_WORDS = sorted(_owners(default_keywords()))
_NOISE = st.text(alphabet=" -_.,()[]0123456789，。（）", max_size=8)


@given(text=st.text(max_size=60), filename=st.text(max_size=40), required=_KINDS)
def test_never_a_document_outside_the_required_ones(
    text: str, filename: str, required: tuple[DocKind, ...]
) -> None:
    assert classify(text, filename, required) in (*required, None)


@given(
    words=st.lists(st.sampled_from(_WORDS), max_size=4),
    name_words=st.lists(st.sampled_from(_WORDS), max_size=3),
    required=_KINDS,
)
def test_never_outside_the_required_ones_even_made_of_keywords(
    words: list[str], name_words: list[str], required: tuple[DocKind, ...]
) -> None:
    result = classify(" ".join(words), "_".join(name_words) + ".pdf", required)
    assert result in (*required, None)


@given(
    word=st.sampled_from(_WORDS),
    before=_NOISE,
    after=_NOISE,
    role=st.sampled_from(list(Role)),
    upper=st.booleans(),
)
def test_punctuation_digits_and_case_around_a_keyword_do_not_matter(
    word: str, before: str, after: str, role: Role, upper: bool
) -> None:
    required = documents_for(role)
    bare = classify(word, "", required)
    text = f"{before} {word.upper() if upper else word} {after}"
    assert classify(text, "", required) is bare
    assert classify("", f"{before}_{word.replace(' ', '_')}_{after}.pdf", required) is bare


# -- the keywords are content ----------------------------------------------------------------


def _content_copy(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(Path(bot.i18n.__file__).parent / "content", target)
    return target


def test_an_operator_can_add_a_synonym_in_the_content(tmp_path: Path) -> None:
    content = _content_copy(tmp_path)
    path = content / "zh" / "documents.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            'business_license: "营业执照,', 'business_license: "企业登记证明,'
        ),
        encoding="utf-8",
    )
    assert classify("企业登记证明", "", AGENT) is None
    table = KeywordTable.from_catalog(load_catalog(content))
    assert classify("企业登记证明", "", AGENT, keywords=table) is K.BUSINESS_LICENSE


def test_a_document_without_keywords_is_a_content_error(tmp_path: Path) -> None:
    content = _content_copy(tmp_path)
    for lang in Lang:
        path = content / lang.value / "documents.yaml"
        lines = [
            '    authorization_letter: " , "' if "  authorization_letter:" in line else line
            for line in path.read_text(encoding="utf-8").splitlines()
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ContentError, match="authorization_letter"):
        KeywordTable.from_catalog(load_catalog(content))
