"""The Block Kit builders: people's text shortened without breaking markup, long lists split,
and what Slack refuses refused where it is built."""

from __future__ import annotations

import pytest

from bot.views.kit import (
    Message,
    SlackObjectFormationError,
    actions,
    button,
    divider,
    fields_sections,
    header,
    home,
    modal,
    option,
    pack,
    section,
    sections,
    shorten,
    text_input,
)
from tests.fakeslack.blockkit import validate_blocks


def test_short_text_is_left_alone() -> None:
    assert shorten("营业执照", 10) == "营业执照"


@pytest.mark.parametrize(
    ("text", "whole"),
    [
        ("See <https://cloud.tencent.com/document/product/679/34947|the agreement> now", "<https"),
        ("Approved by <@U0SOLENG001> today", "<@U0"),
        ("Run `CreateSDKLoginToken` on your server", "`Create"),
        ("Procter &amp; Gamble &lt;China&gt;", "&"),
    ],
)
def test_a_cut_never_falls_inside_a_link_a_mention_code_or_an_entity(text: str, whole: str) -> None:
    for limit in range(5, len(text)):
        cut = shorten(text, limit)
        assert len(cut) <= limit
        assert cut.endswith("…")
        kept = cut[:-1]
        # Whatever markup survived is whole: every < closed, backticks paired, no "&am".
        assert kept.count("<") == kept.count(">")
        assert kept.count("`") % 2 == 0
        assert not any(kept.endswith(part) for part in ("&", "&a", "&am", "&amp", "&l", "&lt"))


def test_a_long_list_is_split_over_sections_not_cut() -> None:
    lines = [f"• <https://example.com/doc/{n}|文档 {n}> · 加盖公章" for n in range(200)]
    blocks = sections("\n".join(lines))
    assert len(blocks) > 1
    texts = [b.to_dict()["text"]["text"] for b in blocks]
    assert all(len(t) <= 3000 for t in texts)
    assert "\n".join(texts).split("\n") == lines  # every line, in order, none cut


def test_a_code_block_split_over_sections_stays_a_code_block_in_each() -> None:
    addresses = [f"203.0.113.{n}:5060" for n in range(250)]
    text = "x" * 2500 + "\n```\n" + "\n".join(addresses) + "\n```"
    texts = [b.to_dict()["text"]["text"] for b in sections(text)]
    assert len(texts) >= 3 and all(len(t) <= 3000 for t in texts)
    for part in texts[1:]:
        assert part.startswith("```") and part.endswith("```")  # fences balanced in each
    shown = [line for t in texts for line in t.split("\n") if line not in ("```", "x" * 2500)]
    assert shown == addresses  # nothing lost


def test_entries_are_packed_whole_into_as_few_sections_as_hold_them() -> None:
    entries = [f"*租户 {n}* · 步骤 4/8\n下一步：上传 {'材料' * 100}" for n in range(40)]
    groups = pack(entries)
    assert [e for group in groups for e in group] == entries  # all, in order, none split
    assert 1 < len(groups) < len(entries)
    assert all(len("\n\n".join(group)) <= 3000 for group in groups)


def test_fields_go_ten_to_a_section_and_each_fits() -> None:
    blocks = fields_sections([f"*字段 {n}*\n" + "号" * 2500 for n in range(14)])
    dumped = [b.to_dict() for b in blocks]
    assert [len(b["fields"]) for b in dumped] == [10, 4]
    assert all(len(f["text"]) <= 2000 for b in dumped for f in b["fields"])


def test_repeated_action_ids_in_a_block_are_numbered() -> None:
    block = actions(
        [button("经办人", "step.event", "a"), button("法定代表人", "step.event", "b")],
        block_id="prompt:qualification.role",
    ).to_dict()
    assert [e["action_id"] for e in block["elements"]] == ["step.event", "step.event:2"]
    assert validate_blocks([block]) == []


def test_a_header_with_a_long_company_name_is_shortened() -> None:
    name = "深" * 300
    dumped = header(f"资质审核 · {name}").to_dict()
    assert len(dumped["text"]["text"]) == 150 and dumped["text"]["type"] == "plain_text"


def test_what_slack_refuses_is_refused_when_built() -> None:
    with pytest.raises(SlackObjectFormationError):
        Message.of("too many", [divider() for _ in range(51)])
    with pytest.raises(SlackObjectFormationError):
        Message.of("twice", [section("a", block_id="x"), section("b", block_id="x")])
    with pytest.raises(SlackObjectFormationError):
        Message.of("empty", [section("   ")])
    too_long = (
        "我已阅读并同意<https://cloud.tencent.com/document/product/679/34947"
        "|《腾讯云呼叫中心服务等级协议》>"
    )
    assert len(too_long) == 77  # the markup counts against an option's 75 characters
    with pytest.raises(SlackObjectFormationError):
        option(too_long, "agreed").to_dict()
    with pytest.raises(SlackObjectFormationError):
        modal(
            callback_id="form.x",
            title="一个超过二十四个字符的表单标题，Slack 不会接受它",
            submit="提交",
            close="取消",
            private_metadata="{}",
            blocks=[section("x")],
        )
    with pytest.raises(SlackObjectFormationError):
        home([section("x") for _ in range(101)])
    with pytest.raises(SlackObjectFormationError):
        text_input("Script", "script", "value", max_length=5000)
