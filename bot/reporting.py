"""Summaries, exports and the weekly digest, carried out: the figures, the chart drawn off the
event loop, and the posts and uploads to Slack.

A summary or an export goes where it was asked if that is the ops or the managers' channel, or
into the asker's direct message with the bot; never into a customer's channel, which would show
one customer the others. The digest goes to `ONBOARDING_MANAGER_CHANNEL`, or to each manager.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.i18n import Catalog, Lang
from bot.runner import EffectRunner
from bot.stalls.policy import StallPolicy
from bot.state import RedisTenantStore
from bot.summary import Summary, changes_since, export_csv, gather
from bot.views.summary import chart_words, digest_message, funnel_rows, summary_message

log = logging.getLogger(__name__)

# A digest missed by more than this (the bot was down) is skipped rather than sent late.
DIGEST_GRACE = timedelta(hours=24)
_CHART_CACHE = 32


class NotHere(Exception):
    """A summary or export asked for in a customer's channel."""


@dataclass
class Reporting:
    store: RedisTenantStore
    settings: Settings
    policy: StallPolicy
    catalog: Catalog
    slack: AsyncWebClient
    runner: EffectRunner
    clock: Callable[[], datetime]
    _charts: dict[tuple[Any, ...], str] = field(default_factory=dict)

    # -- figures -----------------------------------------------------------------------------

    async def summary(self) -> Summary:
        return await gather(
            self.store, self.policy, self.settings.onboarding_se_users, self.clock()
        )

    async def chart(self, summary: Summary, lang: Lang) -> bytes:
        """The funnel as PNG, drawn in a thread (a fraction of a second of CPU). matplotlib is
        imported here, not at start-up, which it would slow by a second."""
        from bot.views.chart import funnel_png

        rows = funnel_rows(summary, self.catalog, lang)
        return await asyncio.to_thread(lambda: funnel_png(rows, **chart_words(self.catalog, lang)))

    # -- where things go ---------------------------------------------------------------------

    async def destination(self, channel_id: str, user: str) -> str:
        """Where a summary or export asked for in `channel_id` by `user` is posted."""
        staff_channels = {
            self.settings.onboarding_ops_channel,
            self.settings.onboarding_manager_channel,
        }
        if channel_id in staff_channels - {None}:
            return channel_id
        if channel_id.startswith("D"):
            return await self.runner.dm_channel(user)
        raise NotHere(channel_id)

    async def _upload(
        self, channel: str | None, content: bytes, filename: str, title: str
    ) -> str | None:
        """Upload a file (into `channel`, or nowhere: kept for an image block); its id."""
        try:
            resp = await self.slack.files_upload_v2(
                content=content, filename=filename, title=title, channel=channel
            )
        except SlackApiError as exc:
            log.warning("could not upload %s: %s", filename, exc.response.get("error"))
            return None
        files = resp.get("files") or [resp.get("file") or {}]
        file_id = files[0].get("id") if files and isinstance(files[0], dict) else None
        return str(file_id) if file_id else None

    async def upload_chart(self, summary: Summary, lang: Lang, channel: str | None) -> str | None:
        """Draw the chart and upload it into `channel` (or nowhere, for an image block)."""
        png = await self.chart(summary, lang)
        t = self.catalog.t
        return await self._upload(
            channel, png, t(lang, "summary.chart.file"), t(lang, "summary.chart.title")
        )

    # -- the commands ------------------------------------------------------------------------

    async def post_summary(self, channel: str, lang: Lang) -> None:
        summary = await self.summary()
        await self.slack.chat_postMessage(
            channel=channel, **summary_message(summary, self.catalog, lang, self.policy)
        )
        await self.upload_chart(summary, lang, channel)

    async def post_export(self, channel: str, lang: Lang) -> None:
        data = await export_csv(self.store, self.policy, self.clock())
        count = max(0, data.count(b"\n") - 1)
        await self._upload(
            channel,
            data,
            self.catalog.t(lang, "summary.export.file"),
            self.catalog.t(lang, "summary.export.title", count=count),
        )

    async def home_chart(self, summary: Summary, lang: Lang) -> str | None:
        """The chart for a manager's App Home, uploaded once per set of figures."""
        rows = funnel_rows(summary, self.catalog, lang)
        key = (lang, tuple(rows))
        if key not in self._charts:
            file_id = await self.upload_chart(summary, lang, None)
            if file_id is None:
                return None
            if len(self._charts) >= _CHART_CACHE:
                self._charts.clear()
            self._charts[key] = file_id
        return self._charts[key]

    # -- the weekly digest -------------------------------------------------------------------

    async def digest_if_due(self) -> bool:
        """Send the week's digest if its time (`DIGEST_AT`) has come and it is not sent yet.
        Runs after the stalled sweep, so one replica (the lease holder) does it."""
        when = self.settings.digest_at
        if when is None:
            return False
        now = self.clock()
        weekday, at = when
        scheduled = self.policy.calendar.next_weekly(now - timedelta(days=7), weekday, at)
        if scheduled > now or now - scheduled > DIGEST_GRACE:
            return False
        week = self.policy.calendar.local(scheduled).date().isoformat()
        state, last = await self.store.digest_state(week)
        if state is not None or not await self.store.mark_digest(week, "pending"):
            return False
        since = last or scheduled - timedelta(days=7)
        summary = await self.summary()
        changes = await changes_since(self.store, self.policy, since)
        targets: list[tuple[str, Lang]] = []
        if self.settings.onboarding_manager_channel is not None:
            targets.append((self.settings.onboarding_manager_channel, self.settings.ops_lang))
        else:
            for manager in self.settings.onboarding_manager_users:
                lang = await self.runner.lang_for(manager)
                targets.append((await self.runner.dm_channel(manager), lang))
        for channel, lang in targets:
            message = digest_message(summary, changes, since, self.catalog, lang, self.policy)
            await self.slack.chat_postMessage(channel=channel, **message)
            await self.upload_chart(summary, lang, channel)
        await self.store.mark_digest(week, "sent", now)
        log.info("weekly digest %s sent to %s place(s)", week, len(targets))
        return True
