"""What a file really is, told from its first bytes, and sizes written for people.

Only the magic bytes decide whether a file is accepted. The file's name is read solely to tell
the customer what the file *claimed* to be when it is refused ("named .pdf, really a Word file").
"""

from __future__ import annotations

import io
import warnings
from enum import StrEnum

from PIL import Image


class FileFormat(StrEnum):
    """Formats the bot can name in a message (`uploads.formats.<value>`)."""

    PDF = "pdf"
    JPEG = "jpeg"
    PNG = "png"
    WORD = "word"  # by name only (.doc, .docx, .wps…); an RTF file by content
    EXCEL = "excel"  # by name only (.xls, .xlsx, .csv…)
    OFFICE_ZIP = "office_zip"  # ZIP container: .docx, .xlsx, .pptx or a plain .zip
    OFFICE_LEGACY = "office_legacy"  # OLE2 compound file: .doc, .xls of Office 97-2003
    ARCHIVE = "archive"
    GIF = "gif"
    WEBP = "webp"
    HEIC = "heic"
    TIFF = "tiff"
    BMP = "bmp"
    HTML = "html"
    UNKNOWN = "unknown"

    @property
    def label_key(self) -> str:
        return f"uploads.formats.{self.value}"


# The formats a qualification document may have, with the mimetype recorded for it.
ACCEPTED: dict[FileFormat, str] = {
    FileFormat.PDF: "application/pdf",
    FileFormat.JPEG: "image/jpeg",
    FileFormat.PNG: "image/png",
}

# How many leading bytes `sniff` needs at most (HTML may follow a BOM and some whitespace).
SNIFF_BYTES = 512

_MAGIC: tuple[tuple[bytes, FileFormat], ...] = (
    (b"%PDF-", FileFormat.PDF),
    (b"\xff\xd8\xff", FileFormat.JPEG),
    (b"\x89PNG\r\n\x1a\n", FileFormat.PNG),
    (b"PK\x03\x04", FileFormat.OFFICE_ZIP),
    (b"PK\x05\x06", FileFormat.OFFICE_ZIP),  # an empty ZIP
    (b"PK\x07\x08", FileFormat.OFFICE_ZIP),  # a spanned ZIP
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", FileFormat.OFFICE_LEGACY),
    (b"{\\rtf", FileFormat.WORD),
    (b"Rar!\x1a\x07", FileFormat.ARCHIVE),
    (b"7z\xbc\xaf\x27\x1c", FileFormat.ARCHIVE),
    (b"\x1f\x8b", FileFormat.ARCHIVE),  # gzip
    (b"GIF87a", FileFormat.GIF),
    (b"GIF89a", FileFormat.GIF),
    (b"II*\x00", FileFormat.TIFF),
    (b"MM\x00*", FileFormat.TIFF),
    (b"BM", FileFormat.BMP),
)
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
_HTML_STARTS = (b"<!doctype", b"<html")
_BOM = b"\xef\xbb\xbf"

_EXTENSIONS: dict[str, FileFormat] = {
    "pdf": FileFormat.PDF,
    **dict.fromkeys(("jpg", "jpeg", "jpe", "jfif"), FileFormat.JPEG),
    "png": FileFormat.PNG,
    **dict.fromkeys(("doc", "docx", "docm", "dot", "dotx", "rtf", "wps", "odt"), FileFormat.WORD),
    **dict.fromkeys(("xls", "xlsx", "xlsm", "et", "ods", "csv", "numbers"), FileFormat.EXCEL),
    **dict.fromkeys(("zip", "rar", "7z", "gz", "tgz", "tar"), FileFormat.ARCHIVE),
    "gif": FileFormat.GIF,
    "webp": FileFormat.WEBP,
    **dict.fromkeys(("heic", "heif"), FileFormat.HEIC),
    **dict.fromkeys(("tif", "tiff"), FileFormat.TIFF),
    "bmp": FileFormat.BMP,
    **dict.fromkeys(("htm", "html", "xhtml"), FileFormat.HTML),
}


def sniff(head: bytes | bytearray) -> FileFormat:
    """The format of a file from its first bytes (at most `SNIFF_BYTES` are looked at)."""
    head = bytes(head[:SNIFF_BYTES])
    for magic, fmt in _MAGIC:
        if head.startswith(magic):
            return fmt
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return FileFormat.HEIC
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return FileFormat.WEBP
    text = head.removeprefix(_BOM).lstrip().lower()
    if text.startswith(_HTML_STARTS):
        return FileFormat.HTML
    return FileFormat.UNKNOWN


def claimed_format(name: str) -> FileFormat:
    """What a file's name says it is, from its extension (UNKNOWN without one)."""
    stem, dot, extension = name.strip().rpartition(".")
    if not dot or not stem:
        return FileFormat.UNKNOWN
    return _EXTENSIONS.get(extension.lower(), FileFormat.UNKNOWN)


# An image declaring more pixels than this is refused: a few KB of PNG can declare a picture
# that takes gigabytes to open (a decompression bomb), in a reviewer's viewer or in any tool
# that renders it. Pillow's own threshold; a 600 dpi A3 scan has about 70 million.
MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485
# How many leading bytes `image_pixels` is given: a JPEG's size follows its EXIF segment.
IMAGE_HEAD_BYTES = 64 * 1024


def image_pixels(head: bytes | bytearray, fmt: FileFormat) -> int | None:
    """Width × height that a PNG's or JPEG's header declares, read from its first bytes without
    decoding any pixel; None when these bytes do not hold a readable header."""
    if fmt is FileFormat.PNG:
        # The IHDR chunk comes first, at a fixed place (PNG specification, 5.2 and 11.2.2).
        if len(head) < 24 or head[12:16] != b"IHDR":
            return None
        return int.from_bytes(head[16:20], "big") * int.from_bytes(head[20:24], "big")
    if fmt is not FileFormat.JPEG:
        return None
    try:
        with warnings.catch_warnings():
            # Pillow warns (or raises, past twice its limit) about big images; we only ask.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(bytes(head)), formats=["JPEG"]) as image:
                width, height = image.size
    except Image.DecompressionBombError:
        return MAX_IMAGE_PIXELS * 2 + 1
    except Exception:  # a header Pillow cannot read: no claim about its size
        return None
    return int(width) * int(height)


_UNITS = ("B", "KB", "MB", "GB", "TB")


def format_size(size: int) -> str:
    """A byte count for people: `512 B`, `1.2 MB`, `20 MB` (binary units, one decimal)."""
    if size < 0:
        raise ValueError("a size cannot be negative")
    if size < 1024:
        return f"{size} B"
    value = float(size)
    unit = 0
    # Round before choosing the unit, so 1,048,575 bytes reads `1 MB`, not `1024 KB`.
    while unit < len(_UNITS) - 1 and round(value, 1) >= 1024:
        value /= 1024
        unit += 1
    text = f"{value:.1f}".removesuffix(".0")
    return f"{text} {_UNITS[unit]}"
