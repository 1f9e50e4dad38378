"""A tenant's read-only cloud API key, end to end: `/onboard key` opens the form, a malformed
key is refused on its fields, a good one is kept encrypted and shown only masked, `/onboard
forget-key` deletes it, purging the tenant deletes it, and without `SECRETS_KEY` the commands
say the feature is off.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from cryptography.fernet import Fernet

from bot.cloud.vault import FORGOTTEN, GIVEN
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
    stored_values,
)
from tests.e2e.conversation import reply_text, view_text
from tests.e2e.journey import Journey, message_text, texts
from tests.fakeslack.driver import SlackDriver
from tests.fakeslack.server import FakeSlack
from tests.fakeslack.state import View

SECRET_ID = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
SECRET_KEY = "Gu5t9xGARNpq86cd98joQYCN3kEyMARK"
MASKED = "AKID••••MPLE"


@dataclass
class Served:
    slack: SlackDriver
    service: HttpService
    j: Journey


async def _served(fake: FakeSlack, keys: Keys, **settings: str) -> AsyncIterator[Served]:
    async with served(fake, keys, MovableClock(MONDAY_MORNING), **settings) as (service, driver):
        j = Journey(driver, fake, CHANNEL, CUSTOMER_EN, SE, OPS_CHANNEL)
        await j.start("Acme <Technology> & Co")
        await service.services.runner.settle()
        yield Served(driver, service, j)


@pytest.fixture
async def with_keys(fake: FakeSlack, keys: Keys) -> AsyncIterator[Served]:
    async for s in _served(fake, keys, secrets_key=Fernet.generate_key().decode()):
        yield s


@pytest.fixture
async def without_keys(fake: FakeSlack, keys: Keys) -> AsyncIterator[Served]:
    async for s in _served(fake, keys):
        yield s


async def open_form(
    s: Served, text: str = "key", *, user: str = CUSTOMER_EN, channel: str = CHANNEL
) -> View:
    """Type `text` and return the form its trigger opened (the command itself says nothing)."""
    reply = await s.j.command(text, user=user, channel=channel)
    assert reply.text == "" or not (reply.json() or {}).get("text"), reply_text(reply)
    s.j.last_trigger = reply.trigger_id  # the form is the one this command's trigger opened
    return await s.j.opened_form("form.cloud_key")


async def test_a_customer_gives_a_key_that_is_kept_encrypted_and_shown_only_masked(
    with_keys: Served, fake: FakeSlack, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    s = with_keys
    tenant = s.j.tenant or ""
    view = await open_form(s)
    shown = view_text(view.view)
    assert "https://console.cloud.tencent.com/cam" in shown and "ccc:Describe*" in shown
    assert "programmatic access" in shown and "was given by" not in shown
    assert '"private_metadata"' not in shown

    # Malformed values are refused on their own fields, without echoing what was typed.
    refused = await s.j.submit(view, {"secret_id": "AKID-not-an-id", "secret_key": "oops it is"})
    body = refused.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"secret_id", "secret_key"}
    assert "This is not a SecretId" in body["errors"]["secret_id"]
    assert "AKID-not-an-id" not in refused.text and "oops" not in refused.text
    swapped = await s.j.submit(view, {"secret_id": SECRET_KEY, "secret_key": SECRET_ID})
    errors = swapped.json()["errors"]
    assert "looks like a SecretId" in errors["secret_key"] and "secret_id" in errors
    assert await s.service.services.vault.info(tenant) is None

    saved = await s.j.submit(view, {"secret_id": SECRET_ID, "secret_key": SECRET_KEY})
    assert saved.text == "", saved.text  # the form closes
    told = await s.j.wait_ephemeral(CUSTOMER_EN, "Saved")
    said = message_text(told)
    assert MASKED in said and f"<@{CUSTOMER_EN}>" in said and SECRET_KEY not in said
    assert SECRET_ID not in said and f"forget-key {tenant}" in said
    assert await s.service.services.vault.get(tenant) is not None

    # Nowhere in Redis, nor in any log record, nor in anything the bot sent Slack.
    stored = b"\n".join((await stored_values(keys)).values())
    assert SECRET_KEY.encode() not in stored and SECRET_ID.encode() not in stored
    assert keys.cloud_key(tenant).encode() in stored
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert SECRET_KEY not in logged and SECRET_ID not in logged
    sent = repr([c.args for c in fake.calls()])
    assert SECRET_KEY not in sent and SECRET_ID not in sent

    entries = await s.service.services.store.audit(tenant)
    [given] = [e for e in entries if e.event == GIVEN]
    assert given.actor.user_id == CUSTOMER_EN and given.detail == {"secret_id": MASKED}

    # Opened again, the form says a key is kept (masked) and never shows it.
    again = await open_form(s)
    shown = view_text(again.view)
    assert f"A key {MASKED} was given by <@{CUSTOMER_EN}>" in shown and SECRET_KEY not in shown

    # The customer forgets it: deleted, audited, and said.
    forgot = await s.j.command("forget-key")
    assert f"The cloud API key {MASKED} of *Acme &lt;Technology&gt; &amp; Co* is forgotten" in (
        reply_text(forgot)
    )
    assert await s.service.services.vault.info(tenant) is None
    assert not any(k.endswith(":cloudkey") for k in await stored_values(keys))
    entries = await s.service.services.store.audit(tenant)
    assert [e.actor.user_id for e in entries if e.event == FORGOTTEN] == [CUSTOMER_EN]
    none = await s.j.command(f"forget-key {tenant}")
    assert "No cloud API key is kept for" in reply_text(none)


async def test_an_se_gives_a_key_from_the_ops_channel_and_purging_deletes_it(
    with_keys: Served, fake: FakeSlack, keys: Keys
) -> None:
    s = with_keys
    tenant = s.j.tenant or ""
    here = await s.j.command("key", user=SE, channel=OPS_CHANNEL)
    assert "There is no onboarding here" in reply_text(here)
    view = await open_form(s, f"key {tenant}", user=SE, channel=OPS_CHANNEL)
    await s.j.submit(view, {"secret_id": SECRET_ID, "secret_key": SECRET_KEY}, user=SE)
    told = await s.j.wait_ephemeral(SE, "Saved")
    assert told.channel == OPS_CHANNEL and MASKED in message_text(told)

    asked = await s.j.command(f"purge {tenant}", user=SE, channel=OPS_CHANNEL)
    [purge] = [
        e
        for b in asked.json()["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "purge.confirm"
    ]
    await s.slack.block_action(
        purge["action_id"],
        purge["value"],
        user_id=MANAGER,
        channel_id=OPS_CHANNEL,
        message_ts="1.000001",
        ephemeral=True,
    )
    await fake.wait_for("response_url")  # the purge report (in the manager's Chinese)
    stored = await stored_values(keys)
    assert not any(tenant.encode() in v for k, v in stored.items() if k != keys.purges())
    assert await s.service.services.vault.info(tenant) is None


async def test_the_customers_app_home_shows_the_key_and_opens_the_form(
    with_keys: Served, fake: FakeSlack
) -> None:
    s = with_keys

    async def home() -> str:
        before = len(fake.calls("views.publish"))
        await s.slack.app_home_opened(CUSTOMER_EN)
        await fake.wait_for("views.publish", count=before + 1)
        return texts(fake.home_views[CUSTOMER_EN].view.get("blocks"))

    assert "No cloud API key is given yet" in await home()
    [give] = [
        e
        for b in fake.home_views[CUSTOMER_EN].view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "cloudkey.open"
    ]
    assert give["text"]["text"] == "Give a cloud API key" and give["value"] == s.j.tenant
    clicked = await s.slack.block_action(
        give["action_id"],
        give["value"],
        user_id=CUSTOMER_EN,
        view=fake.view_json(fake.home_views[CUSTOMER_EN]),
    )
    s.j.last_trigger = clicked.trigger_id
    view = await s.j.opened_form("form.cloud_key")
    await s.j.submit(view, {"secret_id": SECRET_ID, "secret_key": SECRET_KEY})
    await s.j.wait_ephemeral(CUSTOMER_EN, "Saved")  # in the tenant's channel
    shown = await home()
    assert f"A key {MASKED} was given by <@{CUSTOMER_EN}>" in shown and SECRET_KEY not in shown


async def test_help_lists_the_key_commands_to_those_who_may_run_them(with_keys: Served) -> None:
    s = with_keys
    customer = reply_text(await s.j.command("help"))
    assert "/onboard key" in customer and "/onboard forget-key" in customer
    manager = reply_text(await s.j.command("help", user=MANAGER, channel=OPS_CHANNEL))
    assert "/onboard key" not in manager and "/onboard forget-key" in manager
    refused = await s.j.command(f"key {s.j.tenant}", user=MANAGER, channel=OPS_CHANNEL)
    assert "只有客户或解决方案工程师可以提供云 API 密钥" in reply_text(refused)  # a zh manager


async def test_without_secrets_key_the_commands_say_the_feature_is_off(
    without_keys: Served, fake: FakeSlack
) -> None:
    s = without_keys
    assert not s.service.services.vault.enabled
    for text in ("key", f"forget-key {s.j.tenant}"):
        reply = await s.j.command(text)
        assert "not enabled on this deployment" in reply_text(reply), reply_text(reply)
    assert fake.calls("views.open") == []
    shown = reply_text(await s.j.command("help"))
    assert "/onboard key" not in shown and "forget-key" not in shown
