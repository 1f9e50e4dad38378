"""Fixtures for the ticket tests: a real Redis under a unique prefix, the fake Slack, a fake Jira
and a webhook receiver on loopback ports, a clock the test moves by hand."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from redis.asyncio import Redis
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.flows.catalogue import tccc_sip_parameters
from bot.flows.model import InstanceInfo, SipStage, SipTrunkRequest, SipTrunkTicket
from bot.i18n import Catalog, Lang, load_catalog
from bot.state.connection import create_redis
from bot.state.keys import Keys
from bot.tickets import TicketDispatcher, TicketView, ticket_view
from tests.conftest import REDIS_URL
from tests.fakeslack.server import FakeSlack
from tests.tickets.fakes import FakeJira, WebhookReceiver

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OPS = "C0OPSCHAN01"
CUSTOMER_CHANNEL = "C0ACMECCC01"
SE = "U0SENGINEER"
JIRA_EMAIL = "bot@example.com"
JIRA_TOKEN = "ATATT3xJiraTokenThatMustNeverLeak0123456789"
WEBHOOK_SECRET = "whsec-the-receivers-shared-secret-4242"
# Short, so a hanging server costs the test a fraction of a second.
TEST_HTTP_TIMEOUT = aiohttp.ClientTimeout(total=0.5)


class FakeClock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_view(
    catalog: Catalog,
    *,
    ticket_id: str = "sip-7f3a",
    stage: SipStage = SipStage.SUBMITTED,
    instance: InstanceInfo | None = None,
    media_ip_range: str | None = "203.0.113.0/24",
    company: str = "Acme 云通信有限公司",
    assigned_number: str | None = None,
) -> TicketView:
    request = SipTrunkRequest(
        carrier="中国电信 China Telecom",
        numbers=["+86 21 5555 0100", "+86 21 5555 0101"],
        signalling=["198.51.100.7:5060", "[2001:db8::7]:5061"],
        media_ip_range=media_ip_range,
        contact_name="王工 Wang",
        contact_phone="+86 138 0013 8000",
    )
    ticket = SipTrunkTicket(
        ticket_id=ticket_id,
        request=request,
        stage=stage,
        opened_by="U0CUSTOMER1",
        opened_at=T0 - timedelta(hours=1),
        assigned_number=assigned_number,
    )
    return ticket_view(
        tenant_id="acme-x1y2",
        company=company,
        channel_id=CUSTOMER_CHANNEL,
        instance=instance,
        ticket=ticket,
        sip_parameters=tccc_sip_parameters(catalog),
    )


INSTANCE = InstanceInfo(
    call_center_name="Acme 客服中心",
    admin_name="李雷",
    admin_email="admin@acme.example",
    sla_agreed=True,
)


@pytest.fixture
def view(catalog: Catalog) -> TicketView:
    return make_view(catalog, instance=INSTANCE)


@pytest.fixture
def keys() -> Keys:
    return Keys(prefix=f"t-tickets-{uuid.uuid4().hex[:12]}")


@pytest.fixture
async def redis(keys: Keys) -> AsyncIterator[Redis]:
    client = create_redis(REDIS_URL)
    try:
        yield client
    finally:
        doomed = [k async for k in client.scan_iter(match=keys.everything_pattern(), count=1000)]
        if doomed:
            await client.delete(*doomed)
        await client.aclose()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_channel(OPS, "tccc-ops", members=[fake.bot_user_id, SE])
        yield fake


@pytest.fixture
def slack_client(slack: FakeSlack, http: aiohttp.ClientSession) -> AsyncWebClient:
    # No retry handlers: a fault the test injects must reach the dispatcher.
    return AsyncWebClient(base_url=slack.api_url, token=slack.bot_token, session=http)


@pytest.fixture
async def jira() -> AsyncIterator[FakeJira]:
    async with FakeJira(JIRA_EMAIL, JIRA_TOKEN, project="SIP") as fake:
        yield fake


@pytest.fixture
async def webhook(clock: FakeClock) -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver(WEBHOOK_SECRET, clock) as receiver:
        yield receiver


def make_settings(
    backends: str,
    *,
    jira_url: str | None = None,
    webhook_url: str | None = None,
    ops_channel: str | None = OPS,
    lang: Lang = Lang.EN,
    max_attempts: int | None = None,
) -> Settings:
    extra = {} if max_attempts is None else {"ticket_max_attempts": max_attempts}
    return Settings(
        **extra,
        ticket_backends=backends,
        onboarding_ops_channel=ops_channel,
        ops_lang=lang,
        jira_base_url=jira_url,
        jira_email=JIRA_EMAIL if jira_url else None,
        jira_api_token=JIRA_TOKEN if jira_url else None,
        jira_project_key="SIP" if jira_url else None,
        ticket_webhook_url=webhook_url,
        ticket_webhook_secret=WEBHOOK_SECRET if webhook_url else None,
    )


DispatcherFactory = Callable[..., TicketDispatcher]


@pytest.fixture
def make_dispatcher(
    http: aiohttp.ClientSession,
    slack_client: AsyncWebClient,
    catalog: Catalog,
    redis: Redis,
    keys: Keys,
    clock: FakeClock,
    jira: FakeJira,
    webhook: WebhookReceiver,
) -> Iterator[DispatcherFactory]:
    def build(
        backends: str = "slack,jira,webhook",
        *,
        jira_url: str | None = None,
        lang: Lang = Lang.EN,
        max_attempts: int | None = None,
    ) -> TicketDispatcher:
        settings = make_settings(
            backends,
            jira_url=jira_url or (jira.url if "jira" in backends else None),
            webhook_url=webhook.hook_url if "webhook" in backends else None,
            lang=lang,
            max_attempts=max_attempts,
        )
        return TicketDispatcher(
            settings,
            http=http,
            slack=slack_client,
            catalog=catalog,
            redis=redis,
            keys=keys,
            clock=clock,
            rng=random.Random(7),
            http_timeout=TEST_HTTP_TIMEOUT,
        )

    yield build
