"""Confirming a tenant's progress against the TCCC cloud API, and acting on what it shows.

A check asks the API about the step the tenant is at (`bot.cloud.observe`), with the tenant's
own read-only key (`bot.cloud.vault`):

- **confirmed**: the tenant moves on by itself (`confirm_by_cloud`, sent by the system and
  audited as such; the customer is told), and step 3's SdkAppId is recorded;
- **rejected** (Tencent's qualification review said no): the customer is told the reviewer's
  message, once for each message;
- anything else changes nothing; what the API showed is kept on the record (`cloud`) and shown
  to whoever asked.

Checks run when the customer says a step is done (`after_done`: the step they left is checked,
and a contradiction is answered with what the API shows; then the step they are at now), when an
SE asks (`/onboard verify`), and in the periodic sweep (`sweep`: every tenant with a key, at most
every `CHECK_EVERY`, under a lease so one replica does it). None of them is on the path of a
Slack request's answer, and none blocks the manual path: an error (a bad key, no permission, the
API down) is told plainly and the customer goes on as without a key.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.cloud.ccc import CccApi, CloudError
from bot.cloud.keys import CloudKey
from bot.cloud.observe import Known, Observation, Status, error_message, observe
from bot.cloud.vault import KeyVault
from bot.flows.catalogue import step_spec
from bot.flows.effects import Effect, MessageRef, NotifyCustomer
from bot.flows.engine import ConfirmByCloud
from bot.flows.errors import FlowError
from bot.flows.model import Actor, ActorRole, Step
from bot.state import TenantRecord
from bot.state.records import AuditEntry, CloudCheck
from bot.state.store import Change

if TYPE_CHECKING:
    from bot.onboarding import Onboardings

log = logging.getLogger(__name__)

SYSTEM = Actor(user_id="cloud-api", role=ActorRole.SYSTEM)
# How often the sweep asks about one tenant. The API allows 20 requests a second per account;
# a check is one to three requests, so this is far below it even for many tenants per account.
CHECK_EVERY = timedelta(minutes=10)
# Steps the API can show done (steps 1 and 2 are not visible to the CCC API).
CHECKED_STEPS = frozenset(
    {Step.INSTANCE, Step.QUALIFICATION, Step.NUMBERS, Step.CONSOLE, Step.LOGIN, Step.SDK}
)

OFF_KEY = "cloud.verify.disabled"
NO_KEY_KEY = "cloud.verify.no_key"
LIVE_KEY = "cloud.verify.live"
MOVED_KEY = "cloud.verify.moved"  # an SE's check moved the tenant on
DONE_CONTRADICTED_KEY = "cloud.verify.done_contradicted"
CHECKING_KEY = "cloud.verify.checking"
USAGE_KEY = "cloud.verify.usage"
RESULT_KEY = "cloud.verify.result"


class Trigger(StrEnum):
    DONE = "done"  # the customer said a step is done
    SE = "se"  # an SE asked (`/onboard verify`)
    SWEEP = "sweep"


class Outcome(StrEnum):
    OFF = "off"  # the deployment has no SECRETS_KEY
    NO_KEY = "no_key"  # the tenant gave no key
    CONFIRMED = "confirmed"
    NOT_YET = "not_yet"
    REJECTED = "rejected"
    CONTRADICTED = "contradicted"
    NOT_CHECKED = "not_checked"
    ERROR = "error"


@dataclass(frozen=True)
class Verification:
    """What one check found, with the message that says so (for whoever asked)."""

    tenant_id: str
    step: Step
    outcome: Outcome
    message: MessageRef  # what the API showed (or why nothing was asked), without labels
    moved: bool = False  # the tenant moved on because of it


def _digest(observation: Observation) -> str:
    """Tells one rejection message from another without keeping a second copy of it."""
    text = "\x00".join(f"{k}={v}" for k, v in sorted(observation.params.items()))
    return hashlib.sha256(f"{observation.message}\x00{text}".encode()).hexdigest()[:16]


def _known(record: TenantRecord) -> Known:
    ob = record.onboarding
    return Known(
        instance_name=ob.instance.call_center_name if ob.instance else None,
        sdk_app_id=ob.sdk_app_id,
        started_at=record.created_at,
    )


def _sdk_app_id(observation: Observation) -> int | None:
    value = observation.facts.get("sdk_app_id")
    if value is None or not value.isdigit():
        return None
    return int(value)


def _number(observation: Observation) -> str | None:
    numbers = observation.facts.get("numbers")
    if not numbers:
        return None
    return numbers.split(",")[0].strip() or None


@dataclass
class Verifier:
    onboardings: Onboardings
    vault: KeyVault
    api: CccApi
    clock: Callable[[], datetime]
    spawn: Callable[[Awaitable[None]], object]
    kick: Callable[[str], None] = lambda tenant_id: None  # the effect runner, for what we wrote

    @property
    def enabled(self) -> bool:
        return self.vault.enabled

    # -- the three triggers ----------------------------------------------------------------------

    async def verify(self, tenant_id: str, trigger: Trigger = Trigger.SE) -> Verification:
        """Ask the API about the tenant's current step and act on the answer."""
        record = await self.onboardings.get(tenant_id)
        step = record.step
        key = await self._key(record)
        if isinstance(key, Verification):
            return key
        if step is Step.LIVE:
            return Verification(tenant_id, step, Outcome.NOT_CHECKED, MessageRef(key=LIVE_KEY))
        try:
            observation = await observe(self.api, key, step, _known(record), clock=self.clock)
        except CloudError as exc:
            return await self._failed(record, step, exc, trigger)
        return await self._act_on(record, observation, trigger)

    def check_soon(self, tenant_id: str) -> None:
        """Check the tenant in the background, telling its channel what goes wrong (a key was
        just given: one that does not work is said at once)."""
        self.spawn(self._quietly(self.verify(tenant_id, Trigger.DONE), tenant_id))

    async def _quietly(self, work: Awaitable[object], tenant_id: str) -> None:
        try:
            await work
        except Exception:  # a background check must not take anything else down
            log.warning("cloud check of %s failed", tenant_id, exc_info=True)

    def after_done(self, tenant_id: str, step: Step) -> None:
        """The customer said `step` is done (and moved on): check it, then the step they are at
        now, in the background. Nothing happens without a key."""
        if not self.enabled or step not in CHECKED_STEPS:
            return
        self.spawn(self._after_done(tenant_id, step))

    async def _after_done(self, tenant_id: str, step: Step) -> None:
        try:
            record = await self.onboardings.get(tenant_id)
            key = await self._key(record)
            if isinstance(key, Verification):
                return
            try:
                observation = await observe(self.api, key, step, _known(record), clock=self.clock)
            except CloudError as exc:
                await self._failed(record, step, exc, Trigger.DONE)
                return
            if observation.status is Status.CONFIRMED:
                await self._keep(record, observation, Trigger.DONE)
            elif observation.status is not Status.NOT_CHECKED:
                await self._contradicted(record, step, observation)
            if (await self.onboardings.get(tenant_id)).step in CHECKED_STEPS:
                await self.verify(tenant_id, Trigger.DONE)
        except Exception:  # a background check must not take anything else down
            log.warning("cloud check after a done step failed for %s", tenant_id, exc_info=True)

    async def sweep(self, due: list[str]) -> int:
        """Check each of `due` (tenants with a key whose turn it is); returns how many moved."""
        moved = 0
        for tenant_id in due:
            try:
                result = await self.verify(tenant_id, Trigger.SWEEP)
            except Exception:  # one tenant's trouble must not stop the others' checks
                log.warning("cloud check of %s failed", tenant_id, exc_info=True)
                continue
            moved += result.moved
        return moved

    # -- the parts -------------------------------------------------------------------------------

    async def _key(self, record: TenantRecord) -> CloudKey | Verification:
        step = record.step
        if not self.vault.enabled:
            return Verification(record.tenant_id, step, Outcome.OFF, MessageRef(key=OFF_KEY))
        key = await self.vault.get(record.tenant_id)
        if key is None:
            return Verification(record.tenant_id, step, Outcome.NO_KEY, MessageRef(key=NO_KEY_KEY))
        return key

    async def _act_on(
        self, record: TenantRecord, observation: Observation, trigger: Trigger
    ) -> Verification:
        step = observation.step
        said = MessageRef(key=observation.message, params=dict(observation.params))
        match observation.status:
            case Status.CONFIRMED:
                moved = await self._advance(record, observation, trigger)
                return Verification(record.tenant_id, step, Outcome.CONFIRMED, said, moved=moved)
            case Status.REJECTED:
                await self._rejected(record, observation, trigger)
                return Verification(record.tenant_id, step, Outcome.REJECTED, said)
            case _:
                await self._note(record, observation, trigger)
                return Verification(record.tenant_id, step, Outcome(observation.status.value), said)

    async def _advance(
        self, record: TenantRecord, observation: Observation, trigger: Trigger
    ) -> bool:
        event = ConfirmByCloud(
            step=observation.step,
            sdk_app_id=_sdk_app_id(observation),
            number=_number(observation) if observation.step is Step.NUMBERS else None,
        )
        try:
            await self.onboardings.act(record.tenant_id, event, SYSTEM)
        except FlowError as exc:
            # The tenant moved on meanwhile, or a gate the API cannot open (step 8 before
            # step 6) is shut: the manual path goes on as it would have.
            log.info("cloud confirmation of %s not applied: %s", record.tenant_id, exc)
            await self._note(record, observation, trigger)
            return False
        self.kick(record.tenant_id)
        return True

    def _check(self, observation: Observation, now: datetime) -> CloudCheck:
        return CloudCheck(
            at=now,
            step=observation.step,
            status=observation.status.value,
            message=observation.message,
            digest=_digest(observation),
        )

    async def _note(
        self,
        record: TenantRecord,
        observation: Observation,
        trigger: Trigger,
        *,
        effects: tuple[Effect, ...] = (),
        audit: str | None = None,
    ) -> None:
        """Keep what the API showed on the record when it differs from what was kept (a check
        that finds the same as the last one writes nothing)."""
        now = self.clock()
        check = self._check(observation, now)

        def change(current: TenantRecord) -> Change | None:
            kept = current.cloud
            same = kept is not None and kept.same_as(check)
            if same and not effects:
                return None
            lines = []
            if audit is not None:
                lines.append(
                    AuditEntry(
                        actor=SYSTEM,
                        event=audit,
                        when=now,
                        from_step=current.step,
                        to_step=current.step,
                        detail={
                            "step": observation.step.value,
                            "status": observation.status.value,
                            "trigger": trigger.value,
                        },
                    )
                )
            new = current.model_copy(update={"cloud": check})
            return Change(new, effects, lines, touch_activity=False)

        await self.onboardings.store.update(record.tenant_id, change)
        if effects:
            self.kick(record.tenant_id)

    async def _keep(self, record: TenantRecord, observation: Observation, trigger: Trigger) -> None:
        """A step the customer said was done, and the API agrees: record the SdkAppId it showed
        (step 3) with what it showed."""
        sdk_app_id = _sdk_app_id(observation)
        now = self.clock()
        check = self._check(observation, now)

        def change(current: TenantRecord) -> Change | None:
            ob = current.onboarding
            if ob.sdk_app_id is not None or sdk_app_id is None:
                if current.cloud is not None and current.cloud.same_as(check):
                    return None
                return Change(current.model_copy(update={"cloud": check}), touch_activity=False)
            onboarding = ob.model_copy(update={"sdk_app_id": sdk_app_id})
            audit = AuditEntry(
                actor=SYSTEM,
                event="cloud_confirmed",
                when=now,
                from_step=current.step,
                to_step=current.step,
                detail={"step": observation.step.value, "sdk_app_id": str(sdk_app_id)},
            )
            new = current.model_copy(update={"onboarding": onboarding, "cloud": check})
            return Change(new, (), [audit], touch_activity=False)

        await self.onboardings.store.update(record.tenant_id, change)

    async def _rejected(
        self, record: TenantRecord, observation: Observation, trigger: Trigger
    ) -> None:
        """Tencent's reviewers turned the qualification down: the customer hears their message,
        once for each message (the sweep finds it again every pass)."""
        kept = record.cloud
        if kept is not None and kept.digest == _digest(observation):
            return
        tell = NotifyCustomer(message=observation.message, params=dict(observation.params))
        await self._note(record, observation, trigger, effects=(tell,), audit="cloud_rejected")

    async def _contradicted(
        self, record: TenantRecord, step: Step, observation: Observation
    ) -> None:
        tell = NotifyCustomer(
            message=DONE_CONTRADICTED_KEY,
            params=dict(observation.params),
            labels={"step": step_spec(step).title_key, "what": observation.message},
        )
        await self._note(
            record, observation, Trigger.DONE, effects=(tell,), audit="cloud_contradicted"
        )

    async def _failed(
        self, record: TenantRecord, step: Step, exc: CloudError, trigger: Trigger
    ) -> Verification:
        key, params = error_message(exc)
        log.info(
            "cloud check of %s at %s: %s (%s)", record.tenant_id, step.value, exc.kind, exc.code
        )
        failure = Observation(step=step, status=Status.NOT_YET, message=key, params=params)
        if trigger is Trigger.DONE:
            # Said once where the customer acted; the sweep keeps it for the SE to see.
            kept = record.cloud
            if kept is None or kept.message != key:
                tell = NotifyCustomer(message=key, params=params)
                await self._note(record, failure, trigger, effects=(tell,))
        else:
            await self._note(record, failure, trigger)
        return Verification(
            record.tenant_id, step, Outcome.ERROR, MessageRef(key=key, params=params)
        )
