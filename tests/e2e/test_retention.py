"""Document retention, end to end: the sweep forgets the documents of a tenant live for longer
than `DOCUMENT_RETENTION` (the record loses their metadata, the audit says so, Slack is asked to
delete the files, the log reports how that went) and keeps those of a tenant live for less.
Time is the bot's clock, moved by the test."""

from __future__ import annotations

import logging

import pytest

from bot.flows.catalogue import CHECKLISTS
from bot.flows.model import Step
from bot.state.keys import Keys
from tests.clock import MONDAY_MORNING, MovableClock
from tests.e2e.conftest import CUSTOMER_EN, OPS_CHANNEL, SE, served
from tests.e2e.journey import Journey, texts, unique_pdf
from tests.fakeslack.driver import checkboxes
from tests.fakeslack.server import FakeSlack

CHANNELS = {"old": "C0OLDLIVE01", "new": "C0NEWLIVE01"}


def checklist_forms(j: Journey) -> int:
    return len(
        [c for c in j.fake.calls("views.open") if "form.checklist" in str(c.args.get("view"))]
    )


async def finish_checklists(j: Journey) -> None:
    for step in (Step.CONSOLE, Step.LOGIN, Step.SDK):
        prompt = await j.wait_prompt(step.value, having='"f":"checklist"')
        opened = checklist_forms(j)
        await j.click(prompt, lambda b: '"f":"checklist"' in str(b.get("value")))
        view = await j.opened_form("form.checklist", count=opened + 1)
        items = [item.value for item in CHECKLISTS[step]]
        await j.submit(view, {"checklist_items": checkboxes(items)})


async def live_with_documents(j: Journey, company: str) -> str:
    """Started, two documents uploaded, moved on by the SE and live through steps 6-8."""
    tenant = await j.start(company)
    await j.through_instance()
    await j.choose_role("agent")
    for name, said in [("scan-1.pdf", "legal representative ID card"), ("lic.pdf", "licence")]:
        ts = await j.upload(name, unique_pdf(f"{company}-{name}"), said)
        await j.thread_reply(ts)
    await j.command(f"move {tenant} 6 documents checked by phone", SE)
    await finish_checklists(j)
    return tenant


async def test_documents_are_forgotten_after_the_retention_period(
    fake: FakeSlack, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    for name, channel in CHANNELS.items():
        fake.add_channel(channel, name, members=[fake.bot_user_id, CUSTOMER_EN, SE])
    clock = MovableClock(MONDAY_MORNING)
    async with served(fake, keys, clock, document_retention="180d") as (service, driver):
        services = service.services
        store = services.store

        def journey(name: str) -> Journey:
            return Journey(driver, fake, CHANNELS[name], CUSTOMER_EN, SE, OPS_CHANNEL)

        old = await live_with_documents(journey("old"), "Old Live Co")
        clock.advance(days=2)
        new = await live_with_documents(journey("new"), "New Live Co")
        for tenant in (old, new):
            record = await store.get(tenant)
            assert record is not None and record.live_at is not None
            assert len(record.onboarding.documents) == 2
        before = await store.get(old)
        assert before is not None
        old_files = {d.file_id for d in before.onboarding.documents.values()}

        clock.advance(days=179)  # old: live 181 days; new: 179 days
        with caplog.at_level(logging.INFO):
            report = await services.sweeper.run_once()

        assert report.forgotten == [old]
        forgotten = await store.get(old)
        assert forgotten is not None and forgotten.onboarding.documents == {}
        assert (await store.audit(old))[-1].event == "documents_forgotten"
        kept = await store.get(new)
        assert kept is not None and len(kept.onboarding.documents) == 2
        # Slack is asked to delete the old tenant's files; a customer's upload is not the bot's
        # to delete, and the log says so (ids and Slack's answer, no file names).
        assert {c.args["file"] for c in fake.calls("files.delete")} == old_files
        [line] = [m for m in caplog.messages if "documents past retention" in m]
        assert f"of {old}: 0 Slack file(s) deleted, 0 already gone, 2 not deleted" in line
        assert "cant_delete_file" in line and "scan-1.pdf" not in line

        # The customer still sees a live onboarding.
        status = await journey("old").command("status")
        assert "live" in texts(status.json()["blocks"]).lower()

        # The next pass finds nothing more to do; two days later the new one goes too.
        caplog.clear()
        assert (await services.sweeper.run_once()).forgotten == []
        clock.advance(days=2)
        assert (await services.sweeper.run_once()).forgotten == [new]
        assert len(fake.calls("files.delete")) == 4
