"""The funnel chart: a PNG of the expected size, Chinese drawn with the bundled CJK font and no
missing glyph, bars measured in the decoded image against the data, and renders from threads
that do not disturb each other."""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt
import pytest
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image

from bot.views.chart import (
    FONT_FILE,
    MOVING_COLOUR,
    STALLED_COLOUR,
    ChartFontMissing,
    FunnelRow,
    cjk_font,
    find_font_file,
    funnel_figure,
    funnel_png,
)

ZH = {
    "title": "各步骤的客户入驻进度",
    "stalled_label": "停滞",
    "moving_label": "进行中",
    "empty_label": "暂无客户",
}
EN = {
    "title": "Onboardings per step",
    "stalled_label": "Stalled",
    "moving_label": "Moving",
    "empty_label": "No onboardings yet",
}
ZH_ROWS = [
    FunnelRow("1. 注册腾讯云账号", 40, 2),
    FunnelRow("2. 开通云联络中心", 31, 5),
    FunnelRow("4. 完成企业资质审核", 12, 3),
    FunnelRow("5. 配置 SIP 中继", 8, 8),
    FunnelRow("8. 上线验收", 1, 0),
]


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def pixels(data: bytes) -> npt.NDArray[np.int16]:
    return np.asarray(decode(data).convert("RGB"), dtype=np.int16)


def near(image: npt.NDArray[np.int16], colour: str, tolerance: int = 24) -> npt.NDArray[np.bool_]:
    """Pixels within `tolerance` of `colour` on every channel: the inside of a bar, not the
    antialiased blend at its edge."""
    target = np.array([round(c * 255) for c in to_rgb(colour)], dtype=np.int16)
    close: npt.NDArray[np.bool_] = np.all(np.abs(image - target) <= tolerance, axis=2)
    return close


def bars(mask: npt.NDArray[np.bool_], min_length: int = 60) -> list[int]:
    """The lengths in pixels of the horizontal bars in `mask`, top to bottom: runs of image rows
    with at least `min_length` matching pixels (the legend's swatches are shorter), each measured
    by its longest row."""
    counts = mask.sum(axis=1)
    lengths: list[int] = []
    inside = False
    for count in counts:
        if count >= min_length:
            if not inside:
                lengths.append(0)
                inside = True
            lengths[-1] = max(lengths[-1], int(count))
        else:
            inside = False
    return lengths


def png(rows: Sequence[FunnelRow], words: dict[str, str] = EN) -> bytes:
    return funnel_png(rows, **words)


def test_the_chart_is_a_png_of_the_expected_size() -> None:
    data = png(ZH_ROWS, ZH)
    image = decode(data)
    assert image.format == "PNG"
    assert image.size == (1000, 600)
    assert len(data) < 200_000


def test_chinese_text_draws_without_a_missing_glyph() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png(ZH_ROWS, ZH)
        png([FunnelRow("1. 注册腾讯云账号", 0, 0)], ZH)
    glyphs = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert glyphs == []


def test_a_font_without_chinese_is_caught_by_that_check() -> None:
    """The check above can fail: the same text in matplotlib's default font warns."""
    figure = Figure()
    FigureCanvasAgg(figure)
    figure.text(0.5, 0.5, ZH["title"], family="DejaVu Sans")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure.savefig(io.BytesIO(), format="png")
    assert any("missing from font" in str(w.message) for w in caught)


def test_every_text_on_the_chart_is_in_the_bundled_cjk_font() -> None:
    font_file = find_font_file()
    assert font_file.name == FONT_FILE == "NotoSansCJKsc-Regular.otf"
    assert font_file.parent.parent.name == "mplfonts"
    assert font_manager.findfont(cjk_font()) == str(font_file)

    figure = funnel_figure(ZH_ROWS, **ZH)
    figure.canvas.draw()
    texts = [t for t in figure.findobj(Text) if t.get_visible() and t.get_text()]
    shown = {t.get_text() for t in texts}
    # Title, legend, step names, counts and axis numbers are all among them.
    assert {ZH["title"], ZH["stalled_label"], "1. 注册腾讯云账号", "40", " · 2", "0"} <= shown
    fonts = {t.get_text(): font_manager.findfont(t.get_fontproperties()) for t in texts}
    assert {text: path for text, path in fonts.items() if path != str(font_file)} == {}


def test_the_font_is_registered_with_matplotlib_by_name() -> None:
    cjk_font()
    names = {entry.name for entry in font_manager.fontManager.ttflist}
    assert "Noto Sans CJK SC" in names


def test_a_missing_font_is_refused_naming_the_package() -> None:
    with pytest.raises(ChartFontMissing, match="mplfonts"):
        find_font_file("mplfonts", "NoSuchFont-Regular.otf")
    with pytest.raises(ChartFontMissing, match="no_such_font_package"):
        find_font_file("no_such_font_package", FONT_FILE)


def test_bar_lengths_follow_the_totals_first_step_on_top() -> None:
    image = pixels(png([FunnelRow("1", 40, 0), FunnelRow("2", 20, 0), FunnelRow("3", 10, 0)]))
    lengths = bars(near(image, MOVING_COLOUR))
    assert len(lengths) == 3
    top, middle, bottom = lengths
    assert top / middle == pytest.approx(2, rel=0.05)
    assert top / bottom == pytest.approx(4, rel=0.05)
    assert bars(near(image, STALLED_COLOUR)) == []


def test_the_stalled_share_of_each_bar_is_in_the_stalled_colour() -> None:
    rows = [FunnelRow("1", 10, 10), FunnelRow("2", 10, 5), FunnelRow("3", 10, 0)]
    image = pixels(png(rows))
    stalled, moving = near(image, STALLED_COLOUR), near(image, MOVING_COLOUR)
    stalled_bars, moving_bars = bars(stalled), bars(moving)
    # All stalled at the top, half and half in the middle, none stalled at the bottom.
    assert len(stalled_bars) == 2
    assert len(moving_bars) == 2
    full = stalled_bars[0]
    assert stalled_bars[1] / full == pytest.approx(0.5, rel=0.05)
    assert moving_bars[0] / full == pytest.approx(0.5, rel=0.05)
    assert moving_bars[1] / full == pytest.approx(1, rel=0.05)
    # The fully stalled bar is above every moving one.
    stalled_rows = np.flatnonzero(stalled.sum(axis=1) >= 60)
    moving_rows = np.flatnonzero(moving.sum(axis=1) >= 60)
    assert stalled_rows.min() < moving_rows.min()


def test_more_stalled_tenants_means_more_stalled_pixels() -> None:
    def stalled_share(stalled: int) -> float:
        image = pixels(png([FunnelRow("1", 20, stalled), FunnelRow("2", 20, 0)]))
        red, blue = int(near(image, STALLED_COLOUR).sum()), int(near(image, MOVING_COLOUR).sum())
        return red / (red + blue)

    few, many = stalled_share(2), stalled_share(16)
    assert few < many
    # 2 and 16 of the 40 tenants; the legend's two equal swatches pull both a little towards 1/2.
    assert few == pytest.approx(2 / 40, abs=0.03)
    assert many == pytest.approx(16 / 40, abs=0.03)


@pytest.mark.parametrize("rows", [[], [FunnelRow("1. 注册腾讯云账号", 0, 0), FunnelRow("2", 0, 0)]])
def test_an_empty_funnel_has_no_bars_but_says_why(rows: list[FunnelRow]) -> None:
    data = png(rows, ZH)
    image = pixels(data)
    assert decode(data).size == (1000, 600)
    assert not near(image, STALLED_COLOUR).any()
    assert not near(image, MOVING_COLOUR).any()
    figure = funnel_figure(rows, **ZH)
    assert ZH["empty_label"] in {t.get_text() for t in figure.findobj(Text)}


def test_the_chart_adds_no_words_of_its_own() -> None:
    """Counts are digits only: the English words given are the only letters on the chart."""
    figure = funnel_figure([FunnelRow("1", 12, 3), FunnelRow("2", 4, 0)], **EN)
    figure.canvas.draw()
    given = {"1", "2", *EN.values()}
    for text in figure.findobj(Text):
        content = text.get_text()
        if content and content not in given:
            assert not any(c.isalpha() for c in content), content


def test_charts_drawn_from_threads_at_once_match_those_drawn_one_by_one() -> None:
    jobs = [
        (ZH_ROWS, ZH),
        ([FunnelRow("1. Sign up", 7, 7), FunnelRow("4. Qualification review", 3, 1)], EN),
        ([FunnelRow("1", 0, 0)], EN),
        (list(reversed(ZH_ROWS)), ZH),
    ]
    alone = [png(rows, words) for rows, words in jobs]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        together = list(pool.map(lambda job: png(*job), jobs))
    for data in together:
        assert decode(data).size == (1000, 600)
    assert together == alone
    assert len(set(together)) == len(jobs)


@pytest.mark.parametrize(("total", "stalled"), [(-1, 0), (3, 4), (3, -1)])
def test_a_row_with_impossible_counts_is_refused(total: int, stalled: int) -> None:
    with pytest.raises(ValueError):
        FunnelRow("1", total, stalled)
