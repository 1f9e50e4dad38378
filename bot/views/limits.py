"""Which content lands in a field Slack limits, and a check that it fits in every language.

People's text is shortened by the builders (`bot.views.kit`), but our own wording must fit as
written: a button label cut to "…" reads badly, and an option over 75 characters makes Slack
refuse the whole form. An operator may change the wording without a release, so the check runs
at start-up (a wording that does not fit stops it, naming the key and the limit) and in the
tests.

A key's placeholders are filled with the longest value they can take (a role's name, a SIP
stage's label, a three-digit count), so "Keep: {role}" is measured as it will be shown.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass

from bot.flows.model import DocKind, Role, SipStage, Step
from bot.i18n import Catalog, ContentError, Lang
from bot.views import kit

# Where each placeholder's values come from (content keys), for the worst case.
_LABEL_SOURCES: dict[str, tuple[str, ...]] = {
    "role": tuple(f"roles.{role.value}.name" for role in Role),
    "stage": tuple(f"sip.stages.{stage.name.lower()}" for stage in SipStage),
}
_NUMBER = "999"  # counts, revisions, rounds


@dataclass(frozen=True)
class Limited:
    """Content keys (a regular expression over the dotted key) shown in a field of `limit`
    characters, named `field` in the error."""

    keys: str
    limit: int
    field: str


LIMITED: tuple[Limited, ...] = (
    # Buttons.
    Limited(r"conversation\.buttons\..+", kit.BUTTON_TEXT, "button text"),
    Limited(r"flow\.events\..+", kit.BUTTON_TEXT, "button text"),
    Limited(r"roles\.(agent|legal_rep)\.name", kit.BUTTON_TEXT, "button text"),
    Limited(r"reviews\.(approve|reject)", kit.BUTTON_TEXT, "button text"),
    Limited(r"tickets\.button\..+", kit.BUTTON_TEXT, "button text"),
    # Options of menus and checkboxes.
    Limited(r"documents\.[a-z_]+\.name", kit.OPTION_TEXT, "menu option"),
    Limited(r"checklists\..+", kit.OPTION_TEXT, "checkbox option"),
    Limited(r"conversation\.forms\.sla_option", kit.OPTION_TEXT, "checkbox option"),
    # Modal titles and their buttons.
    Limited(r"conversation\.forms\.(.+_title|checklist_title\..+)", kit.TITLE, "form title"),
    Limited(r"conversation\.forms\.(submit|cancel)", kit.TITLE, "form button"),
    Limited(r"reviews\.(reject|assigned)_title", kit.TITLE, "form title"),
    Limited(r"cloud\.key\.form\.(title|submit)", kit.TITLE, "form title"),
    Limited(r"cloud\.key\.home\.(give|replace)", kit.BUTTON_TEXT, "button text"),
    # Placeholders and headers made of our own words only.
    Limited(r"conversation\.uploads\.pick", kit.PLACEHOLDER, "placeholder"),
    Limited(r"conversation\.home\.(title|se_title)", kit.HEADER_TEXT, "header"),
    Limited(r"summary\.(title|digest\.title)", kit.HEADER_TEXT, "header"),
    Limited(r"stalls\.owner\.(nudge|snooze)", kit.BUTTON_TEXT, "button text"),
    Limited(r"stalls\.nudge\.confirm", kit.BUTTON_TEXT, "button text"),
    Limited(r"purge\.confirm\.(button|cancel)", kit.BUTTON_TEXT, "button text"),
    # A confirmation dialog: title 100, text 300, its buttons 30.
    Limited(r"purge\.confirm\.title", kit.CONFIRM_TITLE, "confirm dialog title"),
    Limited(r"purge\.confirm\.text", kit.CONFIRM_TEXT, "confirm dialog text"),
    Limited(r"purge\.confirm\.(proceed|keep)", kit.CONFIRM_BUTTON, "confirm dialog button"),
)


def _longest_fill(catalog: Catalog, lang: Lang, template: str) -> str:
    values: dict[str, str] = {}
    for _, name, _, _ in string.Formatter().parse(template):
        if name is None:
            continue
        sources = _LABEL_SOURCES.get(name)
        if sources:
            values[name] = max((catalog.t(lang, key) for key in sources), key=len)
        else:
            values[name] = _NUMBER
    return template.format(**values)


def limited_keys(catalog: Catalog) -> list[tuple[str, Limited]]:
    """Every content key with the limit of the field it lands in."""
    found: list[tuple[str, Limited]] = []
    for key in sorted(catalog.keys()):
        for rule in LIMITED:
            if re.fullmatch(rule.keys, key):
                found.append((key, rule))
                break
    return found


def content_limit_problems(catalog: Catalog) -> list[str]:
    """One line per content string that would not fit its field, in any language."""
    problems: list[str] = []
    for key, rule in limited_keys(catalog):
        for lang in Lang:
            shown = _longest_fill(catalog, lang, catalog.messages[lang][key])
            if len(shown) > rule.limit:
                problems.append(
                    f"{lang.value}: {key} is {len(shown)} characters as shown; Slack takes "
                    f"{rule.limit} in a {rule.field}: {shown!r}"
                )
    return problems


def check_content_limits(catalog: Catalog) -> None:
    """Refuse content that does not fit its field (start-up calls this)."""
    problems = content_limit_problems(catalog)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ContentError(problems[0] + more)


def expected_keys() -> Iterable[str]:
    """Keys the table must find, so a renamed key cannot slip out of the check unnoticed."""
    yield from (f"roles.{role.value}.name" for role in Role)
    yield from (f"documents.{kind.value}.name" for kind in DocKind)
    checklist_steps = (Step.CONSOLE, Step.LOGIN, Step.SDK)
    yield from (f"conversation.forms.checklist_title.{s.value}" for s in checklist_steps)
    yield "conversation.forms.sla_option"
    yield "conversation.buttons.change_role"
    yield "tickets.button.advance"
    yield "purge.confirm.button"
    yield "purge.confirm.title"
