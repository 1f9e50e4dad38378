"""Reviews in the ops channel, end to end: the qualification documents (step 4) and the call
script of the number-purchase path (step 5), as customers and solution engineers see them.

Everything goes through the served HTTP endpoint; every check reads what the fake Slack
received (cards, updates, notices, ephemeral replies, modal errors).
"""

from __future__ import annotations

import json

import pytest

from bot.runtime import HttpService
from tests.e2e.conftest import CHANNEL, CUSTOMER_EN, CUSTOMER_ZH, MANAGER, OPS_CHANNEL, SE
from tests.e2e.journey import DOCX, Journey, buttons, message_text, texts, unique_pdf
from tests.e2e.ops import (
    APPROVE_DOCUMENT,
    APPROVE_SCRIPT,
    JSON,
    LEGAL_REP_UPLOADS,
    REJECT_DOCUMENT,
    REJECT_SCRIPT,
    Snapshot,
    button_for,
    buttons_of,
    callback_of,
    checklist,
    choose_path,
    document_kinds,
    new_prompt,
    ops_cards,
    press,
    refused,
    submit_round,
    to_numbers,
    to_review,
    wait_updated,
)
from tests.fakeslack.driver import SlackDriver
from tests.fakeslack.server import FakeSlack
from tests.fakeslack.state import Message

OPEN_FORM = "step.form"

# Card titles in the ops language (zh).
DOCUMENTS_CARD = "资质审核"
SCRIPT_CARD = "话术审核"
DOC_ZH = {
    "business_license": "营业执照扫描件",
    "legal_rep_id": "法定代表人身份证正反面扫描件",
    "legal_rep_holding_id": "法定代表人手持身份证照",
    "phone_acceptance_form": "电话受理单",
    "network_access_commitment": "电信入网承诺书",
}
DOC_EN = {
    "business_license": "Business licence scan",
    "legal_rep_id": "Legal representative's ID card, both sides",
}
# What the customer is told, per language: approved / rejected (and asked for a new file).
TOLD = {
    "zh": {"approved": "已审核通过", "rejected": "未通过审核", "replace": "请按要求重新上传"},
    "en": {
        "approved": "is approved",
        "rejected": "was not approved",
        "replace": "upload a new one",
    },
}


def journey(slack: SlackDriver, fake: FakeSlack, customer: str = CUSTOMER_ZH) -> Journey:
    return Journey(slack, fake, CHANNEL, customer, SE, OPS_CHANNEL)


def section_of(card: Message, needle: str) -> str:
    """The text of the card's block that mentions `needle` (a document's section)."""
    for block in card.blocks or []:
        if needle in texts([block]):
            return texts([block])
    raise AssertionError(f"no block with {needle!r} on the card: {message_text(card)}")


def reject_forms(j: Journey) -> int:
    return sum(
        1
        for c in j.fake.calls("views.open")
        if callback_of(c.args.get("view")) == "form.reject_document"
    )


async def told_next(j: Journey, count: int) -> None:
    """Wait for the customer's channel to get its next message (a verdict's notice)."""
    await j.fake.wait_for_message(channel=j.channel, where=lambda m: not m.ephemeral, count=count)


async def reject(j: Journey, card: Message, kind: str, reason: str) -> None:
    """The SE clicks Reject on `kind` and gives `reason`; waits for the card to show it and
    the customer to be told."""
    opened = reject_forms(j)
    versions = len(card.history)
    told = len(j.messages())
    await press(j, card, button_for(card, REJECT_DOCUMENT, kind), user=SE)
    form = await j.opened_form("form.reject_document", count=opened + 1)
    reply = await j.submit(form, {"reason": reason}, user=SE)
    assert not reply.text.strip(), reply.text  # the form closes
    await wait_updated(j, card, versions)
    await told_next(j, told + 1)


async def approve(j: Journey, card: Message, kind: str) -> None:
    versions = len(card.history)
    told = len(j.messages())
    await press(j, card, button_for(card, APPROVE_DOCUMENT, kind), user=SE)
    await wait_updated(j, card, versions)
    await told_next(j, told + 1)


# -- the card -------------------------------------------------------------------------------------


async def test_a_submission_posts_one_card_with_every_document(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    card = await to_review(j)
    assert card.channel == OPS_CHANNEL
    # One card for the submission (the ops notice beside it carries no buttons).
    assert ops_cards(j, DOCUMENTS_CARD) == [card]
    text = message_text(card)
    assert j.tenant and f"`{j.tenant}`" in text
    assert "公司法定代表人" in text  # who applies (cards are in the ops language, zh)
    by_name = {f.name: f for f in fake.files.values()}
    for kind, file_name, _ in LEGAL_REP_UPLOADS:
        stored = by_name[file_name]
        section = section_of(card, DOC_ZH[kind])
        permalink = fake.file_info(stored.id)["permalink"]
        assert f"<{permalink}|{file_name}>" in section  # opens the file in Slack
        assert "application/pdf" in section
        assert f"{len(stored.content or b'')} B" in section
        assert f"<@{CUSTOMER_ZH}>" in section  # who uploaded it
        for action in (APPROVE_DOCUMENT, REJECT_DOCUMENT):
            value = json.loads(button_for(card, action, kind)["value"])
            assert value == {"t": j.tenant, "k": kind, "r": 1}
    kinds = sorted(k for k, _, _ in LEGAL_REP_UPLOADS)
    assert sorted(document_kinds(card)) == kinds
    assert sorted(document_kinds(card, REJECT_DOCUMENT)) == kinds


async def test_reject_asks_for_the_reason_in_a_form(slack: SlackDriver, fake: FakeSlack) -> None:
    j = journey(slack, fake)
    card = await to_review(j)
    await press(j, card, button_for(card, REJECT_DOCUMENT, "legal_rep_id"), user=SE)
    form = await j.opened_form("form.reject_document")
    inputs = [b for b in form.view["blocks"] if b["type"] == "input"]
    assert [b["block_id"] for b in inputs] == ["reason"]
    # The SE reads English (their Slack locale); the form names the document.
    assert DOC_EN["legal_rep_id"] in texts(form.view["blocks"])
    assert Snapshot.of(card).versions == 0  # opening the form changes nothing yet


# -- who may review -------------------------------------------------------------------------------


async def test_only_solution_engineers_can_review(slack: SlackDriver, fake: FakeSlack) -> None:
    j = journey(slack, fake)
    card = await to_review(j)
    # Say a customer-side user could see the ops channel; a manager can.
    fake.channels[OPS_CHANNEL].members.append(CUSTOMER_EN)
    before = Snapshot.of(card)
    updates = len(fake.calls("chat.update"))
    told = len(j.messages())

    await press(j, card, button_for(card, APPROVE_DOCUMENT, "business_license"), user=MANAGER)
    await j.wait_ephemeral(MANAGER, "只有解决方案工程师")  # the manager reads Chinese
    await press(j, card, button_for(card, REJECT_DOCUMENT, "business_license"), user=CUSTOMER_EN)
    await j.wait_ephemeral(CUSTOMER_EN, "Only solution engineers")
    # Someone who is not even a member (Slack refuses an ephemeral to them) is answered
    # through the click's response_url.
    await press(j, card, button_for(card, APPROVE_DOCUMENT, "legal_rep_id"), user=CUSTOMER_ZH)
    (answer,) = await fake.wait_for(
        "response_url", where=lambda c: "只有解决方案工程师" in str(c.args.get("text"))
    )
    assert answer.args.get("response_type") == "ephemeral"
    assert answer.args.get("replace_original") is False

    assert before.unchanged(card)
    assert len(fake.calls("chat.update")) == updates
    assert reject_forms(j) == 0  # no reason form for a non-SE
    assert len(j.messages()) == told  # the customer's channel heard nothing


# -- verdicts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("lang", "customer"), [("zh", CUSTOMER_ZH), ("en", CUSTOMER_EN)])
async def test_verdicts_update_the_card_and_are_told_to_the_customer(
    slack: SlackDriver, fake: FakeSlack, bot: HttpService, lang: str, customer: str
) -> None:
    j = journey(slack, fake, customer)
    # The tenant speaks its starter's language (the SE's, English) until switched.
    card = await to_review(j, lang="zh" if lang == "zh" else None)
    names = DOC_ZH if lang == "zh" else DOC_EN
    told = TOLD[lang]

    await approve(j, card, "business_license")
    assert f"<@{SE}>" in section_of(card, DOC_ZH["business_license"])  # who approved it
    assert "business_license" not in document_kinds(card)  # its buttons are gone
    await j.wait_text(f"*{names['business_license']}* {told['approved']}")

    reason = "公章不清晰，请重新扫描 (seal illegible)"
    await reject(j, card, "legal_rep_id", reason)
    assert reason in section_of(card, DOC_ZH["legal_rep_id"])
    assert "legal_rep_id" not in document_kinds(card, REJECT_DOCUMENT)
    notice = await j.wait_text(told["rejected"])
    # The rejection names the document and the reason, and asks for a replacement.
    assert names["legal_rep_id"] in message_text(notice)
    assert reason in message_text(notice)
    assert told["replace"] in message_text(notice)

    # Every verdict updated the one card in place; no second card was posted.
    assert ops_cards(j, DOCUMENTS_CARD) == [card]
    assert {
        c.args["ts"] for c in fake.calls("chat.update") if c.args["channel"] == OPS_CHANNEL
    } == {card.ts}
    # The audit is internal (no user sees it), so it is read from the store here.
    audit = await bot.services.store.audit(j.tenant or "")
    verdicts = [(e.event, e.actor.user_id, e.detail.get("kind")) for e in audit]
    assert ("approve_document", SE, "business_license") in verdicts
    assert ("reject_document", SE, "legal_rep_id") in verdicts


async def test_all_approved_completes_step_four_after_a_replacement(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    card = await to_review(j, lang="zh")
    await reject(j, card, "legal_rep_id", "照片模糊")
    for kind in ("business_license", "legal_rep_holding_id", "phone_acceptance_form"):
        await approve(j, card, kind)
    await approve(j, card, "network_access_commitment")
    # Every document has a verdict and one was rejected: the customer is asked to replace it.
    rework = await j.wait_text("需要重新上传的材料")
    assert f"{DOC_ZH['legal_rep_id']}*：照片模糊" in message_text(rework)

    ts = await j.upload("legal-v2.pdf", unique_pdf("legal v2"), "法定代表人身份证")
    await j.thread_reply(ts)
    second = await submit_round(j, "qualification.rework", 2)
    assert second.ts != card.ts
    assert document_kinds(second) == ["legal_rep_id"]  # only the replacement waits
    assert json.loads(button_for(second, APPROVE_DOCUMENT, "legal_rep_id")["value"])["r"] == 2
    assert "legal-v2.pdf" in section_of(second, DOC_ZH["legal_rep_id"])

    await approve(j, second, "legal_rep_id")
    await j.wait_text(f"*{DOC_ZH['legal_rep_id']}* 已审核通过")
    # Step 4 is complete: the next step (how to get a number) is asked, the checklist shows it.
    choose = await j.wait_prompt("numbers.choose")
    assert "固话" in message_text(choose) and "400" in message_text(choose)
    assert "✅ 4. " in checklist(j) and "▶️ 5. " in checklist(j)


async def test_a_document_rejected_mid_round_is_replaced_at_once_and_reviewed_in_that_round(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    card = await to_review(j, lang="zh")
    # The licence is rejected while the other four still wait for a verdict.
    await reject(j, card, "business_license", "未加盖公章")
    notice = await j.wait_text(TOLD["zh"]["rejected"])
    assert TOLD["zh"]["replace"] in message_text(notice)
    assert "1 份材料未通过审核" in checklist(j)  # the next action agrees with the notice

    versions = len(card.history)
    ts = await j.upload("license-stamped.pdf", unique_pdf("licence v2"), "营业执照")
    reply = await j.thread_reply(ts)
    said = message_text(reply)
    assert "已用新文件替换" in said and "第 2 版" in said and "本轮审核" in said
    assert "不需要上传" not in said
    # The card shows the new version with its own verdict buttons, and why v1 was turned down.
    await wait_updated(j, card, versions)
    licence = section_of(card, "license-stamped.pdf")
    assert "第 2 版" in licence and "未加盖公章" in licence
    assert json.loads(button_for(card, APPROVE_DOCUMENT, "business_license")["value"])["r"] == 2
    await j.wait_text("上传了 *营业执照扫描件* 的新版本", channel=OPS_CHANNEL)

    for kind in ("business_license", "legal_rep_id", "legal_rep_holding_id"):
        await approve(j, card, kind)
    await approve(j, card, "phone_acceptance_form")
    await approve(j, card, "network_access_commitment")
    # One round was enough: step 4 passed, no second submission or card.
    await j.wait_prompt("numbers.choose")
    assert ops_cards(j, DOCUMENTS_CARD) == [card]
    assert "✅ 4. " in checklist(j)


async def test_an_approved_document_cannot_be_replaced_during_the_review(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    card = await to_review(j, lang="zh")
    await approve(j, card, "business_license")
    before = Snapshot.of(card)
    ts = await j.upload("license-again.pdf", unique_pdf("licence again"), "营业执照")
    reply = await j.thread_reply(ts)
    assert "已经审核通过，无需替换" in message_text(reply)
    assert before.unchanged(card)


# -- bad input ------------------------------------------------------------------------------------


async def test_a_verdict_on_a_replaced_document_is_refused(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    card = await to_review(j)
    as_first_seen = fake.message_json(card)
    stale_approve = button_for(card, APPROVE_DOCUMENT, "legal_rep_id")  # revision 1
    await reject(j, card, "legal_rep_id", "照片模糊")
    for kind in (
        "business_license",
        "legal_rep_holding_id",
        "phone_acceptance_form",
        "network_access_commitment",
    ):
        await approve(j, card, kind)
    await j.wait_text("Documents to upload again")
    ts = await j.upload("legal-v2.pdf", unique_pdf("legal v2"), "法定代表人身份证")
    await j.thread_reply(ts)
    second = await submit_round(j, "qualification.rework", 2)
    before, before_first = Snapshot.of(second), Snapshot.of(card)
    told = len(j.messages())

    # An SE whose client still shows the first card approves revision 1 of the replaced file.
    await press(j, card, stale_approve, user=SE, as_seen=as_first_seen)
    await j.wait_ephemeral(SE, "you saw revision 1, the current one is 2")
    assert before.unchanged(second) and before_first.unchanged(card)
    assert document_kinds(second) == ["legal_rep_id"]
    assert len(j.messages()) == told


async def test_a_second_verdict_on_one_document_is_refused(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    card = await to_review(j)
    as_first_seen = fake.message_json(card)
    first = button_for(card, APPROVE_DOCUMENT, "business_license")
    reject_it = button_for(card, REJECT_DOCUMENT, "business_license")
    await approve(j, card, "business_license")
    before = Snapshot.of(card)
    told = len(j.messages())

    # A double click, or a second SE looking at the card as it was.
    await press(j, card, first, user=SE, as_seen=as_first_seen)
    await j.wait_ephemeral(SE, "already has a verdict")
    await press(j, card, reject_it, user=SE, as_seen=as_first_seen)
    # Rejecting it is refused at once, before a form asks for a reason.
    await refused(j, SE, "already has a verdict", count=2)
    assert reject_forms(j) == 0
    assert before.unchanged(card)
    assert len(j.messages()) == told


async def test_a_rejection_without_a_reason_is_refused_on_the_form(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    card = await to_review(j)
    before = Snapshot.of(card)
    told = len(j.messages())
    await press(j, card, button_for(card, REJECT_DOCUMENT, "legal_rep_id"), user=SE)
    form = await j.opened_form("form.reject_document")
    for blank in ("", "   \n  "):
        reply = await j.submit(form, {"reason": blank}, user=SE)
        body = reply.json()
        assert body["response_action"] == "errors", body
        assert set(body["errors"]) == {"reason"}
        assert "Enter a reason" in body["errors"]["reason"]
    assert before.unchanged(card)
    assert "legal_rep_id" in document_kinds(card, REJECT_DOCUMENT)
    assert len(j.messages()) == told
    assert buttons_of(card, APPROVE_DOCUMENT)


# -- the call script (step 5, buying a number) ----------------------------------------------------

PURCHASE_GUIDE = "https://cloud.tencent.com/document/product/679/63785"
PRICING = "https://cloud.tencent.com/document/product/679/45797"
SCRIPT_TEXT = "您好，这里是示例科技客服中心，本次通话可能被录音。请问有什么可以帮您？"


def script_cards(j: Journey) -> list[Message]:
    return ops_cards(j, SCRIPT_CARD)


async def click_form(j: Journey, stage: str, form: str) -> None:
    prompt = await j.wait_prompt(stage, having=f'"f":"{form}"')
    await j.click(prompt, lambda b: f'"f":"{form}"' in str(b.get("value")))


async def submit_script_text(j: Journey, text: str = SCRIPT_TEXT) -> Message:
    """Type the script in its form; returns its review card once the SEs are told."""
    cards = len(script_cards(j))
    opened = len(j.fake.calls("views.open"))
    await click_form(j, "numbers.script", "script")
    calls = await j.fake.wait_for("views.open", count=opened + 1)
    form = j.fake.views[calls[-1].response["view"]["id"]]
    assert form.view["callback_id"] == "form.script"
    reply = await j.submit(form, {"script": text})
    assert not reply.text.strip(), reply.text
    return await script_card_after(j, cards)


async def script_card_after(j: Journey, cards: int) -> Message:
    await j.fake.wait_for_message(channel=OPS_CHANNEL, where=lambda m: len(script_cards(j)) > cards)
    found = script_cards(j)
    revision = len(found)
    await j.wait_text(f"已提交话术（第 {revision} 版）", channel=OPS_CHANNEL)  # the last effect
    return found[-1]


async def script_verdict(
    j: Journey, card: Message, action: str, *, reason: str | None = None
) -> None:
    """The SE approves, or rejects for `reason`; returns once the card is updated, the customer
    told, and the next prompt (buy the number, or submit the script again) posted."""
    versions = len(card.history)
    since = len(j.fake.messages(j.channel))
    forms = len(j.fake.calls("views.open"))
    await press(j, card, button_for(card, action), user=SE)
    if reason is not None:
        calls = await j.fake.wait_for("views.open", count=forms + 1)
        form = j.fake.views[calls[-1].response["view"]["id"]]
        reply = await j.submit(form, {"reason": reason}, user=SE)
        assert not reply.text.strip(), reply.text
    await wait_updated(j, card, versions)
    await new_prompt(j, "numbers.script" if reason else "numbers.purchase", since)


async def test_landline_script_review_then_purchase_completes_step_five(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    await to_numbers(j, lang="zh")
    await choose_path(j, "landline")
    script_prompt = await j.wait_prompt("numbers.script", having='"f":"script"')
    script_prompt_seen = fake.message_json(script_prompt)
    # Nothing to buy before the script passes: no purchase links, no purchase button.
    assert PURCHASE_GUIDE not in message_text(script_prompt)
    assert "confirm_purchase" not in json.dumps(script_prompt.blocks)

    card = await submit_script_text(j)
    await j.wait_text("话术已提交审核")
    assert SCRIPT_TEXT in message_text(card) and f"`{j.tenant}`" in message_text(card)
    for action in (APPROVE_SCRIPT, REJECT_SCRIPT):
        assert json.loads(button_for(card, action)["value"]) == {"t": j.tenant, "r": 1}

    # Only SEs review the script too.
    before = Snapshot.of(card)
    await press(j, card, button_for(card, APPROVE_SCRIPT), user=MANAGER)
    await j.wait_ephemeral(MANAGER, "只有解决方案工程师")
    await press(j, card, button_for(card, REJECT_SCRIPT), user=MANAGER)
    await refused(j, MANAGER, "只有解决方案工程师", count=2)
    assert before.unchanged(card)
    assert not [
        c
        for c in fake.calls("views.open")
        if callback_of(c.args.get("view")) == "form.reject_script"
    ]

    # Rejected: the card says why, the customer is told why and asked to resubmit.
    first_seen = fake.message_json(card)
    reason = "缺少录音告知以外的隐私说明"
    since = len(fake.messages(CHANNEL))
    await script_verdict(j, card, REJECT_SCRIPT, reason=reason)
    assert reason in message_text(card) and not buttons_of(card, APPROVE_SCRIPT)
    rejected = await j.wait_text("话术未通过审核")
    assert reason in message_text(rejected) and "请修改后重新提交" in message_text(rejected)
    again = await new_prompt(j, "numbers.script", since, having='"f":"script"')
    assert reason in message_text(again)

    # The customer resubmits as a file, which goes to review as a new card linking to it.
    cards = len(script_cards(j))
    ts = await j.upload("话术-v2.docx", DOCX, "新版话术")
    second = await script_card_after(j, cards)
    assert second.ts != card.ts
    stored = next(f for f in fake.files.values() if f.name == "话术-v2.docx")
    assert f"<{fake.file_info(stored.id)['permalink']}|话术-v2.docx>" in message_text(second)
    assert json.loads(button_for(second, APPROVE_SCRIPT)["value"])["r"] == 2
    assert ts  # the file's message needs no reply: the notice and card say it all

    # An SE still looking at the first card cannot approve the old revision.
    told = len(j.messages())
    stale = first_button(first_seen, APPROVE_SCRIPT)
    await press(j, card, stale, user=SE, as_seen=first_seen)
    await j.wait_ephemeral(SE, "you saw revision 1, the current one is 2")
    assert len(j.messages()) == told and len(second.history) == 0

    # Approved: the purchase instructions for a landline, with the guide and the pricing.
    await script_verdict(j, second, APPROVE_SCRIPT)
    await j.wait_text("话术审核已通过")
    purchase = await j.wait_prompt("numbers.purchase", having='"f":"purchase"')
    shown = message_text(purchase)
    assert PURCHASE_GUIDE in shown and PRICING in shown and "固话号码" in shown
    # The script prompt's button, clicked now, says what to do instead, with working links.
    stale_form = first_button(script_prompt_seen, OPEN_FORM)
    await press(j, script_prompt, stale_form, user=CUSTOMER_ZH, as_seen=script_prompt_seen)
    stale = await refused(j, CUSTOMER_ZH, "这个按钮已经过期")
    assert f"<{PURCHASE_GUIDE}" in stale.text and "&lt;" not in stale.text, stale.text

    await click_form(j, "numbers.purchase", "purchase")
    form = await j.opened_form("form.purchase")
    reply = await j.submit(form, {"number": "020 8888 6666"})
    assert not reply.text.strip(), reply.text
    # Step 5 is complete: step 6 is prompted and the checklist shows step 5 done.
    await j.wait_prompt("console")
    assert "✅ 5. " in checklist(j) and "▶️ 6. " in checklist(j)
    await j.wait_text("020 8888 6666", channel=OPS_CHANNEL)


def first_button(message: JSON, action_id: str) -> JSON:
    """A button of a message as Slack showed it (`fake.message_json`)."""
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return dict(element, block_id=block.get("block_id"))
    raise AssertionError(f"no {action_id} in {message}")


async def test_a_400_number_is_explained_as_inbound_only_before_it_is_chosen(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake, CUSTOMER_EN)
    await to_numbers(j)
    await choose_path(j, "toll_free_400")
    confirm = await j.wait_prompt("numbers.confirm_400")
    assert "inbound only; it cannot make outbound calls" in message_text(confirm)
    labels = [b["text"]["text"] for b in buttons(confirm)]
    assert labels == ["I understand a 400 number is inbound only", "Go back and choose again"]

    # Going back offers the three paths again; the 400 path can be chosen again. Each wait is
    # for a prompt posted after the click: the earlier ones may not have lost their buttons yet.
    since = len(fake.messages(CHANNEL))
    await j.click(confirm, lambda b: "back_to_number_choice" in str(b.get("value")))
    choose_again = await new_prompt(j, "numbers.choose", since, having="toll_free_400")
    since = len(fake.messages(CHANNEL))
    await j.click(choose_again, lambda b: '"path":"toll_free_400"' in str(b.get("value")))
    confirm = await new_prompt(
        j, "numbers.confirm_400", since, having="confirm_toll_free_inbound_only"
    )
    await j.click(confirm, lambda b: "confirm_toll_free_inbound_only" in str(b.get("value")))

    card = await submit_script_text(j, "Hello, this is Acme support. This call may be recorded.")
    await script_verdict(j, card, APPROVE_SCRIPT)
    purchase = await j.wait_prompt("numbers.purchase", having='"f":"purchase"')
    shown = message_text(purchase)
    assert "a 400 number" in shown and PURCHASE_GUIDE in shown and PRICING in shown


async def test_script_verdicts_refuse_bad_input(slack: SlackDriver, fake: FakeSlack) -> None:
    j = journey(slack, fake, CUSTOMER_EN)
    await to_numbers(j)
    await choose_path(j, "landline")
    card = await submit_script_text(j)
    before = Snapshot.of(card)
    told = len(j.messages())

    # A rejection needs a reason.
    await press(j, card, button_for(card, REJECT_SCRIPT), user=SE)
    form = await j.opened_form("form.reject_script")
    reply = await j.submit(form, {"reason": "  "}, user=SE)
    assert reply.json()["response_action"] == "errors"
    assert set(reply.json()["errors"]) == {"reason"}
    assert before.unchanged(card) and len(j.messages()) == told

    # A second verdict (a double click on the card as first shown) changes nothing.
    first_seen = fake.message_json(card)
    await script_verdict(j, card, APPROVE_SCRIPT)
    await j.wait_prompt("numbers.purchase")  # the approval's messages have all arrived
    after = Snapshot.of(card)
    told = len(j.messages())
    forms = len(fake.calls("views.open"))
    await press(j, card, first_button(first_seen, REJECT_SCRIPT), user=SE, as_seen=first_seen)
    await refused(j, SE, "not available at the current step")
    assert len(fake.calls("views.open")) == forms  # no reason asked for a verdict refused
    await press(j, card, first_button(first_seen, APPROVE_SCRIPT), user=SE, as_seen=first_seen)
    await refused(j, SE, "not available at the current step", count=2)
    assert after.unchanged(card) and len(j.messages()) == told
