"""Results: totals by kind, rates without denominators, the tidy table and the summary."""

from __future__ import annotations

import numpy as np
import pytest

from simlib.metrics import Metric, evaluate, with_totals
from simlib.results import STRATUM_NAMES, summarise, tidy

# two areas × (urban, rural), two years
PERSONS = np.array([[[100.0, 50.0], [0.0, 20.0]], [[110.0, 40.0], [0.0, 30.0]]])
SPENDING = np.array([[[12_000.0, 3_000.0], [0.0, 2_400.0]], [[0.0, 0.0], [0.0, 0.0]]])
STANDARD = np.array([[[600.0, 400.0], [600.0, 400.0]], [[620.0, 420.0], [620.0, 420.0]]])
RAW = {
    "dibao_persons": PERSONS,
    "dibao_spending": SPENDING,
    "population": PERSONS,
    "dibao_standard_month": STANDARD,
}
SUM = Metric("dibao_persons", "persons", "sum", "", "")
AVG = Metric(
    "avg",
    "yuan",
    "ratio",
    "",
    "",
    numerator="dibao_spending",
    denominator="dibao_persons",
    per=12.0,
)
STD = Metric("dibao_standard_month", "yuan", "weighted_mean", "", "")


def test_sums_add_up():
    t = with_totals(PERSONS)
    assert t.shape == (2, 3, 3)
    # year 0: area 0 all = 150; area all urban = 100; city = 170
    assert t[0, 0, 2] == 150 and t[0, 2, 0] == 100 and t[0, 2, 2] == 170


def test_rates_are_recomputed_from_totals_and_zero_without_denominator():
    avg = evaluate(AVG, RAW)
    # area 0 urban: 12,000 / 100 / 12 = 10; city all: 17,400 / 170 / 12 = 8.529
    assert avg[0, 0, 0] == pytest.approx(10.0)
    assert avg[0, 2, 2] == pytest.approx(17_400 / 170 / 12)
    # area 1 urban has no recipients: 0, never NaN
    assert avg[0, 1, 0] == 0.0 and not np.isnan(avg).any()


def test_standards_are_population_weighted():
    std = evaluate(STD, RAW)
    # year 0 city: (600 × 100 + 400 × 70) / 170 = 517.65; area 1 urban (no people): 600
    assert std[0, 2, 2] == pytest.approx((600 * 100 + 400 * 70) / 170)
    assert std[0, 1, 0] == 600.0
    assert std[0, 2, 0] == 600.0


def test_tidy_has_every_combination_and_summary_quantiles():
    values = {m.name: np.stack([evaluate(m, RAW), evaluate(m, RAW) * 2]) for m in (SUM, AVG)}
    table = tidy(values, [SUM, AVG], "s", [2016, 2017], ("a", "b"))
    assert list(table.columns) == [
        "scenario",
        "replicate",
        "year",
        "area",
        "stratum",
        "metric",
        "value",
        "unit",
    ]
    # 2 replicates × 2 years × 3 areas × 3 strata × 2 metrics
    assert len(table) == 72
    assert set(table.area) == {"a", "b", "all"} and set(table.stratum) == set(STRATUM_NAMES)
    assert not table.duplicated(["replicate", "year", "area", "stratum", "metric"]).any()
    summary = summarise(table)
    row = summary[
        (summary.metric == "dibao_persons")
        & (summary.year == 2016)
        & (summary.area == "all")
        & (summary.stratum == "all")
    ].iloc[0]
    # replicates 170 and 340: mean 255, p05 178.5, p50 255, p95 331.5
    assert (row["mean"], row.p05, row.p50, row.p95) == pytest.approx((255, 178.5, 255, 331.5))
