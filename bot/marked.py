"""Messages that say which piece of work posted them, in Slack message metadata.

Slack has no idempotency key for `chat.postMessage`. Work that is run again after an outcome we
could not learn (the process died after Slack accepted the post, a call that timed out) first
looks for a message carrying its mark, and posts only when there is none.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

# How far back a lookup reads: the work was started moments to minutes before it is run again.
_LOOKUP_LIMIT = 200


def mark(event_type: str, key: str, value: str) -> dict[str, Any]:
    """The `metadata` argument of a post that names its work."""
    return {"event_type": event_type, "event_payload": {key: value}}


def _carries(message: dict[str, Any], marker: dict[str, Any]) -> bool:
    metadata = message.get("metadata")
    return (
        isinstance(metadata, dict)
        and metadata.get("event_type") == marker["event_type"]
        and metadata.get("event_payload") == marker["event_payload"]
    )


async def find_marked(
    client: AsyncWebClient,
    channel: str,
    marker: dict[str, Any],
    *,
    since_ts: str,
    thread_ts: str | None = None,
) -> str | None:
    """The ts of a message in `channel` (or in the thread `thread_ts`) posted after `since_ts`
    that carries `marker`; None when there is none, or when Slack cannot tell us (then the work
    posts again: a rare duplicate is better than a lost message)."""
    try:
        if thread_ts:
            resp = await client.conversations_replies(
                channel=channel, ts=thread_ts, include_all_metadata=True, limit=_LOOKUP_LIMIT
            )
        else:
            resp = await client.conversations_history(
                channel=channel, oldest=since_ts, include_all_metadata=True, limit=_LOOKUP_LIMIT
            )
    except SlackApiError as exc:
        log.warning("could not look for an earlier post: %s", exc.response.get("error"))
        return None
    for message in resp.get("messages") or []:
        if isinstance(message, dict) and _carries(message, marker):
            return str(message.get("ts"))
    return None
