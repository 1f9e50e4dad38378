"""The app factory: one Bolt app, built from the services, used by every mode."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

from bot.handlers import (
    actions,
    cloudkey,
    commands,
    forms,
    home,
    messages,
    purge,
    reviews,
    staff,
    uploads,
)
from bot.handlers.failures import on_error
from bot.handlers.inbox import take_event
from bot.handlers.middleware import attach_services, resolve_actor
from bot.services import Services

log = logging.getLogger(__name__)


class _SkipTokenNotice(logging.Filter):
    """Bolt warns that `token` is unused whenever SLACK_BOT_TOKEN is set and a client is given,
    which is always so here (the client carries the token): a notice on every start that says
    nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


def create_app(services: Services, *, verify_requests: bool = True) -> AsyncApp:
    """Build the Bolt app.

    The offline shell passes `verify_requests=False` (it has no signing secret and talks to the
    app in-process). Bolt answers when a listener returns (`process_before_response=True`: no
    polling for the ack, which costs 10 ms a request); every listener returns as soon as its
    answer is known and leaves the rest of its work to the background (`bot.handlers.acks`),
    which the shell waits for before it shows the answer.
    """
    settings = services.settings
    secret = settings.slack_signing_secret
    bolt_log = logging.getLogger("bot.bolt")
    if not any(isinstance(f, _SkipTokenNotice) for f in bolt_log.filters):
        bolt_log.addFilter(_SkipTokenNotice())
    app = AsyncApp(
        client=services.slack,
        signing_secret=secret.get_secret_value() if secret else None,
        request_verification_enabled=verify_requests,
        logger=bolt_log,
        process_before_response=True,
        # A request no listener takes reaches `on_error` (answered 200, logged in one line)
        # instead of Bolt's 404 and its multi-line suggestion: Slack retries failed deliveries
        # and disables an app whose deliveries keep failing.
        raise_error_for_unhandled_request=True,
    )
    app.use(attach_services(services))
    app.use(take_event)
    app.use(resolve_actor)
    for module in (
        commands,
        messages,
        actions,
        forms,
        uploads,
        home,
        reviews,
        staff,
        purge,
        cloudkey,
    ):
        module.register(app)
    app.error(on_error)
    return app
