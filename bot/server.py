"""HTTP mode: the aiohttp application in front of Bolt.

Bolt verifies signatures and dispatches, but its own adapter answers 500 to a correctly signed
request whose body does not parse, and a handler that meets a field of the wrong type raises.
This front door answers bad input itself: 413 for a body over 1 MiB, 401 for a bad signature or
a stale timestamp, 400 for a body that is not a Slack payload (`bot.payloads`: bounded depth,
checked strings, the fields handlers read of the types Slack sends), and 200 with nothing done
for a request addressed to another Slack app (`SLACK_APP_ID`). Nothing reaches a handler or the
store in those cases.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.logs import log_context
from bot.payloads import BadPayload, addressed_elsewhere, classify
from bot.services import Services

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
EVENTS_PATH = "/slack/events"

SERVICES_KEY = web.AppKey("services", Services)
BOLT_KEY = web.AppKey("bolt", AsyncApp)


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
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    # The verifier reads the timestamp with int() and raises on anything else.
    if (
        not timestamp.isascii()
        or not timestamp.isdigit()
        or not verifier.is_valid(
            body=body,
            timestamp=timestamp,
            signature=request.headers.get("X-Slack-Signature", ""),
        )
    ):
        log.warning("refused a request with a bad signature or a stale timestamp")
        return web.json_response({"error": "invalid request"}, status=401)

    try:
        kind, data = classify(body, request.content_type)
    except BadPayload as exc:
        log.warning("refused a signed request: %s", exc)
        return web.json_response({"error": str(exc)}, status=400)

    if addressed_elsewhere(kind, data, services.settings.slack_app_id):
        log.warning("ignored a %s %s addressed to another app", kind, _describe(kind, data))
        return web.Response(status=200)

    if kind == "event" and data["type"] == "app_rate_limited":
        # Slack tells us it dropped events for an hour; the reconciliation sweep catches up.
        log.warning(
            "Slack rate-limited event delivery (minute %s)", data.get("minute_rate_limited")
        )
        return web.Response(status=200)

    # From here until the answer, effects wait their turn (`bot.turns`); the listener wrapper
    # counts it again, for Socket Mode, which does not come through here.
    with log_context(request_id=_request_id(kind, data)), services.runner.turns.answer():
        started = time.perf_counter()
        bolt_request = _bolt_request(
            body, kind, data, request.query_string, dict(request.headers.items())
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


def _bolt_request(
    body: str,
    kind: str,
    data: dict[str, Any],
    query: str,
    headers: dict[str, str | Sequence[str]],
) -> AsyncBoltRequest:
    """Bolt's request, given the body as `classify` parsed it where Bolt would parse it the same
    way (an event's JSON, an interaction's `payload`), instead of decoding it a second time.
    Bolt still verifies the signature over the raw body. A command is left to Bolt, whose
    reading drops blank fields."""
    if kind not in ("event", "interaction"):
        return AsyncBoltRequest(body=body, query=query, headers=headers)
    bolt_request = AsyncBoltRequest(body="", query=query, headers=headers)
    bolt_request.raw_body = body
    bolt_request.body = data
    bolt_request.context = build_async_context(AsyncBoltContext({}), data)
    return bolt_request


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
