"""What solution engineers see and do in the ops channel, and getting a tenant there quickly.

Helpers for the review and ticket tests; like `journey.py`, everything goes through the HTTP
endpoint and every check reads the fake Slack.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from tests.e2e.journey import Journey, buttons, message_text, stage_of, texts, unique_pdf
from tests.fakeslack.driver import Reply
from tests.fakeslack.state import Message

JSON = dict[str, Any]

APPROVE_DOCUMENT = "review.document.approve"
REJECT_DOCUMENT = "review.document.reject"
APPROVE_SCRIPT = "review.script.approve"
REJECT_SCRIPT = "review.script.reject"
ADVANCE_SIP = "ticket.sip.advance"

# The legal representative's five documents: (kind, file name, what the customer writes).
LEGAL_REP_UPLOADS: tuple[tuple[str, str, str], ...] = (
    ("business_license", "license.pdf", "营业执照"),
    ("legal_rep_id", "legal.pdf", "法定代表人身份证"),
    ("legal_rep_holding_id", "holding.pdf", "法定代表人手持身份证照"),
    ("phone_acceptance_form", "form.pdf", "电话受理单"),
    ("network_access_commitment", "commit.pdf", "入网承诺书"),
)

LANG_SET = {"zh": "本频道的入驻今后使用中文", "en": "now uses English"}


@dataclass(frozen=True)
class Snapshot:
    """A message as it is now, to show later that nothing changed."""

    text: str
    blocks: list[JSON] | None
    versions: int

    @classmethod
    def of(cls, message: Message) -> Snapshot:
        return cls(message.text, copy.deepcopy(message.blocks), len(message.history))

    def unchanged(self, message: Message) -> bool:
        return (
            message.text == self.text
            and message.blocks == self.blocks
            and len(message.history) == self.versions
        )


def callback_of(view: Any) -> str | None:
    """The callback id of a view as a Web API call carried it (JSON text or an object)."""
    if isinstance(view, str):
        view = json.loads(view)
    return view.get("callback_id") if isinstance(view, dict) else None


def buttons_of(message: Message, action_id: str) -> list[JSON]:
    return [b for b in buttons(message) if b.get("action_id") == action_id]


def button_for(message: Message, action_id: str, kind: str | None = None) -> JSON:
    """The button `action_id` of `message` (for document `kind` on a document card)."""
    for b in buttons_of(message, action_id):
        if kind is None or json.loads(b["value"]).get("k") == kind:
            return b
    raise AssertionError(f"no {action_id} button for {kind!r}: {message_text(message)}")


def document_kinds(card: Message, action_id: str = APPROVE_DOCUMENT) -> list[str]:
    return [json.loads(b["value"])["k"] for b in buttons_of(card, action_id)]


async def press(
    j: Journey, message: Message, button: JSON, *, user: str, as_seen: JSON | None = None
) -> Reply:
    """Click `button` of `message` as `user`. `as_seen`: the message as that user's client
    showed it (an older version of the card), else the message as it is now."""
    reply = await j.slack.block_action(
        button["action_id"],
        button.get("value"),
        user_id=user,
        channel_id=message.channel,
        message_ts=message.ts,
        block_id=button.get("block_id"),
        message=as_seen or j.fake.message_json(message),
    )
    assert reply.status == 200, reply.text
    j.last_trigger = reply.trigger_id
    return reply


async def wait_updated(
    j: Journey, message: Message, versions: int, *, timeout: float = 5.0
) -> None:
    """Wait until `message` was updated in place (chat.update on its ts) past `versions`."""
    await j.fake.wait_for(
        "chat.update",
        where=lambda c: c.args.get("ts") == message.ts and len(message.history) > versions,
        timeout=timeout,
    )


async def new_prompt(
    j: Journey, stage: str, since: int, *, having: str | None = None, timeout: float = 5.0
) -> Message:
    """A prompt for `stage` posted after the channel's first `since` messages."""

    def wanted(m: Message) -> bool:
        if m.ephemeral or stage_of(m) != stage:
            return False
        return having is None or any(having in str(b.get("value")) for b in buttons(m))

    await j.fake.wait_for_message(
        channel=j.channel,
        where=lambda m: wanted(m) and j.fake.messages(j.channel).index(m) >= since,
        timeout=timeout,
    )
    return [m for m in j.fake.messages(j.channel) if wanted(m)][-1]


async def refused(
    j: Journey, user: str, needle: str, *, count: int = 1, timeout: float = 5.0
) -> Message:
    """Wait for the `count`-th ephemeral reply to `user` that says `needle`."""
    found = await j.fake.wait_for_message(
        where=lambda m: m.ephemeral and m.target_user == user and needle in message_text(m),
        count=count,
        timeout=timeout,
    )
    return found[-1]


async def use_lang(j: Journey, lang: str) -> None:
    """The customer switches the channel's onboarding to `lang` ("zh" or "en")."""
    await j.command(f"lang {lang}")
    await j.wait_text(LANG_SET[lang])


async def upload_documents(j: Journey, *, tag: str = "") -> None:
    for _, name, words in LEGAL_REP_UPLOADS:
        ts = await j.upload(name, unique_pdf(name + tag), words)
        await j.thread_reply(ts)


async def to_review(j: Journey, *, lang: str | None = None) -> Message:
    """Steps 1-3 done, the legal representative's documents uploaded and submitted; returns
    the review card in the ops channel."""
    await j.start()
    if lang is not None:
        await use_lang(j, lang)
    await j.through_instance()
    await j.choose_role("legal_rep")
    await upload_documents(j)
    return await submit_round(j, "qualification.collecting", 1)


async def submit_round(j: Journey, stage: str, round_: int) -> Message:
    """Click "submit for review" on the `stage` prompt; returns round `round_`'s card once
    everything the submission causes has been posted (the ops notice comes last)."""
    prompt = await j.wait_prompt(stage, having="submit_documents")
    await j.click(prompt, lambda b: "submit_documents" in str(b.get("value")))
    card = await j.review_card(round_)
    await j.wait_text(f"第 {round_} 轮资质材料", channel=j.ops_channel)
    return card


async def to_numbers(j: Journey, *, lang: str | None = None) -> Message:
    """Step 4 passed; returns the step 5 prompt (choose how to get a number)."""
    await to_review(j, lang=lang)
    await j.approve_all()
    return await j.wait_prompt("numbers.choose")


async def choose_path(j: Journey, path: str) -> None:
    prompt = await j.wait_prompt("numbers.choose")
    await j.click(prompt, lambda b: f'"path":"{path}"' in str(b.get("value")))


def ops_cards(j: Journey, title: str) -> list[Message]:
    """Cards in the ops channel whose header says `title` (e.g. "资质审核", "话术审核"); a card
    keeps its header when its buttons are gone."""
    return [
        m
        for m in j.messages(j.ops_channel)
        if any(b.get("type") == "header" and title in texts([b]) for b in m.blocks or [])
    ]


def checklist(j: Journey) -> str:
    """The text of the progress checklist (one message, updated in place)."""
    return message_text(j.checklist())
