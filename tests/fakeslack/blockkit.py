"""An independent Block Kit check, as strict as Slack's own, for the fake Slack and the driver.

The limits are Slack's documented ones (docs.slack.dev, "Block Kit" reference):

- blocks: reference/block-kit/blocks (at most 50 in a message, 100 in a modal or Home tab) and
  one page per block (section-block, context-block, actions-block, header-block, input-block,
  image-block, divider-block, rich-text-block);
- elements: reference/block-kit/block-elements/* (button, select menus, checkboxes, radio
  buttons, overflow menu, plain-text input, date and time pickers …);
- composition objects: reference/block-kit/composition-objects/* (text, option, option group,
  confirmation dialog);
- views: reference/views/modal-views and reference/views/home-tab-views.

Slack counts the raw string, markup included: `我已阅读并同意<https://…/679/34947|《…协议》>` is 77
characters for an option whose limit is 75, and Slack refuses the whole call.

This module deliberately does not use `slack_sdk.models`: the bot builds its payloads with those
models, so the fake checks them independently. Problems come back in Slack's wording and shape:

    "[ERROR] must be less than 76 characters [json-pointer:/blocks/3/element/options/0/text/text]"

(views have pointers starting with `/view/blocks/...`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = [
    "MAX_CHARS",
    "MAX_ITEMS",
    "input_block_ids",
    "strip_error_prefix",
    "validate_blocks",
    "validate_view",
]

# ---------------------------------------------------------------------- the limits

#: Maximum characters of each string Slack measures (for text objects: of their `text`).
MAX_CHARS: Final[Mapping[str, int]] = {
    "text": 3000,  # any text object a field below does not name
    "block_id": 255,
    "action_id": 255,
    "section.text": 3000,
    "section.fields[]": 2000,
    "header.text": 150,
    "input.label": 2000,
    "input.hint": 2000,
    "image.image_url": 3000,
    "image.alt_text": 2000,
    "image.title": 2000,
    "markdown.text": 12000,
    "button.text": 75,
    "button.value": 2000,
    "button.url": 3000,
    "button.accessibility_label": 75,
    "placeholder": 150,
    "option.text": 75,
    "option.value": 150,
    "option.description": 75,
    "option.url": 3000,
    "option_group.label": 75,
    "confirm.title": 100,
    "confirm.text": 300,
    "confirm.confirm": 30,
    "confirm.deny": 30,
    "modal.title": 24,
    "modal.submit": 24,
    "modal.close": 24,
    "view.private_metadata": 3000,
    "view.callback_id": 255,
    "view.external_id": 255,
    "plain_text_input.length": 3000,  # bound of max_length (1..) and min_length (0..)
}

#: Maximum items of each array (each also needs at least one item).
MAX_ITEMS: Final[Mapping[str, int]] = {
    "message.blocks": 50,
    "modal.blocks": 100,
    "home.blocks": 100,
    "section.fields": 10,
    "context.elements": 10,
    "actions.elements": 25,
    "select.options": 100,
    "select.option_groups": 100,
    "option_group.options": 100,
    "checkboxes.options": 10,
    "radio_buttons.options": 10,
    "overflow.options": 5,
    "file_input.max_files": 10,
}

BUTTON_STYLES: Final = ("primary", "danger")
TEXT_TYPES: Final = ("plain_text", "mrkdwn")

_SELECTS: Final = frozenset(
    {
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
        "multi_static_select",
        "multi_external_select",
        "multi_users_select",
        "multi_conversations_select",
        "multi_channels_select",
    }
)
#: Which element types each block takes (Slack's "compatible block elements").
SECTION_ACCESSORIES: Final = _SELECTS | {
    "button",
    "checkboxes",
    "datepicker",
    "image",
    "overflow",
    "radio_buttons",
    "timepicker",
    "workflow_button",
}
ACTIONS_ELEMENTS: Final = _SELECTS | {
    "button",
    "checkboxes",
    "datepicker",
    "datetimepicker",
    "overflow",
    "radio_buttons",
    "timepicker",
    "workflow_button",
}
INPUT_ELEMENTS: Final = _SELECTS | {
    "checkboxes",
    "datepicker",
    "datetimepicker",
    "email_text_input",
    "file_input",
    "number_input",
    "plain_text_input",
    "radio_buttons",
    "rich_text_input",
    "timepicker",
    "url_text_input",
}
#: Blocks a surface does not take.
NOT_ON_SURFACE: Final[Mapping[str, frozenset[str]]] = {
    "modal": frozenset({"markdown"}),
    "home": frozenset({"markdown"}),
}

_DATE_RE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_RE: Final = re.compile(r"^\d{2}:\d{2}$")
_ERROR_PREFIX: Final = "[ERROR] "

# ---------------------------------------------------------------------- the public checks


def validate_blocks(
    blocks: Any, *, surface: str = "message", pointer: str = "/blocks"
) -> list[str]:
    """Problems Slack would report for `blocks` on `surface` ("message", "modal" or "home")."""
    check = _Check(surface)
    check.blocks(blocks, pointer)
    return check.problems


def validate_view(
    view: Any, *, kinds: Iterable[str] = ("modal", "home"), pointer: str = "/view"
) -> list[str]:
    """Problems Slack would report for a view object whose type must be one of `kinds`."""
    kinds = tuple(kinds)
    if not isinstance(view, dict):
        return [_problem("must provide an object", pointer)]
    kind = view.get("type")
    if kind not in kinds:
        return [_problem(f"must be one of: {', '.join(kinds)}", f"{pointer}/type")]
    check = _Check(kind)
    if kind == "modal":
        check.modal_parts(view, pointer)
    else:
        for name in ("title", "submit", "close"):
            if name in view:
                check.error(f"{name} is not allowed in a {kind} view", f"{pointer}/{name}")
    for name in ("private_metadata", "callback_id", "external_id"):
        if view.get(name) is not None:
            check.string(view[name], f"{pointer}/{name}", MAX_CHARS[f"view.{name}"])
    for name in ("clear_on_close", "notify_on_close", "submit_disabled"):
        if name in view:
            check.boolean(view[name], f"{pointer}/{name}")
    if "blocks" not in view:
        check.error("missing required field: blocks", pointer)
    else:
        check.blocks(view["blocks"], f"{pointer}/blocks")
    return check.problems


def input_block_ids(view: Mapping[str, Any]) -> set[str]:
    """The block_ids of the view's input blocks: the only keys `response_action: errors` takes."""
    return {
        b["block_id"]
        for b in view.get("blocks") or []
        if isinstance(b, dict) and b.get("type") == "input" and isinstance(b.get("block_id"), str)
    }


def strip_error_prefix(message: str) -> str:
    """`[ERROR] x [json-pointer:/p]` -> `x [json-pointer:/p]` (the form of Slack's `errors`)."""
    return message.removeprefix(_ERROR_PREFIX)


def _problem(message: str, pointer: str) -> str:
    return f"{_ERROR_PREFIX}{message} [json-pointer:{pointer}]"


# ---------------------------------------------------------------------- the walk


@dataclass
class _Check:
    """Walks one message's blocks or one view, collecting problems."""

    surface: str
    problems: list[str] = field(default_factory=list)
    _block_ids: set[str] = field(default_factory=set)

    def error(self, message: str, pointer: str) -> None:
        self.problems.append(_problem(message, pointer))

    # -- primitives

    def string(self, value: Any, pointer: str, max_len: int, *, min_len: int = 0) -> bool:
        if not isinstance(value, str):
            self.error("must provide a string", pointer)
            return False
        if len(value) < min_len:
            self.error(f"must be more than {min_len - 1} characters", pointer)
        if len(value) > max_len:
            self.error(f"must be less than {max_len + 1} characters", pointer)
        return True

    def boolean(self, value: Any, pointer: str) -> None:
        if not isinstance(value, bool):
            self.error("must provide a boolean", pointer)

    def integer(self, value: Any, pointer: str, low: int, high: int | None = None) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            self.error("must provide an integer", pointer)
        elif value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            self.error(f"must be {bound}", pointer)

    def array(self, value: Any, pointer: str, max_items: int, *, min_items: int = 1) -> list[Any]:
        """`value` when it is an array of acceptable length (reported otherwise), else []."""
        if not isinstance(value, list):
            self.error("must provide an array", pointer)
            return []
        if len(value) < min_items:
            self.error(f"must provide at least {min_items} item(s)", pointer)
        if len(value) > max_items:
            self.error(f"no more than {max_items} items allowed", pointer)
        return value

    def obj(self, value: Any, pointer: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.error("must provide an object", pointer)
            return None
        return value

    def required(self, parent: Mapping[str, Any], name: str, pointer: str) -> bool:
        if parent.get(name) is None:
            self.error(f"missing required field: {name}", pointer)
            return False
        return True

    def text(
        self, value: Any, pointer: str, *, max_len: int = MAX_CHARS["text"], plain: bool = False
    ) -> None:
        """A text object: `plain_text` (or also `mrkdwn` unless `plain`), 1..max_len characters."""
        text = self.obj(value, pointer)
        if text is None:
            return
        allowed = ("plain_text",) if plain else TEXT_TYPES
        if text.get("type") not in allowed:
            self.error(f"must be one of: {', '.join(allowed)}", f"{pointer}/type")
        if self.required(text, "text", pointer):
            self.string(text["text"], f"{pointer}/text", max_len, min_len=1)
        if "emoji" in text:
            self.boolean(text["emoji"], f"{pointer}/emoji")
        if "verbatim" in text:
            self.boolean(text["verbatim"], f"{pointer}/verbatim")

    def optional_text(
        self, parent: Mapping[str, Any], name: str, pointer: str, max_key: str, *, plain: bool
    ) -> None:
        if parent.get(name) is not None:
            self.text(parent[name], f"{pointer}/{name}", max_len=MAX_CHARS[max_key], plain=plain)

    # -- blocks

    def blocks(self, value: Any, pointer: str) -> None:
        max_items = MAX_ITEMS[f"{self.surface}.blocks"]
        for i, block in enumerate(self.array(value, pointer, max_items, min_items=0)):
            self.block(block, f"{pointer}/{i}")

    def block(self, value: Any, pointer: str) -> None:
        block = self.obj(value, pointer)
        if block is None:
            return
        kind = block.get("type")
        checker = _BLOCKS.get(kind) if isinstance(kind, str) else None
        if checker is None:
            self.error(f"unsupported type: {kind}", f"{pointer}/type")
            return
        if kind in NOT_ON_SURFACE.get(self.surface, ()):
            self.error(f"{kind} blocks are not allowed in a {self.surface}", f"{pointer}/type")
        if block.get("block_id") is not None:
            block_id = block["block_id"]
            if self.string(block_id, f"{pointer}/block_id", MAX_CHARS["block_id"], min_len=1):
                if block_id in self._block_ids:
                    self.error(f"non-unique block_id: {block_id}", f"{pointer}/block_id")
                self._block_ids.add(block_id)
        checker(self, block, pointer)

    def section(self, block: dict[str, Any], pointer: str) -> None:
        if block.get("text") is None and block.get("fields") is None:
            self.error("missing required field: text or fields", pointer)
        self.optional_text(block, "text", pointer, "section.text", plain=False)
        if block.get("fields") is not None:
            fields = self.array(block["fields"], f"{pointer}/fields", MAX_ITEMS["section.fields"])
            for i, item in enumerate(fields):
                self.text(item, f"{pointer}/fields/{i}", max_len=MAX_CHARS["section.fields[]"])
        if block.get("accessory") is not None:
            self.element(block["accessory"], f"{pointer}/accessory", SECTION_ACCESSORIES)
        if "expand" in block:
            self.boolean(block["expand"], f"{pointer}/expand")

    def context(self, block: dict[str, Any], pointer: str) -> None:
        if not self.required(block, "elements", pointer):
            return
        max_items = MAX_ITEMS["context.elements"]
        for i, item in enumerate(self.array(block["elements"], f"{pointer}/elements", max_items)):
            where = f"{pointer}/elements/{i}"
            kind = item.get("type") if isinstance(item, dict) else None
            if kind in TEXT_TYPES:
                self.text(item, where)
            elif kind == "image":
                self.image_element(item, where)
            else:
                self.error(f"unsupported type: {kind}", f"{where}/type")

    def actions(self, block: dict[str, Any], pointer: str) -> None:
        if not self.required(block, "elements", pointer):
            return
        max_items = MAX_ITEMS["actions.elements"]
        seen: set[str] = set()
        for i, item in enumerate(self.array(block["elements"], f"{pointer}/elements", max_items)):
            where = f"{pointer}/elements/{i}"
            self.element(item, where, ACTIONS_ELEMENTS)
            action_id = item.get("action_id") if isinstance(item, dict) else None
            if isinstance(action_id, str):
                if action_id in seen:
                    self.error(f"non-unique action_id: {action_id}", f"{where}/action_id")
                seen.add(action_id)

    def header(self, block: dict[str, Any], pointer: str) -> None:
        if self.required(block, "text", pointer):
            self.text(
                block["text"], f"{pointer}/text", max_len=MAX_CHARS["header.text"], plain=True
            )

    def divider(self, block: dict[str, Any], pointer: str) -> None:
        """Nothing beyond `type` and `block_id`."""

    def input(self, block: dict[str, Any], pointer: str) -> None:
        if self.required(block, "label", pointer):
            label_max = MAX_CHARS["input.label"]
            self.text(block["label"], f"{pointer}/label", max_len=label_max, plain=True)
        self.optional_text(block, "hint", pointer, "input.hint", plain=True)
        if self.required(block, "element", pointer):
            self.element(block["element"], f"{pointer}/element", INPUT_ELEMENTS)
        for name in ("optional", "dispatch_action"):
            if name in block:
                self.boolean(block[name], f"{pointer}/{name}")

    def image_block(self, block: dict[str, Any], pointer: str) -> None:
        self.image_element(block, pointer)
        self.optional_text(block, "title", pointer, "image.title", plain=True)

    def rich_text(self, block: dict[str, Any], pointer: str) -> None:
        """Accepted as is (Slack writes these itself; apps rarely build them)."""
        self.required(block, "elements", pointer)

    def markdown(self, block: dict[str, Any], pointer: str) -> None:
        if self.required(block, "text", pointer):
            self.string(block["text"], f"{pointer}/text", MAX_CHARS["markdown.text"], min_len=1)

    def file(self, block: dict[str, Any], pointer: str) -> None:
        for name in ("external_id", "source"):
            self.required(block, name, pointer)

    def video(self, block: dict[str, Any], pointer: str) -> None:
        for name in ("alt_text", "title", "thumbnail_url", "video_url"):
            self.required(block, name, pointer)

    # -- elements

    def element(self, value: Any, pointer: str, allowed: frozenset[str]) -> None:
        element = self.obj(value, pointer)
        if element is None:
            return
        kind = element.get("type")
        checker = _ELEMENTS.get(kind) if isinstance(kind, str) else None
        if checker is None or kind not in allowed:
            self.error(f"unsupported type: {kind}", f"{pointer}/type")
            return
        if element.get("action_id") is not None:
            self.string(
                element["action_id"], f"{pointer}/action_id", MAX_CHARS["action_id"], min_len=1
            )
        if element.get("confirm") is not None:
            self.confirm(element["confirm"], f"{pointer}/confirm")
        if "focus_on_load" in element:
            self.boolean(element["focus_on_load"], f"{pointer}/focus_on_load")
        checker(self, element, pointer)

    def placeholder(self, element: Mapping[str, Any], pointer: str) -> None:
        self.optional_text(element, "placeholder", pointer, "placeholder", plain=True)

    def button(self, element: dict[str, Any], pointer: str) -> None:
        if self.required(element, "text", pointer):
            max_len = MAX_CHARS["button.text"]
            self.text(element["text"], f"{pointer}/text", max_len=max_len, plain=True)
        for name in ("value", "url", "accessibility_label"):
            if element.get(name) is not None:
                self.string(element[name], f"{pointer}/{name}", MAX_CHARS[f"button.{name}"])
        if element.get("style") is not None and element["style"] not in BUTTON_STYLES:
            self.error(f"must be one of: {', '.join(BUTTON_STYLES)}", f"{pointer}/style")

    def workflow_button(self, element: dict[str, Any], pointer: str) -> None:
        self.button(element, pointer)
        self.required(element, "workflow", pointer)

    def select(self, element: dict[str, Any], pointer: str) -> None:
        self.placeholder(element, pointer)
        kind = element["type"]
        if kind.startswith("multi_") and "max_selected_items" in element:
            self.integer(element["max_selected_items"], f"{pointer}/max_selected_items", 1)
        if kind.endswith("external_select") and "min_query_length" in element:
            self.integer(element["min_query_length"], f"{pointer}/min_query_length", 0)
        if kind.endswith("static_select"):
            self.static_options(element, pointer)

    def static_options(self, element: dict[str, Any], pointer: str) -> None:
        has_options = element.get("options") is not None
        has_groups = element.get("option_groups") is not None
        if has_options == has_groups:
            self.error("exactly one of options or option_groups is required", pointer)
        values: set[Any] = set()
        if has_options:
            values |= self.options(
                element["options"], f"{pointer}/options", MAX_ITEMS["select.options"]
            )
        if has_groups:
            max_groups = MAX_ITEMS["select.option_groups"]
            groups = self.array(element["option_groups"], f"{pointer}/option_groups", max_groups)
            for i, group in enumerate(groups):
                values |= self.option_group(group, f"{pointer}/option_groups/{i}")
        self.initial_options(element, pointer, values)

    def option_group(self, value: Any, pointer: str) -> set[Any]:
        group = self.obj(value, pointer)
        if group is None:
            return set()
        if self.required(group, "label", pointer):
            max_len = MAX_CHARS["option_group.label"]
            self.text(group["label"], f"{pointer}/label", max_len=max_len, plain=True)
        if not self.required(group, "options", pointer):
            return set()
        return self.options(
            group["options"], f"{pointer}/options", MAX_ITEMS["option_group.options"]
        )

    def checkboxes(self, element: dict[str, Any], pointer: str) -> None:
        self.choice(element, pointer, MAX_ITEMS["checkboxes.options"])

    def radio_buttons(self, element: dict[str, Any], pointer: str) -> None:
        self.choice(element, pointer, MAX_ITEMS["radio_buttons.options"])

    def choice(self, element: dict[str, Any], pointer: str, max_items: int) -> None:
        """Checkboxes and radio buttons: their options' text may be mrkdwn."""
        if not self.required(element, "options", pointer):
            return
        values = self.options(element["options"], f"{pointer}/options", max_items, mrkdwn=True)
        self.initial_options(element, pointer, values)

    def overflow(self, element: dict[str, Any], pointer: str) -> None:
        if self.required(element, "options", pointer):
            max_items = MAX_ITEMS["overflow.options"]
            self.options(element["options"], f"{pointer}/options", max_items, url=True)

    def options(
        self, value: Any, pointer: str, max_items: int, *, mrkdwn: bool = False, url: bool = False
    ) -> set[Any]:
        """Check an array of option objects; return their values (for initial_option checks)."""
        values: set[Any] = set()
        for i, item in enumerate(self.array(value, pointer, max_items)):
            values.add(self.option(item, f"{pointer}/{i}", mrkdwn=mrkdwn, url=url))
        return values

    def option(self, value: Any, pointer: str, *, mrkdwn: bool, url: bool) -> Any:
        option = self.obj(value, pointer)
        if option is None:
            return None
        if self.required(option, "text", pointer):
            max_len = MAX_CHARS["option.text"]
            self.text(option["text"], f"{pointer}/text", max_len=max_len, plain=not mrkdwn)
        if self.required(option, "value", pointer):
            self.string(option["value"], f"{pointer}/value", MAX_CHARS["option.value"])
        self.optional_text(option, "description", pointer, "option.description", plain=not mrkdwn)
        if option.get("url") is not None:
            if url:
                self.string(option["url"], f"{pointer}/url", MAX_CHARS["option.url"])
            else:
                self.error("url is only allowed in overflow menu options", f"{pointer}/url")
        found = option.get("value")
        return found if isinstance(found, str) else None

    def initial_options(self, element: Mapping[str, Any], pointer: str, values: set[Any]) -> None:
        """`initial_option(s)` must be among the element's options (compared by value)."""
        chosen: list[tuple[str, Any]] = []
        if element.get("initial_option") is not None:
            chosen.append(("initial_option", element["initial_option"]))
        if element.get("initial_options") is not None:
            initial = element["initial_options"]
            if isinstance(initial, list):
                chosen += [(f"initial_options/{i}", o) for i, o in enumerate(initial)]
            else:
                self.error("must provide an array", f"{pointer}/initial_options")
        for where, option in chosen:
            value = option.get("value") if isinstance(option, dict) else None
            if value not in values:
                self.error("must match one of the provided options", f"{pointer}/{where}")

    def plain_text_input(self, element: dict[str, Any], pointer: str) -> None:
        self.placeholder(element, pointer)
        bound = MAX_CHARS["plain_text_input.length"]
        max_length = element.get("max_length")
        min_length = element.get("min_length")
        if max_length is not None:
            self.integer(max_length, f"{pointer}/max_length", 1, bound)
        if min_length is not None:
            self.integer(min_length, f"{pointer}/min_length", 0, bound)
        if isinstance(max_length, int) and isinstance(min_length, int) and min_length > max_length:
            self.error("min_length must not exceed max_length", f"{pointer}/min_length")
        if element.get("initial_value") is not None:
            limit = max_length if isinstance(max_length, int) and max_length >= 1 else bound
            self.string(element["initial_value"], f"{pointer}/initial_value", limit)
        if "multiline" in element:
            self.boolean(element["multiline"], f"{pointer}/multiline")

    def datepicker(self, element: dict[str, Any], pointer: str) -> None:
        self.placeholder(element, pointer)
        initial = element.get("initial_date")
        if initial is not None and not (isinstance(initial, str) and _DATE_RE.match(initial)):
            self.error("must be a date in the form YYYY-MM-DD", f"{pointer}/initial_date")

    def timepicker(self, element: dict[str, Any], pointer: str) -> None:
        self.placeholder(element, pointer)
        initial = element.get("initial_time")
        if initial is not None and not (isinstance(initial, str) and _TIME_RE.match(initial)):
            self.error("must be a time in the form HH:mm", f"{pointer}/initial_time")

    def datetimepicker(self, element: dict[str, Any], pointer: str) -> None:
        if element.get("initial_date_time") is not None:
            self.integer(element["initial_date_time"], f"{pointer}/initial_date_time", 0)

    def text_like_input(self, element: dict[str, Any], pointer: str) -> None:
        """email_text_input, url_text_input, rich_text_input: a placeholder at most."""
        self.placeholder(element, pointer)

    def number_input(self, element: dict[str, Any], pointer: str) -> None:
        self.placeholder(element, pointer)
        if self.required(element, "is_decimal_allowed", pointer):
            self.boolean(element["is_decimal_allowed"], f"{pointer}/is_decimal_allowed")

    def file_input(self, element: dict[str, Any], pointer: str) -> None:
        if element.get("max_files") is not None:
            high = MAX_ITEMS["file_input.max_files"]
            self.integer(element["max_files"], f"{pointer}/max_files", 1, high)

    def image_element(self, element: Mapping[str, Any], pointer: str) -> None:
        """An image element (in a section or context) or the image part of an image block."""
        if element.get("image_url") is None and element.get("slack_file") is None:
            self.error("missing required field: image_url or slack_file", pointer)
        elif element.get("image_url") is not None and element.get("slack_file") is not None:
            self.error("must provide only one of image_url or slack_file", pointer)
        if element.get("image_url") is not None:
            self.string(element["image_url"], f"{pointer}/image_url", MAX_CHARS["image.image_url"])
        if self.required(element, "alt_text", pointer):
            self.string(element["alt_text"], f"{pointer}/alt_text", MAX_CHARS["image.alt_text"])

    def confirm(self, value: Any, pointer: str) -> None:
        dialog = self.obj(value, pointer)
        if dialog is None:
            return
        for name in ("title", "text", "confirm", "deny"):
            if self.required(dialog, name, pointer):
                max_len = MAX_CHARS[f"confirm.{name}"]
                self.text(dialog[name], f"{pointer}/{name}", max_len=max_len, plain=name != "text")
        if dialog.get("style") is not None and dialog["style"] not in BUTTON_STYLES:
            self.error(f"must be one of: {', '.join(BUTTON_STYLES)}", f"{pointer}/style")

    # -- views

    def modal_parts(self, view: Mapping[str, Any], pointer: str) -> None:
        if self.required(view, "title", pointer):
            self.text(
                view["title"], f"{pointer}/title", max_len=MAX_CHARS["modal.title"], plain=True
            )
        for name in ("submit", "close"):
            self.optional_text(view, name, pointer, f"modal.{name}", plain=True)
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if has_input and view.get("submit") is None:
            self.error("missing required field: submit (the view has input blocks)", pointer)


_Checker = Callable[[_Check, dict[str, Any], str], None]

_BLOCKS: Final[Mapping[str, _Checker]] = {
    "section": _Check.section,
    "context": _Check.context,
    "actions": _Check.actions,
    "header": _Check.header,
    "divider": _Check.divider,
    "input": _Check.input,
    "image": _Check.image_block,
    "rich_text": _Check.rich_text,
    "markdown": _Check.markdown,
    "file": _Check.file,
    "video": _Check.video,
}

_ELEMENTS: Final[Mapping[str, _Checker]] = {
    **dict.fromkeys(_SELECTS, _Check.select),
    "button": _Check.button,
    "workflow_button": _Check.workflow_button,
    "checkboxes": _Check.checkboxes,
    "radio_buttons": _Check.radio_buttons,
    "overflow": _Check.overflow,
    "plain_text_input": _Check.plain_text_input,
    "datepicker": _Check.datepicker,
    "timepicker": _Check.timepicker,
    "datetimepicker": _Check.datetimepicker,
    "email_text_input": _Check.text_like_input,
    "url_text_input": _Check.text_like_input,
    "rich_text_input": _Check.text_like_input,
    "number_input": _Check.number_input,
    "file_input": _Check.file_input,
    "image": _Check.image_element,
}
