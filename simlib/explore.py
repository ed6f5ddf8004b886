"""Live exploration (探索): a quick projection of a scenario, its figure and summary line.

A researcher moves a lever (:mod:`simlib.levers`) and sees the projection change in seconds
(issue 7, part 1; DESIGN §7 "one [notebook] explores the model interactively").
:func:`project` runs the scenario without writing anything: ``replicates`` at ``scale``
(default one replicate at 5% of the persons), keeping every metric's cells and totals,
the ledger by programme and funder, and what a run folder does not hold: the bureau's
decision of each year and the stock of homes at the start and the end.  It is the model
of :func:`simlib.runs.run_scenario` (same seeds, same drivers, same numbers), without its
tables.  :func:`figure` draws the projection against a reference (the unchanged
scenario, dashed) and :func:`summary_line` says what changed.

:class:`simlib.explore_widgets.Explorer` puts the levers on sliders with a Run button, and
:mod:`simlib.walkthrough` gives the tables of the walk through the model.
"""

from __future__ import annotations

import math
import textwrap
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simlib.economy import Drivers
from simlib.errors import UserError
from simlib.institutions import stock_by_kind
from simlib.levers import Levers
from simlib.model import METRICS, CityModel
from simlib.results import STRATUM_NAMES, metric_arrays
from simlib.runs import DEFAULT_SEED, replicate_drivers, replicate_seeds
from simlib.scenario import LoadedScenario, ending_in
from simlib.standards import StandardDecision

if TYPE_CHECKING:  # matplotlib is imported when used
    from matplotlib.figure import Figure

YI = 1e8  # 亿元
WAN = 1e4  # 万元
SUMMARY_YEARS = (2020, 2030)
"""The years whose relief budget the summary line compares (the plan's end, the horizon)."""


# --- a quick projection -----------------------------------------------------------------


@dataclass
class Projection:
    """A small run kept in memory: every metric, the ledger, the bureau's decisions."""

    scenario: LoadedScenario
    levers: Levers
    scale: float
    replicates: int
    seed: int
    years: list[int]
    values: dict[str, np.ndarray]
    """metric -> (replicate, year, area + all, stratum + all), as simlib.results."""
    booked: np.ndarray
    """Yuan paid (replicate, year, programme, funder), summed over areas and strata."""
    decisions: dict[int, StandardDecision]
    """The bureau's standard decision of each year (the first replicate)."""
    stock: dict[str, dict[str, tuple[int, int]]]
    """Homes and beds by kind at the ``start`` (end of the base year) and ``end`` (first
    replicate)."""
    drivers: Drivers
    """The drivers the first replicate read."""
    seconds: float
    """Wall time of the projection."""

    def series(self, metric: str, stratum: str = "all", area: str = "all") -> pd.DataFrame:
        """One metric over the years: mean, p05 and p95 across replicates."""
        v = self.values[metric][:, :, self._area(area), STRATUM_NAMES.index(stratum)]
        return pd.DataFrame(
            {
                "year": self.years,
                "mean": v.mean(axis=0),
                "p05": np.quantile(v, 0.05, axis=0),
                "p95": np.quantile(v, 0.95, axis=0),
            }
        )

    def at(self, metric: str, year: int, stratum: str = "all", area: str = "all") -> float:
        """The mean across replicates of a metric in ``year`` (NaN when not simulated)."""
        if year not in self.years:
            return float("nan")
        v = self.values[metric][:, self.years.index(year), self._area(area)]
        return float(v[:, STRATUM_NAMES.index(stratum)].mean())

    def _area(self, area: str) -> int:
        codes = self.scenario.params.area_codes
        return len(codes) if area == "all" else codes.index(area)


def project(
    loaded: LoadedScenario,
    scale: float = 0.05,
    replicates: int = 1,
    seed: int = DEFAULT_SEED,
    end_year: int | None = None,
) -> Projection:
    """Run the scenario (to ``end_year``, default its own) and keep what the figure and the
    walk-through need.  Replicate *i* reads the seed and drivers ``run_scenario`` gives it."""
    if not 0 < scale <= 1:
        raise UserError(f"scale must be in (0, 1], not {scale}")
    if replicates < 1:
        raise UserError(f"replicates must be at least 1, not {replicates}")
    t0 = time.perf_counter()
    levers = Levers.from_scenario(loaded)
    if end_year is not None and end_year != loaded.params.years.end_year:
        loaded = ending_in(loaded, end_year)
    p = loaded.params
    common = replicate_drivers(loaded)
    raws, booked = [], []
    decisions: dict[int, StandardDecision] = {}
    stock: dict[str, dict[str, tuple[int, int]]] = {}
    first_drivers = common
    for i, child in enumerate(replicate_seeds(seed, replicates)):
        drivers = replicate_drivers(loaded, child) if p.economy.sampled_paths else common
        model = CityModel(p, scale=scale, rng=np.random.default_rng(child), drivers=drivers)
        if i == 0:
            stock["start"], first_drivers = stock_by_kind(model.homes), drivers
            model.run(lambda year, m=model: decisions.__setitem__(year, m.bureau.decision))
            stock["end"] = stock_by_kind(model.homes)
        else:
            model.run()
        raws.append(model.raw_results())
        booked.append(np.stack(model.booked).sum(axis=(3, 4)))
    return Projection(
        scenario=loaded,
        levers=levers,
        scale=scale,
        replicates=replicates,
        seed=seed,
        years=list(p.years.simulated),
        values=metric_arrays(METRICS, raws),
        booked=np.stack(booked),
        decisions=decisions,
        stock=stock,
        drivers=first_drivers,
        seconds=time.perf_counter() - t0,
    )


# --- the figure and its summary ------------------------------------------------------------

PANELS = (
    ("dibao_standard_month", ("urban", "rural"), "Dibao standard, December (低保标准)",
     "yuan / person / month", 1.0),
    ("dibao_persons", ("urban", "rural"), "Dibao recipients (低保对象)", "persons", 1.0),
    ("beds_per_1000_elderly", ("all",), "Beds per 1,000 aged 60+ (每千名老人床位)", "beds", 1.0),
    ("waiting_list", ("all",), "Waiting for a bed (轮候)", "persons", 1.0),
    ("relief_spending_total", ("all",), "Relief spending, nominal (救助支出)", "亿元 a year", YI),
    ("relief_share_of_revenue", ("all",), "Relief spending / budget revenue", "%", 0.01),
)  # fmt: skip
"""Each panel: metric, strata, title, unit, divisor."""
COLOURS = {"urban": "#1f77b4", "rural": "#2ca02c", "all": "#444444"}


def figure(result: Projection, reference: Projection | None = None) -> Figure:
    """The projections (standards, caseload, beds per 1,000 elderly, the waiting list,
    relief spending and its share of revenue) with the reference dashed, and the summary
    line as the title."""
    import matplotlib.pyplot as plt

    from simlib.fonts import use_cjk_font

    use_cjk_font()
    fig, axes = plt.subplots(2, 3, figsize=(13, 6.6))
    for ax, (metric, strata, title, unit, divisor) in zip(axes.ravel(), PANELS, strict=True):
        for stratum in strata:
            colour = COLOURS[stratum]
            name = stratum if len(strata) > 1 else "this run"
            if reference is not None:
                ref = reference.series(metric, stratum)
                ref_name = f"{name}, reference" if len(strata) > 1 else "reference"
                ax.plot(
                    ref.year,
                    ref["mean"] / divisor,
                    ls="--",
                    lw=1.3,
                    color=colour,
                    alpha=0.6,
                    label=ref_name,
                )
            s = result.series(metric, stratum)
            if result.replicates > 1:
                ax.fill_between(s.year, s.p05 / divisor, s.p95 / divisor, color=colour, alpha=0.2)
            ax.plot(s.year, s["mean"] / divisor, color=colour, lw=2, label=name)
        _marks(ax, result, metric, divisor)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(unit, fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize=7)
    fig.suptitle(textwrap.fill(summary_line(result, reference), 160), fontsize=9.5)
    # fixed margins: tight_layout would measure every label again (about 0.5 s of a redraw)
    fig.subplots_adjust(left=0.055, right=0.99, top=0.87, bottom=0.05, hspace=0.3, wspace=0.2)
    return fig


def _marks(ax: Any, result: Projection, metric: str, divisor: float) -> None:
    """The plan targets of the metric (triangles), and the fiscal cap on the share panel."""
    for t in result.scenario.params.plan_targets:
        if t.metric == metric and t.stratum == "all" and t.year in result.years:
            ax.plot(
                [t.year],
                [float(t.threshold.at(t.year)) / divisor],
                "v",
                color="#d62728",
                ms=7,
                label=f"plan target {t.year}",
            )
    cap = result.levers.fiscal_cap
    if metric == "relief_share_of_revenue" and cap is not None:
        ax.axhline(cap / divisor, color="#d62728", ls=":", lw=1.2, label="fiscal cap")


def summary_line(result: Projection, reference: Projection | None = None) -> str:
    """One line: relief spending in 2020 and 2030 (against the reference), the levers changed."""
    parts = []
    for year in SUMMARY_YEARS:
        value = result.at("relief_spending_total", year)
        if math.isnan(value):
            parts.append(f"{year}: not simulated")
            continue
        text = f"{year}: {value / YI:.2f} 亿元"
        if reference is not None:
            ref = reference.at("relief_spending_total", year)
            if not math.isnan(ref):
                diff = value - ref
                pct = diff / ref if ref else float("nan")
                text += f" ({diff / WAN:+,.0f} 万元, {pct:+.1%} against the reference)"
        parts.append(text)
    line = "Relief spending " + "; ".join(parts) + "."
    if reference is not None:
        changed = result.levers.differences(reference.levers)
        shown = ", ".join(f"{k} {_show(b)} → {_show(a)}" for k, (a, b) in changed.items())
        line += f" Changed: {shown or 'nothing'}."
    return line


def _show(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)
