"""The per-process services every handler uses, created inside the running event loop."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.cloud.ccc import CccApi
from bot.cloud.secretbox import secret_box
from bot.cloud.sweep import CloudSweep
from bot.cloud.vault import KeyVault
from bot.cloud.verify import CHECK_EVERY, Verifier
from bot.config import Settings
from bot.documents import KeywordTable
from bot.documents.pool import PrecheckPool
from bot.flows.model import ActorRole
from bot.handlers.access import Memberships
from bot.i18n import Catalog, Lang, lang_from_locale, load_catalog
from bot.onboarding import Onboardings, utcnow
from bot.reporting import Reporting
from bot.runner import EffectRunner
from bot.slackapi import create_web_client
from bot.slackfiles import delete_files, log_deletion
from bot.stalls.policy import StallPolicy
from bot.stalls.sweep import StallSweeper, SweepReport
from bot.state import Keys, RedisTenantStore, SlackFile, create_redis
from bot.state.health import RedisHealth, is_unreachable, redis_location
from bot.state.inbox import Inbox
from bot.state.lease import Leases
from bot.tickets import TicketDispatcher
from bot.views.limits import check_content_limits

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

# A user's locale rarely changes; asking Slack once an hour per user is plenty.
LOCALE_TTL_SECONDS = 3600.0
# The locale is looked up on the path of a slash command, which must be acked within 3 s.
LOCALE_LOOKUP_TIMEOUT = 1.0
_LOCALE_CACHE_SIZE = 10_000


@dataclass
class LocaleCache:
    """Each user's Slack locale (`users.info` with `include_locale`), cached in the process."""

    client: AsyncWebClient
    _entries: dict[str, tuple[float, str | None]] = field(default_factory=dict)

    async def locale_of(self, user_id: str) -> str | None:
        now = time.monotonic()
        hit = self._entries.get(user_id)
        if hit and now - hit[0] < LOCALE_TTL_SECONDS:
            return hit[1]
        try:
            async with asyncio.timeout(LOCALE_LOOKUP_TIMEOUT):
                resp = await self.client.users_info(user=user_id, include_locale=True)
        except (SlackApiError, TimeoutError, OSError) as exc:
            # Not knowing the locale is not an error: the caller falls back to a default.
            log.info("locale of %s unknown: %s", user_id, type(exc).__name__)
            return None
        user = resp.get("user") or {}
        locale = user.get("locale")
        if len(self._entries) >= _LOCALE_CACHE_SIZE:
            self._entries.clear()
        self._entries[user_id] = (now, locale)
        return locale

    async def lang_of(self, user_id: str, default: Lang) -> Lang:
        return lang_from_locale(await self.locale_of(user_id), default)

    def remember(self, user_id: str, locale: str) -> None:
        """Record a locale Slack sent us in a payload, sparing a `users.info` call."""
        self._entries[user_id] = (time.monotonic(), locale)


@dataclass
class Services:
    settings: Settings
    catalog: Catalog
    redis: Redis
    keys: Keys
    slack: AsyncWebClient
    locales: LocaleCache
    http: aiohttp.ClientSession
    store: RedisTenantStore
    onboardings: Onboardings
    runner: EffectRunner
    memberships: Memberships
    keywords: KeywordTable  # what customers call each document, from the content
    redis_health: RedisHealth
    policy: StallPolicy
    sweeper: StallSweeper
    reporting: Reporting
    inbox: Inbox
    vault: KeyVault  # tenants' cloud API keys (disabled without SECRETS_KEY)
    cloud_api: CccApi  # the TCCC cloud API (TCCC_API_URL)
    verifier: Verifier  # confirms progress against it with a tenant's key
    cloud_sweep: CloudSweep  # asks about every tenant with a key, now and then
    clock: Callable[[], datetime]
    prechecks: PrecheckPool = field(default_factory=PrecheckPool)  # uploads' first look

    @classmethod
    async def start(
        cls,
        settings: Settings,
        *,
        keys: Keys | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> Services:
        """Build the services. Must run inside the event loop that will use them. `clock` is
        what every part asks for the time (tests move it instead of waiting)."""
        if not settings.onboarding_se_users:
            log.warning(
                "ONBOARDING_SE_USERS is empty: anyone in the workspace can start an onboarding"
                " (never in the ops or manager channel)"
            )
        catalog = load_catalog()
        # Our wording must fit the Slack fields it lands in (a refused form otherwise).
        check_content_limits(catalog)
        url = settings.redis_url.get_secret_value() if settings.redis_url else None
        redis = create_redis(url)
        health = RedisHealth(redis_location(url))
        keys = keys or Keys(prefix=settings.redis_key_prefix)
        http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30, connect=5))
        slack = create_web_client(settings, http)
        store = RedisTenantStore(redis, keys, clock=clock, audit_maxlen=settings.audit_maxlen)
        policy = settings.stall_policy()
        onboardings = Onboardings(store, clock=clock, policy=policy)
        locales = LocaleCache(slack)
        tickets = TicketDispatcher(
            settings, http=http, slack=slack, catalog=catalog, redis=redis, keys=keys, clock=clock
        )
        runner = EffectRunner(
            onboardings=onboardings,
            slack=slack,
            catalog=catalog,
            ops_channel=settings.onboarding_ops_channel,
            ops_lang=settings.ops_lang,
            tickets=tickets,
            redis_health=health,
            policy=policy,
            manager_channel=settings.onboarding_manager_channel,
            managers=settings.onboarding_manager_users,
            lang_of=locales.lang_of,
            clock=clock,
        )
        reporting = Reporting(
            store=store,
            settings=settings,
            policy=policy,
            catalog=catalog,
            slack=slack,
            runner=runner,
            clock=clock,
        )

        async def forget_files(tenant_id: str, files: tuple[SlackFile, ...]) -> None:
            log_deletion("documents past retention of", tenant_id, await delete_files(slack, files))

        sweeper = StallSweeper(
            store=store,
            leases=Leases(redis, keys),
            policy=policy,
            clock=clock,
            interval=settings.sweep_every,
            retention=settings.document_retention,
            forget_files=forget_files,
        )
        vault = KeyVault(
            redis,
            keys,
            secret_box(settings.secrets_key.get_secret_value()) if settings.secrets_key else None,
            clock,
            audit_maxlen=settings.audit_maxlen,
        )
        cloud_api = CccApi(settings.tccc_api_url)
        verifier = Verifier(
            onboardings=onboardings,
            vault=vault,
            api=cloud_api,
            clock=clock,
            spawn=runner.spawn_task,
            kick=runner.kick,
        )
        # A step a person finished is checked against the cloud API (after the answer, in the
        # background); nothing happens for a tenant without a key.
        onboardings.step_done = verifier.after_done
        cloud_sweep = CloudSweep(
            redis=redis, keys=keys, leases=Leases(redis, keys), verifier=verifier, clock=clock
        )

        async def key_given(tenant_id: str) -> None:
            # Checked at once (a key that does not work is told now), then every CHECK_EVERY.
            await cloud_sweep.schedule(tenant_id, clock() + CHECK_EVERY)
            verifier.check_soon(tenant_id)

        vault.given = key_given
        vault.gone = cloud_sweep.unschedule
        return cls(
            settings=settings,
            catalog=catalog,
            redis=redis,
            keys=keys,
            slack=slack,
            locales=locales,
            http=http,
            store=store,
            onboardings=onboardings,
            runner=runner,
            memberships=Memberships(slack),
            keywords=KeywordTable.from_catalog(catalog),
            redis_health=health,
            policy=policy,
            sweeper=sweeper,
            reporting=reporting,
            inbox=Inbox(redis, keys, ttl_seconds=settings.dedupe_ttl_seconds, clock=clock),
            vault=vault,
            cloud_api=cloud_api,
            verifier=verifier,
            cloud_sweep=cloud_sweep,
            clock=clock,
        )

    async def after_sweep(self, report: SweepReport) -> None:
        """What runs after a stalled sweep that held the lease: the effects it wrote go out now
        rather than at the next outbox sweep, and the weekly digest when it is due."""
        for tenant_id in report.changed:
            self.runner.kick(tenant_id)
        await self.reporting.digest_if_due()

    def actor_role(self, user_id: str, team_id: str | None, home_team: str | None) -> ActorRole:
        """A role is bound to (team, user): the SE and manager lists name people of our own
        workspace (`home_team`, from `auth.test`). The same user id arriving from another team
        (a Slack Connect guest), or from a team nobody can tell, is a customer."""
        if team_id is None or home_team is None or team_id != home_team:
            return ActorRole.CUSTOMER
        if self.settings.is_se(user_id):
            return ActorRole.SE
        if self.settings.is_manager(user_id):
            return ActorRole.MANAGER
        return ActorRole.CUSTOMER

    async def redis_ok(self) -> bool:
        try:
            async with asyncio.timeout(2):
                answered = bool(await self.redis.ping())
        except Exception as exc:  # any failure means "not healthy"
            if is_unreachable(exc):
                self.redis_health.failed(exc)  # logged once, when Redis goes
            else:
                log.warning("redis ping failed", exc_info=True)
            return False
        self.redis_health.answered()
        return answered

    async def aclose(self) -> None:
        await self.runner.settle()
        await self.cloud_api.aclose()
        await self.redis.aclose()
        await self.http.close()
