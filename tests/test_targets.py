"""Plan targets: status from the replicates, by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from simlib.targets import COLUMNS, PlanTarget, dashboard, status


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
    result = dashboard(
        pd.concat([beds, unplaced]),
        [
            target("beds_per_1000_elderly", 2020, "at_least", 35),
            target("tekun_not_selfcaring_unplaced", 2020, "at_most", 0),
            target("beds_per_1000_elderly", 2040, "at_least", 35),  # outside the run: left out
        ],
    )
    assert list(result.columns) == COLUMNS
    assert {"target", "year", "value", "p05", "p95", "threshold", "status"} <= set(COLUMNS)
    assert len(result) == 2
    # 3 of 4 replicates reach 35 -> 75%: at risk; mean 35.625
    assert result.iloc[0].value == pytest.approx(35.625) and result.iloc[0].status == "at risk"
    assert result.iloc[1].status == "met"


def test_band_and_a_target_over_several_years():
    rows = pd.concat(
        [
            table("ratio", 2016, [1.2, 1.0, 1.1, 1.3]),
            table("ratio", 2017, [0.9, 1.0, 1.0, 1.0]),
            table("ratio", 2018, [1.0, 1.0, 1.0, 1.0]),
        ]
    )
    t = PlanTarget.model_validate(
        {
            "name": "two lines",
            "metric": "ratio",
            "year": 2016,
            "through": 2019,  # 2019 is outside the run: left out
            "comparison": "at_least",
            "threshold": {"value": 1.0, "unit": "ratio", "source": "plan"},
        }
    )
    result = dashboard(rows, [t])
    assert list(result.year) == [2016, 2017, 2018]
    first = result.iloc[0]
    # values 1.0, 1.1, 1.2, 1.3: the 5th percentile by linear interpolation is
    # 1.0 + 0.05 * 3 * 0.1 = 1.015, the 95th 1.3 - 0.015 = 1.285
    assert first.p05 == pytest.approx(1.015) and first.p95 == pytest.approx(1.285)
    assert first.status == "met"
    # 2017: 3 of 4 replicates at least 1.0 -> at risk
    assert result.iloc[1].share_meeting == pytest.approx(0.75)
    assert result.iloc[1].status == "at risk"


def test_a_span_that_ends_before_it_starts_is_refused():
    with pytest.raises(ValueError, match="through"):
        PlanTarget.model_validate(
            {
                "name": "x",
                "metric": "m",
                "year": 2020,
                "through": 2018,
                "comparison": "at_least",
                "threshold": {"value": 1.0, "unit": "u", "source": "plan"},
            }
        )


def test_a_scenario_can_be_cut_short_and_keeps_its_files(baseline):
    from simlib.scenario import ending_in

    short = ending_in(baseline, 2018)
    assert list(short.params.years.simulated) == [2016, 2017, 2018]
    assert short.tree.chain == baseline.tree.chain
    assert short.hash != baseline.hash  # the resolved parameters differ in one key
    assert baseline.params.years.end_year == 2030  # the original is untouched
