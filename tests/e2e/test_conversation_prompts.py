"""Step prompts: what they say, their buttons, refused clicks, the step 3 form, step 4's roles."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.e2e.conftest import CHANNEL, CUSTOMER_EN, CUSTOMER_ZH, OPS_CHANNEL, SE
from tests.e2e.conversation import (
    checklists,
    has_button,
    marks,
    prompt_posts,
    reply_text,
    step_marks,
    updates_of,
    view_text,
    wait_marks,
    wait_refusal,
)
from tests.e2e.journey import JSON, Journey, buttons, message_text, texts
from tests.fakeslack.driver import Reply, SlackDriver, checkboxes
from tests.fakeslack.server import FakeSlack, Message

STRANGER = "U0STRANGER1"  # in the workspace, not in the tenant's channel

# DOMAIN.md: the template of the telephone service acceptance form, and two examples.
ACCEPTANCE_FORM_TEMPLATE = (
    "https://console-ccc-1300884231.cos.ap-guangzhou.myqcloud.com/upload/"
    "%E7%94%B5%E8%AF%9D%E5%8F%97%E7%90%86%E5%8D%95.docx"
)
AUTHORIZATION_TEMPLATE = (
    "https://console-ccc-1300884231.cos.ap-guangzhou.myqcloud.com/upload/"
    "%E5%A7%94%E6%89%98%E6%8E%88%E6%9D%83%E4%B9%A6.docx"
)
LICENCE_EXAMPLE_AGENT = (
    "https://qcloudimg.tencent-cloud.cn/raw/a6ab03ee633ebacc30ca9c23d2cfb1f0.jpg"
)
LICENCE_EXAMPLE_LEGAL_REP = (
    "https://qcloudimg.tencent-cloud.cn/raw/9d7f49e859911175f1530b757ad7e423.jpg"
)
HOLDING_EXAMPLE = "https://qcloudimg.tencent-cloud.cn/raw/ffa1eeaa70cf30d706bddceb09918ff6.png"


def journey(slack: SlackDriver, fake: FakeSlack, customer: str = CUSTOMER_EN) -> Journey:
    return Journey(slack, fake, CHANNEL, customer, SE, OPS_CHANNEL)


def by_value(part: str) -> Any:
    return lambda b: part in str(b.get("value"))


async def click_old_button(
    j: Journey, message: Message, value_part: str, *, user: str | None = None
) -> Reply:
    """Click a button as the message first showed it (a client that has not refreshed)."""
    original: list[JSON] = message.history[0]["blocks"] if message.history else message.blocks
    stale = Message(message.channel, message.ts, message.text, message.user, blocks=original)
    chosen = next(b for b in buttons(stale) if value_part in str(b.get("value")))
    reply = await j.slack.block_action(
        chosen["action_id"],
        chosen["value"],
        user_id=user or j.customer,
        channel_id=message.channel,
        message_ts=message.ts,
        block_id=chosen["block_id"],
        message=j.fake.message_json(stale),
    )
    assert reply.status == 200, reply.text
    return reply


INSTANCE: dict[str, JSON | str] = {
    "call_center_name": "Acme Contact Center",
    "admin_name": "Sam Lee",
    "admin_email": "admin@acme.example",
    "sla_agreed": checkboxes(["agreed"]),
}


async def to_instance(j: Journey) -> Message:
    await j.click(await j.wait_prompt("account"), by_value("confirm_account"))
    await j.click(await j.wait_prompt("real_name"), by_value("confirm_real_name"))
    return await j.wait_prompt("instance")


async def test_each_prompt_says_what_to_do_with_its_links_and_buttons(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    await j.start("Acme Technology")

    account = await j.wait_prompt("account")
    assert "https://cloud.tencent.com/document/product/378/17985" in message_text(account)
    assert [b["text"]["text"] for b in buttons(account)] == [
        "I have a Tencent Cloud account",
        "Add my account ID (UIN)",
    ]
    await j.click(account, by_value("confirm_account"))

    real_name = await j.wait_prompt("real_name")
    shown = message_text(real_name)
    assert "https://console.cloud.tencent.com/ccc" in shown
    assert "https://cloud.tencent.com/document/product/378/10496" in shown
    assert "进行企业认证" in shown
    assert [b["text"]["text"] for b in buttons(real_name)] == ["Verification is done"]
    # The earlier prompt keeps its guidance but loses its buttons. That update follows the new
    # prompt's post, so wait for it rather than expect it already done.
    await fake.wait_until(lambda: buttons(account) == [], what="the account prompt closed")
    assert "out of date" in message_text(account)
    await j.click(real_name, by_value("confirm_real_name"))

    instance = await j.wait_prompt("instance")
    shown = message_text(instance)
    assert "https://cloud.tencent.com/document/product/679/34947" in shown
    assert "https://tccc.qcloud.com" in shown
    assert "call-center name, admin name and admin email" in shown
    assert [b["text"]["text"] for b in buttons(instance)] == ["Enter instance details"]
    await j.click(instance, by_value('"f":"instance"'))
    await j.submit(await j.opened_form("form.instance"), INSTANCE)

    role = await j.wait_prompt("qualification.role")
    assert "7 documents" in message_text(role) and "5 documents" in message_text(role)
    assert [b["text"]["text"] for b in buttons(role)] == [
        "Authorised agent (acting for the legal representative)",
        "Legal representative",
    ]


async def test_a_click_from_outside_the_tenant_channel_is_refused_and_changes_nothing(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    fake.add_user(STRANGER, "stranger", locale="en-US")
    j = journey(slack, fake)
    await j.start("Acme Technology")
    [checklist] = checklists(fake, CHANNEL)
    prompt = await j.wait_prompt("account")
    posts, updates = len(prompt_posts(fake, CHANNEL)), len(updates_of(fake, checklist))

    click = await j.click(prompt, by_value("confirm_account"), user=STRANGER)

    await wait_refusal(fake, click, "is not an onboarding you take part in")
    assert len(prompt_posts(fake, CHANNEL)) == posts
    assert len(updates_of(fake, checklist)) == updates
    assert step_marks(checklist.blocks) == marks(0)
    assert has_button(prompt, "confirm_account")  # still current for the customer
    # Nor can they open the step's form.
    click = await j.click(prompt, by_value('"f":"account"'), user=STRANGER)
    await wait_refusal(fake, click, "is not an onboarding you take part in")
    assert fake.calls("views.open") == []


async def test_a_click_on_a_stale_prompt_is_explained_and_changes_nothing(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake, customer=CUSTOMER_ZH)
    await j.start("Acme Technology")
    [checklist] = checklists(fake, CHANNEL)
    account = await j.wait_prompt("account")
    await j.click(account, by_value("confirm_account"))
    await j.wait_prompt("real_name")
    await wait_marks(fake, checklist, marks(1))
    posts, updates = len(prompt_posts(fake, CHANNEL)), len(updates_of(fake, checklist))

    # A second click on the first prompt, from a client that still shows its buttons.
    click = await click_old_button(j, account, "confirm_account")

    # In the clicker's language (zh-CN), with what to do now.
    said = await wait_refusal(fake, click, "这个按钮已经过期")
    assert "没有做任何更改" in said and "实名认证" in said
    assert len(prompt_posts(fake, CHANNEL)) == posts
    assert len(updates_of(fake, checklist)) == updates
    assert step_marks(checklist.blocks) == marks(1)


async def test_the_instance_form_shows_invalid_values_on_their_field_then_completes(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    await j.start("Acme Technology")
    [checklist] = checklists(fake, CHANNEL)
    await j.click(await to_instance(j), by_value('"f":"instance"'))
    form = await j.opened_form("form.instance")
    shown = view_text(form.view)
    for label in ("Call-center name", "Admin name", "Admin email", "Service Level Agreement"):
        assert label in shown
    assert "https://cloud.tencent.com/document/product/679/34947" in shown
    inputs = {b["block_id"] for b in form.view["blocks"] if b["type"] == "input"}
    assert inputs == {"call_center_name", "admin_name", "admin_email", "sla_agreed"}
    await wait_marks(fake, checklist, marks(2))
    posts, updates = len(prompt_posts(fake, CHANNEL)), len(updates_of(fake, checklist))

    async def errors(**changes: JSON | str) -> dict[str, str]:
        reply = await j.submit(form, {**INSTANCE, **changes})
        body = reply.json()
        assert body["response_action"] == "errors", reply.text
        assert set(body["errors"]) <= inputs  # keys Slack can show: input block ids
        return dict(body["errors"])

    assert await errors(admin_email="not-an-email") == {
        "admin_email": "Enter a valid admin email address."
    }
    assert await errors(sla_agreed=checkboxes([])) == {
        "sla_agreed": "You need to agree to the TCCC Service Level Agreement to continue."
    }
    assert await errors(call_center_name="   ") == {
        "call_center_name": "Enter the call-center name (60 characters at most)."
    }
    assert "admin_name" in await errors(admin_name="x" * 61)
    # Refused submissions changed nothing.
    assert len(prompt_posts(fake, CHANNEL)) == posts
    assert len(updates_of(fake, checklist)) == updates

    reply = await j.submit(form, {**INSTANCE, "admin_email": "ops-admin@acme.example"})
    assert not reply.text.strip()  # an empty ack closes the modal
    await j.wait_prompt("qualification.role")
    await wait_marks(fake, checklist, marks(3))
    notice = await j.wait_text("o•••@acme.example")  # masked: the outbox keeps no whole address
    assert "password is emailed to the admin address" in message_text(notice)
    assert "https://tccc.qcloud.com" in message_text(notice)
    # The notice comes before the next prompt.
    order = [m.ts for m in j.messages()]
    role_prompt = await j.wait_prompt("qualification.role")
    assert order.index(notice.ts) < order.index(role_prompt.ts)


async def test_step_four_asks_who_applies_then_lists_the_missing_documents_with_links(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    await j.start("Acme Technology")
    [checklist] = checklists(fake, CHANNEL)
    await j.through_instance()

    agent = await j.choose_role("agent")
    shown = message_text(agent)
    assert "Applicant: *Authorised agent" in shown
    for name in (
        "Business licence scan",
        "Legal representative's ID card, both sides",
        "Agent's ID card, both sides",
        "Photo of the agent holding the ID card",
        "Telephone service acceptance form",
        "Telecom network access commitment letter",
        "Letter of authorisation",
    ):
        assert name in shown, name
    assert shown.count("Company seal required") == 6  # all but the holding photo
    assert ACCEPTANCE_FORM_TEMPLATE in shown
    assert AUTHORIZATION_TEMPLATE in shown
    assert LICENCE_EXAMPLE_AGENT in shown
    assert HOLDING_EXAMPLE in shown
    assert has_button(agent, '"role":"legal_rep"')  # change of mind
    # The checklist's next action follows: documents are now due.
    await fake.wait_for(
        "chat.update",
        where=lambda c: (
            c.args.get("ts") == checklist.ts
            and "7 qualification document(s) still to upload" in texts(checklist.blocks)
        ),
    )

    await j.click(agent, by_value('"role":"legal_rep"'))
    legal = await j.wait_prompt("qualification.collecting", having='"role":"agent"')
    shown = message_text(legal)
    assert "Applicant: *Legal representative*" in shown
    assert "Photo of the legal representative holding the ID card" in shown
    assert "Letter of authorisation" not in shown and "Agent's ID card" not in shown
    assert LICENCE_EXAMPLE_LEGAL_REP in shown
    assert ACCEPTANCE_FORM_TEMPLATE in shown
    await fake.wait_for(
        "chat.update",
        where=lambda c: (
            c.args.get("ts") == checklist.ts
            and "5 qualification document(s) still to upload" in texts(checklist.blocks)
        ),
    )


async def test_status_names_the_role_choice_as_the_next_action(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    await j.start("Acme Technology")
    await j.through_instance()
    reply = await j.command("status", user=CUSTOMER_EN)
    assert "*Next:* Choose who applies" in reply_text(reply)
    assert step_marks(reply.json()["blocks"]) == marks(3)


async def test_a_form_slack_refuses_is_not_blamed_on_a_late_click(
    slack: SlackDriver, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    j = journey(slack, fake)
    await j.start("Acme Technology")
    instance = await to_instance(j)
    fake.fail_next("views.open", status=200, error="invalid_arguments")
    with caplog.at_level(logging.ERROR):
        click = await j.click(instance, by_value('"f":"instance"'))
        said = await wait_refusal(fake, click, "problem on our side")
    assert "too late" not in said
    assert "Slack refused the form form.instance: invalid_arguments" in caplog.text


async def test_a_click_too_late_for_its_form_is_asked_to_click_again(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    await j.start("Acme Technology")
    instance = await to_instance(j)
    form_button = next(b for b in buttons(instance) if '"f":"instance"' in str(b.get("value")))
    trigger = fake.issue_trigger()
    fake.expire_trigger(trigger)  # Slack's 3 seconds are over
    click = await slack.block_action(
        form_button["action_id"],
        form_button["value"],
        user_id=j.customer,
        channel_id=CHANNEL,
        message_ts=instance.ts,
        message=fake.message_json(instance),
        trigger_id=trigger,
    )
    assert click.status == 200
    await wait_refusal(fake, click, "the click came too late")
