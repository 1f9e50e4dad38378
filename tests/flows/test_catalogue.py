"""The content agrees with the domain facts and with the structure the code relies on.

The expected values below are copied from /work/shared/domain/DOMAIN.md and its source
(seed-tccc-onboarding.md), which live outside the repository; CI only has the repository, so they
are pinned here. If the official guide changes, change DOMAIN.md, the content and this file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.flows.catalogue import (
    CHECKLISTS,
    document_spec,
    documents_for,
    step_spec,
    tccc_sip_parameters,
)
from bot.flows.engine import referenced_content_keys
from bot.flows.model import DocKind, Role, Step
from bot.i18n import Catalog, Lang, load_catalog, require_keys

CONTENT = Path(__file__).resolve().parents[2] / "bot" / "content"

# DOMAIN.md, "TCCC's SIP parameters".
SIP_INBOUND = "sip.pstn.avc.qcloud.com:5089"
SIP_INBOUND_IPS = ("139.199.233.98:5089", "114.221.144.81:5089")
SIP_OUTBOUND = (
    "139.199.4.25:5089",
    "203.195.240.224:5089",
    "129.211.167.158:5089",
    "129.211.167.34:5089",
    "129.211.166.16:5089",
    "129.204.27.73:5089",
)

# DOMAIN.md, "The eight steps" and "Step 5" (docs, console, work order, login address).
STEP_LINKS = {
    "steps.account.links.register": "https://cloud.tencent.com/document/product/378/17985",
    "steps.real_name.links.console": "https://console.cloud.tencent.com/ccc",
    "steps.real_name.links.verification": "https://cloud.tencent.com/document/product/378/10496",
    "steps.instance.links.console": "https://console.cloud.tencent.com/ccc",
    "steps.instance.links.sla": "https://cloud.tencent.com/document/product/679/34947",
    "steps.instance.links.login": "https://tccc.qcloud.com",
    "steps.numbers.links.purchase_guide": (
        "https://cloud.tencent.com/document/product/679/63785#phoneNumber"
    ),
    "steps.numbers.links.pricing": "https://cloud.tencent.com/document/product/679/45797",
    "steps.numbers.links.workorder": "https://console.cloud.tencent.com/workorder/category",
    "steps.console.links.console": "https://console.cloud.tencent.com/ccc",
    "steps.login.links.login": "https://tccc.qcloud.com",
    "steps.sdk.links.console": "https://console.cloud.tencent.com/ccc",
}

# The source's step 4 tables: example and template links, exactly as written there.
_IMG = "https://qcloudimg.tencent-cloud.cn/raw/"
_COS = "https://console-ccc-1300884231.cos.ap-guangzhou.myqcloud.com/upload/"
DOCUMENT_LINKS = {
    "documents.business_license.example": _IMG + "a6ab03ee633ebacc30ca9c23d2cfb1f0.jpg",
    "documents.business_license.example_legal_rep": _IMG + "9d7f49e859911175f1530b757ad7e423.jpg",
    "documents.legal_rep_id.example": _IMG + "0b3350934b94d088d3005c361b3e2598.png",
    "documents.agent_id.example": _IMG + "0b3350934b94d088d3005c361b3e2598.png",
    "documents.agent_holding_id.example": _IMG + "ffa1eeaa70cf30d706bddceb09918ff6.png",
    "documents.legal_rep_holding_id.example": _IMG + "ffa1eeaa70cf30d706bddceb09918ff6.png",
    "documents.phone_acceptance_form.example": _IMG + "e3b76e51bf0a222238560c332056cd37.jpg",
    "documents.phone_acceptance_form.template": _COS
    + "%E7%94%B5%E8%AF%9D%E5%8F%97%E7%90%86%E5%8D%95.docx",
    "documents.network_access_commitment.example": _IMG + "5d0d61e67f5f32684596b7054474e0e0.jpg",
    "documents.network_access_commitment.template": _COS
    + "%E7%94%B5%E4%BF%A1%E5%85%A5%E7%BD%91%E6%89%BF%E8%AF%BA%E4%B9%A6.docx",
    "documents.authorization_letter.example": _IMG + "3c8b9b60edd6ea8ef408f2be25b7a5a3.jpg",
    "documents.authorization_letter.template": _COS
    + "%E5%A7%94%E6%89%98%E6%8E%88%E6%9D%83%E4%B9%A6.docx",
}

_LINK = re.compile(r"<(https://[^|>]+)\|[^>]+>")
_URL = re.compile(r"https://[^\s|>]+")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _flow_messages(lang: Lang) -> dict[str, str]:
    flat: dict[str, str] = {}

    def walk(prefix: str, node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(f"{prefix}.{key}" if prefix else key, value)
        else:
            flat[prefix] = str(node)

    walk("", yaml.safe_load((CONTENT / lang.value / "flow.yaml").read_text(encoding="utf-8")))
    return flat


def _only_link(text: str) -> str:
    links = _LINK.findall(text)
    assert len(links) == 1, f"expected one link in {text!r}"
    return str(links[0])


def test_every_key_the_flow_names_exists(catalog: Catalog) -> None:
    require_keys(catalog, referenced_content_keys())


@pytest.mark.parametrize("lang", list(Lang))
def test_sip_parameters_are_domain_md_exactly(catalog: Catalog, lang: Lang) -> None:
    params = tccc_sip_parameters(catalog)
    assert params.inbound == SIP_INBOUND
    assert params.inbound_ips == SIP_INBOUND_IPS
    assert params.outbound == SIP_OUTBOUND
    # Both languages carry the same values (the parameters are read from one of them).
    for key in catalog.keys_under("sip.params"):
        assert catalog.t(lang, key) == catalog.t(Lang.ZH, key)


@pytest.mark.parametrize("lang", list(Lang))
def test_step_links_are_domain_md_exactly(catalog: Catalog, lang: Lang) -> None:
    declared = {key for step in Step for key in step_spec(step).link_keys}
    assert declared == set(STEP_LINKS)
    for key, url in STEP_LINKS.items():
        assert _only_link(catalog.t(lang, key)) == url, key


@pytest.mark.parametrize("lang", list(Lang))
def test_document_links_are_the_source_exactly(catalog: Catalog, lang: Lang) -> None:
    for key, url in DOCUMENT_LINKS.items():
        assert _only_link(catalog.t(lang, key)) == url, key


@pytest.mark.parametrize("lang", list(Lang))
def test_content_links_nowhere_else(lang: Lang) -> None:
    allowed = set(STEP_LINKS.values()) | set(DOCUMENT_LINKS.values())
    for key, text in _flow_messages(lang).items():
        for url in _URL.findall(text):
            assert url in allowed, f"{lang.value}: {key} links to {url}, not a DOMAIN.md link"


def test_structure_and_content_agree(catalog: Catalog) -> None:
    for role in Role:
        for kind in documents_for(role):
            spec = document_spec(kind)
            assert catalog.has(spec.name_key)
            assert catalog.has(spec.example_key(role))
            has_template = catalog.has(f"documents.{kind.value}.template")
            assert has_template == spec.has_template, kind
    for kind in DocKind:
        assert any(kind in documents_for(role) for role in Role), f"{kind} is never asked for"


def test_stamped_documents_follow_the_source() -> None:
    not_stamped = {kind for kind in DocKind if not document_spec(kind).stamped}
    assert not_stamped == {DocKind.AGENT_HOLDING_ID, DocKind.LEGAL_REP_HOLDING_ID}
    with_template = {kind for kind in DocKind if document_spec(kind).has_template}
    assert with_template == {
        DocKind.PHONE_ACCEPTANCE_FORM,
        DocKind.NETWORK_ACCESS_COMMITMENT,
        DocKind.AUTHORIZATION_LETTER,
    }


def test_400_is_explained_as_inbound_only(catalog: Catalog) -> None:
    for key in ("numbers.toll_free_400.explain", "next.confirm_400", "steps.numbers.prompt"):
        assert "仅支持呼入" in catalog.t(Lang.ZH, key), key
        assert "inbound only" in catalog.t(Lang.EN, key), key


def test_steps_six_to_eight_carry_the_public_facts(catalog: Catalog) -> None:
    for lang in Lang:
        console = catalog.t(lang, "steps.console.prompt")
        login = catalog.t(lang, "steps.login.prompt")
        sdk = catalog.t(lang, "steps.sdk.prompt")
        assert "tccc.qcloud.com" in login and "56" in login and "80" in login
        assert "站内信" in login
        for word in ("CreateSDKLoginToken", "SdkAppId", "SeatUserId", "SdkURL", "DescribeTelCdr"):
            assert word in sdk
        assert "CreateAdminURL" in sdk and "10" in sdk
        assert "IVR" in console
    assert "超级管理员" in catalog.t(Lang.ZH, "steps.console.prompt")
    assert "super admin" in catalog.t(Lang.EN, "steps.console.prompt")
    assert set(CHECKLISTS) == {Step.CONSOLE, Step.LOGIN, Step.SDK}
