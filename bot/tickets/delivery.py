"""What a ticket backend is, and what the dispatcher remembers about each delivery.

A backend turns a `TicketView` into something outside the bot (a Slack card, a Jira issue, a
webhook event) and answers with a `Delivery`, the external reference. The dispatcher keeps one
`DeliveryState` per (ticket, backend) in Redis; the Slack card shows it to the engineers.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from bot.tickets.view import TicketView

# A stored error is read by people on the card; a few hundred characters say enough.
MAX_ERROR_CHARS = 300

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)


@dataclass(frozen=True)
class Delivery:
    """Where the ticket now lives outside the bot."""

    external_id: str  # Jira issue key, Slack message ts, webhook receiver's id
    url: str | None = None
    channel: str | None = None  # Slack: the channel the card is in (a ts alone names nothing)


class BackendError(Exception):
    """A backend call failed. `reason` is short, for people, and never carries a secret:
    backends build it from status codes and exception class names, not from raw messages."""

    def __init__(
        self, reason: str, *, retry_after: timedelta | None = None, permanent: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after  # what the server asked for (429 Retry-After)
        # Asking again cannot help (a 400, 401, 403, 404, 422): the dispatcher gives up at once.
        self.permanent = permanent


class Backend(Protocol):
    """One place tickets go. Every call must be idempotent on the ticket id."""

    @property
    def name(self) -> str:
        """Stable name: the key of its delivery state and of its label in the content."""
        ...

    @property
    def shows_status(self) -> bool:
        """True when the backend displays every backend's delivery status (the Slack card): it
        is then refreshed whenever another backend's status changes."""
        ...

    async def open(self, ticket: TicketView) -> Delivery:
        """Create the ticket, or find the one an earlier attempt created. Raises BackendError."""
        ...

    async def update(self, ticket: TicketView, delivery: Delivery) -> Delivery | None:
        """Show the ticket's current stage. Returns a new reference when it moved (a deleted
        Slack card posted again), else None. Raises BackendError."""
        ...


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    # Given up on before the backend took the ticket: an SE opens it there by hand (or retries).
    FAILED = "failed"


class DeliveryState(BaseModel):
    """What the dispatcher knows about one backend's copy of one ticket (stored as JSON)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    status: DeliveryStatus = DeliveryStatus.PENDING
    # Failures since the last success; the backoff grows with it.
    attempts: int = Field(default=0, ge=0)
    last_error: str | None = None
    next_attempt_at: AwareDatetime | None = None
    external_id: str | None = None
    url: str | None = None
    channel: str | None = None
    # The stage this backend last showed successfully; an update is due when it differs.
    stage_sent: int | None = None
    # Delivered, but showing the latest stage or statuses failed and must be retried.
    update_pending: bool = False
    delivered_at: AwareDatetime | None = None
    # When the dispatcher stopped trying: FAILED (never delivered), or DELIVERED with a stage
    # update given up on. Nothing is tried again until an SE asks for it.
    gave_up_at: AwareDatetime | None = None
    # The last failure will not change by retrying (a 4xx such as 400, 401, 403, 404).
    permanent: bool = False

    @property
    def delivered(self) -> bool:
        return self.status is DeliveryStatus.DELIVERED

    @property
    def given_up(self) -> bool:
        return self.gave_up_at is not None

    @property
    def owed(self) -> bool:
        """Something is still to be done here and will be retried on its own."""
        return not self.given_up and (not self.delivered or self.update_pending)

    def delivery(self) -> Delivery | None:
        if not self.delivered or self.external_id is None:
            return None
        return Delivery(external_id=self.external_id, url=self.url, channel=self.channel)

    def due(self, now: datetime) -> bool:
        return self.next_attempt_at is None or now >= self.next_attempt_at

    def succeeded(self, delivery: Delivery, stage: int, now: datetime) -> DeliveryState:
        return DeliveryState(
            status=DeliveryStatus.DELIVERED,
            external_id=delivery.external_id,
            url=delivery.url,
            channel=delivery.channel,
            stage_sent=stage,
            delivered_at=self.delivered_at or now,
        )

    def failed(self, reason: str, next_attempt_at: datetime) -> DeliveryState:
        return self.model_copy(
            update={
                "attempts": self.attempts + 1,
                "last_error": reason[:MAX_ERROR_CHARS],
                "next_attempt_at": next_attempt_at,
                "update_pending": self.delivered,
            }
        )

    def gave_up(self, reason: str, now: datetime, *, permanent: bool) -> DeliveryState:
        """The attempt that failed was the last one: dead-lettered, shown, left alone."""
        return self.model_copy(
            update={
                "status": DeliveryStatus.DELIVERED if self.delivered else DeliveryStatus.FAILED,
                "attempts": self.attempts + 1,
                "last_error": reason[:MAX_ERROR_CHARS],
                "next_attempt_at": None,
                "update_pending": False,
                "gave_up_at": now,
                "permanent": permanent,
            }
        )

    def retried(self) -> DeliveryState:
        """An SE asked for another try: owed again, due now. The attempts and the error stay,
        for the card, until the try succeeds."""
        return self.model_copy(
            update={
                "status": DeliveryStatus.DELIVERED if self.delivered else DeliveryStatus.PENDING,
                "next_attempt_at": None,
                "update_pending": self.delivered,
                "gave_up_at": None,
                "permanent": False,
            }
        )


def backoff_delay(
    attempts: int,
    rng: random.Random,
    *,
    base: timedelta = BACKOFF_BASE,
    cap: timedelta = BACKOFF_CAP,
    retry_after: timedelta | None = None,
) -> timedelta:
    """How long to leave a backend alone after its `attempts`-th failure in a row.

    base x 2^(attempts-1), capped, then "equal jitter" (half fixed, half random) so that many
    tickets failing in the same outage do not all come back in the same second, while the wait
    never drops below half the step. A server's Retry-After wins when it asks for longer.
    """
    step = min(cap, base * (1 << min(max(0, attempts - 1), 30)))
    delay = step / 2 + step / 2 * rng.random()
    if retry_after is not None and retry_after > delay:
        delay = min(cap, retry_after)
    return delay


@dataclass(frozen=True)
class DispatchReport:
    """Every configured backend's state after one dispatch, and what this round did."""

    ticket_id: str
    states: Mapping[str, DeliveryState]
    attempted: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()  # pending, but waiting for their next_attempt_at

    @property
    def delivered(self) -> tuple[str, ...]:
        return tuple(name for name, state in self.states.items() if state.delivered)

    @property
    def pending(self) -> tuple[str, ...]:
        """Not delivered and still being tried."""
        return tuple(
            name
            for name, state in self.states.items()
            if not state.delivered and not state.given_up
        )

    @property
    def given_up(self) -> tuple[str, ...]:
        """Dead-lettered: never delivered, or a stage update, given up on."""
        return tuple(name for name, state in self.states.items() if state.given_up)

    @property
    def updates_pending(self) -> tuple[str, ...]:
        return tuple(name for name, state in self.states.items() if state.update_pending)

    @property
    def retry_at(self) -> datetime | None:
        """The earliest time a waiting backend may be tried again."""
        times = [
            s.next_attempt_at
            for s in self.states.values()
            if s.next_attempt_at is not None and s.owed
        ]
        return min(times) if times else None


class TicketError(Exception):
    """Base of the errors the ticket dispatcher raises."""


class TicketsPending(TicketError):
    """Some backend has not taken the ticket (or its latest stage) yet. Everything that could be
    delivered was; retry at `report.retry_at` or later."""

    def __init__(self, report: DispatchReport, *, waiting: tuple[str, ...]) -> None:
        details = []
        for name in waiting:
            state = report.states[name]
            error = f", last error: {state.last_error}" if state.last_error else ""
            details.append(f"{name} (attempts: {state.attempts}{error})")
        super().__init__(f"ticket {report.ticket_id}: pending on " + "; ".join(details))
        self.report = report
        self.waiting = waiting


class TicketBusy(TicketError):
    """Another dispatcher is working on this ticket right now; retry shortly."""

    def __init__(self, ticket_id: str) -> None:
        super().__init__(f"ticket {ticket_id} is being dispatched elsewhere")
        self.ticket_id = ticket_id


class TicketConfigError(TicketError):
    """A configured backend lacks a setting; the message names the variable."""
