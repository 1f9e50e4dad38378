"""HTTP mode: the aiohttp application in front of Bolt.

Bolt verifies signatures and dispatches, but its own adapter answers 500 to a correctly signed
request whose body does not parse. This front door answers bad input itself: 413 for a body over
1 MiB, 401 for a bad signature or a stale timestamp, 400 for a body that is not a Slack payload.
Nothing reaches a handler or the store in those cases.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.logs import log_context
from bot.services import Services

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
EVENTS_PATH = "/slack/events"

_EVENT_TYPES = frozenset({"url_verification", "event_callback", "app_rate_limited"})
_INTERACTION_TYPES = frozenset(
    {
        "block_actions",
        "block_suggestion",
        "view_submission",
        "view_closed",
        "shortcut",
        "message_action",
    }
)

SERVICES_KEY = web.AppKey("services", Services)
BOLT_KEY = web.AppKey("bolt", AsyncApp)


class BadPayload(Exception):
    """The body is signed correctly but is not a Slack payload we know."""


def classify(body: str, content_type: str) -> tuple[str, dict[str, Any]]:
    """The kind of a signed request (`event`, `interaction`, `command`, `ssl_check`) and its
    parsed body; raises `BadPayload` for anything else."""
    if content_type == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            raise BadPayload("body is not JSON") from None
        if not isinstance(data, dict) or data.get("type") not in _EVENT_TYPES:
            raise BadPayload("not an Events API payload")
        if data["type"] == "event_callback" and not isinstance(data.get("event"), dict):
            raise BadPayload("event_callback without an event")
        return "event", data
    if content_type == "application/x-www-form-urlencoded":
        try:
            form = parse_qs(body, keep_blank_values=True, strict_parsing=False)
        except ValueError:
            raise BadPayload("form body does not parse") from None
        if "payload" in form:
            try:
                payload = json.loads(form["payload"][0])
            except ValueError:
                raise BadPayload("payload is not JSON") from None
            if not isinstance(payload, dict) or payload.get("type") not in _INTERACTION_TYPES:
                raise BadPayload("unknown interaction type")
            return "interaction", payload
        if "command" in form:
            return "command", {k: v[0] for k, v in form.items()}
        if "ssl_check" in form:
            return "ssl_check", {}
        raise BadPayload("form body is neither a command nor an interaction")
    raise BadPayload(f"unsupported content type {content_type or 'none'}")


def _request_id(kind: str, data: dict[str, Any]) -> str:
    for key in ("event_id", "trigger_id"):
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
    return f"{kind}-{uuid.uuid4().hex[:12]}"


async def slack_events(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES_KEY]
    bolt = request.app[BOLT_KEY]
    raw = await request.read()  # aiohttp answers 413 itself past client_max_size
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        return web.json_response({"error": "body is not UTF-8"}, status=400)

    secret = services.settings.slack_signing_secret
    verifier = SignatureVerifier(secret.get_secret_value() if secret else "")
    if not verifier.is_valid(
        body=body,
        timestamp=request.headers.get("X-Slack-Request-Timestamp", ""),
        signature=request.headers.get("X-Slack-Signature", ""),
    ):
        log.warning("refused a request with a bad signature or a stale timestamp")
        return web.json_response({"error": "invalid request"}, status=401)

    try:
        kind, data = classify(body, request.content_type)
    except BadPayload as exc:
        log.warning("refused a signed request: %s", exc)
        return web.json_response({"error": str(exc)}, status=400)

    if kind == "event" and data["type"] == "app_rate_limited":
        # Slack tells us it dropped events for an hour; the reconciliation sweep catches up.
        log.warning(
            "Slack rate-limited event delivery (minute %s)", data.get("minute_rate_limited")
        )
        return web.Response(status=200)

    with log_context(request_id=_request_id(kind, data)):
        started = time.perf_counter()
        bolt_request = AsyncBoltRequest(
            body=body,
            query=request.query_string,
            headers={k: v for k, v in request.headers.items()},
        )
        bolt_response = await bolt.async_dispatch(bolt_request)
        log.info(
            "%s %s answered %s in %.0f ms",
            kind,
            _describe(kind, data),
            bolt_response.status,
            (time.perf_counter() - started) * 1000,
        )
    return await to_aiohttp_response(bolt_response)


def _describe(kind: str, data: dict[str, Any]) -> str:
    """What a request is, for the log: never the text a user typed."""
    if kind == "event":
        event = data.get("event")
        return str(event.get("type")) if isinstance(event, dict) else str(data.get("type"))
    if kind == "command":
        sub = str(data.get("text") or "").strip().split(" ", 1)[0][:20]
        return f"{data.get('command')} {sub}".strip() if sub.isalpha() else str(data.get("command"))
    if kind == "interaction":
        return str(data.get("type"))
    return kind


async def healthz(request: web.Request) -> web.Response:
    services = request.app[SERVICES_KEY]
    if await services.redis_ok():
        return web.json_response({"status": "ok", "redis": "ok"})
    return web.json_response({"status": "unavailable", "redis": "unreachable"}, status=503)


def build_web_app(services: Services, bolt: AsyncApp) -> web.Application:
    web_app = web.Application(client_max_size=MAX_BODY_BYTES)
    web_app[SERVICES_KEY] = services
    web_app[BOLT_KEY] = bolt
    web_app.router.add_post(EVENTS_PATH, slack_events)
    web_app.router.add_get("/healthz", healthz)
    return web_app
