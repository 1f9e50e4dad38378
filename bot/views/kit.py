"""Block Kit: the one set of builders every message, modal and Home view is made with.

Blocks are `slack_sdk.models` objects, which refuse what Slack refuses when they are serialised
(`SlackObjectFormationError` names the field and the limit). `Message.of`, `modal` and `home`
are the only places that serialise, so an over-long option or a 51st block fails where it is
built, in a unit test, not in front of a customer. Where slack_sdk does not check a documented
limit (the block count of a message, a section field's 2,000 characters, the ten options of a
checkbox group, empty text), `_check` does.

Text that comes from people (a company name, a file name, a reason) varies in length, so the
builders shorten or split it; our own content must fit as written (see `bot.views.limits`).
Shortening never cuts inside a link, a mention, a code span or an entity (`shorten`), and a long
list is split over several sections (`sections`) rather than cut at 3,000 characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    ImageBlock,
    InputBlock,
    InteractiveElement,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

__all__ = [
    "Block",
    "ButtonElement",
    "Message",
    "SlackObjectFormationError",
    "actions",
    "button",
    "checkboxes",
    "confirm_dialog",
    "context",
    "divider",
    "fields_sections",
    "header",
    "home",
    "image",
    "modal",
    "option",
    "pack",
    "packed_sections",
    "section",
    "sections",
    "shorten",
    "static_select",
    "text_input",
]

# Slack's documented limits (Block Kit reference; the ones slack_sdk checks are repeated here so
# the builders can shorten people's text to fit before it is checked).
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
SECTION_TEXT = 3000
FIELD_TEXT = 2000
FIELDS_PER_SECTION = 10
CONTEXT_TEXT = 3000
HEADER_TEXT = 150
BUTTON_TEXT = 75
OPTION_TEXT = 75
OPTION_VALUE = 150
CHECKBOX_OPTIONS = 10
SELECT_OPTIONS = 100
PLACEHOLDER = 150
LABEL = 2000
HINT = 2000
TITLE = 24  # modal title, submit and close
CONFIRM_TITLE = 100  # a button's confirmation dialog
CONFIRM_TEXT = 300
CONFIRM_BUTTON = 30
INPUT_MAX_LENGTH = 3000
# The notification and screen-reader text beside the blocks; Slack truncates at 40,000 and
# advises 4,000 at most.
FALLBACK_TEXT = 3000

ELLIPSIS = "…"

# What must stay whole when text is cut: links and mentions (<…>), code (```…``` and `…`), and
# the entities escaping leaves (&amp; &lt; &gt;).
_WHOLE = re.compile(r"<[^<>\n]*>|```.*?```|`[^`\n]*`|&(?:amp|lt|gt);", re.DOTALL)


def shorten(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, ending in "…" when cut, never inside a link, a
    mention, a code span or an entity (one that would be cut is left out whole)."""
    if len(text) <= limit:
        return text
    budget = limit - len(ELLIPSIS)
    cut = budget
    for match in _WHOLE.finditer(text):
        if match.start() >= budget:
            break
        if match.end() > budget:
            cut = match.start()
            break
    return text[:cut].rstrip() + ELLIPSIS


# -- text objects -------------------------------------------------------------------------------


def mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


def plain(text: str) -> PlainTextObject:
    return PlainTextObject(text=text, emoji=True)


# -- blocks -------------------------------------------------------------------------------------


def section(
    text: str, *, block_id: str | None = None, accessory: InteractiveElement | None = None
) -> SectionBlock:
    """One section; text longer than a section holds is shortened (use `sections` for lists)."""
    return SectionBlock(
        text=mrkdwn(shorten(text, SECTION_TEXT)), block_id=block_id, accessory=accessory
    )


def sections(text: str, limit: int = SECTION_TEXT) -> list[SectionBlock]:
    """`text` as one section, or several split at line breaks when it is too long for one.
    A code block split over two sections is closed at the end of the first and opened again at
    the start of the next; a single line too long for a section is shortened."""
    fence = "```"
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    in_code = False
    for raw in text.split("\n"):
        line = shorten(raw, limit - 2 * (len(fence) + 1))
        closing = len(fence) + 1 if in_code else 0  # room to close an open code block
        grown = size + len(line) + (1 if current else 0)
        if current and grown + closing > limit:
            if in_code:
                current.append(fence)
            chunks.append("\n".join(current))
            current = [fence] if in_code else []
            size = len(fence) if in_code else 0
            grown = size + len(line) + (1 if current else 0)
        current.append(line)
        size = grown
        if line.count(fence) % 2:
            in_code = not in_code
    if current:
        chunks.append("\n".join(current))
    return [section(chunk) for chunk in chunks if chunk.strip()]


def pack(
    entries: Sequence[str], *, separator: str = "\n\n", limit: int = SECTION_TEXT
) -> list[list[str]]:
    """Entries (each a few lines: one tenant, one document) in as few groups as sections can
    hold, an entry never split across two; one too long for a section is shortened."""
    groups: list[list[str]] = []
    size = 0
    for entry in (shorten(e, limit) for e in entries):
        if groups and size + len(separator) + len(entry) <= limit:
            groups[-1].append(entry)
            size += len(separator) + len(entry)
        else:
            groups.append([entry])
            size = len(entry)
    return groups


def packed_sections(
    groups: Sequence[Sequence[str]], *, separator: str = "\n\n"
) -> list[SectionBlock]:
    """One section per group of `pack`."""
    return [section(separator.join(group)) for group in groups]


def fields_sections(fields: Sequence[str]) -> list[SectionBlock]:
    """Labelled fields (mrkdwn), ten to a section as Slack allows, each shortened to fit."""
    texts = [mrkdwn(shorten(text, FIELD_TEXT)) for text in fields]
    return [
        SectionBlock(fields=texts[start : start + FIELDS_PER_SECTION])
        for start in range(0, len(texts), FIELDS_PER_SECTION)
    ]


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[mrkdwn(shorten(text, CONTEXT_TEXT))])


def header(text: str) -> HeaderBlock:
    """A header (plain text: a company name in it is shown as typed, never as markup)."""
    return HeaderBlock(text=plain(shorten(text, HEADER_TEXT)))


def divider() -> DividerBlock:
    return DividerBlock()


def image(*, alt_text: str, slack_file: str, title: str | None = None) -> ImageBlock:
    """An image uploaded to Slack (by its file id): our charts, which have no public URL."""
    return ImageBlock(
        alt_text=shorten(alt_text, 2000),
        slack_file={"id": slack_file},
        title=plain(shorten(title, 2000)) if title else None,
    )


def confirm_dialog(
    *, title: str, text: str, confirm: str, deny: str, danger: bool = False
) -> ConfirmObject:
    """The dialog Slack shows before a click counts (our own wording: it must fit as written)."""
    return ConfirmObject(
        title=plain(title),
        text=plain(text),
        confirm=plain(confirm),
        deny=plain(deny),
        style="danger" if danger else None,
    )


def button(
    text: str,
    action_id: str,
    value: str | None = None,
    *,
    style: str | None = None,
    url: str | None = None,
    confirm: ConfirmObject | None = None,
) -> ButtonElement:
    return ButtonElement(
        text=plain(text), action_id=action_id, value=value, style=style, url=url, confirm=confirm
    )


def actions(elements: Sequence[InteractiveElement], *, block_id: str | None = None) -> ActionsBlock:
    """Buttons and menus in a row. Slack wants each action_id unique within its block, so a
    repeated one gets a suffix (`step.event`, `step.event:2`, …); handlers match the base id
    with or without it (`bot.ids.action_pattern`)."""
    seen: dict[str, int] = {}
    for element in elements:
        base = getattr(element, "action_id", None)
        if not isinstance(base, str):
            continue
        seen[base] = seen.get(base, 0) + 1
        if seen[base] > 1:
            element.action_id = f"{base}:{seen[base]}"
    return ActionsBlock(elements=list(elements), block_id=block_id)


def option(text: str, value: str, *, markdown: bool = False) -> Option:
    """An option of a menu (plain text) or of checkboxes (which may be mrkdwn)."""
    label: PlainTextObject | MarkdownTextObject = mrkdwn(text) if markdown else plain(text)
    return Option(text=label, value=value)


def static_select(
    action_id: str, placeholder: str, options: Sequence[Option]
) -> StaticSelectElement:
    return StaticSelectElement(
        action_id=action_id, placeholder=plain(placeholder), options=list(options)
    )


def checkboxes(action_id: str, options: Sequence[Option]) -> CheckboxesElement:
    return CheckboxesElement(action_id=action_id, options=list(options))


def text_input(
    label: str,
    block_id: str,
    action_id: str,
    *,
    optional: bool = False,
    multiline: bool = False,
    max_length: int = 200,
    hint: str | None = None,
    initial: str | None = None,
) -> InputBlock:
    if not 1 <= max_length <= INPUT_MAX_LENGTH:
        raise SlackObjectFormationError(f"max_length must be 1 to {INPUT_MAX_LENGTH}")
    element = PlainTextInputElement(
        action_id=action_id,
        multiline=multiline,
        max_length=max_length,
        initial_value=initial[:max_length] if initial else None,
    )
    return InputBlock(
        label=plain(label),
        block_id=block_id,
        element=element,
        optional=optional,
        hint=plain(hint) if hint else None,
    )


def choice_input(
    label: str, block_id: str, element: CheckboxesElement, *, optional: bool = False
) -> InputBlock:
    return InputBlock(label=plain(label), block_id=block_id, element=element, optional=optional)


# -- surfaces: the only places blocks become JSON ------------------------------------------------


class Message(dict[str, Any]):
    """Keyword arguments for `chat.postMessage`, `chat.update`, `ack` or `respond`: the blocks
    as JSON and `text`, the notification and screen-reader fallback (mrkdwn, so it is built from
    the same escaped text as the blocks)."""

    @classmethod
    def of(cls, text: str, blocks: Iterable[Block]) -> Message:
        payload = [block.to_dict() for block in blocks]
        _check(payload, MESSAGE_BLOCKS, "message")
        return cls(text=shorten(text, FALLBACK_TEXT), blocks=payload)

    @classmethod
    def plain_text(cls, text: str) -> Message:
        """A message of one paragraph (split over sections when long)."""
        return cls.of(text, sections(text))


def modal(
    *,
    callback_id: str,
    title: str,
    submit: str | None,
    close: str,
    private_metadata: str,
    blocks: Iterable[Block],
) -> dict[str, Any]:
    """A modal; `submit=None` for one that only shows something (it has no inputs)."""
    view = View(
        type="modal",
        callback_id=callback_id,
        title=plain(title),
        submit=plain(submit) if submit is not None else None,
        close=plain(close),
        private_metadata=private_metadata,
        blocks=list(blocks),
    ).to_dict()
    _check(view["blocks"], VIEW_BLOCKS, "modal")
    return view


def home(blocks: Iterable[Block]) -> dict[str, Any]:
    view = View(type="home", blocks=list(blocks)).to_dict()
    _check(view["blocks"], VIEW_BLOCKS, "home")
    return view


def _check(blocks: list[dict[str, Any]], most: int, surface: str) -> None:
    """Limits slack_sdk leaves to Slack: the number of blocks, unique block ids, no empty text,
    section fields, and the options of a checkbox group."""
    if not blocks:
        raise SlackObjectFormationError(f"a {surface} needs at least one block")
    if len(blocks) > most:
        raise SlackObjectFormationError(
            f"a {surface} holds at most {most} blocks, not {len(blocks)}"
        )
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(ids) != len(set(ids)):
        raise SlackObjectFormationError(f"block ids repeat in a {surface}: {sorted(ids)}")
    for block in blocks:
        for item in block.get("fields") or []:
            if len(item.get("text", "")) > FIELD_TEXT:
                raise SlackObjectFormationError(f"a section field exceeds {FIELD_TEXT} characters")
        element = block.get("element") or {}
        if element.get("type") == "checkboxes" and len(element["options"]) > CHECKBOX_OPTIONS:
            raise SlackObjectFormationError(f"checkboxes hold at most {CHECKBOX_OPTIONS} options")
        for text in _texts(block):
            if not text.strip():
                raise SlackObjectFormationError(f"empty text in a {block.get('type')} block")


def _texts(node: Any) -> Iterable[str]:
    """Every text object's text under `node`."""
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn") and "text" in node:
            yield str(node["text"])
            return
        for value in node.values():
            yield from _texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _texts(value)
