"""Figures of the budget (民政资金预算测算): spending by programme, funder and area.

Drawn from the budget views (:func:`simlib.budget.budget_views`): stacked bars of
the mean spending across replicates by programme and by level of government, the
total with its 5-95% band (不确定性区间) in nominal and real yuan on one axes, and
each area's spending with its band.  Labels are English or Chinese (``lang``),
from the glossary (:mod:`simlib.glossary`); amounts in 亿元 (100 million yuan) or
万元 (10,000 yuan).  Chinese figures are drawn with the CJK font of
:mod:`simlib.fonts`.  Each function returns the Figure; :func:`simlib.figures.save`
writes it.
"""

from __future__ import annotations

from typing import Any, Literal

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from simlib.budget import VIEW_TITLES, budget_views, key_label, yearly
from simlib.fonts import use_cjk_font
from simlib.glossary import Lang, check_lang, label

Unit = Literal["yi", "wan"]
UNITS: dict[str, tuple[float, str]] = {"yi": (1e8, "yi_yuan"), "wan": (1e4, "wan_yuan")}
"""Each unit of the amounts: yuan in one unit, and its name (a glossary term)."""
NOMINAL_COLOUR, REAL_COLOUR = "#1f77b4", "#d62728"

TEXT = {
    # the titles are a view's title (a glossary term) followed by what is drawn
    "en": {
        "means": " (mean of replicates)",
        "band": ": mean and 5-95% band",
        "nominal": "nominal",
        "real": "real ({base} yuan)",
        "sep": ", ",
    },
    "zh": {
        "means": "（各次模拟均值）",
        "band": "：均值及5%-95%区间",
        "nominal": "名义值",
        "real": "实际值（{base}年价格）",
        "sep": "，",
    },
}


def spending_by_programme(
    ledger: pd.DataFrame,
    *,
    real: bool = False,
    lang: Lang = "en",
    unit: Unit = "yi",
    base_year: int | None = None,
) -> Figure:
    """Stacked bars of each programme's mean spending per year (programmes that pay nothing
    in any year are left out)."""
    view = yearly(budget_views(ledger, real=real)["by_programme"])
    return _stacked(view, "programme", "by_programme", real, lang, unit, _base(ledger, base_year))


def spending_by_funder(
    ledger: pd.DataFrame,
    *,
    real: bool = False,
    lang: Lang = "en",
    unit: Unit = "yi",
    base_year: int | None = None,
) -> Figure:
    """Stacked bars of the mean spending borne by each level of government per year."""
    view = yearly(budget_views(ledger, real=real)["by_funder"])
    return _stacked(view, "funder", "by_funder", real, lang, unit, _base(ledger, base_year))


def total_spending_fan(
    ledger: pd.DataFrame,
    *,
    lang: Lang = "en",
    unit: Unit = "yi",
    base_year: int | None = None,
) -> Figure:
    """The city's total spending, mean and 5-95% band, nominal and real on one axes."""
    t = TEXT[_checked(lang)]
    base = _base(ledger, base_year)
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for real, colour in ((False, NOMINAL_COLOUR), (True, REAL_COLOUR)):
        view = yearly(budget_views(ledger, real=real)["totals"])
        name = t["real"].format(base=base) if real else t["nominal"]
        _fan(ax, view, UNITS[unit][0], name, colour)
    _finish(fig, ax, _title("totals", lang) + t["band"], lang, unit)
    return fig


def spending_by_area(
    ledger: pd.DataFrame,
    *,
    real: bool = False,
    lang: Lang = "en",
    unit: Unit = "yi",
    area_names: dict[str, tuple[str, str]] | None = None,
    base_year: int | None = None,
) -> Figure:
    """Each area's spending per year, mean and 5-95% band, one line per area."""
    t = TEXT[_checked(lang)]
    view = yearly(budget_views(ledger, real=real)["by_area"])
    colours = plt.get_cmap("tab10")
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for i, area in enumerate(pd.unique(view["area"])):
        rows = view[view["area"] == area]
        _fan(ax, rows, UNITS[unit][0], key_label("area", area, lang, area_names), colours(i % 10))
    base = _base(ledger, base_year)
    title = _with_price_basis(_title("by_area", lang) + t["band"], real, t, base)
    _finish(fig, ax, title, lang, unit)
    return fig


def _stacked(
    view: pd.DataFrame,
    key: str,
    name: str,
    real: bool,
    lang: Lang,
    unit: Unit,
    base: int,
) -> Figure:
    """Stacked bars of the mean of ``view`` (year rows) by ``key``, one bar series per key."""
    t = TEXT[_checked(lang)]
    means = view.pivot(index="year", columns=key, values="mean")
    means = means[[k for k in pd.unique(view[key]) if (means[k] != 0).any()]]
    colours = plt.get_cmap("tab20" if means.shape[1] > 10 else "tab10")
    fig, ax = plt.subplots(figsize=(9, 4.2))
    bottom = np.zeros(len(means))
    for i, k in enumerate(means.columns):
        heights = means[k].to_numpy(float) / UNITS[unit][0]
        ax.bar(
            means.index,
            heights,
            bottom=bottom,
            color=colours(i),
            label=key_label(key, k, lang),
            width=0.8,
        )
        bottom += heights
    title = _with_price_basis(_title(name, lang) + t["means"], real, t, base)
    _finish(fig, ax, title, lang, unit, outside=True)
    return fig


def _fan(ax: Axes, rows: pd.DataFrame, divisor: float, label: str, colour: Any) -> None:
    """Mean (a line) and 5-95% band (a shaded area) of year rows, on ``ax``."""
    low, high = rows.p05 / divisor, rows.p95 / divisor
    ax.fill_between(rows.year, low, high, color=colour, alpha=0.2, lw=0)
    ax.plot(rows.year, rows["mean"] / divisor, color=colour, label=label, lw=2)


def _title(view: str, lang: Lang) -> str:
    return label("terms", VIEW_TITLES[view], lang)


def _with_price_basis(title: str, real: bool, t: dict[str, str], base: int) -> str:
    return title + t["sep"] + (t["real"].format(base=base) if real else t["nominal"])


def _finish(
    fig: Figure, ax: Axes, title: str, lang: Lang, unit: Unit, outside: bool = False
) -> None:
    ax.set_title(title)
    ax.set_xlabel(label("terms", "year", lang))
    ax.set_ylabel(label("terms", UNITS[unit][1], lang))
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3, axis="y")
    if outside:  # stacked: the legend lists the series top down, as they are stacked
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(
            handles[::-1],
            labels[::-1],
            frameon=False,
            fontsize=8,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
        )
    else:
        ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()


def _base(ledger: pd.DataFrame, base_year: int | None) -> int:
    """The base year of the real amounts: the year before the first simulated year."""
    return int(ledger["year"].min()) - 1 if base_year is None else base_year


def _checked(lang: str) -> Lang:
    """``lang`` checked; for Chinese, the CJK font is put in use."""
    if check_lang(lang) == "zh":
        use_cjk_font()
    return lang  # type: ignore[return-value]
