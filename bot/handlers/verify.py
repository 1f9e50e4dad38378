"""`/onboard verify [tenant]`: an SE asks the TCCC cloud API where a tenant stands.

The answer is the SE's alone (ephemeral). A check that takes longer than a Slack answer may
(the API is far away, or slow today) is answered "checking…" at once and in full through the
command's response_url when it is done.
"""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.cloud.verify import (
    CHECKING_KEY,
    MOVED_KEY,
    OFF_KEY,
    RESULT_KEY,
    Trigger,
    Verification,
)
from bot.config import Settings
from bot.flows.catalogue import step_spec
from bot.flows.effects import MessageRef
from bot.handlers.replies import EXPECTED
from bot.handlers.subcommands import (
    Audience,
    CommandRequest,
    Subcommand,
    refusal,
    say,
    tenant_of_command,
)
from bot.state import TenantRecord
from bot.views.kit import Message
from bot.views.text import render

log = logging.getLogger(__name__)

# How long the command waits for the API before it answers "checking…" (Slack allows 3 s, and
# the answer must still travel back).
ANSWER_WITHIN_SECONDS = 1.5


def answer(req: CommandRequest, record: TenantRecord, result: Verification) -> Message:
    catalog = req.services.catalog
    shown = result.message
    line = MessageRef(
        key=RESULT_KEY,
        params={
            **shown.params,
            "who": record.company,
            "tenant": record.tenant_id,
            "step_number": str(result.step.number),
        },
        labels={"step": step_spec(result.step).title_key, "what": shown.key},
    )
    text = render(line, catalog, req.lang)
    if result.moved:
        text = f"{text}\n{catalog.t(req.lang, MOVED_KEY)}"
    return Message.plain_text(text)


async def _verify(req: CommandRequest) -> Message | None:
    services = req.services
    verifier = services.verifier
    try:
        record = await tenant_of_command(req)
    except EXPECTED as exc:
        return refusal(req, exc)
    work = asyncio.ensure_future(verifier.verify(record.tenant_id, Trigger.SE))
    done, _ = await asyncio.wait({work}, timeout=ANSWER_WITHIN_SECONDS)
    if work in done:
        return answer(req, record, work.result())
    url = req.payload.get("response_url")
    if url:
        services.runner.spawn_task(_later(req, record, work, str(url)))
    return say(req, CHECKING_KEY)


async def _later(
    req: CommandRequest, record: TenantRecord, work: asyncio.Future[Verification], url: str
) -> None:
    try:
        reply = answer(req, record, await work)
    except Exception:
        log.warning("cloud check asked by %s failed", req.actor.user_id, exc_info=True)
        reply = say(req, "errors.internal")
    await AsyncRespond(response_url=url)(**reply, response_type="ephemeral", replace_original=False)


def _enabled(settings: Settings) -> bool:
    return settings.cloud_keys_enabled


SUBCOMMANDS = (Subcommand("verify", _verify, Audience.SES, enabled=_enabled, disabled=OFF_KEY),)
