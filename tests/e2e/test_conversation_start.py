"""Starting an onboarding, the progress checklist, `/onboard status` and `/onboard lang`."""

from __future__ import annotations

from bot.state.keys import Keys
from tests.e2e.conftest import CHANNEL, CUSTOMER_EN, CUSTOMER_ZH, OPS_CHANNEL, SE
from tests.e2e.conversation import (
    checklist_posts,
    checklists,
    has_button,
    marks,
    prompt_posts,
    reply_text,
    serve,
    step_marks,
    updates_of,
    wait_marks,
)
from tests.e2e.journey import JSON, Journey, buttons, message_text, stage_of, texts
from tests.fakeslack.driver import SlackDriver, checkboxes
from tests.fakeslack.server import FakeSlack

INSTANCE: dict[str, JSON | str] = {
    "call_center_name": "Acme Contact Center",
    "admin_name": "Sam Lee",
    "admin_email": "admin@acme.example",
    "sla_agreed": checkboxes(["agreed"]),
}
OTHER_CHANNEL = "C0OTHERCO01"
OTHER_CUSTOMER = "U0OTHERCU01"


def journey(slack: SlackDriver, fake: FakeSlack, customer: str = CUSTOMER_EN) -> Journey:
    return Journey(slack, fake, CHANNEL, customer, SE, OPS_CHANNEL)


def other_tenant_channel(fake: FakeSlack) -> None:
    fake.add_user(OTHER_CUSTOMER, "other.cust", locale="en-US")
    fake.add_channel(
        OTHER_CHANNEL,
        "other-co",
        members=[fake.bot_user_id, OTHER_CUSTOMER, SE],
        is_ext_shared=True,
    )


async def test_an_se_starts_an_onboarding_bound_to_the_channel(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    reply = await j.command("start Acme Technology", user=SE)
    assert reply.json()["response_type"] == "ephemeral"
    shown = reply_text(reply)
    assert "Onboarding started for *Acme Technology*, tenant `acme-technology-" in shown
    tenant = shown.split("tenant `", 1)[1].split("`", 1)[0]

    prompt = await j.wait_prompt("account")
    posted = j.messages()
    # Welcome, then the checklist, then what to do first; nothing else.
    assert len(posted) == 3
    welcome, checklist, first = posted
    assert "Welcome, *Acme Technology*!" in message_text(welcome)
    assert step_marks(checklist.blocks) == marks(0)
    assert tenant in texts(checklist.blocks)
    assert first is prompt
    assert "cloud.tencent.com/document/product/378/17985" in message_text(prompt)
    assert has_button(prompt, "confirm_account")
    assert has_button(prompt, '"f":"account"')  # add the account id (UIN), optional

    # The channel is bound: a customer there sees this tenant's progress.
    status = reply_text(await j.command("status", user=CUSTOMER_EN))
    assert tenant in status and "Acme Technology" in status


async def test_a_second_start_in_a_bound_channel_names_the_tenant_already_there(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    tenant = await j.start("Acme Technology")
    before = len(j.messages())

    again = reply_text(await j.command("start Globex", user=SE))

    assert "already has the onboarding of *Acme Technology*" in again
    assert f"`{tenant}`" in again
    assert len(j.messages()) == before  # no second welcome, checklist or prompt
    assert len(checklists(fake, CHANNEL)) == 1


async def test_a_customer_cannot_start_when_ses_are_configured(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    refused = reply_text(await j.command("start Acme Technology", user=CUSTOMER_EN))
    assert "Only solution engineers can start an onboarding" in refused
    # Nothing was created: the channel still has no onboarding.
    status = reply_text(await j.command("status", user=CUSTOMER_EN))
    assert "There is no onboarding here yet" in status
    assert fake.calls("chat.postMessage") == []


async def test_starting_in_a_direct_message_is_refused_politely(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    im = fake.open_im(SE).id
    reply = await slack.slash_command("start Acme Technology", user_id=SE, channel_id=im)
    assert "in the channel shared with the customer, not in a direct message" in reply_text(reply)
    assert fake.calls("chat.postMessage") == []


async def test_anyone_may_start_when_no_se_is_configured_in_their_own_language(
    fake: FakeSlack, keys: Keys
) -> None:
    async with serve(fake, keys, onboarding_se_users="") as slack:
        j = Journey(slack, fake, CHANNEL, CUSTOMER_ZH, CUSTOMER_ZH, OPS_CHANNEL)
        reply = reply_text(await j.command("start 示例科技有限公司", user=CUSTOMER_ZH))
        assert "已为 *示例科技有限公司* 开始入驻" in reply
        prompt = await j.wait_prompt("account")
        welcome, checklist, _ = j.messages()
        # The tenant speaks the starter's Slack locale (zh-CN).
        assert "欢迎 *示例科技有限公司*" in message_text(welcome)
        assert "腾讯云呼叫中心入驻进度" in texts(checklist.blocks)
        assert "注册腾讯云账号" in message_text(prompt)


async def test_the_checklist_is_one_message_updated_in_place(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    await j.start("Acme Technology")
    [checklist] = checklists(fake, CHANNEL)
    assert step_marks(checklist.blocks) == marks(0)
    assert j.checklist() is checklist

    await j.click(await j.wait_prompt("account"), lambda b: "confirm_account" in b["value"])
    await wait_marks(fake, checklist, marks(1))
    await j.click(await j.wait_prompt("real_name"), lambda b: "confirm_real_name" in b["value"])
    await wait_marks(fake, checklist, marks(2))
    await j.click(await j.wait_prompt("instance"), lambda b: '"f":"instance"' in b["value"])
    await j.submit(await j.opened_form("form.instance"), INSTANCE)
    await wait_marks(fake, checklist, marks(3))

    # Still exactly one checklist: it was posted once and only ever updated in place.
    assert checklists(fake, CHANNEL) == [checklist]
    assert len(checklist_posts(fake, CHANNEL)) == 1
    assert len(updates_of(fake, checklist)) >= 3
    assert [step_marks(v["blocks"]) for v in checklist.history[:1]] == [marks(0)]


async def test_status_shows_the_checklist_and_the_exact_next_action_to_the_asker(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    await j.start("Acme Technology")

    reply = await j.command("status", user=CUSTOMER_ZH)
    body = reply.json()
    assert body["response_type"] == "ephemeral"
    assert step_marks(body["blocks"]) == marks(0)
    # In the asker's own language (zh-CN), although the tenant speaks English.
    assert "*下一步：*注册腾讯云账号，然后点击“我已注册腾讯云账号”。" in reply_text(reply)

    await j.click(await j.wait_prompt("account"), lambda b: "confirm_account" in b["value"])
    await j.wait_prompt("real_name")
    reply = await j.command("status", user=CUSTOMER_EN)
    assert step_marks(reply.json()["blocks"]) == marks(1)
    assert (
        "*Next:* Complete the enterprise verification in the TCCC console, then confirm."
        in reply_text(reply)
    )


async def test_status_of_a_named_tenant_for_an_se_but_not_for_another_tenants_customer(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    other_tenant_channel(fake)
    j = journey(slack, fake)
    tenant = await j.start("Acme Technology")
    other = Journey(slack, fake, OTHER_CHANNEL, OTHER_CUSTOMER, SE, OPS_CHANNEL)
    other_tenant = await other.start("Globex")

    # An SE asks from the ops channel, naming the tenant.
    reply = await slack.slash_command(f"status {tenant}", user_id=SE, channel_id=OPS_CHANNEL)
    assert step_marks(reply.json()["blocks"]) == marks(0)
    assert "*Acme Technology*" in reply_text(reply)

    # A customer of Globex may not read Acme's progress, even naming it.
    refused = await slack.slash_command(
        f"status {tenant}", user_id=OTHER_CUSTOMER, channel_id=OTHER_CHANNEL
    )
    assert "is not an onboarding you take part in" in reply_text(refused)
    assert "Acme" not in reply_text(refused)
    assert not step_marks(refused.json()["blocks"])
    # Their own, by name, is fine.
    own = await slack.slash_command(
        f"status {other_tenant}", user_id=OTHER_CUSTOMER, channel_id=OTHER_CHANNEL
    )
    assert "*Globex*" in reply_text(own)
    # An unknown tenant is named as such.
    unknown = await slack.slash_command("status nope-000000", user_id=SE, channel_id=OPS_CHANNEL)
    assert "There is no tenant `nope-000000`" in reply_text(unknown)


async def test_lang_rerenders_the_checklist_in_place_and_later_prompts_follow(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    await j.start("Acme Technology")  # the SE's locale is en-US: the tenant speaks English
    [checklist] = checklists(fake, CHANNEL)
    assert "Tencent Cloud Contact Center onboarding" in texts(checklist.blocks)

    reply = await j.command("lang zh", user=CUSTOMER_EN)
    assert not reply.text.strip()  # the channel is told, in the new language
    await j.wait_text("本频道的入驻今后使用中文")
    await fake.wait_for(
        "chat.update",
        where=lambda c: c.args.get("ts") == checklist.ts and "入驻进度" in texts(checklist.blocks),
    )
    assert step_marks(checklist.blocks) == marks(0)
    assert checklists(fake, CHANNEL) == [checklist]

    # The prompt to act on now is given again in the new language; the English one is closed.
    english = prompt_posts(fake, CHANNEL)[0].response["ts"]
    [account] = await fake.wait_for_message(
        channel=CHANNEL,
        where=lambda m: stage_of(m) == "account" and "注册腾讯云账号" in message_text(m),
    )
    assert account.ts != english
    await fake.wait_until(lambda: not buttons(fake.message(CHANNEL, english)))
    await j.click(account, lambda b: "confirm_account" in b["value"])
    prompt = await j.wait_prompt("real_name")
    assert "完成企业实名认证" in message_text(prompt)
    await wait_marks(fake, checklist, marks(1))
    assert "入驻进度" in texts(checklist.blocks)

    # Ephemeral answers follow each user's own locale, not the tenant's.
    assert "*Next:*" in reply_text(await j.command("status", user=CUSTOMER_EN))
    assert "*下一步：*" in reply_text(await j.command("status", user=CUSTOMER_ZH))

    # A bad choice says how to use it, and changes nothing.
    usage = reply_text(await j.command("lang fr", user=CUSTOMER_EN))
    assert "/onboard lang zh" in usage
    assert len(prompt_posts(fake, CHANNEL)) == 3


async def test_a_company_name_cannot_mention_everyone_or_format_messages(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    reply = reply_text(
        await j.command("start <!channel> Acme & <https://evil.example|Co>", user=SE)
    )
    assert "<!channel>" not in reply and "<https://evil" not in reply
    await j.wait_prompt("account")
    for message in fake.messages(CHANNEL):
        shown = message_text(message)
        assert "<!channel>" not in shown and "<https://evil" not in shown, shown
    assert "&lt;!channel&gt; Acme &amp;" in message_text(j.messages()[0])
