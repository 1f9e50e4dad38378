"""Form submissions answered within Slack's 3 s when Slack itself is slow to answer the bot.

A second replica of the bot on the same Redis takes the submission: its caches of locales and
channel members are cold, so each check is a call to the (slowed) fake Slack.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.state.keys import Keys
from tests.clock import MovableClock
from tests.e2e.conftest import CHANNEL, CUSTOMER_EN, OPS_CHANNEL, SE, served
from tests.e2e.journey import JSON, Journey, texts
from tests.fakeslack.driver import Reply, checkboxes
from tests.fakeslack.server import FakeSlack
from tests.fakeslack.state import View

# Slack's own rule: an interaction not answered within 3 s shows the user an error.
SLACK_BUDGET_SECONDS = 3.0
INSTANCE: dict[str, JSON | str] = {
    "call_center_name": "Acme Support",
    "admin_name": "Han Meimei",
    "admin_email": "admin@acme.example.cn",
    "sla_agreed": checkboxes(["agreed"]),
}


@asynccontextmanager
async def instance_form_on_a_cold_replica(
    fake: FakeSlack, keys: Keys
) -> AsyncIterator[tuple[Journey, Journey, View]]:
    """Steps 1-2 done and the instance form open (through one replica); a journey driving a
    second replica with cold caches."""
    clock = MovableClock()
    async with served(fake, keys, clock) as (_warm, slack):
        j = Journey(slack, fake, CHANNEL, CUSTOMER_EN, SE, OPS_CHANNEL)
        await j.start("Acme Technology")
        for stage, value in [
            ("account", "confirm_account"),
            ("real_name", "confirm_real_name"),
            ("instance", '"f":"instance"'),
        ]:
            prompt = await j.wait_prompt(stage, having=value)
            await j.click(prompt, lambda b, v=value: v in str(b.get("value")))
        form = await j.opened_form("form.instance")
        async with served(fake, keys, clock) as (_cold, cold_slack):
            yield j, Journey(cold_slack, fake, CHANNEL, CUSTOMER_EN, SE, OPS_CHANNEL), form


def slow_slack(fake: FakeSlack) -> None:
    fake.set_latency("users.info", 1.5)
    fake.set_latency("conversations.members", 1.5)


async def timed_submit(
    j: Journey, form: View, values: dict[str, JSON | str]
) -> tuple[Reply, float]:
    started = time.monotonic()
    reply = await j.submit(form, values)
    return reply, time.monotonic() - started


def instance_notices(fake: FakeSlack) -> list[str]:
    return [
        m.text
        for m in fake.messages(CHANNEL)
        if "a•••@acme.example.cn" in m.text + texts(m.blocks) and not m.ephemeral
    ]


async def test_a_slow_slack_still_gets_its_answer_in_time_and_the_form_then_says_saved(
    fake: FakeSlack, keys: Keys
) -> None:
    async with instance_form_on_a_cold_replica(fake, keys) as (j, cold, form):
        slow_slack(fake)

        reply, seconds = await timed_submit(cold, form, INSTANCE)

        assert seconds < SLACK_BUDGET_SECONDS, seconds
        body = reply.json()
        assert body["response_action"] == "update"
        assert "Saving…" in texts(body["view"]["blocks"])
        assert "submit" not in body["view"]
        # Then the same form tells the outcome, and the step moves on once.
        await fake.wait_for(
            "views.update",
            where=lambda c: c.args.get("view_id") == form.id and "Saved." in str(c.args),
        )
        await j.wait_prompt("qualification.role")
        await fake.wait_for_message(
            channel=CHANNEL, where=lambda m: "a•••@acme.example.cn" in m.text + texts(m.blocks)
        )
        assert len(instance_notices(fake)) == 1
        fake.set_latency("users.info", 0)  # the status answer in the customer's language
        status = await cold.command("status")
        assert "*Next:* Choose who applies" in texts(status.json()["blocks"])


async def test_a_bad_value_is_shown_on_its_field_in_time_even_when_slack_is_slow(
    fake: FakeSlack, keys: Keys
) -> None:
    async with instance_form_on_a_cold_replica(fake, keys) as (_j, cold, form):
        slow_slack(fake)

        reply, seconds = await timed_submit(cold, form, {**INSTANCE, "admin_email": "not-mail"})

        assert seconds < SLACK_BUDGET_SECONDS, seconds
        body = reply.json()
        assert body["response_action"] == "errors"
        assert list(body["errors"]) == ["admin_email"]
        assert not fake.calls("views.update")


async def test_a_form_closed_while_saving_has_its_outcome_told_in_the_channel(
    fake: FakeSlack, keys: Keys
) -> None:
    async with instance_form_on_a_cold_replica(fake, keys) as (_j, cold, form):
        slow_slack(fake)
        # The customer closed the "saving…" form: Slack no longer knows the view.
        fake.fail_next("views.update", status=200, error="not_found")

        reply, seconds = await timed_submit(cold, form, INSTANCE)

        assert seconds < SLACK_BUDGET_SECONDS and reply.json()["response_action"] == "update"
        told = await fake.wait_for_message(
            channel=CHANNEL,
            where=lambda m: m.ephemeral and m.target_user == CUSTOMER_EN and "Saved." in m.text,
        )
        assert "*Call-center instance*" in told[-1].text
