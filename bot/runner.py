"""The effect runner: carries out what the outbox holds, in order, and marks it done.

A handler commits a change together with its effects (see `bot.state.store`), acks Slack, and
then asks the runner to drain that tenant's outbox. A periodic sweep drains every tenant with
effects left over (a crashed replica, a failed Slack call), so nothing committed is lost.

Effects of one tenant are carried out in the order they were written (a welcome before the
checklist before the first prompt), so a failing effect stops the ones behind it until it
succeeds or is given up on.

Each effect has the effect of once, however often it is started:
- one runner holds it at a time, and extends its claim while a slow Slack call runs;
- the ts of every message it posts is recorded under the effect's id at once, before anything
  that may fail after it, so a retry reuses the message instead of posting another; the ts the
  bot keeps for the tenant (`remember`) is written with the effect's removal from the outbox
  (or, when the effect fails, before its failure is counted);
- every post carries the effect's mark (message metadata); an effect started again after an
  unknown outcome (a crash between Slack's answer and the record of it) looks for its message
  before posting;
- messages the bot keeps are updated in place by their stored ts.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.flows.effects import (
    DirectMessage,
    Effect,
    NotifyCustomer,
    NotifyManagers,
    NotifyOps,
    NotifyOwner,
    OpenSipTicket,
    PostDocumentReview,
    PostScriptReview,
    PostStepPrompt,
    RemindCustomer,
    SipStageChanged,
    UpdateChecklist,
    UpdateDocumentReview,
    UpdateScriptReview,
)
from bot.flows.machine import WAITING_STAGES, leaf
from bot.flows.model import Step
from bot.i18n import Catalog, Lang
from bot.logs import log_context
from bot.marked import find_marked, mark
from bot.onboarding import Onboardings, utcnow
from bot.stalls.policy import StallPolicy
from bot.state import Claim, PendingEffect, RedisOutbox, TenantRecord
from bot.state.health import RedisHealth, is_unreachable
from bot.state.records import refs_update
from bot.tickets import TicketBusy, TicketDispatcher, TicketsPending, ticket_view_from_record
from bot.turns import Turns
from bot.views.kit import Message
from bot.views.notices import notice_message, ops_notice
from bot.views.progress import progress_message
from bot.views.prompts import closed_prompt_message, prompt_message
from bot.views.reviews import document_review_card, script_review_card
from bot.views.stalls import managers_notice, owner_notice, reminder_message
from bot.views.text import render

log = logging.getLogger(__name__)

# How long one replica holds an effect without extending the claim; a failed effect is retried
# after this. The holder extends it every third of it while the effect runs.
CLAIM_TTL = timedelta(seconds=30)
SWEEP_INTERVAL_SECONDS = 15.0
# The first retry of a failed effect; each later one waits twice as long, up to CLAIM_TTL.
RETRY_BASE_SECONDS = 2.0
# How many effects one pass reads; a full page is followed by another pass.
PAGE = 100
# When another replica holds the effect at the head of a tenant's outbox, look again this soon.
LOOK_AGAIN_SECONDS = 1.0
# How many event listeners run at once (the Redis pool holds 64 connections); the effects they
# cause take turns of their own (`bot.turns`).
WORK_SLOTS = 32
EFFECT_MARK = "onboarding_effect"


@dataclass
class _Running:
    """The effect being carried out (in this task): what it has posted so far."""

    claim: Claim
    since_ts: str  # when the effect was written, as a Slack ts: its posts are all later
    posts: int = 0
    # Message ts to keep for the tenant (`messages` fields), written when the effect ends.
    refs: dict[str, object] = field(default_factory=dict)

    def next_slot(self) -> str:
        slot = str(self.posts)
        self.posts += 1
        return slot


_running: contextvars.ContextVar[_Running | None] = contextvars.ContextVar(
    "running_effect", default=None
)


def _since_ts(stream_entry_id: str) -> str:
    """A stream id starts with the ms it was written at; one second earlier, as a Slack ts."""
    ms = int(stream_entry_id.split("-", 1)[0]) if stream_entry_id[:1].isdigit() else 0
    return f"{max(ms / 1000 - 1, 0):.6f}"


class _Went(Enum):
    """How one effect's turn ended, when it was not done."""

    READ_AGAIN = "read_again"  # the hint was out of date
    STOPPED = "stopped"  # failed, or another replica holds it: nothing behind it now
    DEFERRED = "deferred"  # its backend is down; the ones behind it go on


class EffectFailed(Exception):
    """An effect could not be carried out this time; it stays in the outbox."""


class RetryLater(EffectFailed):
    """Not a failure of ours (a ticket backend is down): retry, do not count it, and let the
    effects behind it go ahead."""


@dataclass
class EffectRunner:
    onboardings: Onboardings
    slack: AsyncWebClient
    catalog: Catalog
    ops_channel: str | None
    ops_lang: Lang
    tickets: TicketDispatcher
    redis_health: RedisHealth | None = None
    # Keeping onboardings moving: who hears of a stall, in their language, and the rules.
    policy: StallPolicy = field(default_factory=StallPolicy)
    manager_channel: str | None = None
    managers: tuple[str, ...] = ()
    lang_of: Callable[[str, Lang], Awaitable[Lang]] | None = None
    clock: Callable[[], datetime] = utcnow
    _dm_channels: dict[str, str] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _permalinks: dict[str, str] = field(default_factory=dict)
    _draining: set[str] = field(default_factory=set)
    _again: set[str] = field(default_factory=set)
    # Whose claims are whose: a claim this runner left behind (Redis went away under it) is
    # taken back at once; one it is working on is not.
    owner: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    _inflight: set[tuple[str, str]] = field(default_factory=set)
    _soon: set[str] = field(default_factory=set)
    _slots: asyncio.Semaphore | None = None
    # Effects wait while Slack waits on a request (see `bot.turns`).
    turns: Turns = field(default_factory=Turns)

    @property
    def outbox(self) -> RedisOutbox:
        return self.onboardings.store.outbox

    # -- driving ---------------------------------------------------------------------------------
    async def drain(self, tenant_id: str) -> None:
        """Carry out the tenant's pending effects, oldest first.

        One drain per tenant runs in this process at a time; a drain asked for while one runs
        makes the running one look again when it finishes, so effects written meanwhile (a
        second upload while the first one's messages go out) are not left for the sweep.
        """
        if tenant_id in self._draining:
            self._again.add(tenant_id)
            return
        self._draining.add(tenant_id)
        try:
            while True:
                self._again.discard(tenant_id)
                more = await self._drain_once(tenant_id)
                if not more and tenant_id not in self._again:
                    return
        finally:
            self._draining.discard(tenant_id)

    async def _drain_once(self, tenant_id: str) -> bool:
        """One page of the tenant's outbox; True when there may be more to do now: the page was
        full and all of it done, effects arrived behind it, or the hint it started from was out
        of date."""
        with log_context(tenant=tenant_id):
            # What this process's own write just left there, if it knows it all: no read.
            hinted = self.outbox.take_hint(tenant_id)
            page = hinted
            if page is None:
                page = await self.outbox.pending_effects(tenant_id, limit=PAGE)
                if not page:  # listed as pending with nothing left (a race): not any more
                    await self.outbox.settle_pending(tenant_id)
                    return False
            left = deferred = 0
            for pending in page:
                async with self.turns.effect():  # after the answers Slack waits for
                    went = await self._one(tenant_id, pending, hinted=hinted is not None)
                if went is _Went.READ_AGAIN:
                    return True  # the hint was out of date: read the outbox and go on
                if went is _Went.STOPPED:
                    return False
                if went is _Went.DEFERRED:
                    deferred += 1
                    continue
                left = went
            # A full page, or effects written behind this page meanwhile (beyond those deferred,
            # which stay): look again.
            return len(page) >= PAGE or left > deferred

    async def _one(self, tenant_id: str, pending: PendingEffect, *, hinted: bool) -> _Went | int:
        """Claim, carry out and mark done one effect; how it went, or (done) how many effects
        the outbox still holds."""
        key = (tenant_id, pending.effect_id)
        claim = await self.outbox.claim(
            tenant_id,
            pending.effect_id,
            CLAIM_TTL,
            owner=self.owner,
            reclaim=key not in self._inflight,
            entry=pending.stream_entry_id,
            read_record=True,
        )
        if claim is None:
            if hinted:
                return _Went.READ_AGAIN
            # Another replica is on it; keep the order by not skipping ahead, and look again
            # soon: what this replica wrote behind it must not wait for a sweep.
            self._look_again_soon(tenant_id)
            return _Went.STOPPED
        running = _Running(claim, _since_ts(pending.stream_entry_id))
        try:
            await self._carry_out_held(tenant_id, pending, running)
        except RetryLater as exc:
            log.info("effect %s deferred: %s", pending.effect_id, exc)
            await self._keep_refs(tenant_id, running)
            # Given back at once: a held claim would stop every later drain at this effect, so
            # nothing behind it (a stage change, a notice) would go out until the claim
            # expired. The dispatcher's own backoff spaces out the calls to the backend that
            # is down.
            await self.outbox.release_claim(claim)
            return _Went.DEFERRED
        except Exception as exc:  # any failure leaves the effect pending
            await self._keep_refs(tenant_id, running)
            await self._failed(tenant_id, pending, exc, claim)
            return _Went.STOPPED
        # Done deletes the claim with the effect: there is nothing left to release.
        _removed, left = await self.outbox.done(
            tenant_id,
            pending.stream_entry_id,
            pending.effect_id,
            refs_update(running.refs) if running.refs else None,
        )
        return left

    def _look_again_soon(self, tenant_id: str) -> None:
        if tenant_id in self._soon:
            return
        self._soon.add(tenant_id)

        def again() -> None:
            self._soon.discard(tenant_id)
            self.kick(tenant_id)

        asyncio.get_running_loop().call_later(LOOK_AGAIN_SECONDS, again)

    def kick(self, tenant_id: str) -> None:
        """Drain in the background (after an ack), keeping a reference so the task lives."""
        task = asyncio.create_task(self._drain_quietly(tenant_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def spawn(self, work: Awaitable[None], what: str) -> None:
        """Run `work` in the background (after an ack), kept so it lives and waited for by
        `settle`; a failure is logged, never raised into the request that started it."""

        async def run() -> None:
            try:
                await work
            except Exception as exc:
                self._failure(what, exc)

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """One of `WORK_SLOTS` places for an event listener's work: beyond them, work waits its
        turn (first come, first served) instead of crowding the Redis connection pool until its
        waits time out."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(WORK_SLOTS)
        async with self._slots:
            yield

    def spawn_task(self, work: Awaitable[None]) -> asyncio.Task[None]:
        """Run `work` in the background, kept so it lives and waited for by `settle`; its
        outcome is the caller's to read (`bot.handlers.acks` answers its failures)."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            if not finished.cancelled():
                finished.exception()  # read: the caller reports it

        task.add_done_callback(done)
        return task

    async def settle(self) -> None:
        """Wait for background drains (tests, the shell, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def sweep(self) -> None:
        for tenant_id in await self.outbox.tenants_with_pending():
            await self._drain_quietly(tenant_id)

    async def run_until(
        self, stop: asyncio.Event, interval: float = SWEEP_INTERVAL_SECONDS
    ) -> None:
        """Sweep every `interval` seconds until `stop` is set.

        Stopping is by event rather than only by cancelling the task: a cancellation that
        lands inside a Redis call can be absorbed by the client, and the loop must end anyway.
        """
        while not stop.is_set():
            try:
                await self.sweep()
            except Exception as exc:  # a sweep must never stop the loop; the next one retries
                self._failure("outbox sweep failed", exc)
            else:
                if self.redis_health is not None:
                    self.redis_health.answered()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    async def _drain_quietly(self, tenant_id: str) -> None:
        try:
            await self.drain(tenant_id)
        except Exception as exc:
            self._failure(f"draining the outbox of {tenant_id} failed", exc)

    def failure(self, what: str, exc: Exception) -> None:
        """Log a background failure: an unreachable Redis once, anything else with its trace."""
        self._failure(what, exc)

    def _failure(self, what: str, exc: Exception) -> None:
        """An unreachable Redis is told once (`RedisHealth`), not with a traceback per try."""
        if self.redis_health is not None and is_unreachable(exc):
            self.redis_health.failed(exc)
        else:
            log.error(what, exc_info=exc)

    async def _failed(
        self, tenant_id: str, pending: PendingEffect, exc: Exception, claim: Claim
    ) -> None:
        error = f"{type(exc).__name__}: {exc}"[:500]
        attempts = await self.outbox.record_failure(
            tenant_id, pending.effect_id, error, entry=pending.stream_entry_id
        )
        if attempts >= self.outbox.max_attempts:
            log.error(
                "gave up on effect %s after %s attempts: %s", pending.effect_id, attempts, error
            )
            await self.outbox.abandon(tenant_id, pending.stream_entry_id, error)
            return
        log.warning("effect %s failed (attempt %s): %s", pending.effect_id, attempts, error)
        # The claim now spaces the retries out (2 s, 4 s, 8 s … up to the claim's ttl), and the
        # retry is asked for when it is due rather than left to the next sweep.
        wait = min(RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), CLAIM_TTL.total_seconds())
        if await self.outbox.extend_claim(claim, timedelta(seconds=wait)):
            asyncio.get_running_loop().call_later(wait + 0.05, self.kick, tenant_id)

    # -- carrying out ----------------------------------------------------------------------------
    async def _keep_refs(self, tenant_id: str, running: _Running) -> None:
        """Keep what an effect that did not finish remembered (its posts stay where they are)."""
        if running.refs:
            await self.onboardings.remember(tenant_id, **running.refs)
            running.refs.clear()

    async def _remember(self, tenant_id: str, **refs: object) -> None:
        """Keep message ts for the tenant: inside an effect, with the effect's end (one write
        less); outside one, now."""
        running = _running.get()
        if running is None or running.claim.tenant_id != tenant_id:
            await self.onboardings.remember(tenant_id, **refs)
            return
        refs_update(refs)  # a bad value fails here, in the effect, as it would have then
        running.refs.update(refs)

    async def _carry_out_held(
        self, tenant_id: str, pending: PendingEffect, running: _Running
    ) -> None:
        """Carry out an effect while holding its claim, extending the claim as long as it runs."""
        key = (tenant_id, pending.effect_id)
        self._inflight.add(key)
        claim = running.claim
        keeping = asyncio.create_task(self._keep_claim(claim))
        token = _running.set(running)
        try:
            await self._carry_out(tenant_id, pending, claim)
        finally:
            _running.reset(token)
            keeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeping
            self._inflight.discard(key)

    async def _keep_claim(self, claim: Claim) -> None:
        every = CLAIM_TTL.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            try:
                if not await self.outbox.extend_claim(claim, CLAIM_TTL):
                    log.warning("lost the claim on effect %s while running it", claim.effect_id)
                    return
            except Exception as exc:  # Redis away: the claim may lapse; the call goes on
                log.info(
                    "could not extend the claim on %s: %s", claim.effect_id, type(exc).__name__
                )

    async def _carry_out(self, tenant_id: str, pending: PendingEffect, claim: Claim) -> None:
        if claim.record is not None:  # read with the claim
            record = self.onboardings.store.seen_as(tenant_id, claim.record, claim.messages)
        else:
            record = await self.onboardings.get(tenant_id)
        effect: Effect = pending.effect
        match effect:
            case UpdateChecklist():
                await self._checklist(record)
                await self._close_left_prompt(record)
            case PostStepPrompt():
                await self._prompt(record, effect)
            case NotifyCustomer():
                text = render(effect.text, self.catalog, record.lang)
                await self._post(record.channel_id, notice_message(text))
            case NotifyOps():
                await self.notify_ops(record, render(effect.text, self.catalog, self.ops_lang))
            case PostDocumentReview(round=round_):
                await self._document_card(record, round_)
            case UpdateDocumentReview():
                await self._document_card(record, record.onboarding.document_round)
            case PostScriptReview() | UpdateScriptReview():
                await self._script_card(record)
            case OpenSipTicket(ticket_id=ticket_id):
                await self._ticket(record, ticket_id, opening=True)
            case SipStageChanged(ticket_id=ticket_id):
                await self._ticket(record, ticket_id, opening=False)
            case RemindCustomer(nudged_by=nudged_by):
                if record.step is not Step.LIVE:
                    message = reminder_message(
                        record, self.catalog, self.policy, self.clock(), nudged_by
                    )
                    await self._post(record.channel_id, message)
            case NotifyOwner(rung=rung):
                await self._notify_owner(record, rung)
            case NotifyManagers():
                await self._notify_managers(record)
            case DirectMessage():
                await self._direct_message(effect)

    async def _post(self, channel: str, message: Message, **extra: Any) -> str:
        """Post a message; inside an effect, once: the effect's earlier post is reused."""
        running = _running.get()
        if running is None:
            return await self._post_now(channel, message, **extra)
        claim = running.claim
        slot = running.next_slot()
        if slot in claim.results:
            return claim.results[slot]  # posted by an earlier start of this effect
        marker = mark(EFFECT_MARK, "effect", f"{claim.tenant_id}/{claim.effect_id}/{slot}")
        ts = None
        if claim.tries > 1:
            thread = extra.get("thread_ts")
            ts = await find_marked(
                self.slack,
                channel,
                marker,
                since_ts=running.since_ts,
                thread_ts=thread if isinstance(thread, str) else None,
            )
            if ts is not None:
                log.info("effect %s had posted before; not posting again", claim.effect_id)
        if ts is None:
            ts = await self._post_now(channel, message, metadata=marker, **extra)
        claim.results[slot] = ts
        await self.outbox.record_result(claim, claim.results)
        return ts

    async def _post_now(self, channel: str, message: Message, **extra: Any) -> str:
        try:
            resp = await self.slack.chat_postMessage(channel=channel, **message, **extra)
        except SlackApiError as exc:
            raise EffectFailed(f"chat.postMessage: {exc.response.get('error')}") from None
        return str(resp["ts"])

    async def _update(self, channel: str, ts: str, message: Message) -> bool:
        """Update a message in place; False when it is gone (deleted), so the caller re-posts."""
        try:
            await self.slack.chat_update(channel=channel, ts=ts, **message)
        except SlackApiError as exc:
            if exc.response.get("error") in ("message_not_found", "cant_update_message"):
                return False
            raise EffectFailed(f"chat.update: {exc.response.get('error')}") from None
        return True

    async def _checklist(self, record: TenantRecord) -> None:
        message = progress_message(record, self.catalog)
        ts = record.slack.checklist_ts
        if ts and await self._update(record.channel_id, ts, message):
            return
        ts = await self._post(record.channel_id, message)
        await self._remember(record.tenant_id, checklist_ts=ts)

    async def _prompt(self, record: TenantRecord, effect: PostStepPrompt) -> None:
        stage = effect.stage or effect.step.value
        if leaf(record.onboarding.state) != stage:
            return  # the onboarding has moved on; a newer prompt is queued behind this one
        old_ts, old_stage = record.slack.prompt_ts, record.slack.prompt_stage
        ts = await self._post(record.channel_id, prompt_message(record, stage, self.catalog))
        await self._remember(record.tenant_id, prompt_ts=ts, prompt_stage=stage)
        if old_ts and old_stage and old_ts != ts:
            # The old prompt keeps its guidance but loses its buttons.
            await self._update(
                record.channel_id, old_ts, closed_prompt_message(record, old_stage, self.catalog)
            )

    async def _close_left_prompt(self, record: TenantRecord) -> None:
        """The onboarding now waits for a review or a ticket, which posts no prompt: the last
        prompt loses its buttons and its next-action line, which would offer what is no longer
        possible ("submit for review" while the review runs) for as long as the wait lasts."""
        ts, stage = record.slack.prompt_ts, record.slack.prompt_stage
        now = leaf(record.onboarding.state)
        if ts and stage and stage != now and now in WAITING_STAGES:
            await self._update(
                record.channel_id, ts, closed_prompt_message(record, stage, self.catalog)
            )

    async def permalink(self, file_id: str) -> str | None:
        """A link SEs can open to see an uploaded file in Slack (kept: it never changes)."""
        if file_id in self._permalinks:
            return self._permalinks[file_id]
        try:
            resp = await self.slack.files_info(file=file_id)
        except SlackApiError as exc:
            log.warning("no permalink for %s: %s", file_id, exc.response.get("error"))
            return None
        link = (resp.get("file") or {}).get("permalink")
        if isinstance(link, str) and link.startswith("https://"):
            self._permalinks[file_id] = link
            return link
        return None

    def _ops_channel(self) -> str:
        if self.ops_channel is None:
            raise EffectFailed("ONBOARDING_OPS_CHANNEL is not set")
        return self.ops_channel

    async def _document_card(self, record: TenantRecord, round_: int) -> None:
        files = [doc.file_id for doc in record.onboarding.documents.values()]
        links = {f: link for f in files if (link := await self.permalink(f))}
        card = document_review_card(record, round_, self.catalog, self.ops_lang, links)
        channel = self._ops_channel()
        ts = record.slack.review_card_ts.get(round_)
        if ts and await self._update(channel, ts, card):
            return
        ts = await self._post(channel, card)
        cards = {**record.slack.review_card_ts, round_: ts}
        await self._remember(record.tenant_id, review_card_ts=cards)

    async def _script_card(self, record: TenantRecord) -> None:
        script = record.onboarding.script
        link = await self.permalink(script.file_id) if script and script.file_id else None
        card = script_review_card(record, self.catalog, self.ops_lang, link)
        channel = self._ops_channel()
        ts = record.slack.script_card_ts
        # A new revision gets a new card, so the reviewer sees it arrive; verdicts update it.
        same_revision = script is not None and record.slack.script_card_revision == script.revision
        if ts and same_revision and await self._update(channel, ts, card):
            return
        ts = await self._post(channel, card)
        await self._remember(
            record.tenant_id,
            script_card_ts=ts,
            script_card_revision=script.revision if script else None,
        )

    async def _ticket(self, record: TenantRecord, ticket_id: str, *, opening: bool) -> None:
        view = ticket_view_from_record(record, self.catalog, ticket_id)
        try:
            if opening:
                await self.tickets.open(view)
            else:
                await self.tickets.stage_changed(view)
        except TicketsPending as exc:
            # A backend is down: the ticket stays pending and is retried with its own backoff.
            # The effects behind it (telling the customer) need not wait for Jira.
            raise RetryLater(f"ticket {ticket_id}: {exc}") from None
        except TicketBusy:
            raise RetryLater(f"ticket {ticket_id} is being delivered elsewhere") from None

    # -- people: SEs and managers -------------------------------------------------------------

    async def lang_for(self, user: str) -> Lang:
        """A person's own language (their Slack locale), or the ops language."""
        return await self.lang_of(user, self.ops_lang) if self.lang_of else self.ops_lang

    async def dm_channel(self, user: str) -> str:
        """The bot's direct-message channel with `user` (opened once, then remembered)."""
        if user not in self._dm_channels:
            try:
                resp = await self.slack.conversations_open(users=user)
            except SlackApiError as exc:
                raise EffectFailed(f"conversations.open: {exc.response.get('error')}") from None
            self._dm_channels[user] = str((resp.get("channel") or {}).get("id"))
        return self._dm_channels[user]

    async def _notify_owner(self, record: TenantRecord, rung: int) -> None:
        stall = record.stall
        if stall is None:
            return  # progress came first: the stall is over and there is nothing to say
        owner = record.se_user
        if owner is None:
            message = owner_notice(
                record, stall, rung, self.catalog, self.ops_lang, self.policy, self.clock()
            )
            await self._post(self._ops_channel(), message)
            return
        lang = await self.lang_for(owner)
        message = owner_notice(record, stall, rung, self.catalog, lang, self.policy, self.clock())
        await self._post(await self.dm_channel(owner), message)

    async def _notify_managers(self, record: TenantRecord) -> None:
        stall = record.stall
        if stall is None:
            return
        now = self.clock()
        if self.manager_channel is not None:
            notice = managers_notice(record, stall, self.catalog, self.ops_lang, self.policy, now)
            await self._post(self.manager_channel, notice)
            return
        for manager in self.managers:
            lang = await self.lang_for(manager)
            notice = managers_notice(record, stall, self.catalog, lang, self.policy, now)
            await self._post(await self.dm_channel(manager), notice)

    async def _direct_message(self, effect: DirectMessage) -> None:
        lang = await self.lang_for(effect.user)
        text = render(effect.text, self.catalog, lang, mentions=effect.mentions)
        await self._post(await self.dm_channel(effect.user), notice_message(text))

    async def notify_ops(self, record: TenantRecord, text: str) -> str | None:
        if self.ops_channel is None:
            log.warning("ONBOARDING_OPS_CHANNEL is not set; an ops notice was not posted")
            return None
        message = ops_notice(record, text, self.catalog, self.ops_lang)
        return await self._post(self.ops_channel, message)
