"""A first look at an uploaded document's bytes, before a reviewer sees it.

`precheck(data, fmt, stamped=...)` says what plainly looks wrong with a scan: too small or too
blurry to read, no red company seal on a document that must carry one, a PDF that needs a
password or shows nothing. It is a hint to the customer ("this looks blurry: upload again or
send it anyway"), never a verdict: the reviewer decides.

Pure and synchronous (Pillow and pypdf do the work), so it runs in a worker thread. It keeps
nothing: the caller holds the bytes for the length of the call and drops them afterwards; the
answer is a tuple of `Finding`s, which say nothing about the document's contents.

What it cannot see, by design:
- a seal drawn as vector graphics in a PDF (pypdf does not render pages): for a PDF only its
  embedded images are looked at, and `no_seal` is said only when there are images to look at
  and none shows a red seal; a PDF of text and vector drawings gets no seal finding at all;
- red that is not a seal (a red letterhead) passes for one; a seal scanned in greyscale is not
  red, so it is reported missing (which is true of what a reviewer sees).
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterable, Iterator
from enum import StrEnum

from PIL import Image, ImageFilter, ImageStat
from pypdf import PageObject, PasswordType, PdfReader
from pypdf.generic import DictionaryObject

from bot.documents.formats import MAX_IMAGE_PIXELS, FileFormat

log = logging.getLogger(__name__)


class Finding(StrEnum):
    """What looks wrong with an upload. Values are stored: never rename. Each has a message
    `uploads.findings.<value>`."""

    TOO_SMALL = "too_small"
    BLURRY = "blurry"
    NO_SEAL = "no_seal"
    PDF_ENCRYPTED = "pdf_encrypted"
    PDF_EMPTY = "pdf_empty"
    UNREADABLE = "unreadable"  # Pillow or pypdf cannot open it at all


# What the customer is told about the findings of an upload, and what the buttons say.
FINDINGS_INTRO_KEY = "uploads.findings.intro"  # {document}: label
FINDINGS_CHOOSE_KEY = "uploads.findings.choose"
UPLOAD_AGAIN_KEY = "uploads.findings.upload_again"
SEND_ANYWAY_KEY = "uploads.findings.send_anyway"
UPLOAD_AGAIN_HOW_KEY = "uploads.findings.upload_again_how"  # {document}: label
SENT_ANYWAY_KEY = "uploads.findings.sent_anyway"  # {user}: mention, {document}: label


def finding_key(finding: str) -> str:
    """The customer's sentence about a finding (a `Finding` value, as documents store it)."""
    return f"uploads.findings.{finding}"


def finding_short_key(finding: str) -> str:
    """A finding's short name, for the review card."""
    return f"uploads.findings.short.{finding}"


FINDING_KEYS = frozenset(
    {
        FINDINGS_INTRO_KEY,
        FINDINGS_CHOOSE_KEY,
        UPLOAD_AGAIN_KEY,
        SEND_ANYWAY_KEY,
        UPLOAD_AGAIN_HOW_KEY,
        SENT_ANYWAY_KEY,
        *(finding_key(f) for f in Finding),
        *(finding_short_key(f) for f in Finding),
    }
)


# -- thresholds -----------------------------------------------------------------------------------

# An ID card scanned at 150 dpi is about 500 × 320 pixels, a business licence at 100 dpi about
# 1,150 × 830; below 400 pixels on the short side the small print of either cannot be read.
MIN_SHORT_SIDE = 400

# Sharpness is measured on the picture scaled down to this long side (never up): a 4,000-pixel
# phone photo with a slight blur reads fine, and a 600-pixel scan is judged as it is. A fixed
# size keeps the camera's resolution from deciding the answer.
WORK_SIDE = 1000
# Sharpness = the strong end (99.5th percentile) of the edge response, relative to the
# picture's contrast (its 99th minus 1st percentile of brightness). Sharp text on paper scores
# about 1 and more; a Gaussian blur of 2 working pixels, where small print stops being
# legible, brings it under 0.5. Tuned on the sample scans in tests/documents.
MIN_SHARPNESS = 0.5
EDGE_PERCENTILE = 99.5
# Below this contrast (brightness levels) there is no text to judge: an almost blank page is
# not called blurry (it is empty, or a photo of a wall, which the reviewer will see).
MIN_CONTRAST = 40

# A red seal, in Pillow's HSV (every channel 0-255): hue within about 20° of pure red on either
# side (vermilion to crimson inks), saturated and bright enough not to be a brown shadow or a
# pink cast of a photo.
RED_HUE_BELOW = 15  # 0-15 ≈ 0-21°: red to vermilion
RED_HUE_ABOVE = 240  # 240-255 ≈ 339-360°: crimson
MIN_RED_SATURATION = 90
MIN_RED_VALUE = 70
# A 40 mm seal on an A4 page covers about 2 % of it, of which the ink (ring, star and text) is a
# third or so; a seal on an ID card copy covers more. 0.2 % of the picture is well below either
# and above the scattered red pixels of a noisy photo, which the median filter removes first.
MIN_SEAL_SHARE = 0.002
# The seal's ink is in one place: some cell of a 32-pixel grid is at least this red.
MIN_SEAL_CELL = 0.08
SEAL_CELL = 32

# Pages of a PDF looked at: a qualification document has one or two; a 300-page PDF is not one,
# and reading every page of it would only cost time.
MAX_PDF_PAGES = 10


def precheck(data: bytes, fmt: FileFormat, *, stamped: bool) -> tuple[Finding, ...]:
    """What looks wrong with `data` (a file `fmt` was sniffed from), in `Finding` order.

    `stamped`: the document must carry the company seal. Never raises on bad input: a file
    neither library can open is `UNREADABLE`.
    """
    found: set[Finding] = set()
    try:
        with warnings.catch_warnings():
            # Pillow warns about big images and pypdf about malformed files: both are answered
            # here, as findings or limits, not as log noise.
            warnings.simplefilter("ignore")
            if fmt is FileFormat.PDF:
                found |= _pdf(data, stamped=stamped)
            elif fmt in (FileFormat.JPEG, FileFormat.PNG):
                found |= _image_file(data, fmt, stamped=stamped)
    except Exception as exc:  # a hostile file may break a parser anywhere
        # Only the exception's type: its message could quote the file's bytes.
        log.info("pre-check could not read a %s: %s", fmt.value, type(exc).__name__)
        found.add(Finding.UNREADABLE)
    return tuple(f for f in Finding if f in found)


# -- images ---------------------------------------------------------------------------------------


def _image_file(data: bytes, fmt: FileFormat, *, stamped: bool) -> set[Finding]:
    with Image.open(io.BytesIO(data), formats=[fmt.value.upper()]) as image:
        if image.width * image.height > MAX_IMAGE_PIXELS:
            return {Finding.UNREADABLE}  # fetch refuses these already; never decode one
        # JPEG can decode at 1/2, 1/4 or 1/8 scale: far less time and memory for a big photo.
        image.draft("RGB", (WORK_SIDE, WORK_SIDE))
        image.load()
        return _picture(image, stamped=stamped, full_size=image.size)


def _picture(
    image: Image.Image, *, stamped: bool, full_size: tuple[int, int] | None = None
) -> set[Finding]:
    """The findings of one picture (a whole image file, or the scan inside a PDF page)."""
    found: set[Finding] = set()
    width, height = full_size or image.size
    if min(width, height) < MIN_SHORT_SIDE:
        found.add(Finding.TOO_SMALL)
    work = _working_copy(image)
    if sharpness(work) < MIN_SHARPNESS:
        found.add(Finding.BLURRY)
    if stamped and not has_red_seal(work):
        found.add(Finding.NO_SEAL)
    return found


def _working_copy(image: Image.Image) -> Image.Image:
    if image.mode not in ("RGB", "L"):
        # Transparency is composed onto white paper, as a viewer shows it.
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, rgba)
    work = image.convert("RGB")
    if max(work.size) > WORK_SIDE:
        work.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.LANCZOS)
    return work


def _percentile(histogram: list[int], share: float) -> int:
    """The level below which `share` (0-100) of the pixels of a 256-bin histogram lie."""
    total = sum(histogram)
    wanted = total * share / 100
    running = 0
    for level, count in enumerate(histogram):
        running += count
        if running >= wanted:
            return level
    return len(histogram) - 1


def sharpness(work: Image.Image) -> float:
    """How sharp a picture is: the strong edges relative to its contrast (see MIN_SHARPNESS).

    A 3 × 3 median first removes sensor and scanner noise, which would otherwise pass for
    detail; text strokes survive it.
    """
    grey = work.convert("L").filter(ImageFilter.MedianFilter(3))
    histogram = grey.histogram()
    contrast = _percentile(histogram, 99) - _percentile(histogram, 1)
    if contrast < MIN_CONTRAST:
        return float("inf")
    edges = grey.filter(ImageFilter.FIND_EDGES)
    # The filter's border row is meaningless; crop it away.
    edges = edges.crop((1, 1, max(edges.width - 1, 2), max(edges.height - 1, 2)))
    return _percentile(edges.histogram(), EDGE_PERCENTILE) / contrast


def red_mask(work: Image.Image) -> Image.Image:
    """White where a pixel is seal red (see the RED_ thresholds), with isolated pixels removed."""
    hue, saturation, value = work.convert("HSV").split()
    red_hue = hue.point(lambda h: 255 if h <= RED_HUE_BELOW or h >= RED_HUE_ABOVE else 0)
    strong = saturation.point(lambda s: 255 if s >= MIN_RED_SATURATION else 0)
    bright = value.point(lambda v: 255 if v >= MIN_RED_VALUE else 0)
    mask = Image.new("L", work.size, 0)
    mask.paste(red_hue, mask=strong)
    black = Image.new("L", work.size, 0)
    mask = Image.composite(mask, black, bright)
    return mask.filter(ImageFilter.MedianFilter(3))


def has_red_seal(work: Image.Image) -> bool:
    """Whether enough seal-red ink, gathered in one place, is visible (see MIN_SEAL_*)."""
    mask = red_mask(work)
    share = ImageStat.Stat(mask).mean[0] / 255
    if share < MIN_SEAL_SHARE:
        return False
    cells = mask.resize(
        (max(1, mask.width // SEAL_CELL), max(1, mask.height // SEAL_CELL)),
        Image.Resampling.BOX,
    )
    densest = max(cells.getdata())
    return bool(densest / 255 >= MIN_SEAL_CELL)


# -- PDF ------------------------------------------------------------------------------------------


def _pdf(data: bytes, *, stamped: bool) -> set[Finding]:
    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted and reader.decrypt("") is PasswordType.NOT_DECRYPTED:
        # A PDF that opens with an empty password (only printing or copying restricted) is read
        # like any other; one that asks for a password cannot be reviewed at all.
        return {Finding.PDF_ENCRYPTED}
    pages = list(_first(reader.pages, MAX_PDF_PAGES))
    if not pages:
        return {Finding.PDF_EMPTY}
    found: set[Finding] = set()
    shown = False  # some page has text or an image
    pictures = 0  # embedded images looked at
    red = False
    for page in pages:
        text = (page.extract_text() or "").strip()
        images = [image for image in _page_images(page) if image is not None]
        shown = shown or bool(text) or bool(images)
        for image in images:
            pictures += 1
            red = red or (stamped and has_red_seal(_working_copy(image)))
        if images and not text:
            # A scanned page: its largest image is the scan, judged like an uploaded photo.
            scan = max(images, key=lambda i: i.width * i.height)
            found |= _picture(scan, stamped=False)
    if not shown:
        return {Finding.PDF_EMPTY}
    if stamped and pictures and not red:
        found.add(Finding.NO_SEAL)
    return found


def _first(pages: Iterable[PageObject], count: int) -> Iterator[PageObject]:
    for index, page in enumerate(pages):
        if index >= count:
            return
        yield page


def _declared_pixels(page: PageObject) -> dict[str, int]:
    """Width × height each image XObject of the page declares, by name, before decoding any."""
    resources = page.get("/Resources")
    xobjects = resources.get_object().get("/XObject") if resources is not None else None
    xobjects = xobjects.get_object() if xobjects is not None else None
    declared: dict[str, int] = {}
    if isinstance(xobjects, DictionaryObject):
        for name, ref in xobjects.items():
            obj = ref.get_object()
            if isinstance(obj, DictionaryObject) and obj.get("/Subtype") == "/Image":
                declared[str(name)] = int(obj.get("/Width", 0)) * int(obj.get("/Height", 0))
    return declared


def _page_images(page: PageObject) -> Iterator[Image.Image | None]:
    """The page's embedded images, decoded; None for one too big to decode safely (pypdf
    itself caps what a compressed stream may inflate to)."""
    declared = _declared_pixels(page)
    # Keys, not items: iterating the images decodes each before its size is known.
    for key in page.images.keys():  # noqa: SIM118
        name = key if isinstance(key, str) else str(key[-1])
        if declared.get(name, 0) > MAX_IMAGE_PIXELS:
            yield None  # a decompression bomb, or a scan no reviewer needs at that size
            continue
        yield page.images[key].image
