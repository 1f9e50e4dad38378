"""What stalls look like: the reminder in the customer's channel, the SE's and the managers'
notices, and the list `/onboard stalled` answers with."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.flows.catalogue import step_spec
from bot.flows.engine import missing_documents, rejected_documents
from bot.flows.model import Step
from bot.i18n import Catalog, Lang
from bot.ids import ActionId, is_tenant_id
from bot.mrkdwn import escape
from bot.stalls.policy import StallPolicy, StallState
from bot.state import TenantRecord
from bot.views.kit import Block, Message, actions, button, context, section, sections
from bot.views.progress import next_action_text
from bot.views.prompts import document_line


def duration_text(catalog: Catalog, lang: Lang, value: timedelta) -> str:
    """Business time as people say it: days once there is a whole one, else hours."""
    hours = int(value.total_seconds() // 3600)
    if hours >= 24:
        return catalog.t(lang, "stalls.duration.days", days=hours // 24)
    return catalog.t(lang, "stalls.duration.hours", hours=max(hours, 1))


def when_text(when: datetime) -> str:
    """A moment each reader sees in their own time zone (Slack's date token, UTC fallback)."""
    fallback = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def user_text(catalog: Catalog, lang: Lang, user: str | None) -> str:
    return f"<@{user}>" if user else catalog.t(lang, "stalls.nobody")


def step_text(catalog: Catalog, lang: Lang, step: Step) -> str:
    return catalog.t(lang, step_spec(step).title_key)


def reminder_message(
    record: TenantRecord,
    catalog: Catalog,
    policy: StallPolicy,
    now: datetime,
    nudged_by: str | None = None,
) -> Message:
    """The customer's reminder, in the tenant's language: how long it has waited (or who asks),
    the exact next action, and the documents still missing with their templates."""
    lang = record.lang
    if nudged_by is not None:
        title = catalog.t(lang, "stalls.reminder.nudged", se=f"<@{nudged_by}>")
    else:
        waited = policy.stalled_for(record.last_activity_at, now)
        title = catalog.t(
            lang, "stalls.reminder.title", duration=duration_text(catalog, lang, waited)
        )
    blocks: list[Block] = [section(title), *sections(next_action_text(record, catalog, lang))]
    ob = record.onboarding
    wanted = (*rejected_documents(ob), *missing_documents(ob))
    if ob.role is not None and wanted:
        lines = [document_line(catalog, lang, ob.role, kind) for kind in wanted]
        blocks += sections(catalog.t(lang, "stalls.reminder.documents") + "\n" + "\n".join(lines))
    blocks.append(context(catalog.t(lang, "stalls.reminder.footer")))
    return Message.of(title, blocks)


@dataclass(frozen=True)
class StallRef:
    """What *Nudge now* and *Snooze 1 day* carry: the tenant, and the stall they were shown for
    (its last progress), so a button from an older stall is refused."""

    tenant_id: str
    since: int

    def encode(self) -> str:
        return f"{self.tenant_id}|{self.since}"

    @classmethod
    def parse(cls, value: object) -> StallRef | None:
        tenant, _, since = str(value or "").partition("|")
        return cls(tenant, int(since)) if is_tenant_id(tenant) and since.isdigit() else None


def owner_notice(
    record: TenantRecord,
    stall: StallState,
    rung: int,
    catalog: Catalog,
    lang: Lang,
    policy: StallPolicy,
    now: datetime,
) -> Message:
    """For the owning SE (or the ops channel): rung 1 when it waits on us, rung 2 with the
    buttons to nudge the customer or snooze the stall."""
    duration = duration_text(catalog, lang, policy.stalled_for(stall.since, now))
    common = {
        "company": escape(record.company),
        "tenant": record.tenant_id,
        "channel": record.channel_id,
        "number": record.step.number,
        "step": step_text(catalog, lang, record.step),
        "duration": duration,
    }
    if rung == 1:
        text = catalog.t(
            lang,
            "stalls.owner.waiting_on_us",
            action=next_action_text(record, catalog, lang),
            **common,
        )
        return Message.of(text, sections(text))
    last = record.last_reminder_at
    text = catalog.t(
        lang,
        "stalls.owner.stalled",
        waits_on=catalog.t(lang, f"stalls.waits_on.{stall.waits_on.value}"),
        last=when_text(last) if last else catalog.t(lang, "stalls.never"),
        **common,
    )
    ref = StallRef(record.tenant_id, int(stall.since.timestamp())).encode()
    buttons = [
        button(catalog.t(lang, "stalls.owner.nudge"), ActionId.NUDGE, ref, style="primary"),
        button(catalog.t(lang, "stalls.owner.snooze"), ActionId.SNOOZE, ref),
    ]
    return Message.of(text, [*sections(text), actions(buttons, block_id=f"stall:{ref}")])


def managers_notice(
    record: TenantRecord,
    stall: StallState,
    catalog: Catalog,
    lang: Lang,
    policy: StallPolicy,
    now: datetime,
) -> Message:
    text = catalog.t(
        lang,
        "stalls.managers",
        company=escape(record.company),
        tenant=record.tenant_id,
        channel=record.channel_id,
        number=record.step.number,
        step=step_text(catalog, lang, record.step),
        duration=duration_text(catalog, lang, policy.stalled_for(stall.since, now)),
        waits_on=catalog.t(lang, f"stalls.waits_on.{stall.waits_on.value}"),
        owner=user_text(catalog, lang, record.se_user),
    )
    return Message.of(text, sections(text))


# The stalled list is for one person's screen: the first ones matter most.
LIST_LIMIT = 50


def stalled_list(
    records: Sequence[TenantRecord],
    total: int,
    catalog: Catalog,
    lang: Lang,
    policy: StallPolicy,
    now: datetime,
) -> Message:
    """`/onboard stalled`: the stalled onboardings, longest first."""
    if not records:
        return Message.plain_text(catalog.t(lang, "stalls.list.none"))
    title = catalog.t(lang, "stalls.list.title", count=total)
    lines = []
    for record in records[:LIST_LIMIT]:
        stall = record.stall
        if stall is None:
            continue
        lines.append(
            catalog.t(
                lang,
                "stalls.list.line",
                company=escape(record.company),
                tenant=record.tenant_id,
                number=record.step.number,
                step=step_text(catalog, lang, record.step),
                duration=duration_text(catalog, lang, policy.stalled_for(stall.since, now)),
                waits_on=catalog.t(lang, f"stalls.waits_on.{stall.waits_on.value}"),
                owner=user_text(catalog, lang, record.se_user),
                rung=catalog.t(lang, f"stalls.rungs.{int(stall.reached or 0)}"),
            )
        )
    blocks: list[Block] = [*sections(title + "\n" + "\n".join(lines))]
    if total > len(lines):
        blocks.append(context(catalog.t(lang, "stalls.list.more", count=total - len(lines))))
    return Message.of(title, blocks)
