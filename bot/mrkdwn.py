"""People's text and Slack's mrkdwn: decoded once where it comes in, escaped once where it is
rendered. Pure functions, usable from any layer."""

from __future__ import annotations

import re


def escape(text: str) -> str:
    """Escape people's text where it is rendered into mrkdwn, so it cannot form links or
    mentions. Escape once, there: what is stored is the text as typed (see `typed_text`)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}


def typed_text(value: object) -> str:
    """Text a person typed, as they typed it. Slack sends message and slash-command text with
    `&`, `<` and `>` escaped as entities (its own `<@U…>`, `<#C…>` and `<https://…>` stay as
    they are); decoded once here, in one pass, so a typed `&lt;` stays `&lt;`."""
    if not isinstance(value, str):
        return ""
    return _ENTITY.sub(lambda match: _ENTITIES[match.group(1)], value)


USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_MENTION = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$")


def mention(user: str) -> str:
    """A Slack user id as a mention; anything that is not an id is shown as text."""
    return f"<@{user}>" if USER_ID.match(user) else escape(user)


def user_of(text: str) -> str | None:
    """The user a mention names (`<@U…>` or `<@U…|name>`, as Slack sends it), or a bare id."""
    word = text.strip()
    match = _MENTION.match(word)
    if match:
        return match.group(1)
    return word if USER_ID.match(word) else None
