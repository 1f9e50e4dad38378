"""Reading what the conversation tests look at: the checklist, prompts, replies, App Home.

Everything here reads what the fake Slack received or what the served app answered; nothing
inside `bot/` is called.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.state.keys import Keys
from tests.e2e.conftest import served
from tests.e2e.journey import JSON, Journey, buttons, message_text, stage_of, texts
from tests.fakeslack.driver import Reply, SlackDriver
from tests.fakeslack.server import Call, FakeSlack, Message

# One line of the checklist: "✅ 1. Register …", "*▶️ 2. Verify …*", "⚪ 3. Create …".
_STEP_LINE = re.compile(r"(✅|▶️|⚪) ([1-8])\. ")


def step_marks(blocks: list[JSON] | None) -> str:
    """The checklist's eight marks in step order, e.g. "✅▶️⚪⚪⚪⚪⚪⚪"; '' if not a checklist."""
    found = dict((int(n), mark) for mark, n in _STEP_LINE.findall(texts(blocks)))
    if sorted(found) != list(range(1, 9)):
        return ""
    return "".join(found[n] for n in range(1, 9))


def marks(done: int) -> str:
    """The marks with steps 1..`done` complete and the next one current."""
    return "✅" * done + "▶️" + "⚪" * (7 - done)


def is_checklist(message: Message) -> bool:
    return not message.ephemeral and bool(step_marks(message.blocks))


def checklists(fake: FakeSlack, channel: str) -> list[Message]:
    return [m for m in fake.messages(channel) if is_checklist(m)]


def checklist_posts(fake: FakeSlack, channel: str) -> list[Call]:
    """`chat.postMessage` calls that posted a checklist in `channel`."""
    return [
        c
        for c in fake.calls("chat.postMessage")
        if c.args.get("channel") == channel and step_marks(c.args.get("blocks"))
    ]


def updates_of(fake: FakeSlack, message: Message) -> list[Call]:
    return [
        c
        for c in fake.calls("chat.update")
        if c.args.get("channel") == message.channel and c.args.get("ts") == message.ts
    ]


async def wait_marks(fake: FakeSlack, checklist: Message, expected: str) -> None:
    """Wait until the checklist (updated in place) shows `expected`."""
    await fake.wait_for(
        "chat.update",
        where=lambda c: (
            c.args.get("ts") == checklist.ts and step_marks(checklist.blocks) == expected
        ),
    )


def prompts(fake: FakeSlack, channel: str, stage: str | None = None) -> list[Message]:
    """Step prompts posted in `channel` (those with buttons), optionally for one stage."""
    return [
        m
        for m in fake.messages(channel)
        if not m.ephemeral and stage_of(m) is not None and stage in (None, stage_of(m))
    ]


def prompt_posts(fake: FakeSlack, channel: str) -> list[Call]:
    return [
        c
        for c in fake.calls("chat.postMessage")
        if c.args.get("channel") == channel
        and any(
            str(b.get("block_id") or "").startswith("prompt:") for b in c.args.get("blocks") or []
        )
    ]


def reply_text(reply: Reply) -> str:
    """What an ephemeral slash-command answer shows."""
    body = reply.json() or {}
    return str(body.get("text", "")) + "\n" + texts(body.get("blocks"))


def view_text(view: JSON) -> str:
    """Visible text of a modal or home view, including input labels and option texts."""
    out = [texts(view.get("blocks"))]
    for block in view.get("blocks") or []:
        label = block.get("label")
        if isinstance(label, dict):
            out.append(str(label.get("text", "")))
        element = block.get("element")
        if isinstance(element, dict):
            for option in element.get("options") or []:
                out.append(str(option.get("text", {}).get("text", "")))
    return "\n".join(out)


def seen_by_clicker(fake: FakeSlack, reply: Reply) -> list[str]:
    """What the bot showed only the user who sent `reply`'s click: ephemeral messages to them,
    and ephemeral answers posted to the click's `response_url`."""
    sent = reply.payload or {}
    user = str((sent.get("user") or {}).get("id") or "")
    url = str(sent.get("response_url") or "").removeprefix(fake.hooks_url)
    shown = [message_text(m) for m in fake.messages() if m.ephemeral and m.target_user == user]
    for call in fake.calls("response_url"):
        if url and call.args.get("url") == url and call.ok:
            if call.args.get("response_type") == "in_channel" or call.args.get(
                "replace_original"
            ) in (True, "true"):
                continue
            shown.append(str(call.args.get("text", "")) + "\n" + texts(call.args.get("blocks")))
    return shown


async def wait_refusal(fake: FakeSlack, reply: Reply, needle: str) -> str:
    """Wait until the clicker of `reply` is shown, only to them, a message containing `needle`."""
    await fake.wait_until(
        lambda: any(needle in text for text in seen_by_clicker(fake, reply)),
        what=f"an answer only the clicker sees, containing {needle!r}",
    )
    return next(text for text in seen_by_clicker(fake, reply) if needle in text)


def button_values(message: Message) -> list[str]:
    return [str(b.get("value")) for b in buttons(message)]


def has_button(message: Message, value_part: str) -> bool:
    return any(value_part in v for v in button_values(message))


def thread_replies(fake: FakeSlack, ts: str) -> list[Message]:
    return [m for m in fake.messages() if m.thread_ts == ts and m.ts != ts]


async def ask(journey: Journey, question: str, *, user: str | None = None) -> Message:
    """@mention the bot in the tenant channel; returns its answer (in the thread if threaded)."""
    before = len(journey.fake.messages(journey.channel))
    reply = await journey.slack.app_mention(
        question, user_id=user or journey.customer, channel_id=journey.channel
    )
    assert reply.status == 200, reply.text
    found = await journey.fake.wait_for_message(
        channel=journey.channel,
        where=lambda m: not m.ephemeral,
        count=before + 1,
    )
    return found[before]


async def dm(fake: FakeSlack, slack: SlackDriver, user: str, question: str) -> Message:
    """A direct message to the bot; returns its answer."""
    channel = fake.open_im(user).id
    before = len([m for m in fake.messages(channel) if m.user == fake.bot_user_id])
    reply = await slack.message(question, user_id=user, channel_id=channel, channel_type="im")
    assert reply.status == 200, reply.text
    found = await fake.wait_for_message(
        channel=channel, where=lambda m: m.user == fake.bot_user_id, count=before + 1
    )
    return found[before]


async def open_home(fake: FakeSlack, slack: SlackDriver, user: str) -> JSON:
    before = len([c for c in fake.calls("views.publish") if c.args.get("user_id") == user])
    reply = await slack.app_home_opened(user)
    assert reply.status == 200, reply.text
    await fake.wait_for(
        "views.publish", where=lambda c: c.args.get("user_id") == user, count=before + 1
    )
    return fake.home_views[user].view


@asynccontextmanager
async def serve(fake: FakeSlack, keys: Keys, **overrides: Any) -> AsyncIterator[SlackDriver]:
    """The real HTTP service with other settings (e.g. no SEs, a small upload limit)."""
    async with served(fake, keys, **overrides) as (_service, driver):
        yield driver


__all__ = [
    "ask",
    "button_values",
    "checklist_posts",
    "checklists",
    "dm",
    "has_button",
    "is_checklist",
    "marks",
    "message_text",
    "open_home",
    "prompt_posts",
    "prompts",
    "reply_text",
    "seen_by_clicker",
    "serve",
    "step_marks",
    "thread_replies",
    "updates_of",
    "view_text",
    "wait_marks",
    "wait_refusal",
]
