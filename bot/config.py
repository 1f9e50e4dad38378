"""Configuration: environment variables only, read once into one `Settings` object.

A missing or malformed value stops start-up with one line that names the variable and never
shows a secret's value.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.cloud.secretbox import BadSecretsKey, secret_box
from bot.flows.model import Step
from bot.i18n import Lang
from bot.mrkdwn import USER_ID
from bot.stalls.calendar import (
    BusinessCalendar,
    parse_days,
    parse_duration,
    parse_quiet_hours,
    parse_weekly,
    parse_zone,
)
from bot.stalls.policy import StallPolicy
from bot.state.connection import BadRedisUrl, check_redis_url


class Mode(StrEnum):
    SERVE = "serve"
    SOCKET = "socket"
    SHELL = "shell"


class TicketBackend(StrEnum):
    """Where SIP-trunk tickets go: a card in the ops channel, a Jira issue, a signed webhook."""

    SLACK = "slack"
    JIRA = "jira"
    WEBHOOK = "webhook"


# Failures in a row after which a ticket backend is given up on (TICKET_MAX_ATTEMPTS): with the
# dispatcher's backoff (30 s doubling, capped at an hour), eight span about an hour.
DEFAULT_TICKET_MAX_ATTEMPTS = 8


class ConfigError(Exception):
    """A configuration value is missing or malformed; the message names the variable."""


_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_SECRET_FIELDS = frozenset(
    {
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "redis_url",
        "ticket_webhook_secret",
        "jira_api_token",
        "jira_email",
        "secrets_key",
    }
)

UserIds = Annotated[tuple[str, ...], NoDecode]


def _duration(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else value


# Written `30s`, `45m`, `36h` or `2d` (one parser: `bot.stalls.calendar.parse_duration`).
Duration = Annotated[timedelta, BeforeValidator(_duration), NoDecode]


def _split_ids(value: Any, pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
    else:
        items = [str(v).strip() for v in value]
    items = [v for v in items if v]
    for item in items:
        if not pattern.match(item):
            raise ValueError(f"{item!r} is not a Slack {what} id")
    return tuple(dict.fromkeys(items))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        case_sensitive=False, extra="ignore", hide_input_in_errors=True, frozen=True
    )

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    # Requests naming another app (their `api_app_id`) are ignored; unset, none are.
    slack_app_id: str | None = Field(default=None, pattern=r"^A[A-Z0-9]{2,}$")
    redis_url: SecretStr | None = None
    # Every key starts with this, so deployments (or tests) can share one Redis.
    redis_key_prefix: str = Field(default="onb", pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    port: int = Field(default=3000, ge=0, le=65535)  # 0: any free port (tests)
    # Platforms like Heroku route to every interface of the dyno.
    host: str = "0.0.0.0"  # noqa: S104
    onboarding_se_users: UserIds = ()
    onboarding_manager_users: UserIds = ()
    onboarding_ops_channel: str | None = None
    # The language of what the bot posts for SEs: review cards, tickets, notices.
    ops_lang: Lang = Lang.ZH
    log_format: str = Field(default="auto", pattern=r"^(auto|json|text)$")
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    # Uploads bigger than this are refused without downloading the rest.
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    # Keeping onboardings moving (bot.stalls): business time without progress after which an
    # onboarding is stalled, per step if need be, the calendar, and the ladder's pace.
    stalled_after: Duration = timedelta(days=2)
    stalled_after_account: Duration | None = None
    stalled_after_real_name: Duration | None = None
    stalled_after_instance: Duration | None = None
    stalled_after_qualification: Duration | None = None
    stalled_after_numbers: Duration | None = None
    stalled_after_console: Duration | None = None
    stalled_after_login: Duration | None = None
    stalled_after_sdk: Duration | None = None
    business_days: Annotated[frozenset[int], NoDecode] = frozenset(range(5))
    business_tz: str = "Asia/Shanghai"
    quiet_hours: Annotated[tuple[time, time] | None, NoDecode] = (time(21), time(9))
    escalate_every: Duration = timedelta(days=1)
    sweep_every: Duration = timedelta(minutes=5)
    digest_at: Annotated[tuple[int, time] | None, NoDecode] = (0, time(9))
    onboarding_manager_channel: str | None = None
    # Replaced by STALLED_AFTER; still read, to tell an operator who sets it.
    stalled_after_hours: str | None = None
    # How long after going live a tenant's document metadata is kept; then the sweep forgets it
    # and asks Slack to delete the files.
    document_retention: Duration = timedelta(days=180)
    # How long a Slack event id is remembered to drop retried deliveries. Slack retries for
    # about five minutes; an hour leaves room for a backlog replayed after an outage.
    dedupe_ttl_seconds: int = Field(default=3600, ge=600, le=7 * 24 * 3600)
    # How many entries each tenant's audit stream keeps (older ones are trimmed as new ones come,
    # XADD MAXLEN ~): a cap on its memory.
    audit_maxlen: int = Field(default=5000, ge=100, le=1_000_000)

    # SIP-trunk tickets: which backends receive them, and their settings.
    ticket_backends: Annotated[tuple[TicketBackend, ...], NoDecode] = (TicketBackend.SLACK,)
    jira_base_url: str | None = None
    jira_email: str | None = None
    jira_api_token: SecretStr | None = None
    jira_project_key: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]{1,9}$")
    jira_issue_type: str = "Task"
    ticket_webhook_url: str | None = None
    ticket_webhook_secret: SecretStr | None = None
    # Failures in a row after which a backend is given up on and the SEs are told on the card
    # (a 4xx that retrying cannot change gives up at once).
    ticket_max_attempts: int = Field(default=DEFAULT_TICKET_MAX_ATTEMPTS, ge=1, le=50)

    # Tenants' read-only Tencent Cloud API keys (bot.cloud): the Fernet key(s) they are stored
    # encrypted with (unset: no key can be given), and the TCCC API endpoint.
    secrets_key: SecretStr | None = None
    tccc_api_url: str = "https://ccc.tencentcloudapi.com"

    @field_validator("stalled_after_hours")
    @classmethod
    def _replaced(cls, value: str | None) -> None:
        if value is not None:
            raise ValueError("is replaced by STALLED_AFTER, a duration in business time such as 3d")

    @field_validator("business_days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> Any:
        return parse_days(value) if isinstance(value, str) else value

    @field_validator("business_tz", mode="before")
    @classmethod
    def _zone(cls, value: Any) -> Any:
        return parse_zone(value) if isinstance(value, str) else value

    @field_validator("quiet_hours", mode="before")
    @classmethod
    def _quiet(cls, value: Any) -> Any:
        return parse_quiet_hours(value) if isinstance(value, str) else value

    @field_validator("digest_at", mode="before")
    @classmethod
    def _digest(cls, value: Any) -> Any:
        return parse_weekly(value) if isinstance(value, str) else value

    @field_validator("ticket_backends", mode="before")
    @classmethod
    def _backends(cls, value: Any) -> tuple[str, ...]:
        items = value.split(",") if isinstance(value, str) else list(value or ())
        names = tuple(dict.fromkeys(str(v).strip().lower() for v in items if str(v).strip()))
        known = {b.value for b in TicketBackend}
        if not names:
            raise ValueError(f"name at least one of {', '.join(sorted(known))}")
        for name in names:
            if name not in known:
                raise ValueError(f"{name!r} is not one of {', '.join(sorted(known))}")
        return names

    @field_validator("jira_base_url", "ticket_webhook_url")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            raise ValueError("must be an https URL")
        if not parts.hostname:
            raise ValueError("must be an https URL with a host")
        return value.strip().rstrip("/")

    @model_validator(mode="after")
    def _backend_settings(self) -> Settings:
        needed: list[tuple[str, object]] = []
        if TicketBackend.JIRA in self.ticket_backends:
            needed += [
                ("jira_base_url", self.jira_base_url),
                ("jira_email", self.jira_email),
                ("jira_api_token", self.jira_api_token),
                ("jira_project_key", self.jira_project_key),
            ]
        if TicketBackend.WEBHOOK in self.ticket_backends:
            needed += [
                ("ticket_webhook_url", self.ticket_webhook_url),
                ("ticket_webhook_secret", self.ticket_webhook_secret),
            ]
        for name, value in needed:
            if value is None:
                raise ValueError(f"{name.upper()} is needed by TICKET_BACKENDS")
        return self

    @field_validator("secrets_key")
    @classmethod
    def _secrets_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        try:
            secret_box(value.get_secret_value())
        except BadSecretsKey as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("tccc_api_url")
    @classmethod
    def _tccc_api_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            raise ValueError("must be an https URL such as https://ccc.tencentcloudapi.com")
        if not parts.hostname:
            raise ValueError("must be an https URL with a host")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(
                "must be the endpoint alone, with no path, such as https://ccc.tencentcloudapi.com"
            )
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def cloud_keys_enabled(self) -> bool:
        """Whether tenants can give a cloud API key (`SECRETS_KEY` is set)."""
        return self.secrets_key is not None

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("must use https except on the loopback interface")
        return value if value.endswith("/") else value + "/"

    @field_validator("onboarding_se_users", "onboarding_manager_users", mode="before")
    @classmethod
    def _users(cls, value: Any) -> tuple[str, ...]:
        return _split_ids(value, USER_ID, "user")

    @field_validator("onboarding_ops_channel", "onboarding_manager_channel", mode="before")
    @classmethod
    def _channel(cls, value: Any) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        text = str(value).strip()
        if not _CHANNEL_ID.match(text):
            raise ValueError(f"{text!r} is not a Slack channel id (like C0123456789)")
        return text

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token (it starts with xoxb-)")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token (it starts with xapp-)")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        try:
            check_redis_url(value.get_secret_value())
        except BadRedisUrl as exc:
            raise ValueError(str(exc)) from None
        return value

    @property
    def slack_file_hosts(self) -> frozenset[str]:
        """Hosts the bot may download customer files from: Slack's, or the fake's in tests."""
        host = urlsplit(self.slack_api_url).hostname or ""
        if host == "slack.com":
            return frozenset({"files.slack.com", "slack.com"})
        return frozenset({host})

    def stall_policy(self) -> StallPolicy:
        """The stall thresholds, the ladder's pace and the business calendar, as set."""
        per_step = {
            step: value
            for step in Step.ordered()
            if (value := getattr(self, f"stalled_after_{step.value}")) is not None
        }
        calendar = BusinessCalendar(
            days=self.business_days, zone=self.business_tz, quiet=self.quiet_hours
        )
        return StallPolicy(
            stalled_after=self.stalled_after,
            per_step=per_step,
            escalate_every=self.escalate_every,
            calendar=calendar,
        )

    def is_se(self, user_id: str) -> bool:
        return user_id in self.onboarding_se_users

    def is_manager(self, user_id: str) -> bool:
        return user_id in self.onboarding_manager_users

    def require_for(self, mode: Mode) -> None:
        """Raise `ConfigError` naming the first variable `mode` needs but does not have."""
        needed: list[tuple[str, object]] = []
        if mode is Mode.SERVE:
            needed = [
                ("SLACK_BOT_TOKEN", self.slack_bot_token),
                ("SLACK_SIGNING_SECRET", self.slack_signing_secret),
            ]
        elif mode is Mode.SOCKET:
            needed = [
                ("SLACK_BOT_TOKEN", self.slack_bot_token),
                ("SLACK_APP_TOKEN", self.slack_app_token),
            ]
        for name, value in needed:
            if value is None or (isinstance(value, SecretStr) and not value.get_secret_value()):
                raise ConfigError(f"{name} is not set; `python -m bot {mode.value}` needs it")
        if mode is not Mode.SHELL and self.onboarding_ops_channel is None:
            # Review cards and tickets go there; without it SEs would never see a submission.
            raise ConfigError(
                "ONBOARDING_OPS_CHANNEL is not set; review cards and SIP-trunk tickets go there"
            )


def describe_error(exc: ValidationError) -> str:
    """One line naming the first bad variable, without echoing a secret."""
    err = exc.errors(include_input=False)[0]
    message = err["msg"].removeprefix("Value error, ")
    if not err["loc"]:
        return message  # a check across variables names them itself
    field = str(err["loc"][0])
    if field in _SECRET_FIELDS:
        message = message.split(" (got", 1)[0]
    return f"{field.upper()}: {message}"


def load_settings(mode: Mode) -> Settings:
    """Read and check the settings `mode` needs; raise `ConfigError` with one clear line."""
    try:
        settings = Settings()
    except ValidationError as exc:
        raise ConfigError(describe_error(exc)) from None
    settings.require_for(mode)
    return settings
