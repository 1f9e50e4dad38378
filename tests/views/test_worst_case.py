"""Every message, form and Home view the bot builds, in both languages, with the longest values
people can give it, passes Slack's own checks (the fake's independent Block Kit validator).

The values are the worst realistic ones: 100-character company names (Chinese, or `&<>` that
grow five-fold when escaped), 200-character file names, 500-character reasons, a 3,000-character
call script, 60 numbers in a SIP request, 80 tenants on an SE's Home. An onboarding is driven
through the flow to every stage with them, and each stage's payloads are rendered.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.flows.catalogue import CHECKLISTS, documents_for
from bot.flows.engine import (
    NOTIFY_KEYS,
    AddDocument,
    AdvanceSipStage,
    ApproveDocument,
    ApproveScript,
    BackToNumberChoice,
    ChooseNumberPath,
    ChooseRole,
    Confirm400InboundOnly,
    ConfirmAccount,
    ConfirmConsole,
    ConfirmLogin,
    ConfirmPurchase,
    ConfirmRealName,
    CreateInstance,
    RejectDocument,
    RejectScript,
    SubmitDocuments,
    SubmitScript,
    SubmitSipRequest,
)
from bot.flows.machine import leaf
from bot.flows.model import (
    DocKind,
    Document,
    NumberPath,
    Onboarding,
    Role,
    SipStage,
    SipTrunkRequest,
    Step,
)
from bot.handlers.commands import SUBCOMMANDS
from bot.i18n import Lang, load_catalog
from bot.ids import CallbackId
from bot.mrkdwn import escape
from bot.stalls.policy import StallPolicy, StallState, WaitsOn
from bot.state import TenantRecord
from bot.summary import Changes, Stalled, Summary
from bot.tickets import DeliveryState, DeliveryStatus, ticket_view_from_record
from bot.views import forms
from bot.views.answers import help_answer, missing_documents_answer
from bot.views.help import help_message
from bot.views.home import customer_home, se_home
from bot.views.kit import Message
from bot.views.notices import notice_message, ops_notice
from bot.views.progress import progress_message
from bot.views.prompts import closed_prompt_message, prompt_message, role_switch_confirmation
from bot.views.refs import FormMeta
from bot.views.reviews import (
    assigned_number_form,
    document_review_card,
    reject_form,
    script_review_card,
)
from bot.views.sip import sip_form
from bot.views.stalls import managers_notice, owner_notice, reminder_message, stalled_list
from bot.views.summary import digest_message, manager_home, summary_message
from bot.views.ticket import ticket_card
from bot.views.uploads import pick_menu
from tests.fakeslack.blockkit import validate_blocks, validate_view
from tests.flows.builders import NOW, SE, Driver

CATALOG = load_catalog()

COMPANIES = (
    "深圳市腾讯计算机系统有限公司" * 7 + "呼叫",  # 100 Chinese characters
    "&<>" * 33 + "&",  # 100 characters that are 460 once escaped
    ("A&B <!channel> <https://evil.example|点我> " * 3)[:100],
)
FILE_NAME = ("营业执照&<公章>_" * 20)[:196] + ".pdf"  # 200 characters
REASON = ("公章不清晰 & <请重新扫描> seal " * 30)[:500]
SCRIPT = ("您好 & <欢迎> ``` 致电示例科技，本通话可能被录音。" * 120)[:3000]
SIP = SipTrunkRequest(
    carrier=("中国电信 & <China Telecom> " * 4)[:60],
    numbers=[f"0755860{n:05d}" for n in range(60)],
    signalling=[f"203.0.113.{n}:5060" for n in range(1, 60)],
    media_ip_range="203.0.113.0/24, 198.51.100.10-198.51.100.20",
    contact_name=("王工 & <Wang> " * 6)[:60],
    contact_phone="+86 138 0013 8000",
)


def problems_of(message: Message) -> list[str]:
    assert message["text"].strip(), "a message needs its fallback text"
    return validate_blocks(message["blocks"], surface="message")


def check_message(what: str, message: Message) -> None:
    problems = problems_of(message)
    assert problems == [], f"{what}: {problems}"


def check_view(what: str, view: dict[str, object], kind: str) -> None:
    problems = validate_view(view, kinds=(kind,))
    assert problems == [], f"{what}: {problems}"


def document(kind: DocKind, n: int) -> Document:
    return Document(
        kind=kind,
        file_id=f"F{n:010d}",
        name=FILE_NAME,
        mimetype="application/pdf",
        size=19 * 1024 * 1024,
        sha256=f"{n:064x}",
        uploaded_by="U0CUSTOMER1",
        uploaded_at=NOW,
    )


def record_of(onboarding: Onboarding, company: str, lang: Lang) -> TenantRecord:
    record = TenantRecord.new(
        tenant_id="shen-zhen-shi-teng-xun-ji-suan-ji-xi-tong-you-xi-7f3a9c",
        company=company,
        channel_id="C0123456789",
        created_by="U0SOLENG001",
        lang=lang,
        now=NOW,
    )
    return record.model_copy(update={"onboarding": onboarding})


def journeys() -> Iterator[Onboarding]:
    """The onboarding at every stage, both roles, all three number paths."""
    for role in Role:
        d = Driver()
        yield d.onboarding
        d.send(ConfirmAccount(uin="100012345678"))
        yield d.onboarding
        d.send(ConfirmRealName())
        yield d.onboarding
        d.send(
            CreateInstance(
                call_center_name=("示例 & <呼叫中心> " * 8)[:60],
                admin_name=("张三 & <Zhang> " * 8)[:60],
                admin_email="a" * 64 + "@" + "example-" * 20 + "cn.example",
                sla_agreed=True,
            )
        )
        yield d.onboarding
        d.send(ChooseRole(role=role))
        yield d.onboarding
        kinds = documents_for(role)
        for n, kind in enumerate(kinds):
            d.send(AddDocument(document=document(kind, n)))
            yield d.onboarding
        d.send(SubmitDocuments())
        yield d.onboarding
        d.send(RejectDocument(kind=kinds[0], revision=1, reason=REASON), SE)
        yield d.onboarding  # rejected while the round is open
        d.send(AddDocument(document=document(kinds[0], 90)))
        yield d.onboarding  # replaced during the review: a new version on the card
        for kind in kinds[1:-1]:
            d.send(ApproveDocument(kind=kind, revision=1), SE)
        d.send(RejectDocument(kind=kinds[-1], revision=1, reason=REASON), SE)
        d.send(ApproveDocument(kind=kinds[0], revision=2), SE)
        yield d.onboarding  # rework
        d.send(AddDocument(document=document(kinds[-1], 91)))
        yield d.onboarding
        d.send(SubmitDocuments())
        d.send(ApproveDocument(kind=kinds[-1], revision=2), SE)
        yield d.onboarding  # numbers: choose a path
        numbers = d.onboarding
        for path in NumberPath:
            p = Driver(numbers)
            p.send(ChooseNumberPath(path=path))
            yield p.onboarding
            if path is NumberPath.SIP_TRUNK:
                p.send(SubmitSipRequest(ticket_id="SIP-0A1B2C3D", request=SIP))
                yield p.onboarding
                for stage in list(SipStage)[1:]:
                    number = "075586013388" if stage is SipStage.NUMBER_ASSIGNED else None
                    event = AdvanceSipStage(
                        ticket_id="SIP-0A1B2C3D", stage=stage, assigned_number=number
                    )
                    p.send(event, SE)
                    yield p.onboarding
                continue
            if path is NumberPath.TOLL_FREE_400:
                p.send(Confirm400InboundOnly())
                yield p.onboarding
            p.send(SubmitScript(text=SCRIPT))
            yield p.onboarding
            p.send(RejectScript(revision=1, reason=REASON), SE)
            yield p.onboarding
            p.send(SubmitScript(text=SCRIPT))
            p.send(ApproveScript(revision=2), SE)
            yield p.onboarding
            if path is NumberPath.TOLL_FREE_400:
                p.send(BackToNumberChoice())
                yield p.onboarding
                continue
            p.send(ConfirmPurchase(number="02088886666"))
            yield p.onboarding
            p.send(ConfirmConsole(items=frozenset(CHECKLISTS[Step.CONSOLE])))
            yield p.onboarding
            p.send(ConfirmLogin(items=frozenset(CHECKLISTS[Step.LOGIN])))
            yield p.onboarding


STAGES = list(journeys())


@pytest.mark.parametrize("lang", list(Lang))
@pytest.mark.parametrize("company", COMPANIES, ids=["chinese", "escapes", "markup"])
def test_every_stage_renders_within_slacks_limits(lang: Lang, company: str) -> None:
    seen: set[str] = set()
    for onboarding in STAGES:
        record = record_of(onboarding, company, lang)
        stage = leaf(onboarding.state)
        seen.add(stage)
        where = f"{stage} ({lang.value})"
        check_message(f"checklist at {where}", progress_message(record, CATALOG, lang))
        check_message(f"prompt at {where}", prompt_message(record, stage, CATALOG))
        check_message(f"closed prompt at {where}", closed_prompt_message(record, stage, CATALOG))
        check_message(
            f"missing documents at {where}", missing_documents_answer(record, CATALOG, lang)
        )
        check_view(f"customer Home at {where}", customer_home(record, CATALOG, lang), "home")
        if onboarding.document_round:
            card = document_review_card(
                record, onboarding.document_round, CATALOG, lang, {"F0000000001": "https://x" * 50}
            )
            check_message(f"review card at {where}", card)
        if onboarding.script is not None:
            link = "https://acme.slack.com/files/U0CUSTOMER1/F0000000001/" + "x" * 200
            check_message(
                f"script card at {where}", script_review_card(record, CATALOG, lang, link)
            )
        if onboarding.sip is not None:
            view = ticket_view_from_record(record, CATALOG)
            statuses = {
                "jira": DeliveryState(
                    status=DeliveryStatus.PENDING, attempts=99, last_error="HTTP 503 <&>" * 20
                ),
                "webhook": DeliveryState(
                    status=DeliveryStatus.DELIVERED,
                    attempts=1,
                    external_id="SIP-12345",
                    url="https://jira.example.com/browse/SIP-12345",
                ),
            }
            check_message(f"ticket card at {where}", ticket_card(view, CATALOG, lang, statuses))
        if stage == "qualification.collecting" and onboarding.documents:
            other = Role.LEGAL_REP if onboarding.role is Role.AGENT else Role.AGENT
            removed = tuple(k for k in onboarding.documents if k not in documents_for(other))
            if removed:
                question = role_switch_confirmation(record, stage, other, removed, CATALOG, lang)
                check_message(f"role switch at {where}", question)
        if onboarding.role is not None:
            check_message(
                f"pick menu at {where}",
                pick_menu(CATALOG, record, "F0000000001", escape(FILE_NAME)),
            )
    # Every stage of the chart was rendered.
    assert {"qualification.review", "qualification.rework", "numbers.sip_ticket", "sdk"} <= seen


def worst(template: str) -> dict[str, str]:
    """Every placeholder of `template` filled with the longest escaped value people can give."""
    value = escape(REASON)
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    return dict.fromkeys(names, value)


@pytest.mark.parametrize("lang", list(Lang))
def test_every_notice_and_reply_renders_within_slacks_limits(lang: Lang) -> None:
    record = record_of(STAGES[-1], COMPANIES[1], lang)
    keys = [
        *NOTIFY_KEYS,
        "conversation.welcome",
        *CATALOG.keys_under("errors"),
        *CATALOG.keys_under("conversation.errors"),
        *CATALOG.keys_under("uploads"),
        *CATALOG.keys_under("conversation.answers"),
    ]
    for key in keys:
        template = CATALOG.messages[lang][key]
        text = CATALOG.t(lang, key, **worst(template))
        check_message(key, notice_message(text))
        check_message(f"{key} for ops", ops_notice(record, text, CATALOG, lang))
        check_message(f"{key} replied", Message.plain_text(text))


@pytest.mark.parametrize("lang", list(Lang))
def test_help_forms_and_homes_render_within_slacks_limits(lang: Lang) -> None:
    names = list(SUBCOMMANDS)
    hint = CATALOG.t(lang, "help.unknown", given=escape("&<>" * 13 + "…"))
    check_message("help", help_message(CATALOG, lang, names, hint=hint))
    check_message("help answer", help_answer(CATALOG, lang, names, unknown=True))

    meta = FormMeta(t="t" * 63, s="qualification.collecting", c="C" + "0" * 63, x={"k": "v" * 64})
    modals = {
        "account": forms.account_form(CATALOG, lang, meta),
        "instance": forms.instance_form(CATALOG, lang, meta),
        "script": forms.script_form(CATALOG, lang, meta),
        "purchase": forms.purchase_form(CATALOG, lang, meta),
        "sip": sip_form(CATALOG, lang, meta),
        "reject": reject_form(CATALOG, lang, meta, CallbackId.REJECT_DOCUMENT, escape(FILE_NAME)),
        "assigned": assigned_number_form(CATALOG, lang, meta),
        **{
            f"checklist {step.value}": forms.checklist_form(CATALOG, lang, meta, step)
            for step in (Step.CONSOLE, Step.LOGIN, Step.SDK)
        },
    }
    for name, view in modals.items():
        check_view(f"{name} form", view, "modal")

    # An SE with 80 onboardings, at every stage, with the longest names.
    records = [
        record_of(STAGES[n % len(STAGES)], COMPANIES[n % len(COMPANIES)], lang).model_copy(
            update={"tenant_id": f"tenant-{n:02d}-" + "x" * 40}
        )
        for n in range(80)
    ]
    se_view = se_home(records, CATALOG, lang, NOW, StallPolicy())
    check_view("SE Home", se_view, "home")
    shown = str(se_view)
    active = [r for r in records if r.step is not Step.LIVE]
    assert all(r.tenant_id in shown for r in active)  # every onboarding, none cut off
    check_view("empty customer Home", customer_home(None, CATALOG, lang), "home")


def worst_summary(lang: Lang) -> Summary:
    records = [record_of(STAGES[n * 7], COMPANIES[n % 3], lang) for n in range(5)]
    return Summary(
        at=NOW,
        per_step={step: 99_999 for step in Step},
        stalled_per_step={step: 99_998 for step in Step.ordered()},
        longest=tuple(Stalled(r, NOW - timedelta(days=400)) for r in records),
        median_days={step: 1234.5 for step in Step.ordered()},
        live_this_week=9_999,
        live_total=99_999,
        per_owner={f"U0SE{n:07d}": 9_999 for n in range(80)},
    )


@pytest.mark.parametrize("lang", list(Lang))
def test_stalls_summaries_and_digests_render_within_slacks_limits(lang: Lang) -> None:
    policy = StallPolicy()
    summary = worst_summary(lang)
    check_message("summary", summary_message(summary, CATALOG, lang, policy))
    changes = Changes(
        went_live=tuple(s.record for s in summary.longest) * 20,
        newly_stalled=tuple(s.record for s in summary.longest) * 20,
        escalated=tuple(s.record for s in summary.longest) * 20,
        unstalled=tuple(s.record for s in summary.longest) * 20,
    )
    digest = digest_message(summary, changes, NOW - timedelta(days=7), CATALOG, lang, policy)
    check_message("digest", digest)
    home = manager_home(summary, CATALOG, lang, policy, "F0123456789")
    check_view("manager Home", home, "home")
    for item in summary.longest:
        record = item.record.model_copy(update={"se_user": "U0SOLENG001"})
        stall = StallState(
            since=item.since, noticed_at=NOW, step=record.step, waits_on=WaitsOn.CUSTOMER
        )
        record = record.model_copy(update={"stall": stall, "last_reminder_at": NOW})
        for rung in (1, 2):
            notice = owner_notice(record, stall, rung, CATALOG, lang, policy, NOW)
            check_message(f"owner notice {rung}", notice)
        check_message("managers", managers_notice(record, stall, CATALOG, lang, policy, NOW))
        check_message("reminder", reminder_message(record, CATALOG, policy, NOW))
        check_message("nudge", reminder_message(record, CATALOG, policy, NOW, "U0SOLENG001"))
    stalled = [
        record_of(STAGES[n % len(STAGES)], COMPANIES[n % 3], lang).model_copy(
            update={
                "stall": StallState(
                    since=NOW, noticed_at=NOW, step=Step.ACCOUNT, waits_on=WaitsOn.US
                )
            }
        )
        for n in range(80)
    ]
    check_message("stalled list", stalled_list(stalled, 5_000, CATALOG, lang, policy, NOW))
