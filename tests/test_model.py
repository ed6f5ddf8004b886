"""The city model as a whole: reproducibility, the 2018 calibration, the census, rules' effects."""

from __future__ import annotations

import numpy as np
import pytest

from simlib.calibration import compare_to_observed
from simlib.model import CityModel
from simlib.runs import run_scenario
from simlib.scenario import load_scenario
from tests.conftest import PARAMS


def short(scenario_file, end_year: int = 2018, extra: str = ""):
    return load_scenario(scenario_file(f"years: {{end_year: {end_year}}}\n{extra}"))


def test_same_seed_same_results_different_seeds_differ(scenario_file):
    s = short(scenario_file, 2017)
    a = run_scenario(s, replicates=2, seed=11, scale=0.02).table
    b = run_scenario(s, replicates=2, seed=11, scale=0.02).table
    c = run_scenario(s, replicates=2, seed=12, scale=0.02).table
    assert a.equals(b)
    persons = a.metric == "dibao_persons"
    assert not np.array_equal(a[persons].value.to_numpy(), c[persons].value.to_numpy())
    # replicates of one run differ from each other too
    r0 = a[persons & (a.replicate == 0)].value.to_numpy()
    r1 = a[persons & (a.replicate == 1)].value.to_numpy()
    assert not np.array_equal(r0, r1)


def test_a_replicate_does_not_depend_on_how_many_run(scenario_file):
    # replicate 0 of a 1-replicate run is replicate 0 of a 3-replicate run (seeds are spawned)
    s = short(scenario_file, 2016)
    one = run_scenario(s, replicates=1, seed=5, scale=0.02).table
    three = run_scenario(s, replicates=3, seed=5, scale=0.02).table
    first = three[three.replicate == 0].reset_index(drop=True)
    assert one.reset_index(drop=True).equals(first)


def test_every_count_is_at_city_scale(scenario_file):
    # population 2016 at a tenth and at a fiftieth of the city: both near 1.2 million
    s = short(scenario_file, 2016)
    for scale in (0.1, 0.02):
        t = run_scenario(s, replicates=1, seed=3, scale=scale).table
        pop = t[(t.metric == "population") & (t.area == "all") & (t.stratum == "all")]
        assert pop.value.iloc[0] == pytest.approx(1.207e6, rel=0.01)


def test_2018_calibration_holds_at_scale_0_2_with_other_seeds(scenario_file):
    # the take-up rates were fitted at seed 20160101; another seed, mean of 3 replicates
    s = short(scenario_file, 2018)
    run = run_scenario(s, replicates=3, seed=99, scale=0.2)
    fit = compare_to_observed(run.summary, s.params.economy.history_files)
    assert set(fit.indicator) == {"urban_dibao_persons", "rural_dibao_persons"}
    assert (fit.relative_error.abs() < 0.10).all(), fit


@pytest.mark.slow
def test_2018_calibration_holds_at_full_scale(scenario_file):
    s = short(scenario_file, 2018)
    run = run_scenario(s, replicates=1, seed=7, scale=1.0)
    fit = compare_to_observed(run.summary, s.params.economy.history_files)
    assert (fit.relative_error.abs() < 0.10).all(), fit


def test_the_tidy_table_is_complete(baseline):
    run = run_scenario(baseline, replicates=2, seed=1, scale=0.01)
    t = run.table
    metrics = t.metric.unique()
    for name in (
        "population",
        "households",
        "elderly_60p",
        "dibao_persons",
        "dibao_households",
        "dibao_standard_month",
        "dibao_spending",
        "dibao_avg_benefit_month",
        "dibao_inclusion_error",
        "dibao_exclusion_error",
        "price_subsidy_spending",
    ):
        assert name in metrics
    # 2 replicates × 15 years × 6 areas × 3 strata per metric, no NaN
    assert len(t) == len(metrics) * 2 * 15 * 6 * 3
    assert not t.value.isna().any()
    assert set(run.summary.columns) == {
        "scenario",
        "year",
        "area",
        "stratum",
        "metric",
        "unit",
        "mean",
        "p05",
        "p50",
        "p95",
    }


def test_average_benefit_is_spending_per_recipient_month(baseline):
    run = run_scenario(baseline, replicates=1, seed=2, scale=0.05)
    t = run.table.set_index(["year", "area", "stratum", "metric"]).value
    for area, stratum in (("all", "all"), ("renhe", "rural")):
        key = (2020, area, stratum)
        expected = t[(*key, "dibao_spending")] / t[(*key, "dibao_persons")] / 12
        assert t[(*key, "dibao_avg_benefit_month")] == pytest.approx(expected)


def test_scenarios_move_the_standards_as_their_rules_say():
    def standards(name):
        run = run_scenario(PARAMS / f"{name}.yaml", replicates=1, seed=4, scale=0.01)
        s = run.summary[
            (run.summary.metric == "dibao_standard_month") & (run.summary.area == "all")
        ]
        return s.pivot_table(index="year", columns="stratum", values="mean")

    base = standards("baseline")
    fast = standards("fast_convergence")
    squeeze = standards("fiscal_squeeze")
    # fast convergence: rural reaches urban by 2025; urban unchanged
    assert fast.loc[2025, "rural"] == pytest.approx(fast.loc[2025, "urban"], abs=1.0)
    assert base.loc[2025, "rural"] < 0.95 * base.loc[2025, "urban"]
    assert fast.urban.equals(base.urban)
    # the squeeze caps the rise: urban standards lower from some year on, never falling
    assert (squeeze.urban <= base.urban).all() and (squeeze.urban < base.urban).any()
    assert (np.diff(squeeze.urban.to_numpy()) >= 0).all()


def test_the_model_is_a_mesa_model_with_a_bureau(baseline):
    import mesa

    from simlib.bureau import Bureau

    model = CityModel(baseline.params, scale=0.01, rng=1)
    assert isinstance(model, mesa.Model)
    assert len(model.agents_by_type[Bureau]) == 1
    model.step()
    assert model.steps == 1 and model.year == 2016
    assert len(model.datacollector.model_vars["dibao_persons"]) == 1
