"""Slack's answer first: a click is answered while the effects of earlier work wait their turn,
and every one of those effects goes out afterwards (`bot.turns`).

The click goes to a second replica with cold caches, so checking that the clicker is in the
tenant's channel is a call to Slack that the fake holds: Slack is waiting on that replica for
as long as the test says. Meanwhile SEs nudge three other onboardings through the same replica,
and the fake holds the reminders' posts, so the effects running are the posts it holds.
"""

from __future__ import annotations

import asyncio

from bot.state.keys import Keys
from tests.clock import MovableClock
from tests.e2e.conftest import CHANNEL, CUSTOMER_EN, OPS_CHANNEL, SE, served
from tests.e2e.journey import Journey, message_text
from tests.fakeslack.server import FakeSlack
from tests.waiting import eventually

BUSY_CHANNELS = ("C0BUSY00001", "C0BUSY00002", "C0BUSY00003")
REMINDER = "asks you to carry on"  # the nudge, in the customer's English


async def test_a_click_is_answered_while_earlier_effects_wait_and_they_all_go_out_after(
    fake: FakeSlack, keys: Keys
) -> None:
    clock = MovableClock()
    async with served(fake, keys, clock) as (_warm, warm_slack):
        j = Journey(warm_slack, fake, CHANNEL, CUSTOMER_EN, SE, OPS_CHANNEL)
        await j.start("Acme Technology")
        others: list[Journey] = []
        for n, channel in enumerate(BUSY_CHANNELS):
            fake.add_channel(channel, f"busy-{n}", members=[fake.bot_user_id, CUSTOMER_EN, SE])
            other = Journey(warm_slack, fake, channel, CUSTOMER_EN, SE, OPS_CHANNEL)
            await other.start(f"Busy {n}")
            others.append(other)
        prompt = await j.wait_prompt("account", having="confirm_account")

        async with served(fake, keys, clock) as (cold, cold_slack):
            turns = cold.services.runner.turns
            limit = turns.when_busy
            assert limit < len(others)
            fake.hold("conversations.members")
            fake.hold("chat.postMessage")
            customer = Journey(cold_slack, fake, CHANNEL, CUSTOMER_EN, SE, OPS_CHANNEL)
            click = asyncio.create_task(
                customer.click(prompt, lambda b: "confirm_account" in str(b.get("value")))
            )
            await eventually(
                lambda: fake.held("conversations.members") == 1 and turns.answering >= 1,
                timeout=10,
                what="the click waiting on Slack for the channel's members",
            )
            for other in others:
                se = Journey(cold_slack, fake, other.channel, CUSTOMER_EN, SE, OPS_CHANNEL)
                await se.command(f"nudge {other.tenant}", user=SE)
            # Slack still waits on the click: only `limit` reminders go out, the rest wait.
            await eventually(
                lambda: (
                    fake.held("chat.postMessage") == limit and turns.waiting == len(others) - limit
                ),
                timeout=10,
                what=f"{limit} reminders going out and the others waiting their turn",
            )
            assert not click.done()

            fake.release("conversations.members")
            await click  # answered 200 while the reminders are still held
            assert fake.held("chat.postMessage") >= limit
            # Answered: every waiting reminder starts, and so does the click's next prompt.
            await eventually(
                lambda: fake.held("chat.postMessage") == len(others) + 1 and turns.waiting == 0,
                timeout=10,
                what="all three reminders and the next prompt going out",
            )
            fake.release("chat.postMessage")
            for other in others:
                await other.wait_text(REMINDER, timeout=10)
            await j.wait_prompt("real_name", timeout=10)
            await cold.services.runner.settle()
        assert all(
            sum(REMINDER in message_text(m) for m in other.messages()) == 1 for other in others
        )
