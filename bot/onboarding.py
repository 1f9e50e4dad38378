"""The application layer: start an onboarding, apply a flow event, change a tenant's language.

Handlers (Slack or shell) call these; each call is one compare-and-set write of the record, its
audit entry and the effects the change causes (see `bot.state.store`). Carrying the effects out
is the runner's job (`bot.runner`).
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.documents.checks import DocumentCheck, check_against, to_document
from bot.documents.fetch import InspectedFile
from bot.flows.catalogue import step_spec
from bot.flows.effects import (
    DirectMessage,
    Effect,
    MessageRef,
    NotifyCustomer,
    PostStepPrompt,
    RemindCustomer,
    UpdateChecklist,
)
from bot.flows.engine import AddDocument, FlowEvent, Outcome, OverrideStep, apply, next_action
from bot.flows.machine import SE_ONLY_EVENTS, WAITING_STAGES, leaf
from bot.flows.model import Actor, ActorRole, DocKind, Step
from bot.i18n import Lang
from bot.ids import is_tenant_id
from bot.stalls.policy import StallPolicy
from bot.state import AuditEntry, Change, RedisTenantStore, TenantNotFound, TenantRecord
from bot.state.records import Nudge

COMPANY_MAX = 100
_SLUG_PART = re.compile(r"[^a-z0-9]+")


class ConversationError(Exception):
    """A request the conversation refuses, with the content key that explains it. `params` are
    people's text (escaped where the reply is rendered); `mentions` are Slack user ids, shown as
    mentions."""

    key = "conversation.errors.generic"

    def __init__(
        self, detail: str = "", *, mentions: dict[str, str] | None = None, **params: str
    ) -> None:
        super().__init__(detail or self.key)
        self.params = params
        self.mentions = mentions or {}


class StalePrompt(ConversationError):
    """A button (or form) of a prompt the onboarding has moved past. `next_step` is what to do now;
    the reply renders it in the reader's language."""

    key = "conversation.errors.stale_prompt"

    def __init__(
        self, detail: str = "", *, next_step: MessageRef | None = None, **params: str
    ) -> None:
        super().__init__(detail, mentions=None, **params)
        self.next_step = next_step


class InvalidCompany(ConversationError):
    key = "conversation.errors.company_invalid"


class TenantIsLive(ConversationError):
    key = "stalls.nudge.live"


class NudgeAgain(ConversationError):
    """A second nudge within the hour: the SE confirms first (the customer was just reminded)."""

    key = "stalls.nudge.again"

    def __init__(self, last: Nudge, company: str) -> None:
        super().__init__(f"nudged at {last.at.isoformat()}", company=company)
        self.last = last


class NothingToSnooze(ConversationError):
    key = "stalls.snooze.gone"


class AlreadyOwner(ConversationError):
    key = "stalls.assign.already"


# A second nudge within this long asks the SE to confirm first.
NUDGE_CONFIRM_WITHIN = timedelta(hours=1)


@dataclass(frozen=True)
class Nudged:
    record: TenantRecord
    queued_for: datetime | None  # set when quiet hours hold the reminder back until then


def utcnow() -> datetime:
    return datetime.now(UTC)


def clean_company(text: str) -> str:
    """The company name as typed, tidied; raises `InvalidCompany` when it is not a name."""
    name = " ".join(unicodedata.normalize("NFKC", text).split())
    if not name or len(name) > COMPANY_MAX:
        raise InvalidCompany()
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise InvalidCompany()
    return name


def new_tenant_id(company: str) -> str:
    """A short, typeable id: the company's ASCII words plus a random suffix (`acme-7f3a`)."""
    ascii_name = unicodedata.normalize("NFKD", company).encode("ascii", "ignore").decode()
    slug = _SLUG_PART.sub("-", ascii_name.lower()).strip("-")[:40].strip("-")
    return f"{slug or 't'}-{secrets.token_hex(3)}"


def known_id(tenant_id: str) -> str:
    """`tenant_id`, if it is one; else `TenantNotFound` (no key is ever built from other text)."""
    if not is_tenant_id(tenant_id):
        raise TenantNotFound(tenant_id)
    return tenant_id


# Who says a step is done (the customer, or an SE acting for them).
PEOPLE = frozenset({ActorRole.CUSTOMER, ActorRole.SE})


def audit_of(outcome: Outcome, actor: Actor) -> AuditEntry:
    detail = dict(outcome.audit.detail)
    detail["from"] = leaf(outcome.audit.from_state)
    detail["to"] = leaf(outcome.audit.to_state)
    return AuditEntry(
        actor=actor,
        event=outcome.audit.event,
        when=outcome.audit.at,
        from_step=outcome.from_step,
        to_step=outcome.to_step,
        detail=detail,
    )


@dataclass
class Onboardings:
    store: RedisTenantStore
    clock: Callable[[], datetime] = utcnow
    policy: StallPolicy = field(default_factory=StallPolicy)
    # Told when a person's event finished a step (tenant id, the step left): the cloud check
    # (`bot.cloud.verify.Verifier.after_done`). It must return at once.
    step_done: Callable[[str, Step], None] | None = None

    def _progress(self, before: TenantRecord, after: TenantRecord, now: datetime) -> Change:
        """What every change of the onboarding's state also writes: the stall (if any) is over,
        the next look of the stalled sweep, and when a step finishes, how long it took."""
        update: dict[str, object] = {
            "stall": None,
            "check_at": self.policy.stalls_at(now, after.step),
        }
        seconds: float | None = None
        if after.step is not before.step:
            began = before.step_since or before.last_activity_at
            seconds = self.policy.calendar.elapsed(began, now).total_seconds()
            update["step_since"] = now
            if after.step is Step.LIVE and after.live_at is None:
                update["live_at"] = now
        return Change(after.model_copy(update=update), step_seconds=seconds)

    async def start(
        self, *, company: str, channel_id: str, team_id: str | None, actor: Actor, lang: Lang
    ) -> TenantRecord:
        """Create a tenant bound to `channel_id`: welcome, checklist and the first prompt.

        Raises `ChannelAlreadyBound` when the channel already has an onboarding.
        """
        name = clean_company(company)
        now = self.clock()
        record = TenantRecord.new(
            tenant_id=new_tenant_id(name),
            company=name,
            channel_id=channel_id,
            team_id=team_id,
            created_by=actor.user_id,
            lang=lang,
            now=now,
            # The SE who starts an onboarding owns it (`/onboard assign` hands it over).
            se_user=actor.user_id if actor.role is ActorRole.SE else None,
        ).model_copy(update={"check_at": self.policy.stalls_at(now, Step.ACCOUNT)})
        effects: list[Effect] = [
            NotifyCustomer(message="conversation.welcome", params={"company": name}),
            UpdateChecklist(),
            PostStepPrompt(step=Step.ACCOUNT, next_action=next_action(record.onboarding)),
        ]
        audit = AuditEntry(
            actor=actor,
            event="start",
            when=self.clock(),
            to_step=Step.ACCOUNT,
            detail={"company": name, "lang": lang.value},
        )
        return await self.store.create(record, effects, [audit])

    def _flow_change(
        self,
        record: TenantRecord,
        event: FlowEvent,
        actor: Actor,
        now: datetime,
        stage: str | None,
    ) -> Change:
        """What applying `event` to `record` writes (pure: it runs inside the compare-and-set)."""
        if stage is not None and leaf(record.onboarding.state) != stage:
            raise StalePrompt(
                f"{record.tenant_id} is at {leaf(record.onboarding.state)}, not {stage}",
                next_step=next_action(record.onboarding),
            )
        outcome = apply(record.onboarding, event, actor, now)
        moved = self._progress(
            record, record.model_copy(update={"onboarding": outcome.onboarding}), now
        )
        return Change(
            moved.record,
            outcome.effects,
            [audit_of(outcome, actor)],
            step_seconds=moved.step_seconds,
        )

    async def act(
        self, tenant_id: str, event: FlowEvent, actor: Actor, *, stage: str | None = None
    ) -> TenantRecord:
        """Apply `event`. With `stage`, refuse it unless the onboarding is still at that stage
        (the prompt the click came from is current). Raises `FlowError` or `StalePrompt`; the
        stored state is then unchanged."""
        now = self.clock()
        left: list[Step] = []

        def change(record: TenantRecord) -> Change:
            made = self._flow_change(record, event, actor, now, stage)
            left[:] = [record.step] if made.record.step is not record.step else []
            return made

        record = (await self.store.update(known_id(tenant_id), change)).record
        # Someone saying a step is done: a customer-side event. A verdict or SIP stage (the SE's
        # own work) and an override (a move, not a claim) are not checked.
        said_done = actor.role in PEOPLE and event.name not in SE_ONLY_EVENTS
        said_done = said_done and not isinstance(event, OverrideStep)
        if left and said_done and self.step_done is not None:
            self.step_done(record.tenant_id, left[0])
        return record

    async def check(
        self, tenant_id: str, event: FlowEvent, actor: Actor, *, stage: str | None = None
    ) -> TenantRecord:
        """What `act` would refuse, without writing: raises what `act` would raise on the
        record as it is now (a later `act` decides again on the record it then reads)."""
        record = await self.get(tenant_id)
        self._flow_change(record, event, actor, self.clock(), stage)
        return record

    async def add_document(
        self,
        tenant_id: str,
        kind: DocKind,
        inspected: InspectedFile,
        actor: Actor,
        *,
        uploaded_by: str,
    ) -> DocumentCheck:
        """Take `inspected` as the tenant's `kind`, uploaded by `uploaded_by`, unless the checks
        refuse it. The checks (a role is chosen and needs `kind`, the same bytes are not held
        already, an approved document stays during the review, which revision it becomes) run
        inside the compare-and-set on the record being written: two uploads of the same bytes
        at once are decided one after the other, and the second is the duplicate. Returns the
        verdict, with the message for the customer; a refused one writes nothing. Raises
        `FlowError` when the flow refuses the document."""
        now = self.clock()
        verdict: list[DocumentCheck] = []

        def change(record: TenantRecord) -> Change | None:
            check = check_against(record.onboarding, kind, inspected)
            verdict[:] = [check]
            if not check.ok:
                return None
            document = to_document(kind, inspected, uploaded_by, now, check.previous)
            return self._flow_change(record, AddDocument(document=document), actor, now, None)

        await self.store.update(tenant_id, change)
        return verdict[0]

    async def set_lang(self, tenant_id: str, lang: Lang, actor: Actor) -> TenantRecord:
        def change(record: TenantRecord) -> Change | None:
            if record.lang is lang:
                return None
            new = record.model_copy(update={"lang": lang})
            audit = AuditEntry(
                actor=actor,
                event="set_lang",
                when=self.clock(),
                from_step=record.step,
                to_step=record.step,
                detail={"from": record.lang.value, "to": lang.value},
            )
            effects: list[Effect] = [
                UpdateChecklist(),
                NotifyCustomer(message="conversation.lang_set"),
            ]
            stage = leaf(record.onboarding.state)
            if record.slack.prompt_ts and stage not in WAITING_STAGES and stage != Step.LIVE:
                # The prompt to act on now, again in the new language (the old one closes).
                step = record.step
                effects.append(
                    PostStepPrompt(
                        step=step,
                        stage=stage if stage != step.value else None,
                        next_action=next_action(record.onboarding),
                    )
                )
            return Change(new, effects, [audit], touch_activity=False)

        return (await self.store.update(known_id(tenant_id), change)).record

    # -- keeping it moving (not progress: none of these touch the activity clock) -------------

    def _note(self, record: TenantRecord, actor: Actor, event: str, **detail: str) -> AuditEntry:
        return AuditEntry(
            actor=actor,
            event=event,
            when=self.clock(),
            from_step=record.step,
            to_step=record.step,
            detail=detail,
        )

    async def nudge(self, tenant_id: str, actor: Actor, *, confirmed: bool = False) -> Nudged:
        """A friendly reminder in the tenant's channel with the next action. A second one within
        the hour raises `NudgeAgain` unless `confirmed`; in the customer's quiet hours it is
        queued and posted when they end (by the stalled sweep)."""
        now = self.clock()
        queued: list[datetime] = []

        def change(record: TenantRecord) -> Change:
            if record.step is Step.LIVE:
                raise TenantIsLive(company=record.company)
            last = record.last_nudge
            if last is not None and not confirmed and now - last.at < NUDGE_CONFIRM_WITHIN:
                raise NudgeAgain(last, record.company)
            ask = Nudge(by=actor.user_id, at=now)
            slot = self.policy.calendar.after_quiet(now)
            if slot > now:
                queued[:] = [slot]
                check = record.check_at
                new = record.model_copy(
                    update={
                        "last_nudge": ask,
                        "queued_nudge": Nudge(by=actor.user_id, at=slot),
                        "check_at": slot if check is None or slot < check else check,
                    }
                )
                note = self._note(record, actor, "nudge_queued", until=slot.isoformat())
                return Change(new, (), [note], touch_activity=False)
            queued[:] = []
            new = record.model_copy(update={"last_nudge": ask, "last_reminder_at": now})
            effects = [RemindCustomer(nudged_by=actor.user_id)]
            return Change(new, effects, [self._note(record, actor, "nudge")], touch_activity=False)

        result = await self.store.update(known_id(tenant_id), change)
        return Nudged(result.record, queued[0] if queued else None)

    async def snooze(self, tenant_id: str, actor: Actor, since: int) -> TenantRecord:
        """Hold the stall's ladder for a business day (`since`: the stall the SE was shown)."""
        now = self.clock()

        def change(record: TenantRecord) -> Change:
            stall = record.stall
            if stall is None or int(stall.since.timestamp()) != since:
                raise NothingToSnooze(company=record.company)
            until = self.policy.calendar.add(now, self.policy.snooze)
            snoozed = stall.model_copy(update={"snoozed_until": until, "snoozed_by": actor.user_id})
            new = record.model_copy(update={"stall": snoozed, "check_at": until})
            note = self._note(record, actor, "snooze", until=until.isoformat())
            return Change(new, (), [note], touch_activity=False)

        return (await self.store.update(known_id(tenant_id), change)).record

    async def assign(self, tenant_id: str, actor: Actor, to_user: str) -> TenantRecord:
        """Hand the onboarding to the SE `to_user` (the caller checked both are SEs). The new
        owner and the previous one are told, each unless they are the one doing it."""

        def change(record: TenantRecord) -> Change:
            if record.se_user == to_user:
                raise AlreadyOwner(company=record.company, mentions={"user": to_user})
            details = {
                "company": record.company,
                "tenant": record.tenant_id,
                "channel": record.channel_id,
                "number": str(record.step.number),
            }
            step = {"step": step_spec(record.step).title_key}
            effects: list[Effect] = []
            if to_user != actor.user_id:  # someone taking it over knows already
                effects.append(
                    DirectMessage(
                        user=to_user,
                        message="stalls.assign.told_new",
                        params=details,
                        labels=step,
                        mentions={"by": actor.user_id},
                    )
                )
            previous = record.se_user
            if previous is not None and previous != actor.user_id:
                effects.append(
                    DirectMessage(
                        user=previous,
                        message="stalls.assign.told_old",
                        params=details,
                        mentions={"by": actor.user_id, "user": to_user},
                    )
                )
            note = self._note(
                record, actor, "assign", to=to_user, **({"from": previous} if previous else {})
            )
            new = record.model_copy(update={"se_user": to_user})
            return Change(new, effects, [note], touch_activity=False)

        return (await self.store.update(known_id(tenant_id), change)).record

    async def remember(self, tenant_id: str, **refs: object) -> None:
        """Keep the ts of a message the bot will update in place (not progress: no activity,
        and no new version of the record: it is kept beside it)."""
        await self.store.remember(known_id(tenant_id), refs)

    async def get(self, tenant_id: str) -> TenantRecord:
        record = await self.store.get(known_id(tenant_id))
        if record is None:
            raise TenantNotFound(tenant_id)
        return record
