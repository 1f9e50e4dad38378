"""What the cloud API shows about one onboarding step, judged from read-only calls.

Public interface::

    await observe(api, key, step, known, *, clock=...) -> Observation
    error_message(error: CloudError) -> tuple[str, dict[str, str]]   # content key, params
    MESSAGE_KEYS: frozenset[str]                                     # every key this module uses

`Observation.status` is `confirmed`, `not_yet`, `rejected` (the qualification review said no),
`contradicted` (the API disagrees with what the record says: no instance by the recorded
SdkAppId, or several instances and none by the customer's name) or `not_checked` (steps 1 and 2,
and `live`: the CCC API cannot show an account or its real-name verification). `facts` are short
strings worth recording (`sdk_app_id`, `numbers`, counts); `message` is a content key under
`cloud.observed.*` and `params` its placeholders, raw: escape them where they are rendered into
mrkdwn (the reviewer's message and instance names are text we do not control).

How each step is judged:
- INSTANCE (DescribeCCCBuyInfoList): the recorded SdkAppId if any, else the instance named as the
  customer typed it in step 3 (case and spacing ignored), else the only one.
- QUALIFICATION (DescribeCompanyList): any approved application confirms; otherwise the newest
  decides: rejected (with the reviewer's message) or pending (not yet).
- NUMBERS (DescribeNumbers): at least one number on the instance.
- CONSOLE (DescribeStaffInfoList, DescribeSkillGroupInfoList): at least two members, because
  creating the instance makes its administrator the first member (StaffInfo's role ids are not
  documented well enough to tell the administrator apart), and at least one skill group.
- LOGIN (DescribeStaffStatusMetrics): a member is signed in now, or has a last-online time.
- SDK (DescribeTelCdr): a call record since the onboarding started. The API looks back at most
  180 days and spans less than 90 days a query, so older starts are clamped and the span split.

Steps after INSTANCE need the instance: the recorded SdkAppId, else the one INSTANCE would pick;
without one they are `not_yet` with INSTANCE's message. Errors propagate as `CloudError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from bot.cloud.ccc import CccApi, CloudError, ErrorKind, Instance, ReviewState
from bot.cloud.keys import CloudKey
from bot.flows.model import Step

__all__ = [
    "MESSAGE_KEYS",
    "Known",
    "Observation",
    "Status",
    "error_message",
    "observe",
]

_PREFIX = "cloud.observed"
# DescribeTelCdr: start at most 180 days back, span under 90 days (a day's margin on each).
_CDR_LOOKBACK = timedelta(days=179)
_CDR_SPAN = timedelta(days=89)
_MAX_NAMES = 5


class Status(StrEnum):
    CONFIRMED = "confirmed"
    NOT_YET = "not_yet"
    REJECTED = "rejected"
    CONTRADICTED = "contradicted"
    NOT_CHECKED = "not_checked"


@dataclass(frozen=True)
class Known:
    """What the record knows: the instance name typed in step 3, the SdkAppId once one is
    recorded, and when the onboarding started."""

    instance_name: str | None = None
    sdk_app_id: int | None = None
    started_at: datetime | None = None


@dataclass(frozen=True)
class Observation:
    step: Step
    status: Status
    message: str
    params: Mapping[str, str] = field(default_factory=dict)
    facts: Mapping[str, str] = field(default_factory=dict)


def _key(name: str) -> str:
    return f"{_PREFIX}.{name}"


MESSAGE_KEYS: frozenset[str] = frozenset(
    _key(k)
    for k in (
        "not_checked",
        "instance.confirmed",
        "instance.none",
        "instance.ambiguous",
        "instance.missing",
        "qualification.approved",
        "qualification.rejected",
        "qualification.rejected_no_reason",
        "qualification.pending",
        "qualification.none",
        "numbers.confirmed",
        "numbers.none",
        "console.confirmed",
        "console.no_members",
        "console.no_skill_group",
        "console.neither",
        "login.confirmed",
        "login.none",
        "sdk.confirmed",
        "sdk.none",
        *(f"error.{kind.value}" for kind in ErrorKind),
    )
)


def error_message(error: CloudError) -> tuple[str, dict[str, str]]:
    """The content key and params that tell the customer what went wrong."""
    params = {"code": error.code} if error.kind is ErrorKind.INVALID else {}
    return _key(f"error.{error.kind.value}"), params


def _now() -> datetime:
    return datetime.now(UTC)


async def observe(
    api: CccApi,
    key: CloudKey,
    step: Step,
    known: Known,
    *,
    clock: Callable[[], datetime] = _now,
) -> Observation:
    """Judge `step` from what the cloud API shows on the tenant's account."""
    if step is Step.INSTANCE:
        return await _instance(api, key, known)
    if step is Step.QUALIFICATION:
        return await _qualification(api, key)
    if step in (Step.NUMBERS, Step.CONSOLE, Step.LOGIN, Step.SDK):
        sdk_app_id = known.sdk_app_id
        if sdk_app_id is None:
            found = await _instance(api, key, known)
            if found.status is not Status.CONFIRMED:
                return Observation(step, Status.NOT_YET, found.message, found.params, found.facts)
            sdk_app_id = int(found.facts["sdk_app_id"])
        if step is Step.NUMBERS:
            return await _numbers(api, key, sdk_app_id)
        if step is Step.CONSOLE:
            return await _console(api, key, sdk_app_id)
        if step is Step.LOGIN:
            return await _login(api, key, sdk_app_id)
        return await _sdk(api, key, sdk_app_id, known, clock())
    return Observation(step, Status.NOT_CHECKED, _key("not_checked"))


def _same_name(a: str, b: str) -> bool:
    def norm(s: str) -> str:
        return re.sub(r"\s+", " ", s).strip().casefold()

    return norm(a) == norm(b)


def _confirmed_instance(instance: Instance) -> Observation:
    facts = {"sdk_app_id": str(instance.sdk_app_id), "instance_name": instance.name}
    params = {"name": instance.name, "sdk_app_id": str(instance.sdk_app_id)}
    return Observation(Step.INSTANCE, Status.CONFIRMED, _key("instance.confirmed"), params, facts)


async def _instance(api: CccApi, key: CloudKey, known: Known) -> Observation:
    instances = await api.instances(key)
    if known.sdk_app_id is not None:
        for instance in instances:
            if instance.sdk_app_id == known.sdk_app_id:
                return _confirmed_instance(instance)
        return Observation(
            Step.INSTANCE,
            Status.CONTRADICTED,
            _key("instance.missing"),
            {"sdk_app_id": str(known.sdk_app_id)},
        )
    if not instances:
        return Observation(Step.INSTANCE, Status.NOT_YET, _key("instance.none"))
    if known.instance_name:
        named = [i for i in instances if _same_name(i.name, known.instance_name)]
        if len(named) == 1:
            return _confirmed_instance(named[0])
    if len(instances) == 1:
        return _confirmed_instance(instances[0])
    names = [i.name or str(i.sdk_app_id) for i in instances]
    shown = ", ".join(names[:_MAX_NAMES]) + (", …" if len(names) > _MAX_NAMES else "")
    return Observation(
        Step.INSTANCE,
        Status.CONTRADICTED,
        _key("instance.ambiguous"),
        {"names": shown, "expected": known.instance_name or ""},
        {"instances": str(len(instances))},
    )


async def _qualification(api: CccApi, key: CloudKey) -> Observation:
    reviews = await api.companies(key)  # newest first
    step = Step.QUALIFICATION
    if not reviews:
        return Observation(step, Status.NOT_YET, _key("qualification.none"))
    approved = [r for r in reviews if r.state is ReviewState.APPROVED]
    latest = approved[0] if approved else reviews[0]
    facts = {"company": latest.company_name, "apply_id": str(latest.apply_id)}
    params = {"company": latest.company_name}
    if latest.state is ReviewState.APPROVED:
        return Observation(step, Status.CONFIRMED, _key("qualification.approved"), params, facts)
    if latest.state is ReviewState.PENDING:
        return Observation(step, Status.NOT_YET, _key("qualification.pending"), params, facts)
    if latest.message:
        facts["review_message"] = latest.message
        params = {**params, "message": latest.message}
        return Observation(step, Status.REJECTED, _key("qualification.rejected"), params, facts)
    no_reason = _key("qualification.rejected_no_reason")
    return Observation(step, Status.REJECTED, no_reason, params, facts)


async def _numbers(api: CccApi, key: CloudKey, sdk_app_id: int) -> Observation:
    numbers = await api.numbers(key, sdk_app_id)
    facts = {"sdk_app_id": str(sdk_app_id)}
    if not numbers:
        return Observation(Step.NUMBERS, Status.NOT_YET, _key("numbers.none"), facts=facts)
    joined = ", ".join(numbers)
    return Observation(
        Step.NUMBERS,
        Status.CONFIRMED,
        _key("numbers.confirmed"),
        {"numbers": joined},
        {**facts, "numbers": joined},
    )


async def _console(api: CccApi, key: CloudKey, sdk_app_id: int) -> Observation:
    staff = await api.staff_count(key, sdk_app_id)
    groups = await api.skill_group_count(key, sdk_app_id)
    facts = {"sdk_app_id": str(sdk_app_id), "staff": str(staff), "skill_groups": str(groups)}
    members = staff >= 2  # the administrator is the first member
    if members and groups >= 1:
        params = {"staff": str(staff), "skill_groups": str(groups)}
        return Observation(Step.CONSOLE, Status.CONFIRMED, _key("console.confirmed"), params, facts)
    if members:
        missing = "console.no_skill_group"
    elif groups >= 1:
        missing = "console.no_members"
    else:
        missing = "console.neither"
    return Observation(Step.CONSOLE, Status.NOT_YET, _key(missing), facts=facts)


async def _login(api: CccApi, key: CloudKey, sdk_app_id: int) -> Observation:
    status = await api.staff_status(key, sdk_app_id)
    facts = {"sdk_app_id": str(sdk_app_id), "online": str(status.online)}
    if status.last_online_at is not None:
        facts["last_online_at"] = status.last_online_at.isoformat()
    if status.anyone_logged_in:
        return Observation(Step.LOGIN, Status.CONFIRMED, _key("login.confirmed"), facts=facts)
    return Observation(Step.LOGIN, Status.NOT_YET, _key("login.none"), facts=facts)


async def _sdk(
    api: CccApi, key: CloudKey, sdk_app_id: int, known: Known, now: datetime
) -> Observation:
    earliest = now - _CDR_LOOKBACK
    start = max(known.started_at or earliest, earliest)
    calls = 0
    end = now
    # Newest window first: a recent call answers with one request.
    while end > start and calls == 0:
        window_start = max(start, end - _CDR_SPAN)
        calls += await api.call_count(key, sdk_app_id, window_start, end)
        end = window_start
    facts = {"sdk_app_id": str(sdk_app_id), "calls": str(calls)}
    if calls:
        return Observation(
            Step.SDK, Status.CONFIRMED, _key("sdk.confirmed"), {"calls": str(calls)}, facts
        )
    return Observation(Step.SDK, Status.NOT_YET, _key("sdk.none"), facts=facts)
