"""Every sentence a user reads, in Chinese and English, loaded from `bot/content/<lang>/*.yaml`.

Each language is a folder of YAML files holding nested mappings; the files of one language are
merged (a key defined twice is an error). A message is addressed by its dotted path
(`help.title`, `steps.account.prompt`); the file it lives in is not part of its name. Values
are strings with `{name}` placeholders (`str.format` syntax). Loading validates the whole
catalogue, so a missing key, a key present in one language only, a placeholder that differs
between languages, or a malformed link stops start-up with a message naming the key."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

import yaml


class Lang(StrEnum):
    ZH = "zh"
    EN = "en"


DEFAULT_LANG = Lang.ZH


class ContentError(Exception):
    """The content files are incomplete or malformed."""


def lang_from_locale(locale: str | None, default: Lang = DEFAULT_LANG) -> Lang:
    """Map a Slack locale (`zh-CN`, `en-US`, …) or a bare language code to a supported language."""
    if not locale:
        return default
    code = locale.strip().lower().replace("_", "-").split("-", 1)[0]
    if code == "zh":
        return Lang.ZH
    if code == "en":
        return Lang.EN
    return default


# Slack mrkdwn links look like <https://host/path|label>; bare URLs are allowed too.
_MRKDWN_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
_BARE_URL = re.compile(r"https?://[^\s<>|]+")
_URL_SHAPE = re.compile(r"^https://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(/[^\s<>|]*)?$")


def _flatten(prefix: str, node: Any, out: dict[str, str], source: str) -> None:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if not isinstance(key, str) or not key:
                raise ContentError(
                    f"{source}: key {key!r} under {prefix or '<root>'} is not a name"
                )
            _flatten(f"{prefix}.{key}" if prefix else key, value, out, source)
    elif isinstance(node, str):
        out[prefix] = node
    else:
        raise ContentError(
            f"{source}: {prefix} must be text, found {type(node).__name__}"
            " (quote numbers and yes/no so YAML keeps them as text)"
        )


def _placeholders(text: str, where: str) -> frozenset[str]:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise ContentError(f"{where}: malformed placeholder ({exc})") from None
    for name in names:
        if not name.isidentifier():
            raise ContentError(f"{where}: placeholder {{{name}}} must be a plain name")
    return frozenset(names)


def _check_links(text: str, where: str) -> None:
    for match in _MRKDWN_LINK.finditer(text):
        target = match.group(1)
        if target.startswith(("@", "#", "!")):
            continue  # user, channel and special mentions
        if "{" in target:
            continue  # filled in at run time, checked where the value comes from
        if not _URL_SHAPE.match(target):
            raise ContentError(f"{where}: link target {target!r} is not an https URL")
    stripped = _MRKDWN_LINK.sub("", text)
    for url in _BARE_URL.findall(stripped):
        if not _URL_SHAPE.match(url):
            raise ContentError(f"{where}: {url!r} is not a well-formed https URL")


@dataclass(frozen=True)
class Catalog:
    """The validated messages of every language."""

    messages: Mapping[Lang, Mapping[str, str]]
    _params: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def keys(self) -> frozenset[str]:
        return frozenset(self.messages[DEFAULT_LANG])

    def has(self, key: str) -> bool:
        return key in self.messages[DEFAULT_LANG]

    def keys_under(self, prefix: str) -> list[str]:
        """Direct and nested keys below `prefix.`, in file order."""
        start = prefix + "."
        return [k for k in self.messages[DEFAULT_LANG] if k.startswith(start)]

    def t(self, lang: Lang | str, key: str, **params: object) -> str:
        """The message `key` in `lang`, with its placeholders filled in."""
        table = self.messages[Lang(lang)]
        try:
            template = table[key]
        except KeyError:
            raise KeyError(f"no message {key!r}") from None
        expected = self._params.get(key, frozenset())
        missing = expected - params.keys()
        if missing:
            raise KeyError(f"message {key!r} needs {', '.join(sorted(missing))}")
        return template.format(**params)


def _content_dir() -> Path:
    return Path(str(resources.files("bot") / "content"))


def load_catalog(directory: Path | None = None) -> Catalog:
    """Load and validate the `zh/` and `en/` folders under `directory` (default: the package's)."""
    directory = directory or _content_dir()
    messages: dict[Lang, dict[str, str]] = {}
    for lang in Lang:
        folder = directory / lang.value
        files = sorted(folder.glob("*.yaml"))
        if not files:
            raise ContentError(f"content folder {folder} has no .yaml files")
        flat: dict[str, str] = {}
        for path in files:
            name = f"{lang.value}/{path.name}"
            try:
                raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            except yaml.YAMLError as exc:
                raise ContentError(f"{name}: not valid YAML ({exc})") from None
            if not isinstance(raw, Mapping):
                raise ContentError(f"{name}: must be a mapping of keys to messages")
            part: dict[str, str] = {}
            _flatten("", raw, part, name)
            twice = sorted(part.keys() & flat.keys())
            if twice:
                raise ContentError(f"{name}: {', '.join(twice)} already defined in another file")
            flat.update(part)
        messages[lang] = flat

    zh, en = messages[Lang.ZH], messages[Lang.EN]
    only_zh = sorted(zh.keys() - en.keys())
    only_en = sorted(en.keys() - zh.keys())
    if only_zh or only_en:
        parts = []
        if only_zh:
            parts.append(f"only in zh: {', '.join(only_zh)}")
        if only_en:
            parts.append(f"only in en: {', '.join(only_en)}")
        raise ContentError("content keys differ between languages; " + "; ".join(parts))

    params: dict[str, frozenset[str]] = {}
    for key in zh:
        per_lang = {}
        for lang in Lang:
            text = messages[lang][key]
            where = f"{lang.value}: {key}"
            if not text.strip():
                raise ContentError(f"{where} is empty")
            per_lang[lang] = _placeholders(text, where)
            _check_links(text, where)
        if per_lang[Lang.ZH] != per_lang[Lang.EN]:
            raise ContentError(
                f"{key}: placeholders differ between languages "
                f"(zh {sorted(per_lang[Lang.ZH])}, en {sorted(per_lang[Lang.EN])})"
            )
        params[key] = per_lang[Lang.ZH]
    return Catalog(messages=messages, _params=params)


def require_keys(catalog: Catalog, keys: list[str] | set[str] | frozenset[str]) -> None:
    """Fail when the code asks for a message the content files do not have."""
    missing = sorted(k for k in keys if not catalog.has(k))
    if missing:
        raise ContentError(f"content is missing keys used by the code: {', '.join(missing)}")


_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def lang_of_text(text: str) -> Lang | None:
    """The language a message is written in, when it can be told: any Chinese character makes
    it Chinese (customers mix in English product names); Latin words alone make it English."""
    if _HAN.search(text):
        return Lang.ZH
    if _LATIN_WORD.search(text):
        return Lang.EN
    return None
