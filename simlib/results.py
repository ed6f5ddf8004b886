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
    frames = []
    for m in metrics:
        arr = values[m.name]
        r, y, a, s = np.meshgrid(
            np.arange(arr.shape[0]),
            np.asarray(years),
            np.arange(len(areas)),
            np.arange(len(STRATUM_NAMES)),
            indexing="ij",
        )
        frames.append(
            pd.DataFrame(
                {
                    "replicate": r.ravel(),
                    "year": y.ravel(),
                    "area": np.asarray(areas, dtype=object)[a.ravel()],
                    "stratum": np.asarray(STRATUM_NAMES, dtype=object)[s.ravel()],
                    "metric": m.name,
                    "value": arr.ravel().astype(float),
                    "unit": m.unit,
                }
            )
        )
    table = pd.concat(frames, ignore_index=True)
    table.insert(0, "scenario", scenario)
    return table[["scenario", "replicate", "year", "area", "stratum", "metric", "value", "unit"]]


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
