from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakeslack.server import FakeSlack

CHANNEL = "C0PROJECT01"
CUSTOMER = "U0CUSTOMER1"
EXTERNAL = "U0EXTERNAL1"
EXTERNAL_TEAM = "T0PARTNER01"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_user(CUSTOMER, "li.wei", real_name="Li Wei", locale="zh-CN", email="li@acme.cn")
        fake.add_user(EXTERNAL, "sam", real_name="Sam Partner", team_id=EXTERNAL_TEAM)
        fake.add_channel(
            CHANNEL,
            "proj-acme-ccc",
            members=[fake.bot_user_id, CUSTOMER, EXTERNAL],
            is_ext_shared=True,
        )
        yield fake


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def client(fake: FakeSlack, session: aiohttp.ClientSession) -> AsyncWebClient:
    """The real slack_sdk client, configured as the bot should be (retries on 429)."""
    return AsyncWebClient(
        base_url=fake.api_url,
        token=fake.bot_token,
        session=session,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
