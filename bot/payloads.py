"""The front door's models: what a signed request must look like before any handler sees it.

Handlers read payload fields as Slack documents them (`event["user"]` a string, `actions[0]`
an object with an `action_id` …). A correctly signed request that breaks those shapes would
otherwise surface as a TypeError deep in a handler and a 500. So every request is parsed here
first, and refused (`BadPayload`, answered 400) when:

- its JSON nests deeper than `MAX_DEPTH` (checked on the text, before decoding: Python's json
  recurses and has no depth limit of its own);
- a string in it is longer than `MAX_STRING_CHARS` (Slack's own limit on a message's text), or
  holds a NUL, another control character than tab and newlines, or half of a surrogate pair
  (which no UTF-8 text can carry and which would fail where it is written). A slash command's
  `text` is the exception to the characters rule: it is what was typed, and the command parser
  answers anything it does not know with help;
- the fields handlers rely on have other types than Slack sends (the models below).

The models only check; Bolt still parses the raw body for the handlers. Fields nobody reads
are left to Slack (`extra="allow"`), so a field Slack adds tomorrow breaks nothing.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from multidict import MultiDictProxy
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError
from yarl import URL

MAX_DEPTH = 64
MAX_STRING_CHARS = 40_000

EVENT_TYPES = frozenset({"url_verification", "event_callback", "app_rate_limited"})
INTERACTION_TYPES = frozenset(
    {
        "block_actions",
        "block_suggestion",
        "view_submission",
        "view_closed",
        "shortcut",
        "message_action",
    }
)
# Events whose fields the handlers read; any other event only needs a type.
HANDLED_EVENTS = frozenset({"message", "app_mention", "app_home_opened", "file_shared"})


class BadPayload(Exception):
    """The body is signed correctly but is not a Slack payload we know."""


# ---------------------------------------------------------------------- text before decoding

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")
# C0 controls other than tab, line feed and carriage return, and lone surrogates.
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]|[\ud800-\udfff]")


def check_depth(text: str, limit: int = MAX_DEPTH) -> None:
    """Refuse JSON text nesting arrays and objects deeper than `limit`, without decoding it."""
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            if depth > limit:
                raise BadPayload(f"JSON nested deeper than {limit}")
        else:
            depth -= 1


def _check_strings(node: Any) -> None:
    """Refuse over-long strings and characters no Slack text carries, keys included."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if len(item) > MAX_STRING_CHARS:
                raise BadPayload(f"a string longer than {MAX_STRING_CHARS} characters")
            if _FORBIDDEN.search(item):
                raise BadPayload("a string with a control character or a lone surrogate")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def decode_json(text: str) -> Any:
    """JSON text decoded with bounded depth and checked strings, or `BadPayload`."""
    check_depth(text)
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise BadPayload("not JSON") from None
    _check_strings(data)
    return data


# ---------------------------------------------------------------------- the models

Text = Annotated[StrictStr, Field(max_length=MAX_STRING_CHARS)]
OptText = Text | None


class _Model(BaseModel):
    # Only what handlers read is checked; the rest is Slack's business.
    model_config = ConfigDict(extra="allow")


class FileRef(_Model):
    id: OptText = None
    name: OptText = None
    title: OptText = None
    mimetype: OptText = None
    size: int | None = None
    file_access: OptText = None
    url_private: OptText = None
    url_private_download: OptText = None


class Event(_Model):
    """An event the handlers read: a message, a mention, the home tab, a shared file."""

    type: StrictStr
    subtype: OptText = None
    user: OptText = None
    bot_id: OptText = None
    text: OptText = None
    channel: OptText = None
    channel_type: OptText = None
    ts: OptText = None
    thread_ts: OptText = None
    event_ts: OptText = None
    files: list[FileRef] | None = None
    # file_shared
    file_id: OptText = None
    user_id: OptText = None
    channel_id: OptText = None
    file: FileRef | None = None
    # app_home_opened
    tab: OptText = None
    view: dict[str, Any] | None = None


class AnyEvent(_Model):
    type: StrictStr


class EventCallback(_Model):
    type: Literal["event_callback"]
    event: dict[str, Any]
    event_id: OptText = None
    team_id: OptText = None
    api_app_id: OptText = None


class UrlVerification(_Model):
    type: Literal["url_verification"]
    challenge: Text


class RateLimited(_Model):
    type: Literal["app_rate_limited"]
    api_app_id: OptText = None


class UserRef(_Model):
    id: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    team_id: OptText = None


class IdRef(_Model):
    id: OptText = None


class Container(_Model):
    type: OptText = None
    channel_id: OptText = None
    message_ts: OptText = None
    view_id: OptText = None
    is_ephemeral: StrictBool | None = None


class ClickedMessage(_Model):
    ts: OptText = None
    thread_ts: OptText = None


class Option(_Model):
    value: Text


class ElementState(_Model):
    """One input's value in a view's state, for every element type the bot uses."""

    type: OptText = None
    value: OptText = None
    selected_option: Option | None = None
    selected_options: list[Option] | None = None
    selected_date: OptText = None
    selected_user: OptText = None
    selected_users: list[Text] | None = None


class ViewState(_Model):
    values: dict[str, dict[str, ElementState]] = Field(default_factory=dict)


class View(_Model):
    """A view as handlers read it (the submitted form, or the modal/home of a click)."""

    id: OptText = None
    type: OptText = None
    callback_id: OptText = None
    private_metadata: OptText = None
    hash: OptText = None
    state: ViewState | None = None
    blocks: list[dict[str, Any]] | None = None


class SubmittedView(View):
    callback_id: Text
    private_metadata: Text
    state: ViewState


class Action(_Model):
    action_id: Annotated[StrictStr, Field(min_length=1, max_length=255)]
    block_id: OptText = None
    type: OptText = None
    value: OptText = None
    selected_option: Option | None = None


class _Interaction(_Model):
    user: UserRef
    api_app_id: OptText = None
    team: IdRef | None = None
    trigger_id: OptText = None
    response_url: OptText = None


class BlockActions(_Interaction):
    type: Literal["block_actions"]
    actions: Annotated[list[Action], Field(min_length=1)]
    channel: IdRef | None = None
    container: Container | None = None
    message: ClickedMessage | None = None
    view: View | None = None
    state: ViewState | None = None


class ViewSubmission(_Interaction):
    type: Literal["view_submission", "view_closed"]
    view: SubmittedView


class BlockSuggestion(_Interaction):
    type: Literal["block_suggestion"]
    action_id: Text
    value: Text


class Shortcut(_Interaction):
    type: Literal["shortcut", "message_action"]
    callback_id: Text


_INTERACTIONS: dict[str, type[_Interaction]] = {
    "block_actions": BlockActions,
    "view_submission": ViewSubmission,
    "view_closed": ViewSubmission,
    "block_suggestion": BlockSuggestion,
    "shortcut": Shortcut,
    "message_action": Shortcut,
}

Id = Annotated[StrictStr, Field(min_length=1, max_length=64)]


class SlashCommand(_Model):
    command: Annotated[StrictStr, Field(pattern=r"^/[^\s/]{1,31}$")]
    text: Text = ""
    user_id: Id
    channel_id: Id
    team_id: Id
    api_app_id: OptText = None
    response_url: OptText = None
    trigger_id: OptText = None


# ---------------------------------------------------------------------- classify


def _validate(model: type[BaseModel], data: dict[str, Any], what: str) -> None:
    try:
        model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise BadPayload(f"{what}: {where}: {first['msg']}") from None


def _type_of(data: dict[str, Any]) -> str | None:
    kind = data.get("type")
    return kind if isinstance(kind, str) else None


def _event_payload(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict) or _type_of(data) not in EVENT_TYPES:
        raise BadPayload("not an Events API payload")
    kind = data["type"]
    if kind == "url_verification":
        _validate(UrlVerification, data, "url_verification")
    elif kind == "app_rate_limited":
        _validate(RateLimited, data, "app_rate_limited")
    else:
        if not isinstance(data.get("event"), dict):
            raise BadPayload("event_callback without an event")
        _validate(EventCallback, data, "event_callback")
        event = data["event"]
        handled = _type_of(event) in HANDLED_EVENTS
        _validate(Event if handled else AnyEvent, event, "event")
    return data


def _interaction_payload(text: str) -> dict[str, Any]:
    try:
        payload = decode_json(text)
    except BadPayload as exc:
        raise BadPayload(f"payload: {exc}") from None
    if not isinstance(payload, dict) or _type_of(payload) not in INTERACTION_TYPES:
        raise BadPayload("unknown interaction type")
    kind = payload["type"]
    _validate(_INTERACTIONS[kind], payload, kind)
    return payload


def form_fields(body: str) -> MultiDictProxy[str]:
    """The fields of a form-encoded body, read as `urllib.parse.parse_qsl(body,
    keep_blank_values=True)` reads them (tests/payloads holds it to that), by yarl's compiled
    decoder: a click is a few KB of percent-encoded JSON, and urllib's decoding in Python was the
    largest single cost of answering one."""
    return URL.build(query_string=body, encoded=True).query


def classify(body: str, content_type: str) -> tuple[str, dict[str, Any]]:
    """The kind of a signed request (`event`, `interaction`, `command`, `ssl_check`) and its
    parsed body, once it passed the models; raises `BadPayload` for anything else."""
    if content_type == "application/json":
        return "event", _event_payload(decode_json(body))
    if content_type == "application/x-www-form-urlencoded":
        try:
            form = form_fields(body)
        except ValueError:
            raise BadPayload("form body does not parse") from None
        if "payload" in form:
            return "interaction", _interaction_payload(form["payload"])
        if "command" in form:
            fields = {k: form[k] for k in form}  # the first value of each, as Bolt reads it
            # What follows the command is typed text, answered by the command parser (which
            # echoes it harmlessly); every other field is Slack's own.
            _check_strings({k: v for k, v in fields.items() if k != "text"})
            _validate(SlashCommand, fields, "command")
            return "command", fields
        if "ssl_check" in form:
            return "ssl_check", {}
        raise BadPayload("form body is neither a command nor an interaction")
    raise BadPayload(f"unsupported content type {content_type or 'none'}")


def addressed_elsewhere(kind: str, data: dict[str, Any], ours: str | None) -> bool:
    """Whether a request names another Slack app than ours (`api_app_id`, which events,
    interactions and commands all carry). Without our id nothing is filtered; Slack's URL
    check carries no app id."""
    if not ours or kind not in ("event", "interaction", "command"):
        return False
    if data.get("type") == "url_verification":
        return False
    return data.get("api_app_id") != ours
