"""Stable identifiers Slack sends back to us: the command, action ids, view callback ids.

They are stored in messages that live for months, so values never change once shipped.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final

# What a tenant id looks like (`acme-7f3a9c`, see `bot.onboarding.new_tenant_id`). Ids that come
# back from people (typed in a command, carried by a button or a form) are checked against it
# before anything looks them up, and `bot.state.keys.Keys` refuses to build a key from any other.
TENANT_ID_PATTERN: Final = r"^[a-z0-9][a-z0-9-]{1,62}$"
_TENANT_ID = re.compile(TENANT_ID_PATTERN)


def is_tenant_id(text: object) -> bool:
    return isinstance(text, str) and _TENANT_ID.fullmatch(text) is not None


class Command(StrEnum):
    ONBOARD = "/onboard"


class ActionId(StrEnum):
    # Buttons of a step prompt (customers). The value says which prompt it belongs to.
    STEP_EVENT = "step.event"  # sends the flow event named in the value
    OPEN_FORM = "step.form"  # opens the form named in the value
    PICK_DOCUMENT = "upload.pick"  # which document an unrecognised upload is
    # The reply to an upload the pre-check found problems with. Value: a review ref (t, k, r).
    UPLOAD_AGAIN = "upload.again"  # says how to replace it; nothing changes
    SEND_ANYWAY = "upload.send_anyway"  # sends the flow event `send_anyway`
    DISMISS = "reply.dismiss"  # closes a question asked only of the clicker (nothing changes)
    # Review cards and tickets in the ops channel (SEs).
    APPROVE_DOCUMENT = "review.document.approve"
    REJECT_DOCUMENT = "review.document.reject"
    APPROVE_SCRIPT = "review.script.approve"
    REJECT_SCRIPT = "review.script.reject"
    ADVANCE_SIP_STAGE = "ticket.sip.advance"
    RETRY_SIP_TICKET = "ticket.sip.retry"  # value: tenant and ticket (backends given up on)
    # Stalls (SEs): on the SE's notice, and the confirmation of a second nudge.
    NUDGE = "stall.nudge"  # value: tenant|since (the stall shown)
    SNOOZE = "stall.snooze"
    NUDGE_AGAIN = "stall.nudge.again"  # value: tenant
    # Purging a tenant (SEs and managers): the buttons of the confirmation only they see.
    PURGE = "purge.confirm"  # value: tenant
    PURGE_CANCEL = "purge.cancel"
    # Opens the form that takes a tenant's cloud API key (value: tenant).
    OPEN_KEY_FORM = "cloudkey.open"


class CallbackId(StrEnum):
    """Forms (modals); `private_metadata` carries the tenant and the prompt they belong to."""

    ACCOUNT = "form.account"
    INSTANCE = "form.instance"
    SCRIPT = "form.script"
    PURCHASE = "form.purchase"
    SIP_TRUNK = "form.sip_trunk"
    CHECKLIST = "form.checklist"
    REJECT_DOCUMENT = "form.reject_document"
    REJECT_SCRIPT = "form.reject_script"
    SIP_NUMBER_ASSIGNED = "form.sip_number_assigned"
    CLOUD_KEY = "form.cloud_key"


def action_pattern(action: ActionId) -> re.Pattern[str]:
    """Matches `action` and the numbered copies a block with several of it carries (Slack wants
    action ids unique within a block, so `bot.views.kit.actions` numbers the repeats)."""
    return re.compile(rf"^{re.escape(action.value)}(:\d+)?$")
