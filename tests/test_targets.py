"""Plan targets: status from the replicates, by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from simlib.targets import PlanTarget, evaluate, status


def target(metric, year, comparison, threshold):
    return PlanTarget.model_validate(
        {
            "name": f"{metric} {year}",
            "metric": metric,
            "year": year,
            "comparison": comparison,
            "threshold": {"value": threshold, "unit": "u", "source": "plan"},
        }
    )


def table(metric, year, values):
    return pd.DataFrame(
        {
            "scenario": "s",
            "replicate": range(len(values)),
            "year": year,
            "area": "all",
            "stratum": "all",
            "metric": metric,
            "value": values,
            "unit": "u",
        }
    )


@pytest.mark.parametrize(
    ("share", "expected"),
    [
        (1.0, "met"),
        (0.95, "met"),
        (0.94, "at risk"),
        (0.5, "at risk"),
        (0.49, "not met"),
        (0.0, "not met"),
    ],
)
def test_status_thresholds(share, expected):
    assert status(share) == expected


def test_targets_from_replicates():
    beds = table("beds_per_1000_elderly", 2020, [36.0, 35.5, 34.0, 37.0])
    unplaced = table("tekun_not_selfcaring_unplaced", 2020, [0.0, 0.0, 0.0, 0.0])
    result = evaluate(
        pd.concat([beds, unplaced]),
        [
            target("beds_per_1000_elderly", 2020, "at_least", 35),
            target("tekun_not_selfcaring_unplaced", 2020, "at_most", 0),
            target("beds_per_1000_elderly", 2040, "at_least", 35),  # outside the run: left out
        ],
    )
    assert list(result.columns) == ["target", "year", "value", "threshold", "status"]
    assert len(result) == 2
    # 3 of 4 replicates reach 35 -> 75%: at risk; mean 35.625
    assert result.iloc[0].value == pytest.approx(35.625) and result.iloc[0].status == "at risk"
    assert result.iloc[1].status == "met"
