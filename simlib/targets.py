"""The plan's quantified targets (规划目标), and whether a run meets them.

Each target is a metric of the whole city in a year, at least or at most a
threshold, with the plan's section as its source (``plan_targets:`` in the
scenario).  A run's replicates decide its status:

* ``met`` (达成): at least 95% of the replicates meet the threshold;
* ``at risk`` (有风险): at least half of them do, but fewer than 95%;
* ``not met`` (未达成): fewer than half do.

``value`` is the mean across replicates.  Targets whose year lies outside the
run are left out.  The table is written as ``targets.csv`` in the run folder.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from simlib.facts import Fact, Strict

MET, AT_RISK, NOT_MET = "met", "at risk", "not met"
COLUMNS = ["target", "year", "value", "threshold", "status"]


class PlanTarget(Strict):
    name: str = Field(min_length=1)
    label_zh: str = ""
    metric: str
    year: int = Field(ge=2000, le=2150)
    comparison: Literal["at_least", "at_most"]
    threshold: Fact[float]


def status(share_meeting: float) -> str:
    """The status from the share of replicates that meet the target."""
    if share_meeting >= 0.95:
        return MET
    return AT_RISK if share_meeting >= 0.5 else NOT_MET


def evaluate(table: pd.DataFrame, targets: list[PlanTarget]) -> pd.DataFrame:
    """One row per target that the run covers: its mean value, threshold and status."""
    rows = []
    city = table[(table.area == "all") & (table.stratum == "all")]
    for t in targets:
        values = city[(city.metric == t.metric) & (city.year == t.year)].value.to_numpy()
        if not len(values):
            continue
        threshold = float(t.threshold.at(t.year))
        meets = values >= threshold if t.comparison == "at_least" else values <= threshold
        rows.append(
            {
                "target": t.name,
                "year": t.year,
                "value": float(np.mean(values)),
                "threshold": threshold,
                "status": status(float(np.mean(meets))),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)
