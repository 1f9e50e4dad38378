"""Driving an onboarding through the real HTTP endpoint the way people do it in Slack.

Every step goes through `SlackDriver` (signed requests to the served app) and every check reads
what the fake Slack received; nothing inside `bot/` is called. Waits are on conditions (a
message, a call) with deadlines, never sleeps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bot.documents.formats import FileFormat
from tests.documents.scans import encode, page, seal, text_pdf
from tests.fakeslack.driver import Reply, SlackDriver, checkboxes, text_input
from tests.fakeslack.server import FakeSlack
from tests.fakeslack.state import Message, View

JSON = dict[str, Any]

# Real files the pre-check finds nothing wrong with (a PDF of text; a sharp, stamped scan), so a
# journey's documents go to review as they are. Bytes appended after their end (as `tagged` and
# `unique_pdf` do, to make each file distinct) are ignored by every reader.
PDF = text_pdf("Qualification document")
_SCAN = seal(page(800, 560))
PNG = encode(_SCAN, FileFormat.PNG)
JPEG = encode(_SCAN, FileFormat.JPEG, quality=70)
DOCX = b"PK\x03\x04" + b"\x14\x00\x06\x00" + b"word/document.xml" + b"\x00" * 32


def unique_pdf(tag: str) -> bytes:
    """A distinct PDF per document (the bot refuses the same bytes twice)."""
    return PDF + f"% {tag}\n".encode()


def texts(blocks: Iterable[JSON] | None) -> str:
    """All visible text of some blocks, for assertions."""
    out: list[str] = []
    for block in blocks or []:
        text = block.get("text")
        if isinstance(text, dict):
            out.append(str(text.get("text", "")))
        for item in block.get("fields") or []:
            out.append(str(item.get("text", "")))
        for element in block.get("elements") or []:
            if isinstance(element, dict):
                if isinstance(element.get("text"), dict):
                    out.append(str(element["text"].get("text", "")))
                elif isinstance(element.get("text"), str):
                    out.append(element["text"])
        accessory = block.get("accessory")
        if isinstance(accessory, dict) and isinstance(accessory.get("text"), dict):
            out.append(str(accessory["text"].get("text", "")))
    return "\n".join(out)


def message_text(message: Message) -> str:
    return message.text + "\n" + texts(message.blocks)


def buttons(message: Message) -> list[JSON]:
    found: list[JSON] = []
    for block in message.blocks or []:
        if block.get("type") == "actions":
            found += [dict(e, block_id=block.get("block_id")) for e in block.get("elements", [])]
        accessory = block.get("accessory")
        if isinstance(accessory, dict):
            found.append(dict(accessory, block_id=block.get("block_id")))
    return found


def stage_of(message: Message) -> str | None:
    """The stage a step prompt was posted for (its actions block is `prompt:<stage>`)."""
    for block in message.blocks or []:
        block_id = str(block.get("block_id") or "")
        if block.get("type") == "actions" and block_id.startswith("prompt:"):
            return block_id.removeprefix("prompt:")
    return None


@dataclass
class Journey:
    """One tenant's onboarding, driven over HTTP."""

    slack: SlackDriver
    fake: FakeSlack
    channel: str
    customer: str
    se: str
    ops_channel: str
    tenant: str | None = None
    last_trigger: str | None = None  # of the last click: the form it opens is found by it

    # -- reading ------------------------------------------------------------------------------
    def messages(self, channel: str | None = None) -> list[Message]:
        return [m for m in self.fake.messages(channel or self.channel) if not m.ephemeral]

    async def wait_prompt(
        self, stage: str, *, having: str | None = None, timeout: float = 5.0
    ) -> Message:
        """The latest prompt posted for `stage`, optionally one with a button whose value
        contains `having` (waits for it to appear)."""

        def wanted(m: Message) -> bool:
            if stage_of(m) != stage:
                return False
            return having is None or any(having in str(b.get("value")) for b in buttons(m))

        found = await self.fake.wait_for_message(
            channel=self.channel, where=wanted, timeout=timeout
        )
        return found[-1]

    async def wait_text(
        self, needle: str, *, channel: str | None = None, count: int = 1, timeout: float = 5.0
    ) -> Message:
        found = await self.fake.wait_for_message(
            channel=channel or self.channel,
            where=lambda m: needle in message_text(m),
            count=count,
            timeout=timeout,
        )
        return found[-1]

    async def wait_ephemeral(self, user: str, needle: str, *, timeout: float = 5.0) -> Message:
        found = await self.fake.wait_for_message(
            where=lambda m: m.ephemeral and m.target_user == user and needle in message_text(m),
            timeout=timeout,
        )
        return found[-1]

    def checklist(self) -> Message:
        """The progress checklist (the first message listing the steps with ✅ / ▶️ / ⚪)."""
        for message in self.messages():
            shown = texts(message.blocks)
            if all(re.search(rf"(✅|▶️|⚪) {n}\. ", shown) for n in (1, 8)):
                return message
        raise AssertionError("no checklist message")

    # -- acting -------------------------------------------------------------------------------
    async def command(
        self, text: str, user: str | None = None, channel: str | None = None
    ) -> Reply:
        reply = await self.slack.slash_command(
            text, user_id=user or self.customer, channel_id=channel or self.channel
        )
        assert reply.status == 200, reply.text
        return reply

    async def start(self, company: str = "示例科技有限公司") -> str:
        before = len(self.messages())
        reply = await self.command(f"start {company}", user=self.se)
        await self.wait_prompt("account")
        assert len(self.messages()) > before
        body = reply.json() or {}
        tenant = next(
            word.strip("`") for word in texts(body.get("blocks")).split() if word.startswith("`")
        )
        self.tenant = tenant.strip("`，。,.")
        return self.tenant

    async def click(
        self,
        message: Message,
        label: str | Callable[[JSON], bool],
        *,
        user: str | None = None,
        channel: str | None = None,
    ) -> Reply:
        """Click the button of `message` whose label contains `label` (or matches it)."""
        candidates = buttons(message)
        match = label if callable(label) else (lambda b: label in b.get("text", {}).get("text", ""))
        chosen = next((b for b in candidates if match(b)), None)
        if chosen is None:
            labels = [b.get("text", {}).get("text") for b in candidates]
            raise AssertionError(f"no button {label!r} on the message; buttons: {labels}")
        reply = await self.slack.block_action(
            chosen["action_id"],
            chosen.get("value"),
            user_id=user or self.customer,
            channel_id=channel or message.channel,
            message_ts=message.ts,
            block_id=chosen.get("block_id"),
            message=self.fake.message_json(message),
        )
        assert reply.status == 200, reply.text
        self.last_trigger = reply.trigger_id
        return reply

    async def pick(self, message: Message, option_label: str, *, user: str | None = None) -> Reply:
        """Choose an option of the select menu on `message`."""
        menu = next(b for b in buttons(message) if b.get("type") == "static_select")
        option = next(o for o in menu["options"] if option_label in o["text"]["text"])
        reply = await self.slack.block_action(
            menu["action_id"],
            user_id=user or self.customer,
            channel_id=message.channel,
            message_ts=message.ts,
            block_id=menu.get("block_id"),
            selected_option=option,
            action_type="static_select",
            message=self.fake.message_json(message),
        )
        assert reply.status == 200, reply.text
        return reply

    async def opened_form(self, callback_id: str, *, count: int | None = None) -> View:
        """The form `callback_id` opened by the last click (or the `count`-th one opened)."""
        trigger = self.last_trigger if count is None else None

        def opened(c: Any) -> bool:
            mine = trigger is None or c.args.get("trigger_id") == trigger
            return mine and _callback(c.args) == callback_id

        calls = await self.fake.wait_for("views.open", count=count or 1, where=opened)
        view_id = calls[-1].response["view"]["id"]
        return self.fake.views[view_id]

    async def submit(
        self, view: View, values: dict[str, JSON | str], *, user: str | None = None
    ) -> Reply:
        data = self.fake.view_json(view)
        reply = await self.slack.view_submission(
            data["callback_id"],
            {
                block: {"value": v if isinstance(v, dict) else text_input(v)}
                for block, v in values.items()
            },
            user_id=user or self.customer,
            private_metadata=data.get("private_metadata", ""),
            view=data,
        )
        assert reply.status == 200, reply.text
        return reply

    async def upload(
        self,
        name: str,
        content: bytes,
        text: str = "",
        *,
        user: str | None = None,
        channel: str | None = None,
        mimetype: str | None = None,
    ) -> str:
        """Share a file with a message; returns the message's ts (the bot answers in its thread)."""
        user = user or self.customer
        channel = channel or self.channel
        file = self.fake.add_file(content, name, mimetype, uploader=user, channel=channel)
        reply = await self.slack.message(
            text,
            user_id=user,
            channel_id=channel,
            files=[file],
            channel_type="im" if channel.startswith("D") else "channel",
        )
        assert reply.status == 200, reply.text
        assert reply.payload is not None
        return str(reply.payload["event"]["ts"])

    async def thread_reply(self, ts: str, needle: str = "", *, timeout: float = 5.0) -> Message:
        """The bot's reply in the thread of the message with timestamp `ts`."""
        found = await self.fake.wait_for_message(
            where=lambda m: m.thread_ts == ts and needle in message_text(m), timeout=timeout
        )
        return found[-1]

    # -- whole stretches ----------------------------------------------------------------------
    async def through_instance(self) -> Message:
        """Steps 1-3 done; returns the step 4 prompt (choose who applies)."""
        for stage, value in [
            ("account", "confirm_account"),
            ("real_name", "confirm_real_name"),
            ("instance", '"f":"instance"'),
        ]:
            prompt = await self.wait_prompt(stage, having=value)
            await self.click(prompt, lambda b, v=value: v in str(b.get("value")))
        form = await self.opened_form("form.instance")
        reply = await self.submit(
            form,
            {
                "call_center_name": "示例呼叫中心",
                "admin_name": "张三",
                "admin_email": "admin@example.cn",
                "sla_agreed": checkboxes(["agreed"]),
            },
        )
        assert not reply.text.strip() or "errors" not in reply.text, reply.text
        return await self.wait_prompt("qualification.role")

    async def choose_role(self, role: str) -> Message:
        """`role` is `agent` or `legal_rep`; returns the documents prompt."""
        prompt = await self.wait_prompt("qualification.role")
        await self.click(prompt, lambda b: f'"role":"{role}"' in str(b.get("value")))
        return await self.wait_prompt("qualification.collecting")

    async def approve_all(self, round_: int = 1) -> None:
        """The SE approves every pending document on the round's review card."""
        card = await self.review_card(round_)
        while True:
            approve = [b for b in buttons(card) if b["action_id"] == "review.document.approve"]
            if not approve:
                return
            before = len(card.history)
            await self.click(
                card,
                lambda b, v=approve[0]["value"]: (
                    b.get("value") == v and b["action_id"] == "review.document.approve"
                ),
                user=self.se,
            )
            await self.fake.wait_for(
                "chat.update",
                where=lambda c, n=before: c.args.get("ts") == card.ts and len(card.history) > n,
            )

    async def review_card(self, round_: int = 1) -> Message:
        found = await self.fake.wait_for_message(
            channel=self.ops_channel,
            where=lambda m: (
                any(str(b.get("block_id") or "").startswith("review:") for b in m.blocks or [])
                and f"{round_}" in m.text
            ),
        )
        return found[-1]


def _callback(args: JSON) -> str | None:
    view = args.get("view")
    if isinstance(view, str):
        view = json.loads(view)
    return view.get("callback_id") if isinstance(view, dict) else None


__all__ = [
    "DOCX",
    "JPEG",
    "PDF",
    "PNG",
    "Journey",
    "buttons",
    "message_text",
    "stage_of",
    "texts",
    "unique_pdf",
]
