"""Rendering content references for Slack."""

from __future__ import annotations

from bot.flows.effects import MessageRef
from bot.i18n import Catalog, Lang
from bot.slackapi import escape


def render(ref: MessageRef, catalog: Catalog, lang: Lang) -> str:
    """A message in `lang`. Literal parameters (a reviewer's reason, a number a customer typed)
    are escaped, so they cannot form links or mentions; labels are our own content."""
    safe = MessageRef(
        key=ref.key,
        params={name: escape(value) for name, value in ref.params.items()},
        labels=ref.labels,
    )
    return safe.render(catalog, lang)
