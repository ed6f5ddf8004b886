"""Figures of the comparison (情景比较) and the report notebook that shows them.

Each scenario's total spending per year with its 5-95% band (万元), the difference of
each scenario's mean from the baseline's per year (grouped bars), and small multiples of
caseloads (救助对象) and beds (养老床位); the baseline dark grey and dashed.  Labels in
English or Chinese from :mod:`simlib.compare_text`.  :func:`execute_report` runs
``notebooks/compare_budgets.ipynb`` with papermill for ``simlib compare`` and
:func:`export_html` exports it as HTML without the code.  matplotlib, papermill and
nbconvert are imported when used, so that the command starts fast.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from simlib.compare import WAN, Comparison
from simlib.compare_text import text
from simlib.files import write_atomic
from simlib.glossary import Lang, label, unit

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn: the command starts fast
    from matplotlib.figure import Figure

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "compare_budgets.ipynb"


# --- figures ------------------------------------------------------------------------

BASE_COLOUR = "#444444"


def colours(comparison: Comparison) -> dict[str, Any]:
    """A colour per scenario: dark grey for the baseline, then tab10."""
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("tab10")
    return {
        s: BASE_COLOUR if i == 0 else cmap((i - 1) % 10) for i, s in enumerate(comparison.labels)
    }


def _fan(
    ax: Any, x: Any, mean: Any, low: Any, high: Any, colour: Any, name: str, base: bool
) -> None:
    """A scenario's mean (a line) and band (shaded); the baseline dashed and drawn on top, so
    that it shows where a scenario's line lies on it."""
    ax.fill_between(x, low, high, color=colour, alpha=0.15, lw=0)
    style = {"ls": "--", "lw": 1.6, "zorder": 5} if base else {"lw": 2.0}
    ax.plot(x, mean, color=colour, label=name, **style)


def _baseline_last(comparison: Comparison) -> list[tuple[str, Any]]:
    return list(colours(comparison).items())[::-1]


def spending_fans(comparison: Comparison, lang: Lang, real: bool = False) -> Figure:
    """Total spending per year, each scenario's mean and 5-95% band (万元)."""
    import matplotlib.pyplot as plt

    table = comparison.tables["totals_real" if real else "totals"]
    years = table[table.first_year == table.last_year]
    fig, ax = plt.subplots(figsize=(8, 4.2))
    for s, colour in _baseline_last(comparison):
        mine = years[years.scenario == s]
        x, base = mine.first_year, s == comparison.baseline
        _fan(ax, x, mine["mean"] / WAN, mine.p05 / WAN, mine.p95 / WAN, colour, s, base)
    _finish(
        ax, text("fig_totals", lang), text("year", lang), text("fig_wan", lang), comparison.labels
    )
    return fig


def difference_bars(comparison: Comparison, lang: Lang, view: str = "totals") -> Figure:
    """The difference of each scenario's mean total spending from the baseline's, per year
    (万元), grouped bars."""
    import matplotlib.pyplot as plt

    table = comparison.tables[view]
    years = table[(table.first_year == table.last_year) & (table.scenario != comparison.baseline)]
    others = comparison.labels[1:]
    width = 0.8 / max(len(others), 1)
    fig, ax = plt.subplots(figsize=(8, 4.2))
    palette = colours(comparison)
    for i, s in enumerate(others):
        mine = years[years.scenario == s]
        x = mine.first_year.to_numpy(float) - 0.4 + width * (i + 0.5)
        ax.bar(x, mine["diff"] / WAN, width=width, color=palette[s], label=s)
    ax.axhline(0, color="black", lw=0.8)
    title = text("fig_difference", lang, baseline=comparison.baseline)
    _finish(ax, title, text("year", lang), text("fig_wan", lang))
    return fig


def metric_fans(comparison: Comparison, name: str, lang: Lang, columns: int = 3) -> Figure:
    """Small multiples: one panel per metric of ``caseloads`` or ``beds``, each scenario's
    mean and 5-95% band per year."""
    import matplotlib.pyplot as plt

    table = comparison.tables[name]
    metrics = list(pd.unique(table.metric))
    rows = -(-len(metrics) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.0 * rows), squeeze=False)
    for ax, metric in zip(axes.flat, metrics, strict=False):
        for s, colour in _baseline_last(comparison):
            mine = table[(table.metric == metric) & (table.scenario == s)]
            base = s == comparison.baseline
            _fan(ax, mine.year, mine["mean"], mine.p05, mine.p95, colour, s, base)
        ax.set_title(label("metrics", metric, lang), fontsize=9)
        ax.set_ylabel(unit(metric, lang), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(metrics) :]:
        ax.set_visible(False)
    _legend(axes.flat[0], comparison.labels, fontsize=7)
    fig.tight_layout()
    return fig


def _legend(ax: Any, order: Sequence[str] | None, fontsize: int) -> None:
    """The legend, its entries in ``order`` (the scenarios' order) whatever the drawing order."""
    handles, names = ax.get_legend_handles_labels()
    rank = {n: i for i, n in enumerate(order or names)}
    pairs = sorted(zip(handles, names, strict=True), key=lambda hn: rank.get(hn[1], len(rank)))
    ax.legend([h for h, _ in pairs], [n for _, n in pairs], frameon=False, fontsize=fontsize)


def _finish(
    ax: Any, title: str, xlabel: str, ylabel: str, order: Sequence[str] | None = None
) -> None:
    from matplotlib.ticker import StrMethodFormatter

    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.grid(alpha=0.3, axis="y")
    _legend(ax, order, fontsize=8)
    ax.figure.tight_layout()


def save_figure(fig: Figure, folder: str | Path | None, name: str) -> bytes:
    """The figure as PNG, drawn once; saved as ``folder/name.png`` (whole or not at all) when
    there is a folder.  The figure is closed."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=110, format="png")
    plt.close(fig)
    data = buffer.getvalue()
    if folder is not None:
        write_atomic(Path(folder) / f"{name}.png", lambda p: p.write_bytes(data))
    return data


# --- the report ---------------------------------------------------------------------


def execute_report(comparison: Comparison, out: Path, lang: Lang) -> str | None:
    """Execute the comparison notebook into ``out`` and export it as HTML without the code;
    the error text, or None when it ran."""
    from simlib.notebooks import execute

    target = out / "comparison.ipynb"
    partial = out / f".comparison-tmp-{os.getpid()}.ipynb"
    parameters = {
        "run_dirs": [str(r.path.resolve()) for r in comparison.runs],
        "baseline": str(comparison.runs[0].path.resolve()),
        "lang": lang,
        "out_dir": str(out.resolve()),
    }
    try:
        error = execute(NOTEBOOK, partial, parameters)
    finally:
        if partial.exists():
            os.replace(partial, target)
    if error:
        return error
    export_html(target, text("title", lang))
    return None


def export_html(notebook: Path, title: str = "") -> Path:
    """The notebook as HTML beside it, without the code cells' inputs and without the cells
    tagged ``notebook-only``; ``title`` is the page's title."""
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_cell_tags={"notebook-only"}, enabled=True), enabled=True
    )
    nb = nbformat.read(notebook, as_version=4)
    if title:
        nb.metadata["title"] = title
    body, _ = exporter.from_notebook_node(nb)
    return write_atomic(notebook.with_suffix(".html"), lambda p: p.write_text(body, "utf-8"))
