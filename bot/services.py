"""The per-process services every handler uses, created inside the running event loop."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.flows.model import ActorRole
from bot.i18n import Catalog, Lang, lang_from_locale, load_catalog
from bot.slackapi import create_web_client
from bot.state.connection import create_redis
from bot.state.keys import Keys

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

    client: AsyncWebClient | None
    _entries: dict[str, tuple[float, str | None]] = field(default_factory=dict)

    async def locale_of(self, user_id: str) -> str | None:
        now = time.monotonic()
        hit = self._entries.get(user_id)
        if hit and now - hit[0] < LOCALE_TTL_SECONDS:
            return hit[1]
        locale: str | None = None
        if self.client is not None:
            try:
                async with asyncio.timeout(LOCALE_LOOKUP_TIMEOUT):
                    resp = await self.client.users_info(user=user_id, include_locale=True)
                user = resp.get("user") or {}
                locale = user.get("locale")
            except (SlackApiError, TimeoutError, OSError) as exc:
                # Not knowing the locale is not an error: the caller falls back to a default.
                log.info("locale of %s unknown: %s", user_id, type(exc).__name__)
                return None
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
    slack: AsyncWebClient | None
    locales: LocaleCache
    http: aiohttp.ClientSession

    @classmethod
    async def start(
        cls,
        settings: Settings,
        *,
        slack: AsyncWebClient | None = None,
        use_slack: bool = True,
        keys: Keys | None = None,
    ) -> Services:
        """Build the services. Must run inside the event loop that will use them."""
        catalog = load_catalog()
        url = settings.redis_url.get_secret_value() if settings.redis_url else None
        redis = create_redis(url)
        http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30, connect=5))
        if slack is None and use_slack:
            slack = create_web_client(settings, http)
        return cls(
            settings=settings,
            catalog=catalog,
            redis=redis,
            keys=keys or Keys(prefix=settings.redis_key_prefix),
            slack=slack,
            locales=LocaleCache(slack),
            http=http,
        )

    def actor_role(self, user_id: str) -> ActorRole:
        if self.settings.is_se(user_id):
            return ActorRole.SE
        if self.settings.is_manager(user_id):
            return ActorRole.MANAGER
        return ActorRole.CUSTOMER

    async def redis_ok(self) -> bool:
        try:
            async with asyncio.timeout(2):
                return bool(await self.redis.ping())
        except Exception:  # any failure means "not healthy"; the reason is logged
            log.warning("redis ping failed", exc_info=True)
            return False

    async def aclose(self) -> None:
        await self.redis.aclose()
        await self.http.close()
