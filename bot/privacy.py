"""Email addresses are shown and kept masked (`l***@acme.cn`) everywhere but the one field that
needs them whole: the instance's admin email, which is the customer's login and goes on the SIP
ticket. Logs, the audit stream and messages waiting in the outbox get the masked form."""

from __future__ import annotations

import re

EMAIL = re.compile(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")


# In text people read in Slack, `***` would be taken for bold markup.
SHOWN = "•••"


def mask_emails(text: str, mark: str = "***") -> str:
    """Every email address in `text` with its local part reduced to its first character."""
    return EMAIL.sub(lambda m: f"{m.group(1)}{mark}@{m.group(2)}", text)
