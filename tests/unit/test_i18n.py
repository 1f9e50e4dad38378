"""The content catalogue refuses incomplete or malformed content, naming the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.i18n import ContentError, Lang, lang_from_locale, lang_of_text, load_catalog


def write(root: Path, lang: str, text: str, name: str = "core.yaml") -> None:
    folder = root / lang
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def test_the_shipped_content_loads_and_both_languages_answer() -> None:
    catalog = load_catalog()
    assert catalog.t(Lang.ZH, "help.commands.help") != catalog.t(Lang.EN, "help.commands.help")


@pytest.mark.parametrize(
    ("zh", "en", "named"),
    [
        ("a:\n  b: 你好\n  c: 再见\n", "a:\n  b: hello\n", "a.c"),  # a key in one language only
        ("a: 你好 {name}\n", "a: hello {who}\n", "placeholders differ"),
        ("a: 见 <http://example.com|链接>\n", "a: see <http://example.com|link>\n", "https"),
        ("a: 见 <https://exa mple.com|链接>\n", "a: see <https://example.com|link>\n", "https"),
        ("a: '{unclosed'\n", "a: '{unclosed'\n", "malformed placeholder"),
        ("a: 1\n", "a: one\n", "must be text"),
        ("a: ''\n", "a: ''\n", "empty"),
        ("a: [1, 2\n", "a: x\n", "not valid YAML"),
    ],
)
def test_bad_content_stops_loading_with_the_problem_named(
    tmp_path: Path, zh: str, en: str, named: str
) -> None:
    write(tmp_path, "zh", zh)
    write(tmp_path, "en", en)
    with pytest.raises(ContentError, match=named):
        load_catalog(tmp_path)


def test_a_key_defined_in_two_files_is_refused(tmp_path: Path) -> None:
    for lang in ("zh", "en"):
        write(tmp_path, lang, "a: x\n", "one.yaml")
        write(tmp_path, lang, "a: y\n", "two.yaml")
    with pytest.raises(ContentError, match="already defined"):
        load_catalog(tmp_path)


def test_a_message_needs_its_placeholders(tmp_path: Path) -> None:
    write(tmp_path, "zh", "a: 你好 {name}\n")
    write(tmp_path, "en", "a: hello {name}\n")
    catalog = load_catalog(tmp_path)
    assert catalog.t(Lang.EN, "a", name="Li") == "hello Li"
    with pytest.raises(KeyError, match="needs name"):
        catalog.t(Lang.EN, "a")


@pytest.mark.parametrize(
    ("locale", "lang"),
    [
        ("zh-CN", Lang.ZH),
        ("zh_TW", Lang.ZH),
        ("en-US", Lang.EN),
        ("en-GB", Lang.EN),
        ("ja-JP", Lang.ZH),
        (None, Lang.ZH),
    ],
)
def test_slack_locales_map_to_a_language(locale: str | None, lang: Lang) -> None:
    assert lang_from_locale(locale) is lang


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("下一步做什么", Lang.ZH),
        ("what next", Lang.EN),
        ("TCCC 的 SIP 参数", Lang.ZH),
        ("???", None),
    ],
)
def test_the_language_of_a_question(text: str, lang: Lang | None) -> None:
    assert lang_of_text(text) is lang
