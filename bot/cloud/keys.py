"""A tenant's read-only Tencent Cloud API key, as the bot holds it in memory.

The key is stored only encrypted (`bot.cloud.vault`), is never shown again after it is given,
and never reaches a log: `repr` and `str` show the SecretId masked and nothing of the SecretKey.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Tencent Cloud SecretIds start with "AKID" and are 36 characters; keys are 32. Checked loosely
# beyond the prefix (letters and digits, a sane length) so that a longer format does not lock
# customers out; the prefix catches the commonest slip, the two pasted the wrong way round.
SECRET_ID = re.compile(r"^AKID[A-Za-z0-9]{12,124}$")
SECRET_KEY = re.compile(r"^[A-Za-z0-9+/=]{16,128}$")


def mask_secret_id(secret_id: str) -> str:
    """`AKID••••1234`: enough to tell two keys apart, not enough to use one."""
    if len(secret_id) <= 8:
        return "••••"
    return f"{secret_id[:4]}••••{secret_id[-4:]}"


@dataclass(frozen=True)
class CloudKey:
    secret_id: str
    secret_key: str = field(repr=False)

    def __repr__(self) -> str:
        return f"CloudKey({mask_secret_id(self.secret_id)})"

    __str__ = __repr__

    @property
    def masked(self) -> str:
        return mask_secret_id(self.secret_id)
