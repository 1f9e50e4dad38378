"""The summary managers ask for, the weekly digest, and the manager's App Home: the same
figures everywhere, with the funnel chart's rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.flows.catalogue import step_spec
from bot.flows.model import Step
from bot.i18n import Catalog, Lang
from bot.mrkdwn import escape
from bot.stalls.policy import StallPolicy, waits_on
from bot.state import TenantRecord
from bot.summary import Changes, Summary
from bot.views.funnel import FunnelRow
from bot.views.kit import Block, Message, context, header, home, image, pack, packed_sections
from bot.views.stalls import duration_text, user_text, when_text


def _step(catalog: Catalog, lang: Lang, step: Step) -> str:
    return catalog.t(lang, step_spec(step).title_key)


def summary_blocks(
    summary: Summary, catalog: Catalog, lang: Lang, policy: StallPolicy
) -> list[Block]:
    t = catalog.t
    live = summary.per_step.get(Step.LIVE, 0)
    parts = [
        t(
            lang,
            "summary.totals",
            total=summary.total,
            in_progress=summary.in_progress,
            live=live,
            live_week=summary.live_this_week,
            stalled=summary.stalled,
        )
    ]
    lines = [t(lang, "summary.steps_title")]
    for step in Step.ordered():
        stalled = summary.stalled_per_step.get(step, 0)
        key = "summary.step_line_stalled" if stalled else "summary.step_line"
        lines.append(
            t(
                lang,
                key,
                number=step.number,
                step=_step(catalog, lang, step),
                count=summary.per_step.get(step, 0),
                stalled=stalled,
            )
        )
    lines.append(t(lang, "summary.live_line", step=_step(catalog, lang, Step.LIVE), count=live))
    parts.append("\n".join(lines))
    if summary.longest:
        longest = [t(lang, "summary.longest_title")]
        for item in summary.longest:
            record = item.record
            longest.append(
                t(
                    lang,
                    "summary.longest_line",
                    company=escape(record.company),
                    tenant=record.tenant_id,
                    number=record.step.number,
                    duration=duration_text(
                        catalog, lang, policy.stalled_for(item.since, summary.at)
                    ),
                    waits_on=t(lang, f"stalls.waits_on.{waits_on(record.onboarding).value}"),
                    owner=user_text(catalog, lang, record.se_user),
                )
            )
        parts.append("\n".join(longest))
    else:
        parts.append(t(lang, "summary.no_stalls"))
    medians = [t(lang, "summary.median_title")]
    for step in Step.ordered():
        days = summary.median_days.get(step)
        name = _step(catalog, lang, step)
        if days is None:
            medians.append(t(lang, "summary.median_none", number=step.number, step=name))
        else:
            medians.append(
                t(lang, "summary.median_line", number=step.number, step=name, days=f"{days:.1f}")
            )
    parts.append("\n".join(medians))
    if summary.per_owner:
        owners = [t(lang, "summary.owners_title")]
        owners += [
            t(lang, "summary.owner_line", owner=f"<@{owner}>", count=count)
            for owner, count in sorted(summary.per_owner.items(), key=lambda kv: -kv[1])
        ]
        owners.append(t(lang, "summary.unowned_line", count=summary.unowned))
        parts.append("\n".join(owners))
    return [
        header(t(lang, "summary.title")),
        *packed_sections(pack(parts)),
        context(t(lang, "summary.at", when=when_text(summary.at))),
    ]


def summary_message(summary: Summary, catalog: Catalog, lang: Lang, policy: StallPolicy) -> Message:
    return Message.of(
        catalog.t(lang, "summary.title"), summary_blocks(summary, catalog, lang, policy)
    )


def funnel_rows(summary: Summary, catalog: Catalog, lang: Lang) -> list[FunnelRow]:
    """The chart's bars: one per step (and live), stalled share marked."""
    rows = [
        FunnelRow(
            label=f"{step.number}. {_step(catalog, lang, step)}",
            total=summary.per_step.get(step, 0),
            stalled=min(summary.stalled_per_step.get(step, 0), summary.per_step.get(step, 0)),
        )
        for step in Step.ordered()
    ]
    rows.append(
        FunnelRow(
            label=_step(catalog, lang, Step.LIVE),
            total=summary.per_step.get(Step.LIVE, 0),
            stalled=0,
        )
    )
    return rows


def chart_words(catalog: Catalog, lang: Lang) -> dict[str, str]:
    """What `funnel_png` needs besides the rows, in `lang`."""
    return {
        "title": catalog.t(lang, "summary.chart.title"),
        "stalled_label": catalog.t(lang, "summary.chart.stalled"),
        "moving_label": catalog.t(lang, "summary.chart.moving"),
        "empty_label": catalog.t(lang, "summary.chart.empty"),
    }


def _names(records: Sequence[TenantRecord]) -> str:
    return ", ".join(f"*{escape(r.company)}*" for r in records)


def digest_message(
    summary: Summary,
    changes: Changes,
    since: datetime,
    catalog: Catalog,
    lang: Lang,
    policy: StallPolicy,
) -> Message:
    """The weekly digest: what changed since the last one, then the summary."""
    t = catalog.t
    lines = [t(lang, "summary.digest.since", when=when_text(since))]
    if changes.went_live:
        lines.append(t(lang, "summary.digest.went_live", names=_names(changes.went_live)))
    if changes.newly_stalled:
        lines.append(t(lang, "summary.digest.newly_stalled", names=_names(changes.newly_stalled)))
    if changes.escalated:
        lines.append(t(lang, "summary.digest.escalated", names=_names(changes.escalated)))
    if changes.unstalled:
        lines.append(t(lang, "summary.digest.unstalled", names=_names(changes.unstalled)))
    if len(lines) == 1:
        lines.append(t(lang, "summary.digest.nothing"))
    blocks: list[Block] = [
        header(t(lang, "summary.digest.title")),
        *packed_sections(pack(["\n".join(lines)])),
        *summary_blocks(summary, catalog, lang, policy)[1:],  # its own header is the digest's
    ]
    return Message.of(t(lang, "summary.digest.title"), blocks)


def manager_home(
    summary: Summary,
    catalog: Catalog,
    lang: Lang,
    policy: StallPolicy,
    chart_file: str | None,
) -> dict[str, Any]:
    """The manager's App Home: the summary's figures, with the chart when it could be made."""
    blocks = summary_blocks(summary, catalog, lang, policy)
    if chart_file is not None:
        blocks.insert(
            1,
            image(
                alt_text=catalog.t(lang, "summary.chart.alt"),
                slack_file=chart_file,
                title=catalog.t(lang, "summary.chart.title"),
            ),
        )
    return home(blocks)
