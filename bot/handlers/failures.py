"""What a request that went wrong is answered: no listener for it, Redis away, a bug.

Used by the app's error handler (`bot.app`) for what fails before the answer, and by the
listener wrappers (`bot.handlers.acks`) for what fails in the work that goes on after it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.response import BoltResponse

from bot.handlers.inbox import settle_unheard
from bot.i18n import Lang
from bot.mrkdwn import escape
from bot.services import Services
from bot.state.health import is_unreachable
from bot.views.kit import Message

log = logging.getLogger(__name__)


def describe_request(body: dict[str, Any]) -> str:
    """What a request is, for one log line: its kind and name, never what a user typed."""
    if body.get("command"):
        return f"command {str(body['command'])[:40]}"
    kind = str(body.get("type") or "request")
    if kind == "event_callback":
        event = body.get("event")
        return f"event {event.get('type') if isinstance(event, dict) else '?'}"
    if kind == "block_actions":
        actions = body.get("actions")
        first = actions[0] if isinstance(actions, list) and actions else {}
        action_id = first.get("action_id") if isinstance(first, dict) else None
        return f"block_actions {str(action_id)[:60]}"
    if kind in ("view_submission", "view_closed"):
        view = body.get("view")
        callback = view.get("callback_id") if isinstance(view, dict) else None
        return f"{kind} {str(callback)[:60]}"
    return kind


async def _lang_of(context: dict[str, Any], services: Services) -> Lang:
    user = context.get("user_id")
    return await services.locales.lang_of(user, services.settings.ops_lang) if user else Lang.ZH


async def _unhandled(
    body: dict[str, Any], context: dict[str, Any], respond: AsyncRespond | None
) -> BoltResponse:
    """A request no listener takes: 200, a polite answer where the user waits for one (a slash
    command we do not have, a button of a message from an older version), one log line."""
    log.warning("no listener for %s; answered 200", describe_request(body))
    await settle_unheard(context)
    services: Services | None = context.get("services")
    if services is None:
        return BoltResponse(status=200, body="")
    catalog = services.catalog
    if body.get("command"):
        lang = await _lang_of(context, services)
        command = escape(str(body["command"])[:40].replace("`", "'"))
        text = catalog.t(lang, "conversation.errors.unknown_command", command=command)
        answer = {"response_type": "ephemeral", **Message.plain_text(text)}
        return BoltResponse(
            status=200, body=json.dumps(answer), headers={"content-type": "application/json"}
        )
    if body.get("type") == "block_actions" and body.get("response_url"):
        lang = await _lang_of(context, services)
        if respond is not None:
            try:
                await respond(
                    text=catalog.t(lang, "conversation.errors.unknown_action"),
                    response_type="ephemeral",
                    replace_original=False,
                )
            except Exception:  # the ack matters more than the courtesy
                log.info("could not answer an unknown action", exc_info=True)
    return BoltResponse(status=200, body="")


def _json_response(answer: dict[str, Any]) -> BoltResponse:
    return BoltResponse(
        status=200, body=json.dumps(answer), headers={"content-type": "application/json"}
    )


def _first_input_block(body: dict[str, Any]) -> str | None:
    view = body.get("view")
    state = view.get("state") if isinstance(view, dict) else None
    values = state.get("values") if isinstance(state, dict) else None
    if isinstance(values, dict):
        return next((str(block) for block in values), None)
    return None


async def _unavailable(
    body: dict[str, Any], context: dict[str, Any], respond: AsyncRespond | None
) -> BoltResponse:
    """Redis does not answer: nothing was changed. Slack gets its 200 (an error status would
    show Slack's own failure beside ours, or have the event retried into the same outage) and
    the person a polite "try again in a minute", where they wait for an answer."""
    services: Services | None = context.get("services")
    if services is None:
        return BoltResponse(status=200, body="")
    lang = await _lang_of(context, services)
    text = services.catalog.t(lang, "errors.unavailable")
    kind = body.get("type")
    if body.get("command"):
        return _json_response({"response_type": "ephemeral", **Message.plain_text(text)})
    if kind == "view_submission":
        block = _first_input_block(body)
        if block is not None:
            return _json_response({"response_action": "errors", "errors": {block: text}})
        return BoltResponse(status=200, body="")
    if kind == "block_actions" and respond is not None and respond.response_url:
        try:
            await respond(text=text, response_type="ephemeral", replace_original=False)
        except Exception:  # the ack matters more than the courtesy
            log.info("could not tell a clicker Redis is unavailable", exc_info=True)
    if kind == "event_callback":
        await _unavailable_to_message(body, services, text)
    return BoltResponse(status=200, body="")


async def _unavailable_to_message(body: dict[str, Any], services: Services, text: str) -> None:
    """A question (a mention, a direct message) is answered where it was asked."""
    event = body.get("event")
    if not isinstance(event, dict) or event.get("bot_id") or event.get("subtype"):
        return
    asked = event.get("type") == "app_mention" or (
        event.get("type") == "message" and event.get("channel_type") == "im"
    )
    channel = event.get("channel")
    if not asked or not isinstance(channel, str):
        return
    thread = event.get("thread_ts") or event.get("ts")
    try:
        await services.slack.chat_postMessage(
            channel=channel,
            thread_ts=thread if isinstance(thread, str) else None,
            **Message.plain_text(text),
        )
    except Exception:
        log.info("could not tell an asker Redis is unavailable", exc_info=True)


def _redis_away(error: BaseException) -> bool:
    return is_unreachable(error) or (
        error.__cause__ is not None and is_unreachable(error.__cause__)
    )


async def on_error(
    error: Exception,
    body: dict[str, Any],
    context: dict[str, Any],
    respond: AsyncRespond,
    response: BoltResponse | None,
) -> BoltResponse | None:
    """Anything a handler did not turn into a reply: log it, tell the user politely."""
    if isinstance(error, BoltUnhandledRequestError):
        return await _unhandled(body, context, respond)
    services_: Services | None = context.get("services")
    if services_ is not None and _redis_away(error):
        services_.redis_health.failed(error)  # one line when Redis goes, not one per request
        answer = await _unavailable(body, context, respond)
        # After the ack (a click's work) there is no answer left to give Slack.
        return answer if response is not None else None
    log.error(
        "unhandled %s in a %s request",
        type(error).__name__,
        body.get("type") or "command",
        exc_info=error,
    )
    services: Services | None = context.get("services")
    if services is None or not body.get("response_url"):
        return None
    user = context.get("user_id")
    lang = await services.locales.lang_of(user, Lang.ZH) if user else Lang.ZH
    try:
        await respond(text=services.catalog.t(lang, "errors.internal"), response_type="ephemeral")
    except Exception:  # the user already waits on a failure; do not raise a second one
        log.warning("could not tell the user about the error", exc_info=True)
    return None
