"""`python -m bot shell`: the same conversation in a terminal, offline, on the embedded store.

The shell is a Slack adapter, like Hubot's shell adapter: it hands the real Bolt app the payloads
Slack would send (slash commands, mentions, clicks, form submissions, uploads) and answers the
app's Web API calls from a loopback workspace that prints messages instead of posting them.
Every handler, flow and store path is the one the Slack deployment runs.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import mimetypes
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.app import create_app
from bot.config import Settings
from bot.services import Services
from bot.shell.workspace import BOT_TOKEN, BOT_USER_ID, TEAM_ID, Terminal, Workspace

CHANNEL_ID = "C0SHELL00"
USERS = {"customer": "U0CUSTOMER", "se": "U0SHELLSE", "manager": "U0MANAGER"}
LOCALES = {"zh": "zh-CN", "en": "en-US"}

SHELL_HELP = """\
Shell commands:
  /onboard …                  a slash command, as in Slack
  <number>                    click the numbered button or pick the numbered option
  :upload <path> [message]    upload a file to the channel, with an optional message
  :as customer|se|manager     act as another person (default: customer)
  :lang zh|en                 your Slack language (default: zh)
  :quit                       leave (Ctrl-D works too)
Anything else is a message to the bot, as if you had @mentioned it in the channel.
"""


@dataclass
class Shell:
    app: AsyncApp
    workspace: Workspace
    services: Services
    persona: str = "customer"
    locales: dict[str, str] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def terminal(self) -> Terminal:
        return self.workspace.terminal

    @property
    def user_id(self) -> str:
        return USERS[self.persona]

    async def dispatch(self, body: dict[str, Any]) -> dict[str, Any] | None:
        response = await self.app.async_dispatch(AsyncBoltRequest(body=body, mode="socket_mode"))
        if response.status >= 400:
            self.terminal.write(f"--- (the bot answered {response.status})")
            return None
        if not response.body:
            return None
        try:
            parsed = json.loads(response.body)
        except ValueError:
            return {"text": response.body}
        return parsed if isinstance(parsed, dict) else None

    async def command(self, text: str) -> None:
        name, _, rest = text.partition(" ")
        body = {
            "token": "shell",
            "team_id": TEAM_ID,
            "channel_id": CHANNEL_ID,
            "channel_name": "shell",
            "user_id": self.user_id,
            "user_name": self.persona,
            "command": name,
            "text": rest.strip(),
            "trigger_id": self._trigger(),
            "response_url": "",
            "api_app_id": "A0SHELL",
        }
        reply = await self.dispatch(body)
        if reply and (reply.get("text") or reply.get("blocks")):
            self.terminal.render(
                reply.get("blocks"),
                str(reply.get("text", "")),
                tag="bot (only you can see this)",
                channel=CHANNEL_ID,
            )

    async def say(self, text: str, files: list[dict[str, Any]] | None = None) -> None:
        """A message in the channel; without files it mentions the bot (a question)."""
        ts = self.workspace.next_ts()
        if files:
            event: dict[str, Any] = {
                "type": "message",
                "subtype": "file_share",
                "user": self.user_id,
                "text": text,
                "ts": ts,
                "channel": CHANNEL_ID,
                "channel_type": "channel",
                "files": files,
            }
        else:
            event = {
                "type": "app_mention",
                "user": self.user_id,
                "text": f"<@{BOT_USER_ID}> {text}",
                "ts": ts,
                "channel": CHANNEL_ID,
            }
        await self.dispatch(self._envelope(event))

    async def upload(self, args: str) -> None:
        path_text, _, message = args.strip().partition(" ")
        path = Path(path_text)
        content = await asyncio.to_thread(_read, path) if path_text else None
        if content is None:
            self.terminal.write(f"--- cannot read the file {path_text or '(none given)'}")
            return
        mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        stored = self.workspace.add_file(path.name, content, mimetype, self.user_id)
        await self.say(message.strip(), files=[stored])

    async def click(self, number: int) -> None:
        clickables = self.terminal.clickables
        if not 1 <= number <= len(clickables):
            self.terminal.write(f"--- there is no choice {number}")
            return
        target = clickables[number - 1]
        action = dict(target.element, block_id=target.block_id, action_ts=self.workspace.next_ts())
        payload: dict[str, Any] = {
            "type": "block_actions",
            "team": {"id": TEAM_ID},
            "user": {"id": self.user_id, "team_id": TEAM_ID, "username": self.persona},
            "api_app_id": "A0SHELL",
            "trigger_id": self._trigger(),
            "response_url": "",
            "actions": [action],
        }
        if target.message_ts is not None:
            message = self.workspace.messages.get(target.message_ts, {"ts": target.message_ts})
            payload["channel"] = {"id": target.channel or CHANNEL_ID}
            payload["container"] = {
                "type": "message",
                "message_ts": target.message_ts,
                "channel_id": target.channel or CHANNEL_ID,
            }
            payload["message"] = message
        else:
            payload["channel"] = {"id": target.channel or CHANNEL_ID}
            payload["container"] = {
                "type": "message",
                "channel_id": target.channel or CHANNEL_ID,
                "is_ephemeral": True,
            }
        await self.dispatch(payload)

    def _trigger(self) -> str:
        return f"trig-shell-{next(self._ids)}"

    def _envelope(self, event: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "event_callback",
            "team_id": TEAM_ID,
            "api_app_id": "A0SHELL",
            "event": event,
            "event_id": f"EvSHELL{next(self._ids):06d}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
        }

    async def handle(self, line: str) -> bool:
        """Run one line of input; False when the user wants to leave."""
        line = line.strip()
        if not line:
            return True
        word, _, rest = line.partition(" ")
        if word in (":quit", ":q", ":exit"):
            return False
        if word == ":help":
            self.terminal.write(SHELL_HELP)
        elif word == ":as":
            if rest.strip() in USERS:
                self.persona = rest.strip()
                self.terminal.write(f"--- you are now the {self.persona} ({self.user_id})")
            else:
                self.terminal.write("--- usage: :as customer|se|manager")
        elif word == ":lang":
            if rest.strip() in LOCALES:
                self.locales[self.user_id] = LOCALES[rest.strip()]
                self.services.locales.remember(self.user_id, LOCALES[rest.strip()])
                self.terminal.write(f"--- your Slack language is now {LOCALES[rest.strip()]}")
            else:
                self.terminal.write("--- usage: :lang zh|en")
        elif word == ":upload":
            await self.upload(rest)
        elif word.startswith(":"):
            self.terminal.write(f"--- unknown shell command {word}; :help lists them")
        elif line.startswith("/"):
            await self.command(line)
        elif line.isdigit():
            await self.click(int(line))
        else:
            await self.say(line)
        return True


def _read(path: Path) -> bytes | None:
    try:
        return path.expanduser().read_bytes()
    except OSError:
        return None


async def open_shell(
    settings: Settings, terminal: Terminal | None = None
) -> tuple[Shell, Services]:
    """A shell on the embedded store, whatever `REDIS_URL` says: it is for trying things.

    The caller closes it with `close_shell`.
    """
    locales: dict[str, str] = dict.fromkeys(USERS.values(), LOCALES["zh"])
    workspace = Workspace(terminal or Terminal(), lambda user: locales.get(user, LOCALES["zh"]))
    await workspace.start()
    offline = settings.model_copy(
        update={
            "redis_url": None,
            "slack_bot_token": SecretStr(BOT_TOKEN),
            "slack_api_url": workspace.api_url,
            "onboarding_se_users": (USERS["se"],),
            "onboarding_manager_users": (USERS["manager"],),
        }
    )
    services = await Services.start(offline)
    app = create_app(services, verify_requests=False, process_before_response=True)
    return Shell(app=app, workspace=workspace, services=services, locales=locales), services


async def close_shell(shell: Shell, services: Services) -> None:
    await services.aclose()
    await shell.workspace.stop()


async def run_shell(settings: Settings) -> None:
    shell, services = await open_shell(settings)
    shell.terminal.write("Onboarding bot shell (offline; nothing is saved). Type :help for help.")
    try:
        while True:
            try:
                line = await asyncio.to_thread(input, f"{shell.persona}> ")
            except EOFError:
                break
            if not await shell.handle(line):
                break
    finally:
        await close_shell(shell, services)
