"""The Jira backend against a fake Jira Cloud: what the issue carries, idempotency, failures."""

from __future__ import annotations

import base64

import aiohttp
import pytest
from pydantic import SecretStr

from bot.flows.model import SipStage
from bot.i18n import Catalog, Lang
from bot.tickets import BackendError, JiraBackend, TicketView
from tests.tickets.conftest import (
    INSTANCE,
    JIRA_EMAIL,
    JIRA_TOKEN,
    TEST_HTTP_TIMEOUT,
    make_view,
)
from tests.tickets.fakes import FakeJira, closed_port


def backend(
    http: aiohttp.ClientSession,
    catalog: Catalog,
    url: str,
    *,
    token: str = JIRA_TOKEN,
    lang: Lang = Lang.EN,
) -> JiraBackend:
    return JiraBackend(
        session=http,
        base_url=url,
        email=JIRA_EMAIL,
        api_token=SecretStr(token),
        project_key="SIP",
        issue_type="Task",
        catalog=catalog,
        lang=lang,
        timeout=TEST_HTTP_TIMEOUT,
    )


@pytest.mark.parametrize("lang", list(Lang))
async def test_issue_carries_the_whole_ticket(
    http: aiohttp.ClientSession, catalog: Catalog, jira: FakeJira, view: TicketView, lang: Lang
) -> None:
    delivery = await backend(http, catalog, jira.url, lang=lang).open(view)

    issue = jira.issues[delivery.external_id]
    assert delivery.url == f"{jira.url}/browse/{issue.key}"
    assert issue.summary == "[SIP trunk] Acme 云通信有限公司 — +86 21 5555 0100, +86 21 5555 0101"
    assert set(issue.labels) >= {"onb-sip-7f3a", "sip-trunk"}
    for item in (
        view.ticket_id, view.tenant_id, view.company, view.channel_id, view.carrier,
        *view.numbers, *view.signalling, view.media_ip_range, view.contact_name,
        view.contact_phone, INSTANCE.call_center_name, INSTANCE.admin_email,
        view.tccc.inbound, *view.tccc.inbound_ips, *view.tccc.outbound,
    ):  # fmt: skip
        assert item and item in issue.description, item
    expected = base64.b64encode(f"{JIRA_EMAIL}:{JIRA_TOKEN}".encode()).decode()
    assert {r.headers["Authorization"] for r in jira.requests} == {f"Basic {expected}"}


async def test_open_finds_the_issue_an_earlier_attempt_created(
    http: aiohttp.ClientSession, catalog: Catalog, jira: FakeJira, view: TicketView
) -> None:
    earlier = jira.add_issue(labels=["onb-sip-7f3a", "sip-trunk"])

    delivery = await backend(http, catalog, jira.url).open(view)

    assert delivery.external_id == earlier.key
    assert jira.creates == []
    assert 'labels = "onb-sip-7f3a"' in jira.searches[0].json()["jql"]


async def test_open_twice_creates_one_issue(
    http: aiohttp.ClientSession, catalog: Catalog, jira: FakeJira, view: TicketView
) -> None:
    jira_backend = backend(http, catalog, jira.url)
    first = await jira_backend.open(view)
    second = await jira_backend.open(view)
    assert first == second
    assert len(jira.issues) == 1


async def test_a_comment_per_stage_and_never_twice(
    http: aiohttp.ClientSession, catalog: Catalog, jira: FakeJira, view: TicketView
) -> None:
    jira_backend = backend(http, catalog, jira.url)
    delivery = await jira_backend.open(view)
    whitelisting = view.model_copy(update={"stage": SipStage.WHITELISTING})

    await jira_backend.update(whitelisting, delivery)
    await jira_backend.update(whitelisting, delivery)  # a retried effect

    (comment,) = jira.issues[delivery.external_id].comments
    assert "Stage: Whitelisting IPs and ports" in comment
    assert "onb-sip-7f3a/stage-2" in comment

    assigned = view.model_copy(
        update={"stage": SipStage.NUMBER_ASSIGNED, "assigned_number": "+86 21 5555 0100"}
    )
    await jira_backend.update(assigned, delivery)
    assert "Assigned number: +86 21 5555 0100" in jira.issues[delivery.external_id].comments[1]


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_become_short_backend_errors(
    http: aiohttp.ClientSession, catalog: Catalog, jira: FakeJira, view: TicketView, status: int
) -> None:
    jira.fail_next(status)
    with pytest.raises(BackendError) as caught:
        await backend(http, catalog, jira.url).open(view)
    assert caught.value.reason == f"jira search: HTTP {status}"


async def test_rate_limit_carries_retry_after(
    http: aiohttp.ClientSession, catalog: Catalog, jira: FakeJira, view: TicketView
) -> None:
    jira.fail_next(429)
    with pytest.raises(BackendError) as caught:
        await backend(http, catalog, jira.url).open(view)
    assert "rate limited" in caught.value.reason


async def test_bad_credentials_name_no_secret(
    http: aiohttp.ClientSession, catalog: Catalog, jira: FakeJira, view: TicketView
) -> None:
    with pytest.raises(BackendError) as caught:
        await backend(http, catalog, jira.url, token="wrong-token-123456").open(view)
    assert caught.value.reason == "jira search: HTTP 401 (check the credentials and permissions)"


async def test_validation_error_explains_itself(
    http: aiohttp.ClientSession, catalog: Catalog, jira: FakeJira, view: TicketView
) -> None:
    jira.project = "OTHER"  # the configured project does not exist there
    with pytest.raises(BackendError) as caught:
        await backend(http, catalog, jira.url).open(view)
    assert caught.value.reason == "jira create: HTTP 400: project: valid project is required"


async def test_no_answer_times_out(
    http: aiohttp.ClientSession, catalog: Catalog, jira: FakeJira, view: TicketView
) -> None:
    jira.hang_next()
    with pytest.raises(BackendError) as caught:
        await backend(http, catalog, jira.url).open(view)
    assert caught.value.reason == "jira search: no answer within 0.5 s"


async def test_connection_refused(
    http: aiohttp.ClientSession, catalog: Catalog, view: TicketView
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(BackendError) as caught:
        await backend(http, catalog, url).open(view)
    assert caught.value.reason.startswith("jira search: connection failed (")
    assert "127.0.0.1" not in caught.value.reason


async def test_missing_instance_reads_not_provided(
    http: aiohttp.ClientSession, catalog: Catalog, jira: FakeJira
) -> None:
    view = make_view(catalog, instance=None)
    delivery = await backend(http, catalog, jira.url).open(view)
    description = jira.issues[delivery.external_id].description
    assert "Call-center instance: not provided" in description
    assert "Instance admin email: not provided" in description
