"""Chinese figures are drawn with the CJK font shipped by mplfonts, not with boxes.

A figure with a Chinese title is rendered to PNG (Agg) and the renderer is watched: the
font files it asks for, and the "Glyph ... missing from font(s)" warnings matplotlib gives
when a font lacks a character.  With the CJK font, the title is drawn from the mplfonts
file and no glyph is missing; with DejaVu Sans alone the same title warns, so the check
can fail.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import pytest
from matplotlib import font_manager
from matplotlib.backends import backend_agg
from matplotlib.figure import Figure

from simlib import budget_figures
from simlib.fonts import font_file, use_cjk_font
from tests.test_budget import make_ledger

TITLE = "分资金来源支出（各次模拟均值），名义值 −1"


@pytest.fixture(autouse=True)
def _restore_matplotlib():
    with mpl.rc_context():  # use_cjk_font changes rcParams: put them back after each test
        yield
    plt.close("all")


def render(fig: Figure, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[Path]]:
    """Draw ``fig`` to PNG with Agg; the glyph warnings and the font files the renderer used."""
    used: list[Path] = []
    get_font = backend_agg.get_font

    def watched(paths, *args, **kwargs):
        used.extend(Path(p) for p in (paths if isinstance(paths, list) else [paths]))
        return get_font(paths, *args, **kwargs)

    monkeypatch.setattr(backend_agg, "get_font", watched)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(io.BytesIO(), format="png", dpi=50)
    return [str(w.message) for w in caught if "Glyph" in str(w.message)], used


def test_the_font_comes_from_mplfonts():
    path = font_file()
    assert path.name == "NotoSansCJKsc-Regular.otf" and path.parent.parent.name == "mplfonts"
    assert path.stat().st_size > 1_000_000  # the full font, not a stub


def test_use_cjk_font_is_idempotent():
    family = use_cjk_font()
    assert family == "Noto Sans CJK SC"
    first = list(mpl.rcParams["font.sans-serif"])
    assert first[:2] == ["Noto Sans CJK SC", "DejaVu Sans"]
    assert use_cjk_font() == family
    assert mpl.rcParams["font.sans-serif"] == first  # no family added twice
    registered = [f.name for f in font_manager.fontManager.ttflist if Path(f.fname) == font_file()]
    assert registered.count(family) == 1  # the file is registered once
    mpl.rcdefaults()  # a later call puts the font back first
    use_cjk_font()
    assert mpl.rcParams["font.sans-serif"][0] == family


def test_a_chinese_title_is_drawn_with_the_cjk_font(monkeypatch):
    use_cjk_font()
    fig, ax = plt.subplots()
    title = ax.set_title(TITLE)
    ax.plot([-1, 1])
    assert Path(font_manager.findfont(title.get_fontproperties())) == font_file()
    missing, used = render(fig, monkeypatch)
    assert missing == []
    assert used and set(used) == {font_file()}  # every text, Latin ticks too, from the file


def test_without_the_cjk_font_the_glyphs_are_missing(monkeypatch):
    with mpl.rc_context({"font.sans-serif": ["DejaVu Sans"]}):
        fig, ax = plt.subplots()
        ax.set_title(TITLE)
        missing, used = render(fig, monkeypatch)
    assert any("missing from font(s) DejaVu Sans" in m for m in missing)
    assert font_file() not in used


def test_chinese_budget_figures_use_the_cjk_font(monkeypatch):
    mpl.rcdefaults()
    fig = budget_figures.spending_by_funder(make_ledger(), lang="zh")  # puts the font in use
    assert mpl.rcParams["font.sans-serif"][0] == "Noto Sans CJK SC"
    missing, used = render(fig, monkeypatch)
    assert missing == [] and set(used) == {font_file()}
    # English figures do not need it, and do not ask for it
    mpl.rcdefaults()
    budget_figures.spending_by_funder(make_ledger(), lang="en")
    assert "Noto Sans CJK SC" not in mpl.rcParams["font.sans-serif"]
