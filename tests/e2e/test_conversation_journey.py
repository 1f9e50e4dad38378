"""The whole conversation from `/onboard start` to step 5: both applicants, both languages."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import CHANNEL, CUSTOMER_EN, CUSTOMER_ZH, OPS_CHANNEL, SE
from tests.e2e.conversation import (
    checklist_posts,
    checklists,
    marks,
    prompt_posts,
    step_marks,
    wait_marks,
)
from tests.e2e.journey import JPEG, PDF, PNG, Journey, buttons, message_text, stage_of
from tests.fakeslack.driver import SlackDriver
from tests.fakeslack.server import FakeSlack

# What a customer writes with each file, per applicant and language.
UPLOADS = {
    ("agent", "zh"): [
        ("营业执照.pdf", "营业执照"),
        ("scan-1.pdf", "法定代表人身份证正反面"),
        ("scan-2.pdf", "经办人身份证"),
        ("selfie.jpg", "经办人手持身份证照"),
        ("form.pdf", "电话受理单"),
        ("commit.pdf", "电信入网承诺书"),
        ("auth.png", "委托授权书"),
    ],
    ("agent", "en"): [
        ("BusinessLicense.pdf", ""),
        ("scan-1.pdf", "legal representative ID card"),
        ("scan-2.pdf", "agent ID card"),
        ("selfie.jpg", "agent holding the ID card"),
        ("form.pdf", "phone acceptance form"),
        ("commit.pdf", "network access commitment letter"),
        ("auth.png", "letter of authorization"),
    ],
    ("legal_rep", "zh"): [
        ("执照.pdf", "营业执照副本"),
        ("id.pdf", "法人身份证"),
        ("holding.jpg", "法定代表人手持身份证照"),
        ("电话受理单.pdf", ""),
        ("承诺书.png", ""),
    ],
    ("legal_rep", "en"): [
        ("licence.pdf", "business licence"),
        ("id.pdf", "legal representative ID card"),
        ("holding.jpg", "legal rep holding ID"),
        ("acceptance-form.pdf", ""),
        ("commitment.png", "commitment letter"),
    ],
}

SAID = {
    "zh": {
        "received": "已收到",
        "last": "这是最后一份",
        "submit": "提交审核",
        "submitted": "资质材料已提交",
        "approved": "已审核通过",
        "paths": ["购买固话号码", "购买 400 号码", "对接企业自有号码（SIP Trunk）"],
        "step5": "步骤 5：号码对接",
        "instance": "系统会把登录密码发到管理员邮箱 a•••@example.cn",
    },
    "en": {
        "received": "Received",
        "last": "That was the last one",
        "submit": "Submit for review",
        "submitted": "Your qualification documents are submitted",
        "approved": "is approved",
        "paths": [
            "Buy a landline number",
            "Buy a 400 number",
            "Connect my own number (SIP trunk)",
        ],
        "step5": "Step 5: Number access",
        "instance": "The login password is emailed to the admin address a•••@example.cn",
    },
}

_HAN = re.compile(r"[\u4e00-\u9fff]")


def content_for(name: str) -> bytes:
    kind = JPEG if name.endswith(".jpg") else PNG if name.endswith(".png") else PDF
    return kind + f"-{name}-".encode() * 2


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("role", ["agent", "legal_rep"])
async def test_from_start_to_step_five(
    slack: SlackDriver, fake: FakeSlack, role: str, lang: str
) -> None:
    said = SAID[lang]
    customer = CUSTOMER_ZH if lang == "zh" else CUSTOMER_EN
    fake.users[SE].locale = "zh-CN" if lang == "zh" else "en-US"  # the starter's locale
    j = Journey(slack, fake, CHANNEL, customer, SE, OPS_CHANNEL)

    await j.start("示例科技有限公司" if lang == "zh" else "Example Technology")
    [checklist] = checklists(fake, CHANNEL)
    assert step_marks(checklist.blocks) == marks(0)

    # Steps 1-3 (the instance form's values are Chinese; the admin email is in the notice).
    await j.through_instance()
    await wait_marks(fake, checklist, marks(3))
    await j.wait_text(said["instance"])

    # Step 4: who applies, then every document, each confirmed in its thread.
    documents = UPLOADS[(role, lang)]
    prompt = await j.choose_role(role)
    assert len(documents) == (7 if role == "agent" else 5)
    assert not any("submit_documents" in str(b.get("value")) for b in buttons(prompt))
    for count, (name, text) in enumerate(documents, start=1):
        ts = await j.upload(name, content_for(name), text)
        key = "last" if count == len(documents) else "received"
        reply = await j.thread_reply(ts, said[key])
        assert reply.channel == CHANNEL
    submit = await j.wait_prompt("qualification.collecting", having="submit_documents")
    await j.click(submit, lambda b: "submit_documents" in str(b.get("value")))
    await j.wait_text(said["submitted"])
    # While the documents are reviewed, the prompt no longer offers to submit them.
    await fake.wait_until(lambda: buttons(submit) == [], what="the submit prompt closed")
    assert said["submit"] not in message_text(submit)

    # An SE approves each document on the review card in the ops channel.
    card = await j.review_card()
    assert len([b for b in buttons(card) if b["action_id"] == "review.document.approve"]) == len(
        documents
    )
    await j.approve_all()

    # Step 5: how to get a number.
    numbers = await j.wait_prompt("numbers.choose")
    assert said["step5"] in message_text(numbers)
    assert [b["text"]["text"] for b in buttons(numbers)] == said["paths"]
    await wait_marks(fake, checklist, marks(4))
    approvals = [m for m in j.messages() if said["approved"] in message_text(m)]
    assert len(approvals) == len(documents)

    # One checklist, posted once; one prompt per stage, and only the latest has buttons.
    assert checklists(fake, CHANNEL) == [checklist]
    assert len(checklist_posts(fake, CHANNEL)) == 1
    stages = [stage_of_blocks(c.args.get("blocks")) for c in prompt_posts(fake, CHANNEL)]
    assert stages == [
        "account",
        "real_name",
        "instance",
        "qualification.role",
        "qualification.collecting",
        "qualification.collecting",  # with the submit button, once the last one arrived
        "numbers.choose",
    ]
    await fake.wait_until(
        lambda: [m for m in j.messages() if stage_of(m) is not None] == [numbers],
        what="every earlier prompt closed",
    )

    # Everything posted in the channel speaks the tenant's language.
    for message in j.messages():
        shown = message_text(message)
        if lang == "zh":
            assert _HAN.search(shown), shown
            assert "Next:" not in shown and " the " not in shown, shown
        else:
            assert "下一步" not in shown and "还需" not in shown, shown


def stage_of_blocks(blocks: list[dict[str, object]] | None) -> str | None:
    for block in blocks or []:
        block_id = str(block.get("block_id") or "")
        if block.get("type") == "actions" and block_id.startswith("prompt:"):
            return block_id.removeprefix("prompt:")
    return None
