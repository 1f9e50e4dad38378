"""The real HTTP service on a loopback port, a fake Slack, and a driver that signs as Slack does."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.config import Settings
from bot.runtime import HttpService
from bot.services import Services
from bot.state.keys import Keys
from bot.state.records import stored_json
from tests.clock import MovableClock
from tests.conftest import REDIS_URL
from tests.fakeslack.driver import SlackDriver
from tests.fakeslack.server import FakeSlack

SIGNING_SECRET = "e2e-signing-secret-7f3a9c1d"
CHANNEL = "C0ACMECCC01"
OPS_CHANNEL = "C0OPSCHAN01"
CUSTOMER_ZH = "U0CUSTZH001"
CUSTOMER_EN = "U0CUSTEN001"
SE = "U0SOLENG001"
MANAGER = "U0MANAGER01"


def make_settings(fake: FakeSlack, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": fake.bot_token,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": fake.api_url,
        "redis_url": REDIS_URL,
        "host": "127.0.0.1",
        "port": 0,
        "onboarding_se_users": SE,
        "onboarding_manager_users": MANAGER,
        "onboarding_ops_channel": OPS_CHANNEL,
        "log_format": "text",
        # The weekly digest only where a test asks for it (it would post to managers at start).
        "digest_at": "off",
        # Never the real cloud API: a closed loopback port unless a test starts the fake one.
        "tccc_api_url": "http://127.0.0.1:9",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def keys() -> Keys:
    return Keys(prefix=f"e2e-{uuid.uuid4().hex[:12]}")


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_user(CUSTOMER_ZH, "li.wei", real_name="李伟", locale="zh-CN")
        fake.add_user(CUSTOMER_EN, "sam", real_name="Sam Lee", locale="en-US")
        fake.add_user(SE, "se.zhang", real_name="Zhang SE", locale="en-US")
        fake.add_user(MANAGER, "mgr.wang", real_name="Wang Manager", locale="zh-CN")
        members = [fake.bot_user_id, CUSTOMER_ZH, CUSTOMER_EN, SE]
        fake.add_channel(CHANNEL, "acme-ccc", members=members, is_ext_shared=True)
        fake.add_channel(OPS_CHANNEL, "onboarding-ops", members=[fake.bot_user_id, SE, MANAGER])
        yield fake


async def keys_under(keys: Keys) -> list[bytes]:
    client = Redis.from_url(REDIS_URL)
    try:
        return [k async for k in client.scan_iter(match=keys.everything_pattern(), count=1000)]
    finally:
        await client.aclose()


async def written_by_requests(keys: Keys) -> list[bytes]:
    """Keys under the test's prefix, less the periodic sweeps' own bookkeeping (their lease, the
    one-time scheduling mark, when the reconciler last ran), which they write whatever the
    requests do."""
    sweeps = (
        keys.lease("stall-sweep"),
        keys.lease_fence("stall-sweep"),
        keys.stall_seeded(),
        keys.retention_seeded(),
        keys.reconciled(),
    )
    return [k for k in await keys_under(keys) if k.decode() not in sweeps]


async def stored_values(keys: Keys) -> dict[str, bytes]:
    """Every key under the prefix with all it holds (its name, then values, members, fields and
    stream entries), for scans of what the bot keeps. A record is stored compressed: the scan
    reads what it holds, not its compressed bytes."""
    client = Redis.from_url(REDIS_URL)
    found: dict[str, bytes] = {}
    try:
        async for raw in client.scan_iter(match=keys.everything_pattern(), count=1000):
            key = raw.decode()
            kind = (await client.type(key)).decode()
            parts: list[bytes] = []
            if kind == "string":
                value = await client.get(key) or b""
                parts = [stored_json(value) if key.endswith(":record") else value]
            elif kind == "set":
                parts = list(await client.smembers(key))
            elif kind == "zset":
                parts = list(await client.zrange(key, 0, -1))
            elif kind == "hash":
                parts = [b for kv in (await client.hgetall(key)).items() for b in kv]
            elif kind == "stream":
                parts = [b for _, f in await client.xrange(key) for kv in f.items() for b in kv]
            elif kind == "list":
                parts = list(await client.lrange(key, 0, -1))
            elif kind == "none":
                continue  # deleted since the scan named it (the runner finished with it)
            else:
                raise AssertionError(f"unexpected type {kind} at {key}")
            found[key] = raw + b"\n" + b"\n".join(parts)
    finally:
        await client.aclose()
    return found


async def delete_under(keys: Keys) -> None:
    client = Redis.from_url(REDIS_URL)
    try:
        doomed = [k async for k in client.scan_iter(match=keys.everything_pattern(), count=1000)]
        if doomed:
            await client.delete(*doomed)
    finally:
        await client.aclose()


@asynccontextmanager
async def served(
    fake: FakeSlack, keys: Keys, clock: MovableClock | None = None, **overrides: Any
) -> AsyncIterator[tuple[HttpService, SlackDriver]]:
    """The real HTTP service with these settings (and clock), and a driver signing for it;
    stopped, and its keys deleted, afterwards."""
    settings = make_settings(fake, **overrides)
    services = await Services.start(settings, keys=keys, clock=clock or MovableClock())
    service = await HttpService.start(settings, services)
    try:
        async with SlackDriver(
            f"http://127.0.0.1:{service.port}",
            SIGNING_SECRET,
            team_id=fake.team_id,
            api_app_id=fake.api_app_id,
            bot_user_id=fake.bot_user_id,
            hooks_url=fake.hooks_url,
            team_of=fake.team_of,
        ) as driver:
            yield service, driver
    finally:
        await service.stop()
        await delete_under(keys)


@pytest.fixture
def clock() -> MovableClock:
    """The bot's clock: tests move it (a stall, a digest) instead of waiting."""
    return MovableClock()


@pytest.fixture
async def bot(fake: FakeSlack, keys: Keys, clock: MovableClock) -> AsyncIterator[HttpService]:
    settings = make_settings(fake)
    services = await Services.start(settings, keys=keys, clock=clock)
    service = await HttpService.start(settings, services)
    try:
        yield service
    finally:
        await service.stop()
        await delete_under(keys)


@pytest.fixture
async def slack(bot: HttpService, fake: FakeSlack) -> AsyncIterator[SlackDriver]:
    async with SlackDriver(
        f"http://127.0.0.1:{bot.port}",
        SIGNING_SECRET,
        team_id=fake.team_id,
        api_app_id=fake.api_app_id,
        bot_user_id=fake.bot_user_id,
        hooks_url=fake.hooks_url,
        team_of=fake.team_of,
    ) as driver:
        yield driver
