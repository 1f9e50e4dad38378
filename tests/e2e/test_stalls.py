"""Keeping onboardings moving, end to end: a stall noticed by the sweep climbs the ladder
(customer reminder, the owning SE, the managers), quiet hours hold customer reminders back,
SEs nudge, snooze and hand onboardings over, and `/onboard stalled` lists what is stuck.

Time is the bot's clock, moved by the test; the sweep is the real one, run a pass at a time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest

from bot.runtime import HttpService
from bot.state.keys import Keys
from tests.clock import MONDAY_MORNING, MovableClock
from tests.e2e.conftest import (
    CHANNEL,
    CUSTOMER_EN,
    MANAGER,
    OPS_CHANNEL,
    SE,
    served,
)
from tests.e2e.journey import Journey, buttons, message_text, texts, unique_pdf
from tests.fakeslack.driver import SlackDriver
from tests.fakeslack.server import FakeSlack

SE_TWO = "U0SOLENG002"
MANAGERS_CHANNEL = "C0MANAGERS1"
AUTHORIZATION_TEMPLATE = "%E5%A7%94%E6%89%98%E6%8E%88%E6%9D%83%E4%B9%A6.docx"


@dataclass
class Moving:
    """The served bot with its clock, and the driver."""

    slack: SlackDriver
    service: HttpService
    clock: MovableClock

    async def sweep(self) -> None:
        """One pass of the stalled sweep, then the effects it wrote go out."""
        services = self.service.services
        report = await services.sweeper.run_once()
        await services.after_sweep(report)
        await services.runner.settle()


@pytest.fixture
async def moving(fake: FakeSlack, keys: Keys) -> AsyncIterator[Moving]:
    fake.add_user(SE_TWO, "se.li", locale="zh-CN")
    clock = MovableClock(MONDAY_MORNING)
    async with served(fake, keys, clock, onboarding_se_users=f"{SE},{SE_TWO}") as (
        service,
        driver,
    ):
        yield Moving(driver, service, clock)


def journey(m: Moving, fake: FakeSlack) -> Journey:
    return Journey(m.slack, fake, CHANNEL, CUSTOMER_EN, SE, OPS_CHANNEL)


async def at_documents(j: Journey) -> None:
    """The onboarding, started by the SE (who owns it), waits for the agent's documents."""
    await j.start("Acme Technology")
    await j.through_instance()
    await j.choose_role("agent")


def dm_of(fake: FakeSlack, user: str) -> str:
    return fake.open_im(user).id


async def test_a_stall_reminds_the_customer_then_tells_the_se_then_the_managers(
    moving: Moving, fake: FakeSlack
) -> None:
    j = journey(moving, fake)
    await at_documents(j)
    moving.clock.advance(days=1)
    await moving.sweep()
    assert not [m for m in j.messages() if "Reminder" in message_text(m)]  # one day: not yet

    moving.clock.advance(days=1)  # Wednesday: two business days without progress
    await moving.sweep()
    reminder = await j.wait_text("*Reminder:*")
    shown = message_text(reminder)
    assert "waiting for you for 2 business day(s)" in shown
    assert "*Next:* 7 qualification document(s) still to upload." in shown
    assert "Letter of authorisation" in shown and AUTHORIZATION_TEMPLATE in shown

    moving.clock.advance(days=1)  # Thursday: the owning SE hears, in a direct message
    await moving.sweep()
    se_dm = dm_of(fake, SE)
    notice = (await fake.wait_for_message(channel=se_dm, where=lambda m: "stalled" in m.text))[-1]
    shown = message_text(notice)
    assert "*Acme Technology*" in shown and "step 4/8" in shown
    assert "no progress for 3 business day(s)" in shown and "waiting on the customer" in shown
    assert "Last reminder: <!date^" in shown
    assert [b["text"]["text"] for b in buttons(notice)] == ["Nudge now", "Snooze 1 day"]

    moving.clock.advance(days=1)  # Friday: the managers (no managers' channel: a DM each)
    await moving.sweep()
    told = await fake.wait_for_message(channel=dm_of(fake, MANAGER), where=lambda m: "🚨" in m.text)
    assert "停滞" in message_text(told[-1]) and f"<@{SE}>" in message_text(told[-1])

    # Once each: more passes, later, add nothing; the reminders did not reset the clock.
    posted = len(fake.messages())
    moving.clock.advance(days=3)
    await moving.sweep()
    assert len(fake.messages()) == posted
    stalled = await j.command("stalled", user=MANAGER)
    listed = texts(stalled.json()["blocks"])
    assert (
        "Acme Technology" in listed
        and "已 5 个工作日 没有进展" in listed
        and "已告知经理" in listed
    )


async def test_a_reminder_due_in_quiet_hours_waits_for_the_morning_and_so_does_a_nudge(
    moving: Moving, fake: FakeSlack
) -> None:
    j = journey(moving, fake)
    moving.clock.set(MONDAY_MORNING + timedelta(hours=12))  # Monday 22:00 in Shanghai
    await at_documents(j)
    moving.clock.advance(days=2)  # Wednesday 22:00: stalled, but it is quiet hours
    await moving.sweep()
    assert not [m for m in j.messages() if "Reminder" in message_text(m)]

    # An SE's nudge now is queued for the end of the quiet hours too.
    reply = await j.command(f"nudge {j.tenant}", user=SE)
    assert "will be posted at <!date^" in texts(reply.json()["blocks"])

    moving.clock.advance(hours=11)  # Thursday 09:00: the quiet hours are over
    await moving.sweep()
    await j.wait_text(f"<@{SE}> asks you to carry on")
    # That was today's reminder: the stall's own waits for the next business day.
    assert not [m for m in j.messages() if "*Reminder:*" in message_text(m)]
    moving.clock.advance(days=1)  # Friday 09:00
    await moving.sweep()
    await j.wait_text("*Reminder:*")


async def test_a_second_nudge_within_the_hour_is_confirmed_first(
    moving: Moving, fake: FakeSlack
) -> None:
    j = journey(moving, fake)
    await at_documents(j)
    reply = await j.command(f"nudge {j.tenant}", user=SE)
    assert "Reminder posted in <#" in texts(reply.json()["blocks"])
    await j.wait_text(f"<@{SE}> asks you to carry on")

    moving.clock.advance(minutes=20)
    again = await j.command(f"nudge {j.tenant}", user=SE)
    body = again.json()
    assert "nudged *Acme Technology* 20 minute(s) ago" in texts(body["blocks"])
    reminders = [m for m in j.messages() if "asks you to carry on" in message_text(m)]
    assert len(reminders) == 1  # nothing posted until the SE confirms

    [confirm] = [e for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    click = await moving.slack.block_action(
        confirm["action_id"],
        confirm["value"],
        user_id=SE,
        channel_id=CHANNEL,
        message_ts="1.000001",
        ephemeral=True,
    )
    assert click.status == 200
    await fake.wait_until(
        lambda: len([m for m in j.messages() if "asks you to carry on" in message_text(m)]) == 2,
        what="the second reminder",
    )
    audit = await moving.service.services.store.audit(j.tenant or "")
    assert [e.event for e in audit].count("nudge") == 2


async def test_nudge_now_and_snooze_from_the_se_notice(moving: Moving, fake: FakeSlack) -> None:
    j = journey(moving, fake)
    await at_documents(j)
    moving.clock.advance(days=2)
    await moving.sweep()  # Wednesday: the reminder
    moving.clock.advance(days=1)
    await moving.sweep()  # Thursday: the SE's notice
    se_dm = dm_of(fake, SE)
    notice = (await fake.wait_for_message(channel=se_dm, where=lambda m: "stalled" in m.text))[-1]

    await j.click(notice, "Nudge now", user=SE, channel=se_dm)
    await j.wait_text(f"<@{SE}> asks you to carry on")
    await j.wait_ephemeral(SE, "Reminder posted")

    await j.click(notice, "Snooze 1 day", user=SE, channel=se_dm)
    await j.wait_ephemeral(SE, "is snoozed until <!date^")
    manager_dm = dm_of(fake, MANAGER)
    moving.clock.advance(hours=20)  # the managers' rung would be due, but it is snoozed
    await moving.sweep()
    assert fake.messages(manager_dm) == []
    moving.clock.advance(days=1)
    await moving.sweep()
    await fake.wait_for_message(channel=manager_dm, where=lambda m: "🚨" in m.text)
    audit = [e.event for e in await moving.service.services.store.audit(j.tenant or "")]
    assert "snooze" in audit and audit.count("stall_rung") == 3

    # The customer carries on: the stall is over, and the notice's button says so.
    await j.thread_reply(await j.upload("营业执照.pdf", unique_pdf("licence"), "营业执照"))
    await j.click(notice, "Snooze 1 day", user=SE, channel=se_dm)
    await j.wait_ephemeral(SE, "*Acme Technology* is no longer stalled")


async def test_an_onboarding_is_handed_to_another_se_and_both_know(
    moving: Moving, fake: FakeSlack
) -> None:
    j = journey(moving, fake)
    await j.start("Acme Technology")
    refused = await j.command(f"assign {j.tenant} <@{CUSTOMER_EN}|sam>", user=SE)
    assert "is not a solution engineer" in texts(refused.json()["blocks"])
    customer = await j.command(f"assign {j.tenant} <@{SE_TWO}|se.li>", user=CUSTOMER_EN)
    assert "There is no `assign` subcommand" in texts(customer.json()["blocks"])

    done = await j.command(f"assign {j.tenant} <@{SE_TWO}|se.li>", user=SE)
    assert f"<@{SE_TWO}> now owns *Acme Technology*" in texts(done.json()["blocks"])
    told = await fake.wait_for_message(
        channel=dm_of(fake, SE_TWO), where=lambda m: "交给了您" in m.text
    )
    assert f"<@{SE}>" in message_text(told[-1]) and "Acme Technology" in message_text(told[-1])

    # Handing it back tells the previous owner, and the audit has both.
    # The first SE takes it back: the owner it is taken from is told.
    back = await j.command(f"assign {j.tenant} <@{SE}>", user=SE)
    assert f"<@{SE}> now owns *Acme Technology*" in texts(back.json()["blocks"])
    told = await fake.wait_for_message(
        channel=dm_of(fake, SE_TWO), where=lambda m: f"交给了 <@{SE}>" in m.text
    )
    assert "Acme Technology" in message_text(told[-1])
    assert fake.messages(dm_of(fake, SE)) == []  # who does it needs no message of their own
    audit = [
        e for e in await moving.service.services.store.audit(j.tenant or "") if e.event == "assign"
    ]
    assert [e.detail["to"] for e in audit] == [SE_TWO, SE]
    again = await j.command(f"assign {j.tenant} <@{SE}>", user=SE)
    assert f"<@{SE}> already owns *Acme Technology*" in texts(again.json()["blocks"])


async def test_stalled_is_for_staff_and_lists_the_longest_first(
    moving: Moving, fake: FakeSlack
) -> None:
    j = journey(moving, fake)
    await j.start("Acme Technology")
    moving.clock.advance(days=2)
    await moving.sweep()
    listed = texts((await j.command("stalled", user=SE)).json()["blocks"])
    assert "*Stalled onboardings* (1)" in listed and "Acme Technology" in listed
    assert "waits on the customer" in listed and f"<@{SE}>" in listed
    customer = texts((await j.command("stalled", user=CUSTOMER_EN)).json()["blocks"])
    assert "Acme Technology" not in customer and "There is no `stalled` subcommand" in customer
