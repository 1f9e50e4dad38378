"""The app factory: one Bolt app, built from the services, used by every mode."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.response import BoltResponse

from bot.handlers import actions, commands, forms, home, messages, reviews, uploads
from bot.handlers.middleware import attach_services, dedupe_events, resolve_actor
from bot.i18n import Lang
from bot.services import Services

log = logging.getLogger(__name__)


def create_app(
    services: Services, *, verify_requests: bool = True, process_before_response: bool = False
) -> AsyncApp:
    """Build the Bolt app.

    The offline shell passes `verify_requests=False` (it has no signing secret and talks to the
    app in-process) and `process_before_response=True` (it shows the whole answer at once).
    Over HTTP, handlers ack first and work after: Slack wants an answer within 3 s.
    """
    settings = services.settings
    secret = settings.slack_signing_secret
    app = AsyncApp(
        client=services.slack,
        signing_secret=secret.get_secret_value() if secret else None,
        request_verification_enabled=verify_requests,
        logger=logging.getLogger("bot.bolt"),
        process_before_response=process_before_response,
    )
    app.use(attach_services(services))
    app.use(dedupe_events)
    app.use(resolve_actor)
    for module in (commands, messages, actions, forms, uploads, home, reviews):
        module.register(app)
    app.error(_on_error)
    return app


async def _on_error(
    error: Exception, body: dict[str, Any], context: dict[str, Any], respond: AsyncRespond
) -> BoltResponse | None:
    """Anything a handler did not turn into a reply: log it, tell the user politely."""
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
