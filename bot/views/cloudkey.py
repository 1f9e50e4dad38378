"""The form that takes a tenant's read-only Tencent Cloud API key, and how a kept key is shown.

A kept key is only ever shown as "a key AKID••••1234 was given by @someone on <date>": the form
never carries a key back (no initial value, nothing in `private_metadata` but the tenant and the
channel), and an error on a field says what is wrong with it, never what was typed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from bot.cloud.keys import SECRET_ID, SECRET_KEY, CloudKey
from bot.cloud.vault import KeyInfo
from bot.i18n import Catalog, Lang
from bot.ids import ActionId, CallbackId
from bot.mrkdwn import escape, mention
from bot.views import kit
from bot.views.forms import VALUE, View
from bot.views.kit import Block, actions, button, context, section
from bot.views.refs import FormMeta
from bot.views.stalls import when_text

# What the form's `private_metadata` names as its stage (a form of no step).
KEY_STAGE = "cloud_key"
_INPUT_MAX = 128  # longer than any SecretId or SecretKey (the patterns allow up to 128)


class KeyField(StrEnum):
    """The form's inputs: their `block_id`s, where an error is shown."""

    SECRET_ID = "secret_id"  # noqa: S105 (a block id, not a secret)
    SECRET_KEY = "secret_key"  # noqa: S105


def given_text(catalog: Catalog, lang: Lang, key: str, info: KeyInfo, **params: str) -> str:
    """`key` (a content key with `masked`, `user`, `when`) filled in from a kept key's info."""
    return catalog.t(
        lang,
        key,
        masked=escape(info.masked),
        user=mention(info.by),
        when=when_text(info.at),
        **params,
    )


def key_form(catalog: Catalog, lang: Lang, meta: FormMeta, given: KeyInfo | None) -> View:
    t = catalog.t
    blocks: list[Block] = [
        section(t(lang, "cloud.key.form.intro")),
        context(t(lang, "cloud.key.form.policy")),
    ]
    if given is not None:
        blocks.append(context(given_text(catalog, lang, "cloud.key.form.replaces", given)))
    blocks += [
        kit.text_input(
            t(lang, "cloud.key.form.secret_id"),
            KeyField.SECRET_ID.value,
            VALUE,
            max_length=_INPUT_MAX,
            hint=t(lang, "cloud.key.form.secret_id_hint"),
        ),
        kit.text_input(
            t(lang, "cloud.key.form.secret_key"),
            KeyField.SECRET_KEY.value,
            VALUE,
            max_length=_INPUT_MAX,
            hint=t(lang, "cloud.key.form.secret_key_hint"),
        ),
    ]
    return kit.modal(
        callback_id=CallbackId.CLOUD_KEY.value,
        title=t(lang, "cloud.key.form.title"),
        submit=t(lang, "cloud.key.form.submit"),
        close=t(lang, "conversation.forms.cancel"),
        private_metadata=meta.encode(),
        blocks=blocks,
    )


class KeyFormErrors(Exception):
    """What is wrong with the typed key: a content key per field (never what was typed)."""

    def __init__(self, errors: dict[KeyField, str]) -> None:
        super().__init__(", ".join(field.value for field in errors))
        self.errors = errors


def _typed(view: dict[str, Any], field: KeyField) -> str:
    state = ((view.get("state") or {}).get("values") or {}).get(field.value) or {}
    value = (state.get(VALUE) or {}).get("value")
    return value.strip() if isinstance(value, str) else ""


def read_key_form(view: dict[str, Any]) -> CloudKey:
    """The key typed into the form. Raises `KeyFormErrors`."""
    secret_id, secret_key = _typed(view, KeyField.SECRET_ID), _typed(view, KeyField.SECRET_KEY)
    errors: dict[KeyField, str] = {}
    if not SECRET_ID.fullmatch(secret_id):
        errors[KeyField.SECRET_ID] = "cloud.key.errors.secret_id"
    if SECRET_ID.fullmatch(secret_key):
        errors[KeyField.SECRET_KEY] = "cloud.key.errors.swapped"
    elif not SECRET_KEY.fullmatch(secret_key):
        errors[KeyField.SECRET_KEY] = "cloud.key.errors.secret_key"
    elif secret_key == secret_id:
        errors[KeyField.SECRET_KEY] = "cloud.key.errors.same"
    if errors:
        raise KeyFormErrors(errors)
    return CloudKey(secret_id=secret_id, secret_key=secret_key)


def home_key_blocks(
    catalog: Catalog, lang: Lang, tenant_id: str, given: KeyInfo | None
) -> list[Block]:
    """On the customer's App Home: whether a key is kept (masked), and the button to give one
    (or replace it)."""
    if given is None:
        text = catalog.t(lang, "cloud.key.home.none")
        label = catalog.t(lang, "cloud.key.home.give")
    else:
        text = given_text(catalog, lang, "cloud.key.shown", given)
        label = catalog.t(lang, "cloud.key.home.replace")
    return [section(text), actions([button(label, ActionId.OPEN_KEY_FORM, tenant_id)])]
