"""Requests that name another Slack app in `api_app_id` are ignored when SLACK_APP_ID is set."""

from __future__ import annotations

import logging

import pytest

from bot.state.keys import Keys
from tests.e2e.conftest import CHANNEL, SE, served, written_by_requests
from tests.fakeslack.server import FakeSlack

OTHER_APP = "A0OTHERAPP1"


async def test_another_apps_command_is_answered_200_and_does_nothing(
    fake: FakeSlack, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.server")
    async with served(fake, keys, slack_app_id=fake.api_app_id) as (_, slack):
        fields = slack.build_slash_command("start Acme Ltd", user_id=SE, channel_id=CHANNEL)
        reply = await slack.send_form({**fields, "api_app_id": OTHER_APP})

        assert reply.status == 200 and not reply.text.strip()
        assert await written_by_requests(keys) == []
        assert [c.method for c in fake.calls() if c.method != "auth.test"] == []
        ignored = [r for r in caplog.records if "addressed to another app" in r.getMessage()]
        assert len(ignored) == 1

        # The same command for our app starts the onboarding.
        ours = await slack.slash_command("start Acme Ltd", user_id=SE, channel_id=CHANNEL)
        assert ours.status == 200 and "Acme" in ours.text
        assert await written_by_requests(keys) != []


async def test_without_our_app_id_nothing_is_filtered(fake: FakeSlack, keys: Keys) -> None:
    async with served(fake, keys) as (_, slack):
        fields = slack.build_slash_command("start Acme Ltd", user_id=SE, channel_id=CHANNEL)
        reply = await slack.send_form({**fields, "api_app_id": OTHER_APP})

        assert reply.status == 200 and "Acme" in reply.text
