"""Sample scans for the pre-check, drawn at test time with Pillow and pypdf (no binaries kept).

A "document" is a white page with lines of black print; a seal is a red ring with a star and
marks around it, as a Chinese company seal (公章) looks on a scan. Each `Scan` says which
findings a careful reviewer would give it, so a test can count where the pre-check disagrees.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from PIL import Image, ImageDraw, ImageFilter, ImageFont
from pypdf import PdfWriter
from pypdf.generic import (
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
)

from bot.documents.formats import FileFormat
from bot.documents.precheck import Finding

RED = (210, 30, 35)
CRIMSON = (190, 20, 60)
VERMILION = (230, 70, 35)
DARK_RED = (160, 25, 30)
FADED = (225, 120, 115)  # a seal pressed with little ink


@dataclass(frozen=True)
class Scan:
    name: str
    data: bytes
    fmt: FileFormat
    stamped: bool
    expected: frozenset[Finding]


def page(width: int = 1400, height: int = 1000, *, seed: int = 1) -> Image.Image:
    """A white page of black print (lines of words at two sizes), like a licence or a form."""
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height), (250, 250, 247))
    draw = ImageDraw.Draw(image)
    scale = width / 1400
    title = ImageFont.load_default(max(8, int(44 * scale)))
    body = ImageFont.load_default(max(6, int(20 * scale)))
    draw.text(
        (int(420 * scale), int(50 * scale)), "BUSINESS LICENCE", fill=(20, 20, 20), font=title
    )
    y = int(150 * scale)
    words = ["Name", "Company", "Limited", "Registered", "Capital", "Address", "Scope", "Date"]
    while y < height - int(60 * scale):
        line = " ".join(rng.choice(words) + str(rng.randint(10, 9999)) for _ in range(9))
        draw.text((int(70 * scale), y), line, fill=(25, 25, 25), font=body)
        y += int(38 * scale)
    draw.rectangle(
        (int(30 * scale), int(30 * scale), width - int(30 * scale), height - int(30 * scale)),
        outline=(40, 40, 40),
        width=max(1, int(3 * scale)),
    )
    return image


def seal(image: Image.Image, colour: tuple[int, int, int] = RED, *, at: float = 0.7) -> Image.Image:
    """The page with a round company seal in `colour`, partly over the print, as stamped."""
    out = image.copy()
    draw = ImageDraw.Draw(out)
    radius = int(min(out.size) * 0.17)
    cx, cy = int(out.width * at), int(out.height * 0.68)
    ring = max(2, radius // 12)
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline=colour, width=ring)
    star = []
    for i in range(10):
        r = radius * (0.32 if i % 2 == 0 else 0.13)
        angle = math.pi / 2 + i * math.pi / 5
        star.append((cx + r * math.cos(angle), cy - r * math.sin(angle)))
    draw.polygon(star, fill=colour)
    font = ImageFont.load_default(max(6, radius // 5))
    for i in range(14):  # the company name around the ring
        angle = math.pi * (0.15 + 0.7 * i / 13)
        x = cx - (radius * 0.72) * math.cos(angle)
        y = cy - (radius * 0.72) * math.sin(angle)
        draw.text((x, y), "印", fill=colour, font=font, anchor="mm")
        draw.rectangle((x - ring, y - ring, x + ring, y + ring), fill=colour)
    return out


def blur(image: Image.Image, radius: float = 4) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(radius))


def photo_like(image: Image.Image, *, seed: int = 2, amount: int = 18) -> Image.Image:
    """A phone photo of the page: uneven light, a warm cast and sensor noise."""
    rng = random.Random(seed)
    width, height = image.size
    shade = Image.linear_gradient("L").resize((width, height)).point(lambda v: 200 + v // 5)
    lit = Image.composite(image, Image.new("RGB", image.size, (90, 80, 70)), shade)
    noise = Image.effect_noise((width, height), amount).convert("RGB")
    cast = Image.blend(lit, Image.new("RGB", image.size, (235, 220, 200)), 0.08)
    out = Image.blend(cast, noise, 0.12)
    return out.rotate(rng.uniform(-2, 2), resample=Image.Resampling.BICUBIC, fillcolor=(60, 60, 60))


def letterhead(image: Image.Image) -> Image.Image:
    """A red printed header band: red that is not a seal."""
    out = image.copy()
    ImageDraw.Draw(out).rectangle((0, 0, out.width, int(out.height * 0.09)), fill=RED)
    return out


def encode(image: Image.Image, fmt: FileFormat, *, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    if fmt is FileFormat.JPEG:
        image.convert("RGB").save(buffer, "JPEG", quality=quality)
    elif fmt is FileFormat.PNG:
        image.save(buffer, "PNG")
    else:
        image.convert("RGB").save(buffer, "PDF", resolution=150)
    return buffer.getvalue()


def _text_page(writer: PdfWriter, text: str) -> None:
    """A page whose print is real PDF text (a form filled in on a computer)."""
    blank = writer.add_blank_page(width=595, height=842)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    blank[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    stream = DecodedStreamObject()
    stream.set_data(f"BT /F1 14 Tf 72 760 Td ({text}) Tj ET".encode())
    blank[NameObject("/Contents")] = writer._add_object(stream)


def text_pdf(
    text: str = "Telephone service acceptance form",
    *,
    password: str | None = None,
    owner_only: bool = False,
) -> bytes:
    writer = PdfWriter()
    _text_page(writer, text)
    if password is not None:
        writer.encrypt(
            user_password="" if owner_only else password,
            owner_password=password,
            algorithm="AES-128",
        )
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def blank_pdf(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _scan(
    name: str,
    make: Callable[[], bytes],
    fmt: FileFormat,
    expected: set[Finding] | frozenset[Finding] = frozenset(),
    *,
    stamped: bool = True,
) -> Scan:
    return Scan(name, make(), fmt, stamped, frozenset(expected))


JPEG, PNG, PDF = FileFormat.JPEG, FileFormat.PNG, FileFormat.PDF
B, S, N = Finding.BLURRY, Finding.TOO_SMALL, Finding.NO_SEAL


@cache
def samples() -> tuple[Scan, ...]:
    """The sample set: each realistic kind of upload, with the findings it deserves."""
    sealed = seal(page())
    bare = page(seed=3)
    return (
        _scan("sealed.png", lambda: encode(sealed, PNG), PNG),
        _scan("sealed.jpg", lambda: encode(sealed, JPEG), JPEG),
        _scan("no-seal.png", lambda: encode(bare, PNG), PNG, {N}),
        _scan("no-seal-not-stamped.png", lambda: encode(bare, PNG), PNG, stamped=False),
        _scan("sealed-blurred.jpg", lambda: encode(blur(sealed), JPEG), JPEG, {B}),
        _scan("no-seal-blurred.jpg", lambda: encode(blur(bare), JPEG), JPEG, {B, N}),
        _scan(
            "blurred-not-stamped.png", lambda: encode(blur(bare, 3), PNG), PNG, {B}, stamped=False
        ),
        _scan("tiny.png", lambda: encode(seal(page(360, 260)), PNG), PNG, {S}),
        _scan("tiny-no-seal.jpg", lambda: encode(page(300, 220), JPEG), JPEG, {S, N}),
        _scan("crimson-seal.png", lambda: encode(seal(bare, CRIMSON), PNG), PNG),
        _scan("vermilion-seal.jpg", lambda: encode(seal(bare, VERMILION), JPEG), JPEG),
        _scan("dark-red-seal.jpg", lambda: encode(seal(bare, DARK_RED, at=0.3), JPEG), JPEG),
        _scan("photo-sealed.jpg", lambda: encode(photo_like(sealed), JPEG, quality=80), JPEG),
        _scan("photo-no-seal.jpg", lambda: encode(photo_like(bare), JPEG, quality=80), JPEG, {N}),
        _scan("photo-blurred.jpg", lambda: encode(photo_like(blur(sealed, 5)), JPEG), JPEG, {B}),
        _scan("greyscale-sealed.png", lambda: encode(sealed.convert("L"), PNG), PNG, {N}),
        _scan(
            "greyscale-not-stamped.jpg",
            lambda: encode(bare.convert("L"), JPEG),
            JPEG,
            stamped=False,
        ),
        _scan("jpeg-q25-sealed.jpg", lambda: encode(sealed, JPEG, quality=25), JPEG),
        _scan("jpeg-q25-no-seal.jpg", lambda: encode(bare, JPEG, quality=25), JPEG, {N}),
        _scan("big-photo-sealed.jpg", lambda: encode(blur(seal(page(4000, 2860)), 2), JPEG), JPEG),
        _scan("soft-focus.jpg", lambda: encode(blur(sealed, 1.2), JPEG), JPEG),
        _scan("faded-seal.jpg", lambda: encode(seal(bare, FADED), JPEG), JPEG),
        _scan(
            "noisy-blurred-not-stamped.jpg",
            lambda: encode(photo_like(blur(bare, 3), amount=40), JPEG),
            JPEG,
            {B},
            stamped=False,
        ),
        _scan("red-letterhead.png", lambda: encode(letterhead(bare), PNG), PNG, {N}),
        _scan("pdf-scan-sealed.pdf", lambda: encode(sealed, PDF), PDF),
        _scan("pdf-scan-no-seal.pdf", lambda: encode(bare, PDF), PDF, {N}),
        _scan("pdf-scan-blurred.pdf", lambda: encode(blur(sealed), PDF), PDF, {B}),
        _scan("pdf-text.pdf", text_pdf, PDF),
        _scan(
            "pdf-encrypted.pdf", lambda: text_pdf(password="secret"), PDF, {Finding.PDF_ENCRYPTED}
        ),
        _scan("pdf-owner-password-only.pdf", lambda: text_pdf(password="x", owner_only=True), PDF),
        _scan("pdf-blank-page.pdf", blank_pdf, PDF, {Finding.PDF_EMPTY}),
        _scan("pdf-no-pages.pdf", lambda: blank_pdf(0), PDF, {Finding.PDF_EMPTY}),
        _scan("broken.png", lambda: encode(sealed, PNG)[:2000], PNG, {Finding.UNREADABLE}),
    )
