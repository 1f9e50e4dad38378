"""Questions in plain language (mentions and direct messages), and App Home for each role."""

from __future__ import annotations

import pytest

from bot.runtime import HttpService
from tests.clock import MovableClock
from tests.e2e.conftest import CHANNEL, CUSTOMER_EN, CUSTOMER_ZH, MANAGER, OPS_CHANNEL, SE
from tests.e2e.conversation import ask, dm, marks, open_home, step_marks, view_text
from tests.e2e.journey import Journey, message_text
from tests.fakeslack.driver import SlackDriver
from tests.fakeslack.server import FakeSlack

OTHER_CHANNEL = "C0OTHERCO01"
OTHER_CUSTOMER = "U0OTHERCU01"
NOBODY = "U0NOTENANT1"  # in the workspace, in no tenant's channel

TCCC_IPS = [
    "sip.pstn.avc.qcloud.com:5089",
    "139.199.233.98:5089",
    "114.221.144.81:5089",
    "139.199.4.25:5089",
    "203.195.240.224:5089",
    "129.211.167.158:5089",
    "129.211.167.34:5089",
    "129.211.166.16:5089",
    "129.204.27.73:5089",
]


def journey(slack: SlackDriver, fake: FakeSlack, customer: str = CUSTOMER_EN) -> Journey:
    return Journey(slack, fake, CHANNEL, customer, SE, OPS_CHANNEL)


@pytest.mark.parametrize(
    ("question", "expected", "not_expected"),
    [
        ("where am I?", ["Tencent Cloud Contact Center onboarding", "*Next:*"], "下一步"),
        ("进度怎么样了", ["腾讯云呼叫中心入驻进度", "*下一步：*"], "Next"),
        ("what next?", ["*Next:* Choose who applies"], "下一步"),
        ("下一步做什么？", ["*下一步：*选择申请人身份"], "Next"),
        ("which documents are missing?", ["No applicant is chosen yet"], "申请人"),
        ("还缺什么材料", ["还没有选择申请人"], "applicant"),
        ("What are the SIP parameters?", ["TCCC's SIP trunk parameters", *TCCC_IPS], "对接参数"),
        ("IP 白名单是什么", ["SIP 对接参数", *TCCC_IPS], "parameters"),
        ("how do I log in?", ["https://tccc.qcloud.com", "the admin email"], "登录地址"),
        ("怎么登录", ["https://tccc.qcloud.com", "管理员邮箱"], "Address"),
        ("help", ["Commands", "/onboard status", "what next"], "命令"),
        ("帮助", ["命令", "/onboard status", "下一步做什么"], "Commands"),
    ],
)
async def test_a_mention_is_answered_in_the_language_of_the_question(
    slack: SlackDriver, fake: FakeSlack, question: str, expected: list[str], not_expected: str
) -> None:
    # The tenant speaks English and the asker's Slack is Chinese: the question's language wins.
    j = journey(slack, fake, customer=CUSTOMER_ZH)
    await j.start("Acme Technology")
    await j.through_instance()

    answer = message_text(await ask(j, question))

    for text in expected:
        assert text in answer, (question, text, answer)
    assert not_expected not in answer


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("what's the weather like?", "I can't answer that one yet"),
        ("今天天气怎么样", "这个问题我还答不上来"),
    ],
)
async def test_anything_else_gets_a_short_help_with_examples_never_silence(
    slack: SlackDriver, fake: FakeSlack, question: str, expected: str
) -> None:
    j = journey(slack, fake)
    await j.start("Acme Technology")
    answer = message_text(await ask(j, question))
    assert expected in answer
    assert ("which documents are missing" in answer) or ("还缺什么材料" in answer)


async def test_missing_documents_lists_them_with_links_once_a_role_is_chosen(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    await j.start("Acme Technology")
    await j.through_instance()
    await j.choose_role("legal_rep")
    answer = message_text(await ask(j, "还缺什么材料？"))
    assert "还需要上传 5 份材料" in answer
    assert "法定代表人手持身份证照" in answer
    assert "https://qcloudimg.tencent-cloud.cn/raw/9d7f49e859911175f1530b757ad7e423.jpg" in answer
    answer = message_text(await ask(j, "which documents are missing?"))
    assert "5 document(s) still to upload" in answer


async def test_a_mention_in_a_thread_is_answered_in_that_thread(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    await j.start("Acme Technology")
    parent = fake.add_message(CHANNEL, "a question thread", user=CUSTOMER_EN)
    await slack.app_mention(
        "what next?", user_id=CUSTOMER_EN, channel_id=CHANNEL, thread_ts=parent.ts
    )
    [answer] = await fake.wait_for_message(where=lambda m: m.thread_ts == parent.ts)
    assert "*Next:* Register a Tencent Cloud account" in message_text(answer)


async def test_direct_messages_answer_about_the_senders_tenant(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    fake.add_user(NOBODY, "nobody", locale="en-US")
    j = journey(slack, fake)
    await j.start("Acme Technology")

    answer = message_text(await dm(fake, slack, CUSTOMER_EN, "what next?"))
    assert "*Next:* Register a Tencent Cloud account" in answer
    answer = message_text(await dm(fake, slack, CUSTOMER_ZH, "进度"))
    assert "腾讯云呼叫中心入驻进度" in answer and "*Acme Technology*" in answer
    answer = message_text(await dm(fake, slack, CUSTOMER_ZH, "SIP 参数"))
    assert all(ip in answer for ip in TCCC_IPS)
    # Someone in no tenant's channel is told there is none, not left without an answer.
    answer = message_text(await dm(fake, slack, NOBODY, "where am I?"))
    assert "There is no onboarding here yet" in answer


# -- App Home -------------------------------------------------------------------------------------


async def two_tenants(slack: SlackDriver, fake: FakeSlack) -> tuple[Journey, Journey]:
    fake.add_user(OTHER_CUSTOMER, "other.cust", locale="en-US")
    members = [fake.bot_user_id, OTHER_CUSTOMER, SE]
    fake.add_channel(OTHER_CHANNEL, "other-co", members=members, is_ext_shared=True)
    acme = journey(slack, fake)
    await acme.start("Acme Technology")
    globex = Journey(slack, fake, OTHER_CHANNEL, OTHER_CUSTOMER, SE, OPS_CHANNEL)
    await globex.start("Globex")
    await globex.through_instance()
    return acme, globex


async def test_a_customer_sees_their_tenants_progress_and_next_action(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    fake.add_user(NOBODY, "nobody", locale="zh-CN")
    j = journey(slack, fake)
    await j.start("Acme Technology")
    await j.click(await j.wait_prompt("account"), lambda b: "confirm_account" in b["value"])
    await j.wait_prompt("real_name")

    home = await open_home(fake, slack, CUSTOMER_EN)
    assert home["type"] == "home"
    assert step_marks(home["blocks"]) == marks(1)
    shown = view_text(home)
    assert "*Acme Technology*" in shown
    assert "*Next:* Complete the enterprise verification" in shown

    home = await open_home(fake, slack, CUSTOMER_ZH)
    assert "*下一步：*在云呼叫中心控制台完成企业实名认证" in view_text(home)

    home = await open_home(fake, slack, NOBODY)
    assert "您还没有正在进行的入驻" in view_text(home)
    assert not step_marks(home["blocks"])


async def test_an_se_sees_tenants_least_recently_active_first_with_the_stalled_marked(
    bot: HttpService, clock: MovableClock, slack: SlackDriver, fake: FakeSlack
) -> None:
    fake.add_user(OTHER_CUSTOMER, "other.cust", locale="en-US")
    members = [fake.bot_user_id, OTHER_CUSTOMER, SE]
    fake.add_channel(OTHER_CHANNEL, "other-co", members=members, is_ext_shared=True)
    globex = Journey(slack, fake, OTHER_CHANNEL, OTHER_CUSTOMER, SE, OPS_CHANNEL)
    await globex.start("Globex")
    await globex.through_instance()
    # Globex then stays idle from Monday to Friday; Acme starts on Friday morning.
    clock.advance(days=4, hours=-2)
    acme = journey(slack, fake)
    await acme.start("Acme Technology")
    clock.advance(hours=2)
    await bot.services.sweeper.run_once()  # the stalled sweep notices Globex

    shown = view_text(await open_home(fake, slack, SE))

    assert "My onboardings" in shown
    assert shown.index("*Globex*") < shown.index("*Acme Technology*")
    globex_line = shown[shown.index("*Globex*") - 30 : shown.index("*Acme Technology*")]
    assert "⚠️ Stalled" in globex_line and "no progress for 4 business day(s)" in globex_line
    acme_line = shown[shown.index("*Acme Technology*") - 30 :]
    assert "Stalled" not in acme_line and "no progress for 2 business hour(s)" in acme_line
    # Each with where it is and the next action.
    assert "step 4/8" in globex_line and "*Next:* Choose who applies" in globex_line
    assert "step 1/8" in acme_line and "*Next:* Register a Tencent Cloud account" in acme_line

    # Activity moves a tenant back: Globex acts now and Acme becomes the oldest.
    await globex.choose_role("agent")
    shown = view_text(await open_home(fake, slack, SE))
    assert shown.index("*Acme Technology*") < shown.index("*Globex*")
    assert "Stalled" not in shown


async def test_a_manager_sees_how_many_customers_are_at_each_step(
    bot: HttpService, clock: MovableClock, slack: SlackDriver, fake: FakeSlack
) -> None:
    await two_tenants(slack, fake)
    clock.advance(days=4)  # Monday to Friday: both stalled by then
    await bot.services.sweeper.run_once()

    home = await open_home(fake, slack, MANAGER)  # the manager's Slack is Chinese
    shown = view_text(home)
    assert "入驻汇总" in shown
    assert "共 *2* 家客户：*2* 家入驻中，*0* 家已上线（本周 *0* 家），*2* 家停滞。" in shown
    assert "1. 注册腾讯云账号：*1*（1 家停滞）" in shown
    assert "2. 完成企业实名认证：*0*" in shown
    assert "4. 完成企业资质审核：*1*（1 家停滞）" in shown
    assert "🎉 已上线：*0*" in shown
    # With the chart: an image of a PNG the bot uploaded.
    [chart] = [b for b in home["blocks"] if b["type"] == "image"]
    stored = fake.files[chart["slack_file"]["id"]]
    assert stored.content is not None and stored.content.startswith(b"\x89PNG")


async def test_someone_in_several_onboardings_is_not_answered_about_an_arbitrary_one(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    await two_tenants(slack, fake)  # the SE is in both channels
    answer = message_text(await dm(fake, slack, SE, "where am I?"))
    assert "You take part in several onboardings" in answer
    assert "Acme" not in answer and "Globex" not in answer
    # The customer of one of them still gets theirs.
    answer = message_text(await dm(fake, slack, OTHER_CUSTOMER, "what next?"))
    assert "*Next:* Choose who applies" in answer
