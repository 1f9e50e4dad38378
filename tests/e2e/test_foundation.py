"""The HTTP front door, as Slack and an operator see it."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import time
from collections.abc import Callable, Iterator

import aiohttp
import pytest

from bot.handlers.inbox import WRAPPED
from bot.runtime import HttpService
from bot.services import Services
from bot.state.keys import Keys
from tests.e2e.conftest import (
    CHANNEL,
    CUSTOMER_EN,
    CUSTOMER_ZH,
    make_settings,
    written_by_requests,
)
from tests.e2e.processes import free_port, start_redis
from tests.fakeslack.driver import SlackDriver
from tests.fakeslack.server import FakeSlack


def _texts(blocks: list[dict[str, object]]) -> str:
    out = []
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict):
            out.append(str(text.get("text", "")))
    return "\n".join(out)


async def test_url_verification_echoes_the_challenge(slack: SlackDriver) -> None:
    reply = await slack.url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
    assert reply.status == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in reply.text


async def test_bad_signature_is_refused_and_causes_nothing(
    slack: SlackDriver, fake: FakeSlack, keys: Keys
) -> None:
    reply = await slack.app_mention(
        "help", user_id=CUSTOMER_ZH, channel_id=CHANNEL, bad_signature=True
    )
    assert reply.status == 401
    reply = await slack.slash_command(
        "help", user_id=CUSTOMER_ZH, channel_id=CHANNEL, bad_signature=True
    )
    assert reply.status == 401
    assert fake.calls() == []
    assert await written_by_requests(keys) == []


async def test_stale_timestamp_is_refused_and_causes_nothing(
    slack: SlackDriver, fake: FakeSlack, keys: Keys
) -> None:
    six_minutes_ago = str(int(time.time()) - 6 * 60)
    reply = await slack.app_mention(
        "help", user_id=CUSTOMER_ZH, channel_id=CHANNEL, timestamp=six_minutes_ago
    )
    assert reply.status == 401
    assert fake.calls() == []
    assert await written_by_requests(keys) == []


async def test_a_retried_event_has_exactly_one_effect(slack: SlackDriver, fake: FakeSlack) -> None:
    first = await slack.app_mention("help", user_id=CUSTOMER_EN, channel_id=CHANNEL)
    assert first.status == 200
    await fake.wait_for_message(channel=CHANNEL)

    retry = await slack.resend(first, retry_num=1, retry_reason="http_timeout")
    assert retry.status == 200
    # A later, different event is answered; by then the retry would have been answered too.
    marker = await slack.app_mention("帮助", user_id=CUSTOMER_ZH, channel_id=CHANNEL)
    assert marker.status == 200
    await fake.wait_for_message(channel=CHANNEL, count=2)

    posted = fake.calls("chat.postMessage")
    assert len(posted) == 2
    assert "Commands" in str(posted[0].args.get("text"))
    assert "命令" in str(posted[1].args.get("text"))


async def test_a_first_delivery_that_arrives_as_a_retry_is_still_handled(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    # Slack's first attempt never reached us; its retry must not be dropped for being a retry.
    reply = await slack.app_mention("help", user_id=CUSTOMER_EN, channel_id=CHANNEL, retry_num=1)
    assert reply.status == 200
    await fake.wait_for_message(channel=CHANNEL)


@pytest.mark.parametrize(
    ("user", "expected", "absent"),
    [
        (CUSTOMER_ZH, ["腾讯云呼叫中心入驻助手", "/onboard help", "显示本帮助"], "Commands"),
        (CUSTOMER_EN, ["onboarding assistant", "/onboard help", "show this help"], "命令"),
    ],
)
async def test_help_answers_in_the_users_language(
    slack: SlackDriver, user: str, expected: list[str], absent: str
) -> None:
    reply = await slack.slash_command("help", user_id=user, channel_id=CHANNEL)
    assert reply.status == 200
    body = reply.json()
    assert body["response_type"] == "ephemeral"
    shown = _texts(body["blocks"])
    for text in expected:
        assert text in shown
    assert absent not in shown


async def test_help_lists_only_what_the_user_can_run(slack: SlackDriver) -> None:
    customer = _texts(
        (await slack.slash_command("", user_id=CUSTOMER_EN, channel_id=CHANNEL)).json()["blocks"]
    )
    assert "/onboard help" in customer
    # Nothing is listed that does not work: every listed line names a registered subcommand.
    from bot.handlers.commands import SUBCOMMANDS

    listed = {
        line.split("`/onboard ")[1].split()[0].rstrip("`:")
        for line in customer.splitlines()
        if "`/onboard " in line
    }
    assert listed <= set(SUBCOMMANDS)


@pytest.mark.parametrize(
    "text",
    ["frobnicate", "<@U0SOLENG001> <!channel> `rm -rf` &amp;", "\u0000\u202e" + "x" * 5000, "💥💥"],
)
async def test_unknown_subcommand_gets_help_with_a_hint(
    slack: SlackDriver, fake: FakeSlack, keys: Keys, text: str
) -> None:
    reply = await slack.slash_command(text, user_id=CUSTOMER_EN, channel_id=CHANNEL)
    assert reply.status == 200
    body = reply.json()
    shown = _texts(body["blocks"])
    assert "There is no" in shown
    assert "/onboard help" in shown
    # What the user typed is echoed harmlessly: no live mention, link or huge echo.
    assert "<@" not in shown and "<!channel>" not in shown
    assert len(shown) < 3000
    assert await written_by_requests(keys) == []


async def test_healthz_answers_200_when_redis_answers(bot: HttpService) -> None:
    url = f"http://127.0.0.1:{bot.port}/healthz"
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert resp.status == 200
        assert (await resp.json())["redis"] == "ok"


@pytest.fixture
def private_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Redis of our own, so the test can stop it under the running service."""
    port = free_port()
    proc = start_redis(port)
    try:
        yield f"redis://127.0.0.1:{port}/0", proc
    finally:
        proc.kill()
        proc.wait()


async def test_healthz_answers_503_when_redis_does_not(
    fake: FakeSlack, private_redis: tuple[str, subprocess.Popen[bytes]]
) -> None:
    url, proc = private_redis
    settings = make_settings(fake, redis_url=url)
    service = await HttpService.start(settings, await Services.start(settings, keys=Keys("hz")))
    try:
        async with aiohttp.ClientSession() as http:
            health = f"http://127.0.0.1:{service.port}/healthz"
            async with http.get(health) as resp:
                assert resp.status == 200
            proc.kill()
            proc.wait()
            async with http.get(health) as resp:
                assert resp.status == 503
                assert (await resp.json())["redis"] == "unreachable"
    finally:
        await service.stop()


async def test_rate_limited_message_is_delivered_after_the_wait(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    fake.fail_next("chat.postMessage", status=429, retry_after=1)
    reply = await slack.app_mention("help", user_id=CUSTOMER_EN, channel_id=CHANNEL)
    assert reply.status == 200
    [message] = await fake.wait_for_message(channel=CHANNEL, timeout=10)
    assert "Commands" in message.text
    statuses = [call.http_status for call in fake.calls("chat.postMessage")]
    assert statuses == [429, 200]


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'{"type": "event_callback", "event": {"type": "app_me', "application/json", 400),
        (b"[1, 2, 3]", "application/json", 400),
        (b'{"type": "surprise"}', "application/json", 400),
        (b'{"type": "event_callback"}', "application/json", 400),
        (b"payload=%7Bnot-json", "application/x-www-form-urlencoded", 400),
        (b"payload=%7B%22type%22%3A%22mystery%22%7D", "application/x-www-form-urlencoded", 400),
        (b"hello=world", "application/x-www-form-urlencoded", 400),
        (b"\xff\xfe\x00garbage", "application/json", 400),
        (b"<xml/>", "text/xml", 400),
        (
            b'{"type": "event_callback", "pad": "' + b"a" * (1024 * 1024) + b'"}',
            "application/json",
            413,
        ),
    ],
)
async def test_malformed_input_is_refused_and_nothing_is_written(
    slack: SlackDriver,
    fake: FakeSlack,
    bot: HttpService,
    keys: Keys,
    body: bytes,
    content_type: str,
    status: int,
) -> None:
    reply = await slack.send_raw(body, content_type)
    assert reply.status == status
    assert fake.calls() == []
    assert await written_by_requests(keys) == []
    # The process keeps serving.
    after = await slack.slash_command("help", user_id=CUSTOMER_EN, channel_id=CHANNEL)
    assert after.status == 200


async def test_direct_messages_are_answered_and_other_messages_ignored(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    dm = fake.open_im(CUSTOMER_ZH)
    # A message in a channel (not to the bot) and an edit in the DM: no reply to either.
    await slack.message("大家好", user_id=CUSTOMER_ZH, channel_id=CHANNEL)
    await slack.event(
        {
            "type": "message",
            "subtype": "message_changed",
            "channel": dm.id,
            "channel_type": "im",
            "message": {"text": "edited", "user": CUSTOMER_ZH},
            "ts": "1.000001",
        }
    )
    await slack.message("怎么开始？", user_id=CUSTOMER_ZH, channel_id=dm.id, channel_type="im")
    [reply] = await fake.wait_for_message(channel=dm.id)
    assert "入驻助手" in reply.text
    assert fake.messages(channel=CHANNEL) == []


async def _until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Wait (with a deadline) for something the service does on its own schedule."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout}s for {what}")
        await asyncio.sleep(0.02)


async def test_a_redis_outage_is_told_in_one_line_and_its_end_in_another(
    fake: FakeSlack,
    private_redis: tuple[str, subprocess.Popen[bytes]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, proc = private_redis
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    settings = make_settings(fake, redis_url=url)
    services = await Services.start(settings, keys=Keys("outage"))
    # The outbox sweep runs every 50 ms here instead of every 15 s.
    service = await HttpService.start(settings, services, sweep_interval=0.05)
    again: subprocess.Popen[bytes] | None = None
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="bot.state.health")  # counts the quiet retries
    try:
        health = f"http://127.0.0.1:{service.port}/healthz"
        async with aiohttp.ClientSession() as http:
            proc.kill()
            proc.wait()
            for _ in range(3):
                async with http.get(health) as resp:
                    assert resp.status == 503

            def noticed() -> int:
                return sum("still unreachable" in r.getMessage() for r in caplog.records)

            await _until(lambda: noticed() >= 4, "sweeps and checks during the outage")
            down = [r for r in caplog.records if "is unreachable" in r.getMessage()]
            assert [r.getMessage().split(" (")[0] for r in down] == [
                f"Redis at redis://127.0.0.1:{port}/0 is unreachable"
            ]
            assert down[0].levelno == logging.ERROR
            loud = [r for r in caplog.records if r.levelno >= logging.WARNING and r not in down]
            assert loud == [] and not any(r.exc_info or r.exc_text for r in caplog.records)

            again = start_redis(port)
            await _until(lambda: "is back" in caplog.text, "the all-clear")
            async with http.get(health) as resp:
                assert resp.status == 200
            back = [r.getMessage() for r in caplog.records if "is back" in r.getMessage()]
            assert len(back) == 1 and back[0].startswith(f"Redis at redis://127.0.0.1:{port}/0")
    finally:
        await service.stop()
        if again is not None:
            again.kill()
            again.wait()


async def test_concurrent_requests_are_served_together(slack: SlackDriver) -> None:
    replies = await asyncio.gather(
        *[slack.slash_command("help", user_id=CUSTOMER_EN, channel_id=CHANNEL) for _ in range(20)]
    )
    assert [r.status for r in replies] == [200] * 20


async def test_every_subscribed_event_has_a_listener(
    slack: SlackDriver, caplog: pytest.LogCaptureFixture
) -> None:
    # An event nobody listens to is answered 200 (Slack would retry it, then disable the app)
    # but logged as unheard: a subscribed event must never be.
    import yaml

    from tests.unit.test_manifest import ROOT

    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    for name in manifest["settings"]["event_subscriptions"]["bot_events"]:
        kind, _, channel_type = name.partition(".")
        event: dict[str, object] = {
            "type": kind,
            "user": CUSTOMER_EN,
            "channel": CHANNEL,
            "ts": "1.000001",
            "text": "hi",
        }
        if channel_type:
            event["channel_type"] = {"channels": "channel", "groups": "group"}.get(
                channel_type, channel_type
            )
        caplog.clear()
        with caplog.at_level(logging.INFO):
            reply = await slack.event(event)
        assert reply.status == 200
        assert "no listener" not in caplog.text, f"{name} is not handled"


async def test_a_command_that_is_not_ours_is_answered_politely_in_one_log_line(
    slack: SlackDriver, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        reply = await slack.slash_command(
            "me", user_id=CUSTOMER_ZH, channel_id=CHANNEL, command="/help"
        )
    assert reply.status == 200
    body = reply.json()
    assert body["response_type"] == "ephemeral"  # only the person who typed it sees it
    assert "我不认识命令 `/help`" in body["text"] and "/onboard help" in body["text"]
    unheard = [r for r in caplog.records if "no listener" in r.getMessage()]
    assert [r.getMessage() for r in unheard] == ["no listener for command /help; answered 200"]
    assert "Suggestion" not in caplog.text
    assert all("\n" not in r.getMessage() for r in caplog.records)


async def test_events_and_clicks_nobody_listens_to_get_200_and_one_log_line(
    slack: SlackDriver, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        event = await slack.event(
            {"type": "reaction_added", "user": CUSTOMER_EN, "reaction": "tada", "item": {}}
        )
        click = await slack.block_action(
            "an.old.button", "x", user_id=CUSTOMER_EN, channel_id=CHANNEL, message_ts="1.000002"
        )
    assert (event.status, event.text) == (200, "")
    assert click.status == 200
    lines = [r.getMessage() for r in caplog.records if "no listener" in r.getMessage()]
    assert lines == [
        "no listener for event reaction_added; answered 200",
        "no listener for block_actions an.old.button; answered 200",
    ]
    assert "Suggestion" not in caplog.text
    # The clicker is told the button no longer does anything.
    told = await fake.wait_for("response_url", where=lambda c: "older version" in str(c.args))
    assert told[0].args["response_type"] == "ephemeral"


async def test_every_listener_answers_slack_as_soon_as_its_answer_is_known(
    bot: HttpService,
) -> None:
    """Bolt answers when a listener returns: a listener registered bare would keep Slack
    waiting for its Slack calls (and miss the 3 s)."""
    listeners = bot.bolt._async_listeners
    bare = [
        getattr(listener.ack_function, "__name__", "?")
        for listener in listeners
        if not getattr(listener.ack_function, WRAPPED, False)
    ]
    assert listeners and bare == []
