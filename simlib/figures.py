"""Figures for the notebooks: projections with their uncertainty bands.

A *fan chart* draws the mean across replicates with the 5-95% band
(不确定性区间) from a summary table (:func:`simlib.results.summarise`).  The
notebooks decide what to draw; this module only knows how.  :func:`show` puts a
figure in the notebook and in the run folder from one drawing.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

STRATUM_COLOURS = {"urban": "#1f77b4", "rural": "#2ca02c", "all": "#444444"}
SAVE_DPI = 120
"""The resolution of the PNG files in a run folder."""


def fan(
    ax: Axes,
    summary: pd.DataFrame,
    metric: str,
    area: str = "all",
    stratum: str = "all",
    label: str | None = None,
    colour: str | None = None,
    scale: float = 1.0,
) -> None:
    """Mean and 5-95% band of one metric over the years, on ``ax``."""
    sel = summary[
        (summary.metric == metric) & (summary.area == area) & (summary.stratum == stratum)
    ].sort_values("year")
    colour = colour or STRATUM_COLOURS.get(stratum)
    ax.fill_between(sel.year, sel.p05 / scale, sel.p95 / scale, color=colour, alpha=0.2, lw=0)
    ax.plot(sel.year, sel["mean"] / scale, color=colour, label=label or stratum, lw=2)


def fan_by_stratum(
    summary: pd.DataFrame,
    metric: str,
    title: str,
    ylabel: str,
    strata: Sequence[str] = ("urban", "rural"),
    scale: float = 1.0,
    marks: dict[tuple[int, str], float] | None = None,
) -> Figure:
    """One metric for each stratum (city totals), with optional observed points."""
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for stratum in strata:
        fan(ax, summary, metric, stratum=stratum, scale=scale)
    for (year, stratum), value in (marks or {}).items():
        ax.plot(
            [year],
            [value / scale],
            "o",
            color=STRATUM_COLOURS.get(stratum),
            mec="black",
            label=f"observed {stratum} {year}",
        )
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def save(fig: Figure, folder: str | Path | None, name: str) -> Path | None:
    """Save ``fig`` as ``folder/name.png`` (nothing when there is no folder)."""
    if folder is None:
        return None
    path = Path(folder) / f"{name}.png"
    fig.savefig(path, dpi=SAVE_DPI)
    return path


def by_area(
    summary: pd.DataFrame,
    series: Sequence[tuple[str, str, str]],
    areas: Sequence[str],
    title: str,
    ylabel: str,
    scale: float = 1.0,
) -> Figure:
    """Small multiples, one panel per area (and the city): each of ``series`` is
    (metric, label, colour), drawn with its 5-95% band, both strata together."""
    panels = [*areas, "all"]
    cols = 3
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(11, 3.0 * rows), sharex=True, squeeze=False)
    for ax, area in zip(axes.ravel(), panels, strict=False):
        for metric, label, colour in series:
            fan(ax, summary, metric, area=area, label=label, colour=colour, scale=scale)
        ax.set_title(area)
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(panels) :]:
        ax.set_visible(False)
    axes[0, 0].set_ylabel(ylabel)
    axes[0, 0].legend(frameon=False, fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def show(fig: Figure, folder: str | Path | None, name: str) -> None:
    """Show ``fig`` in the notebook and save it as ``folder/name.png`` (nothing saved when
    there is no folder), from one drawing; the figure is closed.  It returns nothing, so
    that a cell ending with it shows no value.

    The notebook shows the PNG of the file (:data:`SAVE_DPI`), sized on screen as
    matplotlib's inline display sizes the figure (its own dpi), instead of drawing the
    figure a second time for the screen.  Outside IPython nothing is shown.
    """
    from simlib.files import write_atomic

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=SAVE_DPI)
    png = buffer.getvalue()
    if folder is not None:
        write_atomic(Path(folder) / f"{name}.png", lambda p: p.write_bytes(png))
    width, height = (round(float(v) * fig.dpi) for v in fig.get_size_inches())
    _display_png(png, repr(fig), width, height)
    plt.close(fig)


def _display_png(png: bytes, text: str, width: int, height: int) -> None:
    """Show a PNG in the notebook, ``width`` × ``height`` on screen (nothing outside IPython)."""
    from IPython import get_ipython
    from IPython.display import display

    if get_ipython() is None:
        return
    display(
        {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": text},
        metadata={"image/png": {"width": width, "height": height}},
        raw=True,
    )
