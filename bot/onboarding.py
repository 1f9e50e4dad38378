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
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.flows.effects import Effect, MessageRef, NotifyCustomer, PostStepPrompt, UpdateChecklist
from bot.flows.engine import FlowEvent, Outcome, apply, next_action
from bot.flows.machine import WAITING_STAGES, leaf
from bot.flows.model import Actor, Step
from bot.i18n import Lang
from bot.state import AuditEntry, Change, RedisTenantStore, SlackRefs, TenantNotFound, TenantRecord

COMPANY_MAX = 100
_SLUG_PART = re.compile(r"[^a-z0-9]+")


class ConversationError(Exception):
    """A request the conversation refuses, with the content key that explains it."""

    key = "conversation.errors.generic"

    def __init__(self, detail: str = "", **params: str) -> None:
        super().__init__(detail or self.key)
        self.params = params


class StalePrompt(ConversationError):
    """A button (or form) of a prompt the onboarding has moved past. `next_step` is what to do now;
    the reply renders it in the reader's language."""

    key = "conversation.errors.stale_prompt"

    def __init__(
        self, detail: str = "", *, next_step: MessageRef | None = None, **params: str
    ) -> None:
        super().__init__(detail, **params)
        self.next_step = next_step


class InvalidCompany(ConversationError):
    key = "conversation.errors.company_invalid"


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

    async def start(
        self, *, company: str, channel_id: str, team_id: str | None, actor: Actor, lang: Lang
    ) -> TenantRecord:
        """Create a tenant bound to `channel_id`: welcome, checklist and the first prompt.

        Raises `ChannelAlreadyBound` when the channel already has an onboarding.
        """
        name = clean_company(company)
        record = TenantRecord.new(
            tenant_id=new_tenant_id(name),
            company=name,
            channel_id=channel_id,
            team_id=team_id,
            created_by=actor.user_id,
            lang=lang,
            now=self.clock(),
        )
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

    async def act(
        self, tenant_id: str, event: FlowEvent, actor: Actor, *, stage: str | None = None
    ) -> TenantRecord:
        """Apply `event`. With `stage`, refuse it unless the onboarding is still at that stage
        (the prompt the click came from is current). Raises `FlowError` or `StalePrompt`; the
        stored state is then unchanged."""
        now = self.clock()

        def change(record: TenantRecord) -> Change:
            if stage is not None and leaf(record.onboarding.state) != stage:
                raise StalePrompt(
                    f"{tenant_id} is at {leaf(record.onboarding.state)}, not {stage}",
                    next_step=next_action(record.onboarding),
                )
            outcome = apply(record.onboarding, event, actor, now)
            new = record.model_copy(update={"onboarding": outcome.onboarding})
            return Change(new, outcome.effects, [audit_of(outcome, actor)])

        return (await self.store.update(tenant_id, change)).record

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

        return (await self.store.update(tenant_id, change)).record

    async def remember(self, tenant_id: str, **refs: object) -> None:
        """Keep the ts of a message the bot will update in place (not progress: no activity)."""

        def change(record: TenantRecord) -> Change:
            slack = record.slack.model_copy(update=refs)
            SlackRefs.model_validate(slack.model_dump())
            return Change(record.model_copy(update={"slack": slack}), touch_activity=False)

        await self.store.update(tenant_id, change)

    async def get(self, tenant_id: str) -> TenantRecord:
        record = await self.store.get(tenant_id)
        if record is None:
            raise TenantNotFound(tenant_id)
        return record
