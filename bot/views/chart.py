"""The funnel chart managers get when they ask "where do we stand?": tenants per onboarding step,
with the stalled ones in a warm colour, as PNG bytes to upload to Slack.

The drawing is a pure function of its rows and already translated words: no Slack, no Redis, no
event loop. Rendering takes a good fraction of a second of CPU, so the caller runs it in a thread
(`asyncio.to_thread`), and several may run at once. That is why this module never touches
`matplotlib.pyplot`: pyplot keeps a global "current figure" and a global backend that threads would
share and trample. Each call builds its own `Figure` and draws it with its own `FigureCanvasAgg`,
which is matplotlib's documented thread-safe way to render off the main thread, and needs no GUI.

The chart carries Chinese step names for Chinese readers. matplotlib's default font, DejaVu Sans,
has no CJK glyphs: every Chinese character would come out as an empty box. Servers rarely have a CJK
font installed and we cannot count on one, so the font comes with the `mplfonts` package from PyPI,
which ships Noto Sans CJK SC (it covers Latin letters and digits too, so one font draws every text
on the chart). The file is registered with matplotlib's font manager in this process only; we do
not run mplfonts' own set-up commands, which copy fonts and an rc file into matplotlib's
installation and would change every other chart drawn on the machine.
"""

from __future__ import annotations

import importlib.resources
import io
import threading
from collections.abc import Sequence
from pathlib import Path

from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from bot.views.funnel import FunnelRow

FONT_PACKAGE = "mplfonts"
FONT_FILE = "NotoSansCJKsc-Regular.otf"

# Warm for the tenants who need a nudge, calm for those moving along; both readable by people
# with red-green colour blindness, since they differ in hue and in lightness.
STALLED_COLOUR = "#E4572E"
MOVING_COLOUR = "#3B75AF"
# The stalled count after a bar is written in a darker shade of the stalled colour, so that it
# reads as belonging to the red part of the bar without looking like a piece of the bar.
STALLED_TEXT_COLOUR = "#9E2A12"
TEXT_COLOUR = "#333333"
MUTED_COLOUR = "#888888"

WIDTH_PX = 1000
HEIGHT_PX = 600
DPI = 100


class ChartFontMissing(RuntimeError):
    """The bundled CJK font cannot be found: without it Chinese text would draw as boxes, so the
    chart is refused rather than drawn unreadable."""


def find_font_file(package: str = FONT_PACKAGE, filename: str = FONT_FILE) -> Path:
    """The font file shipped inside `package`, as a path on disk (matplotlib reads fonts from files,
    lazily, so a temporary extraction would not do)."""
    hint = f"install the PyPI package {package!r} (pip install {package})"
    try:
        resource = importlib.resources.files(package) / "fonts" / filename
    except ModuleNotFoundError as error:
        raise ChartFontMissing(
            f"the chart needs the CJK font {filename} from {package!r}, which is not installed: "
            f"{hint}"
        ) from error
    if not isinstance(resource, Path) or not resource.is_file():
        raise ChartFontMissing(
            f"the CJK font {filename} is missing from the package {package!r} "
            f"(looked for {resource}): {hint}"
        )
    return resource


_font_lock = threading.Lock()
_font: FontProperties | None = None


def cjk_font() -> FontProperties:
    """The font of every text on the chart, registered with matplotlib once per process (so the
    font manager knows "Noto Sans CJK SC" by name too, for anything that looks a font up by family).

    The properties name the file itself rather than the family "Noto Sans CJK SC": a machine with
    another font of that family installed would otherwise resolve to that one, or to whichever the
    font manager scores first, and the chart would look different from one machine to the next."""
    global _font
    with _font_lock:
        if _font is None:
            path = find_font_file()
            font_manager.fontManager.addfont(path)
            _font = FontProperties(fname=path)
        return _font


def funnel_figure(
    rows: Sequence[FunnelRow],
    *,
    title: str,
    stalled_label: str,
    moving_label: str,
    empty_label: str,
) -> Figure:
    """The chart as a matplotlib figure, not yet rendered (`funnel_png` renders it)."""
    font = cjk_font()
    figure = Figure(
        figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI),
        dpi=DPI,
        # A margin round the edges, so Slack's rounded preview does not clip the step names.
        layout=ConstrainedLayoutEngine(w_pad=0.2, h_pad=0.15),
    )
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    ax.set_title(title, fontproperties=font, fontsize=16, color=TEXT_COLOUR, loc="left", pad=14)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(colors=TEXT_COLOUR, labelsize=12)

    # First step at the top: row i sits at y = -i, so rows go down the chart in order.
    positions = [-index for index in range(len(rows))]
    ax.set_yticks(positions, [row.label for row in rows], fontproperties=font, fontsize=12)
    ax.set_ylim(-max(len(rows), 1) + 0.5, 0.5)

    largest = max((row.total for row in rows), default=0)
    if largest == 0:
        _draw_empty(ax, font, empty_label)
        return figure

    moving = [row.total - row.stalled for row in rows]
    stalled = [row.stalled for row in rows]
    ax.barh(positions, moving, height=0.66, color=MOVING_COLOUR)
    ax.barh(positions, stalled, left=moving, height=0.66, color=STALLED_COLOUR)
    for y, row in zip(positions, rows, strict=True):
        _write_count(ax, font, y, row)

    # Room after the longest bar for its count; ticks on whole tenants only.
    ax.set_xlim(0, largest * 1.16)
    ticks = [t for t in MaxNLocator(integer=True).tick_values(0, largest) if 0 <= t <= largest]
    ax.set_xticks(ticks, [str(int(t)) for t in ticks], fontproperties=font, fontsize=11)
    ax.grid(axis="x", color="#E6E6E6", linewidth=0.8)
    ax.set_axisbelow(True)

    # The legend sits above the plot, right of the title, where no bar can run under it.
    legend_font = font.copy()
    legend_font.set_size(12)
    ax.legend(
        handles=[
            Patch(color=MOVING_COLOUR, label=moving_label),
            Patch(color=STALLED_COLOUR, label=stalled_label),
        ],
        prop=legend_font,
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncols=2,
        frameon=False,
        borderaxespad=0.2,
    )
    return figure


def _write_count(ax: Axes, font: FontProperties, y: float, row: FunnelRow) -> None:
    """The count after the bar, as "12 · 3": the total, then the stalled number in the stalled
    colour. Digits only, no words, so that the text reads the same in every language; the legend
    tells which colour is which."""
    total = ax.annotate(
        str(row.total),
        xy=(row.total, y),
        xytext=(6, 0),
        textcoords="offset points",
        va="center",
        ha="left",
        fontproperties=font,
        fontsize=12,
        color=TEXT_COLOUR,
    )
    if row.stalled:
        # Placed against the drawn extent of the total, whatever its width in pixels.
        ax.annotate(
            f" · {row.stalled}",
            xy=(1.0, 0.5),
            xycoords=total,
            va="center",
            ha="left",
            fontproperties=font,
            fontsize=12,
            color=STALLED_TEXT_COLOUR,
        )


def _draw_empty(ax: Axes, font: FontProperties, empty_label: str) -> None:
    """No tenant anywhere: the axes stay, so the chart still looks like the funnel it will become,
    with the reason in the middle instead of bars."""
    ax.set_xlim(0, 1)
    ax.set_xticks([0], ["0"], fontproperties=font, fontsize=11)
    ax.text(
        0.5,
        0.5,
        empty_label,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontproperties=font,
        fontsize=16,
        color=MUTED_COLOUR,
    )


def funnel_png(
    rows: Sequence[FunnelRow],
    *,
    title: str,
    stalled_label: str,
    moving_label: str,
    empty_label: str,
) -> bytes:
    """The funnel of onboardings per step as a 1000x600 PNG: one horizontal bar per step, first
    step at the top, its length the step's tenants, the stalled share in a warm colour.

    Every word arrives translated; the chart adds none of its own. Safe to call from several
    threads at once."""
    figure = funnel_figure(
        rows,
        title=title,
        stalled_label=stalled_label,
        moving_label=moving_label,
        empty_label=empty_label,
    )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()
