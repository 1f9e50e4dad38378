"""`python -m bot …` as an operator runs it: start-up errors, the served process, its logs."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator

import pytest

from bot.state.keys import Keys
from tests.e2e.conftest import CHANNEL, CUSTOMER_EN, SIGNING_SECRET, delete_under
from tests.e2e.processes import ROOT, ServeProcess, process_env
from tests.fakeslack.driver import SlackDriver
from tests.fakeslack.server import FakeSlack

_env = process_env


async def _run(args: list[str], env: dict[str, str], stdin: bytes = b"") -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.parametrize(
    ("mode", "env", "named", "hidden"),
    [
        ("serve", {}, "SLACK_BOT_TOKEN", None),
        ("serve", {"SLACK_BOT_TOKEN": "xoxb-1-2-3"}, "SLACK_SIGNING_SECRET", None),
        ("socket", {"SLACK_BOT_TOKEN": "xoxb-1-2-3"}, "SLACK_APP_TOKEN", None),
        (
            "serve",
            {"SLACK_BOT_TOKEN": "xoxb-1-2-3", "SLACK_SIGNING_SECRET": "s"},
            "ONBOARDING_OPS_CHANNEL",
            None,
        ),
        ("serve", {"TICKET_BACKENDS": "slack,webhook"}, "TICKET_WEBHOOK_URL", None),
        (
            "serve",
            {"SLACK_BOT_TOKEN": "hunter2-not-a-token", "SLACK_SIGNING_SECRET": "s"},
            "SLACK_BOT_TOKEN",
            "hunter2-not-a-token",
        ),
        ("shell", {"PORT": "eighty"}, "PORT", None),
        ("shell", {"REDIS_URL": "http://user:pa55word@db:6379"}, "REDIS_URL", "pa55word"),
        (
            "shell",
            {"REDIS_URL": "redis+cluster://u:pa55word@db1:7000,db2"},
            "REDIS_URL",
            "pa55word",
        ),
        ("shell", {"REDIS_URL": "redis+cluster://db1:7000/3"}, "REDIS_URL", None),
        ("shell", {"ONBOARDING_SE_USERS": "U0GOOD01,not-a-user"}, "ONBOARDING_SE_USERS", None),
        ("shell", {"ONBOARDING_OPS_CHANNEL": "#ops"}, "ONBOARDING_OPS_CHANNEL", None),
        ("shell", {"SLACK_API_URL": "ftp://slack.com/api"}, "SLACK_API_URL", None),
        # Keeping onboardings moving: one parser of durations, and the calendar's settings.
        ("shell", {"STALLED_AFTER": "2 days"}, "STALLED_AFTER: '2 days' is not a duration", None),
        ("shell", {"STALLED_AFTER_QUALIFICATION": "5x"}, "STALLED_AFTER_QUALIFICATION", None),
        ("shell", {"ESCALATE_EVERY": "0d"}, "ESCALATE_EVERY", None),
        ("shell", {"SWEEP_EVERY": "-5m"}, "SWEEP_EVERY", None),
        ("shell", {"BUSINESS_DAYS": "fri-mon"}, "BUSINESS_DAYS", None),
        ("shell", {"BUSINESS_TZ": "China/Beijing"}, "BUSINESS_TZ", None),
        ("shell", {"QUIET_HOURS": "9pm-9am"}, "QUIET_HOURS", None),
        ("shell", {"DIGEST_AT": "monday"}, "DIGEST_AT", None),
        ("shell", {"ONBOARDING_MANAGER_CHANNEL": "#managers"}, "ONBOARDING_MANAGER_CHANNEL", None),
        ("shell", {"STALLED_AFTER_HOURS": "72"}, "STALLED_AFTER_HOURS: is replaced by", None),
        # Tenants' cloud API keys: the Fernet key(s) they are encrypted with, and the endpoint.
        ("shell", {"SECRETS_KEY": "s3cr3t-not-fernet"}, "SECRETS_KEY: key 1 of 1", "s3cr3t"),
        (
            "shell",
            {"SECRETS_KEY": "ZmVybmV0LWtleS0zMi1ieXRlcy1sb25nLXh4eHh4eHg=,hunter2"},
            "SECRETS_KEY: key 2 of 2",
            "hunter2",
        ),
        ("shell", {"TCCC_API_URL": "http://ccc.tencentcloudapi.com"}, "TCCC_API_URL", None),
        ("shell", {"TCCC_API_URL": "https://ccc.tencentcloudapi.com/v2"}, "TCCC_API_URL", None),
    ],
)
async def test_bad_configuration_stops_start_up_with_one_line_naming_it(
    mode: str, env: dict[str, str], named: str, hidden: str | None
) -> None:
    code, out, err = await _run([mode], _env(**env))
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert named in lines[0]
    if hidden:
        assert hidden not in err + out


async def test_unknown_mode_is_refused() -> None:
    code, _, err = await _run(["serveit"], _env())
    assert code != 0
    assert "serve" in err


@pytest.fixture
async def served(fake: FakeSlack) -> AsyncIterator[ServeProcess]:
    prefix = f"cli-{uuid.uuid4().hex[:10]}"
    process = ServeProcess(fake, prefix)
    try:
        await process.start()
        yield process
    finally:
        await process.kill()
        await delete_under(Keys(prefix))


async def test_served_process_answers_slack_and_logs_json_without_secrets(
    served: ServeProcess, fake: FakeSlack
) -> None:
    async with SlackDriver(
        f"http://127.0.0.1:{served.port}",
        SIGNING_SECRET,
        team_id=fake.team_id,
        api_app_id=fake.api_app_id,
        bot_user_id=fake.bot_user_id,
        hooks_url=fake.hooks_url,
    ) as slack:
        mention = await slack.app_mention(
            "help me, my email is li.wei@acme.cn", user_id=CUSTOMER_EN, channel_id=CHANNEL
        )
        assert mention.status == 200
        await fake.wait_for_message(channel=CHANNEL, timeout=10)
        bad = await slack.slash_command(
            "help", user_id=CUSTOMER_EN, channel_id=CHANNEL, bad_signature=True
        )
        assert bad.status == 401

    assert await served.stop() == 0
    output = served.output()

    records = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert records, "no log lines"
    for record in records:
        assert {"ts", "level", "logger", "msg"} <= record.keys()
    assert any(r.get("request_id") == mention.event_id for r in records), (
        "no line carries the request id"
    )
    assert any("bad signature" in r["msg"] for r in records)
    for secret in (fake.bot_token, SIGNING_SECRET, "li.wei@acme.cn"):
        assert secret not in output
    # Bolt's "token will be unused" notice said nothing useful, on every start.
    assert not any("will be unused" in r["msg"] for r in records)
    # No SE is configured: said once, as a warning, at start-up.
    open_start = [r for r in records if "ONBOARDING_SE_USERS is empty" in r["msg"]]
    assert [r["level"] for r in open_start] == ["warning"]
    # Nothing went unheard: every request found its listener.
    assert not any("no listener" in r["msg"] for r in records)
