"""Smoke: the journey helper reaches step 5 (the detailed tests live elsewhere)."""

from __future__ import annotations

from tests.e2e.conftest import CHANNEL, CUSTOMER_ZH, OPS_CHANNEL, SE
from tests.e2e.journey import Journey, unique_pdf
from tests.fakeslack.driver import SlackDriver
from tests.fakeslack.server import FakeSlack


async def test_legal_rep_reaches_step_five(slack: SlackDriver, fake: FakeSlack) -> None:
    j = Journey(slack, fake, CHANNEL, CUSTOMER_ZH, SE, OPS_CHANNEL)
    await j.start()
    await j.through_instance()
    await j.choose_role("legal_rep")
    for name, words in [
        ("license.pdf", "营业执照"),
        ("legal.pdf", "法定代表人身份证"),
        ("holding.pdf", "法定代表人手持身份证照"),
        ("form.pdf", "电话受理单"),
        ("commit.pdf", "入网承诺书"),
    ]:
        file = await j.upload(name, unique_pdf(name), words)
        await j.thread_reply(file)
    prompt = await j.wait_prompt("qualification.collecting", having="submit_documents")
    await j.click(prompt, lambda b: "submit_documents" in str(b.get("value")))
    await j.approve_all()
    await j.wait_prompt("numbers.choose")
