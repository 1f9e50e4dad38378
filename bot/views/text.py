"""Rendering content references for Slack."""

from __future__ import annotations

from collections.abc import Mapping

from bot.flows.effects import MessageRef
from bot.i18n import Catalog, Lang
from bot.mrkdwn import escape, mention


def render(
    ref: MessageRef, catalog: Catalog, lang: Lang, *, mentions: Mapping[str, str] | None = None
) -> str:
    """A message in `lang`. Literal parameters (a reviewer's reason, a number a customer typed)
    are escaped, so they cannot form links or mentions; labels are our own content; `mentions`
    are Slack user ids, shown as mentions (anything that is not an id is shown as text)."""
    params = {name: escape(value) for name, value in ref.params.items()}
    for name, user in (mentions or {}).items():
        params[name] = mention(user)
    return MessageRef(key=ref.key, params=params, labels=ref.labels).render(catalog, lang)
