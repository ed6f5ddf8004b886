"""Figures of a sensitivity sweep: the tornado chart and the outputs against each parameter.

A *tornado chart* (龙卷风图) has one horizontal bar per parameter, the longest at the
top: the output with the parameter at its low bound (one colour) and at its high
bound (the other), the others at the scenario's values; the vertical line is the
scenario as it stands.  One panel per output.  The *scatter* shows every design
point's output against each parameter: a cloud with a slope is a parameter that
matters, a flat band one that does not, a fan an interaction.

``lang="zh"`` labels in Chinese (the parameters' ``label_zh``, metric names from the
glossary).  Both languages draw with the CJK font of :mod:`simlib.fonts`: money is in 亿元.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from simlib.glossary import label, unit

if TYPE_CHECKING:
    from simlib.sweep_output import SweepOutcome

LOW_COLOUR, HIGH_COLOUR = "#1f77b4", "#d62728"
TEXT = {
    "en": {"low": "at low bound", "high": "at high bound", "base": "scenario", "x": "×"},
    "zh": {"low": "取下限", "high": "取上限", "base": "情景原值", "x": "倍"},
}


def _use_lang(lang: str) -> dict[str, str]:
    """The words of ``lang``; the CJK font in both languages (money is shown in 亿元, and the
    font has Latin letters too)."""
    from simlib.fonts import use_cjk_font

    if lang not in TEXT:
        raise ValueError(f"unknown language {lang!r}: use zh or en")
    use_cjk_font()
    return TEXT[lang]


def output_title(outcome: SweepOutcome, column: str, lang: str = "en") -> str:
    """The title of an output: the metric's label, the year, area and stratum, the unit."""
    o = next(o for o in outcome.sweep.params.outputs if o.column == column)
    where = "" if (o.area, o.stratum) == ("all", "all") else f", {o.area} {o.stratum}"
    shown = outcome.units[column]
    if lang == "zh" and shown.startswith("亿元") and unit(o.metric, "zh").startswith("元"):
        shown = "亿" + unit(o.metric, "zh")  # 元/年 -> 亿元/年
    return f"{label('metrics', o.metric, lang)} {o.year}{where} ({shown})"


def parameter_label(outcome: SweepOutcome, name: str, lang: str = "en") -> str:
    """A parameter's name (Chinese label if asked and given) with its range."""
    p = outcome.sweep.params.parameters[name]
    words = _use_lang(lang)
    shown = p.label_zh if (lang == "zh" and p.label_zh) else name
    times = words["x"] if p.bounds == "multiplier" else ""
    return f"{shown}\n{p.low:g}–{p.high:g}{times}"


def tornado_chart(outcome: SweepOutcome, lang: str = "en") -> Figure:
    """One tornado panel per output (see the module docstring)."""
    words = _use_lang(lang)
    columns = list(outcome.tornado)
    k = len(outcome.sweep.params.parameters)
    fig, axes = plt.subplots(
        len(columns), 1, figsize=(8, 1.0 + 0.55 * k * len(columns) + 0.6), squeeze=False
    )
    for ax, column in zip(axes[:, 0], columns, strict=True):
        bars = outcome.tornado[column].iloc[::-1]  # the longest bar at the top
        base = float(bars.output_base.iloc[0])
        ys = np.arange(len(bars))
        # low above high in each row, so that both show when they fall on the same side
        ax.barh(
            ys + 0.17, bars.change_low, left=base, height=0.34, color=LOW_COLOUR, label=words["low"]
        )
        ax.barh(
            ys - 0.17,
            bars.change_high,
            left=base,
            height=0.34,
            color=HIGH_COLOUR,
            label=words["high"],
        )
        ax.axvline(base, color="black", lw=1, label=f"{words['base']} {base:.3g}")
        ax.set_yticks(ys, [parameter_label(outcome, n, lang) for n in bars.parameter], fontsize=8)
        ax.set_title(output_title(outcome, column, lang), fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        ax.legend(frameon=False, fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def scatter(outcome: SweepOutcome, column: str, lang: str = "en") -> Figure:
    """Every design point's output against each parameter (one small panel each)."""
    _use_lang(lang)
    names = outcome.sweep.params.names
    design = outcome.points[outcome.points.part == "design"]
    factor = 1e-8 if outcome.units[column].startswith("亿元") else 1.0
    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(2.8 * cols, 2.4 * rows + 0.5), sharey=True, squeeze=False
    )
    for ax, name in zip(axes.ravel(), names, strict=False):
        ax.plot(design[name], design[column] * factor, "o", ms=3, alpha=0.6, color="#444444")
        ax.set_xlabel(parameter_label(outcome, name, lang).replace("\n", " "), fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(names) :]:
        ax.set_visible(False)
    fig.suptitle(output_title(outcome, column, lang), fontsize=10)
    fig.tight_layout()
    return fig
