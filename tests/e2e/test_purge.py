"""`/onboard purge <tenant>`, end to end: only SEs and managers see it and may run it; it asks
first, only the asker sees the question, and the click deletes every key of the tenant, asks
Slack to delete the files it recorded, reports those Slack would not delete, and leaves one
line in the purge log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

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
    stored_values,
)
from tests.e2e.journey import Journey, texts, unique_pdf
from tests.fakeslack.driver import Reply, SlackDriver
from tests.fakeslack.server import FakeSlack


@dataclass
class Served:
    slack: SlackDriver
    service: HttpService
    j: Journey


@pytest.fixture
async def served_bot(fake: FakeSlack, keys: Keys) -> AsyncIterator[Served]:
    async with served(fake, keys, MovableClock(MONDAY_MORNING)) as (service, driver):
        j = Journey(driver, fake, CHANNEL, CUSTOMER_EN, SE, OPS_CHANNEL)
        await j.start("Acme <Technology> & Co")
        await j.through_instance()
        await j.choose_role("agent")
        for name, said in [("scan-1.pdf", "legal representative ID card"), ("lic.pdf", "")]:
            ts = await j.upload(name, unique_pdf(name), said or "business license")
            await j.thread_reply(ts)
        yield Served(driver, service, j)


def elements(reply: Reply) -> list[dict[str, Any]]:
    body = reply.json() or {}
    return [e for b in body.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]


async def click(s: Served, element: dict[str, Any], user: str) -> None:
    reply = await s.slack.block_action(
        element["action_id"],
        element["value"],
        user_id=user,
        channel_id=OPS_CHANNEL,
        message_ts="1.000001",
        ephemeral=True,
    )
    assert reply.status == 200


async def test_only_staff_see_and_run_purge(served_bot: Served, fake: FakeSlack) -> None:
    s = served_bot
    help_for_customer = texts((await s.j.command("help")).json()["blocks"])
    assert "/onboard status" in help_for_customer and "/onboard purge" not in help_for_customer
    for staff in (SE, MANAGER):
        shown = texts((await s.j.command("help", user=staff, channel=OPS_CHANNEL)).json()["blocks"])
        assert "/onboard purge" in shown

    refused = await s.j.command(f"purge {s.j.tenant}")
    body = refused.json()
    assert body["response_type"] == "ephemeral"
    assert "Only solution engineers and managers can purge" in texts(body["blocks"])
    assert not elements(refused)

    # A customer who somehow clicks the button is refused too, and nothing goes.
    asked = await s.j.command(f"purge {s.j.tenant}", user=SE, channel=OPS_CHANNEL)
    await click(s, elements(asked)[0], CUSTOMER_EN)
    # (not a member of the ops channel, so answered through the click's response_url)
    await fake.wait_for(
        "response_url",
        where=lambda c: "Only solution engineers and managers can purge" in str(c.args["text"]),
    )
    assert await s.service.services.store.get(s.j.tenant or "") is not None
    assert fake.calls("files.delete") == []


async def test_purge_asks_then_deletes_everything_and_reports_the_files(
    served_bot: Served, fake: FakeSlack, keys: Keys
) -> None:
    s = served_bot
    fake.users[MANAGER].locale = "en-US"
    tenant = s.j.tenant or ""
    store = s.service.services.store
    record = await store.get(tenant)
    assert record is not None
    license_id, id_card = sorted(
        (d.file_id for d in record.onboarding.documents.values()),
        key=lambda f: fake.files[f].name != "lic.pdf",
    )

    asked = await s.j.command(f"purge {tenant}", user=SE, channel=OPS_CHANNEL)
    body = asked.json()
    assert body["response_type"] == "ephemeral"
    question = texts(body["blocks"])
    assert "Purge *Acme &lt;Technology&gt; &amp; Co*" in question and f"`{tenant}`" in question
    assert "the 2 file(s) it recorded" in question
    purge, cancel = elements(asked)
    assert purge["style"] == "danger" and purge["confirm"]["style"] == "danger"
    assert purge["confirm"]["title"]["text"] == "Purge this onboarding?"
    assert cancel["text"]["text"] == "Cancel"

    await click(s, cancel, SE)
    [closed] = await fake.wait_for("response_url")
    assert closed.args["replace_original"] is True
    assert "Nothing was deleted." in texts(closed.args["blocks"])
    assert await store.get(tenant) is not None

    fake.delete_file(license_id)  # the customer deleted this one in Slack already
    await click(s, purge, MANAGER)
    calls = await fake.wait_for("response_url", count=2)
    report = texts(calls[-1].args["blocks"])
    assert "*Acme &lt;Technology&gt; &amp; Co*" in report and "is purged" in report
    assert "deleted: 0; already gone: 1; could not be deleted: 1" in report
    assert f"scan-1.pdf (`{id_card}`)" in report  # the customer's upload: not the bot's to delete
    assert {c.args["file"] for c in fake.calls("files.delete")} == {license_id, id_card}
    assert [c.response.get("error") for c in fake.calls("files.delete")].count(
        "cant_delete_file"
    ) == 1

    # Nothing under the prefix names the tenant or holds it, but the purge log's one line.
    stored = await stored_values(keys)
    left = [k for k, v in stored.items() if k != keys.purges() and tenant.encode() in v]
    assert left == []
    [line] = await store.purges()
    assert set(line) == {"actor", "at", "tenant_id"}
    assert (line["actor"], line["tenant_id"]) == (MANAGER, tenant)

    # The same click again finds nothing to purge.
    await click(s, purge, SE)
    calls = await fake.wait_for("response_url", count=3)
    assert "is not there any more" in texts(calls[-1].args["blocks"])
    assert len(await store.purges()) == 1
