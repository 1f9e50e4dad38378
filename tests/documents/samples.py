"""Small but real files, built here: each carries MARKER so a test can prove no byte leaked."""

from __future__ import annotations

import gzip
import io
import struct
import zipfile
import zlib

# Looks like what an ID card holds; must never appear anywhere but inside the file itself.
MARKER = b"ID-NUMBER-110101199003071234"


def pdf(padding: int = 0) -> bytes:
    return (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n% "
        + MARKER
        + b"\n"
        + b"%" * padding
        + b"\n%%EOF\n"
    )


def jpeg() -> bytes:
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    comment = b"\xff\xfe" + struct.pack(">H", len(MARKER) + 2) + MARKER
    return b"\xff\xd8" + app0 + comment + b"\xff\xd9"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png() -> bytes:
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"tEXt", b"Comment\x00" + MARKER)
        + _png_chunk(b"IDAT", pixels)
        + _png_chunk(b"IEND", b"")
    )


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A few hundred bytes of PNG declaring `width` × `height` pixels: a decompression bomb
    (its IDAT would inflate to gigabytes; these hold only the start of it)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"tEXt", b"Comment\x00" + MARKER)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 65536))
    )


def jpeg_declaring(width: int, height: int) -> bytes:
    """A baseline JPEG header declaring `width` × `height` (one grey component)."""
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    comment = b"\xff\xfe" + struct.pack(">H", len(MARKER) + 2) + MARKER
    dqt = b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" + bytes(range(1, 65))
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    dht = b"\xff\xc4" + struct.pack(">H", 20) + b"\x00" + b"\x01" + b"\x00" * 15 + b"\x00"
    sos = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00\x00\x3f\x00"
    return b"\xff\xd8" + app0 + comment + dqt + sof + dht + sos + b"\x00" * 64 + b"\xff\xd9"


def docx() -> bytes:
    """A Word document: a ZIP container, as every .docx is."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"/>',
        )
        archive.writestr("word/document.xml", b"<w:document>" + MARKER + b"</w:document>")
    return buffer.getvalue()


def legacy_doc() -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 24 + MARKER


def html_page() -> bytes:
    return (
        b"<!DOCTYPE html>\n<html><head><title>Business licence</title></head><body>"
        + MARKER
        + b"</body></html>"
    )


def gzipped_pdf() -> bytes:
    return gzip.compress(pdf())
