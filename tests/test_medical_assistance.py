"""Medical assistance (医疗救助) and major-disease assistance (重特大疾病医疗救助)."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from simlib import medical_assistance as ma
from simlib.incomes import SHOCK_CODES
from simlib.medical_assistance import MedicalAssistanceParams, Segment, pay_segmented
from simlib.population import City
from tests.cities import hand_city

TINY = 1e-9  # a log-normal sigma that makes every draw its mean


def fact(value):
    key = "values" if isinstance(value, dict) else "value"
    return {key: value, "unit": "u", "assumption": "test"}


def schedule(segments, cap, deductible=0.0):
    return {"deductible": fact(deductible), "segments": fact(segments), "cap": fact(cap)}


def block(**changes) -> dict:
    """A parameter block whose costs are deterministic: everyone has an episode costing the
    band's mean (0-59: 2,000 yuan; 60+: 10,000; × 1.5 partly, × 2 fully dependent), the
    seriously ill 100,000; insurance pays half, the critical-illness insurance half of
    out-of-pocket cost above 30,000; all out-of-pocket cost is in scope."""
    b = {
        "costs": {
            "age_from": [0, 60],
            "use_rate": fact([1.0, 1.0]),
            "mean": fact([2000.0, 10000.0]),
            "sigma": fact(TINY),
            "dependency_use": fact([1.0, 1.0]),
            "dependency_cost": fact([1.5, 2.0]),
            "growth": fact(0.0),
            "price_year": 2016,
        },
        "serious_illness": {"mean": fact(100000.0), "sigma": fact(TINY)},
        "insurance": {
            "reimbursement": {"urban": fact(0.5), "rural": fact(0.6)},
            "critical_illness": {
                "deductible": {"urban": fact(30000.0), "rural": fact(30000.0)},
                "ratio": fact(0.5),
            },
            "in_scope_share": fact(1.0),
        },
        "premium_subsidy": {
            "resident_premium": fact(200.0),
            "tekun_share": fact(1.0),
            "dibao_share": fact(0.5),
            "coverage": fact(1.0),
        },
        "ordinary": {
            "take_up": fact(1.0),
            "take_up_low_income": fact(1.0),
            "schedules": {
                "tekun": schedule([{"ratio": 1.0}], 3000),
                "dibao": schedule([{"up_to": 2000, "ratio": 0.5}, {"ratio": 0.7}], 4000),
                "low_income": schedule([{"ratio": 0.5}], 2000, deductible=500),
            },
        },
        "major": {
            "catastrophic_share": fact(0.4),
            "take_up_impoverished": fact(1.0),
            "schedules": {
                "tekun": schedule([{"ratio": 0.9}], 50000),
                "dibao": schedule(
                    [{"up_to": 10000, "ratio": 0.6}, {"ratio": 0.8}], 30000, deductible=1000
                ),
                "low_income": schedule([{"ratio": 0.5}], 20000, deductible=2000),
                "impoverished_by_illness": schedule([{"ratio": 0.4}], 10000, deductible=5000),
            },
        },
    }
    b.update(changes)
    return b


def params(**changes) -> MedicalAssistanceParams:
    return MedicalAssistanceParams.model_validate(block(**changes))


def city_of(people, incomes, shocks) -> City:
    """``people``: (age, adl, disability, household) per person; one urban area."""
    age, adl, disability, household = zip(*people, strict=True)
    city = hand_city(age, household, len(incomes), disability=disability, adl=adl)
    city.households.add("income_pc", np.asarray(incomes, dtype=float))
    city.households.add("shock", np.asarray(shocks, dtype=np.int8))
    return city


ILL = SHOCK_CODES["major_illness"]
PEOPLE = [
    (70, 0, 0, 0),  # A  household 0, dibao
    (30, 0, 0, 0),  # B  household 0, dibao
    (45, 0, 0, 1),  # C  household 1, on no programme, hit by major illness
    (65, 2, 0, 2),  # D  household 2, low-income, fully dependent elder
    (40, 0, 0, 2),  # E  household 2, a working-age adult: not an eligible low-income member
    (10, 0, 0, 2),  # F  household 2, a child
    (80, 1, 0, 3),  # G  household 3, destitute, partly dependent
    (50, 0, 0, -1),  # H  in collective quarters, not destitute
    (75, 0, 0, -1),  # I  in an institution, destitute
    (30, 0, 0, 4),  # J  household 4, well off
]
TEKUN = np.array([False] * 6 + [True, False, True, False])
DIBAO = np.array([True, False, False, False, False])
LOW = np.array([True, False, True, False, False])  # household 0 is low-income too: dibao first


def run(incomes_0=3001.0, **changes):
    city = city_of(PEOPLE, [incomes_0, 20000, 4000, 50000, 50000], [0, ILL, 0, 0, 0])
    return ma.step(
        city,
        params(**changes),
        2016,
        np.random.default_rng(0),
        dibao_households=DIBAO,
        tekun_persons=TEKUN,
        low_income_households=LOW,
    )


# --- payment rules ---------------------------------------------------------------------


def test_segmented_ratios_deductible_and_cap():
    segments = [Segment(up_to=5000, ratio=0.6), Segment(ratio=0.7)]
    # 3,000 -> 0.6 × 3,000 = 1,800; 8,000 -> 0.6 × 5,000 + 0.7 × 3,000 = 5,100;
    # 20,000 -> 3,000 + 0.7 × 15,000 = 13,500, capped at 8,000
    paid = pay_segmented(np.array([0.0, 3000, 8000, 20000]), segments, cap=8000)
    assert paid == pytest.approx([0.0, 1800, 5100, 8000])
    segments = [Segment(up_to=5000, ratio=0.4), Segment(ratio=0.5)]
    # deductible 1,000: 800 -> 0; 3,000 -> 0.4 × 2,000 = 800;
    # 9,000 -> 0.4 × 4,000 + 0.5 × 4,000 = 3,600; 15,000 -> 1,600 + 0.5 × 10,000 = 6,600 -> 5,000
    paid = pay_segmented(np.array([800.0, 3000, 9000, 15000]), segments, 5000, deductible=1000)
    assert paid == pytest.approx([0.0, 800, 3600, 5000])
    # a deductible past the first band: 9,000 -> 0.5 × (9,000 − 6,000) = 1,500
    assert pay_segmented(np.array([9000.0]), segments, 1e9, 6000) == pytest.approx([1500])


def test_out_of_pocket_after_basic_and_critical_illness_insurance():
    insurance = params().insurance
    cost = np.array([10000.0, 100000.0, 100000.0])
    stratum = np.array([0, 0, 1])
    # urban 10,000 × 0.5 = 5,000 (below the 30,000 deductible);
    # urban 100,000 × 0.5 = 50,000 − 0.5 × (50,000 − 30,000) = 40,000;
    # rural 100,000 × 0.4 = 40,000 − 0.5 × (40,000 − 30,000) = 35,000
    oop = ma.out_of_pocket(cost, stratum, insurance, 2016)
    assert oop == pytest.approx([5000, 40000, 35000])


def test_catastrophic_trigger_is_strictly_above_the_share_of_income():
    # household 0: income 5,000 × 2 = 10,000, threshold 0.4 × 10,000 = 4,000
    household = np.array([0, 0, 1, -1])
    income = np.array([5000.0, 0.0])
    members = np.array([2, 1])
    at = ma.catastrophic_households(
        np.array([3000.0, 1000, 0, 9e9]), household, income, members, 0.4
    )
    above = ma.catastrophic_households(
        np.array([3000.0, 1000.01, 0, 0]), household, income, members, 0.4
    )
    assert at.tolist() == [False, False]  # 4,000 is not above 4,000; no cost, no trigger
    assert above.tolist() == [True, False]


# --- a year in a hand-built city -------------------------------------------------------


def test_a_year_by_hand():
    year = run()
    # costs: A 10,000; B 2,000; C seriously ill 100,000; D 10,000 × 2 = 20,000; E, F 2,000;
    # G 10,000 × 1.5 = 15,000; H 2,000; I 10,000; J 2,000
    cost = [10000, 2000, 100000, 20000, 2000, 2000, 15000, 2000, 10000, 2000]
    assert year.cost == pytest.approx(cost, rel=1e-6)
    assert year.seriously_ill.tolist() == [False, False, True] + [False] * 7
    # out of pocket: half, and C's 50,000 − 0.5 × 20,000 = 40,000
    oop = [5000, 1000, 40000, 10000, 1000, 1000, 7500, 1000, 5000, 1000]
    assert year.out_of_pocket == pytest.approx(oop, rel=1e-6)
    # ordinary: A dibao 0.5 × 2,000 + 0.7 × 3,000 = 3,100; B 0.5 × 1,000 = 500;
    # D low-income 0.5 × (10,000 − 500) = 4,750 -> cap 2,000; F 0.5 × (1,000 − 500) = 250;
    # G, I destitute: all of 7,500 and 5,000 -> cap 3,000 each; E (working age), H, J nothing
    direct = [3100, 500, 0, 2000, 0, 250, 3000, 0, 3000, 0]
    assert year.paid_direct == pytest.approx(direct, rel=1e-6)
    # household 0: left 1,900 + 500 = 2,400, not above 0.4 × 3,001 × 2 = 2,400.8: no major
    #   (costs carry a log-normal noise of 1e-9, so the case is kept off the exact tie).
    # household 1: 40,000 > 0.4 × 20,000: impoverished by illness, 0.4 × (40,000 − 5,000)
    #   = 14,000 -> cap 10,000.
    # household 2: left 8,000 + 1,000 + 750 = 9,750 > 0.4 × 12,000 = 4,800: D low-income
    #   0.5 × (8,000 − 2,000) = 3,000; F's 750 and E's 1,000 are under their deductibles.
    # destitute without the test: G 0.9 × 4,500 = 4,050; I 0.9 × 2,000 = 1,800
    major = [0, 0, 10000, 3000, 0, 0, 4050, 0, 1800, 0]
    assert year.paid_major == pytest.approx(major, rel=1e-6)
    # premiums: dibao members half of 200, destitute persons all of it
    assert year.paid_premium == pytest.approx([100, 100, 0, 0, 0, 0, 200, 0, 200, 0])
    assert year.premium.sum() == 4
    groups = [ma.GROUPS[g] for g in year.group]
    assert groups[:4] == ["dibao", "dibao", "impoverished_by_illness", "low_income"]
    assert groups[6:] == ["tekun", "none", "tekun", "none"]
    # person-times: ordinary A B D F G I, major C D G I -> 6 + 4 = 10, major share 4 / 10
    assert year.person_times.tolist() == [1, 1, 1, 2, 0, 1, 2, 0, 2, 0]
    assert year.major_person_times.sum() / year.person_times.sum() == pytest.approx(0.4)
    assert year.spending.sum() == pytest.approx(11850 + 18850 + 600, rel=1e-6)


def test_just_above_the_threshold_triggers_major_assistance():
    # household 0 at 2,999 a head: threshold 0.4 × 5,998 = 2,399.2 < 2,400 left.
    # A: 0.6 × (1,900 − 1,000) = 540; B's 500 is under the 1,000 deductible
    year = run(incomes_0=2999.0)
    assert year.paid_major[:2] == pytest.approx([540, 0], rel=1e-6)
    assert year.major[:2].tolist() == [True, False]


def test_caps_bind_and_ineligible_persons_get_nothing():
    year = run()
    ordinary = params().ordinary.schedules
    assert year.paid_direct[3] == float(ordinary.low_income.cap.at(2016))  # D
    assert year.paid_major[2] == 10000  # C at the impoverished cap
    outside, well_off, working_age = 7, 9, 4  # H, J, E
    for who in (outside, well_off, working_age):
        assert year.spending[who] == 0 and year.person_times[who] == 0
    assert year.cost[outside] > 0  # persons outside families have costs all the same


def test_take_up_and_coverage_switch_assistance_off():
    year = run(
        ordinary={**block()["ordinary"], "take_up": fact(0.0), "take_up_low_income": fact(0.0)},
        major={**block()["major"], "take_up_impoverished": fact(0.0)},
        premium_subsidy={**block()["premium_subsidy"], "coverage": fact(0.0)},
    )
    assert year.paid_direct.sum() == 0 and year.paid_major.sum() == 0
    # destitute persons keep their premium; uninsured dibao members get none
    assert year.paid_premium.tolist() == [0, 0, 0, 0, 0, 0, 200, 0, 200, 0]


# --- draws -----------------------------------------------------------------------------


def random_city(n_households: int, rng: np.random.Generator) -> City:
    size = rng.integers(1, 5, n_households)
    household = np.repeat(np.arange(n_households), size)
    household[rng.random(len(household)) < 0.02] = -1
    m = len(household)
    age = rng.integers(0, 95, m)
    adl = np.where(age >= 60, rng.integers(0, 3, m), 0)
    people = zip(age, adl, rng.integers(0, 5, m), household, strict=True)
    shocks = np.where(rng.random(n_households) < 0.1, ILL, 0)
    return city_of(list(people), rng.lognormal(9.0, 0.8, n_households), shocks)


def random_block():
    b = block()
    b["costs"] |= {"use_rate": fact([0.2, 0.4]), "sigma": fact(1.0)}
    b["serious_illness"] = {"mean": fact(100000.0), "sigma": fact(0.7)}
    b["ordinary"] |= {"take_up": fact(0.7), "take_up_low_income": fact(0.4)}
    b["major"] |= {"take_up_impoverished": fact(0.3)}
    b["premium_subsidy"] |= {"coverage": fact(0.85)}
    return MedicalAssistanceParams.model_validate(b)


def test_reproducible_with_a_seed():
    city = random_city(2000, np.random.default_rng(3))
    n_p, n_h = len(city.persons), len(city.households)
    kw = {
        "dibao_households": np.arange(n_h) % 7 == 0,
        "tekun_persons": np.arange(n_p) % 50 == 0,
        "low_income_households": np.arange(n_h) % 3 == 0,
    }
    a = ma.step(city, random_block(), 2016, np.random.default_rng(11), **kw)
    b = ma.step(city, random_block(), 2016, np.random.default_rng(11), **kw)
    c = ma.step(city, random_block(), 2016, np.random.default_rng(12), **kw)
    for name in ("cost", "paid_direct", "paid_major", "paid_premium", "person_times"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.cost, c.cost)
    assert a.major.any() and a.direct.any()
    assert np.array_equal(a.spending, a.paid_direct + a.paid_major + a.paid_premium)


def test_one_seriously_ill_member_per_household_hit():
    city = random_city(3000, np.random.default_rng(5))
    ill = ma.seriously_ill_members(city, np.random.default_rng(6))
    p, h = city.persons, city.households
    hit_with_members = np.flatnonzero((h.shock == ILL) & (city.members() > 0))
    assert np.array_equal(np.sort(p.household[ill]), hit_with_members)


def test_cost_draws_average_the_parameter_means():
    n = 200_000
    b = block()
    b["costs"] |= {
        "use_rate": fact([0.3, 0.5]),
        "sigma": fact(1.0),
        "dependency_use": fact([1.5, 2.0]),
        "growth": fact({2016: 0.1, 2018: 0.0}),
    }
    b["serious_illness"] = {"mean": fact(100000.0), "sigma": fact(0.7)}
    p = MedicalAssistanceParams.model_validate(b)
    rng = np.random.default_rng(7)
    ages = np.repeat([30, 70, 70], n)
    adl = np.repeat([0, 0, 2], n)
    ill = np.zeros(3 * n, dtype=bool)
    ill[:1000] = True
    # price year 2016; costs grow 10% in 2017 and nothing in 2018: index 1.1 in 2018
    cost = ma.draw_costs(ages, adl, np.flatnonzero(ill), p.costs, p.serious_illness, 2018, rng)
    young, old, dependent = cost[1000:n], cost[n : 2 * n], cost[2 * n :]
    # shares with a cost: 0.3, 0.5, 0.5 × 2 = 1.0 (fully dependent)
    assert (young > 0).mean() == pytest.approx(0.3, abs=0.005)
    assert (old > 0).mean() == pytest.approx(0.5, abs=0.005)
    assert (dependent > 0).all()
    # mean given a cost: 2,000 × 1.1; 10,000 × 1.1; 10,000 × 2.0 × 1.1 (sd of a mean ~0.5%)
    assert young[young > 0].mean() == pytest.approx(2200, rel=0.02)
    assert old[old > 0].mean() == pytest.approx(11000, rel=0.02)
    assert dependent.mean() == pytest.approx(22000, rel=0.02)
    assert cost[:1000].mean() == pytest.approx(110000, rel=0.05)
    assert p.costs.index(2015) == pytest.approx(1 / 1.1)  # 2016's growth applies to 2016


# --- parameters and metrics ------------------------------------------------------------


@pytest.mark.parametrize(
    ("segments", "cap", "message"),
    [
        ([{"up_to": 5000, "ratio": 0.5}, {"up_to": 3000, "ratio": 0.6}, {"ratio": 0.7}], 1, "rise"),
        ([{"up_to": 5000, "ratio": 0.5}, {"up_to": 5000, "ratio": 0.6}, {"ratio": 0.7}], 1, "rise"),
        ([{"up_to": 5000, "ratio": 0.5}], 1, "open"),
        ([{"ratio": 0.5}, {"ratio": 0.6}], 1, "only the last"),
        ([], 1, "at least one"),
        ([{"ratio": 1.2}], 1, "less than or equal to 1"),
        ([{"up_to": -5, "ratio": 0.5}, {"ratio": 0.6}], 1, "greater than 0"),
        ([{"ratio": 0.5}], -100, "greater than or equal to 0"),
    ],
)
def test_bad_schedules_are_refused(segments, cap, message):
    ordinary = block()["ordinary"]
    bad = {**ordinary, "schedules": {**ordinary["schedules"], "dibao": schedule(segments, cap)}}
    with pytest.raises(ValidationError, match=message):
        params(ordinary=bad)


def test_bad_costs_are_refused():
    costs = block()["costs"]
    with pytest.raises(ValidationError, match="2 age bands"):
        params(costs={**costs, "mean": fact([1.0, 2.0, 3.0])})
    with pytest.raises(ValidationError, match="two dependency"):
        params(costs={**costs, "dependency_cost": fact([1.5])})
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        params(costs={**costs, "use_rate": fact([0.5, 1.5])})
    with pytest.raises(ValidationError, match="Extra inputs"):
        params(costs={**costs, "shape": "gamma"})


def test_metrics():
    by_name = {m.name: m for m in ma.METRICS}
    share = by_name["medical_assist_major_share"]
    assert share.kind == "ratio"
    assert share.numerator == "medical_assist_major_person_times"
    assert share.denominator == "medical_assist_person_times"
    assert "medical_assist_spending" not in by_name  # declared by the ledger
    assert all(m.label_en and m.label_zh for m in ma.METRICS)
