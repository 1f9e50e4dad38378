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
