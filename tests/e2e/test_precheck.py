"""The upload pre-check end to end: a scan that looks wrong is told at once, with "Upload again"
and "Send anyway", stays out of review until the customer chooses, and the reviewer sees it."""

from __future__ import annotations

from bot.documents.formats import FileFormat
from tests.documents.scans import blur, encode, page, seal
from tests.e2e.conftest import CHANNEL, CUSTOMER_EN, OPS_CHANNEL, SE
from tests.e2e.conversation import wait_refusal
from tests.e2e.journey import PDF, Journey, buttons, message_text, texts
from tests.fakeslack.driver import SlackDriver
from tests.fakeslack.server import FakeSlack, Message

# A business licence (which must be stamped) scanned out of focus, without its seal.
BLURRY_UNSTAMPED = encode(blur(page(1400, 1000)), FileFormat.JPEG)
CLEAN = encode(seal(page(1400, 1000, seed=5)), FileFormat.JPEG)
OTHERS = [
    ("id.pdf", "legal representative ID card"),
    ("holding.pdf", "legal representative holding the ID card"),
    ("form.pdf", "phone acceptance form"),
    ("commitment.pdf", "network access commitment letter"),
]


async def with_other_documents(fake: FakeSlack, slack: SlackDriver) -> Journey:
    j = Journey(slack, fake, CHANNEL, CUSTOMER_EN, SE, OPS_CHANNEL)
    await j.start("Acme Technology")
    await j.through_instance()
    await j.choose_role("legal_rep")
    for name, words in OTHERS:
        await j.thread_reply(await j.upload(name, PDF + f"% {name}\n".encode(), words), "Received")
    return j


async def findings_reply(j: Journey, ts: str) -> Message:
    reply = await j.thread_reply(ts, "may be hard to review")
    shown = message_text(reply)
    assert "Received *Business licence scan*" in shown
    assert "It looks blurry" in shown and "I cannot see a red company seal" in shown
    assert "password" not in shown  # only what was found
    labels = [b["text"]["text"] for b in buttons(reply)]
    assert labels == ["Upload again", "Send anyway"]
    return reply


def submit_prompts(fake: FakeSlack) -> list[Message]:
    return [
        m
        for m in fake.messages(CHANNEL)
        if any("submit_documents" in str(b.get("value")) for b in buttons(m))
    ]


async def test_a_blurry_unstamped_scan_is_told_at_once_and_reviewed_with_its_findings_if_sent(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = await with_other_documents(fake, slack)
    ts = await j.upload("licence.jpg", BLURRY_UNSTAMPED, "business licence")
    reply = await findings_reply(j, ts)
    # Every document is in, but this one waits for the customer's choice: no submission yet.
    status = await j.command("status", user=CUSTOMER_EN)
    assert "look like they may not be readable" in texts(status.json()["blocks"])
    assert not submit_prompts(fake)

    await j.click(reply, "Send anyway")

    await fake.wait_until(lambda: bool(submit_prompts(fake)), what="the submit prompt")
    settled = await j.thread_reply(ts, "sent *Business licence scan* as it is")
    assert not buttons(settled)
    await j.click(submit_prompts(fake)[-1], "Submit for review")
    card = await j.review_card()
    shown = texts(card.blocks)
    # The ops channel reads Chinese: the findings, and that the customer sent it anyway.
    assert "上传检查发现：模糊、未见红色公章。客户选择仍然提交。" in shown
    assert any(
        b["action_id"] == "review.document.approve" and '"k":"business_license"' in b["value"]
        for b in buttons(card)
    )
    # The other documents had nothing found.
    assert shown.count("上传检查发现") == 1


async def test_upload_again_explains_and_a_clean_replacement_goes_to_review_without_findings(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = await with_other_documents(fake, slack)
    ts = await j.upload("licence.jpg", BLURRY_UNSTAMPED, "business licence")
    reply = await findings_reply(j, ts)

    click = await j.click(reply, "Upload again")
    await wait_refusal(fake, click, "It replaces this one, which will not be reviewed")
    assert not submit_prompts(fake)

    again = await j.upload("licence-rescan.jpg", CLEAN, "business licence")
    replaced = await j.thread_reply(again, "Replaced *Business licence scan*")
    assert "may be hard to review" not in message_text(replaced) and not buttons(replaced)
    await fake.wait_until(lambda: bool(submit_prompts(fake)), what="the submit prompt")
    await j.click(submit_prompts(fake)[-1], "Submit for review")
    card = await j.review_card()
    shown = texts(card.blocks)
    assert "licence-rescan.jpg" in shown and "上传检查发现" not in shown
    approvable = [b for b in buttons(card) if b["action_id"] == "review.document.approve"]
    assert len(approvable) == 5
