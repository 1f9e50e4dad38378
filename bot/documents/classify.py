"""Which qualification document an uploaded file is, from what the customer wrote or its name.

The keywords are content (`uploads.keywords.<kind>`, a comma-separated list in each language), so
an operator can add a synonym without a release. Both languages' keywords are matched whatever
the tenant's language: customers mix them, and file names are often English in a Chinese chat.

Matching works on normalised text (NFKC, case-folded, punctuation and `_` turned into spaces,
camelCase split, spaces between Chinese characters dropped). A keyword that begins or ends with a
Latin letter or digit only matches whole words, so `id` never matches inside `valid`.

Where matches overlap the longest wins: `法定代表人手持身份证照` is the legal representative's
holding photo, not their ID card; `holding ID card` is not an `ID card`. A keyword may belong to
several kinds (`手持身份证`, `ID card`): the role's required documents then pick the one meant, and
when they do not, the answer is "don't know" rather than a guess.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from bot.flows.model import DocKind
from bot.i18n import Catalog, ContentError, Lang, load_catalog

_SLACK_TOKEN = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")  # <@U123>, <https://…|label>
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_POSSESSIVE = re.compile(r"['’]s\b", re.IGNORECASE)
_APOSTROPHE = re.compile(r"['’]")
_SEPARATORS = re.compile(r"[\W_]+")
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_SPACE_IN_HAN = re.compile(f"(?<=[{_HAN}]) (?=[{_HAN}])")
_LIST_SEPARATORS = re.compile(r"[,;、]")
_ASCII_WORD_CHAR = re.compile(r"[a-z0-9]")


def keywords_key(kind: DocKind) -> str:
    return f"uploads.keywords.{kind.value}"


def normalise(text: str) -> str:
    """The form both keywords and customer text are compared in."""
    text = unicodedata.normalize("NFKC", text)
    text = _CAMEL.sub(" ", text)
    text = _POSSESSIVE.sub("", text)
    text = _APOSTROPHE.sub("", text)
    text = _SEPARATORS.sub(" ", text.casefold()).strip()
    return _SPACE_IN_HAN.sub("", text)


def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    before = "(?<![a-z0-9])" if _ASCII_WORD_CHAR.match(keyword[0]) else ""
    after = "(?![a-z0-9])" if _ASCII_WORD_CHAR.match(keyword[-1]) else ""
    return re.compile(before + re.escape(keyword) + after)


@dataclass(frozen=True)
class KeywordTable:
    """Every keyword of every document kind, normalised and compiled."""

    entries: tuple[tuple[DocKind, str, re.Pattern[str]], ...]

    @classmethod
    def build(cls, keywords: Iterable[tuple[DocKind, str]]) -> KeywordTable:
        seen: set[tuple[DocKind, str]] = set()
        entries = []
        for kind, raw in keywords:
            keyword = normalise(raw)
            if keyword and (kind, keyword) not in seen:
                seen.add((kind, keyword))
                entries.append((kind, keyword, _keyword_pattern(keyword)))
        return cls(tuple(entries))

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> KeywordTable:
        """The keywords of both languages; a kind without any is a content error."""
        pairs: list[tuple[DocKind, str]] = []
        for kind in DocKind:
            found = [
                (kind, word)
                for lang in Lang
                for word in _LIST_SEPARATORS.split(catalog.t(lang, keywords_key(kind)))
                if normalise(word)
            ]
            if not found:
                raise ContentError(f"{keywords_key(kind)} lists no keywords")
            pairs.extend(found)
        return cls.build(pairs)

    def keywords(self, kind: DocKind) -> tuple[str, ...]:
        return tuple(word for k, word, _ in self.entries if k is kind)

    def mentions(self, text: str) -> list[frozenset[DocKind]]:
        """The documents `text` (normalised) names, one set of candidate kinds per mention."""
        hits: dict[tuple[int, int], set[DocKind]] = {}
        for kind, _, pattern in self.entries:
            for match in pattern.finditer(text):
                hits.setdefault(match.span(), set()).add(kind)
        # The longest match claims its characters; shorter ones overlapping it are parts of it.
        kept: list[tuple[int, int]] = []
        for start, end in sorted(hits, key=lambda span: (span[0] - span[1], span[0])):
            if all(end <= k_start or start >= k_end for k_start, k_end in kept):
                kept.append((start, end))
        return [frozenset(hits[span]) for span in sorted(kept)]


@cache
def default_keywords() -> KeywordTable:
    """The keywords of the packaged content, loaded once per process."""
    return KeywordTable.from_catalog(load_catalog())


@dataclass(frozen=True)
class _Reading:
    """What one piece of text says about which required document a file is."""

    mentioned: bool  # it names at least one document, required or not
    named: frozenset[DocKind]  # required kinds a mention pins down
    possible: frozenset[DocKind]  # required kinds any mention may mean
    unclear: bool  # some mention fits several required kinds, or none of them

    @property
    def single(self) -> DocKind | None:
        if len(self.named) == 1 and not self.unclear:
            return next(iter(self.named))
        return None


def _read(text: str, required: frozenset[DocKind], table: KeywordTable) -> _Reading:
    named: set[DocKind] = set()
    possible: set[DocKind] = set()
    unclear = False
    mentions = table.mentions(normalise(text))
    for candidates in mentions:
        fitting = candidates & required
        possible |= fitting
        if len(fitting) == 1:
            named |= fitting
        else:
            unclear = True
    return _Reading(bool(mentions), frozenset(named), frozenset(possible), unclear)


def _message_text(text: str) -> str:
    """Slack markup reduced to what a person reads: link labels stay, ids and URLs go."""
    return _SLACK_TOKEN.sub(lambda m: f" {m.group(2) or ''} ", text)


def classify(
    text: str,
    filename: str,
    required: Sequence[DocKind],
    *,
    keywords: KeywordTable | None = None,
) -> DocKind | None:
    """The required document a file is, or None when that cannot be told for sure.

    The message text decides when it names exactly one required document. When it names none,
    the file name decides. When it names several (one message, several files), the file name
    may pick one of those. A mention of a document the role does not need, or of two documents
    at once, gives None: the caller then asks with a menu.
    """
    table = keywords or default_keywords()
    wanted = frozenset(required)
    said = _read(_message_text(text), wanted, table)
    if said.single is not None:
        return said.single
    by_name = _read(filename, wanted, table).single
    if not said.mentioned:
        return by_name
    return by_name if by_name in said.possible else None
