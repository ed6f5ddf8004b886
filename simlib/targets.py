"""The plan's quantified targets (规划目标) and the dashboard that says whether a run meets them.

Each target is a metric of the city (or of one stratum) in a year, or in every year of
a span (``year`` to ``through``), at least or at most a threshold, with the plan's
section as its source (``plan_targets:`` in the scenario).  A run's replicates decide
its status:

* ``met`` (达成): at least 95% of the replicates meet the threshold;
* ``at risk`` (有风险): at least half of them do, but fewer than 95%;
* ``not met`` (未达成): fewer than half do.

:func:`dashboard` gives one row per target and year that the run covers, with the
mean across replicates and its 5-95% band; targets whose years lie outside the run
are left out.  The table is written as ``targets.csv`` in the run folder and shown
by the scenario notebook.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from simlib.facts import Fact, Strict

MET, AT_RISK, NOT_MET = "met", "at risk", "not met"
STATUS_ZH = {MET: "达成", AT_RISK: "有风险", NOT_MET: "未达成"}
COLUMNS = [
    "target",
    "label_zh",
    "metric",
    "stratum",
    "year",
    "comparison",
    "value",
    "p05",
    "p95",
    "threshold",
    "share_meeting",
    "status",
    "source",
]


class PlanTarget(Strict):
    name: str = Field(min_length=1)
    label_zh: str = ""
    metric: str
    stratum: Literal["urban", "rural", "all"] = "all"
    year: int = Field(ge=2000, le=2150)
    through: int | None = Field(default=None, ge=2000, le=2150)
    """With ``through``, the target holds in every year from ``year`` to ``through``."""
    comparison: Literal["at_least", "at_most"]
    threshold: Fact[float]

    @model_validator(mode="after")
    def _span(self) -> PlanTarget:
        if self.through is not None and self.through < self.year:
            raise ValueError("`through` must not come before `year`")
        return self

    @property
    def years(self) -> range:
        return range(self.year, (self.through or self.year) + 1)


def status(share_meeting: float) -> str:
    """The status from the share of replicates that meet the target."""
    if share_meeting >= 0.95:
        return MET
    return AT_RISK if share_meeting >= 0.5 else NOT_MET


def dashboard(table: pd.DataFrame, targets: list[PlanTarget]) -> pd.DataFrame:
    """One row per target and year the run covers: the projection with its band, the
    threshold and the status."""
    city = table[table.area == "all"]
    rows = []
    for t in targets:
        chosen = city[(city.metric == t.metric) & (city.stratum == t.stratum)]
        for year in t.years:
            values = chosen[chosen.year == year].value.to_numpy(dtype=float)
            if len(values):
                rows.append(_row(t, year, values))
    return pd.DataFrame(rows, columns=COLUMNS)


def _row(t: PlanTarget, year: int, values: np.ndarray) -> dict:
    threshold = float(t.threshold.at(year))
    meets = values >= threshold if t.comparison == "at_least" else values <= threshold
    share = float(np.mean(meets))
    return {
        "target": t.name,
        "label_zh": t.label_zh,
        "metric": t.metric,
        "stratum": t.stratum,
        "year": year,
        "comparison": t.comparison,
        "value": float(np.mean(values)),
        "p05": float(np.quantile(values, 0.05)),
        "p95": float(np.quantile(values, 0.95)),
        "threshold": threshold,
        "share_meeting": share,
        "status": status(share),
        "source": t.threshold.source or t.threshold.assumption or "",
    }
