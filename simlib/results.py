"""Results: the tidy table of every metric, and its summary across replicates.

The table has one row per (scenario, replicate, year, area, stratum, metric) with
``value`` and ``unit``; ``area`` is one of the areas or ``all``, ``stratum`` is
``urban``, ``rural`` or ``all``, and every combination is present for every
metric, year and replicate.  The summary has the same keys without
``replicate`` and the mean and the 5th, 50th and 95th percentiles across
replicates.  How the ``all`` rows are formed is the metric's kind
(:mod:`simlib.metrics`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from simlib.metrics import Metric, evaluate

AREA_ALL = "all"
STRATUM_NAMES = ("urban", "rural", "all")
KEYS = ["scenario", "year", "area", "stratum", "metric", "unit"]


def metric_arrays(
    metrics: Sequence[Metric], raw_by_replicate: Sequence[dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """Each metric as an array (replicate, year, area + all, stratum + all)."""
    return {m.name: np.stack([evaluate(m, raw) for raw in raw_by_replicate]) for m in metrics}


def tidy(
    values: dict[str, np.ndarray],
    metrics: Sequence[Metric],
    scenario: str,
    years: Sequence[int],
    area_codes: Sequence[str],
) -> pd.DataFrame:
    """The long table: one row per replicate, year, area, stratum and metric."""
    areas = [*area_codes, AREA_ALL]
    # every metric's array is (replicate, year, area + all, stratum + all), in that order;
    # the table is the metrics one after another, each raveled (one frame, built at once)
    shapes = [values[m.name].shape for m in metrics]
    if len(set(shapes)) > 1:
        raise ValueError(f"metric arrays differ in shape: {sorted(set(shapes))}")
    n_rep = shapes[0][0] if shapes else 0
    r, y, a, s = np.meshgrid(
        np.arange(n_rep),
        np.asarray(years),
        np.arange(len(areas)),
        np.arange(len(STRATUM_NAMES)),
        indexing="ij",
    )
    k = len(metrics)
    table = pd.DataFrame(
        {
            "scenario": np.full(k * r.size, scenario, dtype=object),
            "replicate": np.tile(r.ravel(), k),
            "year": np.tile(y.ravel(), k),
            "area": np.tile(np.asarray(areas, dtype=object)[a.ravel()], k),
            "stratum": np.tile(np.asarray(STRATUM_NAMES, dtype=object)[s.ravel()], k),
            "metric": np.repeat(np.array([m.name for m in metrics], dtype=object), r.size),
            "value": np.concatenate([values[m.name].ravel().astype(float) for m in metrics])
            if k
            else np.zeros(0),
            "unit": np.repeat(np.array([m.unit for m in metrics], dtype=object), r.size),
        }
    )
    return table


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and 5/50/95th percentiles across replicates, per year, area, stratum and metric."""
    grouped = table.groupby(KEYS, sort=False, observed=True)["value"]
    summary = pd.DataFrame(
        {
            "mean": grouped.mean(),
            "p05": grouped.quantile(0.05),  # linear interpolation, as numpy.quantile
            "p50": grouped.median(),
            "p95": grouped.quantile(0.95),
        }
    )
    return summary.reset_index()
