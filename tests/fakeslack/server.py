"""A fake Slack Web API on 127.0.0.1, faked only at the network boundary.

slack_sdk's `AsyncWebClient(base_url=fake.api_url, token=...)` works against it unchanged. It also
serves the files it knows (`url_private`), accepts the bytes of the modern upload flow, and takes
posts to `response_url`s built from `hooks_url`.

Every request is recorded as a `Call` (or a `Transfer` for file bytes); `wait_for(...)` waits on
an asyncio.Condition that is notified on each one, so tests never sleep.

Blocks and views are checked as strictly as Slack does (`tests/fakeslack/blockkit.py`): a message
with bad blocks is refused with `invalid_blocks`, a bad view with `invalid_arguments`, both with
Slack's `response_metadata.messages`. Refused calls are recorded too (`refused_calls()`), and
leaving `async with FakeSlack()` after one fails the test unless `allow_refusals` is set.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import mimetypes
import re
import secrets
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TypeVar

from aiohttp import web

from tests.fakeslack.blockkit import strip_error_prefix, validate_blocks, validate_view
from tests.fakeslack.state import (
    API_APP_ID,
    BOT_ID,
    BOT_NAME,
    BOT_TOKEN,
    BOT_USER_ID,
    JSON,
    TEAM_DOMAIN,
    TEAM_ID,
    TEAM_NAME,
    Call,
    Channel,
    IdMaker,
    Message,
    StoredFile,
    Transfer,
    TsClock,
    User,
    View,
)

__all__ = [
    "BlockKitRefusal",
    "Call",
    "Channel",
    "FakeSlack",
    "Message",
    "SlackError",
    "StoredFile",
    "Transfer",
    "User",
    "View",
]

T = TypeVar("T")

# Fields slack_sdk (and Slack) carry as JSON strings inside form bodies.
_JSON_STRING_FIELDS = frozenset({"blocks", "attachments", "view", "files", "metadata"})
_TRIGGER_RE = re.compile(r"^(trig-[\w.-]+|\d+\.\d+\.[0-9a-f]+)$")
_MAX_MESSAGE_TEXT = 40_000
_SIGN_IN_PAGE = (
    '<!DOCTYPE html><html lang="en-US"><head><meta charset="utf-8">'
    "<title>Sign in | Slack</title></head><body><h1>Sign in to your workspace</h1>"
    '<form action="/signin" method="post"><input type="email" name="email">'
    "</form></body></html>"
)


class SlackError(Exception):
    """A Slack-level failure: answered as HTTP 200 `{"ok": false, "error": ...}`."""

    def __init__(self, error: str, *messages: str) -> None:
        super().__init__(error)
        self.error = error
        self.messages = list(messages)

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error": self.error}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body


class BlockKitRefusal(SlackError):
    """Slack refusing blocks (`invalid_blocks`) or a view (`invalid_arguments`).

    `invalid_blocks` answers also carry `errors`: the messages without their `[ERROR] ` prefix,
    as Slack sends them.
    """

    def __init__(self, error: str, problems: list[str]) -> None:
        super().__init__(error, *problems)

    def body(self) -> JSON:
        body = super().body()
        if self.error == "invalid_blocks":
            body = {
                "ok": False,
                "error": self.error,
                "errors": [strip_error_prefix(m) for m in self.messages],
                "response_metadata": {"messages": self.messages},
            }
        return body


# The image files an image block's `slack_file` may show.
SLACK_FILE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif"})


@dataclass(frozen=True)
class _Fault:
    status: int
    retry_after: int | None
    error: str


class FakeSlack:
    """The fake Slack server. Seed it, start it, point the bot at `api_url`, then assert."""

    def __init__(
        self,
        *,
        bot_token: str = BOT_TOKEN,
        team_id: str = TEAM_ID,
        bot_user_id: str = BOT_USER_ID,
        bot_id: str = BOT_ID,
        api_app_id: str = API_APP_ID,
        team_name: str = TEAM_NAME,
        team_domain: str = TEAM_DOMAIN,
        bot_name: str = BOT_NAME,
        host: str = "127.0.0.1",
        allow_refusals: bool = False,
    ) -> None:
        """`allow_refusals`: leaving `async with` after a Block Kit refusal does not fail."""
        self.bot_token = bot_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.api_app_id = api_app_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.bot_name = bot_name
        self._host = host
        self.allow_refusals = allow_refusals
        # Slack puts `profile.email` in users.info only for apps granted users:read.email, which
        # ours is not; a test sets this to prove an address would still go nowhere.
        self.email_scope = False

        self.channels: dict[str, Channel] = {}
        self.users: dict[str, User] = {}
        self.files: dict[str, StoredFile] = {}
        self.views: dict[str, View] = {}
        self.home_views: dict[str, View] = {}  # user id -> latest published home view
        self._messages: list[Message] = []

        self._calls: list[Call] = []
        self._transfers: list[Transfer] = []
        self._faults: dict[str, deque[_Fault]] = {}
        self._latency: dict[str, float] = {}
        self._holds: dict[str, asyncio.Event] = {}
        self._held: Counter[str] = Counter()
        self._issued_triggers: set[str] = set()
        self._used_triggers: set[str] = set()
        self._expired_triggers: set[str] = set()
        self._changed = asyncio.Condition()

        self._ids = IdMaker()
        self._clock = TsClock()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

        self._handlers: dict[str, Callable[[JSON], JSON]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.info": self._conversations_info,
            "conversations.members": self._conversations_members,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "conversations.open": self._conversations_open,
            "users.info": self._users_info,
            "users.conversations": self._users_conversations,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.info": self._files_info,
            "files.delete": self._files_delete,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
            "reactions.add": self._reactions_add,
        }
        self.add_user(bot_user_id, bot_name, real_name=bot_name, is_bot=True)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("FakeSlack is already running")
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._on_api)
        app.router.add_get("/files/{file_id}/{name}", self._on_download)
        app.router.add_post("/upload/v1/{key}", self._on_upload)
        app.router.add_post("/hooks/{path:.+}", self._on_hook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self._host, 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
        if exc_type is None and not self.allow_refusals:
            self.assert_no_refusals()

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeSlack is not started")
        return f"http://{self._host}:{self._port}/"

    @property
    def api_url(self) -> str:
        """Give this to `AsyncWebClient(base_url=...)` / SLACK_API_URL (it ends with a slash)."""
        return self.base_url + "api/"

    @property
    def hooks_url(self) -> str:
        """Base for `response_url`s that land here (pass it to `SlackDriver(hooks_url=...)`)."""
        return self.base_url + "hooks/"

    @property
    def file_host(self) -> str:
        return self._host

    # ------------------------------------------------------------------ seeding

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        members: Iterable[str] = (),
        is_ext_shared: bool = False,
        is_private: bool = False,
    ) -> Channel:
        channel = Channel(
            id=channel_id,
            name=name,
            members=list(members),
            is_ext_shared=is_ext_shared,
            is_private=is_private,
        )
        self.channels[channel_id] = channel
        return channel

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str | None = None,
        team_id: str | None = None,
        locale: str = "en-US",
        is_bot: bool = False,
        email: str | None = None,
        tz: str = "Asia/Shanghai",
    ) -> User:
        user = User(
            id=user_id,
            name=name,
            real_name=real_name if real_name is not None else name,
            team_id=team_id or self.team_id,
            locale=locale,
            is_bot=is_bot,
            email=email,
            tz=tz,
        )
        self.users[user_id] = user
        return user

    def team_of(self, user_id: str) -> str:
        """The team of `user_id`: a guest added with their own `team_id`, or ours."""
        user = self.users.get(user_id)
        return user.team_id if user else self.team_id

    def open_im(self, user_id: str) -> Channel:
        """The DM channel between the bot and `user_id` (created on first use, as Slack does)."""
        for channel in self.channels.values():
            if channel.is_im and channel.im_user == user_id:
                return channel
        channel = Channel(
            id=self._ids.new("D"),
            name=user_id,
            members=[self.bot_user_id, user_id],
            is_im=True,
            im_user=user_id,
        )
        self.channels[channel.id] = channel
        return channel

    def add_file(
        self,
        content: bytes,
        name: str,
        mimetype: str | None = None,
        *,
        uploader: str,
        channel: str | None = None,
        title: str | None = None,
        file_id: str | None = None,
    ) -> JSON:
        """Store a file a user uploaded; return it as `files.info` shows it."""
        user = self.users.get(uploader)
        stored = StoredFile(
            id=file_id or self._ids.new("F"),
            name=name,
            title=title if title is not None else name,
            mimetype=mimetype or _guess_mimetype(name),
            user=uploader,
            user_team=user.team_id if user else self.team_id,
            content=content,
            channels=[channel] if channel else [],
        )
        self.files[stored.id] = stored
        return self.file_info(stored.id)

    def delete_file(self, file_id: str) -> None:
        """The uploader deletes their file in Slack (what a bot token cannot do for them)."""
        self.files[file_id].deleted = True

    def file_info(self, file_id: str) -> JSON:
        return self.files[file_id].info(base_url=self.base_url, team_domain=self.team_domain)

    def add_message(
        self,
        channel: str,
        text: str,
        *,
        user: str,
        thread_ts: str | None = None,
        blocks: list[JSON] | None = None,
        files: Iterable[str] = (),
    ) -> Message:
        """Seed a message someone else wrote (to react to, link to, or reply under)."""
        message = Message(
            channel=channel,
            ts=self._clock.next(),
            text=text,
            user=user,
            blocks=blocks,
            thread_ts=thread_ts,
            files=list(files),
        )
        self._messages.append(message)
        return message

    def issue_trigger(self) -> str:
        """A trigger id the fake will accept once in views.open / views.push."""
        trigger = f"{int(time.time())}.{secrets.randbelow(10**9)}.{secrets.token_hex(8)}"
        self._issued_triggers.add(trigger)
        return trigger

    def expire_trigger(self, trigger_id: str) -> None:
        """Make `trigger_id` answer `expired_trigger_id` (Slack's 3-second limit)."""
        self._expired_triggers.add(trigger_id)

    # ------------------------------------------------------------------ inspection

    def calls(self, method: str | None = None) -> list[Call]:
        return [c for c in self._calls if method is None or c.method == method]

    def last(self, method: str) -> Call:
        found = self.calls(method)
        if not found:
            raise AssertionError(f"no call of {method}; {self._describe_calls()}")
        return found[-1]

    def refused_calls(self, method: str | None = None) -> list[Call]:
        """Calls (and response_url posts) Slack would have refused for their blocks or view."""
        return [c for c in self.calls(method) if c.refused]

    def assert_no_refusals(self) -> None:
        """Fail, listing each refusal, if any call was refused for its blocks or view."""
        refused = self.refused_calls()
        if refused:
            lines = "\n  ".join(c.summary() for c in refused)
            raise AssertionError(
                f"Slack would have refused {len(refused)} call(s) for their blocks or view "
                f"(the user sees nothing):\n  {lines}"
            )

    def reset_calls(self) -> None:
        """Forget recorded calls and file transfers (state such as messages is kept)."""
        self._calls.clear()
        self._transfers.clear()

    @property
    def downloads(self) -> list[Transfer]:
        return [t for t in self._transfers if t.kind == "download"]

    @property
    def uploads(self) -> list[Transfer]:
        return [t for t in self._transfers if t.kind == "upload"]

    def messages(
        self, channel: str | None = None, *, include_deleted: bool = False
    ) -> list[Message]:
        """Messages in post order (ephemeral ones included, see `Message.ephemeral`)."""
        return [
            m
            for m in self._messages
            if (channel is None or m.channel == channel) and (include_deleted or not m.deleted)
        ]

    def message(self, channel: str, ts: str) -> Message:
        for m in self._messages:
            if m.channel == channel and m.ts == ts:
                return m
        raise AssertionError(f"no message {ts} in {channel}")

    def message_json(self, message: Message) -> JSON:
        """`message` as Slack shows it (e.g. inside a block_actions payload)."""
        return message.as_slack(team_id=self.team_id, app_id=self.api_app_id)

    def view_json(self, view: View) -> JSON:
        return view.as_slack(team_id=self.team_id, app_id=self.api_app_id, bot_id=self.bot_id)

    async def wait_for(
        self,
        method: str,
        *,
        count: int = 1,
        where: Callable[[Call], bool] | None = None,
        timeout: float = 5.0,
    ) -> list[Call]:
        """Wait until at least `count` calls of `method` (matching `where`) were received."""

        def matching() -> list[Call]:
            return [c for c in self._calls if c.method == method and (where is None or where(c))]

        what = f"{count} call(s) of {method}" + (" matching `where`" if where else "")
        return await self._wait(matching, count, timeout, what)

    async def wait_for_message(
        self,
        *,
        channel: str | None = None,
        where: Callable[[Message], bool] | None = None,
        count: int = 1,
        timeout: float = 5.0,
    ) -> list[Message]:
        """Wait for messages to exist (posted, ephemeral, or a shared file), whichever call."""

        def matching() -> list[Message]:
            return [m for m in self.messages(channel) if where is None or where(m)]

        what = f"{count} message(s)" + (f" in {channel}" if channel else "")
        return await self._wait(matching, count, timeout, what)

    async def wait_for_download(
        self,
        *,
        count: int = 1,
        where: Callable[[Transfer], bool] | None = None,
        timeout: float = 5.0,
    ) -> list[Transfer]:
        def matching() -> list[Transfer]:
            return [t for t in self.downloads if where is None or where(t)]

        return await self._wait(matching, count, timeout, f"{count} download(s)")

    async def wait_until(
        self, condition: Callable[[], bool], *, timeout: float = 5.0, what: str = "a condition"
    ) -> None:
        """Wait until `condition()` holds; it is checked after every request the fake records."""

        def matching() -> list[bool]:
            return [True] if condition() else []

        await self._wait(matching, 1, timeout, what)

    async def _wait(
        self, matching: Callable[[], list[T]], count: int, seconds: float, what: str
    ) -> list[T]:
        try:
            async with asyncio.timeout(seconds):
                async with self._changed:
                    await self._changed.wait_for(lambda: len(matching()) >= count)
        except TimeoutError:
            raise AssertionError(
                f"waited {seconds}s for {what}, found {len(matching())}; {self._describe_calls()}"
            ) from None
        return matching()

    def _describe_calls(self, limit: int = 40) -> str:
        if not self._calls and not self._transfers:
            return "the fake received no requests at all"
        lines = [c.summary() for c in self._calls[-limit:]]
        lines += [
            f"{t.kind} {t.file_id}/{t.name} -> HTTP {t.http_status}"
            + ("" if t.token_ok else " [no valid token]")
            for t in self._transfers[-limit:]
        ]
        skipped = max(0, len(self._calls) - limit)
        head = f"requests received ({len(self._calls)} calls, {len(self._transfers)} transfers)"
        more = f" (first {skipped} calls not shown)" if skipped else ""
        return head + more + ":\n  " + "\n  ".join(lines)

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int = 1,
        times: int = 1,
        error: str | None = None,
    ) -> None:
        """Make the next `times` calls of `method` fail.

        429 answers `Retry-After: <retry_after>` and `ratelimited`; 5xx answers that status with
        `internal_error`; 200 with `error=` answers that Slack error (e.g. "channel_not_found").
        """
        if status == 429:
            fault = _Fault(429, retry_after, error or "ratelimited")
        elif 500 <= status < 600:
            fault = _Fault(status, None, error or "internal_error")
        elif status == 200 and error:
            fault = _Fault(200, None, error)
        else:
            raise ValueError("status must be 429, 5xx, or 200 together with error=")
        queue = self._faults.setdefault(method, deque())
        queue.extend([fault] * times)

    # A name for `set_latency`: downloads from the file host rather than a Web API method.
    DOWNLOAD = "files:download"

    def set_latency(self, method: str, seconds: float) -> None:
        """Answer every later call of `method` (a Web API method, or `FakeSlack.DOWNLOAD` for
        the file host) only after `seconds`, as a slow Slack does; 0 answers at once again.
        Other requests are served meanwhile."""
        if method != self.DOWNLOAD and method not in self._handlers:
            raise ValueError(f"no such method in the fake: {method!r}")
        if seconds < 0:
            raise ValueError("latency cannot be negative")
        if seconds:
            self._latency[method] = seconds
        else:
            self._latency.pop(method, None)

    def hold(self, method: str) -> None:
        """Keep every later call of `method` unanswered until `release(method)`: a test sees
        what the bot does while it waits on Slack (`held(method)` counts the calls waiting)."""
        if method != self.DOWNLOAD and method not in self._handlers:
            raise ValueError(f"no such method in the fake: {method!r}")
        self._holds.setdefault(method, asyncio.Event())

    def release(self, method: str) -> None:
        """Answer the held calls of `method`, and every later one at once."""
        gate = self._holds.pop(method, None)
        if gate is not None:
            gate.set()

    def held(self, method: str) -> int:
        return self._held[method]

    async def _lag(self, method: str) -> None:
        gate = self._holds.get(method)
        if gate is not None:
            self._held[method] += 1
            try:
                await gate.wait()
            finally:
                self._held[method] -= 1
        seconds = self._latency.get(method)
        if seconds:
            await asyncio.sleep(seconds)  # the network being slow, not a test waiting

    # ------------------------------------------------------------------ HTTP endpoints

    async def _on_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args, form_token, parse_error = await _read_args(request)
        await self._lag(method)
        header_token = _bearer(request.headers.get("Authorization"))
        token_ok = self.bot_token in (header_token, form_token)
        headers: dict[str, str] = {}
        status = 200
        refused_for: tuple[str, ...] = ()

        fault_queue = self._faults.get(method)
        if method not in self._handlers:
            body: JSON = {"ok": False, "error": "unknown_method"}
        elif fault_queue:
            fault = fault_queue.popleft()
            status = fault.status
            body = {"ok": False, "error": fault.error}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
        elif header_token is None and form_token is None:
            body = {"ok": False, "error": "not_authed"}
        elif not token_ok:
            body = {"ok": False, "error": "invalid_auth"}
        elif parse_error is not None:
            body = {"ok": False, "error": parse_error}
        else:
            try:
                body = {"ok": True, **self._handlers[method](args)}
            except BlockKitRefusal as exc:
                body = exc.body()
                refused_for = tuple(exc.messages)
            except SlackError as exc:
                body = exc.body()
            except Exception as exc:  # a bug in the fake: make it loud, not a hang
                status = 500
                body = {"ok": False, "error": "fake_slack_crashed", "detail": repr(exc)}

        call = Call(
            method=method,
            args=args,
            token_ok=token_ok,
            http_status=status,
            response=body,
            at=time.monotonic(),
            content_type=request.content_type,
            refused_for=refused_for,
        )
        await self._record(call)
        headers["X-Slack-Req-Id"] = secrets.token_hex(16)
        return web.json_response(body, status=status, headers=headers)

    async def _on_download(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        name = request.match_info["name"]
        await self._lag(self.DOWNLOAD)
        token_ok = _bearer(request.headers.get("Authorization")) == self.bot_token
        stored = self.files.get(file_id)
        if not token_ok:
            # What Slack does without a valid token: a sign-in page, status 200.
            response = web.Response(text=_SIGN_IN_PAGE, content_type="text/html", status=200)
        elif stored is None or stored.content is None or stored.name != name or stored.deleted:
            response = web.Response(text="Not Found", content_type="text/html", status=404)
        else:
            response = web.Response(
                body=stored.content,
                content_type=stored.mimetype,
                headers={"Content-Disposition": f'attachment; filename="{stored.name}"'},
            )
        size = len(stored.content) if token_ok and stored and stored.content else 0
        await self._record(
            Transfer("download", file_id, name, token_ok, response.status, size, time.monotonic())
        )
        return response

    async def _on_upload(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        stored = next((f for f in self.files.values() if f.upload_key == key), None)
        data = await request.read()
        if stored is None:
            response = web.Response(text="Not Found", content_type="text/plain", status=404)
        else:
            stored.content = data
            response = web.Response(text=f"OK - {len(data)}", content_type="text/plain")
        file_id, name = (stored.id, stored.name) if stored else ("?", "?")
        await self._record(
            Transfer("upload", file_id, name, True, response.status, len(data), time.monotonic())
        )
        return response

    async def _on_hook(self, request: web.Request) -> web.Response:
        """A post to a response_url: recorded as a Call with method "response_url".

        Slack answers HTTP 400 with a one-word body (`invalid_blocks`, `no_text`) when refusing.
        """
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {"raw": raw.decode("utf-8", "replace")}
        args: JSON = {"url": request.match_info["path"]}
        args.update(body if isinstance(body, dict) else {"body": body})
        response: JSON = {"ok": True}
        status = 200
        refused_for: tuple[str, ...] = ()
        wanted = ("text", "blocks", "attachments", "delete_original")
        try:
            self._message_blocks(args.get("blocks"))
            if not any(args.get(k) for k in wanted):
                raise SlackError("no_text")
        except SlackError as exc:
            status, response = 400, exc.body()
            if isinstance(exc, BlockKitRefusal):
                refused_for = tuple(exc.messages)
        call = Call(
            "response_url", args, True, status, response, time.monotonic(), refused_for=refused_for
        )
        await self._record(call)
        return web.Response(text="ok" if status == 200 else response["error"], status=status)

    async def _record(self, item: Call | Transfer) -> None:
        async with self._changed:
            if isinstance(item, Call):
                self._calls.append(item)
            else:
                self._transfers.append(item)
            self._changed.notify_all()

    # ------------------------------------------------------------------ helpers for handlers

    def _channel(self, channel_id: Any) -> Channel:
        """Resolve a `channel` argument: a channel id, or a user id (the bot's DM with them)."""
        if not isinstance(channel_id, str) or not channel_id:
            raise SlackError("channel_not_found")
        if channel_id in self.channels:
            return self.channels[channel_id]
        if channel_id[0] in "UW" and channel_id in self.users:
            return self.open_im(channel_id)
        raise SlackError("channel_not_found")

    def _find_message(self, channel: Channel, ts: Any, *, allow_ephemeral: bool = False) -> Message:
        for m in self._messages:
            if m.channel == channel.id and m.ts == ts and not m.deleted:
                if m.ephemeral and not allow_ephemeral:
                    break
                return m
        raise SlackError("message_not_found")

    def _post(self, channel: Channel, args: JSON, *, ephemeral_to: str | None = None) -> Message:
        text = _text(args.get("text"))
        blocks = self._message_blocks(args.get("blocks"))
        attachments = args.get("attachments")
        if attachments is not None and not isinstance(attachments, list):
            raise SlackError("invalid_attachments")
        if not text and not blocks and not attachments:
            raise SlackError("no_text")
        if len(text) > _MAX_MESSAGE_TEXT:
            raise SlackError("msg_too_long")
        thread_ts = args.get("thread_ts") or None
        metadata = args.get("metadata")
        if metadata is not None and not _valid_metadata(metadata):
            raise SlackError("invalid_metadata_format")
        message = Message(
            channel=channel.id,
            ts=self._clock.next(),
            text=text,
            user=self.bot_user_id,
            blocks=blocks,
            attachments=attachments,
            thread_ts=str(thread_ts) if thread_ts else None,
            ephemeral=ephemeral_to is not None,
            target_user=ephemeral_to,
            metadata=args.get("metadata") if isinstance(args.get("metadata"), dict) else None,
            bot_id=self.bot_id,
        )
        self._messages.append(message)
        return message

    def _message_json(self, message: Message) -> JSON:
        msg = self.message_json(message)
        msg["bot_profile"] = {
            "id": self.bot_id,
            "app_id": self.api_app_id,
            "name": self.bot_name,
            "icons": {},
            "deleted": False,
            "updated": 1_700_000_000,
            "team_id": self.team_id,
        }
        return msg

    def _message_blocks(self, value: Any) -> list[JSON] | None:
        blocks = _message_blocks(value)
        self._known_files(blocks, "invalid_blocks", "/blocks")
        return blocks

    def _view(self, value: Any, *, kinds: tuple[str, ...]) -> JSON:
        view = _view(value, kinds=kinds)
        self._known_files(view.get("blocks"), "invalid_arguments", "/view/blocks")
        return view

    def _known_files(self, node: Any, error: str, pointer: str) -> None:
        """An image of an uploaded file (`slack_file`) names it by `id` or `url`, never both,
        and it must be a PNG, JPEG or GIF this workspace has: Slack refuses anything else."""
        if isinstance(node, dict):
            ref = node.get("slack_file")
            if isinstance(ref, dict) and not self._image_file(ref):
                raise BlockKitRefusal(
                    error, [f"[ERROR] invalid slack file [json-pointer:{pointer}/slack_file]"]
                )
            for key, value in node.items():
                self._known_files(value, error, f"{pointer}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                self._known_files(value, error, f"{pointer}/{index}")

    def _image_file(self, ref: dict[str, Any]) -> bool:
        if ("id" in ref) == ("url" in ref):
            return False
        if "url" in ref:  # the file's url_private or its permalink
            infos = [self.file_info(file_id) for file_id in self.files]
            found = [i for i in infos if ref["url"] in (i["url_private"], i["permalink"])]
        else:
            found = [self.file_info(ref["id"])] if ref["id"] in self.files else []
        return bool(found) and found[0]["mimetype"] in SLACK_FILE_IMAGES

    def _use_trigger(self, trigger_id: Any) -> None:
        if not isinstance(trigger_id, str) or not trigger_id:
            raise SlackError("invalid_arguments", "[ERROR] missing required field: trigger_id")
        if trigger_id in self._expired_triggers:
            raise SlackError("expired_trigger_id")
        if trigger_id in self._used_triggers:
            raise SlackError("exchanged_trigger_id")
        if trigger_id not in self._issued_triggers and not _TRIGGER_RE.match(trigger_id):
            raise SlackError("invalid_trigger_id")
        self._used_triggers.add(trigger_id)

    def _new_hash(self) -> str:
        return f"{int(time.time())}.{secrets.token_hex(4)}"

    # ------------------------------------------------------------------ Web API methods

    def _auth_test(self, args: JSON) -> JSON:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: JSON) -> JSON:
        channel = self._channel(args.get("channel"))
        message = self._post(channel, args)
        return {"channel": channel.id, "ts": message.ts, "message": self._message_json(message)}

    def _chat_post_ephemeral(self, args: JSON) -> JSON:
        channel = self._channel(args.get("channel"))
        user_id = args.get("user")
        if not isinstance(user_id, str) or user_id not in self.users:
            raise SlackError("user_not_found")
        if channel.members and user_id not in channel.members:
            raise SlackError("user_not_in_channel")
        message = self._post(channel, args, ephemeral_to=user_id)
        return {"message_ts": message.ts}

    def _chat_update(self, args: JSON) -> JSON:
        channel = self._channel(args.get("channel"))
        message = self._find_message(channel, args.get("ts"))
        if message.user != self.bot_user_id:
            raise SlackError("cant_update_message")
        text = _text(args.get("text"))
        # Slack keeps the previous blocks/attachments when the field is left out.
        blocks = self._message_blocks(args["blocks"]) if "blocks" in args else message.blocks
        attachments = args.get("attachments", message.attachments)
        if not text and not blocks and not attachments:
            raise SlackError("no_text")
        if len(text) > _MAX_MESSAGE_TEXT:
            raise SlackError("msg_too_long")
        message.history.append(
            {"text": message.text, "blocks": message.blocks, "attachments": message.attachments}
        )
        message.text, message.blocks, message.attachments = text, blocks, attachments
        return {
            "channel": channel.id,
            "ts": message.ts,
            "text": text,
            "message": self._message_json(message),
        }

    def _chat_delete(self, args: JSON) -> JSON:
        channel = self._channel(args.get("channel"))
        message = self._find_message(channel, args.get("ts"))
        if message.user != self.bot_user_id:
            raise SlackError("cant_delete_message")
        message.deleted = True
        return {"channel": channel.id, "ts": message.ts}

    def _chat_get_permalink(self, args: JSON) -> JSON:
        channel = self._channel(args.get("channel"))
        message = self._find_message(channel, args.get("message_ts"))
        link = (
            f"https://{self.team_domain}.slack.com/archives/{channel.id}"
            f"/p{message.ts.replace('.', '')}"
        )
        if message.thread_ts and message.thread_ts != message.ts:
            link += f"?thread_ts={message.thread_ts}&cid={channel.id}"
        return {"channel": channel.id, "permalink": link}

    def _conversations_info(self, args: JSON) -> JSON:
        channel_id = args.get("channel")
        if channel_id not in self.channels:
            raise SlackError("channel_not_found")
        channel = self.channels[channel_id]
        teams = {self.team_id}
        if channel.is_ext_shared:
            teams |= {self.users[m].team_id for m in channel.members if m in self.users}
        return {"channel": channel.info(team_id=self.team_id, shared_team_ids=sorted(teams))}

    def _conversations_members(self, args: JSON) -> JSON:
        channel_id = args.get("channel")
        if channel_id not in self.channels:
            raise SlackError("channel_not_found")
        members = self.channels[channel_id].members
        limit = int(args.get("limit") or 100)
        start = 0
        if args.get("cursor"):
            try:
                start = int(base64.b64decode(str(args["cursor"])).decode().split(":", 1)[1])
            except (ValueError, IndexError):
                raise SlackError("invalid_cursor") from None
        page = members[start : start + limit]
        end = start + len(page)
        cursor = base64.b64encode(f"offset:{end}".encode()).decode() if end < len(members) else ""
        return {"members": page, "response_metadata": {"next_cursor": cursor}}

    def _readable(self, args: JSON) -> Channel:
        """A channel the bot may read: it exists and the bot is in it (or it is a DM)."""
        channel = self._channel(args.get("channel"))
        if self.bot_user_id not in channel.members and not channel.id.startswith("D"):
            raise SlackError("not_in_channel")
        return channel

    def _listed(self, message: Message, args: JSON) -> JSON:
        msg = message.as_slack(team_id=self.team_id, app_id=self.api_app_id)
        if str(args.get("include_all_metadata")).lower() not in ("true", "1"):
            msg.pop("metadata", None)  # Slack sends metadata only when asked for it
        return msg

    def _conversations_history(self, args: JSON) -> JSON:
        """The channel's top-level messages (and thread replies also sent to the channel),
        newest first, between `oldest` and `latest` (exclusive unless `inclusive`)."""
        channel = self._readable(args)
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or 1e12)
        inclusive = str(args.get("inclusive")).lower() in ("true", "1")
        limit = min(int(args.get("limit") or 100), 999)

        def within(ts: float) -> bool:
            return oldest <= ts <= latest if inclusive else oldest < ts < latest

        found = [
            m
            for m in self._messages
            if m.channel == channel.id
            and not m.deleted
            and not m.ephemeral
            and (m.thread_ts is None or m.thread_ts == m.ts)
            and within(float(m.ts))
        ]
        found.sort(key=lambda m: float(m.ts), reverse=True)
        page = found[:limit]
        return {
            "messages": [self._listed(m, args) for m in page],
            "has_more": len(found) > limit,
            "response_metadata": {"next_cursor": ""},
        }

    def _conversations_replies(self, args: JSON) -> JSON:
        """A thread: its parent first, then its replies, oldest first."""
        channel = self._readable(args)
        parent_ts = str(args.get("ts") or "")
        if not parent_ts:
            raise SlackError("invalid_arguments", "[ERROR] missing required field: ts")
        thread = [
            m
            for m in self._messages
            if m.channel == channel.id
            and not m.deleted
            and not m.ephemeral
            and (m.ts == parent_ts or m.thread_ts == parent_ts)
        ]
        if not any(m.ts == parent_ts for m in thread):
            raise SlackError("thread_not_found")  # `ts` must be a message of the channel
        thread.sort(key=lambda m: float(m.ts))
        limit = min(int(args.get("limit") or 1000), 1000)
        return {
            "messages": [self._listed(m, args) for m in thread[:limit]],
            "has_more": len(thread) > limit,
            "response_metadata": {"next_cursor": ""},
        }

    def _conversations_open(self, args: JSON) -> JSON:
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if len(users) != 1:
            raise SlackError("users_list_not_supplied" if not users else "not_implemented")
        if users[0] not in self.users:
            raise SlackError("user_not_found")
        existed = any(c.is_im and c.im_user == users[0] for c in self.channels.values())
        channel = self.open_im(users[0])
        body: JSON = {"channel": {"id": channel.id}}
        if existed:
            body |= {"no_op": True, "already_open": True}
        return body

    def _users_info(self, args: JSON) -> JSON:
        user = self.users.get(str(args.get("user") or ""))
        if user is None:
            raise SlackError("user_not_found")
        return {
            "user": user.info(
                include_locale=_truthy(args.get("include_locale")), include_email=self.email_scope
            )
        }

    def _users_conversations(self, args: JSON) -> JSON:
        """The conversations a user is a member of (the bot's token asks about `user`)."""
        user_id = str(args.get("user") or "")
        if user_id not in self.users:
            raise SlackError("user_not_found")
        wanted = {t for t in str(args.get("types") or "public_channel").split(",") if t}

        def kind(channel: Channel) -> str:
            if channel.is_im:
                return "im"
            return "private_channel" if channel.is_private else "public_channel"

        found = [c for c in self.channels.values() if user_id in c.members and kind(c) in wanted]
        limit = int(args.get("limit") or 100)
        start = 0
        if args.get("cursor"):
            try:
                start = int(base64.b64decode(str(args["cursor"])).decode().split(":", 1)[1])
            except (ValueError, IndexError):
                raise SlackError("invalid_cursor") from None
        page = found[start : start + limit]
        end = start + len(page)
        cursor = base64.b64encode(f"offset:{end}".encode()).decode() if end < len(found) else ""
        return {
            "channels": [
                c.info(team_id=self.team_id, shared_team_ids=[self.team_id]) for c in page
            ],
            "response_metadata": {"next_cursor": cursor},
        }

    def _views_open(self, args: JSON) -> JSON:
        view_json = self._view(args.get("view"), kinds=("modal",))
        self._use_trigger(args.get("trigger_id") or args.get("interactivity_pointer"))
        view_id = self._ids.new("V")
        view = View(view_id, "modal", view_json, self._new_hash(), root_view_id=view_id)
        view.trigger_id = args.get("trigger_id")
        self.views[view_id] = view
        return {"view": self.view_json(view)}

    def _views_push(self, args: JSON) -> JSON:
        view_json = self._view(args.get("view"), kinds=("modal",))
        self._use_trigger(args.get("trigger_id") or args.get("interactivity_pointer"))
        view_id = self._ids.new("V")
        view = View(view_id, "modal", view_json, self._new_hash(), root_view_id=None)
        view.trigger_id = args.get("trigger_id")
        self.views[view_id] = view
        return {"view": self.view_json(view)}

    def _views_update(self, args: JSON) -> JSON:
        view: View | None = None
        if args.get("view_id"):
            view = self.views.get(str(args["view_id"]))
        elif args.get("external_id"):
            ext = args["external_id"]
            view = next((v for v in self.views.values() if v.view.get("external_id") == ext), None)
        else:
            raise SlackError("invalid_arguments", "[ERROR] view_id or external_id is required")
        if view is None:
            raise SlackError("not_found")
        if args.get("hash") and args["hash"] != view.hash:
            raise SlackError("hash_conflict")
        view.view = self._view(args.get("view"), kinds=(view.type,))
        view.hash = self._new_hash()
        return {"view": self.view_json(view)}

    def _views_publish(self, args: JSON) -> JSON:
        user_id = args.get("user_id")
        if not isinstance(user_id, str) or not user_id:
            raise SlackError("invalid_arguments", "[ERROR] missing required field: user_id")
        view_json = self._view(args.get("view"), kinds=("home",))
        current = self.home_views.get(user_id)
        if current is not None and args.get("hash") and args["hash"] != current.hash:
            raise SlackError("hash_conflict")
        view_id = current.id if current else self._ids.new("V")
        view = View(view_id, "home", view_json, self._new_hash(), root_view_id=view_id)
        view.user_id = user_id
        self.views[view_id] = view
        self.home_views[user_id] = view
        return {"view": self.view_json(view)}

    def _files_info(self, args: JSON) -> JSON:
        file_id = str(args.get("file") or "")
        if file_id not in self.files:
            raise SlackError("file_not_found")
        if self.files[file_id].deleted:
            raise SlackError("file_deleted")
        return {
            "file": self.file_info(file_id),
            "comments": [],
            "response_metadata": {"next_cursor": ""},
        }

    def _files_delete(self, args: JSON) -> JSON:
        """A bot token deletes only the files the bot uploaded; anyone else's is
        `cant_delete_file` (only the uploader or a workspace admin may delete those)."""
        stored = self.files.get(str(args.get("file") or ""))
        if stored is None:
            raise SlackError("file_not_found")
        if stored.deleted:
            raise SlackError("file_deleted")
        if stored.user != self.bot_user_id:
            raise SlackError("cant_delete_file")
        stored.deleted = True
        return {}

    def _files_get_upload_url_external(self, args: JSON) -> JSON:
        filename = args.get("filename")
        try:
            length = int(args.get("length"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise SlackError("invalid_arguments", "[ERROR] length must be an integer") from None
        if not isinstance(filename, str) or not filename or length < 1:
            raise SlackError("invalid_arguments", "[ERROR] filename and length are required")
        stored = StoredFile(
            id=self._ids.new("F"),
            name=filename,
            title=filename,
            mimetype=_guess_mimetype(filename),
            user=self.bot_user_id,
            user_team=self.team_id,
            expected_length=length,
            upload_key=secrets.token_urlsafe(24),
        )
        self.files[stored.id] = stored
        return {"upload_url": f"{self.base_url}upload/v1/{stored.upload_key}", "file_id": stored.id}

    def _files_complete_upload_external(self, args: JSON) -> JSON:
        entries = args.get("files")
        if not isinstance(entries, list) or not entries:
            raise SlackError("invalid_arguments", "[ERROR] files must be a non-empty JSON array")
        stored_files: list[StoredFile] = []
        for entry in entries:
            stored = self.files.get(str(entry.get("id") if isinstance(entry, dict) else ""))
            if stored is None or stored.content is None:
                raise SlackError("file_not_found")
            if isinstance(entry, dict) and entry.get("title"):
                stored.title = str(entry["title"])
            stored_files.append(stored)
        targets: list[str] = []
        if args.get("channel_id"):
            targets.append(str(args["channel_id"]))
        targets += [c for c in str(args.get("channels") or "").split(",") if c]
        channels = [self._channel(c) for c in targets]
        thread_ts = args.get("thread_ts") or None
        if thread_ts and len(channels) != 1:
            raise SlackError("invalid_arguments", "[ERROR] thread_ts needs exactly one channel")
        for channel in channels:
            for stored in stored_files:
                stored.channels.append(channel.id)
            self._messages.append(
                Message(
                    channel=channel.id,
                    ts=self._clock.next(),
                    text=_text(args.get("initial_comment")),
                    user=self.bot_user_id,
                    thread_ts=str(thread_ts) if thread_ts else None,
                    files=[f.id for f in stored_files],
                    bot_id=self.bot_id,
                )
            )
        return {"files": [{"id": f.id, "title": f.title} for f in stored_files]}

    def _reactions_add(self, args: JSON) -> JSON:
        channel = self._channel(args.get("channel"))
        name = str(args.get("name") or "").strip(":")
        if not name:
            raise SlackError("invalid_name")
        message = self._find_message(channel, args.get("timestamp"))
        users = message.reactions.setdefault(name, [])
        if self.bot_user_id in users:
            raise SlackError("already_reacted")
        users.append(self.bot_user_id)
        return {}


# ---------------------------------------------------------------------- request parsing


def _valid_metadata(value: Any) -> bool:
    """Message metadata as Slack documents it: an object with a non-empty `event_type` string
    and an `event_payload` object."""
    return (
        isinstance(value, dict)
        and isinstance(value.get("event_type"), str)
        and bool(value["event_type"])
        and isinstance(value.get("event_payload"), dict)
    )


async def _read_args(request: web.Request) -> tuple[JSON, str | None, str | None]:
    """Query + body as one dict; returns (args, token given in query/form, parse error)."""
    args: JSON = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            raw = await request.read()
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                return args, None, "invalid_json"
            if not isinstance(body, dict):
                return args, None, "invalid_json"
            body.pop("token", None)  # Slack wants the token in the header for JSON bodies
            args.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key in form:
                value = form[key]
                if isinstance(value, str):
                    args[key] = value
                elif isinstance(value, web.FileField):
                    args[key] = f"<file {value.filename}>"
                else:
                    args[key] = bytes(value).decode("utf-8", "replace")
    for key in _JSON_STRING_FIELDS & args.keys():
        value = args[key]
        if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
            # Left as a string when it does not parse; the method answers invalid_*_format.
            with contextlib.suppress(ValueError):
                args[key] = json.loads(value)
    token = args.pop("token", None)
    return args, token if isinstance(token, str) else None, None


def _bearer(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _guess_mimetype(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _message_blocks(value: Any) -> list[JSON] | None:
    """A message's blocks, refused as Slack refuses them; None when absent."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise SlackError("invalid_blocks_format")
    problems = validate_blocks(value, surface="message")
    if problems:
        raise BlockKitRefusal("invalid_blocks", problems)
    return value


def _view(value: Any, *, kinds: tuple[str, ...]) -> JSON:
    """A view object of one of `kinds`, refused (`invalid_arguments`) as Slack refuses it."""
    if value is None:
        raise SlackError("invalid_arguments", "[ERROR] missing required field: view")
    problems = validate_view(value, kinds=kinds)
    if problems:
        raise BlockKitRefusal("invalid_arguments", problems)
    assert isinstance(value, dict)
    return value
