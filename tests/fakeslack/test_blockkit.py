"""The fake is as strict as Slack about Block Kit, and the driver about the bot's HTTP answers.

Each rule is exercised through the real HTTP API (slack_sdk's AsyncWebClient against FakeSlack):
Slack's error shape, the refused call recorded, and a valid realistic payload accepted.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakeslack.blockkit import input_block_ids, validate_blocks, validate_view
from tests.fakeslack.conftest import CHANNEL, CUSTOMER
from tests.fakeslack.driver import SlackDriver, slack_escape_typed, slack_unescape
from tests.fakeslack.server import FakeSlack

SECRET = "0d5c0f1e9a7b4c2d8e6f5a4b3c2d1e0f"  # a test signing secret
# The real case: 77 characters, markup included, for an option whose limit is 75.
TENCENT_SLA = "我已阅读并同意<https://cloud.tencent.com/document/product/679/34947|《腾讯云呼叫中心服务等级协议》>"

JSONish = dict[str, Any]


def plain(text: str) -> JSONish:
    return {"type": "plain_text", "text": text}


def mrkdwn(text: str) -> JSONish:
    return {"type": "mrkdwn", "text": text}


def section(text: str = "Hello", **extra: Any) -> JSONish:
    return {"type": "section", "text": mrkdwn(text), **extra}


def button(action_id: str = "go", text: str = "Go", **extra: Any) -> JSONish:
    return {"type": "button", "action_id": action_id, "text": plain(text), **extra}


def actions(*elements: JSONish, **extra: Any) -> JSONish:
    return {"type": "actions", "elements": list(elements), **extra}


def option(text: str = "One", value: str = "one", *, markdown: bool = False) -> JSONish:
    return {"text": mrkdwn(text) if markdown else plain(text), "value": value}


def options(count: int) -> list[JSONish]:
    return [option(f"Option {i}", f"v{i}") for i in range(count)]


def static_select(**extra: Any) -> JSONish:
    return {
        "type": "static_select",
        "action_id": "pick",
        "placeholder": plain("Pick one"),
        "options": options(3),
        **extra,
    }


def checkboxes(opts: list[JSONish], **extra: Any) -> JSONish:
    return {"type": "checkboxes", "action_id": "ticks", "options": opts, **extra}


def text_input(**extra: Any) -> JSONish:
    return {"type": "plain_text_input", "action_id": "value", **extra}


def input_block(block_id: str, element: JSONish, label: str = "Label", **extra: Any) -> JSONish:
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": element,
        **extra,
    }


def modal(*blocks: JSONish, **extra: Any) -> JSONish:
    view: JSONish = {
        "type": "modal",
        "callback_id": "intake",
        "title": plain("Onboarding"),
        "submit": plain("Submit"),
        "close": plain("Cancel"),
        "blocks": list(blocks),
    }
    view.update(extra)
    return view


def confirm(**parts: str) -> JSONish:
    texts = {"title": "Sure?", "text": "It cannot be undone.", "confirm": "Yes", "deny": "No"}
    texts.update(parts)
    return {name: plain(value) for name, value in texts.items()}


def expected_body(messages: list[str], error: str = "invalid_blocks") -> JSONish:
    body: JSONish = {"ok": False, "error": error}
    if error == "invalid_blocks":
        body["errors"] = [m.removeprefix("[ERROR] ") for m in messages]
    body["response_metadata"] = {"messages": messages}
    return body


# ---------------------------------------------------------------------- valid payloads pass


REALISTIC_MESSAGE: list[JSONish] = [
    {"type": "header", "text": plain("Acme 示例科技 · onboarding")},
    section(
        "*Step 2 of 6* · read the <https://cloud.tencent.com/document/product/679|service docs>",
        block_id="intro",
        accessory=button("open_docs", "Open", url="https://cloud.tencent.com/document"),
    ),
    {"type": "section", "fields": [mrkdwn("*Tenant*\nacme-1"), mrkdwn("*Stage*\nSIP")]},
    actions(
        button("step_done", "Done", value="kickoff", style="primary"),
        button("step_help", "Ask the SE", value="kickoff", confirm=confirm()),
        static_select(initial_option=option("Option 1", "v1")),
        block_id="step",
    ),
    {"type": "context", "elements": [mrkdwn("Updated just now"), plain("by the bot")]},
    {"type": "divider"},
]


async def test_a_realistic_message_is_accepted(fake: FakeSlack, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel=CHANNEL, text="Step 2", blocks=REALISTIC_MESSAGE)
    await client.chat_update(
        channel=CHANNEL, ts=posted["ts"], text="Step 2", blocks=REALISTIC_MESSAGE[:2]
    )
    await client.chat_postEphemeral(
        channel=CHANNEL, user=CUSTOMER, text="only you", blocks=REALISTIC_MESSAGE
    )
    assert validate_blocks(REALISTIC_MESSAGE) == []
    assert fake.refused_calls() == []
    fake.assert_no_refusals()


REALISTIC_MODAL = modal(
    section("Tell us about <https://acme.example/about|your company>."),
    input_block("company", text_input(placeholder=plain("Acme Ltd"), max_length=200)),
    input_block("plan", static_select(), hint=plain("You can change it later")),
    input_block(
        "terms",
        checkboxes(
            [
                option("我已阅读并同意服务等级协议", "sla", markdown=True),
                option("Send me news", "news"),
            ],
            initial_options=[option("Send me news", "news")],
        ),
        label="Agreements",
        optional=True,
    ),
    {
        "type": "context",
        "elements": [mrkdwn("The SLA: <https://cloud.tencent.com/document/product/679/34947|SLA>")],
    },
    private_metadata=json.dumps({"tenant": "acme-1"}),
)


async def test_a_realistic_modal_and_home_are_accepted(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    opened = await client.views_open(trigger_id=fake.issue_trigger(), view=REALISTIC_MODAL)
    await client.views_update(view_id=opened["view"]["id"], view=REALISTIC_MODAL)
    await client.views_push(trigger_id=fake.issue_trigger(), view=REALISTIC_MODAL)
    home = {"type": "home", "blocks": REALISTIC_MESSAGE}
    await client.views_publish(user_id=CUSTOMER, view=home)
    assert fake.refused_calls() == []
    assert input_block_ids(REALISTIC_MODAL) == {"company", "plan", "terms"}


# ---------------------------------------------------------------------- the real case


async def test_a_checkbox_option_with_a_long_link_is_refused_by_views_open(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    assert len(TENCENT_SLA) == 77
    view = modal(input_block("terms", checkboxes([option(TENCENT_SLA, "sla", markdown=True)])))
    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id=fake.issue_trigger(), view=view)

    message = (
        "[ERROR] must be less than 76 characters"
        " [json-pointer:/view/blocks/0/element/options/0/text/text]"
    )
    assert err.value.response.status_code == 200
    assert err.value.response.data == expected_body([message], error="invalid_arguments")
    [call] = fake.refused_calls()
    assert call.method == "views.open" and call.refused_for == (message,)
    assert call.response["error"] == "invalid_arguments"
    assert fake.views == {}  # nothing opened: the user sees nothing
    with pytest.raises(AssertionError, match="would have refused 1 call"):
        fake.assert_no_refusals()
    fake.allow_refusals = True


# ---------------------------------------------------------------------- message rules


def _long(n: int, char: str = "x") -> str:
    return char * n


MESSAGE_CASES = [
    # blocks
    pytest.param(
        [{"type": "divider"}] * 51, "no more than 50 items allowed [json-pointer:/blocks]", id="51"
    ),
    pytest.param(
        [{"type": "carousel"}], "unsupported type: carousel [json-pointer:/blocks/0/type]"
    ),
    pytest.param(["divider"], "must provide an object [json-pointer:/blocks/0]", id="not-object"),
    pytest.param(
        [{"type": "divider", "block_id": _long(256)}],
        "must be less than 256 characters [json-pointer:/blocks/0/block_id]",
        id="block_id-256",
    ),
    pytest.param(
        [section(block_id="same"), {"type": "divider", "block_id": "same"}],
        "non-unique block_id: same [json-pointer:/blocks/1/block_id]",
        id="block_id-twice",
    ),
    # text objects
    pytest.param(
        [{"type": "section", "text": {"type": "markdown", "text": "x"}}],
        "must be one of: plain_text, mrkdwn [json-pointer:/blocks/0/text/type]",
        id="text-type",
    ),
    pytest.param(
        [section("")],
        "must be more than 0 characters [json-pointer:/blocks/0/text/text]",
        id="empty",
    ),
    pytest.param(
        [{"type": "section", "text": {"type": "mrkdwn"}}],
        "missing required field: text [json-pointer:/blocks/0/text]",
        id="text-missing",
    ),
    # section
    pytest.param(
        [section(_long(3001))],
        "must be less than 3001 characters [json-pointer:/blocks/0/text/text]",
        id="section-3001",
    ),
    pytest.param(
        [{"type": "section"}],
        "missing required field: text or fields [json-pointer:/blocks/0]",
        id="section-empty",
    ),
    pytest.param(
        [{"type": "section", "fields": [mrkdwn("f")] * 11}],
        "no more than 10 items allowed [json-pointer:/blocks/0/fields]",
        id="fields-11",
    ),
    pytest.param(
        [{"type": "section", "fields": [mrkdwn(_long(2001))]}],
        "must be less than 2001 characters [json-pointer:/blocks/0/fields/0/text]",
        id="field-2001",
    ),
    pytest.param(
        [section(accessory=text_input())],
        "unsupported type: plain_text_input [json-pointer:/blocks/0/accessory/type]",
        id="accessory-input",
    ),
    # context
    pytest.param(
        [{"type": "context", "elements": []}],
        "must provide at least 1 item(s) [json-pointer:/blocks/0/elements]",
        id="context-0",
    ),
    pytest.param(
        [{"type": "context", "elements": [mrkdwn("c")] * 11}],
        "no more than 10 items allowed [json-pointer:/blocks/0/elements]",
        id="context-11",
    ),
    pytest.param(
        [{"type": "context", "elements": [button()]}],
        "unsupported type: button [json-pointer:/blocks/0/elements/0/type]",
        id="context-button",
    ),
    # actions
    pytest.param(
        [actions()],
        "must provide at least 1 item(s) [json-pointer:/blocks/0/elements]",
        id="actions-0",
    ),
    pytest.param(
        [actions(*[button(f"b{i}") for i in range(26)])],
        "no more than 25 items allowed [json-pointer:/blocks/0/elements]",
        id="actions-26",
    ),
    pytest.param(
        [actions(button("same"), button("same", "Again"))],
        "non-unique action_id: same [json-pointer:/blocks/0/elements/1/action_id]",
        id="action_id-twice",
    ),
    # header
    pytest.param(
        [{"type": "header", "text": plain(_long(151))}],
        "must be less than 151 characters [json-pointer:/blocks/0/text/text]",
        id="header-151",
    ),
    pytest.param(
        [{"type": "header", "text": mrkdwn("*Hi*")}],
        "must be one of: plain_text [json-pointer:/blocks/0/text/type]",
        id="header-mrkdwn",
    ),
    # button
    pytest.param(
        [actions(button(text=_long(76)))],
        "must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]",
        id="button-text-76",
    ),
    pytest.param(
        [actions({"type": "button", "action_id": "b", "text": mrkdwn("*Go*")})],
        "must be one of: plain_text [json-pointer:/blocks/0/elements/0/text/type]",
        id="button-mrkdwn",
    ),
    pytest.param(
        [actions({"type": "button", "action_id": "b"})],
        "missing required field: text [json-pointer:/blocks/0/elements/0]",
        id="button-no-text",
    ),
    pytest.param(
        [actions(button(_long(256)))],
        "must be less than 256 characters [json-pointer:/blocks/0/elements/0/action_id]",
        id="action_id-256",
    ),
    pytest.param(
        [actions(button(value=_long(2001)))],
        "must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]",
        id="button-value-2001",
    ),
    pytest.param(
        [actions(button(url="https://a.example/" + _long(2990)))],
        "must be less than 3001 characters [json-pointer:/blocks/0/elements/0/url]",
        id="button-url-3001",
    ),
    pytest.param(
        [actions(button(style="secondary"))],
        "must be one of: primary, danger [json-pointer:/blocks/0/elements/0/style]",
        id="button-style",
    ),
    # confirm
    pytest.param(
        [actions(button(confirm=confirm(title=_long(101))))],
        "must be less than 101 characters [json-pointer:/blocks/0/elements/0/confirm/title/text]",
        id="confirm-title-101",
    ),
    pytest.param(
        [actions(button(confirm=confirm(text=_long(301))))],
        "must be less than 301 characters [json-pointer:/blocks/0/elements/0/confirm/text/text]",
        id="confirm-text-301",
    ),
    pytest.param(
        [actions(button(confirm=confirm(confirm=_long(31))))],
        "must be less than 31 characters [json-pointer:/blocks/0/elements/0/confirm/confirm/text]",
        id="confirm-confirm-31",
    ),
    pytest.param(
        [actions(button(confirm=confirm(deny=_long(31))))],
        "must be less than 31 characters [json-pointer:/blocks/0/elements/0/confirm/deny/text]",
        id="confirm-deny-31",
    ),
    pytest.param(
        [actions(button(confirm={**confirm(), "title": mrkdwn("*Sure?*")}))],
        "must be one of: plain_text [json-pointer:/blocks/0/elements/0/confirm/title/type]",
        id="confirm-title-mrkdwn",
    ),
    # static select
    pytest.param(
        [actions(static_select(placeholder=plain(_long(151))))],
        "must be less than 151 characters [json-pointer:/blocks/0/elements/0/placeholder/text]",
        id="placeholder-151",
    ),
    pytest.param(
        [actions(static_select(options=options(101)))],
        "no more than 100 items allowed [json-pointer:/blocks/0/elements/0/options]",
        id="select-101",
    ),
    pytest.param(
        [actions(static_select(options=[]))],
        "must provide at least 1 item(s) [json-pointer:/blocks/0/elements/0/options]",
        id="select-0",
    ),
    pytest.param(
        [actions(static_select(options=[option(_long(76))]))],
        "must be less than 76 characters [json-pointer:/blocks/0/elements/0/options/0/text/text]",
        id="select-option-76",
    ),
    pytest.param(
        [actions(static_select(options=[option("*bold*", markdown=True)]))],
        "must be one of: plain_text [json-pointer:/blocks/0/elements/0/options/0/text/type]",
        id="select-option-mrkdwn",
    ),
    pytest.param(
        [actions(static_select(options=[option("One", _long(151))]))],
        "must be less than 151 characters [json-pointer:/blocks/0/elements/0/options/0/value]",
        id="option-value-151",
    ),
    pytest.param(
        [actions(static_select(option_groups=[{"label": plain("G"), "options": options(1)}]))],
        "exactly one of options or option_groups is required [json-pointer:/blocks/0/elements/0]",
        id="options-and-groups",
    ),
    pytest.param(
        [actions(static_select(initial_option=option("Gone", "gone")))],
        "must match one of the provided options [json-pointer:/blocks/0/elements/0/initial_option]",
        id="initial-option-unknown",
    ),
    # checkboxes, radio buttons, overflow
    pytest.param(
        [actions(checkboxes(options(11)))],
        "no more than 10 items allowed [json-pointer:/blocks/0/elements/0/options]",
        id="checkboxes-11",
    ),
    pytest.param(
        [actions(checkboxes([option(TENCENT_SLA, "sla", markdown=True)]))],
        "must be less than 76 characters [json-pointer:/blocks/0/elements/0/options/0/text/text]",
        id="checkbox-option-77",
    ),
    pytest.param(
        [actions(checkboxes([{**option(), "description": plain(_long(76))}]))],
        "must be less than 76 characters"
        " [json-pointer:/blocks/0/elements/0/options/0/description/text]",
        id="checkbox-description-76",
    ),
    pytest.param(
        [actions({"type": "radio_buttons", "action_id": "r", "options": [option(_long(76))]})],
        "must be less than 76 characters [json-pointer:/blocks/0/elements/0/options/0/text/text]",
        id="radio-option-76",
    ),
    pytest.param(
        [actions({"type": "overflow", "action_id": "more", "options": options(6)})],
        "no more than 5 items allowed [json-pointer:/blocks/0/elements/0/options]",
        id="overflow-6",
    ),
    pytest.param(
        [actions({"type": "overflow", "action_id": "more", "options": []})],
        "must provide at least 1 item(s) [json-pointer:/blocks/0/elements/0/options]",
        id="overflow-0",
    ),
]


@pytest.mark.parametrize(("blocks", "expected"), MESSAGE_CASES)
async def test_chat_post_message_refuses_bad_blocks(
    fake: FakeSlack, client: AsyncWebClient, blocks: list[Any], expected: str
) -> None:
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel=CHANNEL, text="fallback", blocks=blocks)

    body = err.value.response.data
    assert isinstance(body, dict)
    messages = body["response_metadata"]["messages"]
    assert f"[ERROR] {expected}" in messages
    assert body == expected_body(messages)
    [call] = fake.refused_calls()
    assert call.method == "chat.postMessage" and call.refused_for == tuple(messages)
    assert fake.messages(CHANNEL) == []
    fake.allow_refusals = True


async def test_ephemeral_and_update_refuse_bad_blocks_too(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    bad = [actions(button(text=_long(76)))]
    with pytest.raises(SlackApiError) as err:
        await client.chat_postEphemeral(channel=CHANNEL, user=CUSTOMER, text="x", blocks=bad)
    assert err.value.response["error"] == "invalid_blocks"
    posted = await client.chat_postMessage(channel=CHANNEL, text="x", blocks=[section()])
    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel=CHANNEL, ts=posted["ts"], text="x", blocks=bad)
    assert err.value.response["error"] == "invalid_blocks"
    assert fake.message(CHANNEL, posted["ts"]).blocks == [section()]  # left as it was
    assert [c.method for c in fake.refused_calls()] == ["chat.postEphemeral", "chat.update"]
    fake.allow_refusals = True


async def test_blocks_that_are_not_an_array_are_invalid_blocks_format(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    with pytest.raises(SlackApiError) as err:
        await client.api_call(
            "chat.postMessage",
            json={"channel": CHANNEL, "text": "x", "blocks": {"type": "divider"}},
        )
    assert err.value.response.data == {"ok": False, "error": "invalid_blocks_format"}
    with pytest.raises(SlackApiError) as err:
        await client.api_call(
            "chat.postMessage", data={"channel": CHANNEL, "text": "x", "blocks": "[{not json"}
        )
    assert err.value.response["error"] == "invalid_blocks_format"


async def test_response_url_posts_with_bad_blocks_get_400(
    fake: FakeSlack, session: aiohttp.ClientSession
) -> None:
    driver = SlackDriver("http://127.0.0.1:9", SECRET, hooks_url=fake.hooks_url)
    bad = {"text": "x", "blocks": [{"type": "header", "text": plain(_long(151))}]}
    async with session.post(driver.response_url("commands"), json=bad) as resp:
        assert resp.status == 400 and await resp.text() == "invalid_blocks"
    async with session.post(driver.response_url("commands"), json={"blocks": {}}) as resp:
        assert resp.status == 400 and await resp.text() == "invalid_blocks_format"
    good = {"text": "x", "blocks": REALISTIC_MESSAGE, "replace_original": True}
    async with session.post(driver.response_url("actions"), json=good) as resp:
        assert resp.status == 200
    calls = await fake.wait_for("response_url", count=3)
    assert [c.http_status for c in calls] == [400, 400, 200]
    [refused] = fake.refused_calls()
    assert refused.refused_for == (
        "[ERROR] must be less than 151 characters [json-pointer:/blocks/0/text/text]",
    )
    assert refused.response["error"] == "invalid_blocks"
    fake.allow_refusals = True


# ---------------------------------------------------------------------- view rules


VIEW_CASES = [
    pytest.param(
        modal(title=plain(_long(25))),
        "must be less than 25 characters [json-pointer:/view/title/text]",
        id="title-25",
    ),
    pytest.param(
        {k: v for k, v in modal().items() if k != "title"},
        "missing required field: title [json-pointer:/view]",
        id="title-missing",
    ),
    pytest.param(
        modal(title=mrkdwn("*Hi*")),
        "must be one of: plain_text [json-pointer:/view/title/type]",
        id="title-mrkdwn",
    ),
    pytest.param(
        modal(submit=plain(_long(25))),
        "must be less than 25 characters [json-pointer:/view/submit/text]",
        id="submit-25",
    ),
    pytest.param(
        modal(close=plain(_long(25))),
        "must be less than 25 characters [json-pointer:/view/close/text]",
        id="close-25",
    ),
    pytest.param(
        {k: v for k, v in modal(input_block("b", text_input())).items() if k != "submit"},
        "missing required field: submit (the view has input blocks) [json-pointer:/view]",
        id="submit-needed",
    ),
    pytest.param(
        modal(private_metadata=_long(3001)),
        "must be less than 3001 characters [json-pointer:/view/private_metadata]",
        id="private_metadata-3001",
    ),
    pytest.param(
        modal(callback_id=_long(256)),
        "must be less than 256 characters [json-pointer:/view/callback_id]",
        id="callback_id-256",
    ),
    pytest.param(
        modal(external_id=_long(256)),
        "must be less than 256 characters [json-pointer:/view/external_id]",
        id="external_id-256",
    ),
    pytest.param(
        modal(*[{"type": "divider"}] * 101),
        "no more than 100 items allowed [json-pointer:/view/blocks]",
        id="101-blocks",
    ),
    pytest.param(
        {"type": "home", "blocks": []},
        "must be one of: modal [json-pointer:/view/type]",
        id="home-in-views-open",
    ),
    pytest.param(
        modal(input_block("b", text_input(), label=_long(2001))),
        "must be less than 2001 characters [json-pointer:/view/blocks/0/label/text]",
        id="label-2001",
    ),
    pytest.param(
        modal(input_block("b", text_input(), hint=plain(_long(2001)))),
        "must be less than 2001 characters [json-pointer:/view/blocks/0/hint/text]",
        id="hint-2001",
    ),
    pytest.param(
        modal({**input_block("b", text_input()), "label": mrkdwn("*Name*")}),
        "must be one of: plain_text [json-pointer:/view/blocks/0/label/type]",
        id="label-mrkdwn",
    ),
    pytest.param(
        modal({k: v for k, v in input_block("b", text_input()).items() if k != "element"}),
        "missing required field: element [json-pointer:/view/blocks/0]",
        id="input-no-element",
    ),
    pytest.param(
        modal(input_block("b", button())),
        "unsupported type: button [json-pointer:/view/blocks/0/element/type]",
        id="input-button",
    ),
    pytest.param(
        modal(input_block("b", text_input(), optional="yes")),
        "must provide a boolean [json-pointer:/view/blocks/0/optional]",
        id="optional-string",
    ),
    pytest.param(
        modal(input_block("b", text_input(placeholder=plain(_long(151))))),
        "must be less than 151 characters [json-pointer:/view/blocks/0/element/placeholder/text]",
        id="input-placeholder-151",
    ),
    pytest.param(
        modal(input_block("b", text_input(max_length=0))),
        "must be between 1 and 3000 [json-pointer:/view/blocks/0/element/max_length]",
        id="max_length-0",
    ),
    pytest.param(
        modal(input_block("b", text_input(max_length=3001))),
        "must be between 1 and 3000 [json-pointer:/view/blocks/0/element/max_length]",
        id="max_length-3001",
    ),
    pytest.param(
        modal(input_block("b", text_input(min_length=3001))),
        "must be between 0 and 3000 [json-pointer:/view/blocks/0/element/min_length]",
        id="min_length-3001",
    ),
    pytest.param(
        modal(input_block("b", text_input(max_length=5, initial_value="too long"))),
        "must be less than 6 characters [json-pointer:/view/blocks/0/element/initial_value]",
        id="initial_value-over-max_length",
    ),
    pytest.param(
        modal(
            input_block("b", text_input()),
            input_block("b", text_input()),
        ),
        "non-unique block_id: b [json-pointer:/view/blocks/1/block_id]",
        id="block_id-twice",
    ),
    pytest.param(
        modal(input_block("b", checkboxes([option(TENCENT_SLA, "sla", markdown=True)]))),
        "must be less than 76 characters [json-pointer:/view/blocks/0/element/options/0/text/text]",
        id="checkbox-77",
    ),
]


@pytest.mark.parametrize(("view", "expected"), VIEW_CASES)
async def test_views_open_refuses_bad_views(
    fake: FakeSlack, client: AsyncWebClient, view: JSONish, expected: str
) -> None:
    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id=fake.issue_trigger(), view=view)

    body = err.value.response.data
    assert isinstance(body, dict)
    messages = body["response_metadata"]["messages"]
    assert f"[ERROR] {expected}" in messages
    assert body == expected_body(messages, error="invalid_arguments")
    assert fake.refused_calls("views.open")[0].refused_for == tuple(messages)
    fake.allow_refusals = True


async def test_views_push_update_and_publish_refuse_bad_views(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    bad = modal(title=plain(_long(25)))
    opened = await client.views_open(trigger_id=fake.issue_trigger(), view=modal())
    for call in (
        client.views_push(trigger_id=fake.issue_trigger(), view=bad),
        client.views_update(view_id=opened["view"]["id"], view=bad),
        client.views_publish(user_id=CUSTOMER, view={"type": "home", "blocks": ["x"]}),
        client.views_publish(user_id=CUSTOMER, view={**modal(), "type": "home"}),
    ):
        with pytest.raises(SlackApiError) as err:
            await call
        assert err.value.response["error"] == "invalid_arguments"
    assert [(c.method, c.refused_for[0]) for c in fake.refused_calls()] == [
        ("views.push", "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"),
        ("views.update", "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"),
        ("views.publish", "[ERROR] must provide an object [json-pointer:/view/blocks/0]"),
        ("views.publish", "[ERROR] title is not allowed in a home view [json-pointer:/view/title]"),
    ]
    assert fake.views[opened["view"]["id"]].view == modal()  # not replaced
    fake.allow_refusals = True


async def test_leaving_the_fake_after_a_refusal_fails_unless_allowed(
    session: aiohttp.ClientSession,
) -> None:
    bad = [{"type": "header", "text": plain(_long(151))}]
    strict = FakeSlack()
    with pytest.raises(AssertionError, match="must be less than 151 characters"):
        async with strict:
            plain_client = AsyncWebClient(
                base_url=strict.api_url, token=strict.bot_token, session=session
            )
            strict.add_channel(CHANNEL, "c", members=[strict.bot_user_id])
            with pytest.raises(SlackApiError):
                await plain_client.chat_postMessage(channel=CHANNEL, text="x", blocks=bad)

    async with FakeSlack(allow_refusals=True) as lenient:
        plain_client = AsyncWebClient(
            base_url=lenient.api_url, token=lenient.bot_token, session=session
        )
        lenient.add_channel(CHANNEL, "c", members=[lenient.bot_user_id])
        with pytest.raises(SlackApiError):
            await plain_client.chat_postMessage(channel=CHANNEL, text="x", blocks=bad)
    assert len(lenient.refused_calls()) == 1


def test_validator_reports_every_problem_at_once() -> None:
    view = modal(
        input_block("a", text_input(placeholder=plain(_long(151)))),
        {"type": "header", "text": plain("")},
        title=plain(_long(30)),
    )
    problems = validate_view(view)
    assert problems == [
        "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]",
        "[ERROR] must be less than 151 characters"
        " [json-pointer:/view/blocks/0/element/placeholder/text]",
        "[ERROR] must be more than 0 characters [json-pointer:/view/blocks/1/text/text]",
    ]
    assert validate_blocks([section()], surface="modal") == []
    assert validate_blocks([input_block("a", text_input())], surface="home") == []


# ---------------------------------------------------------------------- the driver checks replies


@dataclass
class StandIn:
    """A bot endpoint that answers whatever the test sets, and keeps what it received."""

    url: str = ""
    answer: Any = None  # JSON to answer with; None answers an empty 200
    received: asyncio.Queue[bytes] = field(default_factory=asyncio.Queue)


@pytest.fixture
async def bot() -> AsyncIterator[StandIn]:
    stand_in = StandIn()

    async def handle(request: web.Request) -> web.Response:
        stand_in.received.put_nowait(await request.read())
        if stand_in.answer is None:
            return web.Response(status=200)
        return web.json_response(stand_in.answer)

    app = web.Application()
    app.router.add_post("/slack/events", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    stand_in.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield stand_in
    await runner.cleanup()


@pytest.fixture
async def driver(bot: StandIn) -> AsyncIterator[SlackDriver]:
    async with SlackDriver(bot.url, SECRET) as driver:
        yield driver


async def test_a_slash_command_reply_is_checked_as_a_message(
    bot: StandIn, driver: SlackDriver
) -> None:
    bot.answer = {"response_type": "ephemeral", "text": "Hi", "blocks": REALISTIC_MESSAGE}
    assert (await driver.slash_command("help", user_id=CUSTOMER, channel_id=CHANNEL)).ok

    bot.answer = {"text": "Hi", "blocks": [actions(button(text=_long(76)))]}
    with pytest.raises(AssertionError) as err:
        await driver.slash_command("help", user_id=CUSTOMER, channel_id=CHANNEL)
    assert (
        "[ERROR] must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]"
        in str(err.value)
    )
    bot.answer = {"text": "Hi", "blocks": [{"type": "divider"}] * 51}
    with pytest.raises(AssertionError, match="no more than 50 items allowed"):
        await driver.slash_command("help", user_id=CUSTOMER, channel_id=CHANNEL)
    looked = await driver.slash_command(
        "help", user_id=CUSTOMER, channel_id=CHANNEL, check_reply=False
    )
    answered = looked.json()
    assert isinstance(answered, dict) and len(answered["blocks"]) == 51

    bot.answer = None  # a bare ack is fine
    assert (await driver.slash_command("help", user_id=CUSTOMER, channel_id=CHANNEL)).ok


SUBMITTED = modal(
    section("Who are you?", block_id="intro"),
    input_block("company", text_input()),
    input_block("plan", static_select()),
)


async def test_view_submission_errors_must_name_input_blocks(
    bot: StandIn, driver: SlackDriver
) -> None:
    values = {"company": {"value": "Acme"}}
    bot.answer = {"response_action": "errors", "errors": {"company": "Please fill in"}}
    ok = await driver.view_submission("intake", values, user_id=CUSTOMER, view=SUBMITTED)
    assert ok.json() == bot.answer

    bot.answer = {"response_action": "errors", "errors": {"intro": "Not an input"}}
    with pytest.raises(AssertionError) as err:
        await driver.view_submission("intake", values, user_id=CUSTOMER, view=SUBMITTED)
    assert "[json-pointer:/errors/intro]" in str(err.value)
    assert "those are: company, plan" in str(err.value)
    # Without view= the driver cannot know the blocks, so only the shape is checked.
    unknown = await driver.view_submission("intake", values, user_id=CUSTOMER)
    assert unknown.ok

    bot.answer = {"response_action": "errors", "errors": ["company"]}
    with pytest.raises(AssertionError, match="non-empty object"):
        await driver.view_submission("intake", values, user_id=CUSTOMER)
    bot.answer = {"response_action": "errors", "errors": {"company": ""}}
    with pytest.raises(AssertionError, match="non-empty string"):
        await driver.view_submission("intake", values, user_id=CUSTOMER, view=SUBMITTED)
    bot.answer = {"response_action": "close"}
    with pytest.raises(AssertionError, match="must be one of: errors, update, push, clear"):
        await driver.view_submission("intake", values, user_id=CUSTOMER)
    checked_off = await driver.view_submission(
        "intake", values, user_id=CUSTOMER, view=SUBMITTED, check_reply=False
    )
    assert checked_off.json() == {"response_action": "close"}


async def test_view_submission_update_and_push_views_are_checked(
    bot: StandIn, driver: SlackDriver
) -> None:
    values = {"company": {"value": "Acme"}}
    for action in ("update", "push"):
        bot.answer = {"response_action": action, "view": REALISTIC_MODAL}
        assert (await driver.view_submission("intake", values, user_id=CUSTOMER)).ok
        bad = modal(input_block("t", checkboxes([option(TENCENT_SLA, "sla", markdown=True)])))
        bot.answer = {"response_action": action, "view": bad}
        with pytest.raises(AssertionError) as err:
            await driver.view_submission("intake", values, user_id=CUSTOMER)
        assert "[json-pointer:/view/blocks/0/element/options/0/text/text]" in str(err.value)
    bot.answer = {"response_action": "clear"}
    assert (await driver.view_submission("intake", values, user_id=CUSTOMER)).ok


# ---------------------------------------------------------------------- typed text arrives escaped


@pytest.mark.parametrize(
    ("typed", "wire"),
    [
        ("start Procter & Gamble <China> Ltd", "start Procter &amp; Gamble &lt;China&gt; Ltd"),
        ("a < b > c && d", "a &lt; b &gt; c &amp;&amp; d"),
        ("I typed &amp; myself", "I typed &amp;amp; myself"),
        (
            "hi <@U0CUSTOMER1> and <@U0CUSTOMER1|li.wei>",
            "hi <@U0CUSTOMER1> and <@U0CUSTOMER1|li.wei>",
        ),
        (
            "see <#C0PROJECT01> or <#C0PROJECT01|proj-acme>",
            "see <#C0PROJECT01> or <#C0PROJECT01|proj-acme>",
        ),
        ("<!here> <!channel> <!everyone>", "<!here> <!channel> <!everyone>"),
        ("ping <!subteam^S0SE000001|@se-team>", "ping <!subteam^S0SE000001|@se-team>"),
        (
            "at <!date^1392734382^{date_num} {time_secs}|Feb 18 2014>",
            "at <!date^1392734382^{date_num} {time_secs}|Feb 18 2014>",
        ),
        ("docs <https://example.com/a?b=1&c=2>", "docs <https://example.com/a?b=1&amp;c=2>"),
        ("<https://example.com|R&D page> & more", "<https://example.com|R&amp;D page> &amp; more"),
        ("mail <mailto:li@acme.cn|Li>", "mail <mailto:li@acme.cn|Li>"),
        (
            "<not a link> <@lowercase> <ftp://x>",
            "&lt;not a link&gt; &lt;@lowercase&gt; &lt;ftp://x&gt;",
        ),
        ("大家好 <客户>", "大家好 &lt;客户&gt;"),
        ("", ""),
    ],
)
def test_slack_escape_typed(typed: str, wire: str) -> None:
    assert slack_escape_typed(typed) == wire
    assert slack_unescape(wire) == typed


def _fields(body: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}


async def test_the_driver_escapes_typed_text_by_default(bot: StandIn, driver: SlackDriver) -> None:
    await driver.slash_command(
        "start Procter & Gamble <China> Ltd", user_id=CUSTOMER, channel_id=CHANNEL
    )
    assert (
        _fields(await bot.received.get())["text"] == "start Procter &amp; Gamble &lt;China&gt; Ltd"
    )
    await driver.slash_command("start a&amp;b", user_id=CUSTOMER, channel_id=CHANNEL, escape=False)
    assert _fields(await bot.received.get())["text"] == "start a&amp;b"

    typed = "<@U0EXTERNAL1> R&D <team> see <https://acme.example/x?a=1&b=2|docs>"
    await driver.message(typed, user_id=CUSTOMER, channel_id=CHANNEL)
    event = json.loads(await bot.received.get())["event"]
    assert event["text"] == (
        "<@U0EXTERNAL1> R&amp;D &lt;team&gt; see <https://acme.example/x?a=1&amp;b=2|docs>"
    )
    assert event["blocks"][0]["elements"][0]["elements"] == [
        {"type": "user", "user_id": "U0EXTERNAL1"},
        {"type": "text", "text": " R&D <team> see "},
        {"type": "link", "url": "https://acme.example/x?a=1&b=2", "text": "docs"},
    ]

    await driver.app_mention("onboard Procter & Gamble", user_id=CUSTOMER, channel_id=CHANNEL)
    event = json.loads(await bot.received.get())["event"]
    assert event["text"] == f"<@{driver.bot_user_id}> onboard Procter &amp; Gamble"
    assert event["blocks"][0]["elements"][0]["elements"] == [
        {"type": "user", "user_id": driver.bot_user_id},
        {"type": "text", "text": " onboard Procter & Gamble"},
    ]

    await driver.message("x &lt;y&gt;", user_id=CUSTOMER, channel_id=CHANNEL, escape=False)
    event = json.loads(await bot.received.get())["event"]
    assert event["text"] == "x &lt;y&gt;"
    assert event["blocks"][0]["elements"][0]["elements"] == [{"type": "text", "text": "x <y>"}]


async def test_an_image_of_a_file_the_workspace_does_not_have_is_refused(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    home = {
        "type": "home",
        "blocks": [{"type": "image", "alt_text": "chart", "slack_file": {"id": "F0NOSUCHFILE"}}],
    }
    fake.allow_refusals = True  # refused on purpose
    with pytest.raises(SlackApiError) as refused:
        await client.views_publish(user_id="U0PERSON01", view=home)
    assert refused.value.response["error"] == "invalid_arguments"
    assert "invalid slack file" in refused.value.response["response_metadata"]["messages"][0]
    uploaded = fake.add_file(b"\x89PNG\r\n\x1a\n", "chart.png", uploader=fake.bot_user_id)
    csv = fake.add_file(b"a,b\n", "export.csv", uploader=fake.bot_user_id)
    for wrong in (
        {"id": csv["id"]},  # only PNG, JPEG and GIF files are shown
        {"id": uploaded["id"], "url": uploaded["url_private"]},  # one of the two, not both
        {},
    ):
        home["blocks"][0]["slack_file"] = wrong
        with pytest.raises(SlackApiError) as refused:
            await client.views_publish(user_id="U0PERSON01", view=home)
        assert refused.value.response["error"] == "invalid_arguments", wrong
    home["blocks"][0]["slack_file"] = {"id": uploaded["id"]}
    home["blocks"][0]["image_url"] = "https://example.com/chart.png"
    with pytest.raises(SlackApiError):
        await client.views_publish(user_id="U0PERSON01", view=home)
    del home["blocks"][0]["image_url"]
    await client.views_publish(user_id="U0PERSON01", view=home)
    home["blocks"][0]["slack_file"] = {"url": uploaded["permalink"]}
    await client.views_publish(user_id="U0PERSON01", view=home)
