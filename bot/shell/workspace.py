"""The shell's Slack workspace: a loopback Web API that prints what users would see.

Bolt builds a fresh Web API client for every request from the app's base URL, so the shell
answers at the network boundary, like Slack: the bot's code paths (client, retries, downloads
with the bot token) are the ones it runs against Slack.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from aiohttp import web

TEAM_ID = "T0SHELL00"
BOT_USER_ID = "U0SHELLBOT"
BOT_TOKEN = "xoxb-shell-offline"  # noqa: S105 - only ever sent to the shell's own loopback server

_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_BARE_LINK = re.compile(r"<(https?://[^|>]+)>")
_MENTION = re.compile(r"<@([A-Z0-9]+)>")


def mrkdwn_to_text(text: str) -> str:
    text = _LINK.sub(r"\2 (\1)", text)
    text = _BARE_LINK.sub(r"\1", text)
    text = _MENTION.sub(r"@\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@dataclass
class Clickable:
    """A button or menu option the user can pick by its number."""

    element: dict[str, Any]
    block_id: str | None
    channel: str | None
    message_ts: str | None
    view_id: str | None = None


@dataclass
class Terminal:
    """Where the shell writes. Tests read the same lines."""

    write: Callable[[str], None] = field(default=lambda line: print(line, flush=True))
    clickables: list[Clickable] = field(default_factory=list)

    def render(
        self,
        blocks: list[dict[str, Any]] | None,
        text: str,
        *,
        tag: str,
        channel: str | None = None,
        message_ts: str | None = None,
    ) -> None:
        self.write(f"--- {tag}")
        if not blocks:
            self.write(mrkdwn_to_text(text))
            return
        for block in blocks:
            kind = block.get("type")
            block_id = block.get("block_id")
            if kind in ("section", "header"):
                text_object = block.get("text") or {}
                body = text_object.get("text", "")
                if body:
                    # Plain text (a header) is shown as written; only mrkdwn has markup.
                    markup = text_object.get("type") == "mrkdwn"
                    self.write(mrkdwn_to_text(body) if markup else body)
                for item in block.get("fields") or []:
                    self.write("  " + mrkdwn_to_text(item.get("text", "")))
                if block.get("accessory"):
                    self._choice(block["accessory"], block_id, channel, message_ts)
            elif kind == "context":
                for element in block.get("elements", []):
                    if element.get("text"):
                        self.write("  (" + mrkdwn_to_text(element["text"]) + ")")
            elif kind == "actions":
                for element in block.get("elements", []):
                    self._choice(element, block_id, channel, message_ts)
            elif kind == "divider":
                self.write("  ----")

    def _choice(
        self, element: dict[str, Any], block_id: str | None, channel: str | None, ts: str | None
    ) -> None:
        if element.get("type") == "button":
            self.clickables.append(Clickable(element, block_id, channel, ts))
            label = (element.get("text") or {}).get("text", "")
            url = element.get("url")
            self.write(f"  [{len(self.clickables)}] {label}" + (f" ({url})" if url else ""))
        elif element.get("type") in ("static_select", "overflow"):
            for option in element.get("options", []):
                picked = dict(element, selected_option=option)
                self.clickables.append(Clickable(picked, block_id, channel, ts))
                label = (option.get("text") or {}).get("text", "")
                self.write(f"  [{len(self.clickables)}] {label}")


@dataclass
class StoredFile:
    id: str
    name: str
    mimetype: str
    content: bytes
    user: str
    created: int


class Workspace:
    """In-memory messages, views and files, behind a loopback Web API."""

    def __init__(
        self,
        terminal: Terminal,
        locale_of: Callable[[str], str],
        members: tuple[str, ...] = (),
        channels: tuple[str, ...] = (),
        *,
        say: Callable[..., str],
    ) -> None:
        # What the shell says around the bot's messages (`shell.tags.*`), in the user's language.
        self.say = say
        self.terminal = terminal
        self.members = members
        self.channels = channels
        self.locale_of = locale_of
        self.messages: dict[str, dict[str, Any]] = {}
        self.files: dict[str, StoredFile] = {}
        self.open_views: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._on_api)
        app.router.add_get("/api/{method}", self._on_api)
        app.router.add_get("/files/{file_id}/{name}", self._on_download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ids):06d}"

    def new_id(self, prefix: str) -> str:
        return f"{prefix}0SHELL{next(self._ids):05d}"

    # -- files --------------------------------------------------------------------------------
    def add_file(self, name: str, content: bytes, mimetype: str, user: str) -> dict[str, Any]:
        stored = StoredFile(self.new_id("F"), name, mimetype, content, user, int(time.time()))
        self.files[stored.id] = stored
        return self._file_json(stored)

    def _file_json(self, f: StoredFile) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.port}/files/{f.id}/{quote(f.name)}"
        return {
            "id": f.id,
            "name": f.name,
            "title": f.name,
            "mimetype": f.mimetype,
            "filetype": f.name.rsplit(".", 1)[-1].lower() if "." in f.name else "",
            "size": len(f.content),
            "user": f.user,
            "created": f.created,
            "url_private": url,
            "url_private_download": url,
            "permalink": f"https://shell.invalid/files/{f.id}",
        }

    async def _on_download(self, request: web.Request) -> web.StreamResponse:
        stored = self.files.get(request.match_info["file_id"])
        if request.headers.get("Authorization") != f"Bearer {BOT_TOKEN}" or stored is None:
            return web.Response(text="<html>sign in</html>", content_type="text/html")
        return web.Response(body=stored.content, content_type="application/octet-stream")

    # -- Web API ------------------------------------------------------------------------------
    async def _on_api(self, request: web.Request) -> web.Response:
        args: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            args.update(await request.json())
        else:
            args.update(dict(await request.post()))
        for key in ("blocks", "view", "attachments"):
            if isinstance(args.get(key), str):
                with contextlib.suppress(ValueError):
                    args[key] = json.loads(args[key])
        if request.headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        return web.json_response(self.answer(request.match_info["method"], args))

    def answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "user_id": BOT_USER_ID, "team_id": TEAM_ID, "bot_id": "B0SHELL"}
        if method == "users.info":
            user = str(args.get("user"))
            return {
                "ok": True,
                "user": {"id": user, "team_id": TEAM_ID, "locale": self.locale_of(user)},
            }
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            return self._message(method, args)
        if method == "chat.getPermalink":
            return {
                "ok": True,
                "permalink": f"https://shell.invalid/archives/{args.get('channel')}/p{args.get('message_ts')}",
            }
        if method == "files.info":
            stored = self.files.get(str(args.get("file")))
            if stored is None:
                return {"ok": False, "error": "file_not_found"}
            return {"ok": True, "file": self._file_json(stored)}
        if method in ("views.open", "views.push"):
            view = dict(args.get("view") or {}, id=self.new_id("V"))
            self.open_views.append(view)
            return {"ok": True, "view": view}
        if method == "views.update":
            view = dict(args.get("view") or {}, id=args.get("view_id"))
            self.open_views = [v for v in self.open_views if v.get("id") != view["id"]] + [view]
            return {"ok": True, "view": view}
        if method == "views.publish":
            view = args.get("view") or {}
            self.terminal.render(view.get("blocks"), "", tag=self.say("tags.home"))
            return {"ok": True, "view": dict(view, id=self.new_id("V"))}
        if method == "conversations.members":
            # Everyone in the shell is in its one channel.
            return {
                "ok": True,
                "members": [*self.members, BOT_USER_ID],
                "response_metadata": {"next_cursor": ""},
            }
        if method == "users.conversations":
            return {
                "ok": True,
                "channels": [{"id": c} for c in self.channels],
                "response_metadata": {"next_cursor": ""},
            }
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D0SHELL" + str(args.get("users", ""))[-4:]}}
        return {"ok": False, "error": "unknown_method"}

    def _message(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel"))
        ts = str(args.get("ts") or self.next_ts())
        message = {"ts": ts, "text": args.get("text", ""), "blocks": args.get("blocks") or []}
        self.messages[ts] = message
        kind = {
            "chat.postMessage": "posted",
            "chat.update": "updated",
            "chat.postEphemeral": "ephemeral",
        }[method]
        tag = self.say(f"tags.{kind}", channel=channel)
        if args.get("thread_ts"):
            tag += self.say("tags.in_thread")
        self.terminal.render(
            message["blocks"], str(message["text"]), tag=tag, channel=channel, message_ts=ts
        )
        return {"ok": True, "channel": channel, "ts": ts, "message_ts": ts, "message": message}
