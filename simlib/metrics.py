"""What the model reports, and how a metric is carried from cells to totals.

Each year the model records *raw quantities* per area × stratum cell (weighted to
the whole city).  A published :class:`Metric` is made from them in one of three
ways, which also says how the ``all`` rows are formed (issue 2, results):

* ``sum``: counts and money; ``all`` rows are sums.
* ``ratio``: numerator / denominator / ``per``, with numerator and denominator
  summed first, so a rate for ``all`` is recomputed from totals (average benefit
  = spending / recipients / 12).  A rate with no denominator is 0, never NaN.
* ``weighted_mean``: levels such as standards; ``all`` rows are means weighted by
  another raw quantity (population).

The module that produces a quantity declares its metrics beside its rule, so a new
programme brings its own metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Kind = Literal["sum", "ratio", "weighted_mean"]


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    kind: Kind
    label_en: str
    label_zh: str
    raw: str = ""
    numerator: str = ""
    denominator: str = ""
    per: float = 1.0
    weight: str = "population"

    @property
    def raw_needed(self) -> tuple[str, ...]:
        if self.kind == "sum":
            return (self.raw or self.name,)
        if self.kind == "ratio":
            return (self.numerator, self.denominator)
        return (self.raw or self.name, self.weight)


def with_totals(cells: np.ndarray) -> np.ndarray:
    """Add the ``all`` area and ``all`` stratum: (..., areas, 2) -> (..., areas + 1, 3)."""
    by_area = np.concatenate([cells, cells.sum(axis=-1, keepdims=True)], axis=-1)
    return np.concatenate([by_area, by_area.sum(axis=-2, keepdims=True)], axis=-2)


def evaluate(metric: Metric, raw: dict[str, np.ndarray]) -> np.ndarray:
    """The metric for every cell and total, from raw per-cell quantities."""
    if metric.kind == "sum":
        return with_totals(raw[metric.raw or metric.name])
    if metric.kind == "ratio":
        num = with_totals(raw[metric.numerator])
        den = with_totals(raw[metric.denominator]) * metric.per
        return np.divide(num, den, out=np.zeros_like(num, dtype=float), where=den != 0)
    level = raw[metric.raw or metric.name]
    weight = raw[metric.weight]
    weighted = with_totals(level * weight)
    total_weight = with_totals(weight)
    plain = with_totals(level) / with_totals(np.ones_like(level))
    return np.divide(weighted, total_weight, out=plain, where=total_weight > 0)


CITY_METRICS = [
    Metric("population", "persons", "sum", "Resident population", "常住人口"),
    Metric("households", "households", "sum", "Family households", "家庭户"),
    Metric("elderly_60p", "persons", "sum", "Elderly aged 60+", "60岁及以上老年人口"),
    Metric("elderly_65p", "persons", "sum", "Elderly aged 65+", "65岁及以上老年人口"),
    Metric("elderly_80p", "persons", "sum", "Elderly aged 80+", "80岁及以上老年人口"),
]
