"""Where do we stand: the summary with its chart, the export, the weekly digest and the
manager's Home, checked against a known population of onboardings built through the real flow.

Three customers: Alpha stays at step 1 and stalls; Beta is moved to step 4 and keeps moving;
Gamma is moved to step 6 and goes live through the console, login and SDK checklists. What
reaches Slack is read from the fake: the messages, and the files through
`files.getUploadURLExternal` / `files.completeUploadExternal`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from PIL import Image

from bot.flows.catalogue import CHECKLISTS
from bot.flows.model import Step
from bot.i18n import Lang
from bot.runtime import HttpService
from bot.state.keys import Keys
from bot.views.summary import funnel_rows
from tests.clock import MONDAY_MORNING, MovableClock
from tests.e2e.conftest import (
    CUSTOMER_EN,
    MANAGER,
    OPS_CHANNEL,
    SE,
    served,
)
from tests.e2e.journey import Journey, texts
from tests.fakeslack.driver import SlackDriver, checkboxes
from tests.fakeslack.server import FakeSlack
from tests.fakeslack.state import Call, StoredFile
from tests.rediscluster import Cluster

CHANNELS = {"alpha": "C0ALPHA0001", "beta": "C0BETA00001", "gamma": "C0GAMMA0001"}
COMPANIES = {"alpha": "Alpha 甲公司", "beta": "=Beta 乙公司", "gamma": "Gamma 丙公司"}


@dataclass
class Population:
    slack: SlackDriver
    service: HttpService
    clock: MovableClock
    tenants: dict[str, str]

    async def sweep(self) -> None:
        services = self.service.services
        await services.after_sweep(await services.sweeper.run_once())
        await services.runner.settle()


async def finish_checklists(j: Journey) -> None:
    for step in (Step.CONSOLE, Step.LOGIN, Step.SDK):
        prompt = await j.wait_prompt(step.value, having='"f":"checklist"')
        opened = len(j.fake.calls("views.open"))
        await j.click(prompt, lambda b: '"f":"checklist"' in str(b.get("value")))
        view = await j.opened_form("form.checklist", count=opened + 1)
        items = [item.value for item in CHECKLISTS[step]]
        await j.submit(view, {"checklist_items": checkboxes(items)})


@pytest.fixture(params=["redis", "cluster"])
async def population(
    fake: FakeSlack, keys: Keys, request: pytest.FixtureRequest
) -> AsyncIterator[Population]:
    """Three onboardings, on one Redis and on a three-master Redis Cluster: the sweep (its
    lease), the summary, the export and the digest must say the same on both."""
    for name, channel in CHANNELS.items():
        fake.add_channel(channel, name, members=[fake.bot_user_id, CUSTOMER_EN, SE])
    clock = MovableClock(MONDAY_MORNING)
    where: dict[str, Any] = {}
    if request.param == "cluster":
        cluster: Cluster = request.getfixturevalue("redis_cluster")
        where["redis_url"] = cluster.url
    async with served(fake, keys, clock, digest_at="mon 09:00", **where) as (service, driver):
        tenants: dict[str, str] = {}
        journeys = {
            name: Journey(driver, fake, channel, CUSTOMER_EN, SE, OPS_CHANNEL)
            for name, channel in CHANNELS.items()
        }
        for name, j in journeys.items():
            tenants[name] = await j.start(COMPANIES[name])
        clock.advance(days=1)  # Tuesday
        await journeys["beta"].command(f"move {tenants['beta']} 4 documents by email", SE)
        await journeys["gamma"].command(f"move {tenants['gamma']} 6 set up by phone", SE)
        clock.advance(days=1)  # Wednesday: Alpha (idle since Monday) is stalled
        await journeys["beta"].command(f"move {tenants['beta']} 4 new contact", SE)
        await finish_checklists(journeys["gamma"])
        population = Population(driver, service, clock, tenants)
        await population.sweep()
        yield population


def uploads_to(fake: FakeSlack, channel: str) -> list[StoredFile]:
    done: list[Call] = fake.calls("files.completeUploadExternal")
    ids = [
        entry["id"]
        for call in done
        if call.args.get("channel_id") == channel or channel in str(call.args.get("channels"))
        for entry in call.args.get("files") or []
    ]
    return [fake.files[i] for i in ids]


async def test_the_summary_counts_the_population_and_comes_with_a_chart(
    population: Population, fake: FakeSlack
) -> None:
    reply = await population.slack.slash_command("summary", user_id=MANAGER, channel_id=OPS_CHANNEL)
    assert "汇总已发到<#C0OPSCHAN01>" in texts(reply.json()["blocks"])
    await population.service.services.runner.settle()
    [summary] = [m for m in fake.messages(OPS_CHANNEL) if m.text == "入驻汇总"]
    shown = texts(summary.blocks)
    assert "共 *3* 家客户：*2* 家入驻中，*1* 家已上线（本周 *1* 家），*1* 家停滞。" in shown
    assert "1. 注册腾讯云账号：*1*（1 家停滞）" in shown
    assert "4. 完成企业资质审核：*1*" in shown and "🎉 已上线：*1*" in shown
    assert "*Alpha 甲公司*" in shown and "已 2 个工作日 没有进展" in shown
    # Medians in business days: Beta and Gamma left step 1 after a day; Gamma spent a day in
    # step 6 (moved there on Tuesday, done on Wednesday), then no time in 7 and 8.
    assert "1. 注册腾讯云账号：1.0" in shown and "6. 腾讯云呼叫中心控制台：1.0" in shown
    assert "7. 登录云呼叫中心：0.0" in shown and "4. 完成企业资质审核：-" in shown
    assert f"<@{SE}>：2" in shown  # Alpha and Beta; Gamma is live
    # The chart's data: a bar per step and live, the stalled share where there is one.
    services = population.service.services
    rows = funnel_rows(await services.reporting.summary(), services.catalog, Lang.ZH)
    assert [(row.total, row.stalled) for row in rows] == [
        (1, 1),
        (0, 0),
        (0, 0),
        (1, 0),
        (0, 0),
        (0, 0),
        (0, 0),
        (0, 0),
        (1, 0),
    ]
    assert rows[0].label == "1. 注册腾讯云账号" and rows[-1].label == "已上线"
    [chart] = uploads_to(fake, OPS_CHANNEL)
    assert chart.name == "onboarding-funnel.png"
    assert chart.content is not None
    assert Image.open(io.BytesIO(chart.content)).size == (1000, 600)


async def test_the_summary_is_not_shown_in_a_customers_channel(
    population: Population, fake: FakeSlack
) -> None:
    reply = await population.slack.slash_command(
        "summary", user_id=SE, channel_id=CHANNELS["alpha"]
    )
    assert "To keep other customers' figures private" in texts(reply.json()["blocks"])
    await population.service.services.runner.settle()
    assert not [m for m in fake.messages(CHANNELS["alpha"]) if "Onboarding summary" in m.text]
    assert uploads_to(fake, CHANNELS["alpha"]) == []


async def test_the_export_is_a_spreadsheet_of_every_onboarding(
    population: Population, fake: FakeSlack
) -> None:
    dm = fake.open_im(SE)
    reply = await population.slack.slash_command("export", user_id=SE, channel_id=dm.id)
    assert "a direct message with me" in texts(reply.json()["blocks"])
    await population.service.services.runner.settle()
    [sheet] = uploads_to(fake, dm.id)
    assert sheet.content is not None and sheet.content.startswith(b"\xef\xbb\xbf")  # BOM
    rows = list(csv.reader(io.StringIO(sheet.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["company", "tenant_id", "step"]
    by_tenant = {row[1]: row for row in rows[1:]}
    alpha, beta, gamma = (by_tenant[population.tenants[n]] for n in ("alpha", "beta", "gamma"))
    assert alpha[0] == "Alpha 甲公司" and alpha[2] == "1 account" and alpha[6] == "yes"
    assert alpha[7] == "customer" and alpha[8] == SE
    assert beta[0] == "'=Beta 乙公司"  # a name that looks like a formula stays text
    assert gamma[2] == "live" and gamma[11].startswith("2026-12-09")


async def test_the_weekly_digest_says_what_changed_and_reaches_each_manager(
    population: Population, fake: FakeSlack
) -> None:
    manager_dm = fake.open_im(MANAGER).id

    def digests() -> list[str]:
        return [texts(m.blocks) for m in fake.messages(manager_dm) if m.text == "入驻周报"]

    # The bot started on Monday at 10:00, an hour after this week's digest was due: it sent it.
    assert len(digests()) == 1
    for day in (3, 4):  # Thursday and Friday: Alpha's stall reaches the SE, then the managers
        population.clock.set(MONDAY_MORNING + timedelta(days=day))
        await population.sweep()
    population.clock.set(MONDAY_MORNING + timedelta(days=7, hours=-1))  # next Monday 09:00
    await population.sweep()
    assert len(digests()) == 2
    shown = digests()[-1]
    assert "🚨 已上报经理：*Alpha 甲公司*" in shown
    assert "🎉 已上线：*Gamma 丙公司*" in shown
    assert "⚠️ 新停滞：*Alpha 甲公司*" in shown and "*=Beta 乙公司*" in shown  # Beta too, by now
    assert "共 *3* 家客户" in shown
    assert len(uploads_to(fake, manager_dm)) == 2  # each with its chart
    # Once a week: another pass the same morning sends nothing more.
    population.clock.advance(minutes=30)
    await population.sweep()
    assert len(digests()) == 2
