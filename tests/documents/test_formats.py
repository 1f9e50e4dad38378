"""Telling a file's type from its bytes, and sizes for people."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.documents.formats import FileFormat, claimed_format, format_size, sniff
from tests.documents import samples

F = FileFormat


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (samples.pdf(), F.PDF),
        (samples.jpeg(), F.JPEG),
        (samples.png(), F.PNG),
        (samples.docx(), F.OFFICE_ZIP),
        (samples.legacy_doc(), F.OFFICE_LEGACY),
        (samples.html_page(), F.HTML),
        (b"\xef\xbb\xbf\n  <HTML><body>sign in</body></html>", F.HTML),
        (samples.gzipped_pdf(), F.ARCHIVE),
        (b"GIF89a\x01\x00", F.GIF),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", F.HEIC),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", F.WEBP),
        (b"{\\rtf1\\ansi", F.WORD),
        # A PDF marker later in the file does not make a PDF; nor does a truncated signature.
        (b"junk %PDF-1.4", F.UNKNOWN),
        (b"\x89PNG", F.UNKNOWN),
        (b"", F.UNKNOWN),
    ],
)
def test_the_type_comes_from_the_first_bytes(head: bytes, expected: FileFormat) -> None:
    assert sniff(head) is expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("营业执照.PDF", F.PDF),
        ("id.jpeg", F.JPEG),
        ("授权书.docx", F.WORD),
        ("list.xlsx", F.EXCEL),
        ("all.zip", F.ARCHIVE),
        ("IMG_1.HEIC", F.HEIC),
        ("scan", F.UNKNOWN),
        (".pdf", F.UNKNOWN),
        ("archive.tar.xyz", F.UNKNOWN),
    ],
)
def test_what_a_name_claims(name: str, expected: FileFormat) -> None:
    assert claimed_format(name) is expected


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1 KB"),
        (1536, "1.5 KB"),
        (1_258_291, "1.2 MB"),
        (20 * 1024 * 1024, "20 MB"),
        (1024 * 1024 - 1, "1 MB"),
        (3 * 1024**3, "3 GB"),
    ],
)
def test_sizes_for_people(size: int, text: str) -> None:
    assert format_size(size) == text


@given(st.integers(min_value=0, max_value=1024**5))
def test_a_size_is_a_short_number_and_unit_close_to_the_truth(size: int) -> None:
    text = format_size(size)
    match = re.fullmatch(r"(\d+(?:\.\d)?) (B|KB|MB|GB|TB)", text)
    assert match is not None, text
    number = float(match.group(1))
    assert number < 1024 or match.group(2) == "TB"
    factor = 1024 ** ("B", "KB", "MB", "GB", "TB").index(match.group(2))
    assert abs(number * factor - size) <= 0.05 * factor + 0.001 * size


def test_a_negative_size_is_a_bug() -> None:
    with pytest.raises(ValueError):
        format_size(-1)
