"""Random input at the boundary never raises anything but the documented refusal.

- the front door's parser (`bot.payloads.classify`): `BadPayload`, and what it lets through has
  the types handlers read;
- the command parser (`parse_command`): any text parses;
- the form readers and validators (`bot.handlers.forms.READERS`, `bot.flows.validate`, the SIP
  form): `InvalidValue`, `FormErrors` or pydantic's `ValidationError`, which `on_submission`
  turns into errors shown on the form;
- button values and `private_metadata` (`parse_prompt`, `parse_form`): a model or None.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.flows import validate
from bot.flows.errors import InputField, InvalidValue
from bot.handlers.forms import READERS
from bot.handlers.subcommands import parse_command
from bot.mrkdwn import typed_text
from bot.payloads import MAX_DEPTH, BadPayload, check_depth, classify, form_fields
from bot.views.refs import FormMeta, parse_form, parse_prompt
from bot.views.sip import FormErrors, media_range
from tests.fakeslack.driver import payload

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
CONTENT_TYPES = st.sampled_from(
    ["application/json", "application/x-www-form-urlencoded", "text/plain", ""]
)
TEMPLATES = [
    "event_callback",
    "url_verification",
    "block_actions",
    "view_submission",
    "slash_command",
]
EVENTS = ["event_message", "event_message_file_share", "event_app_mention",
          "event_app_home_opened", "event_file_shared"]  # fmt: skip


def depth_of(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    return 0


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value that holds something."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, *rest = path
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[head] = replaced(value[head], tuple(rest), new)
    return copy


def real_request(name: str, event: str) -> tuple[Any, str]:
    """A real-shaped request body (as an object) and how Slack sends it."""
    body: Any = payload(name)
    if name == "event_callback":
        body["event"] = payload(event)
    return body, name


def encoded(body: Any, name: str) -> tuple[str, str]:
    if name == "slash_command":
        fields = {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
        return urlencode(fields), "application/x-www-form-urlencoded"
    if name in ("block_actions", "view_submission"):
        return urlencode({"payload": json.dumps(body)}), "application/x-www-form-urlencoded"
    return json.dumps(body), "application/json"


def assert_handler_shapes(kind: str, data: dict[str, Any]) -> None:
    """What the handlers read holds the type they read it as."""
    if kind == "event" and data["type"] == "event_callback":
        event = data["event"]
        assert isinstance(event["type"], str)
        if event["type"] in ("message", "app_mention"):
            for key in ("user", "text", "channel", "ts", "thread_ts", "channel_type", "subtype"):
                assert event.get(key) is None or isinstance(event[key], str), key
            files = event.get("files")
            assert files is None or all(isinstance(f, dict) for f in files)
    if kind == "interaction":
        assert isinstance(data["user"]["id"], str)
        if data["type"] == "block_actions":
            assert data["actions"] and all(isinstance(a["action_id"], str) for a in data["actions"])
        if data["type"] == "view_submission":
            view = data["view"]
            assert isinstance(view["private_metadata"], str)
            assert isinstance(view["callback_id"], str)
            # A state without values is a form with no inputs filled: the model allows it.
            for block in view["state"].get("values", {}).values():
                assert all(isinstance(element, dict) for element in block.values())
    if kind == "command":
        assert all(isinstance(data[k], str) for k in ("user_id", "channel_id", "team_id", "text"))


# ---------------------------------------------------------------------- the front door


@FAST
@given(st.text(max_size=300), CONTENT_TYPES)
def test_any_text_is_a_payload_or_refused(body: str, content_type: str) -> None:
    try:
        kind, data = classify(body, content_type)
    except BadPayload:
        return
    assert_handler_shapes(kind, data)


@FAST
@given(JSON_VALUES)
def test_any_json_is_a_payload_or_refused(value: Any) -> None:
    for body, content_type in (
        (json.dumps(value), "application/json"),
        (urlencode({"payload": json.dumps(value)}), "application/x-www-form-urlencoded"),
    ):
        try:
            kind, data = classify(body, content_type)
        except BadPayload:
            continue
        assert_handler_shapes(kind, data)


@FAST
@given(st.sampled_from(TEMPLATES), st.sampled_from(EVENTS), st.data())
def test_a_real_payload_with_any_field_replaced_is_a_payload_or_refused(
    name: str, event: str, data: st.DataObject
) -> None:
    body, name = real_request(name, event)
    path = data.draw(st.sampled_from(paths(body)))
    body = replaced(body, path, data.draw(JSON_VALUES))
    text, content_type = encoded(body, name)
    try:
        kind, parsed = classify(text, content_type)
    except BadPayload:
        return
    assert_handler_shapes(kind, parsed)


@pytest.mark.parametrize("name", TEMPLATES)
@pytest.mark.parametrize("event", EVENTS)
def test_every_real_payload_passes(name: str, event: str) -> None:
    body, name = real_request(name, event)
    kind, parsed = classify(*encoded(body, name))
    assert_handler_shapes(kind, parsed)


FORM_TEXT = st.text(alphabet=st.sampled_from("%&=+;#?/ aAfF09zZ\n你\x00"), max_size=60) | st.text(
    max_size=40
)


@FAST
@given(FORM_TEXT | st.dictionaries(st.text(max_size=10), st.text(max_size=30)).map(urlencode))
def test_form_fields_read_a_body_as_the_standard_library_does(body: str) -> None:
    assert list(form_fields(body).items()) == parse_qsl(body, keep_blank_values=True)


@FAST
@given(JSON_VALUES, st.integers(min_value=0, max_value=8))
def test_the_depth_check_agrees_with_the_real_depth(value: Any, limit: int) -> None:
    text = json.dumps(value)
    if depth_of(value) > limit:
        with pytest.raises(BadPayload):
            check_depth(text, limit)
    else:
        check_depth(text, limit)


@FAST
@given(st.integers(min_value=MAX_DEPTH + 1, max_value=200_000), st.sampled_from("[{"))
def test_deep_nesting_is_refused_before_decoding(depth: int, bracket: str) -> None:
    opening = bracket if bracket == "[" else '{"a":'
    closing = "]" if bracket == "[" else "}"
    text = opening * depth + "1" + closing * depth
    with pytest.raises(BadPayload):
        classify(text, "application/json")


# ---------------------------------------------------------------------- the command parser


@FAST
@given(st.text() | st.none() | st.integers() | st.lists(st.text(max_size=3)))
def test_any_command_text_parses(text: Any) -> None:
    name, args = parse_command(text)
    assert not any(c.isspace() for c in name)
    assert args == args.strip()
    typed = typed_text(text).strip()
    assert typed.startswith(name)
    assert not name or args in typed


# ---------------------------------------------------------------------- forms

OPTION = st.fixed_dictionaries({"value": st.text(max_size=30)})
ELEMENT = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["plain_text_input", "checkboxes", "static_select"]),
        "value": st.none() | st.text(max_size=300),
        "selected_option": st.none() | OPTION,
        "selected_options": st.lists(OPTION, max_size=4),
    },
)
FIELDS = st.sampled_from([f.value for f in InputField]) | st.text(max_size=10)
STATE = st.dictionaries(FIELDS, st.dictionaries(st.just("value") | st.text(max_size=5), ELEMENT))
STAGES = st.sampled_from(["account", "console", "login", "sdk", "numbers.script"]) | st.text(
    min_size=1, max_size=20
)


@FAST
@given(
    st.sampled_from(list(READERS)),
    STATE,
    STAGES,
    st.none() | st.lists(st.fixed_dictionaries({"type": st.just("input"), "block_id": FIELDS})),
)
def test_a_form_with_any_values_is_read_or_refused_on_a_field(
    callback: Any, values: dict[str, Any], stage: str, blocks: list[Any] | None
) -> None:
    view: dict[str, Any] = {"id": "V1", "state": {"values": values}, "blocks": blocks}
    read, _ = READERS[callback]
    meta = FormMeta(t="acme-1", s=stage, c="C0ACME00001")
    with contextlib.suppress(InvalidValue, FormErrors, ValidationError):
        read(view, meta)


TEXT = st.none() | st.text(max_size=300)
ADDRESS = st.builds(
    "{}:{}".format,
    st.ip_addresses().map(str) | st.text(max_size=10),
    st.integers(min_value=-1, max_value=70000).map(str) | st.text(max_size=6),
)


@FAST
@given(st.lists(ADDRESS, max_size=3))
@example(["203.0.113.10:²"])  # a digit to str.isdigit, not to int()
@example(["[2001:db8::1]:5060", "203.0.113.10:٥٠٦٠"])
def test_any_signalling_address_is_accepted_or_refused(addresses: list[str]) -> None:
    with contextlib.suppress(InvalidValue):
        validate.signalling_addresses(addresses)


@FAST
@given(TEXT, TEXT, TEXT, TEXT, st.booleans())
def test_the_validators_accept_or_refuse_any_text(
    a: str | None, b: str | None, c: str | None, d: str | None, agreed: bool
) -> None:
    checks = [
        lambda: validate.uin(a),
        lambda: validate.email(InputField.ADMIN_EMAIL, a),
        lambda: validate.phone_number(InputField.CONTACT_PHONE, a),
        lambda: validate.instance(a, b, c, agreed),
        lambda: validate.reason(a),
        lambda: validate.script(a, b),
        lambda: validate.ticket_id(a),
        lambda: validate.signalling_address(a or ""),
        lambda: validate.sip_numbers([x for x in (a, b, c) if x is not None]),
        lambda: validate.signalling_addresses([x for x in (b, c, d) if x is not None]),
        lambda: media_range(d or ""),
    ]
    for check in checks:
        with contextlib.suppress(InvalidValue):
            check()


@FAST
@given(st.text(max_size=200) | st.none())
def test_any_button_value_or_metadata_is_a_model_or_none(text: str | None) -> None:
    prompt = parse_prompt(text)
    form = parse_form(text)
    assert prompt is None or prompt.t
    assert form is None or (form.t and form.s and form.c)


@FAST
@given(JSON_VALUES)
def test_any_json_as_a_button_value_is_a_model_or_none(value: Any) -> None:
    text = json.dumps(value)
    assert parse_prompt(text) is None or isinstance(value, dict)
    assert parse_form(text) is None or isinstance(value, dict)
