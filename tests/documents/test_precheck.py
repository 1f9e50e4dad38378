"""The pre-check on the sample scans: each finding fires where it should, and the misses are
the ones the README admits to."""

from __future__ import annotations

import logging
import re
from functools import cache
from pathlib import Path

import pytest

from bot.documents.formats import FileFormat
from bot.documents.precheck import Finding, precheck
from tests.documents import samples as files
from tests.documents.scans import Scan, encode, page, samples, seal

README = Path(__file__).resolve().parents[2] / "README.md"
_ROW = re.compile(r"^\|\s*`(\w+)`\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|", re.MULTILINE)


@cache
def checked(scan: Scan) -> frozenset[Finding]:
    return frozenset(precheck(scan.data, scan.fmt, stamped=scan.stamped))


def counts(scans: tuple[Scan, ...]) -> dict[Finding, tuple[int, int, int]]:
    """Per finding: how many samples deserve it, false positives, false negatives."""
    table: dict[Finding, list[int]] = {finding: [0, 0, 0] for finding in Finding}
    for scan in scans:
        got = checked(scan)
        for finding in Finding:
            deserved, said = finding in scan.expected, finding in got
            table[finding][0] += deserved
            table[finding][1] += said and not deserved
            table[finding][2] += deserved and not said
    return {finding: (n, fp, fn) for finding, (n, fp, fn) in table.items()}


def readme_counts() -> dict[Finding, tuple[int, int, int]]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Document pre-check") :]
    section = section[: section.find("\n## ", 1)]
    return {Finding(m[1]): (int(m[2]), int(m[3]), int(m[4])) for m in _ROW.finditer(section)}


def test_the_readme_states_the_errors_of_every_finding_on_the_sample_set() -> None:
    stated = readme_counts()
    assert set(stated) == set(Finding), "the README's table must list every finding"
    measured = counts(samples())
    for finding, (deserved, fp, fn) in measured.items():
        s_deserved, s_fp, s_fn = stated[finding]
        assert deserved == s_deserved, f"{finding}: {deserved} samples deserve it, README says"
        assert fp <= s_fp, f"{finding}: {fp} false positives, README admits {s_fp}"
        assert fn <= s_fn, f"{finding}: {fn} false negatives, README admits {s_fn}"


def test_every_finding_fires_on_some_sample_and_the_set_has_clean_ones() -> None:
    for finding, (deserved, _, fn) in counts(samples()).items():
        assert deserved > fn, f"{finding} never fires on the samples"
    assert any(not s.expected for s in samples())


@pytest.mark.parametrize("scan", samples(), ids=lambda s: s.name)
def test_each_sample(scan: Scan) -> None:
    got = checked(scan)
    # The one known miss: red print that is not a seal passes for one (README).
    if scan.name == "red-letterhead.png":
        assert got == set()
    else:
        assert got == set(scan.expected)


def test_a_document_that_needs_no_seal_is_never_told_it_lacks_one() -> None:
    for scan in samples():
        if not scan.stamped:
            assert Finding.NO_SEAL not in checked(scan)


def test_resolution_does_not_decide_sharpness() -> None:
    sealed = seal(page())
    for width in (700, 1400, 3000):
        scaled = sealed.resize((width, width * 10 // 14))
        assert Finding.BLURRY not in precheck(
            encode(scaled, FileFormat.JPEG), FileFormat.JPEG, stamped=True
        ), width


def test_a_declared_decompression_bomb_is_not_decoded() -> None:
    assert precheck(files.png_bomb(), FileFormat.PNG, stamped=True) == (Finding.UNREADABLE,)


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (files.pdf(), FileFormat.PDF),
        (files.jpeg(), FileFormat.JPEG),
        (b"%PDF-1.4\n" + b"\x00" * 100, FileFormat.PDF),
        (b"\x89PNG\r\n\x1a\n" + b"\xff" * 100, FileFormat.PNG),
        (b"", FileFormat.JPEG),
    ],
)
def test_files_nothing_can_open_are_unreadable_and_no_byte_is_logged(
    data: bytes, fmt: FileFormat, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert precheck(data, fmt, stamped=True) == (Finding.UNREADABLE,)
    assert files.MARKER.decode() not in caplog.text


def test_findings_come_in_a_stable_order() -> None:
    tiny = encode(page(300, 220), FileFormat.JPEG)
    assert precheck(tiny, FileFormat.JPEG, stamped=True) == (Finding.TOO_SMALL, Finding.NO_SEAL)
