"""Progress confirmed against the TCCC cloud API, end to end: the real SDK talks to the fake CCC
API (which checks its signatures), the bot runs over HTTP against the fake Slack.

- a key given through the form is checked at once, and a step the API shows done moves the
  tenant on by itself, audited as the cloud API's doing;
- Tencent's reviewers rejecting the qualification is told to the customer once, with their
  message (escaped);
- a customer's "done" the API contradicts is answered with what the API shows, and the manual
  path goes on;
- an SE's `/onboard verify` answers with what the API shows, errors plainly, and a slow API
  "checking…" at once and in full through the response_url;
- the periodic check asks about a tenant at most every `CHECK_EVERY`, keeps within the rate
  limit, and stops once the key is forgotten.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from cryptography.fernet import Fernet

from bot.cloud.keys import CloudKey
from bot.cloud.verify import CHECK_EVERY
from bot.flows.model import Actor, ActorRole, Step
from bot.runtime import HttpService
from bot.state.keys import Keys
from tests.clock import MONDAY_MORNING, MovableClock
from tests.e2e.conftest import CHANNEL, CUSTOMER_EN, OPS_CHANNEL, SE, served
from tests.e2e.conversation import reply_text
from tests.e2e.journey import Journey, message_text
from tests.fakeccc.fixtures import KEY, SECRET_ID, SECRET_KEY, fake_ccc
from tests.fakeccc.server import Account, FakeCcc
from tests.fakeslack.driver import SlackDriver
from tests.fakeslack.server import FakeSlack

SDK_APP_ID = 1400012345
INSTANCE = "示例呼叫中心"  # what Journey.through_instance types as the call-center name
CUSTOMER = Actor(user_id=CUSTOMER_EN, role=ActorRole.CUSTOMER)
__all__ = ["fake_ccc"]  # the fixture, used by name


@dataclass
class Cloud:
    slack: SlackDriver
    service: HttpService
    j: Journey
    fake: FakeSlack
    ccc: FakeCcc
    account: Account
    clock: MovableClock

    @property
    def tenant(self) -> str:
        assert self.j.tenant is not None
        return self.j.tenant

    async def give_key(self, key: CloudKey = KEY) -> None:
        """What saving the key form does (the form itself is driven in the first test)."""
        await self.service.services.vault.put(self.tenant, key, by=CUSTOMER)

    async def sweep(self) -> None:
        """One pass of the periodic check, then what it wrote goes out."""
        await self.service.services.cloud_sweep.run_once()
        await self.service.services.runner.settle()

    async def settle(self) -> None:
        await self.service.services.runner.settle()

    async def step(self) -> Step:
        return (await self.service.services.onboardings.get(self.tenant)).step

    async def at_instance(self) -> None:
        """Steps 1 and 2 done: the customer is asked for the instance."""
        for stage, value in (("account", "confirm_account"), ("real_name", "confirm_real_name")):
            prompt = await self.j.wait_prompt(stage, having=value)
            await self.j.click(prompt, lambda b, v=value: v in str(b.get("value")))
        await self.j.wait_prompt("instance")

    def said(self, needle: str) -> list[str]:
        return [message_text(m) for m in self.j.messages() if needle in message_text(m)]

    async def verify(self, args: str = "") -> str:
        reply = await self.j.command(
            f"verify {args or self.tenant}".strip(), user=SE, channel=OPS_CHANNEL
        )
        return reply_text(reply)


@pytest.fixture
async def cloud(fake: FakeSlack, keys: Keys, fake_ccc: FakeCcc) -> AsyncIterator[Cloud]:
    account = fake_ccc.add_account(SECRET_ID, SECRET_KEY)
    clock = MovableClock(MONDAY_MORNING)
    async with served(
        fake,
        keys,
        clock,
        secrets_key=Fernet.generate_key().decode(),
        tccc_api_url=fake_ccc.url,
    ) as (service, driver):
        j = Journey(driver, fake, CHANNEL, CUSTOMER_EN, SE, OPS_CHANNEL)
        await j.start("Acme <Technology> & Co")
        await service.services.runner.settle()
        yield Cloud(driver, service, j, fake, fake_ccc, account, clock)


async def test_a_key_given_in_the_form_confirms_the_instance_and_moves_the_tenant_on(
    cloud: Cloud,
) -> None:
    await cloud.at_instance()
    cloud.account.add_instance(SDK_APP_ID, "Acme Support")
    reply = await cloud.j.command("key")
    cloud.j.last_trigger = reply.trigger_id
    form = await cloud.j.opened_form("form.cloud_key")
    saved = await cloud.j.submit(form, {"secret_id": SECRET_ID, "secret_key": SECRET_KEY})
    assert saved.text == "", saved.text

    # Checked at once: the customer is told, and asked for what step 4 needs.
    told = await cloud.j.wait_text("confirmed by the Tencent Cloud API")
    assert "Create the call-center instance" in message_text(told)
    await cloud.j.wait_prompt("qualification.role")
    record = await cloud.service.services.onboardings.get(cloud.tenant)
    assert record.step is Step.QUALIFICATION and record.onboarding.sdk_app_id == SDK_APP_ID
    audit = await cloud.service.services.store.audit(cloud.tenant)
    [confirmed] = [e for e in audit if e.event == "confirm_by_cloud"]
    assert confirmed.actor.role is ActorRole.SYSTEM and confirmed.detail["step"] == "instance"
    assert cloud.ccc.count("DescribeCCCBuyInfoList") >= 1


async def test_tencent_rejecting_the_qualification_is_told_once_with_the_reviewers_message(
    cloud: Cloud,
) -> None:
    await cloud.j.through_instance()
    cloud.account.add_instance(SDK_APP_ID, INSTANCE)
    cloud.account.add_company("Acme", 3, "营业执照模糊 <请重新上传>")
    await cloud.give_key()
    await cloud.settle()
    told = await cloud.j.wait_text("营业执照模糊")
    shown = message_text(told)
    assert "&lt;请重新上传&gt;" in shown  # the reviewer's text, escaped once

    # Found again by every later check; said once.
    for _ in range(2):
        cloud.clock.advance(seconds=CHECK_EVERY.total_seconds() + 1)
        await cloud.sweep()
    assert cloud.ccc.count("DescribeCompanyList") >= 3
    assert len(cloud.said("营业执照模糊")) == 1
    assert await cloud.step() is Step.QUALIFICATION

    # Tencent approves a new application: the tenant moves on without our own review.
    cloud.account.add_company("Acme", 2)
    cloud.clock.advance(seconds=CHECK_EVERY.total_seconds() + 1)
    await cloud.sweep()
    await cloud.j.wait_text("confirmed by the Tencent Cloud API")
    assert await cloud.step() is Step.NUMBERS


async def test_a_done_the_api_contradicts_is_answered_with_what_it_shows(cloud: Cloud) -> None:
    await cloud.give_key()  # at step 1: the API cannot show an account; nothing to say
    await cloud.settle()
    await cloud.j.through_instance()  # the customer says the instance is created
    told = await cloud.j.wait_text("You marked")
    shown = message_text(told)
    assert "Create the call-center instance" in shown and "no call-center instance" in shown
    # The manual path goes on: the customer is at step 4 all the same.
    assert await cloud.step() is Step.QUALIFICATION
    audit = await cloud.service.services.store.audit(cloud.tenant)
    assert any(e.event == "cloud_contradicted" for e in audit)


async def test_an_se_asks_and_hears_what_the_api_shows_errors_included(cloud: Cloud) -> None:
    await cloud.at_instance()
    answer = await cloud.verify()
    assert "no Tencent Cloud API key" in answer

    await cloud.give_key()
    await cloud.settle()
    answer = await cloud.verify()
    assert "Acme &lt;Technology&gt; &amp; Co" in answer and "no call-center instance" in answer

    cloud.ccc.fail("DescribeCCCBuyInfoList", "AuthFailure.SecretIdNotFound")
    assert "key" in (await cloud.verify()).lower()
    cloud.ccc.fail("DescribeCCCBuyInfoList", "UnauthorizedOperation")
    assert "ccc:Describe*" in await cloud.verify()
    cloud.ccc.fail("DescribeCCCBuyInfoList", "RequestLimitExceeded")
    rate_limited = await cloud.verify()
    cloud.ccc.fail("DescribeCCCBuyInfoList", "InternalError")
    down = await cloud.verify()
    assert rate_limited != down and all("Traceback" not in t for t in (rate_limited, down))

    cloud.account.add_instance(SDK_APP_ID, "Acme Support")
    answer = await cloud.verify()
    assert "moved on" in answer
    assert await cloud.step() is Step.QUALIFICATION
    # Nothing of the key in any answer.
    for call in cloud.fake.calls():
        assert SECRET_KEY not in repr(call.args) and SECRET_ID not in repr(call.args)


async def test_a_slow_api_is_answered_checking_then_in_full(cloud: Cloud) -> None:
    await cloud.at_instance()
    await cloud.give_key()
    await cloud.settle()
    cloud.account.add_instance(SDK_APP_ID, "Acme Support")
    cloud.ccc.hold("DescribeCCCBuyInfoList")
    answer = await cloud.verify()
    assert "Checking with the Tencent Cloud API" in answer
    cloud.ccc.release()
    [late] = await cloud.fake.wait_for("response_url")
    assert "moved on" in str(late.args), late.args
    assert late.args.get("response_type") == "ephemeral"
    assert await cloud.step() is Step.QUALIFICATION


async def test_the_periodic_check_keeps_its_pace_and_stops_with_the_key(cloud: Cloud) -> None:
    await cloud.at_instance()
    await cloud.give_key()
    await cloud.settle()
    asked = cloud.ccc.count()
    await cloud.sweep()  # not due yet: the key was checked when it was given
    assert cloud.ccc.count() == asked
    cloud.clock.advance(seconds=CHECK_EVERY.total_seconds() + 1)
    await cloud.sweep()
    assert cloud.ccc.count() > asked
    assert cloud.ccc.max_per_second(SECRET_ID) <= 20

    reply = await cloud.j.command(f"forget-key {cloud.tenant}")
    assert "AKID" in reply_text(reply)
    asked = cloud.ccc.count()
    cloud.clock.advance(seconds=2 * CHECK_EVERY.total_seconds())
    await cloud.sweep()
    assert cloud.ccc.count() == asked


async def test_without_secrets_key_verify_says_the_feature_is_off(
    fake: FakeSlack, keys: Keys
) -> None:
    async with served(fake, keys, MovableClock(MONDAY_MORNING)) as (service, driver):
        j = Journey(driver, fake, CHANNEL, CUSTOMER_EN, SE, OPS_CHANNEL)
        tenant = await j.start("Acme")
        reply = await j.command(f"verify {tenant}", user=SE, channel=OPS_CHANNEL)
        assert "not enabled on this deployment" in reply_text(reply)
        checked = await service.services.cloud_sweep.run_once()
        assert checked.checked == 0
