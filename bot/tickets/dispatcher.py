"""`TicketDispatcher`: takes a SIP-trunk ticket to every configured backend, and keeps them current.

The outbox calls `open` for an `OpenSipTicket` effect and `stage_changed` for `SipStageChanged`;
both may run more than once (at-least-once delivery), so both are idempotent:

- Per (ticket, backend) state lives in one Redis hash (`Keys.ticket_deliveries`). A backend that
  has taken the ticket is never asked to open it again; one that failed is left alone until its
  `next_attempt_at` (exponential backoff with jitter, or the server's Retry-After).
- Each round delivers to what it can, records the rest, then raises `TicketsPending` if anything
  is still owed, so the outbox tries again later. A slow or dead backend never holds up another.
- A backend is given up on after `TICKET_MAX_ATTEMPTS` failures in a row, or at once when it
  answers a 4xx that retrying cannot change (400, 401, 403, 404, 422...). Its state says so
  (`gave_up_at`, the last error), one log line says so, the card tells the SEs to open it by
  hand, and it is no longer owed: the effect completes instead of coming back forever. An SE's
  Retry on the card (`retry`) gives each given-up backend one more try.
- Backends that display statuses (the Slack card) go last and are refreshed whenever another
  backend's status changed in the round, so the card shows "Jira: pending — attempts: 3…".
- One round per ticket at a time (a Redis lock with a ttl): two runners must not both post a card.

Stored and raised error texts are built by the backends from status codes and exception class
names, and pass through a redactor that knows the configured secrets, as a second line of defence.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

import aiohttp
from pydantic import ValidationError
from redis.asyncio import Redis
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.config import TicketBackend as BackendName
from bot.i18n import Catalog
from bot.logs import Redactor
from bot.state.cas import delete_if_equal
from bot.state.keys import Keys
from bot.state.wire import as_bytes
from bot.tickets.delivery import (
    Backend,
    BackendError,
    Delivery,
    DeliveryState,
    DispatchReport,
    TicketBusy,
    TicketConfigError,
    TicketsPending,
    backoff_delay,
)
from bot.tickets.http import DEFAULT_TIMEOUT
from bot.tickets.jira import JiraBackend, basic_auth_header
from bot.tickets.slack_card import SlackCardBackend
from bot.tickets.view import TicketView
from bot.tickets.webhook import WebhookBackend

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# Longer than the slowest round (a few HTTP calls, each bounded by its timeout), so the lock
# does not expire under a round that is still running.
LOCK_TTL = timedelta(minutes=2)


def utcnow() -> datetime:
    return datetime.now(UTC)


def ticket_secrets(settings: Settings) -> list[str]:
    """Values that must never appear in a log line or a stored error (give them to the log
    redactor too)."""
    values: list[str] = []
    if settings.jira_api_token is not None:
        token = settings.jira_api_token.get_secret_value()
        values.append(token)
        if settings.jira_email:
            header = basic_auth_header(settings.jira_email, token)
            values += [header, header.removeprefix("Basic ")]
    if settings.ticket_webhook_secret is not None:
        values.append(settings.ticket_webhook_secret.get_secret_value())
    if settings.ticket_webhook_url:
        values.append(settings.ticket_webhook_url)  # its path or query may be a credential
    if settings.slack_bot_token is not None:
        values.append(settings.slack_bot_token.get_secret_value())
    return values


class _Mode(Enum):
    OPEN = "open"  # deliver what is missing; refresh only the status card
    STAGE = "stage"  # also bring every delivered backend to the ticket's current stage


@dataclass(frozen=True)
class _Outcome:
    name: str
    state: DeliveryState
    attempted: bool


class TicketDispatcher:
    def __init__(
        self,
        settings: Settings,
        *,
        http: aiohttp.ClientSession,
        slack: AsyncWebClient | None,
        catalog: Catalog,
        redis: Redis,
        keys: Keys,
        clock: Clock = utcnow,
        rng: random.Random | None = None,
        http_timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        backends: Sequence[Backend] | None = None,
        max_attempts: int | None = None,
    ) -> None:
        """Builds the backends named by `settings.ticket_backends` unless `backends` is given.

        Raises `TicketConfigError` when a configured backend cannot work (the Slack card needs
        ONBOARDING_OPS_CHANNEL and a Slack client).
        """
        self._settings = settings
        self._catalog = catalog
        self._redis = redis
        self._keys = keys
        self._clock = clock
        self._max_attempts = max_attempts or settings.ticket_max_attempts
        # Jitter only spreads retries out; it needs no cryptographic quality.
        self._rng = rng or random.Random()  # noqa: S311
        self._redact = Redactor(ticket_secrets(settings))
        if backends is None:
            backends = self._build(settings, http=http, slack=slack, timeout=http_timeout)
        names = [b.name for b in backends]
        if len(set(names)) != len(names):
            raise TicketConfigError(f"ticket backends must have distinct names, got {names}")
        self._backends = tuple(backends)

    @property
    def backend_names(self) -> tuple[str, ...]:
        return tuple(b.name for b in self._backends)

    def _build(
        self,
        settings: Settings,
        *,
        http: aiohttp.ClientSession,
        slack: AsyncWebClient | None,
        timeout: aiohttp.ClientTimeout,
    ) -> list[Backend]:
        built: list[Backend] = []
        for name in settings.ticket_backends:
            if name == BackendName.SLACK:
                if settings.onboarding_ops_channel is None:
                    raise TicketConfigError(
                        "ONBOARDING_OPS_CHANNEL is needed by TICKET_BACKENDS=slack"
                    )
                if slack is None:
                    raise TicketConfigError("TICKET_BACKENDS=slack needs a Slack client")
                built.append(
                    SlackCardBackend(
                        client=slack,
                        channel=settings.onboarding_ops_channel,
                        catalog=self._catalog,
                        lang=settings.ops_lang,
                        statuses=self._others_for_card,
                    )
                )
            elif name == BackendName.JIRA:
                # Settings already checked these are present when jira is configured.
                assert settings.jira_base_url and settings.jira_email
                assert settings.jira_api_token and settings.jira_project_key
                built.append(
                    JiraBackend(
                        session=http,
                        base_url=settings.jira_base_url,
                        email=settings.jira_email,
                        api_token=settings.jira_api_token,
                        project_key=settings.jira_project_key,
                        issue_type=settings.jira_issue_type,
                        catalog=self._catalog,
                        lang=settings.ops_lang,
                        timeout=timeout,
                    )
                )
            elif name == BackendName.WEBHOOK:
                assert settings.ticket_webhook_url and settings.ticket_webhook_secret
                built.append(
                    WebhookBackend(
                        session=http,
                        url=settings.ticket_webhook_url,
                        secret=settings.ticket_webhook_secret,
                        clock=self._clock,
                        timeout=timeout,
                    )
                )
        return built

    # -- public API ----------------------------------------------------------------------

    async def open(self, ticket: TicketView) -> DispatchReport:
        """Deliver the ticket to every backend that does not have it yet.

        Raises `TicketsPending` (after delivering what it could) while any backend lacks the
        ticket, and `TicketBusy` when another round for this ticket is running.
        """
        return await self._round(ticket, _Mode.OPEN)

    async def stage_changed(self, ticket: TicketView) -> DispatchReport:
        """Show the ticket's current stage everywhere: update each backend that has the ticket
        and has not shown this stage yet, and deliver to any that still lacks it.

        Raises `TicketsPending` while any backend is behind, `TicketBusy` as `open` does.
        """
        return await self._round(ticket, _Mode.STAGE)

    async def retry(self, ticket: TicketView) -> DispatchReport:
        """An SE asked for another try: each backend given up on gets exactly one, now (a new
        failure gives up again at once, since nothing would come back for a second one); the
        others are left to their own schedule. Raises `TicketBusy` as `open` does."""
        try:
            return await self._round(ticket, _Mode.STAGE, retry=True)
        except TicketsPending as exc:
            return exc.report  # owed by an effect still in the outbox, which retries it

    async def status(self, ticket: TicketView) -> dict[str, DeliveryState]:
        """Each configured backend's delivery state, in configuration order (for the UI)."""
        stored = await self._load(ticket)
        return {name: stored.get(name, DeliveryState()) for name in self.backend_names}

    # -- one round -----------------------------------------------------------------------

    async def _round(
        self, ticket: TicketView, mode: _Mode, *, retry: bool = False
    ) -> DispatchReport:
        lock_key = self._keys.ticket_lock(ticket.tenant_id, ticket.ticket_id)
        token = uuid.uuid4().hex.encode()
        ttl_ms = int(LOCK_TTL.total_seconds() * 1000)
        if not await self._redis.set(lock_key, token, nx=True, px=ttl_ms):
            raise TicketBusy(ticket.ticket_id)
        try:
            states = await self.status(ticket)
            last_try: set[str] = set()
            if retry:
                last_try = {name for name, state in states.items() if state.given_up}
                states.update((name, states[name].retried()) for name in last_try)
            # Backends that only receive the ticket go first, side by side; the card last, so
            # it is posted (or refreshed) showing how they fared.
            plain = [b for b in self._backends if not b.shows_status]
            cards = [b for b in self._backends if b.shows_status]
            # return_exceptions: a Redis failure in one step must not leave the others running
            # unattended after the lock is released; wait for all, then raise.
            results = await asyncio.gather(
                *(
                    self._step(
                        b, ticket, states[b.name], mode, refresh=False, last=b.name in last_try
                    )
                    for b in plain
                ),
                return_exceptions=True,
            )
            outcomes: list[_Outcome] = []
            for result in results:
                if isinstance(result, BaseException):
                    raise result
                outcomes.append(result)
                states[result.name] = result.state
            others_changed = any(o.attempted for o in outcomes)
            for backend in cards:
                outcome = await self._step(
                    backend,
                    ticket,
                    states[backend.name],
                    mode,
                    refresh=others_changed or retry,
                    last=backend.name in last_try,
                )
                states[outcome.name] = outcome.state
                outcomes.append(outcome)
        finally:
            await delete_if_equal(self._redis, lock_key, token)

        now = self._clock()
        report = DispatchReport(
            ticket_id=ticket.ticket_id,
            states=states,
            attempted=tuple(o.name for o in outcomes if o.attempted),
            skipped=tuple(
                name for name, state in states.items() if state.owed and not state.due(now)
            ),
        )
        waiting = tuple(
            b.name
            for b in self._backends
            if states[b.name].owed
            and (not states[b.name].delivered or mode is _Mode.STAGE or b.shows_status)
        )
        if waiting:
            raise TicketsPending(report, waiting=waiting)
        return report

    async def _step(
        self,
        backend: Backend,
        ticket: TicketView,
        state: DeliveryState,
        mode: _Mode,
        *,
        refresh: bool,
        last: bool = False,
    ) -> _Outcome:
        """Open, update or leave one backend; record what happened. `last`: a failure now gives
        up whatever the count (an SE's one more try)."""
        now = self._clock()
        # Dead-lettered: left alone until an SE retries (a Jira issue opened by hand must not
        # get a twin). A card that exists still shows the ticket's stage and its statuses.
        if state.given_up and not (backend.shows_status and state.delivered):
            return _Outcome(backend.name, state, attempted=False)
        delivery = state.delivery()
        # `open` never touches a backend that has the ticket, except the status card.
        updates_allowed = mode is _Mode.STAGE or backend.shows_status
        behind = state.update_pending or state.stage_sent != ticket.stage or refresh
        if delivery is None:
            action = "open"
        elif updates_allowed and behind:
            action = "update"
        else:
            return _Outcome(backend.name, state, attempted=False)
        if not state.due(now):
            return _Outcome(backend.name, state, attempted=False)

        try:
            if delivery is None:
                result: Delivery | None = await backend.open(ticket)
            else:
                result = await backend.update(ticket, delivery) or delivery
        except Exception as exc:  # one backend's failure, whatever it is, must not stop others
            reason = self._reason(exc)
            permanent = isinstance(exc, BackendError) and exc.permanent
            if permanent or last or state.attempts + 1 >= self._max_attempts:
                new = state.gave_up(reason, now, permanent=permanent)
                # The dead letter: the state above, and this one line (the reason is redacted).
                log.error(
                    "ticket %s: gave up on %s %s after %d attempt(s)%s: %s",
                    ticket.ticket_id,
                    backend.name,
                    action,
                    new.attempts,
                    " (will not change by retrying)" if permanent else "",
                    reason,
                    exc_info=not isinstance(exc, BackendError),
                )
            else:
                new = state.failed(reason, now + self._delay(state.attempts + 1, exc))
                log.warning(
                    "ticket %s: %s %s failed (attempt %d): %s",
                    ticket.ticket_id,
                    backend.name,
                    action,
                    new.attempts,
                    reason,
                    exc_info=not isinstance(exc, BackendError),
                )
        else:
            assert result is not None
            new = state.succeeded(result, int(ticket.stage), now)
            log.info("ticket %s: %s %s done", ticket.ticket_id, backend.name, action)
        await self._save(ticket, backend.name, new)
        return _Outcome(backend.name, new, attempted=True)

    def _reason(self, exc: Exception) -> str:
        if isinstance(exc, BackendError):
            return self._redact(exc.reason)
        # An unexpected exception: its message is not ours to vouch for, so only its class.
        return f"unexpected {type(exc).__name__}"

    def _delay(self, attempts: int, exc: Exception) -> timedelta:
        after = exc.retry_after if isinstance(exc, BackendError) else None
        return backoff_delay(attempts, self._rng, retry_after=after)

    async def _others_for_card(self, ticket: TicketView) -> Mapping[str, DeliveryState]:
        states = await self.status(ticket)
        return {b.name: states[b.name] for b in self._backends if not b.shows_status}

    # -- storage -------------------------------------------------------------------------

    async def _load(self, ticket: TicketView) -> dict[str, DeliveryState]:
        key = self._keys.ticket_deliveries(ticket.tenant_id, ticket.ticket_id)
        raw = await self._redis.hgetall(key)
        states: dict[str, DeliveryState] = {}
        for field, value in raw.items():
            name = as_bytes(field).decode()
            try:
                states[name] = DeliveryState.model_validate_json(as_bytes(value))
            except ValidationError:
                # Unreadable state counts as "not delivered": a retry is idempotent for Jira
                # and the webhook, at worst a second card; better than a ticket stuck forever.
                log.warning("ticket %s: unreadable %s delivery state", ticket.ticket_id, name)
        return states

    async def _save(self, ticket: TicketView, name: str, state: DeliveryState) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                self._keys.ticket_deliveries(ticket.tenant_id, ticket.ticket_id),
                name,
                state.model_dump_json(),
            )
            pipe.sadd(self._keys.tickets(ticket.tenant_id), ticket.ticket_id)
            await pipe.execute()
