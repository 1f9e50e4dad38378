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
from bot.config import Settings, TicketBackend
from bot.i18n import Catalog, Lang, lang_from_locale, load_catalog
from bot.mrkdwn import escape
from bot.services import Services
from bot.shell.workspace import (
    BOT_TOKEN,
    BOT_USER_ID,
    TEAM_ID,
    Terminal,
    Workspace,
    mrkdwn_to_text,
)

CHANNEL_ID = "C0SHELL00"
OPS_CHANNEL_ID = "C0SHELLOPS"
USERS = {"customer": "U0CUSTOMER", "se": "U0SHELLSE", "manager": "U0MANAGER"}
LOCALES = {"zh": "zh-CN", "en": "en-US"}


@dataclass
class Voice:
    """What the shell itself says (`shell.*` in the content), in the current person's language."""

    catalog: Catalog
    lang: Lang = Lang.ZH

    def __call__(self, key: str, **params: object) -> str:
        return self.catalog.t(self.lang, f"shell.{key}", **params)


@dataclass
class FormSession:
    """A form (modal) being filled in at the prompt, one field per line."""

    view: dict[str, Any]
    fields: list[dict[str, Any]]
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    position: int = 0

    @classmethod
    def of(cls, view: dict[str, Any]) -> FormSession:
        inputs = [b for b in view.get("blocks", []) if b.get("type") == "input"]
        return cls(view=view, fields=inputs)

    @property
    def current(self) -> dict[str, Any] | None:
        return self.fields[self.position] if self.position < len(self.fields) else None

    def ask(self, terminal: Terminal, say: Voice) -> None:
        block = self.current
        if block is None:
            return
        label = (block.get("label") or {}).get("text", "")
        element = block.get("element") or {}
        optional = say("optional") if block.get("optional") else ""
        if element.get("type") == "checkboxes":
            terminal.write(say("checkbox_prompt", label=label))
            for i, opt in enumerate(element.get("options", []), 1):
                terminal.write(f"    {i}) {mrkdwn_to_text(opt['text']['text'])}")
        else:
            hint = (block.get("hint") or {}).get("text")
            terminal.write(f"? {label}{optional}" + (f"  ({hint})" if hint else ""))

    def answer(self, line: str, say: Voice) -> str | None:
        """Record the answer to the current field; a complaint when it cannot be taken."""
        block = self.current
        assert block is not None
        element = block.get("element") or {}
        action_id = element.get("action_id", "value")
        text = line.strip()
        if not text and not block.get("optional"):
            return say("field_required")
        if element.get("type") == "checkboxes":
            options = element.get("options", [])
            if text.lower() == "all":
                chosen = options
            else:
                try:
                    picks = [int(p) for p in text.replace(" ", "").split(",") if p]
                    chosen = [options[i - 1] for i in picks if 1 <= i <= len(options)]
                except ValueError:
                    return say("field_numbers")
            value: dict[str, Any] = {"type": "checkboxes", "selected_options": chosen}
        else:
            value = {"type": element.get("type", "plain_text_input"), "value": text or None}
        self.values[block["block_id"]] = {action_id: value}
        self.position += 1
        return None

    def reopen(self, errors: dict[str, str]) -> None:
        """Ask again the fields the bot refused."""
        self.fields = [b for b in self.fields if b.get("block_id") in errors]
        self.position = 0


@dataclass
class Shell:
    app: AsyncApp
    workspace: Workspace
    services: Services
    voice: Voice
    persona: str = "customer"
    locales: dict[str, str] = field(default_factory=dict)
    form: FormSession | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def terminal(self) -> Terminal:
        return self.workspace.terminal

    @property
    def user_id(self) -> str:
        return USERS[self.persona]

    def lang_of(self, user_id: str) -> Lang:
        return lang_from_locale(self.locales.get(user_id), Lang.ZH)

    async def dispatch(self, body: dict[str, Any]) -> dict[str, Any] | None:
        # Its own task, as each HTTP request has: what a request puts in context variables (the
        # tenant its log lines name) stays with that request.
        response = await asyncio.create_task(
            self.app.async_dispatch(AsyncBoltRequest(body=body, mode="socket_mode"))
        )
        # Effects started in the background (after an ack) finish before the next prompt.
        await self.services.runner.settle()
        if self.workspace.open_views and self.form is None:
            self._open_form(self.workspace.open_views.pop())
        if response.status >= 400:
            self.terminal.write(self.voice("bot_status", status=response.status))
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
            # As Slack sends typed text: `&`, `<` and `>` escaped.
            "text": escape(rest.strip()),
            "trigger_id": self._trigger(),
            "response_url": "",
            "api_app_id": "A0SHELL",
        }
        reply = await self.dispatch(body)
        if reply and (reply.get("text") or reply.get("blocks")):
            self.terminal.render(
                reply.get("blocks"),
                str(reply.get("text", "")),
                tag=self.voice("tags.only_you"),
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
                "text": escape(text),
                "ts": ts,
                "channel": CHANNEL_ID,
                "channel_type": "channel",
                "files": files,
            }
        else:
            event = {
                "type": "app_mention",
                "user": self.user_id,
                "text": f"<@{BOT_USER_ID}> {escape(text)}",
                "ts": ts,
                "channel": CHANNEL_ID,
            }
        await self.dispatch(self._envelope(event))

    async def upload(self, args: str) -> None:
        path_text, _, message = args.strip().partition(" ")
        path = Path(path_text)
        content = await asyncio.to_thread(_read, path) if path_text else None
        if content is None:
            shown = path_text or self.voice("no_path")
            self.terminal.write(self.voice("cannot_read", path=shown))
            return
        mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        stored = self.workspace.add_file(path.name, content, mimetype, self.user_id)
        await self.say(message.strip(), files=[stored])

    async def click(self, number: int) -> None:
        clickables = self.terminal.clickables
        if not 1 <= number <= len(clickables):
            self.terminal.write(self.voice("no_choice", number=number))
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

    def _open_form(self, view: dict[str, Any]) -> None:
        self.form = FormSession.of(view)
        title = (view.get("title") or {}).get("text", "")
        self.terminal.write(self.voice("form_open", title=title))
        for block in view.get("blocks", []):
            if block.get("type") in ("section", "context"):
                text = (block.get("text") or {}).get("text") or " ".join(
                    e.get("text", "") for e in block.get("elements", [])
                )
                if text:
                    self.terminal.write(mrkdwn_to_text(text))
        self.form.ask(self.terminal, self.voice)

    async def fill(self, line: str) -> None:
        form = self.form
        assert form is not None
        if line.strip() == ":cancel":
            self.form = None
            self.terminal.write(self.voice("form_closed"))
            return
        complaint = form.answer(line, self.voice)
        if complaint:
            self.terminal.write(f"--- {complaint}")
        if form.current is not None:
            form.ask(self.terminal, self.voice)
            return
        await self.submit(form)

    async def submit(self, form: FormSession) -> None:
        view = dict(form.view, state={"values": form.values})
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM_ID},
            "user": {"id": self.user_id, "team_id": TEAM_ID, "username": self.persona},
            "api_app_id": "A0SHELL",
            "trigger_id": self._trigger(),
            "view": view,
        }
        self.form = None
        reply = await self.dispatch(payload)
        errors = (
            (reply or {}).get("errors")
            if (reply or {}).get("response_action") == "errors"
            else None
        )
        if errors:
            for block_id, message in errors.items():
                self.terminal.write(f"--- {block_id}: {mrkdwn_to_text(str(message))}")
            form.reopen(errors)
            self.form = form
            form.ask(self.terminal, self.voice)

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
        if self.form is not None:
            await self.fill(line)
            return True
        line = line.strip()
        if not line:
            return True
        word, _, rest = line.partition(" ")
        if word in (":quit", ":q", ":exit"):
            return False
        if word == ":help":
            persona = self.voice(f"personas.{self.persona}")
            self.terminal.write(self.voice("help", persona=persona))
        elif word == ":as":
            if rest.strip() in USERS:
                self.persona = rest.strip()
                self.voice.lang = self.lang_of(self.user_id)
                persona = self.voice(f"personas.{self.persona}")
                self.terminal.write(self.voice("you_are", persona=persona, user=self.user_id))
            else:
                self.terminal.write(self.voice("as_usage"))
        elif word == ":lang":
            if rest.strip() in LOCALES:
                self.locales[self.user_id] = LOCALES[rest.strip()]
                self.services.locales.remember(self.user_id, LOCALES[rest.strip()])
                self.voice.lang = Lang(rest.strip())
                self.terminal.write(self.voice("lang_now", locale=LOCALES[rest.strip()]))
            else:
                self.terminal.write(self.voice("lang_usage"))
        elif word == ":upload":
            await self.upload(rest)
        elif word.startswith(":"):
            self.terminal.write(self.voice("unknown_command", word=word))
        elif line.startswith("/"):
            await self.command(line)
        elif line.isdigit():
            await self.click(int(line))
        else:
            await self.say(line)
        return True


def welcome(catalog: Catalog) -> str:
    """The first screen, in both languages: who you are, how to become the SE, what to type."""
    user = USERS["customer"]
    return "\n\n".join(catalog.t(lang, "shell.welcome", user=user) for lang in Lang)


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
    voice = Voice(load_catalog())
    workspace = Workspace(
        terminal or Terminal(),
        lambda user: locales.get(user, LOCALES["zh"]),
        members=(USERS["customer"],),
        channels=(CHANNEL_ID,),
        say=voice,
    )
    await workspace.start()
    offline = settings.model_copy(
        update={
            "redis_url": None,
            "slack_bot_token": SecretStr(BOT_TOKEN),
            "slack_api_url": workspace.api_url,
            "onboarding_se_users": (USERS["se"],),
            "onboarding_manager_users": (USERS["manager"],),
            "onboarding_ops_channel": OPS_CHANNEL_ID,
            "ticket_backends": (TicketBackend.SLACK,),
        }
    )
    services = await Services.start(offline)
    app = create_app(services, verify_requests=False)
    shell = Shell(app=app, workspace=workspace, services=services, voice=voice, locales=locales)
    return shell, services


async def close_shell(shell: Shell, services: Services) -> None:
    await services.aclose()
    await shell.workspace.stop()


async def run_shell(settings: Settings) -> None:
    shell, services = await open_shell(settings)
    shell.terminal.write(welcome(shell.voice.catalog))
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
