"""Hostile input, black-box: every case is sent over HTTP to the served app, signed as Slack
signs (or forged), and must get the status it deserves (401 forged, 413 too big, 400 not a
Slack payload, 200 polite refusal or ignored), never a 5xx. After each case the state is what
it was: every Redis key under the test's prefix has the same value, and Slack was asked to
change nothing but to tell the sender (an ephemeral reply, or a reply in a file's thread).
The process keeps serving throughout: `/healthz` after every case, and a real request at the end.

One app serves the whole corpus (a module-scoped event loop), with two onboardings in it: Acme
(the customer's, collecting documents) and Globex (another tenant, in another channel). The
app is built as `HttpService` builds it, without the periodic sweeps; after each case the work
a request left to the background is waited for (`runner.settle()`), so "nothing changed" is
checked after it, not raced against it.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from redis.asyncio import Redis

from bot.app import create_app
from bot.ids import ActionId, CallbackId
from bot.server import build_web_app
from bot.services import Services
from bot.state.keys import Keys
from tests.clock import MovableClock
from tests.conftest import REDIS_URL
from tests.documents import samples
from tests.e2e.conftest import (
    CHANNEL,
    CUSTOMER_EN,
    MANAGER,
    OPS_CHANNEL,
    SE,
    SIGNING_SECRET,
    delete_under,
    make_settings,
)
from tests.e2e.journey import PDF, Journey
from tests.fakeslack.driver import Reply, SlackDriver, file_stub, static_select, text_input
from tests.fakeslack.server import FakeSlack
from tests.fakeslack.state import Message

pytestmark = pytest.mark.asyncio(loop_scope="module")

JSON = dict[str, Any]

OTHER_CHANNEL = "C0GLOBEXCC1"
OTHER_CUSTOMER = "U0GLOBEX001"  # Globex's customer: not in Acme's channel
FOREIGN_USER = "U0FOREIGN01"  # of another Slack team, unknown to this workspace
FOREIGN_TEAM = "T0OTHERTEAM"
FOREIGN_APP = "A0OTHERAPP1"
MAX_UPLOAD = 256 * 1024

# Web API methods that read; anything else a case makes Slack do is a change.
READS = frozenset(
    {
        "auth.test",
        "users.info",
        "conversations.info",
        "conversations.members",
        "users.conversations",
        "files.info",
        "chat.getPermalink",
    }
)
EPHEMERAL = frozenset({"chat.postEphemeral", "response_url"})
THREAD = frozenset({"chat.postMessage"})


@dataclass
class World:
    fake: FakeSlack
    keys: Keys
    services: Services
    slack: SlackDriver
    port: int
    acme: str
    globex: str
    prompt: Message  # Acme's current prompt (collecting documents)
    other_prompt: Message  # Globex's current prompt (account)
    seen: list[int] = field(default_factory=list)  # every status answered

    async def snapshot(self) -> dict[bytes, bytes | None]:
        """Every key under the prefix and its value, less the event inbox (a delivery's id is
        remembered whatever it carried; that is how a replay is dropped)."""
        dedupe = self.keys.inbox_event("").encode()
        client = Redis.from_url(REDIS_URL)
        try:
            found = [k async for k in client.scan_iter(match=self.keys.everything_pattern())]
            wanted = sorted(k for k in found if not k.startswith(dedupe))
            return {k: await client.dump(k) for k in wanted}
        finally:
            await client.aclose()

    async def healthz(self) -> int:
        url = f"http://127.0.0.1:{self.port}/healthz"
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            return resp.status


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def world() -> AsyncIterator[World]:
    keys = Keys(prefix=f"e2e-hostile-{time.monotonic_ns() % 10**9}")
    async with FakeSlack() as fake:
        fake.add_user(CUSTOMER_EN, "sam", real_name="Sam Lee", locale="en-US")
        fake.add_user(OTHER_CUSTOMER, "gus", real_name="Gus Globex", locale="en-US")
        fake.add_user(SE, "se.zhang", real_name="Zhang SE", locale="en-US")
        fake.add_user(MANAGER, "mgr.wang", real_name="Wang Manager", locale="zh-CN")
        fake.add_channel(CHANNEL, "acme-ccc", members=[fake.bot_user_id, CUSTOMER_EN, SE])
        fake.add_channel(OTHER_CHANNEL, "globex", members=[fake.bot_user_id, OTHER_CUSTOMER, SE])
        fake.add_channel(OPS_CHANNEL, "onboarding-ops", members=[fake.bot_user_id, SE, MANAGER])
        settings = make_settings(fake, slack_app_id=fake.api_app_id, max_upload_bytes=MAX_UPLOAD)
        services = await Services.start(settings, keys=keys, clock=MovableClock())
        runner = web.AppRunner(build_web_app(services, create_app(services)))
        await runner.setup()
        site = web.TCPSite(runner, host="127.0.0.1", port=0)
        await site.start()
        port = int(runner.addresses[0][1])
        try:
            async with SlackDriver(
                f"http://127.0.0.1:{port}",
                SIGNING_SECRET,
                team_id=fake.team_id,
                api_app_id=fake.api_app_id,
                bot_user_id=fake.bot_user_id,
                hooks_url=fake.hooks_url,
            ) as slack:
                acme = Journey(slack, fake, CHANNEL, CUSTOMER_EN, SE, OPS_CHANNEL)
                await acme.start("Acme Ltd")
                await acme.through_instance()
                prompt = await acme.choose_role("agent")
                globex = Journey(slack, fake, OTHER_CHANNEL, OTHER_CUSTOMER, SE, OPS_CHANNEL)
                await globex.start("Globex Ltd")
                other_prompt = await globex.wait_prompt("account")
                await services.runner.settle()
                assert acme.tenant and globex.tenant
                yield World(
                    fake,
                    keys,
                    services,
                    slack,
                    port,
                    acme.tenant,
                    globex.tenant,
                    prompt,
                    other_prompt,
                )
                # The corpus is over: the app still answers a real request.
                reply = await slack.slash_command("status", user_id=CUSTOMER_EN, channel_id=CHANNEL)
                assert reply.status == 200 and "Acme" in reply.text
        finally:
            await runner.cleanup()
            await services.aclose()
            await delete_under(keys)


# ---------------------------------------------------------------------- cases

Send = Callable[[World], Awaitable[Reply]]


@dataclass(frozen=True)
class Case:
    id: str
    send: Send
    status: int | tuple[int, ...]
    # What Slack may be asked to do: tell the sender (EPHEMERAL), reply in a file's thread.
    replies: frozenset[str] = frozenset()
    told: bool = False  # the sender must have been told something (a reply above, or inline)

    @property
    def statuses(self) -> tuple[int, ...]:
        return self.status if isinstance(self.status, tuple) else (self.status,)


CASES: list[Case] = []


def case(
    id: str,
    status: int | tuple[int, ...],
    *,
    replies: frozenset[str] = frozenset(),
    told: bool = False,
) -> Callable[[Send], Send]:
    def register(send: Send) -> Send:
        CASES.append(Case(id, send, status, replies, told))
        return send

    return register


def add(
    id: str,
    send: Send,
    status: int | tuple[int, ...],
    *,
    replies: frozenset[str] = frozenset(),
    told: bool = False,
) -> None:
    CASES.append(Case(id, send, status, replies, told))


# -- building blocks ----------------------------------------------------------------------


def dm_event(w: World, **fields: Any) -> JSON:
    """A direct-message question: answered when processed (so processing it would show)."""
    event = w.slack.build_message(
        "what is next?", user_id=CUSTOMER_EN, channel_id="D0CUSTEN001", channel_type="im"
    )
    event.update(fields)
    return w.slack.build_event(event)


def channel_event(w: World, **fields: Any) -> JSON:
    event = w.slack.build_message("hello team", user_id=CUSTOMER_EN, channel_id=CHANNEL)
    event.update(fields)
    return w.slack.build_event(event)


def status_command(w: World, text: str = "status", **fields: str) -> dict[str, str]:
    form = w.slack.build_slash_command(text, user_id=CUSTOMER_EN, channel_id=CHANNEL)
    form.update(fields)
    return form


def start_command(w: World) -> dict[str, str]:
    """An SE starting an onboarding in a fresh channel: a change, were it processed."""
    return w.slack.build_slash_command("start Evil Corp", user_id=SE, channel_id="C0FRESHCHN1")


def prompt_click(w: World, value: str | None, action_id: str = ActionId.STEP_EVENT) -> JSON:
    return w.slack.build_block_action(
        action_id,
        value,
        user_id=CUSTOMER_EN,
        channel_id=CHANNEL,
        message_ts=w.prompt.ts,
        message=w.fake.message_json(w.prompt),
    )


def role_value(w: World, tenant: str | None = None, stage: str = "qualification.collecting") -> str:
    args = {"t": tenant or w.acme, "s": stage, "e": "choose_role", "a": {"role": "legal_rep"}}
    return json.dumps(args, separators=(",", ":"))


def submission(
    w: World,
    metadata: str | None = None,
    values: JSON | None = None,
    callback: str = CallbackId.ACCOUNT,
    user: str = CUSTOMER_EN,
) -> JSON:
    meta = metadata
    if meta is None:
        meta = json.dumps({"t": w.acme, "s": "account", "c": CHANNEL}, separators=(",", ":"))
    return w.slack.build_view_submission(
        callback,
        values if values is not None else {"uin": {"value": "100012345678"}},
        user_id=user,
        private_metadata=meta,
    )


def interaction_form(body: JSON | str) -> bytes:
    raw = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    return urlencode({"payload": raw}).encode()


async def send_interaction(w: World, body: JSON | str, **opts: Any) -> Reply:
    return await w.slack.send_raw(
        interaction_form(body), "application/x-www-form-urlencoded", **opts
    )


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


FORM = "application/x-www-form-urlencoded"
APP_JSON = "application/json"


# -- 1. forged, replayed and stale signatures (401) ----------------------------------------

BUILDERS: dict[str, Callable[[World], tuple[bytes, str]]] = {
    "event": lambda w: (json.dumps(dm_event(w)).encode(), APP_JSON),
    "command": lambda w: (urlencode(start_command(w)).encode(), FORM),
    "click": lambda w: (interaction_form(prompt_click(w, role_value(w))), FORM),
    "submission": lambda w: (interaction_form(submission(w)), FORM),
}

for kind, build in BUILDERS.items():

    def forged(b: Callable[[World], tuple[bytes, str]] = build) -> Send:
        async def send(w: World) -> Reply:
            body, ctype = b(w)
            return await w.slack.send_raw(body, ctype, bad_signature=True)

        return send

    add(f"forged-{kind}", forged(), 401)

    for label, offset in [
        ("6min-old", -360),
        ("1h-old", -3600),
        ("1day-old", -86400),
        ("6min-ahead", 360),
        ("epoch", None),
    ]:

        def stale(b: Callable[[World], tuple[bytes, str]] = build, o: int | None = offset) -> Send:
            async def send(w: World) -> Reply:
                body, ctype = b(w)
                return await w.slack.send_raw(
                    body, ctype, timestamp=0 if o is None else int(time.time()) + o
                )

            return send

        add(f"stale-{kind}-{label}", stale(), 401)

    for label, signature in [
        ("missing", ""),
        ("v1-scheme", "v1=" + "0" * 64),
        ("empty-digest", "v0="),
        ("short-digest", "v0=abc123"),
        ("not-hex", "v0=" + "z" * 64),
    ]:

        def bad_header(b: Callable[[World], tuple[bytes, str]] = build, s: str = signature) -> Send:
            async def send(w: World) -> Reply:
                body, ctype = b(w)
                return await w.slack.send_raw(body, ctype, extra_headers={"X-Slack-Signature": s})

            return send

        add(f"signature-{label}-{kind}", bad_header(), 401)

    for label, stamp in [("not-a-number", "soon"), ("empty", ""), ("float", "1.5e9")]:

        def odd_stamp(b: Callable[[World], tuple[bytes, str]] = build, t: str = stamp) -> Send:
            async def send(w: World) -> Reply:
                body, ctype = b(w)
                return await w.slack.send_raw(body, ctype, timestamp=t)

            return send

        add(f"timestamp-{label}-{kind}", odd_stamp(), 401)


@case("signature-of-another-body", 401)
async def _another_body(w: World) -> Reply:
    harmless = json.dumps(channel_event(w)).encode()
    stamp = str(int(time.time()))
    signature = w.slack.sign(harmless, stamp)
    body = json.dumps(dm_event(w)).encode()
    return await w.slack.send_raw(
        body, APP_JSON, timestamp=stamp, extra_headers={"X-Slack-Signature": signature}
    )


@case("replayed-event-is-dropped", 200)
async def _replayed_event(w: World) -> Reply:
    first = await w.slack.event(channel_event(w)["event"])  # chatter: no effect of its own
    assert first.status == 200
    return await w.slack.resend(first, retry_num=1, retry_reason="http_timeout")


@case("replayed-bytes-with-old-signature", 401)
async def _replayed_old(w: World) -> Reply:
    body = json.dumps(dm_event(w)).encode()
    return await w.slack.send_raw(body, APP_JSON, timestamp=int(time.time()) - 600)


# -- 2. bodies that are not Slack payloads (400, 413) ---------------------------------------

for label, raw in [
    ("empty", b""),
    ("truncated", b'{"type":"event_callback","event":{'),
    ("array", b"[]"),
    ("null", b"null"),
    ("number", b"42"),
    ("string", b'"event_callback"'),
    ("single-quotes", b"{'type': 'event_callback'}"),
    ("trailing-garbage", b'{"type":"url_verification","challenge":"x"} trailing'),
    ("nan", b'{"type":"url_verification","challenge":NaN}'),
    ("raw-nul", b'{"type":"url_verification","challenge":"a\x00b"}'),
    ("invalid-utf8", b'{"type":"url_verification","challenge":"\xff\xfe"}'),
    ("overlong-utf8", b'{"type":"url_verification","challenge":"\xc0\x80"}'),
    ("surrogate-utf8", b'{"type":"url_verification","challenge":"\xed\xa0\x80"}'),
    ("truncated-utf8", b'{"type":"url_verification","challenge":"\xe4\xb8"}'),
    ("escaped-lone-surrogate", b'{"type":"url_verification","challenge":"\\ud800"}'),
    ("escaped-nul", b'{"type":"url_verification","challenge":"\\u0000"}'),
    ("bom", b'\xef\xbb\xbf{"type":"url_verification","challenge":"x"}'),
]:

    def raw_json(r: bytes = raw) -> Send:
        async def send(w: World) -> Reply:
            return await w.slack.send_raw(r, APP_JSON)

        return send

    add(f"json-{label}", raw_json(), 400)

for depth in (65, 100, 1000, 5000, 20000, 100000):

    def deep_json(d: int = depth) -> Send:
        async def send(w: World) -> Reply:
            body = '{"type":"event_callback","event":{"type":"message","x":' + nested(d) + "}}"
            return await w.slack.send_raw(body.encode(), APP_JSON)

        return send

    def deep_payload(d: int = depth) -> Send:
        async def send(w: World) -> Reply:
            return await send_interaction(w, '{"type":"block_actions","x":' + nested(d) + "}")

        return send

    add(f"deep-json-{depth}", deep_json(), 400)
    add(f"deep-payload-{depth}", deep_payload(), 400)


@case("deep-objects-in-a-real-event", 400)
async def _deep_objects(w: World) -> Reply:
    envelope = dm_event(w)
    node: JSON = {}
    for _ in range(200):
        node = {"elements": [node]}
    envelope["event"]["blocks"] = [node]
    return await w.slack.send_json(envelope)


@case("deep-brackets-inside-strings-are-text", 200)
async def _brackets_in_strings(w: World) -> Reply:
    return await w.slack.send_json(channel_event(w, text="[" * 5000 + "{" * 5000))


@case("oversize-json-body", 413)
async def _oversize_json(w: World) -> Reply:
    return await w.slack.send_json(channel_event(w, text="x" * (1024 * 1024 + 10)))


@case("oversize-form-body", 413)
async def _oversize_form(w: World) -> Reply:
    return await w.slack.send_form(status_command(w, text="x" * (1024 * 1024 + 10)))


@case("oversize-string-in-event", 400)
async def _long_string(w: World) -> Reply:
    return await w.slack.send_json(dm_event(w, text="问" * 100_000))


for label, ctype, raw in [
    ("text-plain", "text/plain", b"command=/onboard&text=status"),
    ("xml", "application/xml", b"<payload/>"),
    ("multipart", "multipart/form-data; boundary=x", b"--x--"),
    ("no-content-type", "", b"{}"),
    ("form-without-command", FORM, b"foo=bar"),
    ("empty-form", FORM, b""),
    ("form-invalid-utf8", FORM, b"command=/onboard&text=\xff\xfe"),
    ("payload-not-json", FORM, b"payload=%7Bnope"),
    ("payload-empty", FORM, b"payload="),
    ("payload-array", FORM, b"payload=%5B%5D"),
    (
        "payload-escaped-nul",
        FORM,
        urlencode({"payload": '{"type":"block_actions","a":"\\u0000"}'}).encode(),
    ),
]:

    def other_body(c: str = ctype, r: bytes = raw) -> Send:
        async def send(w: World) -> Reply:
            return await w.slack.send_raw(r, c)

        return send

    add(f"body-{label}", other_body(), 400)


# -- 3. unknown payload types, missing fields, fields of the wrong type (400) --------------

for label, kind in [
    ("unknown", "evil"),
    ("empty", ""),
    ("number", 7),
    ("null", None),
    ("list", ["event_callback"]),
    ("missing", ...),
]:

    def event_type(k: Any = kind) -> Send:
        async def send(w: World) -> Reply:
            envelope = dm_event(w)
            if k is ...:
                del envelope["type"]
            else:
                envelope["type"] = k
            return await w.slack.send_json(envelope)

        return send

    def interaction_type(k: Any = kind) -> Send:
        async def send(w: World) -> Reply:
            body = prompt_click(w, role_value(w))
            if k is ...:
                del body["type"]
            else:
                body["type"] = k
            return await send_interaction(w, body)

        return send

    add(f"envelope-type-{label}", event_type(), 400)
    add(f"interaction-type-{label}", interaction_type(), 400)

for kind in ("dialog_submission", "interactive_message", "workflow_step_edit"):

    def old_interaction(k: str = kind) -> Send:
        async def send(w: World) -> Reply:
            body = prompt_click(w, role_value(w))
            body["type"] = k
            return await send_interaction(w, body)

        return send

    add(f"interaction-type-{kind}", old_interaction(), 400)


@case("event-callback-without-event", 400)
async def _no_event(w: World) -> Reply:
    envelope = dm_event(w)
    del envelope["event"]
    return await w.slack.send_json(envelope)


@case("event-is-a-string", 400)
async def _event_string(w: World) -> Reply:
    return await w.slack.send_json({**dm_event(w), "event": "message"})


@case("event-without-type", 400)
async def _event_untyped(w: World) -> Reply:
    envelope = dm_event(w)
    del envelope["event"]["type"]
    return await w.slack.send_json(envelope)


@case("event-id-is-a-number", 400)
async def _event_id_number(w: World) -> Reply:
    return await w.slack.send_json({**dm_event(w), "event_id": 7})


@case("url-verification-without-challenge", 400)
async def _no_challenge(w: World) -> Reply:
    return await w.slack.send_json({"type": "url_verification", "token": "x"})


@case("url-verification-challenge-number", 400)
async def _challenge_number(w: World) -> Reply:
    return await w.slack.send_json({"type": "url_verification", "challenge": 7})


@case("unknown-event-type-is-ignored", 200)
async def _unknown_event(w: World) -> Reply:
    return await w.slack.event({"type": "reaction_added", "user": CUSTOMER_EN, "reaction": "x"})


@case("unknown-event-with-odd-fields-is-ignored", 200)
async def _odd_unknown_event(w: World) -> Reply:
    return await w.slack.event({"type": "user_change", "user": {"id": CUSTOMER_EN}})


BAD_VALUES: dict[str, Any] = {
    "int": 7,
    "list": ["U0CUSTEN001"],
    "object": {"id": "U0CUSTEN001"},
    "bool": True,
    "float": 1.5,
}

for event_name in ("message", "app_mention"):
    for field_name in ("user", "text", "channel", "ts", "thread_ts", "channel_type", "subtype"):
        for label, bad in BAD_VALUES.items():
            if event_name == "app_mention" and field_name in ("channel_type", "subtype"):
                continue

            def wrong_field(e: str = event_name, f: str = field_name, v: Any = bad) -> Send:
                async def send(w: World) -> Reply:
                    envelope = dm_event(w, **{f: v})
                    envelope["event"]["type"] = e
                    return await w.slack.send_json(envelope)

                return send

            add(f"{event_name}-{field_name}-{label}", wrong_field(), 400)

for label, files in [
    ("string", "oops"),
    ("object", {"id": "F1"}),
    ("list-of-numbers", [7]),
    ("list-of-strings", ["F0ROSTER001"]),
    ("id-number", [{"id": 7}]),
    ("name-list", [{"id": "F1", "name": ["a.pdf"]}]),
    ("size-text", [{"id": "F1", "size": "big"}]),
    ("url-object", [{"id": "F1", "url_private": {"href": "x"}}]),
]:

    def wrong_files(f: Any = files) -> Send:
        async def send(w: World) -> Reply:
            return await w.slack.send_json(channel_event(w, subtype="file_share", files=f))

        return send

    add(f"message-files-{label}", wrong_files(), 400)

for field_name, bad in [("user", 7), ("tab", ["home"]), ("view", "V1"), ("channel", {"id": "D1"})]:

    def wrong_home(f: str = field_name, v: Any = bad) -> Send:
        async def send(w: World) -> Reply:
            event = {"type": "app_home_opened", "user": CUSTOMER_EN, "tab": "home", f: v}
            return await w.slack.event(event)

        return send

    add(f"app-home-opened-{field_name}-wrong-type", wrong_home(), 400)

for field_name, bad in [("file_id", 7), ("user_id", ["U1"]), ("channel_id", 1.5), ("file", "F1")]:

    def wrong_shared(f: str = field_name, v: Any = bad) -> Send:
        async def send(w: World) -> Reply:
            event = {
                "type": "file_shared",
                "file_id": "F1",
                "user_id": CUSTOMER_EN,
                "channel_id": CHANNEL,
                "file": {"id": "F1"},
                f: v,
            }
            return await w.slack.event(event)

        return send

    add(f"file-shared-{field_name}-wrong-type", wrong_shared(), 400)

for label, actions in [
    ("empty", []),
    ("string", "oops"),
    ("object", {"action_id": "step.event"}),
    ("null", None),
    ("missing", ...),
    ("list-of-numbers", [7]),
    ("list-of-strings", ["step.event"]),
    ("no-action-id", [{"value": "x"}]),
    ("action-id-number", [{"action_id": 7}]),
    ("action-id-empty", [{"action_id": ""}]),
    ("value-number", [{"action_id": "step.event", "value": 7}]),
    ("value-object", [{"action_id": "step.event", "value": {"t": "x"}}]),
    ("selected-option-string", [{"action_id": "upload.pick", "selected_option": "x"}]),
    (
        "selected-option-value-number",
        [{"action_id": "upload.pick", "selected_option": {"value": 7}}],
    ),
]:

    def wrong_actions(a: Any = actions) -> Send:
        async def send(w: World) -> Reply:
            body = prompt_click(w, role_value(w))
            if a is ...:
                del body["actions"]
            else:
                body["actions"] = a
            return await send_interaction(w, body)

        return send

    add(f"block-actions-actions-{label}", wrong_actions(), 400)

for label, mutate in [
    ("user-missing", lambda b: b.pop("user")),
    ("user-string", lambda b: b.update(user=CUSTOMER_EN)),
    ("user-id-number", lambda b: b.update(user={"id": 7})),
    ("user-empty", lambda b: b.update(user={})),
    ("channel-string", lambda b: b.update(channel=CHANNEL)),
    ("container-string", lambda b: b.update(container="message")),
    ("container-ephemeral-text", lambda b: b["container"].update(is_ephemeral="yes")),
    ("message-string", lambda b: b.update(message="hi")),
    ("message-ts-number", lambda b: b["message"].update(ts=1.5)),
    ("team-string", lambda b: b.update(team=FOREIGN_TEAM)),
    ("response-url-number", lambda b: b.update(response_url=7)),
    ("view-string", lambda b: b.update(view="V1")),
]:

    def wrong_click(m: Callable[[JSON], Any] = mutate) -> Send:
        async def send(w: World) -> Reply:
            body = prompt_click(w, role_value(w))
            m(body)
            return await send_interaction(w, body)

        return send

    add(f"block-actions-{label}", wrong_click(), 400)

for label, mutate in [
    ("view-missing", lambda b: b.pop("view")),
    ("view-string", lambda b: b.update(view="V1")),
    ("callback-missing", lambda b: b["view"].pop("callback_id")),
    ("callback-number", lambda b: b["view"].update(callback_id=7)),
    ("metadata-number", lambda b: b["view"].update(private_metadata=7)),
    ("metadata-object", lambda b: b["view"].update(private_metadata={"t": "x"})),
    ("state-missing", lambda b: b["view"].pop("state")),
    ("state-string", lambda b: b["view"].update(state="x")),
    ("values-list", lambda b: b["view"]["state"].update(values=[])),
    ("block-string", lambda b: b["view"]["state"].update(values={"uin": "x"})),
    ("element-string", lambda b: b["view"]["state"].update(values={"uin": {"value": "x"}})),
    ("value-number", lambda b: b["view"]["state"]["values"]["uin"]["value"].update(value=7)),
    (
        "options-string",
        lambda b: b["view"]["state"]["values"]["uin"]["value"].update(selected_options="x"),
    ),
    (
        "option-value-list",
        lambda b: b["view"]["state"]["values"]["uin"]["value"].update(
            selected_option={"value": ["a"]}
        ),
    ),
    ("user-missing", lambda b: b.pop("user")),
]:

    def wrong_view(m: Callable[[JSON], Any] = mutate) -> Send:
        async def send(w: World) -> Reply:
            body = submission(w)
            m(body)
            return await send_interaction(w, body)

        return send

    add(f"view-submission-{label}", wrong_view(), 400)

for label, mutate in [
    ("user-id-missing", lambda f: f.pop("user_id")),
    ("user-id-empty", lambda f: f.update(user_id="")),
    ("channel-id-missing", lambda f: f.pop("channel_id")),
    ("team-id-missing", lambda f: f.pop("team_id")),
    ("command-no-slash", lambda f: f.update(command="onboard")),
    ("command-slash-only", lambda f: f.update(command="/")),
    ("command-with-space", lambda f: f.update(command="/on board")),
    ("command-nul", lambda f: f.update(command="/onboard\x00")),
    ("user-id-control", lambda f: f.update(user_id="U0CUSTEN001\x1b")),
    ("text-100kb", lambda f: f.update(text="x" * 100_000)),
]:

    def wrong_command(m: Callable[[dict[str, str]], Any] = mutate) -> Send:
        async def send(w: World) -> Reply:
            fields = start_command(w)
            m(fields)
            return await w.slack.send_form(fields)

        return send

    add(f"command-{label}", wrong_command(), 400)


# -- 4. NUL, control characters and long text in commands and forms -------------------------

TEXTS: dict[str, str] = {
    "nul": "\x00",
    "escape-sequence": "\x1b[31mred\x1b[0m",
    "bidi-override": "\u202egnp.exe",
    "zero-width": "\u200b\u200c\ufeff",
    "line-breaks": "a\r\nb\u2028c",
    "long-39k": "长" * 39_000,
    "long-100kb": "x" * 100_000,
}
for sub in ("", "status ", "start ", "lang ", "move ", "help ", "nudge "):
    for label, text in TEXTS.items():

        def command_text(s: str = sub, t: str = text) -> Send:
            async def send(w: World) -> Reply:
                return await w.slack.send_form(status_command(w, s + t))

            return send

        too_long = len(text) > 40_000
        add(
            f"command-{sub.strip() or 'bare'}-{label}",
            command_text(),
            400 if too_long else 200,
            told=not too_long,
        )

for label, text in TEXTS.items():
    has_control = any(ord(c) < 32 and c not in "\t\r\n" for c in text)
    too_long = len(text) > 40_000

    def form_text(t: str = text) -> Send:
        async def send(w: World) -> Reply:
            return await send_interaction(
                w, submission(w, values={"uin": {"value": text_input(t)}})
            )

        return send

    add(f"form-value-{label}", form_text(), 400 if has_control or too_long else 200, told=True)

    def metadata_text(t: str = text) -> Send:
        async def send(w: World) -> Reply:
            return await send_interaction(w, submission(w, metadata=t))

        return send

    add(
        f"form-metadata-{label}",
        metadata_text(),
        400 if has_control or too_long else 200,
        told=not (has_control or too_long),
    )


# -- 5. button values and private_metadata naming another tenant, or not JSON ---------------

BUTTON_VALUES: dict[str, Callable[[World], str]] = {
    "other-tenant": lambda w: role_value(w, w.globex, "account"),
    "other-tenant-current-stage": lambda w: role_value(w, w.globex),
    "unknown-tenant": lambda w: role_value(w, "t-doesnotexist"),
    "tenant-pattern": lambda w: role_value(w, "*"),
    "tenant-path": lambda w: role_value(w, "../../etc"),
    "tenant-key-syntax": lambda w: role_value(w, "}:record:{x"),
    "stale-stage": lambda w: role_value(w, stage="account"),
    "not-json": lambda w: "oops",
    "truncated-json": lambda w: role_value(w)[:-3],
    "json-array": lambda w: "[]",
    "json-null": lambda w: "null",
    "empty": lambda w: "",
    "extra-field": lambda w: role_value(w)[:-1] + ',"admin":true}',
    "event-unknown": lambda w: json.dumps(
        {"t": w.acme, "s": "qualification.collecting", "e": "approve_everything"}
    ),
    "args-not-strings": lambda w: json.dumps(
        {"t": w.acme, "s": "qualification.collecting", "e": "choose_role", "a": {"role": 7}}
    ),
    "long-tenant": lambda w: role_value(w, "t" * 2000),
}
for label, value in BUTTON_VALUES.items():
    for action in (ActionId.STEP_EVENT, ActionId.OPEN_FORM):

        def click(v: Callable[[World], str] = value, a: str = action) -> Send:
            async def send(w: World) -> Reply:
                return await send_interaction(w, prompt_click(w, v(w), a))

            return send

        add(f"button-{action.value}-{label}", click(), 200, replies=EPHEMERAL, told=True)

for label, value in [
    ("other-tenant", lambda w: f"{w.globex}|F0NOPE00001|business_license"),
    ("not-a-kind", lambda w: f"{w.acme}|F0NOPE00001|passport_of_the_ceo"),
    ("no-separators", lambda w: "oops"),
    ("empty", lambda w: ""),
]:

    def pick(v: Callable[[World], str] = value) -> Send:
        async def send(w: World) -> Reply:
            body = prompt_click(w, None, ActionId.PICK_DOCUMENT)
            body["actions"] = [
                {
                    "action_id": ActionId.PICK_DOCUMENT,
                    "block_id": "b",
                    "type": "static_select",
                    "selected_option": static_select(v(w))["selected_option"],
                }
            ]
            return await send_interaction(w, body)

        return send

    add(f"pick-document-{label}", pick(), 200, replies=EPHEMERAL, told=True)

for action in (
    ActionId.APPROVE_DOCUMENT,
    ActionId.REJECT_DOCUMENT,
    ActionId.NUDGE,
    ActionId.SNOOZE,
    ActionId.ADVANCE_SIP_STAGE,
):

    def staff_button(a: str = action) -> Send:
        async def send(w: World) -> Reply:
            return await send_interaction(w, prompt_click(w, f"{w.acme}|x", a))

        return send

    add(f"staff-button-{action.value}-by-customer", staff_button(), 200, replies=EPHEMERAL)

METADATA: dict[str, Callable[[World], str]] = {
    "other-tenant": lambda w: json.dumps({"t": w.globex, "s": "account", "c": OTHER_CHANNEL}),
    "other-tenant-our-channel": lambda w: json.dumps({"t": w.globex, "s": "account", "c": CHANNEL}),
    "unknown-tenant": lambda w: json.dumps({"t": "t-nobody", "s": "account", "c": CHANNEL}),
    "not-json": lambda w: "oops",
    "empty": lambda w: "",
    "json-array": lambda w: "[1,2]",
    "missing-tenant": lambda w: json.dumps({"s": "account", "c": CHANNEL}),
    "tenant-number": lambda w: json.dumps({"t": 7, "s": "account", "c": CHANNEL}),
    "extra-field": lambda w: json.dumps({"t": w.acme, "s": "account", "c": CHANNEL, "role": "se"}),
}
for label, meta in METADATA.items():
    for callback in (CallbackId.ACCOUNT, CallbackId.INSTANCE, CallbackId.SIP_TRUNK):

        def metadata(m: Callable[[World], str] = meta, c: str = callback) -> Send:
            async def send(w: World) -> Reply:
                return await send_interaction(w, submission(w, metadata=m(w), callback=c))

            return send

        add(f"form-{callback.value}-metadata-{label}", metadata(), 200, told=True)

for callback in (CallbackId.REJECT_DOCUMENT, CallbackId.SIP_NUMBER_ASSIGNED):

    def se_form_by_customer(c: str = callback) -> Send:
        async def send(w: World) -> Reply:
            meta = json.dumps({"t": w.acme, "s": "qualification.review", "c": CHANNEL})
            return await send_interaction(w, submission(w, metadata=meta, callback=c))

        return send

    add(f"se-form-{callback.value}-by-customer", se_form_by_customer(), 200, replies=EPHEMERAL)


@case("sip-form-port-of-unicode-digits", 200, told=True)
async def _unicode_port(w: World) -> Reply:
    values = {
        "carrier": {"value": text_input("China Telecom")},
        "sip_numbers": {"value": text_input("+86 20 8888 6666")},
        "signalling": {"value": text_input("203.0.113.10:²")},
        "contact_name": {"value": text_input("Li Wei")},
        "contact_phone": {"value": text_input("+86 138 0000 0000")},
    }
    meta = json.dumps({"t": w.acme, "s": "numbers.sip_trunk", "c": CHANNEL})
    body = submission(w, metadata=meta, values=values, callback=CallbackId.SIP_TRUNK)
    return await send_interaction(w, body)


@case("unknown-callback-id", 200)
async def _unknown_callback(w: World) -> Reply:
    return await send_interaction(w, submission(w, callback="form.drop_tables"))


@case("unknown-action-id", 200, replies=EPHEMERAL)
async def _unknown_action(w: World) -> Reply:
    return await send_interaction(w, prompt_click(w, role_value(w), "admin.delete_all"))


# -- 6. user ids from another tenant or another team ----------------------------------------


@case("other-tenants-customer-clicks-our-prompt", 200, replies=EPHEMERAL, told=True)
async def _other_customer_click(w: World) -> Reply:
    body = prompt_click(w, role_value(w))
    body["user"]["id"] = OTHER_CUSTOMER
    return await send_interaction(w, body)


@case("foreign-team-user-clicks-our-prompt", 200, replies=EPHEMERAL, told=True)
async def _foreign_click(w: World) -> Reply:
    body = prompt_click(w, role_value(w))
    body["user"].update(id=FOREIGN_USER, team_id=FOREIGN_TEAM)
    return await send_interaction(w, body)


@case("other-tenants-customer-submits-our-form", 200, told=True)
async def _other_customer_form(w: World) -> Reply:
    return await send_interaction(w, submission(w, user=OTHER_CUSTOMER))


@case("foreign-team-user-submits-our-form", 200, told=True)
async def _foreign_form(w: World) -> Reply:
    return await send_interaction(w, submission(w, user=FOREIGN_USER))


@case("other-tenants-customer-asks-our-status", 200, told=True)
async def _other_status(w: World) -> Reply:
    fields = status_command(w, f"status {w.acme}", user_id=OTHER_CUSTOMER)
    return await w.slack.send_form(fields)


@case("foreign-team-user-asks-our-status", 200, told=True)
async def _foreign_status(w: World) -> Reply:
    fields = status_command(w, f"status {w.acme}", user_id=FOREIGN_USER, team_id=FOREIGN_TEAM)
    return await w.slack.send_form(fields)


@case("customer-moves-our-tenant", 200, told=True)
async def _customer_moves(w: World) -> Reply:
    return await w.slack.send_form(status_command(w, f"move {w.acme} 8 because"))


@case("customer-switches-other-tenants-language", 200, told=True)
async def _other_lang(w: World) -> Reply:
    fields = status_command(w, "lang zh", channel_id=OTHER_CHANNEL)
    return await w.slack.send_form(fields)


@case("other-tenants-customer-uploads-in-our-channel", 200)
async def _other_upload(w: World) -> Reply:
    file = w.fake.add_file(PDF + b"other", "licence.pdf", uploader=OTHER_CUSTOMER, channel=CHANNEL)
    return await w.slack.message("", user_id=OTHER_CUSTOMER, channel_id=CHANNEL, files=[file])


@case("foreign-team-user-messages-our-channel", 200)
async def _foreign_message(w: World) -> Reply:
    return await w.slack.message("what is next?", user_id=FOREIGN_USER, channel_id=CHANNEL)


# -- 7. requests addressed to another app: ignored (200, nothing done) ----------------------

for label, app_id in [
    ("other", FOREIGN_APP),
    ("missing", ...),
    ("empty", ""),
    ("ours-lower", "a0fakeapp01"),
]:

    def foreign_command(a: Any = app_id) -> Send:
        async def send(w: World) -> Reply:
            fields = start_command(w)
            if a is ...:
                del fields["api_app_id"]
            else:
                fields["api_app_id"] = a
            return await w.slack.send_form(fields)

        return send

    def foreign_event(a: Any = app_id) -> Send:
        async def send(w: World) -> Reply:
            envelope = dm_event(w)
            if a is ...:
                del envelope["api_app_id"]
            else:
                envelope["api_app_id"] = a
            return await w.slack.send_json(envelope)

        return send

    def foreign_click(a: Any = app_id) -> Send:
        async def send(w: World) -> Reply:
            body = prompt_click(w, role_value(w))
            if a is ...:
                del body["api_app_id"]
            else:
                body["api_app_id"] = a
            return await send_interaction(w, body)

        return send

    add(f"app-{label}-command", foreign_command(), 200)
    add(f"app-{label}-event", foreign_event(), 200)
    add(f"app-{label}-click", foreign_click(), 200)


# -- 8. files: wrong bytes, HTML, oversize, decompression bombs ------------------------------


def html_page() -> bytes:
    return b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Slack</body></html>"


FILES: dict[str, tuple[bytes, str, str | None]] = {
    "docx-named-pdf": (samples.docx(), "business_license.pdf", "application/pdf"),
    "legacy-doc-named-jpg": (samples.legacy_doc(), "id_card.jpg", "image/jpeg"),
    "text-named-png": (b"just text, not a scan", "license.png", "image/png"),
    "gzip-named-pdf": (samples.gzipped_pdf(), "license.pdf", "application/pdf"),
    "html-served-as-pdf": (html_page(), "business_license.pdf", "application/pdf"),
    "html-served-as-html": (html_page(), "license.pdf", "text/html"),
    "html-page-named-html": (html_page(), "license.html", "text/html"),
    "oversize-pdf": (PDF + b"0" * (MAX_UPLOAD + 1), "business_license.pdf", "application/pdf"),
    "png-bomb": (samples.png_bomb(), "business_license.png", "image/png"),
    "png-bomb-wide": (samples.png_bomb(1_000_000, 100), "id_card.png", "image/png"),
    "jpeg-bomb": (samples.jpeg_declaring(65_000, 65_000), "id_card.jpg", "image/jpeg"),
    "empty-file": (b"", "business_license.pdf", "application/pdf"),
}
for label, (content, name, mimetype) in FILES.items():

    def upload(c: bytes = content, n: str = name, m: str | None = mimetype) -> Send:
        async def send(w: World) -> Reply:
            file = w.fake.add_file(c, n, m, uploader=CUSTOMER_EN, channel=CHANNEL)
            return await w.slack.message("", user_id=CUSTOMER_EN, channel_id=CHANNEL, files=[file])

        return send

    add(f"file-{label}", upload(), 200, replies=THREAD, told=True)


@case("file-hosted-elsewhere", 200, replies=THREAD, told=True)
async def _file_elsewhere(w: World) -> Reply:
    file = w.fake.add_file(PDF + b"elsewhere", "licence.pdf", uploader=CUSTOMER_EN, channel=CHANNEL)
    file.update(
        url_private="https://evil.example/licence.pdf",
        url_private_download="https://evil.example/licence.pdf",
    )
    return await w.slack.message("", user_id=CUSTOMER_EN, channel_id=CHANNEL, files=[file])


@case("file-stub-of-a-missing-file", 200, replies=THREAD, told=True)
async def _missing_stub(w: World) -> Reply:
    stub = file_stub("F0MISSING001", user_id=CUSTOMER_EN)
    return await w.slack.message("", user_id=CUSTOMER_EN, channel_id=CHANNEL, files=[stub])


@case("file-oversize-without-a-declared-size", 200, replies=THREAD, told=True)
async def _undeclared_oversize(w: World) -> Reply:
    content = PDF + b"0" * (MAX_UPLOAD + 1)
    file = w.fake.add_file(content, "licence.pdf", uploader=CUSTOMER_EN, channel=CHANNEL)
    del file["size"]
    return await w.slack.message("", user_id=CUSTOMER_EN, channel_id=CHANNEL, files=[file])


@case("file-declared-oversize", 200, replies=THREAD, told=True)
async def _declared_oversize(w: World) -> Reply:
    file = w.fake.add_file(PDF + b"small", "licence.pdf", uploader=CUSTOMER_EN, channel=CHANNEL)
    file["size"] = 10 * 1024 * 1024 * 1024
    return await w.slack.message("", user_id=CUSTOMER_EN, channel_id=CHANNEL, files=[file])


# ---------------------------------------------------------------------- the test


async def test_the_corpus_is_large_and_covers_every_category() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "case ids are unique"
    assert len(CASES) >= 200
    for prefix in (
        "forged-",
        "stale-",
        "replayed-",
        "json-",
        "deep-",
        "oversize-",
        "body-",
        "envelope-type-",
        "interaction-type-",
        "message-user-",
        "block-actions-",
        "view-submission-",
        "command-",
        "form-value-",
        "button-",
        "form-form.",
        "other-tenants-",
        "foreign-team-",
        "app-other-",
        "file-",
    ):
        assert any(i.startswith(prefix) for i in ids), prefix


def _writes(w: World, start: int) -> list[str]:
    return [c.method for c in w.fake.calls()[start:] if c.method not in READS]


@pytest.mark.parametrize("hostile", CASES, ids=[c.id for c in CASES])
async def test_hostile_input_is_refused_and_changes_nothing(world: World, hostile: Case) -> None:
    before = await world.snapshot()
    calls = len(world.fake.calls())
    messages = len(world.fake.messages())

    reply = await hostile.send(world)
    await world.services.runner.settle()

    world.seen.append(reply.status)
    assert reply.status in hostile.statuses, reply.text[:300]
    assert await world.snapshot() == before
    writes = _writes(world, calls)
    assert set(writes) <= hostile.replies, writes
    new = world.fake.messages()[messages:]
    if hostile.replies == THREAD:
        assert all(m.thread_ts for m in new), "upload verdicts go in the file's thread"
    if hostile.told:
        assert writes or reply.text.strip(), "the sender is told why"
    world.fake.assert_no_refusals()
    assert await world.healthz() == 200


async def test_after_hostile_input_the_app_still_serves(world: World) -> None:
    assert all(status < 500 for status in world.seen)
    assert await world.healthz() == 200
    reply = await world.slack.slash_command("status", user_id=CUSTOMER_EN, channel_id=CHANNEL)
    assert reply.status == 200 and "Acme" in reply.text
