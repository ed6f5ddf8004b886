"""Dibao: the benefit formula by hand, take-up, the means test, review and gradual exit."""

from __future__ import annotations

import numpy as np
import pytest

from simlib import dibao, draws
from simlib.columns import Columns
from simlib.dibao import DibaoParams, application_probability, monthly_benefit
from simlib.population import City


def fact(value, unit="u"):
    return {"value": value, "unit": unit, "assumption": "test"}


def params(**changes) -> DibaoParams:
    block = {
        "take_up": {
            "max_rate": {"urban": fact(0.5), "rural": fact(0.5)},
            "gap_scale": fact(0.3),
            "outreach": fact(1.0),
            "near_line_band": fact(0.2),
            "near_line_rate": fact(0.0),
        },
        "assessment": {
            "verification_strength": fact(1.0),
            "error_sd": fact(0.4),
            "underreporting": fact(0.2),
            "asset_failure_share": {"urban": fact(0.0), "rural": fact(0.0)},
        },
        "review": {"rate": fact(1.0), "gradual_exit_months": fact(0)},
        "benefit": {
            "floor_share": fact(0.1),
            "supplements": {
                "elderly": {"age": 70, "share": fact(0.1)},
                "child": {"age": 16, "share": fact(0.1)},
                "severely_disabled": fact(0.2),
                "seriously_ill": fact(0.2),
            },
        },
    }
    for path, value in changes.items():
        node = block
        *parents, last = path.split(".")
        for key in parents:
            node = node[key]
        node[last] = value
    return DibaoParams.model_validate(block)


def tiny_city(incomes, members, ages=None, on=None) -> City:
    """Households with the given per-capita incomes and sizes, all urban in one area."""
    n = len(incomes)
    hh_of_person = np.repeat(np.arange(n), members).astype(np.int32)
    m = len(hh_of_person)
    persons = Columns(
        age=np.asarray(ages if ages is not None else [40] * m, dtype=np.int16),
        sex=np.zeros(m, np.int8),
        area=np.zeros(m, np.int8),
        stratum=np.zeros(m, np.int8),
        household=hh_of_person,
        disability=np.zeros(m, np.int8),
    )
    households = Columns(area=np.zeros(n, np.int8), stratum=np.zeros(n, np.int8))
    city = City(("a",), persons, households, weight=1.0, year=2016)
    households.add("income_pc", np.asarray(incomes, dtype=float))
    households.add("shock", np.zeros(n, np.int8), fresh=0)
    dibao.init_dibao(city, params(), np.random.default_rng(0))
    if on is not None:
        households.dibao_on[:] = on
        households.dibao_assessed_pc[:] = np.asarray(incomes, dtype=np.float32)
    return city


STANDARD = np.array([600.0, 400.0])  # yuan/person/month, urban and rural


def test_benefit_by_hand():
    # standard 600/month; assessed income 2,400/year = 200/month; 3 members:
    # (600 - 200) × 3 = 1,200; supplements: one elderly (0.1) + one severely disabled (0.2)
    # = 0.3 × 600 = 180; total 1,380 yuan/month
    b = monthly_benefit(np.array([600.0]), np.array([2400.0]), np.array([3]), np.array([0.3]), 0.1)
    assert b[0] == pytest.approx(1380.0)
    # assessed 7,000/year = 583.33/month: the gap 16.67 is below the floor 0.1 × 600 = 60,
    # so each of 2 members gets 60: 120 yuan/month
    b = monthly_benefit(np.array([600.0]), np.array([7000.0]), np.array([2]), np.array([0.0]), 0.1)
    assert b[0] == pytest.approx(120.0)


def test_supplements_count_classified_members():
    # household 0: ages 75, 10, 40 -> one elderly (0.1) and one child (0.1) = 0.2;
    # household 1: ages 40, 40 -> none
    city = tiny_city([1000.0, 1000.0], [3, 2], ages=[75, 10, 40, 40, 40])
    city.persons.disability[4] = 1  # a grade-1 disabled member in household 1: 0.2
    city.households.shock[0] = 2  # major illness in household 0: 0.2 more
    units = dibao.supplement_units(city, params().benefit.supplements, 2016)
    assert units == pytest.approx([0.4, 0.2])


def test_take_up_rises_with_the_gap():
    p = params().take_up
    line = np.full(4, 7200.0)  # 600 × 12
    income = np.array([0.0, 3600.0, 7000.0, 8000.0])
    prob = application_probability(income, line, np.full(4, 0.5), p, 2016)
    # gap 1.0: 0.5 × (1 - e^(-1/0.3)) = 0.4822; gap 0.5: 0.5 × (1 - e^(-0.5/0.3)) = 0.4056;
    # gap 0.0278: 0.5 × (1 - e^(-0.0926)) = 0.0442; above the line, near_line_rate 0
    assert prob == pytest.approx([0.48216, 0.40556, 0.04422, 0.0], abs=1e-4)
    near = params(**{"take_up.near_line_rate": fact(0.05)}).take_up
    assert application_probability(income, line, np.full(4, 0.5), near, 2016)[3] == 0.05
    doubled = params(**{"take_up.outreach": fact(2.0)}).take_up
    assert application_probability(income, line, np.full(4, 0.5), doubled, 2016)[
        0
    ] == pytest.approx(0.96433, abs=1e-5)


def test_perfect_verification_sees_true_income():
    a = params().assessment
    income = np.array([1000.0, 5000.0])
    z = np.array([1.5, -2.0])
    assert dibao.assess(income, z, 1.0, a, 2016) == pytest.approx(income)
    # with no verification: 1000 × e^(0.4 × 1.5 - 0.2) = 1000 × e^0.4 = 1491.82;
    # 5000 × e^(0.4 × -2 - 0.2) = 5000 × e^-1 = 1839.40; at v = 0.5 half the error:
    # 1000 × e^(0.2 × 1.5 - 0.1) = 1000 × e^0.2 = 1221.40
    assert dibao.assess(income, z, 0.0, a, 2016) == pytest.approx([1491.82, 1839.40], abs=0.01)
    assert dibao.assess(income, z, 0.5, a, 2016)[0] == pytest.approx(1221.40, abs=0.01)
    # through the step's normal draws: incomes understated by 0.2 log points on average
    seen = dibao.assess(1000.0, draws.keyed_normals(np.uint64(1), np.arange(200_000)), 0.0, a, 2016)
    assert np.log(seen / 1000.0).mean() == pytest.approx(-0.2, abs=0.005)
    assert np.log(seen / 1000.0).std() == pytest.approx(0.4, abs=0.005)


def test_draws_are_splitmix64():
    # SplitMix64 (Steele, Lea & Flood 2014) seeded with 1234567 first outputs
    # 6457827717110365317 (the reference C code's test value); row 1 of key 1234567 is that
    # output, of which uniforms keeps the top 53 bits: 6457827717110365317 >> 11
    # = 3153236189995295, / 2^53 = 0.35008
    key = np.uint64(1234567)
    assert draws.keyed_uniforms(key, np.array([1]))[0] == 3153236189995295 * 2.0**-53
    # months: floor(12 × 3153236189995295 / 2^53) = floor(4.2009) = 4
    assert draws.keyed_months(key, np.array([1]))[0] == 4


def test_draws_depend_on_the_key_and_the_row_only():
    key = np.uint64(0xDEADBEEF)
    rows = np.arange(200_000)
    u = draws.keyed_uniforms(key, rows)
    assert (draws.keyed_uniforms(key, np.array([7, 70_001])) == u[[7, 70_001]]).all()
    assert ((u >= 0) & (u < 1)).all()
    # uniform: each tenth holds 20,000 ± 134 (sd sqrt(200,000 × 0.1 × 0.9)); mean 0.5 ± 0.0006
    assert np.bincount((u * 10).astype(int), minlength=10) == pytest.approx(
        np.full(10, 20_000), abs=600
    )
    assert u.mean() == pytest.approx(0.5, abs=0.003)
    # neighbouring rows and another key are uncorrelated (sd of a correlation 1/√n = 0.0022)
    assert np.corrcoef(u[:-1], u[1:])[0, 1] == pytest.approx(0.0, abs=0.01)
    other = draws.keyed_uniforms(np.uint64(0xDEADBEF0), rows)
    assert np.corrcoef(u, other)[0, 1] == pytest.approx(0.0, abs=0.01)
    # normals: 2.5% below -1.96 (sd 0.00035); months 0-11 equally likely (16,667 ± 124 each)
    z = draws.keyed_normals(key, rows)
    assert (z < -1.96).mean() == pytest.approx(0.025, abs=0.0015)
    assert np.bincount(draws.keyed_months(key, rows)) == pytest.approx(
        np.full(12, 200_000 / 12), abs=600
    )


def test_a_household_draws_the_same_whatever_the_others_do():
    # common random numbers: 500 poor households apply and enter as before when another 500
    # stop applying (richer), with the same seed: their entries, months and assessments hold
    p = params(**{"assessment.verification_strength": fact(0.5)})
    outcomes = []
    for others in (3600.0, 50_000.0):
        city = tiny_city(np.r_[np.full(500, 3600.0), np.full(500, others)], np.ones(1000, int))
        result = dibao.step(city, p, STANDARD, 2016, np.random.default_rng(13))
        outcomes.append(
            (
                result.entries[:500],
                result.months_paid[:500],
                city.households.dibao_assessed_pc[:500],
            )
        )
    for same, other in zip(*outcomes, strict=True):
        assert (same == other).all()
    assert 0 < outcomes[0][0].sum() < 500


def test_poor_household_is_admitted_and_paid():
    # income 1,200/year = 100/month, take-up certain (gap_scale tiny, max_rate 1)
    p = params(**{"take_up.max_rate.urban": fact(1.0), "take_up.gap_scale": fact(1e-9)})
    city = tiny_city([1200.0], [2])
    result = dibao.step(city, p, STANDARD, 2016, np.random.default_rng(3))
    assert result.entries[0] and result.recipients[0]
    # (600 - 100) × 2 = 1,000 a month, from the entry month
    assert result.benefit_month[0] == pytest.approx(1000.0)
    assert 1 <= result.months_paid[0] <= 12
    assert result.spending[0] == pytest.approx(1000.0 * result.months_paid[0])
    assert not result.wrongly_included[0] and result.eligible[0]


def test_review_removes_those_above_the_line():
    # on dibao, income now 9,000/year > 7,200: reviewed and out, paid until the review month
    city = tiny_city([9000.0, 3000.0], [1, 1], on=[True, True])
    result = dibao.step(city, params(), STANDARD, 2016, np.random.default_rng(4))
    assert result.exits.tolist() == [True, False]
    assert result.recipients.tolist() == [False, True]
    assert 0 <= result.months_paid[0] <= 11 and result.months_paid[1] == 12


def test_gradual_exit_pays_on_and_carries_into_next_year():
    p = params(**{"review.gradual_exit_months": fact(6)})
    months = []
    for seed in range(40):
        city = tiny_city([9000.0], [1], on=[True])
        result = dibao.step(city, p, STANDARD, 2016, np.random.default_rng(seed))
        paid, left = result.months_paid[0], city.households.dibao_exit_left[0]
        # review month r (1-12): paid r - 1 + 6 months in all, at most 12 this year
        assert paid + left - 6 in range(0, 12)
        assert result.recipients[0] == (left > 0)
        assert not result.wrongly_included[0]  # a household in gradual exit is not an error
        if left:
            nxt = dibao.step(city, p, STANDARD, 2017, np.random.default_rng(seed))
            assert nxt.months_paid[0] == left and not nxt.recipients[0]
        months.append(paid)
    assert min(months) == 6 and max(months) == 12


def test_errors_with_weak_verification():
    # no verification: incomes understated, so some above the line get in (inclusion error)
    p = params(
        **{
            "assessment.verification_strength": fact(0.0),
            "take_up.near_line_rate": fact(1.0),
        }
    )
    n = 20_000
    city = tiny_city(np.full(n, 7200 * 1.1), np.ones(n, dtype=int))
    result = dibao.step(city, p, STANDARD, 2016, np.random.default_rng(5))
    # all apply; assessed = 1.1 × e^u, u ~ N(-0.2, 0.4): admitted if u < ln(1/1.1) = -0.0953,
    # P = Φ((-0.0953 + 0.2) / 0.4) = Φ(0.262) = 0.603
    assert result.recipients.mean() == pytest.approx(0.603, abs=0.015)
    assert (result.wrongly_included == result.recipients).all()


def test_supplements_of_some_households_only():
    # households 0 (ages 75, 10), 1 (40, grade-2 disabled), 2 (80); a person outside any
    # family household (-1, aged 90) is counted for no one
    city = tiny_city([1000.0] * 3, [2, 1, 1], ages=[75, 10, 40, 80])
    p = city.persons
    p.disability[2] = 2
    p.append({"age": np.array([90]), "household": np.array([-1])})  # the others 0
    s = params().benefit.supplements
    # all: [0.1 + 0.1, 0.2, 0.1]; of households 1 and 2 only: [0.2, 0.1]
    assert dibao.supplement_units(city, s, 2016) == pytest.approx([0.2, 0.2, 0.1])
    assert dibao.supplement_units(city, s, 2016, np.array([1, 2])) == pytest.approx([0.2, 0.1])
    assert dibao.supplement_units(city, s, 2016, np.array([0])) == pytest.approx([0.2])
    assert len(dibao.supplement_units(city, s, 2016, np.array([], dtype=int))) == 0


def test_admitted_household_benefit_with_supplements_by_hand():
    # income 2,400/year = 200/month, 3 members aged 75, 10 and 40, hit by major illness;
    # take-up certain, perfect verification: admitted on its true income.
    # gap (600 - 200) × 3 = 1,200; supplements elderly 0.1 + child 0.1 + ill 0.2 = 0.4
    # × 600 = 240; benefit 1,440 a month, paid from the entry month
    p = params(**{"take_up.max_rate.urban": fact(1.0), "take_up.gap_scale": fact(1e-9)})
    city = tiny_city([2400.0, 50_000.0], [3, 1], ages=[75, 10, 40, 40])
    city.households.shock[0] = 2
    result = dibao.step(city, p, STANDARD, 2016, np.random.default_rng(7))
    assert result.entries.tolist() == [True, False]
    assert result.benefit_month == pytest.approx([1440.0, 0.0])
    assert result.spending[0] == pytest.approx(1440.0 * result.months_paid[0])
    assert city.households.dibao_assessed_pc[0] == pytest.approx(2400.0)


def test_application_shares():
    # perfect verification (assessed = income), near_line_rate 0.3, band 0.2; n each:
    # gap 0.5 (income 3,600 < line 7,200): apply and admitted with p = 0.5 × (1 - e^(-0.5/0.3))
    #   = 0.5 × (1 - 0.18888) = 0.40556 (sd sqrt(0.4056 × 0.5944 / 20,000) = 0.0035)
    # 10% above the line (7,920): apply at 0.3 but are refused: no entries
    # 30% above (9,360), beyond the band: never apply
    n = 20_000
    p = params(**{"take_up.near_line_rate": fact(0.3)})
    city = tiny_city(np.repeat([3600.0, 7920.0, 9360.0], n), np.ones(3 * n, dtype=int))
    result = dibao.step(city, p, STANDARD, 2016, np.random.default_rng(8))
    poor, near, far = result.entries.reshape(3, n)
    assert poor.mean() == pytest.approx(0.40556, abs=0.015)
    assert not near.any() and not far.any()
    # the same near-line households with no verification: u ~ N(-0.2, 0.4) and admitted if
    # 1.1 e^u < 1, P = Φ((ln(1/1.1) + 0.2) / 0.4) = Φ(0.262) = 0.603; 0.3 × 0.603 = 0.181
    weak = params(
        **{"take_up.near_line_rate": fact(0.3), "assessment.verification_strength": fact(0.0)}
    )
    city = tiny_city(np.repeat([7920.0, 9360.0], n), np.ones(2 * n, dtype=int))
    near, far = dibao.step(city, weak, STANDARD, 2016, np.random.default_rng(9)).entries.reshape(
        2, n
    )
    assert near.mean() == pytest.approx(0.181, abs=0.012)
    assert not far.any()


def test_review_rate_and_found_assets():
    # recipients above the line (9,000 > 7,200) leave when reviewed, at rate 0.3 a year:
    # exits 0.3 of them (sd 0.0032); the others are paid all 12 months
    n = 20_000
    p = params(**{"review.rate": fact(0.3)})
    city = tiny_city(np.full(n, 9000.0), np.ones(n, dtype=int), on=np.ones(n, dtype=bool))
    result = dibao.step(city, p, STANDARD, 2016, np.random.default_rng(10))
    assert result.exits.mean() == pytest.approx(0.3, abs=0.015)
    assert (result.months_paid[~result.exits] == 12).all()
    # the review month is uniform: paid 0-11 months before it (no gradual exit), mean 5.5
    assert set(result.months_paid[result.exits].tolist()) == set(range(12))
    assert result.months_paid[result.exits].mean() == pytest.approx(5.5, abs=0.2)
    assert result.spending[result.months_paid == 0].sum() == 0.0
    # eligible recipients holding assets that fail the test, all reviewed, verification 0.7:
    # found (and out) with probability 0.7
    p = params(**{"assessment.verification_strength": fact(0.7)})
    city = tiny_city(np.full(n, 3000.0), np.ones(n, dtype=int), on=np.ones(n, dtype=bool))
    city.households.asset_fail[: n // 2] = True
    exits = dibao.step(city, p, STANDARD, 2016, np.random.default_rng(11)).exits
    assert exits[: n // 2].mean() == pytest.approx(0.7, abs=0.015)
    # without such assets, income seen with error u ~ N(-0.06, 0.12) (× (1 - 0.7)):
    # out if 3,000 e^u >= 7,200, u >= 0.875: 7.8 standard deviations away, never
    assert not exits[n // 2 :].any()


def test_entry_months_are_uniform():
    # certain take-up: every household enters, in a month uniform over the year:
    # paid 12 - (0..11) = 1..12 months, mean 6.5 (sd 3.45 / sqrt(20,000) = 0.024)
    n = 20_000
    p = params(**{"take_up.max_rate.urban": fact(1.0), "take_up.gap_scale": fact(1e-9)})
    city = tiny_city(np.full(n, 1200.0), np.ones(n, dtype=int))
    months = dibao.step(city, p, STANDARD, 2016, np.random.default_rng(12)).months_paid
    assert set(months.tolist()) == set(range(1, 13))
    assert months.mean() == pytest.approx(6.5, abs=0.1)
