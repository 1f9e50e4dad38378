"""Fixtures shared by every tier."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.rediscluster import Cluster, missing_tools, running_cluster

# The Redis the tests talk to (CI runs one here); each test uses its own key prefix.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

_BOT_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "SLACK_APP_ID",
    "REDIS_URL",
    "REDIS_KEY_PREFIX",
    "PORT",
    "HOST",
    "ONBOARDING_SE_USERS",
    "ONBOARDING_MANAGER_USERS",
    "ONBOARDING_OPS_CHANNEL",
    "OPS_LANG",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "MAX_UPLOAD_BYTES",
    "DEDUPE_TTL_SECONDS",
    "AUDIT_MAXLEN",
    "STALLED_AFTER_HOURS",
    "STALLED_AFTER",
    *(
        f"STALLED_AFTER_{step}"
        for step in (
            "ACCOUNT",
            "REAL_NAME",
            "INSTANCE",
            "QUALIFICATION",
            "NUMBERS",
            "CONSOLE",
            "LOGIN",
            "SDK",
        )
    ),
    "BUSINESS_DAYS",
    "BUSINESS_TZ",
    "QUIET_HOURS",
    "ESCALATE_EVERY",
    "SWEEP_EVERY",
    "DOCUMENT_RETENTION",
    "DIGEST_AT",
    "ONBOARDING_MANAGER_CHANNEL",
    "TICKET_BACKENDS",
    "JIRA_BASE_URL",
    "JIRA_EMAIL",
    "JIRA_API_TOKEN",
    "JIRA_PROJECT_KEY",
    "JIRA_ISSUE_TYPE",
    "TICKET_WEBHOOK_URL",
    "TICKET_WEBHOOK_SECRET",
    "TICKET_MAX_ATTEMPTS",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own Slack or Redis settings must not leak into a test."""
    for name in _BOT_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A three-master Redis Cluster on loopback, started once for the session (skipped, saying
    why, where redis-server or redis-cli is missing)."""
    reason = missing_tools()
    if reason is not None:
        pytest.skip(reason)
    with running_cluster(tmp_path_factory.mktemp("redis-cluster")) as cluster:
        yield cluster
