"""Tests of the test bed: the real slack_sdk and slack_bolt against FakeSlack and SlackDriver."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakeslack.conftest import CHANNEL, CUSTOMER, EXTERNAL, EXTERNAL_TEAM
from tests.fakeslack.driver import (
    SlackDriver,
    file_stub,
    multi_static_select,
    static_select,
    text_input,
)
from tests.fakeslack.server import FakeSlack
from tests.waiting import eventually

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # a test signing secret
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

# ---------------------------------------------------------------------- Web API fidelity


async def test_post_and_update_message(fake: FakeSlack, client: AsyncWebClient) -> None:
    blocks: list[dict[str, Any]] = [
        {"type": "section", "block_id": "intro", "text": {"type": "mrkdwn", "text": "*Hi*"}},
        {
            "type": "actions",
            "block_id": "step",
            "elements": [
                {
                    "type": "button",
                    "action_id": "step_done",
                    "text": {"type": "plain_text", "text": "Done"},
                    "value": "kickoff",
                }
            ],
        },
    ]
    posted = await client.chat_postMessage(channel=CHANNEL, text="Hi", blocks=blocks)

    assert posted["channel"] == CHANNEL
    assert posted["message"]["ts"] == posted["ts"]
    assert posted["message"]["bot_id"] == fake.bot_id
    assert posted["message"]["blocks"] == blocks
    call = fake.last("chat.postMessage")
    assert call.token_ok and call.args["blocks"] == blocks  # decoded, not a JSON string

    reply = await client.chat_postMessage(channel=CHANNEL, text="in thread", thread_ts=posted["ts"])
    assert reply["message"]["thread_ts"] == posted["ts"]
    assert float(reply["ts"]) > float(posted["ts"])

    updated = await client.chat_update(channel=CHANNEL, ts=posted["ts"], text="Hi again")
    assert updated["text"] == "Hi again"
    message = fake.message(CHANNEL, posted["ts"])
    assert message.text == "Hi again"
    assert message.blocks == blocks  # chat.update without blocks keeps them, as Slack does
    assert message.history == [{"text": "Hi", "blocks": blocks, "attachments": None}]
    assert [m.text for m in fake.messages(CHANNEL)] == ["Hi again", "in thread"]


async def test_update_of_unknown_message_is_message_not_found(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel=CHANNEL, ts="1.000001", text="x")
    assert err.value.response["error"] == "message_not_found"


async def test_form_encoded_post_with_blocks_as_json_string(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    """Some callers (and older SDK methods) send blocks as a JSON string in a form body."""
    blocks = [{"type": "divider"}]
    await client.api_call(
        "chat.postMessage", data={"channel": CHANNEL, "text": "f", "blocks": json.dumps(blocks)}
    )
    call = fake.last("chat.postMessage")
    assert call.content_type == "application/x-www-form-urlencoded"
    assert call.args["blocks"] == blocks


async def test_errors_for_missing_arguments(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as err, pytest.warns(UserWarning, match="`text`"):
        await client.chat_postMessage(channel=CHANNEL, text="")
    assert err.value.response["error"] == "no_text"
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C0NOWHERE01", text="x")
    assert err.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as err:
        await client.api_call("chat.fly")
    assert err.value.response["error"] == "unknown_method"


async def test_posting_to_a_user_id_lands_in_their_dm(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel=CUSTOMER, text="welcome")
    dm = fake.open_im(CUSTOMER)
    assert posted["channel"] == dm.id and dm.id.startswith("D")
    opened = await client.conversations_open(users=CUSTOMER)
    assert opened["channel"]["id"] == dm.id


async def test_ephemeral_message(fake: FakeSlack, client: AsyncWebClient) -> None:
    sent = await client.chat_postEphemeral(channel=CHANNEL, user=CUSTOMER, text="only you")
    message = fake.message(CHANNEL, sent["message_ts"])
    assert message.ephemeral and message.target_user == CUSTOMER
    with pytest.raises(SlackApiError) as err:  # ephemeral messages cannot be edited
        await client.chat_update(channel=CHANNEL, ts=sent["message_ts"], text="x")
    assert err.value.response["error"] == "message_not_found"


async def test_wrong_or_missing_token_is_rejected_and_recorded(
    fake: FakeSlack, session: aiohttp.ClientSession
) -> None:
    wrong = AsyncWebClient(base_url=fake.api_url, token="xoxb-not-ours", session=session)
    with pytest.raises(SlackApiError) as err:
        await wrong.chat_postMessage(channel=CHANNEL, text="x")
    assert err.value.response["error"] == "invalid_auth"
    assert err.value.response.status_code == 200

    anonymous = AsyncWebClient(base_url=fake.api_url, session=session)
    with pytest.raises(SlackApiError) as err:
        await anonymous.auth_test()
    assert err.value.response["error"] == "not_authed"

    assert [(c.method, c.token_ok) for c in fake.calls()] == [
        ("chat.postMessage", False),
        ("auth.test", False),
    ]
    assert fake.messages(CHANNEL) == []


async def test_token_in_form_body_is_accepted(
    fake: FakeSlack, session: aiohttp.ClientSession
) -> None:
    async with session.post(fake.api_url + "auth.test", data={"token": fake.bot_token}) as resp:
        body = await resp.json()
    assert body["ok"] and body["user_id"] == fake.bot_user_id
    assert fake.last("auth.test").token_ok and "token" not in fake.last("auth.test").args


async def test_ratelimited_call_is_retried_after_retry_after(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.fail_next("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()
    task = asyncio.create_task(client.chat_postMessage(channel=CHANNEL, text="eventually"))

    calls = await fake.wait_for("chat.postMessage", count=2, timeout=5)

    assert [c.http_status for c in calls] == [429, 200]
    assert calls[0].response == {"ok": False, "error": "ratelimited"}
    assert calls[1].at - calls[0].at >= 1.0  # slack_sdk honoured Retry-After
    assert (await task)["ok"]
    assert [m.text for m in fake.messages(CHANNEL)] == ["eventually"]
    assert time.monotonic() - started < 5


async def test_ratelimit_without_retry_handler_surfaces(
    fake: FakeSlack, session: aiohttp.ClientSession
) -> None:
    plain = AsyncWebClient(base_url=fake.api_url, token=fake.bot_token, session=session)
    fake.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as err:
        await plain.chat_postMessage(channel=CHANNEL, text="x")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "7"
    fake.fail_next("chat.postMessage", status=503)
    with pytest.raises(SlackApiError) as err:
        await plain.chat_postMessage(channel=CHANNEL, text="x")
    assert err.value.response.status_code == 503
    fake.fail_next("users.info", status=200, error="user_not_visible")
    with pytest.raises(SlackApiError) as err:
        await plain.users_info(user=CUSTOMER)
    assert err.value.response["error"] == "user_not_visible"
    await plain.chat_postMessage(channel=CHANNEL, text="fine now")  # faults are used up


async def test_latency_slows_one_method_while_others_answer_at_once(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.set_latency("users.info", 0.5)
    started = time.monotonic()
    slow = asyncio.create_task(client.users_info(user=CUSTOMER))
    await client.chat_postMessage(channel=CHANNEL, text="not held up")
    assert not slow.done() and time.monotonic() - started < 0.5
    assert (await slow)["user"]["id"] == CUSTOMER
    assert time.monotonic() - started >= 0.5
    fake.set_latency("users.info", 0)
    started = time.monotonic()
    await client.users_info(user=CUSTOMER)
    assert time.monotonic() - started < 0.5
    with pytest.raises(ValueError, match="no such method"):
        fake.set_latency("users.nothing", 1.0)


async def test_a_held_method_answers_only_when_released(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.hold("chat.postMessage")
    held = [
        asyncio.create_task(client.chat_postMessage(channel=CHANNEL, text=f"held {n}"))
        for n in range(2)
    ]
    await eventually(lambda: fake.held("chat.postMessage") == 2, timeout=5, what="2 calls held")
    assert (await client.users_info(user=CUSTOMER))["ok"]  # other methods answer meanwhile
    assert not any(t.done() for t in held)
    assert [m.text for m in fake.messages(CHANNEL)] == []  # nothing posted while held
    fake.release("chat.postMessage")
    assert [(await t)["ok"] for t in held] == [True, True]
    assert fake.held("chat.postMessage") == 0
    assert (await client.chat_postMessage(channel=CHANNEL, text="at once"))["ok"]
    assert sorted(m.text for m in fake.messages(CHANNEL)) == ["at once", "held 0", "held 1"]
    with pytest.raises(ValueError, match="no such method"):
        fake.hold("chat.nothing")


async def test_download_latency_holds_the_file_back(
    fake: FakeSlack, session: aiohttp.ClientSession
) -> None:
    file = fake.add_file(PNG, "slow.png", uploader=CUSTOMER, channel=CHANNEL)
    fake.set_latency(FakeSlack.DOWNLOAD, 0.3)
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {fake.bot_token}"}
    async with session.get(file["url_private_download"], headers=headers) as resp:
        assert await resp.read() == PNG
    assert time.monotonic() - started >= 0.3


async def test_users_info_honours_include_locale(fake: FakeSlack, client: AsyncWebClient) -> None:
    plain = await client.users_info(user=CUSTOMER)
    assert "locale" not in plain["user"]
    assert "email" not in plain["user"]["profile"]  # only with users:read.email
    fake.email_scope = True
    granted = await client.users_info(user=CUSTOMER)
    assert granted["user"]["profile"]["email"] == "li@acme.cn"
    fake.email_scope = False
    localized = await client.users_info(user=CUSTOMER, include_locale=True)
    assert localized["user"]["locale"] == "zh-CN"
    assert localized["user"]["real_name"] == "Li Wei"
    external = await client.users_info(user=EXTERNAL)
    assert external["user"]["team_id"] == EXTERNAL_TEAM
    with pytest.raises(SlackApiError) as err:
        await client.users_info(user="U0NOBODY001")
    assert err.value.response["error"] == "user_not_found"


async def test_conversations_info_and_members(fake: FakeSlack, client: AsyncWebClient) -> None:
    info = await client.conversations_info(channel=CHANNEL)
    assert info["channel"]["is_ext_shared"] is True
    assert EXTERNAL_TEAM in info["channel"]["shared_team_ids"]
    first = await client.conversations_members(channel=CHANNEL, limit=2)
    assert len(first["members"]) == 2
    rest = await client.conversations_members(
        channel=CHANNEL, limit=2, cursor=first["response_metadata"]["next_cursor"]
    )
    assert first["members"] + rest["members"] == [fake.bot_user_id, CUSTOMER, EXTERNAL]
    assert rest["response_metadata"]["next_cursor"] == ""


async def test_users_conversations_lists_the_users_channels(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.add_channel("C0SECRET001", "secret", members=[CUSTOMER], is_private=True)
    fake.add_channel("C0ELSEWHERE", "elsewhere", members=[fake.bot_user_id])
    fake.open_im(CUSTOMER)
    public = await client.users_conversations(user=CUSTOMER)
    assert [c["id"] for c in public["channels"]] == [CHANNEL]
    both = await client.users_conversations(
        user=CUSTOMER, types="public_channel,private_channel", limit=1
    )
    more = await client.users_conversations(
        user=CUSTOMER,
        types="public_channel,private_channel",
        cursor=both["response_metadata"]["next_cursor"],
    )
    assert [c["id"] for c in both["channels"] + more["channels"]] == [CHANNEL, "C0SECRET001"]
    assert more["response_metadata"]["next_cursor"] == ""
    with pytest.raises(SlackApiError) as err:
        await client.users_conversations(user="U0NOBODY001")
    assert err.value.response["error"] == "user_not_found"


async def test_permalink_and_reaction(fake: FakeSlack, client: AsyncWebClient) -> None:
    seeded = fake.add_message(CHANNEL, "we are live", user=CUSTOMER)
    link = await client.chat_getPermalink(channel=CHANNEL, message_ts=seeded.ts)
    assert link["permalink"].endswith(f"/archives/{CHANNEL}/p{seeded.ts.replace('.', '')}")
    await client.reactions_add(channel=CHANNEL, timestamp=seeded.ts, name="white_check_mark")
    assert seeded.reactions == {"white_check_mark": [fake.bot_user_id]}
    with pytest.raises(SlackApiError) as err:
        await client.reactions_add(channel=CHANNEL, timestamp=seeded.ts, name="white_check_mark")
    assert err.value.response["error"] == "already_reacted"
    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel=CHANNEL, ts=seeded.ts, text="x")
    assert err.value.response["error"] == "cant_update_message"


async def test_views_open_update_push_publish(fake: FakeSlack, client: AsyncWebClient) -> None:
    modal = {
        "type": "modal",
        "callback_id": "intake",
        "title": {"type": "plain_text", "text": "Onboarding"},
        "submit": {"type": "plain_text", "text": "Submit"},
        "blocks": [
            {
                "type": "input",
                "block_id": "company",
                "label": {"type": "plain_text", "text": "Company"},
                "element": {"type": "plain_text_input", "action_id": "company_name"},
            }
        ],
    }
    driver = SlackDriver("http://127.0.0.1:9", SECRET)
    trigger = driver.new_trigger_id()
    opened = await client.views_open(trigger_id=trigger, view=modal)
    view = opened["view"]
    assert view["id"].startswith("V") and view["callback_id"] == "intake" and view["hash"]
    assert fake.last("views.open").args["view"] == modal

    with pytest.raises(SlackApiError) as err:  # trigger ids are single-use
        await client.views_open(trigger_id=trigger, view=modal)
    assert err.value.response["error"] == "exchanged_trigger_id"
    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id="made-up", view=modal)
    assert err.value.response["error"] == "invalid_trigger_id"
    too_long = {**modal, "title": {"type": "plain_text", "text": "An onboarding title too long"}}
    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id=fake.issue_trigger(), view=too_long)
    assert err.value.response["error"] == "invalid_arguments"
    assert "25 characters" in err.value.response["response_metadata"]["messages"][0]
    assert [c.method for c in fake.refused_calls()] == ["views.open"]
    fake.allow_refusals = True  # that refusal was the point

    updated = await client.views_update(view_id=view["id"], view=modal, hash=view["hash"])
    assert updated["view"]["hash"] != view["hash"]
    with pytest.raises(SlackApiError) as err:  # the old hash is stale now
        await client.views_update(view_id=view["id"], view=modal, hash=view["hash"])
    assert err.value.response["error"] == "hash_conflict"
    pushed = await client.views_push(trigger_id=fake.issue_trigger(), view=modal)
    assert pushed["view"]["id"] != view["id"]

    home = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "1"}}],
    }
    first = await client.views_publish(user_id=CUSTOMER, view=home)
    second = await client.views_publish(user_id=CUSTOMER, view={**home, "blocks": []})
    assert first["view"]["id"] == second["view"]["id"]
    assert fake.home_views[CUSTOMER].view["blocks"] == []


async def test_file_download_needs_the_bot_token(
    fake: FakeSlack, client: AsyncWebClient, session: aiohttp.ClientSession
) -> None:
    added = fake.add_file(PNG, "chart.png", uploader=CUSTOMER, channel=CHANNEL)
    info = (await client.files_info(file=added["id"]))["file"]
    assert info == added
    assert info["mimetype"] == "image/png" and info["size"] == len(PNG)
    url = info["url_private_download"]
    assert url.startswith(f"http://{fake.file_host}:")

    auth = {"Authorization": f"Bearer {fake.bot_token}"}
    async with session.get(url, headers=auth) as resp:
        assert resp.status == 200 and resp.content_type == "image/png"
        assert await resp.read() == PNG
    async with session.get(url) as resp:
        assert resp.status == 200 and resp.content_type == "text/html"
        assert not (await resp.read()).startswith(b"\x89PNG")
    async with session.get(url, headers={"Authorization": "Bearer xoxb-other"}) as resp:
        assert resp.content_type == "text/html"

    assert [(d.file_id, d.token_ok, d.size) for d in fake.downloads] == [
        (added["id"], True, len(PNG)),
        (added["id"], False, 0),
        (added["id"], False, 0),
    ]
    with pytest.raises(SlackApiError) as err:
        await client.files_info(file="F0NOPE00001")
    assert err.value.response["error"] == "file_not_found"


async def test_files_upload_v2_flow(fake: FakeSlack, client: AsyncWebClient) -> None:
    result = await client.files_upload_v2(
        channel=CHANNEL,
        content=PNG,
        filename="progress.png",
        title="Progress",
        initial_comment="hi",
    )
    file_id = result["file"]["id"]
    assert fake.files[file_id].content == PNG
    assert fake.files[file_id].title == "Progress"
    assert [(u.file_id, u.size) for u in fake.uploads] == [(file_id, len(PNG))]
    [message] = await fake.wait_for_message(channel=CHANNEL, where=lambda m: bool(m.files))
    assert message.files == [file_id] and message.text == "hi"
    info = (await client.files_info(file=file_id))["file"]
    assert info["channels"] == [CHANNEL] and info["mimetype"] == "image/png"


async def test_files_delete_deletes_only_the_bots_own_files(
    fake: FakeSlack, client: AsyncWebClient, session: aiohttp.ClientSession
) -> None:
    """A bot token deletes what the bot uploaded; a customer's file is `cant_delete_file`; a
    deleted file answers `file_deleted` (to files.info too), an unknown one `file_not_found`."""
    ours = (await client.files_upload_v2(channel=CHANNEL, content=PNG, filename="chart.png"))[
        "file"
    ]["id"]
    theirs = fake.add_file(PNG, "id.png", uploader=CUSTOMER, channel=CHANNEL)["id"]

    assert (await client.files_delete(file=ours))["ok"] is True
    for file_id, error in [
        (ours, "file_deleted"),
        (theirs, "cant_delete_file"),
        ("F0NOPE00001", "file_not_found"),
    ]:
        with pytest.raises(SlackApiError) as err:
            await client.files_delete(file=file_id)
        assert err.value.response["error"] == error
    with pytest.raises(SlackApiError) as err:
        await client.files_info(file=ours)
    assert err.value.response["error"] == "file_deleted"
    auth = {"Authorization": f"Bearer {fake.bot_token}"}
    async with session.get(fake.file_info(ours)["url_private"], headers=auth) as resp:
        assert resp.status == 404
    assert (await client.files_info(file=theirs))["file"]["id"] == theirs  # still there

    fake.delete_file(theirs)  # the customer deletes it themselves
    with pytest.raises(SlackApiError) as err:
        await client.files_delete(file=theirs)
    assert err.value.response["error"] == "file_deleted"


async def test_wait_for_reports_what_it_saw(fake: FakeSlack, client: AsyncWebClient) -> None:
    await client.auth_test()
    with pytest.raises(AssertionError) as err:
        await fake.wait_for("chat.postMessage", timeout=0.05)
    assert "auth.test()" in str(err.value) and "found 0" in str(err.value)
    with pytest.raises(AssertionError):
        fake.last("chat.postMessage")


async def test_response_url_posts_are_recorded(
    fake: FakeSlack, session: aiohttp.ClientSession
) -> None:
    driver = SlackDriver("http://127.0.0.1:9", SECRET, hooks_url=fake.hooks_url)
    url = driver.response_url("commands")
    async with session.post(url, json={"text": "done", "response_type": "ephemeral"}) as resp:
        assert resp.status == 200
    [call] = await fake.wait_for("response_url")
    assert call.args["text"] == "done" and url.endswith(call.args["url"])


# ---------------------------------------------------------------------- the driver's requests


@dataclass
class Captured:
    url: str
    requests: asyncio.Queue[tuple[bytes, dict[str, str]]] = field(default_factory=asyncio.Queue)


@pytest.fixture
async def capture() -> AsyncIterator[Captured]:
    """A stand-in bot endpoint that keeps the raw bytes and headers it receives."""
    captured = Captured(url="")

    async def handle(request: web.Request) -> web.Response:
        captured.requests.put_nowait((await request.read(), dict(request.headers)))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/slack/events", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    captured.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield captured
    await runner.cleanup()


async def test_signed_requests_verify_with_slack_sdk(capture: Captured) -> None:
    verifier = SignatureVerifier(SECRET)
    async with SlackDriver(capture.url, SECRET) as driver:
        reply = await driver.message("hello", user_id=CUSTOMER, channel_id=CHANNEL)
        body, headers = await capture.requests.get()
        assert reply.status == 200 and reply.json() == {"ok": True}
        assert body == reply.body
        assert headers["Content-Type"] == "application/json"
        assert verifier.is_valid_request(body, headers)
        envelope = json.loads(body)
        assert envelope["type"] == "event_callback" and envelope["event_id"] == reply.event_id
        assert envelope["event"]["type"] == "message" and envelope["event"]["text"] == "hello"

        await driver.resend(reply, retry_num=1, retry_reason="http_timeout")
        again, retry_headers = await capture.requests.get()
        assert again == body  # same bytes, same event_id
        assert retry_headers["X-Slack-Retry-Num"] == "1"
        assert retry_headers["X-Slack-Retry-Reason"] == "http_timeout"
        assert verifier.is_valid_request(again, retry_headers)

        await driver.slash_command("status", user_id=CUSTOMER, channel_id=CHANNEL)
        form, form_headers = await capture.requests.get()
        assert verifier.is_valid_request(form, form_headers)
        fields = {k: v[0] for k, v in parse_qs(form.decode()).items()}
        assert fields["command"] == "/onboard" and fields["trigger_id"].startswith("trig-")


async def test_bad_signature_and_stale_timestamp_do_not_verify(capture: Captured) -> None:
    verifier = SignatureVerifier(SECRET)
    async with SlackDriver(capture.url, SECRET) as driver:
        await driver.app_mention("hi", user_id=CUSTOMER, channel_id=CHANNEL, bad_signature=True)
        body, headers = await capture.requests.get()
        assert not verifier.is_valid_request(body, headers)

        stale = int(time.time()) - 10 * 60
        await driver.app_home_opened(CUSTOMER, timestamp=stale)
        body, headers = await capture.requests.get()
        assert headers["X-Slack-Request-Timestamp"] == str(stale)
        assert not verifier.is_valid_request(body, headers)

        await driver.send_raw(b'{"type": "event_cal', "application/json")
        body, headers = await capture.requests.get()
        assert body == b'{"type": "event_cal'
        assert verifier.is_valid_request(body, headers)  # signed fine, just malformed


async def test_interaction_payload_shapes(capture: Captured) -> None:
    async with SlackDriver(capture.url, SECRET) as driver:
        message: dict[str, Any] = {
            "type": "message",
            "ts": "1732550000.000600",
            "text": "pick",
            "blocks": [
                {
                    "type": "section",
                    "block_id": "plan_block",
                    "text": {"type": "mrkdwn", "text": "Plan?"},
                    "accessory": {"type": "static_select", "action_id": "plan"},
                }
            ],
        }
        await driver.block_action(
            "plan",
            user_id=CUSTOMER,
            channel_id=CHANNEL,
            message_ts=message["ts"],
            selected_option="gold",
            message=message,
        )
        form, _ = await capture.requests.get()
        sent = json.loads(parse_qs(form.decode())["payload"][0])
        assert sent["type"] == "block_actions"
        assert sent["container"] == {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": CHANNEL,
            "is_ephemeral": False,
        }
        [action] = sent["actions"]
        assert action["block_id"] == "plan_block" and action["type"] == "static_select"
        assert action["selected_option"]["value"] == "gold"

        reply = await driver.view_submission(
            "intake",
            {
                "company": {"company_name": "Acme"},
                "seats": {"plan": static_select("gold"), "regions": multi_static_select(["sh"])},
            },
            user_id=CUSTOMER,
            private_metadata='{"case": 7}',
        )
        form, _ = await capture.requests.get()
        sent = json.loads(parse_qs(form.decode())["payload"][0])
        values: dict[str, Any] = sent["view"]["state"]["values"]
        assert sent["type"] == "view_submission" and sent["view"]["callback_id"] == "intake"
        assert values["company"]["company_name"] == text_input("Acme")
        assert values["seats"]["regions"]["selected_options"][0]["value"] == "sh"
        assert sent["view"]["private_metadata"] == '{"case": 7}'
        assert reply.trigger_id == sent["trigger_id"]


# ---------------------------------------------------------------------- all three together


async def test_bolt_app_accepts_driver_requests_and_talks_to_the_fake(
    fake: FakeSlack, session: aiohttp.ClientSession
) -> None:
    """The real Bolt stack: signature check, parsing, routing, auth.test and say()."""
    client = AsyncWebClient(base_url=fake.api_url, token=fake.bot_token, session=session)
    app = AsyncApp(signing_secret=SECRET, client=client)
    seen: list[str] = []

    @app.event("message")
    async def on_message(event: dict[str, Any], say: Any) -> None:
        seen.append(f"message:{event['files'][0]['id'] if event.get('files') else event['text']}")
        await say(text=f"got {event['text']}")

    @app.command("/onboard")
    async def on_command(ack: Any, command: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        seen.append(f"command:{command['text']}")
        await client.views_open(
            trigger_id=command["trigger_id"],
            view={"type": "modal", "title": {"type": "plain_text", "text": "Hi"}, "blocks": []},
        )

    @app.action("step_done")
    async def on_action(ack: Any, action: dict[str, Any]) -> None:
        seen.append(f"action:{action['value']}")
        await ack()

    @app.view("intake")
    async def on_view(ack: Any, view: dict[str, Any]) -> None:
        seen.append(f"view:{view['state']['values']['company']['company_name']['value']}")
        await ack(response_action="errors", errors={"company": "Please fill in"})

    async def endpoint(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    web_app = web.Application()
    web_app.router.add_post("/slack/events", endpoint)
    runner = web.AppRunner(web_app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    bot_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with SlackDriver(bot_url, SECRET, session=session) as driver:
            verified = await driver.url_verification("c-123")
            assert verified.json() == {"challenge": "c-123"}

            assert (
                await driver.message("hello", user_id=CUSTOMER, channel_id=CHANNEL)
            ).status == 200
            await fake.wait_for_message(channel=CHANNEL, where=lambda m: m.text == "got hello")
            file = fake.add_file(b"a,b\n", "agents.csv", uploader=EXTERNAL, channel=CHANNEL)
            stub = file_stub(file["id"], user_id=EXTERNAL)
            await driver.message("roster", user_id=EXTERNAL, channel_id=CHANNEL, files=[stub])
            await fake.wait_for("chat.postMessage", count=2)

            assert (await driver.slash_command("start", user_id=CUSTOMER, channel_id=CHANNEL)).ok
            await fake.wait_for("views.open", where=lambda c: c.ok)

            clicked = await driver.block_action(
                "step_done", "kickoff", user_id=CUSTOMER, channel_id=CHANNEL, message_ts="1.000001"
            )
            assert clicked.status == 200
            submitted = await driver.view_submission(
                "intake", {"company": {"company_name": "Acme"}}, user_id=CUSTOMER
            )
            assert submitted.json() == {
                "response_action": "errors",
                "errors": {"company": "Please fill in"},
            }

            forged = await driver.message(
                "x", user_id=CUSTOMER, channel_id=CHANNEL, bad_signature=True
            )
            assert forged.status == 401
            malformed = await driver.send_raw(b'{"type": "event_cal', "application/json")
            assert malformed.status >= 400
    finally:
        await runner.cleanup()

    assert fake.calls("auth.test") and all(c.token_ok for c in fake.calls())
    assert seen == [
        "message:hello",
        f"message:{file['id']}",
        "command:start",
        "action:kickoff",
        "view:Acme",
    ]


async def test_history_and_replies_read_as_slack_reads_them(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    """Top-level messages newest first, a thread parent first; message metadata only when asked
    for; a channel the bot is not in, a thread that is not there and malformed metadata are
    refused with Slack's errors."""
    mark = {"event_type": "onboarding_effect", "event_payload": {"effect": "t/1-0/0"}}
    first = await client.chat_postMessage(channel=CHANNEL, text="first", metadata=mark)
    parent = fake.add_message(CHANNEL, "a question", user=CUSTOMER)
    await client.chat_postMessage(channel=CHANNEL, text="in the thread", thread_ts=parent.ts)

    history = await client.conversations_history(channel=CHANNEL, oldest=first["ts"])
    assert [m["text"] for m in history["messages"]] == ["a question"]  # oldest is exclusive
    plain = await client.conversations_history(channel=CHANNEL)
    assert [m["text"] for m in plain["messages"]] == ["a question", "first"]
    assert all("metadata" not in m for m in plain["messages"])
    full = await client.conversations_history(channel=CHANNEL, include_all_metadata=True)
    assert full["messages"][1]["metadata"] == mark

    thread = await client.conversations_replies(channel=CHANNEL, ts=parent.ts)
    assert [m["text"] for m in thread["messages"]] == ["a question", "in the thread"]
    with pytest.raises(SlackApiError) as gone:
        await client.conversations_replies(channel=CHANNEL, ts="1700000000.000001")
    assert gone.value.response["error"] == "thread_not_found"

    fake.add_channel("C0NOTAMEMBER", "elsewhere", members=[CUSTOMER])
    with pytest.raises(SlackApiError) as outside:
        await client.conversations_history(channel="C0NOTAMEMBER")
    assert outside.value.response["error"] == "not_in_channel"
    with pytest.raises(SlackApiError) as bad:
        await client.chat_postMessage(channel=CHANNEL, text="x", metadata={"event_type": "x"})
    assert bad.value.response["error"] == "invalid_metadata_format"
