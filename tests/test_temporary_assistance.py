"""Temporary assistance (临时救助): who is paid and how much, by hand; the accident shock."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from simlib import incomes, temporary_assistance
from simlib.columns import Columns
from simlib.incomes import SHOCK_CODES, IncomeParams
from simlib.population import City
from simlib.temporary_assistance import TemporaryAssistanceParams, payment

JOB, ILL, DISASTER, ACCIDENT = (
    SHOCK_CODES[k] for k in ("job_loss", "major_illness", "disaster", "accident")
)


def fact(value, unit="u"):
    return {"value": value, "unit": unit, "assumption": "test"}


def params(**changes) -> TemporaryAssistanceParams:
    block = {
        "months_by_shock": {
            "job_loss": fact(0.5),
            "major_illness": fact(1.0),
            "disaster": fact(1.0),
            "accident": fact(1.0),
        },
        "per": "member",
        "cap_months": fact(6),
        "income_limit": fact(1.0),
        "take_up": fact(1.0),
        "dibao_households_eligible": True,
    }
    block.update(changes)
    return TemporaryAssistanceParams.model_validate(block)


def tiny_city(incomes_pc, members, shocks, strata=None) -> City:
    """Households with the given per-capita incomes, sizes, shock codes and strata (one area)."""
    n = len(incomes_pc)
    hh_of_person = np.repeat(np.arange(n), members).astype(np.int32)
    m = len(hh_of_person)
    strata = np.zeros(n, np.int8) if strata is None else np.asarray(strata, np.int8)
    persons = Columns(
        age=np.full(m, 40, np.int16),
        sex=np.zeros(m, np.int8),
        area=np.zeros(m, np.int8),
        stratum=strata[hh_of_person],
        household=hh_of_person,
        disability=np.zeros(m, np.int8),
    )
    households = Columns(area=np.zeros(n, np.int8), stratum=strata)
    households.add("income_pc", np.asarray(incomes_pc, dtype=float))
    households.add("shock", np.asarray(shocks, dtype=np.int8), fresh=0)
    return City(("a",), persons, households, weight=1.0, year=2016)


STANDARD = np.array([600.0, 400.0])  # yuan/person/month, urban and rural
# dibao lines: urban 12 × 600 = 7,200, rural 12 × 400 = 4,800 yuan/person/year

# household: 0 ill below the line, 1 accident above it, 2 poor but not hit, 3 rural job loss,
# 4 a large household hit by disaster (the cap binds), 5 accident on dibao,
# 6 ill exactly at the line
WORKED = dict(
    incomes_pc=[5_000, 8_000, 3_000, 4_000, 2_000, 1_000, 7_200],
    members=[3, 2, 3, 2, 8, 1, 1],
    shocks=[ILL, ACCIDENT, 0, JOB, DISASTER, ACCIDENT, ILL],
    strata=[0, 0, 0, 1, 0, 0, 0],
)
ON_DIBAO = np.array([False, False, False, False, False, True, False])


def run(p: TemporaryAssistanceParams, city: City | None = None, seed: int = 0):
    city = city or tiny_city(**WORKED)
    return temporary_assistance.step(
        city,
        p,
        2016,
        np.random.default_rng(seed),
        standard_month=STANDARD,
        dibao_households=ON_DIBAO,
    )


def test_worked_example():
    year = run(params())
    # 0: 5,000 < 7,200, ill: 1.0 month × 600 × 3 members = 1,800
    # 1: 8,000 >= 7,200: not paid although hit
    # 2: below the line but not hit: not paid
    # 3: rural, 4,000 < 4,800, job loss: 0.5 × 400 × 2 = 400
    # 4: disaster, 1.0 × 600 × 8 = 4,800, capped at 6 months × 600 = 3,600
    # 5: on dibao, accident: 1.0 × 600 × 1 = 600 (dibao households are eligible)
    # 6: income exactly at the line is not below it: not paid
    assert year.cases.tolist() == [True, False, False, True, True, True, False]
    assert year.spending == pytest.approx([1_800, 0, 0, 400, 3_600, 600, 0])
    assert year.spending.dtype == np.float64
    # take-up 1 pays every qualifying household: 4 cases, 6,400 yuan
    assert year.cases.sum() == 4 and year.spending.sum() == pytest.approx(6_400)


def test_dibao_households_can_be_excluded():
    year = run(params(dibao_households_eligible=False))
    assert year.cases.tolist() == [True, False, False, True, True, False, False]
    assert year.spending[5] == 0


def test_per_household_and_a_higher_cap():
    year = run(params(per="household", cap_months=fact(0.75)))
    # 0: 1.0 × 600 = 600, capped at 0.75 × 600 = 450; 3: 0.5 × 400 = 200 (under the cap of 300);
    # 4: 1.0 × 600 = 600 -> 450; 5: 600 -> 450
    assert year.spending == pytest.approx([450, 0, 0, 200, 450, 450, 0])


def test_shocks_not_listed_are_not_covered_and_the_income_limit_moves_the_line():
    year = run(params(months_by_shock={"major_illness": fact(1.0)}))
    assert year.cases.tolist() == [True, False, False, False, False, False, False]
    # at 1.2 × the line (8,640 urban) household 1 (8,000) and 6 (7,200) qualify too:
    # 1: accident, 1.0 × 600 × 2 = 1,200; 6: ill, 600 × 1 = 600
    wider = run(params(income_limit=fact(1.2)))
    assert wider.spending == pytest.approx([1_800, 1_200, 0, 400, 3_600, 600, 600])


def test_payment_formula():
    # 2 months × 500 × 4 members = 4,000, under a cap of 10 × 500 = 5,000; per household 1,000
    assert payment(np.array([2.0]), np.array([500.0]), np.array([4]), "member", 10) == [4_000]
    assert payment(np.array([2.0]), np.array([500.0]), np.array([4]), "household", 10) == [1_000]
    assert payment(np.array([2.0]), np.array([500.0]), np.array([4]), "member", 3) == [1_500]


def test_take_up_is_a_probability():
    n = 20_000
    city = tiny_city([1_000] * n, [1] * n, [ILL] * n)
    year = temporary_assistance.step(
        city,
        params(take_up=fact(0.3)),
        2016,
        np.random.default_rng(1),
        standard_month=STANDARD,
        dibao_households=np.zeros(n, bool),
    )
    # sd of the share: sqrt(0.3 × 0.7 / 20,000) = 0.0032
    assert year.cases.mean() == pytest.approx(0.3, abs=0.015)
    assert (year.spending[year.cases] == 600).all() and (year.spending[~year.cases] == 0).all()


def test_households_without_members_are_not_paid():
    city = tiny_city([0.0, 0.0], [1, 0], [ILL, ILL])
    year = temporary_assistance.step(
        city,
        params(),
        2016,
        np.random.default_rng(0),
        standard_month=STANDARD,
        dibao_households=np.zeros(2, bool),
    )
    assert year.cases.tolist() == [True, False]


@pytest.mark.parametrize(
    "change",
    [
        {"take_up": fact(1.2)},
        {"cap_months": fact(-1)},
        {"months_by_shock": {"fire": fact(1.0)}},
        {"months_by_shock": {"job_loss": fact(-0.5)}},
        {"per": "person"},
        {"income_limit": fact(0.0)},
        {"unknown_key": 1},
    ],
)
def test_bad_parameters_are_refused(change):
    with pytest.raises(ValidationError):
        params(**change)


# --- the accident shock in incomes -----------------------------------------------------------


def shock(rate_urban, rate_rural, loss):
    return {
        "rate": {"urban": fact(rate_urban), "rural": fact(rate_rural)},
        "income_loss": fact(loss),
    }


def income_params(shocks) -> IncomeParams:
    return IncomeParams.model_validate(
        {
            "dispersion": fact(0.7),
            "persistence": fact(0.8),
            "no_worker_log_shift": fact(-0.5),
            "area_relative_income": {"a": fact(1.0)},
            "shocks": shocks,
        }
    )


def test_existing_shock_codes_are_unchanged():
    # dibao reads major_illness (2); the codes of the shock column must never move
    assert SHOCK_CODES == {
        "none": 0,
        "job_loss": 1,
        "major_illness": 2,
        "disaster": 3,
        "accident": 4,
    }


def test_the_accident_shock_hits_at_its_rate():
    n = 40_000
    strata = np.r_[np.zeros(n // 2), np.ones(n // 2)]
    city = tiny_city([10_000.0] * n, [1] * n, [0] * n, strata=strata)
    p = income_params({"major_illness": shock(0.2, 0.2, 0.25), "accident": shock(0.1, 0.02, 0.2)})
    incomes.apply_shocks(city, p, 2016, np.random.default_rng(3))
    code, urban = city.households.shock, strata == 0
    accident = code == ACCIDENT
    # accident drawn last, so its code wins: urban share 0.1 (sd 0.0021), rural 0.02 (sd 0.0010)
    assert accident[urban].mean() == pytest.approx(0.10, abs=0.01)
    assert accident[~urban].mean() == pytest.approx(0.02, abs=0.005)
    # illness keeps code 2 where no accident followed: 0.2 × (1 - 0.1) = 0.18 of urban households
    assert (code[urban] == ILL).mean() == pytest.approx(0.18, abs=0.012)
    assert set(np.unique(code)) <= {0, ILL, ACCIDENT}
    # an accident alone takes 20%: 10,000 -> 8,000; after illness too: 10,000 × 0.75 × 0.8 = 6,000
    income = city.households.income_pc
    assert set(np.round(income[accident]).tolist()) <= {8_000.0, 6_000.0}
    assert (income[code == 0] == 10_000).all()


def test_the_baseline_covers_every_income_shock(baseline):
    """Needs the merged baseline (programmes.temporary_assistance, income.shocks.accident)."""
    shocks = baseline.params.income.shocks
    assert "accident" in shocks
    assert set(shocks) <= set(baseline.params.programmes.temporary_assistance.months_by_shock)
