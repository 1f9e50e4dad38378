"""Forms (modals). Each input's `block_id` is the flow's `InputField` value, so a value the flow
refuses is shown inline on its own field (`response_action: errors`)."""

from __future__ import annotations

from typing import Any

from bot.flows.catalogue import CHECKLISTS, checklist_item_key
from bot.flows.errors import InputField
from bot.flows.model import Step
from bot.i18n import Catalog, Lang
from bot.ids import CallbackId
from bot.views import kit
from bot.views.kit import Block, context, section
from bot.views.refs import FormMeta

VALUE = "value"  # the action id of every form input

View = dict[str, Any]


def modal(
    catalog: Catalog,
    lang: Lang,
    callback: CallbackId,
    title_key: str,
    meta: FormMeta,
    blocks: list[Block],
) -> View:
    return kit.modal(
        callback_id=callback.value,
        title=catalog.t(lang, title_key),
        submit=catalog.t(lang, "conversation.forms.submit"),
        close=catalog.t(lang, "conversation.forms.cancel"),
        private_metadata=meta.encode(),
        blocks=blocks,
    )


def status_view(catalog: Catalog, lang: Lang, title: str | None, text: str) -> View:
    """What a submitted form shows while it is saved after Slack's answer, then the outcome:
    no inputs and no submit button (`title`: the form's own, when known)."""
    return kit.modal(
        callback_id="form.status",
        title=title or catalog.t(lang, "conversation.forms.status_title"),
        submit=None,
        close=catalog.t(lang, "conversation.forms.close"),
        private_metadata="",
        blocks=kit.sections(text),
    )


def text_input(
    label: str,
    field: InputField,
    *,
    optional: bool = False,
    multiline: bool = False,
    max_length: int = 200,
    hint: str | None = None,
    initial: str | None = None,
) -> Block:
    return kit.text_input(
        label,
        field.value,
        VALUE,
        optional=optional,
        multiline=multiline,
        max_length=max_length,
        hint=hint,
        initial=initial,
    )


def checkboxes(label: str, field: InputField, options: list[tuple[str, str]]) -> Block:
    """Required checkboxes. Option texts are plain: Slack counts a link's markup against an
    option's 75 characters, so links go in a section beside the checkboxes, never in an option."""
    element = kit.checkboxes(VALUE, [kit.option(text, value) for text, value in options])
    return kit.choice_input(label, field.value, element)


def account_form(catalog: Catalog, lang: Lang, meta: FormMeta) -> View:
    t = catalog.t
    blocks = [
        text_input(
            t(lang, "flow.fields.uin"),
            InputField.UIN,
            max_length=20,
            hint=t(lang, "conversation.forms.uin_hint"),
        )
    ]
    return modal(
        catalog, lang, CallbackId.ACCOUNT, "conversation.forms.account_title", meta, blocks
    )


def instance_form(catalog: Catalog, lang: Lang, meta: FormMeta) -> View:
    t = catalog.t
    blocks = [
        section(t(lang, "conversation.forms.instance_intro")),
        text_input(
            t(lang, "flow.fields.call_center_name"), InputField.CALL_CENTER_NAME, max_length=60
        ),
        text_input(t(lang, "flow.fields.admin_name"), InputField.ADMIN_NAME, max_length=60),
        text_input(
            t(lang, "flow.fields.admin_email"),
            InputField.ADMIN_EMAIL,
            max_length=254,
            hint=t(lang, "conversation.forms.admin_email_hint"),
        ),
        section(t(lang, "conversation.forms.sla_intro")),
        checkboxes(
            t(lang, "conversation.forms.sla_label"),
            InputField.SLA_AGREED,
            [(t(lang, "conversation.forms.sla_option"), "agreed")],
        ),
    ]
    return modal(
        catalog, lang, CallbackId.INSTANCE, "conversation.forms.instance_title", meta, blocks
    )


def script_form(catalog: Catalog, lang: Lang, meta: FormMeta) -> View:
    t = catalog.t
    blocks = [
        text_input(
            t(lang, "flow.fields.script"),
            InputField.SCRIPT,
            multiline=True,
            max_length=3000,
            hint=t(lang, "conversation.forms.script_hint"),
        )
    ]
    return modal(catalog, lang, CallbackId.SCRIPT, "conversation.forms.script_title", meta, blocks)


def purchase_form(catalog: Catalog, lang: Lang, meta: FormMeta) -> View:
    t = catalog.t
    blocks = [
        text_input(
            t(lang, "flow.fields.number"),
            InputField.NUMBER,
            optional=True,
            max_length=30,
            hint=t(lang, "conversation.forms.number_hint"),
        )
    ]
    return modal(
        catalog, lang, CallbackId.PURCHASE, "conversation.forms.purchase_title", meta, blocks
    )


def checklist_form(catalog: Catalog, lang: Lang, meta: FormMeta, step: Step) -> View:
    t = catalog.t
    options = [(t(lang, checklist_item_key(step, item)), item.value) for item in CHECKLISTS[step]]
    blocks = [
        context(t(lang, "conversation.forms.checklist_intro")),
        checkboxes(
            t(lang, "conversation.forms.checklist_label"), InputField.CHECKLIST_ITEMS, options
        ),
    ]
    return modal(
        catalog,
        lang,
        CallbackId.CHECKLIST,
        f"conversation.forms.checklist_title.{step.value}",
        meta,
        blocks,
    )


# -- reading submitted values -------------------------------------------------------------------


def submitted_text(view: dict[str, Any], field: InputField) -> str | None:
    """The text typed into `field`, stripped; None when empty or absent."""
    state = ((view.get("state") or {}).get("values") or {}).get(field.value) or {}
    value = (state.get(VALUE) or {}).get("value")
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def submitted_choices(view: dict[str, Any], field: InputField) -> list[str]:
    state = ((view.get("state") or {}).get("values") or {}).get(field.value) or {}
    selected = (state.get(VALUE) or {}).get("selected_options") or []
    return [str(o.get("value")) for o in selected if isinstance(o, dict) and o.get("value")]
