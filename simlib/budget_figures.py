"""Figures of the budget (民政资金预算测算): spending by programme, funder and area.

Drawn from the budget views (:func:`simlib.budget.budget_views`): stacked bars of
the mean spending across replicates by programme and by level of government, the
total with its 5-95% band (不确定性区间) in nominal and real yuan on one axes, and
each area's spending with its band.  Labels are English or Chinese (``lang``),
from the registry of :mod:`simlib.ledger`; amounts in 亿元 (100 million yuan) or
万元 (10,000 yuan).  Each function returns the Figure; :func:`simlib.figures.save`
writes it.
"""

from __future__ import annotations

from typing import Any, Literal

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from simlib.budget import Lang, budget_views, key_label, yearly

Unit = Literal["yi", "wan"]
UNITS: dict[str, tuple[float, str, str]] = {
    "yi": (1e8, "100 million yuan", "亿元"),
    "wan": (1e4, "10,000 yuan", "万元"),
}
NOMINAL_COLOUR, REAL_COLOUR = "#1f77b4", "#d62728"

TEXT = {
    "en": {
        "by_programme": "Spending by programme (mean of replicates)",
        "by_funder": "Spending by level of government (mean of replicates)",
        "by_area": "Spending by area: mean and 5-95% band",
        "totals": "Total spending: mean and 5-95% band",
        "nominal": "nominal",
        "real": "real ({base} yuan)",
        "year": "Year",
        "sep": ", ",
    },
    "zh": {
        "by_programme": "分项目支出（各次模拟均值）",
        "by_funder": "分资金来源支出（各次模拟均值）",
        "by_area": "分地区支出：均值及5%-95%区间",
        "totals": "支出合计：均值及5%-95%区间",
        "nominal": "名义值",
        "real": "实际值（{base}年价格）",
        "year": "年份",
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
        label = t["real"].format(base=base) if real else t["nominal"]
        _fan(ax, view, UNITS[unit][0], label, colour)
    _finish(fig, ax, t["totals"], lang, unit)
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
    title = _with_price_basis(t["by_area"], real, t, _base(ledger, base_year))
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
    _finish(fig, ax, _with_price_basis(t[name], real, t, base), lang, unit, outside=True)
    return fig


def _fan(ax: Axes, rows: pd.DataFrame, divisor: float, label: str, colour: Any) -> None:
    """Mean (a line) and 5-95% band (a shaded area) of year rows, on ``ax``."""
    low, high = rows.p05 / divisor, rows.p95 / divisor
    ax.fill_between(rows.year, low, high, color=colour, alpha=0.2, lw=0)
    ax.plot(rows.year, rows["mean"] / divisor, color=colour, label=label, lw=2)


def _with_price_basis(title: str, real: bool, t: dict[str, str], base: int) -> str:
    return title + t["sep"] + (t["real"].format(base=base) if real else t["nominal"])


def _finish(
    fig: Figure, ax: Axes, title: str, lang: Lang, unit: Unit, outside: bool = False
) -> None:
    ax.set_title(title)
    ax.set_xlabel(TEXT[lang]["year"])
    ax.set_ylabel(UNITS[unit][2] if lang == "zh" else UNITS[unit][1])
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
    if lang not in TEXT:
        raise ValueError(f"lang must be 'en' or 'zh', not {lang!r}")
    return lang  # type: ignore[return-value]
