"""Plays Slack's side towards the bot: builds real-shaped requests, signs them, posts them.

Payloads start from the examples in `tests/payloads/` (one JSON file per kind) and get the ids
of the test filled in. The signature is computed over the exact bytes that go on the wire:
`v0=HMAC-SHA256(signing_secret, "v0:" + timestamp + ":" + body)`.

Two more things Slack does, done here by default:

- typed text arrives escaped: in message events, app mentions and slash commands `&`, `<`, `>`
  are sent as `&amp;`, `&lt;`, `&gt;` except in Slack's own control sequences (`<@U…>`, `<#C…>`,
  `<!here>`, `<https://…|…>` …), see `slack_escape_typed`; a message's `rich_text` block carries
  the characters as typed. Pass `escape=False` to send text already in wire form.
- the bot's HTTP answer is checked as Slack checks it: a slash command's message (`blocks`), and a
  view_submission's `response_action` (`errors` keys must be input block_ids of the submitted
  view; `update`/`push` views must be valid). A reply Slack would refuse raises AssertionError
  (`check_reply=False` to look at it anyway).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypedDict, Unpack
from urllib.parse import urlencode

import aiohttp
from multidict import CIMultiDict

from tests.fakeslack.blockkit import input_block_ids, validate_blocks, validate_view
from tests.fakeslack.state import API_APP_ID, BOT_USER_ID, JSON, TEAM_DOMAIN, TEAM_ID, TsClock

PAYLOADS_DIR = Path(__file__).resolve().parent.parent / "payloads"
VERIFICATION_TOKEN = "Jhj5dZrVaK7ZwHHjRyZWjbDl"  # the deprecated `token` field; Bolt ignores it
SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


@cache
def _template(name: str) -> JSON:
    data = json.loads((PAYLOADS_DIR / f"{name}.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def payload(name: str) -> JSON:
    """A fresh deep copy of `tests/payloads/<name>.json`."""
    return copy.deepcopy(_template(name))


class SendOptions(TypedDict, total=False):
    """Options every send accepts."""

    timestamp: int | str  # X-Slack-Request-Timestamp; default now (pass an old one for staleness)
    bad_signature: bool  # sign with the wrong secret
    retry_num: int  # adds X-Slack-Retry-Num
    retry_reason: str  # adds X-Slack-Retry-Reason (e.g. "http_timeout")
    extra_headers: Mapping[str, str]


@dataclass(frozen=True)
class Reply:
    """The bot's answer, plus what was sent to get it."""

    status: int
    headers: CIMultiDict[str]
    text: str
    body: bytes  # the exact bytes sent
    content_type: str  # the content type sent
    payload: JSON | None  # the object sent (envelope, form fields, or interactivity payload)
    event_id: str | None = None
    trigger_id: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any | None:
        """The reply body parsed as JSON, or None when it is empty or not JSON."""
        try:
            return json.loads(self.text) if self.text.strip() else None
        except ValueError:
            return None


class SlackDriver:
    """Sends events, slash commands and interactions to `POST {bot_url}/slack/events`."""

    def __init__(
        self,
        bot_url: str,
        signing_secret: str,
        *,
        team_id: str = TEAM_ID,
        api_app_id: str = API_APP_ID,
        session: aiohttp.ClientSession | None = None,
        bot_user_id: str = BOT_USER_ID,
        team_domain: str = TEAM_DOMAIN,
        hooks_url: str = "https://hooks.slack.com/",
        path: str = "/slack/events",
        verification_token: str = VERIFICATION_TOKEN,
        team_of: Callable[[str], str] | None = None,
    ) -> None:
        """`hooks_url`: base of the `response_url`s handed to the bot; use `fake.hooks_url`.

        `team_of`: the team a user belongs to (`fake.team_of`), so a Slack Connect guest's
        requests name their own team as Slack's do; by default everyone is of `team_id`."""
        self.url = bot_url.rstrip("/") + path
        self._secret = signing_secret.encode()
        self.team_id = team_id
        self.api_app_id = api_app_id
        self.bot_user_id = bot_user_id
        self.team_domain = team_domain
        self.hooks_url = hooks_url if hooks_url.endswith("/") else hooks_url + "/"
        self.verification_token = verification_token
        self._team_of = team_of
        self._session = session
        self._owns_session = session is None
        self._counter = itertools.count(1)
        self._clock = TsClock()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    # ------------------------------------------------------------------ ids

    def team_of(self, user_id: str) -> str:
        """The team `user_id` belongs to: ours, or a guest's own (Slack Connect)."""
        return self._team_of(user_id) if self._team_of is not None else self.team_id

    def new_event_id(self) -> str:
        return f"Ev{next(self._counter):04d}{secrets.token_hex(3).upper()}"

    def new_trigger_id(self) -> str:
        return f"trig-{next(self._counter)}-{secrets.token_hex(4)}"

    def new_ts(self) -> str:
        return self._clock.next()

    def response_url(self, kind: str = "actions") -> str:
        return f"{self.hooks_url}{kind}/{self.team_id}/{next(self._counter)}/{secrets.token_hex(8)}"

    # ------------------------------------------------------------------ signing and sending

    def sign(self, body: bytes, timestamp: str, *, secret: bytes | None = None) -> str:
        basestring = b"v0:" + timestamp.encode() + b":" + body
        digest = hmac.new(secret or self._secret, basestring, hashlib.sha256).hexdigest()
        return f"v0={digest}"

    async def send_raw(self, body: bytes, content_type: str, **opts: Unpack[SendOptions]) -> Reply:
        """Send exactly `body` (e.g. truncated JSON, a JSON array, an oversized body)."""
        return await self._send(body, content_type, None, opts)

    async def send_json(self, obj: Any, **opts: Unpack[SendOptions]) -> Reply:
        body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
        return await self._send(
            body, "application/json", obj if isinstance(obj, dict) else None, opts
        )

    async def send_form(self, fields: Mapping[str, str], **opts: Unpack[SendOptions]) -> Reply:
        body = urlencode(fields).encode()
        return await self._send(body, "application/x-www-form-urlencoded", dict(fields), opts)

    async def resend(self, reply: Reply, **opts: Unpack[SendOptions]) -> Reply:
        """Deliver the same bytes again, as Slack's retries do (pass retry_num/retry_reason)."""
        return await self._send(
            reply.body, reply.content_type, reply.payload, opts, reply.event_id, reply.trigger_id
        )

    async def _send(
        self,
        body: bytes,
        content_type: str,
        sent: JSON | None,
        opts: SendOptions,
        event_id: str | None = None,
        trigger_id: str | None = None,
    ) -> Reply:
        timestamp = str(opts.get("timestamp", int(time.time())))
        secret = b"not-the-signing-secret" if opts.get("bad_signature") else None
        headers = {
            "Content-Type": content_type,
            "User-Agent": SLACK_USER_AGENT,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": self.sign(body, timestamp, secret=secret),
        }
        if "retry_num" in opts:
            headers["X-Slack-Retry-Num"] = str(opts["retry_num"])
        if "retry_reason" in opts:
            headers["X-Slack-Retry-Reason"] = opts["retry_reason"]
        headers.update(opts.get("extra_headers", {}))
        if self._session is None:
            self._session = aiohttp.ClientSession()
        async with self._session.post(self.url, data=body, headers=headers) as resp:
            text = await resp.text(errors="replace")
            return Reply(
                status=resp.status,
                headers=CIMultiDict(resp.headers),
                text=text,
                body=body,
                content_type=content_type,
                payload=sent,
                event_id=event_id,
                trigger_id=trigger_id,
            )

    # ------------------------------------------------------------------ Events API

    def build_event(
        self,
        event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        event_time: int | None = None,
    ) -> JSON:
        """The `event_callback` envelope around `event`."""
        envelope = payload("event_callback")
        envelope.update(
            token=self.verification_token,
            team_id=self.team_id,
            context_team_id=self.team_id,
            api_app_id=self.api_app_id,
            event=dict(event),
            event_id=event_id or self.new_event_id(),
            event_time=event_time if event_time is not None else int(time.time()),
        )
        envelope["authorizations"][0].update(team_id=self.team_id, user_id=self.bot_user_id)
        if event.get("user_team") not in (None, self.team_id):
            # Only a channel shared with another organisation carries people of other teams.
            envelope["is_ext_shared_channel"] = True
        return envelope

    async def url_verification(
        self, challenge: str | None = None, **opts: Unpack[SendOptions]
    ) -> Reply:
        body = payload("url_verification")
        body["token"] = self.verification_token
        if challenge is not None:
            body["challenge"] = challenge
        return await self.send_json(body, **opts)

    async def event(
        self,
        event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        event_time: int | None = None,
        **opts: Unpack[SendOptions],
    ) -> Reply:
        """Deliver any event; reuse `event_id` (or call `resend`) to imitate a retry."""
        envelope = self.build_event(event, event_id=event_id, event_time=event_time)
        reply = await self.send_json(envelope, **opts)
        return _with_ids(reply, event_id=envelope["event_id"])

    def build_message(
        self,
        text: str,
        *,
        user_id: str,
        channel_id: str,
        channel_type: str = "channel",
        ts: str | None = None,
        thread_ts: str | None = None,
        files: Iterable[Mapping[str, Any]] | None = None,
        escape: bool = True,
    ) -> JSON:
        """A `message` event; with `files` it is a `file_share` message carrying them as given.

        `text` is what the user typed (mentions as `<@U…>`); it goes on the wire escaped as Slack
        escapes it, and as typed in the `rich_text` block. `escape=False`: `text` is wire text.
        """
        files = list(files or [])
        wire, typed = _typed_and_wire(text, escape=escape)
        event = payload("event_message_file_share" if files else "event_message")
        ts = ts or self.new_ts()
        event.update(
            user=user_id,
            text=wire,
            ts=ts,
            event_ts=ts,
            channel=channel_id,
            channel_type=channel_type,
            team=self.team_of(user_id),
            client_msg_id=_uuid4(),
            blocks=[_rich_text(typed)] if typed else [],
        )
        _mark_guest(event, self.team_of(user_id), self.team_id)
        if files:
            event["files"] = [dict(f) for f in files]
        if thread_ts:
            event["thread_ts"] = thread_ts
        return event

    async def message(
        self,
        text: str,
        *,
        user_id: str,
        channel_id: str,
        channel_type: str = "channel",
        ts: str | None = None,
        thread_ts: str | None = None,
        files: Iterable[Mapping[str, Any]] | None = None,
        event_id: str | None = None,
        escape: bool = True,
        **opts: Unpack[SendOptions],
    ) -> Reply:
        event = self.build_message(
            text,
            user_id=user_id,
            channel_id=channel_id,
            channel_type=channel_type,
            ts=ts,
            thread_ts=thread_ts,
            files=files,
            escape=escape,
        )
        return await self.event(event, event_id=event_id, **opts)

    async def app_mention(
        self,
        text: str,
        *,
        user_id: str,
        channel_id: str,
        ts: str | None = None,
        thread_ts: str | None = None,
        event_id: str | None = None,
        escape: bool = True,
        **opts: Unpack[SendOptions],
    ) -> Reply:
        """An `app_mention`; `<@BOT>` is put in front of `text` unless it is already there.

        Escaped and carried in `rich_text` as `build_message` does (`escape=False`: wire text).
        """
        mention = f"<@{self.bot_user_id}>"
        if mention not in text:
            text = f"{mention} {text}"
        wire, typed = _typed_and_wire(text, escape=escape)
        event = payload("event_app_mention")
        ts = ts or self.new_ts()
        event.update(
            user=user_id,
            text=wire,
            ts=ts,
            event_ts=ts,
            channel=channel_id,
            team=self.team_of(user_id),
            client_msg_id=_uuid4(),
        )
        _mark_guest(event, self.team_of(user_id), self.team_id)
        section = event["blocks"][0]["elements"][0]
        section["elements"] = _rich_text_elements(typed)
        if thread_ts:
            event["thread_ts"] = thread_ts
        return await self.event(event, event_id=event_id, **opts)

    async def file_shared(
        self,
        file_id: str,
        *,
        user_id: str,
        channel_id: str,
        event_id: str | None = None,
        **opts: Unpack[SendOptions],
    ) -> Reply:
        event = payload("event_file_shared")
        event.update(
            file_id=file_id,
            user_id=user_id,
            channel_id=channel_id,
            file={"id": file_id},
            event_ts=self.new_ts(),
        )
        return await self.event(event, event_id=event_id, **opts)

    async def app_home_opened(
        self,
        user_id: str,
        *,
        channel_id: str | None = None,
        tab: str = "home",
        view: Mapping[str, Any] | None = None,
        event_id: str | None = None,
        **opts: Unpack[SendOptions],
    ) -> Reply:
        """`view`: the home view Slack currently shows (it sends one once the app published)."""
        event = payload("event_app_home_opened")
        event.update(
            user=user_id,
            channel=channel_id or "D" + user_id[1:],
            tab=tab,
            event_ts=self.new_ts(),
        )
        if view is not None:
            event["view"] = dict(view)
        return await self.event(event, event_id=event_id, **opts)

    # ------------------------------------------------------------------ slash commands

    def build_slash_command(
        self,
        text: str,
        *,
        user_id: str,
        channel_id: str,
        command: str = "/onboard",
        user_name: str | None = None,
        channel_name: str | None = None,
        trigger_id: str | None = None,
        escape: bool = True,
    ) -> dict[str, str]:
        """The form fields of a slash command; `text` as typed (`escape=False`: wire text)."""
        fields: dict[str, str] = {k: str(v) for k, v in payload("slash_command").items()}
        fields.update(
            token=self.verification_token,
            # The workspace the command was typed in: a guest's own.
            team_id=self.team_of(user_id),
            team_domain=self.team_domain,
            channel_id=channel_id,
            channel_name=channel_name or ("directmessage" if channel_id[0] == "D" else channel_id),
            user_id=user_id,
            user_name=user_name or _user_name(user_id),
            command=command,
            text=slack_escape_typed(text) if escape else text,
            api_app_id=self.api_app_id,
            response_url=self.response_url("commands"),
            trigger_id=trigger_id or self.new_trigger_id(),
        )
        return fields

    async def slash_command(
        self,
        text: str,
        *,
        user_id: str,
        channel_id: str,
        command: str = "/onboard",
        user_name: str | None = None,
        channel_name: str | None = None,
        trigger_id: str | None = None,
        escape: bool = True,
        check_reply: bool = True,
        **opts: Unpack[SendOptions],
    ) -> Reply:
        """A slash command. Slack sends no locale with it: seed the user's locale in the fake.

        `text` is escaped as Slack escapes it (`escape=False`: it is wire text already). The
        bot's answer is checked as a message (`check_reply=False` to skip that).
        """
        fields = self.build_slash_command(
            text,
            user_id=user_id,
            channel_id=channel_id,
            command=command,
            user_name=user_name,
            channel_name=channel_name,
            trigger_id=trigger_id,
            escape=escape,
        )
        reply = await self.send_form(fields, **opts)
        if check_reply:
            _refuse(reply, command_reply_problems(reply), f"{command} {fields['text']}")
        return _with_ids(reply, trigger_id=fields["trigger_id"])

    # ------------------------------------------------------------------ interactivity

    async def send_interaction(
        self,
        body: Mapping[str, Any],
        *,
        check_reply: bool = True,
        view_known: bool | None = None,
        **opts: Unpack[SendOptions],
    ) -> Reply:
        """Post an interactivity payload the way Slack does: form-encoded `payload=<json>`.

        A `view_submission` reply is checked as Slack checks it (`check_reply=False` skips it);
        its `errors` keys are checked against the submitted view's input blocks when the view is
        known (`view_known`; by default: when the submitted view has blocks).
        """
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        form = urlencode({"payload": raw}).encode()
        reply = await self._send(form, "application/x-www-form-urlencoded", dict(body), opts)
        if check_reply and body.get("type") == "view_submission":
            view = body.get("view") if isinstance(body.get("view"), dict) else {}
            assert isinstance(view, dict)
            if view_known is None:
                view_known = bool(view.get("blocks"))
            problems = view_submission_reply_problems(reply, view=view if view_known else None)
            _refuse(reply, problems, f"view_submission {view.get('callback_id')}")
        trigger = body.get("trigger_id")
        return _with_ids(reply, trigger_id=trigger if isinstance(trigger, str) else None)

    def build_block_action(
        self,
        action_id: str,
        value: str | None = None,
        *,
        user_id: str,
        channel_id: str | None = None,
        message_ts: str | None = None,
        block_id: str | None = None,
        selected_option: str | Mapping[str, Any] | None = None,
        action_type: str | None = None,
        message: Mapping[str, Any] | None = None,
        ephemeral: bool = False,
        view: Mapping[str, Any] | None = None,
        user_name: str | None = None,
        trigger_id: str | None = None,
    ) -> JSON:
        """A `block_actions` payload for a click in a message, or in `view` (a modal / home).

        `message`: the message as Slack shows it (e.g. `fake.message_json(msg)`); without it a
        minimal bot message with `message_ts` is used. `block_id` defaults to the block of
        `message` (or `view`) holding `action_id`.
        """
        body = payload("block_actions")
        name = user_name or _user_name(user_id)
        team = self.team_of(user_id)
        body["user"].update(id=user_id, username=name, name=name, team_id=team)
        body.update(
            api_app_id=self.api_app_id,
            token=self.verification_token,
            trigger_id=trigger_id or self.new_trigger_id(),
            team={"id": team, "domain": self.team_domain},
            response_url=self.response_url("actions"),
        )
        blocks: list[Any]
        if view is not None:
            body["container"] = {"type": "view", "view_id": view.get("id")}
            body["view"] = dict(view)
            body["state"] = copy.deepcopy(view.get("state") or {"values": {}})
            for key in ("channel", "message", "response_url"):
                body.pop(key, None)
            blocks = list(view.get("blocks") or [])
        else:
            if channel_id is None or message_ts is None:
                raise ValueError("a message click needs channel_id and message_ts (or view=)")
            body["container"] = {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel_id,
                "is_ephemeral": ephemeral,
            }
            body["channel"] = {"id": channel_id, "name": channel_id}
            if message is not None:
                body["message"] = dict(message)
            else:
                body["message"].update(ts=message_ts, team=self.team_id, user=self.bot_user_id)
            blocks = list(body["message"].get("blocks") or [])
            if ephemeral:
                body.pop("message")  # Slack does not echo ephemeral messages back
        if block_id is None:
            block_id = _block_holding(blocks, action_id) or secrets.token_urlsafe(4)[:5]
        action: JSON = {"action_id": action_id, "block_id": block_id}
        if selected_option is not None:
            option = (
                {"text": _plain(selected_option), "value": selected_option}
                if isinstance(selected_option, str)
                else dict(selected_option)
            )
            action.update(type=action_type or "static_select", selected_option=option)
        else:
            action.update(type=action_type or "button", text=_plain(value or action_id))
            if value is not None:
                action["value"] = value
        action["action_ts"] = self.new_ts()
        body["actions"] = [action]
        return body

    async def block_action(
        self,
        action_id: str,
        value: str | None = None,
        *,
        user_id: str,
        channel_id: str | None = None,
        message_ts: str | None = None,
        block_id: str | None = None,
        selected_option: str | Mapping[str, Any] | None = None,
        action_type: str | None = None,
        message: Mapping[str, Any] | None = None,
        ephemeral: bool = False,
        view: Mapping[str, Any] | None = None,
        trigger_id: str | None = None,
        **opts: Unpack[SendOptions],
    ) -> Reply:
        body = self.build_block_action(
            action_id,
            value,
            user_id=user_id,
            channel_id=channel_id,
            message_ts=message_ts,
            block_id=block_id,
            selected_option=selected_option,
            action_type=action_type,
            message=message,
            ephemeral=ephemeral,
            view=view,
            trigger_id=trigger_id,
        )
        return await self.send_interaction(body, **opts)

    def build_view_submission(
        self,
        callback_id: str,
        values: Mapping[str, Mapping[str, Any]],
        *,
        user_id: str,
        private_metadata: str = "",
        view: Mapping[str, Any] | None = None,
        user_name: str | None = None,
        trigger_id: str | None = None,
    ) -> JSON:
        """A `view_submission`. `values` is `{block_id: {action_id: state}}`; a plain string
        state is taken as a plain_text_input value (see `text_input`, `static_select` …).
        `view`: the view as opened (e.g. `fake.view_json(fake.views[id])`) for its id and blocks.
        """
        body = payload("view_submission")
        name = user_name or _user_name(user_id)
        team = self.team_of(user_id)
        body["user"].update(id=user_id, username=name, name=name, team_id=team)
        body.update(
            api_app_id=self.api_app_id,
            token=self.verification_token,
            trigger_id=trigger_id or self.new_trigger_id(),
            # In a Slack Connect channel `team` is the guest's; `app_installed_team_id` is ours.
            team={"id": team, "domain": self.team_domain},
        )
        submitted = body["view"]
        if view is not None:
            submitted.update(copy.deepcopy(dict(view)))
        else:
            view_id = "V" + secrets.token_hex(5).upper()
            submitted.update(id=view_id, root_view_id=view_id, hash=f"{int(time.time())}.x1")
        submitted.update(
            team_id=self.team_id,
            app_id=self.api_app_id,
            app_installed_team_id=self.team_id,
            callback_id=callback_id,
            private_metadata=private_metadata,
            state={
                "values": {
                    block: {
                        action: text_input(state) if isinstance(state, str) else dict(state)
                        for action, state in actions.items()
                    }
                    for block, actions in values.items()
                }
            },
        )
        return body

    async def view_submission(
        self,
        callback_id: str,
        values: Mapping[str, Mapping[str, Any]],
        *,
        user_id: str,
        private_metadata: str = "",
        view: Mapping[str, Any] | None = None,
        trigger_id: str | None = None,
        check_reply: bool = True,
        **opts: Unpack[SendOptions],
    ) -> Reply:
        """Submit a view; the bot's answer is checked (its `errors` keys only with `view=`)."""
        body = self.build_view_submission(
            callback_id,
            values,
            user_id=user_id,
            private_metadata=private_metadata,
            view=view,
            trigger_id=trigger_id,
        )
        return await self.send_interaction(
            body, check_reply=check_reply, view_known=view is not None, **opts
        )


# ---------------------------------------------------------------------- what Slack does with text

# Slack's own control sequences in message text, left unescaped (Slack's formatting reference,
# "Escaping text"): mentions, channel links, special mentions, user groups, dates, links.
_CONTROL_RE = re.compile(
    r"<(?:"
    r"@[UW][A-Z0-9]+(?:\|[^<>]*)?"
    r"|#[CG][A-Z0-9]+(?:\|[^<>]*)?"
    r"|!(?:here|channel|everyone)(?:\|[^<>]*)?"
    r"|!subteam\^[A-Z0-9]+(?:\|[^<>]*)?"
    r"|!date\^[^<>]*"
    r"|(?:https?://|mailto:)[^<>|\s]+(?:\|[^<>]*)?"
    r")>"
)


def slack_escape_typed(text: str) -> str:
    """Typed text as Slack delivers it: `&`, `<`, `>` as `&amp;`, `&lt;`, `&gt;`.

    Slack's control sequences (`<@U…>`, `<@U…|name>`, `<#C…|name>`, `<!here>`, `<!channel>`,
    `<!everyone>`, `<!subteam^…>`, `<!date^…>`, `<https://…|label>`, `<mailto:…>`) keep their
    angle brackets; an `&` inside them is still `&amp;` (as in a link's query string).
    """
    out: list[str] = []
    end = 0
    for match in _CONTROL_RE.finditer(text):
        out.append(_escape_all(text[end : match.start()]))
        out.append(match.group().replace("&", "&amp;"))
        end = match.end()
    out.append(_escape_all(text[end:]))
    return "".join(out)


def slack_unescape(text: str) -> str:
    """The inverse of `slack_escape_typed` (what a bot should do once on the way in)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _escape_all(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _typed_and_wire(text: str, *, escape: bool) -> tuple[str, str]:
    """(wire text, typed text) for `text` given as typed (`escape`) or as wire text."""
    return (slack_escape_typed(text), text) if escape else (text, slack_unescape(text))


def _rich_text_elements(typed: str) -> list[JSON]:
    """The elements of the `rich_text_section` Slack writes for typed text."""
    elements: list[JSON] = []
    end = 0
    for match in _CONTROL_RE.finditer(typed):
        if match.start() > end:
            elements.append({"type": "text", "text": typed[end : match.start()]})
        elements.append(_rich_text_control(match.group()[1:-1]))
        end = match.end()
    if end < len(typed):
        elements.append({"type": "text", "text": typed[end:]})
    return elements


def _rich_text_control(inner: str) -> JSON:
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return {"type": "user", "user_id": target[1:]}
    if target.startswith("#"):
        return {"type": "channel", "channel_id": target[1:]}
    if target.startswith("!subteam^"):
        return {"type": "usergroup", "usergroup_id": target.removeprefix("!subteam^")}
    if target.startswith("!date^"):
        stamp, _, fmt = target.removeprefix("!date^").partition("^")
        if stamp.isdigit():
            return {"type": "date", "timestamp": int(stamp), "format": fmt, "fallback": label}
        return {"type": "text", "text": f"<{inner}>"}
    if target.startswith("!"):
        return {"type": "broadcast", "range": target[1:]}
    link: JSON = {"type": "link", "url": target}
    if label:
        link["text"] = label
    return link


# ---------------------------------------------------------------------- replies Slack checks


def command_reply_problems(reply: Reply) -> list[str]:
    """What Slack would refuse in the bot's HTTP answer to a slash command (a message)."""
    body = reply.json() if reply.ok else None
    if not isinstance(body, dict) or "blocks" not in body:
        return []
    if not isinstance(body["blocks"], list):
        return ["[ERROR] must provide an array [json-pointer:/blocks]"]
    return validate_blocks(body["blocks"], surface="message")


VIEW_RESPONSE_ACTIONS = ("errors", "update", "push", "clear")


def view_submission_reply_problems(
    reply: Reply, *, view: Mapping[str, Any] | None = None
) -> list[str]:
    """What Slack would refuse (or turn into a generic error) in a view_submission answer.

    `view`: the submitted view; with it, `errors` keys must be block_ids of its input blocks
    (Slack shows "We had some trouble connecting" otherwise, bolt-python#463, #922).
    """
    body = reply.json() if reply.ok else None
    if not isinstance(body, dict) or "response_action" not in body:
        return []
    action = body["response_action"]
    if action not in VIEW_RESPONSE_ACTIONS:
        choices = ", ".join(VIEW_RESPONSE_ACTIONS)
        return [f"[ERROR] must be one of: {choices} [json-pointer:/response_action]"]
    if action in ("update", "push"):
        return validate_view(body.get("view"), kinds=("modal",))
    if action != "errors":
        return []
    errors = body.get("errors")
    if not isinstance(errors, dict) or not errors:
        return ["[ERROR] must provide a non-empty object [json-pointer:/errors]"]
    problems: list[str] = []
    inputs = input_block_ids(view) if view is not None else None
    for key, message in errors.items():
        if not isinstance(message, str) or not message:
            problems.append(f"[ERROR] must provide a non-empty string [json-pointer:/errors/{key}]")
        if inputs is not None and key not in inputs:
            known = ", ".join(sorted(inputs)) or "none"
            problems.append(
                f"[ERROR] not the block_id of an input block of the view (those are: {known})"
                f" [json-pointer:/errors/{key}]"
            )
    return problems


def _refuse(reply: Reply, problems: list[str], what: str) -> None:
    if problems:
        listed = "\n  ".join(problems)
        raise AssertionError(
            f"Slack would refuse the bot's reply to {what} (the user sees an error or nothing):"
            f"\n  {listed}\nreply body: {reply.text[:2000]}"
        )


# ---------------------------------------------------------------------- state value builders


def text_input(value: str | None) -> JSON:
    return {"type": "plain_text_input", "value": value}


def static_select(value: str | None, text: str | None = None) -> JSON:
    option = None if value is None else {"text": _plain(text or value), "value": value}
    return {"type": "static_select", "selected_option": option}


def multi_static_select(values: Iterable[str]) -> JSON:
    options = [{"text": _plain(v), "value": v} for v in values]
    return {"type": "multi_static_select", "selected_options": options}


def checkboxes(values: Iterable[str]) -> JSON:
    options = [{"text": _plain(v), "value": v} for v in values]
    return {"type": "checkboxes", "selected_options": options}


def radio_buttons(value: str | None) -> JSON:
    option = None if value is None else {"text": _plain(value), "value": value}
    return {"type": "radio_buttons", "selected_option": option}


def datepicker(date: str | None) -> JSON:
    """`date` as "YYYY-MM-DD"."""
    return {"type": "datepicker", "selected_date": date}


def users_select(user_id: str | None) -> JSON:
    return {"type": "users_select", "selected_user": user_id}


def file_stub(file_id: str, *, user_id: str, created: int | None = None) -> JSON:
    """The stub Slack puts in events for files of Slack Connect users (call files.info)."""
    stub = payload("file_stub")
    stub.update(id=file_id, user=user_id, created=created or int(time.time()))
    stub["timestamp"] = stub["created"]
    return stub


# ---------------------------------------------------------------------- helpers


def _with_ids(reply: Reply, *, event_id: str | None = None, trigger_id: str | None = None) -> Reply:
    return Reply(
        status=reply.status,
        headers=reply.headers,
        text=reply.text,
        body=reply.body,
        content_type=reply.content_type,
        payload=reply.payload,
        event_id=event_id or reply.event_id,
        trigger_id=trigger_id or reply.trigger_id,
    )


def _mark_guest(event: JSON, team: str, home_team: str) -> None:
    """A message of a Slack Connect guest names their team as `user_team` and `source_team`."""
    if team != home_team:
        event.update(user_team=team, source_team=team)


def _plain(text: str) -> JSON:
    return {"type": "plain_text", "text": text, "emoji": True}


def _rich_text(typed: str) -> JSON:
    return {
        "type": "rich_text",
        "block_id": secrets.token_urlsafe(4)[:5],
        "elements": [{"type": "rich_text_section", "elements": _rich_text_elements(typed)}],
    }


def _user_name(user_id: str) -> str:
    return f"user.{user_id.lower()}"


def _uuid4() -> str:
    return str(uuid.uuid4())


def _block_holding(blocks: Iterable[Any], action_id: str) -> str | None:
    for block in blocks:
        if not isinstance(block, dict):
            continue
        elements = list(block.get("elements") or [])
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        if isinstance(block.get("element"), dict):
            elements.append(block["element"])
        if any(isinstance(e, dict) and e.get("action_id") == action_id for e in elements):
            block_id = block.get("block_id")
            return block_id if isinstance(block_id, str) else None
    return None
