"""Our wording fits the Slack fields it lands in, in both languages: an operator's change that
would not (a longer button, a link inside an option) is caught here and at start-up."""

from __future__ import annotations

import pytest

from bot.i18n import Catalog, ContentError, Lang, load_catalog
from bot.views.limits import (
    check_content_limits,
    content_limit_problems,
    expected_keys,
    limited_keys,
)

# What the step 3 form carried before: the link's markup counts, 77 characters in Chinese.
OLD_SLA_OPTION = "我已阅读并同意<https://cloud.tencent.com/document/product/679/34947|《腾讯云呼叫中心服务等级协议》>"


def with_message(catalog: Catalog, lang: Lang, key: str, text: str) -> Catalog:
    messages = {code: dict(table) for code, table in catalog.messages.items()}
    messages[lang][key] = text
    return Catalog(messages=messages, _params=catalog._params)


def test_every_limited_string_fits_in_both_languages() -> None:
    assert content_limit_problems(load_catalog()) == []


def test_the_check_covers_every_kind_of_limited_field() -> None:
    found = {key for key, _ in limited_keys(load_catalog())}
    assert set(expected_keys()) <= found
    assert any(key.startswith("flow.events.") for key in found)
    assert any(key.startswith("checklists.") for key in found)


def test_a_link_inside_an_option_is_over_the_limit() -> None:
    catalog = with_message(load_catalog(), Lang.ZH, "conversation.forms.sla_option", OLD_SLA_OPTION)
    [problem] = content_limit_problems(catalog)
    assert problem.startswith("zh: conversation.forms.sla_option is 77 characters")
    assert "Slack takes 75 in a checkbox option" in problem
    with pytest.raises(ContentError, match="sla_option"):
        check_content_limits(catalog)


def test_placeholders_are_measured_with_their_longest_value() -> None:
    # 47 characters as written, but {role} can be the 55-character agent's name.
    wording = "Keep the applicant you have chosen now: {role}"
    catalog = with_message(load_catalog(), Lang.EN, "conversation.buttons.keep_role", wording)
    [problem] = content_limit_problems(catalog)
    assert "conversation.buttons.keep_role" in problem
    assert "Authorised agent (acting for the legal representative)" in problem
