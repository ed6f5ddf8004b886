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
