"""The Slack Web API client, built once per process from the settings."""

from __future__ import annotations

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings

# Seconds to wait for one Web API answer. Handlers that must ack within Slack's 3 s do their
# Web API work after the ack, so this bounds background work, not the user's wait.
WEB_API_TIMEOUT = 10


def create_web_client(
    settings: Settings, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """A client that honours `SLACK_API_URL`, times out, and waits out rate limits.

    slack-sdk retries only connection errors by default; a 429 must be retried after its
    `Retry-After`, and a transient 500/503 once or twice. Pass the process's shared
    `session` so calls reuse connections instead of opening a session per call.
    """
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=WEB_API_TIMEOUT,
        session=session,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )
