"""The encryption of what the bot keeps secret at rest: `SECRETS_KEY`, read into a `MultiFernet`.

`SECRETS_KEY` is one Fernet key (32 url-safe base64-encoded bytes), or several separated by
commas while keys are rotated: the first encrypts, every one of them decrypts.
"""

from __future__ import annotations

import binascii

from cryptography.fernet import Fernet, MultiFernet

HOW_TO_MAKE_ONE = (
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


class BadSecretsKey(ValueError):
    """`SECRETS_KEY` is not a list of Fernet keys. The message never shows a key."""


def secret_box(text: str) -> MultiFernet:
    """The keys in `text` (comma-separated, the first one encrypts). Raises `BadSecretsKey`,
    naming which key is wrong by its position only."""
    parts = [part.strip() for part in text.split(",")]
    if not any(parts):
        raise BadSecretsKey(f"name at least one Fernet key (make one with {HOW_TO_MAKE_ONE})")
    fernets: list[Fernet] = []
    for position, part in enumerate(parts, start=1):
        if not part:
            raise BadSecretsKey(f"key {position} of {len(parts)} is empty (a stray comma?)")
        try:
            fernets.append(Fernet(part))
        except (ValueError, binascii.Error):
            raise BadSecretsKey(
                f"key {position} of {len(parts)} is not a Fernet key: 32 url-safe"
                f" base64-encoded bytes (make one with {HOW_TO_MAKE_ONE})"
            ) from None
    return MultiFernet(fernets)
