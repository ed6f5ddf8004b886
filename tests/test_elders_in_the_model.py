"""Elders, beds and destitute support in whole runs: the rules hold in every cell and year."""

from __future__ import annotations

import pytest

from simlib.population import census_at, end_of_year
from simlib.runs import run_scenario
from simlib.scenario import load_scenario
from simlib.targets import COLUMNS
from tests.conftest import AREAS, PARAMS


@pytest.fixture(scope="module")
def run():
    return run_scenario(PARAMS / "baseline.yaml", replicates=2, seed=8, scale=0.1)


def wide(table, metric):
    rows = table[table.metric == metric]
    return rows.set_index(["replicate", "year", "area", "stratum"]).value


def test_destitute_standard_is_at_least_1_3_times_dibao_everywhere(run):
    tekun = wide(run.table, "tekun_basic_standard_month")
    dibao = wide(run.table, "dibao_standard_month")
    assert len(tekun) == len(dibao) == 2 * 15 * 6 * 3
    assert (tekun >= 1.3 * dibao - 1e-9).all()
    # and not more than a yuan above it (rounded up to whole yuan)
    assert (tekun < 1.3 * dibao + 1.0).all()


def test_occupied_beds_never_exceed_beds(run):
    occupied = wide(run.table, "beds_occupied")
    beds = wide(run.table, "beds")
    assert (occupied <= beds + 1e-9).all()
    assert (occupied.groupby("year").sum() > 0).all()


def test_beds_per_1000_elderly_in_2019_near_the_bulletin(run, baseline):
    # implied: 9,344 beds (2019 bulletin) per 1,000 persons 60+ at the end of 2019 by the
    # censuses (interpolated geometrically between 2010 and 2020)
    census = census_at(baseline.params.population, AREAS, end_of_year(2019), 2019)
    implied = 9344 / census.age_60p.sum() * 1000
    s = run.summary
    model = s[
        (s.metric == "beds_per_1000_elderly")
        & (s.year == 2019)
        & (s.area == "all")
        & (s.stratum == "all")
    ]["mean"].iloc[0]
    assert implied == pytest.approx(40.0, abs=1.0)
    assert model == pytest.approx(implied, rel=0.15)


def test_plan_targets_are_judged(run):
    t = run.targets
    assert list(t.columns) == COLUMNS
    beds = t[t.metric == "beds_per_1000_elderly"]
    assert set(beds.year) == {2017, 2020}
    assert set(t.status) <= {"met", "at risk", "not met"}
    # the band holds the mean
    assert (t.p05 <= t.value + 1e-9).all() and (t.value <= t.p95 + 1e-9).all()


def test_destitute_who_cannot_self_care_are_placed_first(run):
    s = run.summary
    city = s[(s.area == "all") & (s.stratum == "all")].set_index(["metric", "year"])["mean"]
    # the bureau places them before anyone else: at most a handful wait, in areas whose
    # homes of the kinds they may use are full
    assert (
        city[("tekun_not_selfcaring_unplaced", 2020)] <= 0.02 * city[("tekun_concentrated", 2020)]
    )
    assert city[("tekun_concentrated", 2020)] > 0
    # dependent elders are counted in the 60+
    assert (
        city[("dependent_partly", 2020)] + city[("dependent_fully", 2020)]
        < city[("elderly_60p", 2020)]
    )


def test_scenarios_for_beds_and_dependency(scenario_file):
    short = "years: {end_year: 2024}\n"
    base = run_scenario(load_scenario(scenario_file(short, "b.yaml")), 1, 3, 0.05).summary
    fast = run_scenario(
        load_scenario(scenario_file(short, "f.yaml", PARAMS / "fast_beds.yaml")), 1, 3, 0.05
    ).summary
    high = run_scenario(
        load_scenario(scenario_file(short, "h.yaml", PARAMS / "high_dependency.yaml")), 1, 3, 0.05
    ).summary

    def city(summary, metric, year):
        sel = summary[
            (summary.metric == metric)
            & (summary.year == year)
            & (summary.area == "all")
            & (summary.stratum == "all")
        ]
        return float(sel["mean"].iloc[0])

    assert city(fast, "beds", 2019) == city(base, "beds", 2019) == 9344
    assert city(fast, "beds", 2024) > city(base, "beds", 2024) + 1500
    assert city(high, "dependent_fully", 2024) > city(base, "dependent_fully", 2024)
    # the same building programme (retirements wait for occupied beds, so a bed or two differ)
    assert city(high, "beds", 2024) == pytest.approx(city(base, "beds", 2024), rel=0.005)
