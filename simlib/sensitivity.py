"""Sensitivity indices (灵敏度指标): how much each parameter moves an output.

Every index here is computed from a design's points (:mod:`simlib.sweep_design`) and
one output per point (e.g. the 2030 relief budget):

**Morris** (``SALib.analyze.morris``; Morris 1991, Campolongo et al. 2007).  An
elementary effect is the change of the output when one parameter takes one step along
a trajectory, divided by the step as a share of the parameter's range: it is the change
the parameter would make across its whole range if the model were linear in it.
``mu_star`` is the mean of their absolute values (importance, in the output's unit),
``mu`` their mean (its sign: the direction), ``sigma`` their standard deviation (the
effect depends on where the others are: non-linearity or interaction), and
``mu_star_conf`` the half-width of a bootstrap 95% interval of ``mu_star``.  For
``y = 3a`` with ``a`` from 0 to 2, every elementary effect is 3 × 2 = 6.

**Sobol'** (``SALib.analyze.sobol``; Sobol' 1993, Saltelli et al. 2010).  Shares of the
output's variance when the parameters are independent and uniform between their
bounds: ``S1`` the share due to the parameter alone, ``ST`` (total) the share it is
part of, with interactions; ``ST − S1`` measures its interactions, and ``ST ≈ 0`` says
it can be fixed anywhere in its range.  ``*_conf``: bootstrap 95% half-widths.

**Regression** (grid and Latin-hypercube designs; numpy/scipy).  The standardised
regression coefficient ``SRC`` is the slope of the least-squares fit of the output on
all parameters, times the parameter's standard deviation over the output's: a
parameter moved by one standard deviation moves the output by ``SRC`` of its standard
deviations.  With independent parameters ``SRC²`` is the share of the variance it
explains linearly and the ``SRC²`` add up to the fit's ``R2``.  The same on ranks
(``SRRC``, ``R2_rank``, scipy.stats.rankdata) captures monotone but non-linear effects.
The coefficients mean little when ``R2`` is low (below about 0.7): use Morris or Sobol'.

**Tornado** (one at a time).  The output with one parameter at its low and at its high
bound, the others at the scenario's values; the bar's length (``swing``) is the
difference.  It ignores interactions, and with a non-monotone effect the largest change
may lie inside the range.

**Ranking.**  For each output, the parameters ordered by the design's measure: Morris
``mu_star``, Sobol' ``ST``, regression ``SRC2``; with the tornado beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

MEASURE = {"morris": "mu_star", "sobol": "ST", "grid": "SRC2", "latin_hypercube": "SRC2"}
"""The index a design's ranking is ordered by."""
CONFIDENCE = {"mu_star": "mu_star_conf", "ST": "ST_conf"}
RESAMPLES = 1000


def _problem(names: Sequence[str], lows: Sequence[float], highs: Sequence[float]) -> dict:
    from simlib.sweep_design import salib_problem

    return salib_problem(names, lows, highs)


def morris_indices(
    names: Sequence[str],
    lows: Sequence[float],
    highs: Sequence[float],
    x: np.ndarray,
    y: np.ndarray,
    levels: int,
    seed: int = 1,
) -> pd.DataFrame:
    """Morris mu, mu_star, sigma and mu_star_conf per parameter (SALib, unscaled effects)."""
    from SALib.analyze import morris

    si = morris.analyze(
        _problem(names, lows, highs),
        np.asarray(x, dtype=float),
        np.asarray(y, dtype=float),
        num_resamples=RESAMPLES,
        num_levels=levels,
        seed=seed,
    )
    return _indices_table(names, si, ("mu", "mu_star", "sigma", "mu_star_conf"))


def _indices_table(names: Sequence[str], si: Any, keys: Sequence[str]) -> pd.DataFrame:
    """One row per parameter with SALib's indices ``keys``."""
    return pd.DataFrame(
        {"parameter": list(names), **{k: np.asarray(si[k], dtype=float) for k in keys}}
    )


def sobol_indices(
    names: Sequence[str],
    lows: Sequence[float],
    highs: Sequence[float],
    y: np.ndarray,
    second_order: bool = False,
    seed: int = 1,
) -> pd.DataFrame:
    """Sobol' S1 and ST with their confidence half-widths per parameter (SALib)."""
    from SALib.analyze import sobol

    si = sobol.analyze(
        _problem(names, lows, highs),
        np.asarray(y, dtype=float),
        calc_second_order=second_order,
        num_resamples=RESAMPLES,
        seed=seed,
    )
    return _indices_table(names, si, ("S1", "S1_conf", "ST", "ST_conf"))


def _standardised_fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares slopes of standardised ``y`` on standardised ``x`` columns, and R²."""
    sx, sy = x.std(axis=0), y.std()
    if sy == 0 or np.any(sx == 0):
        return np.full(x.shape[1], np.nan), np.nan
    zx = (x - x.mean(axis=0)) / sx
    zy = (y - y.mean()) / sy
    design = np.column_stack([np.ones(len(zy)), zx])
    coef, *_ = np.linalg.lstsq(design, zy, rcond=None)
    residual = zy - design @ coef
    return coef[1:], float(1.0 - residual @ residual / (zy @ zy))


def regression_indices(names: Sequence[str], x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """SRC, SRC², the rank-based SRRC, SRRC², and the fits' R² (one per output)."""
    from scipy.stats import rankdata

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(y) <= x.shape[1] + 1:
        raise ValueError(
            f"{len(y)} points cannot fit {x.shape[1]} coefficients: the regression needs more"
        )
    src, r2 = _standardised_fit(x, y)
    srrc, r2_rank = _standardised_fit(rankdata(x, axis=0), rankdata(y))
    return pd.DataFrame(
        {
            "parameter": list(names),
            "SRC": src,
            "SRC2": src**2,
            "SRRC": srrc,
            "SRRC2": srrc**2,
            "R2": r2,
            "R2_rank": r2_rank,
        }
    )


def indices(
    method: str,
    names: Sequence[str],
    lows: Sequence[float],
    highs: Sequence[float],
    x: np.ndarray,
    y: np.ndarray,
    *,
    levels: int = 4,
    second_order: bool = False,
    seed: int = 1,
) -> pd.DataFrame:
    """The indices of a design's method for one output."""
    if method == "morris":
        return morris_indices(names, lows, highs, x, y, levels, seed)
    if method == "sobol":
        return sobol_indices(names, lows, highs, y, second_order, seed)
    if method in ("grid", "latin_hypercube"):
        return regression_indices(names, x, y)
    raise ValueError(f"unknown design {method!r}")


def tornado_ranges(
    base: float, at_low: Mapping[str, float], at_high: Mapping[str, float]
) -> pd.DataFrame:
    """One row per parameter, the longest bar first: the output at the low and the high
    bound, each less the base output, their range (``bar_from``, ``bar_to``) and ``swing``."""
    rows = []
    for name in at_low:
        lo, hi = float(at_low[name]), float(at_high[name])
        rows.append(
            {
                "parameter": name,
                "output_low": lo,
                "output_high": hi,
                "change_low": lo - base,
                "change_high": hi - base,
                "bar_from": min(lo, hi, base),
                "bar_to": max(lo, hi, base),
                "swing": abs(hi - lo),
            }
        )
    table = pd.DataFrame(rows, columns=[
        "parameter", "output_low", "output_high", "change_low", "change_high",
        "bar_from", "bar_to", "swing",
    ])  # fmt: skip
    table.insert(1, "output_base", float(base))
    return table.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)


def ranking(
    method: str, by_output: Mapping[str, pd.DataFrame], tornado: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    """Per output, the parameters ordered by the method's measure (largest first), with its
    confidence half-width where the method has one and the tornado swing where run."""
    measure = MEASURE[method]
    parts = []
    for output, table in by_output.items():
        t = table.copy()
        t["importance"] = t[measure].abs()
        t = t.sort_values("importance", ascending=False, kind="stable", na_position="last")
        part = pd.DataFrame(
            {
                "output": output,
                "rank": np.arange(1, len(t) + 1),
                "parameter": t["parameter"].to_numpy(),
                "measure": measure,
                "value": t[measure].to_numpy(),
                "conf": t[CONFIDENCE[measure]].to_numpy() if measure in CONFIDENCE else np.nan,
            }
        )
        if output in tornado:
            bars = tornado[output].set_index("parameter")
            for col in ("output_low", "output_high", "swing"):
                part[f"tornado_{col.removeprefix('output_')}"] = part.parameter.map(bars[col])
        parts.append(part)
    return pd.concat(parts, ignore_index=True)
