"""Incomes: normalised to the drivers, stable dispersion, shocks."""

from __future__ import annotations

import numpy as np
import pytest

from simlib import incomes
from simlib.incomes import IncomeParams, lognormal_sigma_from_gini
from simlib.population import build_city, cell_of
from tests.conftest import AREAS


@pytest.fixture(scope="module")
def city_and_params(baseline):
    p = baseline.params
    city = build_city(p.population, AREAS, 2015, 0.05, np.random.default_rng(2))
    incomes.init_incomes(city, p.income, (30_000.0, 13_000.0), np.random.default_rng(3))
    return city, p.income


def person_weighted_means(city) -> np.ndarray:
    members = city.members()
    cell = cell_of(city.households)
    w = np.bincount(cell, weights=members, minlength=10)
    y = np.bincount(cell, weights=members * city.households.income_pc, minlength=10)
    return (y / w).reshape(-1, 2)


def test_gini_to_sigma():
    # G = 2Φ(σ/√2) - 1: G = 0.40 -> σ = √2 × Φ⁻¹(0.70) = 1.41421 × 0.52440 = 0.74161
    assert lognormal_sigma_from_gini(0.40) == pytest.approx(0.74161, abs=1e-5)


def test_incomes_average_to_the_drivers(city_and_params):
    city, _ = city_and_params
    # before shocks, every area's person-weighted mean is the stratum's disposable income
    assert person_weighted_means(city) == pytest.approx(
        np.tile([30_000.0, 13_000.0], (5, 1)), rel=1e-9
    )


def test_dispersion_is_stable_over_the_years(city_and_params, baseline):
    city, _ = city_and_params
    rng = np.random.default_rng(4)
    quiet = IncomeParams.model_validate({**baseline.tree.data["income"], "shocks": {}})
    sds = []
    for year in range(2016, 2026):
        incomes.update_incomes(city, quiet, (30_000.0, 13_000.0), year, rng)
        sds.append(float(np.std(city.households.income_z)))
    # z is stationary: its spread stays at σ = 0.74 however many years pass
    assert np.mean(sds) == pytest.approx(0.74, abs=0.02)


def test_shocks_take_their_share(city_and_params, baseline):
    city, _ = city_and_params
    data = baseline.tree.data["income"]
    only_illness = {
        **data,
        "shocks": {
            "major_illness": {
                "rate": {
                    "urban": {"value": 0.5, "unit": "share", "assumption": "t"},
                    "rural": {"value": 0.0, "unit": "share", "assumption": "t"},
                },
                "income_loss": {"value": 0.25, "unit": "share", "assumption": "t"},
            }
        },
    }
    p = IncomeParams.model_validate(only_illness)
    before = city.households.income_pc.copy()
    incomes.apply_shocks(city, p, 2016, np.random.default_rng(5))
    hit = city.households.shock == incomes.SHOCK_CODES["major_illness"]
    urban = city.households.stratum == 0
    assert hit[urban].mean() == pytest.approx(0.5, abs=0.02)
    assert not hit[~urban].any()
    assert city.households.income_pc[hit] == pytest.approx(0.75 * before[hit])
    assert (city.households.income_pc[~hit] == before[~hit]).all()


def test_bernoulli_rows_draws_independent_trials():
    rng = np.random.default_rng(6)
    assert len(incomes.bernoulli_rows(1000, 0.0, rng)) == 0
    assert sorted(incomes.bernoulli_rows(1000, 1.0, rng)) == list(range(1000))
    assert len(incomes.bernoulli_rows(0, 0.5, rng)) == 0
    # 1,000 trials at p = 0.1, drawn 2,000 times: every index is hit Binomial(2000, 0.1)
    # times, mean 200, variance 2000 × 0.1 × 0.9 = 180, whatever its place (a bias towards
    # some indices would widen the spread of the counts)
    hits = np.zeros(1000, dtype=int)
    for _ in range(2000):
        rows = incomes.bernoulli_rows(1000, 0.1, rng)
        assert len(np.unique(rows)) == len(rows) and rows.min(initial=0) >= 0
        assert rows.max(initial=0) < 1000
        hits[rows] += 1
    assert hits.mean() == pytest.approx(200, abs=1.5)  # sd of the mean 13.4 / sqrt(1000)
    assert hits.var() == pytest.approx(180, rel=0.15)  # sd of the variance about 8
    # a rate above 1/50 (the other branch of the draw without replacement), per trial
    big = np.zeros(50_000, dtype=int)
    for _ in range(20):
        big[incomes.bernoulli_rows(50_000, 0.3, rng)] += 1
    # 20 draws: each index hit Binomial(20, 0.3), mean 6, variance 4.2
    assert big.mean() == pytest.approx(6.0, abs=0.05)
    assert big.var() == pytest.approx(4.2, rel=0.05)


def test_shocks_that_hit_workers_and_one_after_another(baseline):
    city = build_city(baseline.params.population, AREAS, 2015, 0.02, np.random.default_rng(6))
    data = baseline.tree.data["income"]

    def rate(urban, rural):
        return {
            "urban": {"value": urban, "unit": "share", "assumption": "t"},
            "rural": {"value": rural, "unit": "share", "assumption": "t"},
        }

    loss = {"unit": "share", "assumption": "t"}
    # job loss at 0.4 (urban) and 0.1 (rural) of the households with a worker, none else
    job = {"rate": rate(0.4, 0.1), "income_loss": {"value": 0.3, **loss}}
    p = IncomeParams.model_validate(
        {**data, "shocks": {"job_loss": {**job, "hits": "households_with_workers"}}}
    )
    incomes.init_incomes(city, p, (30_000.0, 13_000.0), np.random.default_rng(7))
    incomes.apply_shocks(city, p, 2016, np.random.default_rng(8))
    hit = city.households.shock == incomes.SHOCK_CODES["job_loss"]
    worker, urban = incomes.has_worker(city), city.households.stratum == 0
    assert hit[worker & urban].mean() == pytest.approx(0.4, abs=0.03)
    assert hit[worker & ~urban].mean() == pytest.approx(0.1, abs=0.02)
    assert not hit[~worker].any()
    # two certain shocks: every household loses 30% then 25% (0.7 × 0.75 = 0.525 of its
    # income) and keeps the code of the last
    ill = {"rate": rate(1.0, 1.0), "income_loss": {"value": 0.25, **loss}}
    both = IncomeParams.model_validate(
        {**data, "shocks": {"job_loss": {**job, "rate": rate(1.0, 1.0)}, "major_illness": ill}}
    )
    before = city.households.income_pc.copy()
    city.households.shock[:] = 0
    incomes.apply_shocks(city, both, 2016, np.random.default_rng(9))
    assert city.households.income_pc == pytest.approx(0.525 * before)
    assert (city.households.shock == incomes.SHOCK_CODES["major_illness"]).all()


def test_a_shock_rate_changes_that_shock_only(baseline):
    # common random numbers: with the same seed, a higher job-loss rate hits more households
    # by job loss but the same ones by accident (drawn last, so its code is never overwritten),
    # and leaves the stream where it was
    city = build_city(baseline.params.population, AREAS, 2015, 0.02, np.random.default_rng(6))
    data = baseline.tree.data["income"]
    incomes.init_incomes(
        city, IncomeParams.model_validate(data), (3e4, 1.3e4), np.random.default_rng(7)
    )
    start = city.households.income_pc.copy()
    codes, after = [], []
    for job_loss in (0.01, 0.2):
        rate = data["shocks"]["job_loss"]["rate"]
        rate = {s: {**rate[s], "value": job_loss} for s in ("urban", "rural")}
        shocks = {**data["shocks"], "job_loss": {**data["shocks"]["job_loss"], "rate": rate}}
        p = IncomeParams.model_validate({**data, "shocks": shocks})
        city.households["income_pc"] = start.copy()
        city.households["shock"] = np.zeros(len(start), dtype=np.int8)
        rng = np.random.default_rng(8)
        incomes.apply_shocks(city, p, 2016, rng)
        codes.append(city.households.shock.copy())
        after.append(rng.random())
    job, accident = incomes.SHOCK_CODES["job_loss"], incomes.SHOCK_CODES["accident"]
    assert ((codes[0] == accident) == (codes[1] == accident)).all()
    assert (codes[0] == accident).any()
    assert (codes[1] == job).sum() > 5 * (codes[0] == job).sum()
    assert after[0] == after[1]
