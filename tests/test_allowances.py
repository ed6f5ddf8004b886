"""Allowances (rates × eligible counts): orphans, the two disability subsidies, the very old."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from simlib import allowances, ledger
from simlib.allowances import AllowancesParams, old_age_monthly
from simlib.columns import Columns
from simlib.population import City


def fact(value, unit="u"):
    return {"value": value, "unit": unit, "assumption": "test"}


def by_stratum(urban, rural):
    return {"urban": fact(urban), "rural": fact(rural)}


def block() -> dict:
    return {
        "orphan_allowance": {
            "scattered_orphan": {
                "monthly_amount": fact(600),
                "prevalence": by_stratum(0.0, 0.0),
                "incidence": by_stratum(0.0, 0.0),
            },
            "unsupported_child": {
                "monthly_amount": {"values": {2015: 0, 2020: 500}, "unit": "u", "assumption": "t"},
                "prevalence": by_stratum(0.0, 0.0),
                "incidence": by_stratum(0.0, 0.0),
            },
        },
        "disability_living_subsidy": {"monthly_amount": fact(50), "claim_share": fact(0.4)},
        "disability_nursing_subsidy": {"monthly_amount": fact(80), "claim_share": fact(0.4)},
        "old_age_allowance": {
            "tiers": [
                {"min_age": 80, "monthly_amount": fact(50)},
                {"min_age": 90, "monthly_amount": fact(100)},
                {"min_age": 100, "monthly_amount": fact(300)},
            ]
        },
    }


def params(data: dict | None = None) -> AllowancesParams:
    return AllowancesParams.model_validate(data or block())


def city_of(people, n_households, strata=None) -> City:
    """``people``: (age, disability, household, institution) per person; one area."""
    age, disability, household, institution = (np.array(c) for c in zip(*people, strict=True))
    m = len(age)
    stratum = np.zeros(m, np.int8) if strata is None else np.asarray(strata, np.int8)
    persons = Columns(
        age=age.astype(np.int16),
        sex=np.zeros(m, np.int8),
        area=np.zeros(m, np.int8),
        stratum=stratum,
        household=household.astype(np.int32),
        disability=disability.astype(np.int8),
    )
    households = Columns(
        area=np.zeros(n_households, np.int8), stratum=np.zeros(n_households, np.int8)
    )
    persons.add("institution", institution.astype(np.int16), fresh=-1)
    return City(("a",), persons, households, weight=1.0, year=2015)


# (age, disability grade, household, institution); household 0 is on dibao, 1 is not
PEOPLE = [
    (45, 3, 0, -1),  # p0: grade 3 in a dibao household, claims -> living subsidy
    (50, 1, 0, -1),  # p1: grade 1 in a dibao household, claims -> living and nursing
    (10, 0, 0, -1),  # p2: a scattered orphan -> orphan allowance
    (30, 2, 0, -1),  # p3: grade 2 in a dibao household who does not claim -> nothing
    (60, 2, 1, -1),  # p4: grade 2, claims, not on dibao -> nursing only
    (79, 0, 1, -1),  # p5: 79 -> no old-age allowance
    (80, 0, 1, -1),  # p6: 80 -> first tier
    (17, 0, 1, -1),  # p7: de facto unsupported child -> orphan allowance (from 2020)
    (89, 1, -1, 0),  # p8: 89 in a care home, grade 1, claims -> old-age; no nursing (home)
    (90, 0, -1, -1),  # p9: 90 in collective quarters -> second tier
    (100, 0, -1, -1),  # p10: 100 -> third tier
    (12, 0, -1, -1),  # p11: a flagged orphan in collective quarters (welfare home) -> not paid
]
ORPHAN = [0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 1]
CLAIM_DRAW = [0.1, 0.2, 0.5, 0.9, 0.3, 0.5, 0.5, 0.5, 0.1, 0.5, 0.5, 0.5]
ON_DIBAO = np.array([True, False])


def worked_city() -> City:
    city = city_of(PEOPLE, 2)
    allowances.init_allowances(city, params(), np.random.default_rng(0))
    city.persons["orphan"] = np.array(ORPHAN, np.int8)
    city.persons["disability_claim_draw"] = np.array(CLAIM_DRAW, np.float32)
    return city


def paid(year, name) -> list[int]:
    return np.flatnonzero(year.persons[name]).tolist()


def test_each_allowance_by_hand():
    city = worked_city()
    year = allowances.step(
        city, params(), 2020, np.random.default_rng(1), dibao_households=ON_DIBAO
    )
    # living subsidy: disabled, claim draw < 0.4, in a dibao household: p0, p1
    # -> 2 × 50 × 12 = 1,200
    assert paid(year, "disability_living_subsidy") == [0, 1]
    assert year.spending["disability_living_subsidy"].sum() == pytest.approx(1_200)
    # nursing subsidy: grade 1-2, claims, not in a care home: p1, p4 (p3 does not claim, p8 lives
    # in a home) -> 2 × 80 × 12 = 1,920
    assert paid(year, "disability_nursing_subsidy") == [1, 4]
    assert year.spending["disability_nursing_subsidy"].sum() == pytest.approx(1_920)
    # orphans in family households: p2 scattered 600 × 12 = 7,200, p7 unsupported 500 × 12 = 6,000
    assert paid(year, "orphan_allowance") == [2, 7]
    assert year.spending["orphan_allowance"][[2, 7]] == pytest.approx([7_200, 6_000])
    # old age: p6 (80) 50 × 12 = 600, p8 (89) 600, p9 (90) 100 × 12 = 1,200, p10 (100) 3,600
    assert paid(year, "old_age_allowance") == [6, 8, 9, 10]
    assert year.spending["old_age_allowance"].sum() == pytest.approx(6_000)
    for name in allowances.PROGRAMMES:
        spending = year.spending[name]
        assert spending.dtype == np.float64 and (spending[~year.persons[name]] == 0).all()


def test_an_allowance_not_yet_introduced_pays_no_one():
    # before 2020 the unsupported child's amount is 0: p7 is flagged but not paid or counted
    year = allowances.step(
        worked_city(), params(), 2019, np.random.default_rng(1), dibao_households=ON_DIBAO
    )
    assert paid(year, "orphan_allowance") == [2]
    assert year.spending["orphan_allowance"].sum() == pytest.approx(7_200)


def test_switches_extend_the_disability_subsidies():
    data = block()
    data["disability_nursing_subsidy"]["institution_residents"] = True
    data["disability_living_subsidy"]["low_income_households"] = True
    p = params(data)
    with pytest.raises(ValueError, match="low_income_households"):
        allowances.step(worked_city(), p, 2020, np.random.default_rng(1), dibao_households=ON_DIBAO)
    year = allowances.step(
        worked_city(),
        p,
        2020,
        np.random.default_rng(1),
        dibao_households=ON_DIBAO,
        low_income_households=np.array([False, True]),
    )
    # household 1 now counts as poor: p4 (grade 2, claims) gets the living subsidy too
    assert paid(year, "disability_living_subsidy") == [0, 1, 4]
    # the care-home resident p8 (grade 1, claims) now gets the nursing subsidy
    assert paid(year, "disability_nursing_subsidy") == [1, 4, 8]


def test_old_age_tiers_at_the_boundaries():
    ages = np.array([0, 79, 80, 89, 90, 99, 100, 105])
    monthly = old_age_monthly(ages, params().old_age_allowance, 2020)
    assert monthly.tolist() == [0, 0, 50, 50, 100, 100, 300, 300]


def test_the_orphan_flag_clears_at_18_and_incidence_hits_only_children():
    ages = np.tile(np.arange(0, 40), 50)  # 50 persons of each age 0-39, all in family households
    people = [(a, 0, i, -1) for i, a in enumerate(ages)]
    data = block()
    data["orphan_allowance"]["scattered_orphan"]["incidence"] = by_stratum(1.0, 1.0)
    city = city_of(people, len(people))
    allowances.init_allowances(city, params(), np.random.default_rng(0))
    assert not city.persons.orphan.any()  # prevalence 0
    allowances.update_orphans(city, params(data).orphan_allowance, 2016, np.random.default_rng(1))
    # incidence 1: every child under 18 flagged, nobody 18 or over
    assert (city.persons.orphan == (ages < 18)).all()
    # a year on: the 17-year-olds turn 18 and lose the flag; with incidence 0 nobody new
    city.persons["age"] = (city.persons.age + 1).astype(np.int16)
    allowances.update_orphans(city, params().orphan_allowance, 2017, np.random.default_rng(2))
    assert (city.persons.orphan == (ages + 1 < 18)).all()
    assert not city.persons.orphan[ages == 17].any()


def test_prevalence_and_incidence_on_a_big_sample():
    n = 100_000  # children in each stratum, plus adults who must never be flagged
    ages = np.r_[np.full(n, 8), np.full(n, 8), np.full(n // 2, 30)]
    strata = np.r_[np.zeros(n), np.ones(n), np.zeros(n // 2)]
    people = [(a, 0, 0, -1) for a in ages]
    data = block()
    orphan = data["orphan_allowance"]
    orphan["scattered_orphan"]["prevalence"] = by_stratum(0.01, 0.02)
    orphan["unsupported_child"]["prevalence"] = by_stratum(0.005, 0.01)
    city = city_of(people, 1, strata)
    allowances.init_allowances(city, params(data), np.random.default_rng(3))
    status = city.persons.orphan
    urban, rural, adult = slice(0, n), slice(n, 2 * n), slice(2 * n, None)
    # sd of a share p over 100,000: sqrt(p(1-p)/n) = 0.00031 (p = 0.01) ... 0.00044 (p = 0.02)
    assert (status[urban] == 1).mean() == pytest.approx(0.01, abs=0.0015)
    assert (status[rural] == 1).mean() == pytest.approx(0.02, abs=0.002)
    assert (status[urban] == 2).mean() == pytest.approx(0.005, abs=0.001)
    assert (status[rural] == 2).mean() == pytest.approx(0.01, abs=0.0015)
    assert not status[adult].any()
    # one year of incidence 0.01 (urban) among children not yet flagged
    orphan["scattered_orphan"]["incidence"] = by_stratum(0.01, 0.0)
    before = city.persons.orphan.copy()
    allowances.update_orphans(city, params(data).orphan_allowance, 2016, np.random.default_rng(4))
    new = (before == 0) & (city.persons.orphan > 0)
    assert new[urban].sum() / (before[urban] == 0).sum() == pytest.approx(0.01, abs=0.0015)
    assert not new[rural].any() and not new[adult].any()
    assert (city.persons.orphan[before > 0] == before[before > 0]).all()  # flags persist


def test_claim_share_on_a_big_sample():
    n = 50_000
    city = city_of([(40, 1, -1, -1)] * n, 0)
    allowances.init_allowances(city, params(), np.random.default_rng(5))
    year = allowances.step(city, params(), 2020, np.random.default_rng(6), dibao_households=[])
    # claim share 0.4: sd sqrt(0.4 × 0.6 / 50,000) = 0.0022
    assert year.persons["disability_nursing_subsidy"].mean() == pytest.approx(0.4, abs=0.01)
    # the draw is fixed: the same persons claim next year
    again = allowances.step(city, params(), 2021, np.random.default_rng(7), dibao_households=[])
    assert (
        again.persons["disability_nursing_subsidy"] == year.persons["disability_nursing_subsidy"]
    ).all()


def test_names_match_the_ledger():
    assert set(allowances.PROGRAMMES) <= set(ledger.PROGRAMMES)
    assert [m.name for m in allowances.METRICS] == [
        "orphan_allowance_persons",
        "disability_living_persons",
        "disability_nursing_persons",
        "old_age_allowance_persons",
    ]


def _with(path: str, value) -> dict:
    data = block()
    node = data
    *parents, last = path.split(".")
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    node[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("old_age_allowance.tiers.1.min_age", 80),  # tiers 80, 80, 100: not increasing
        ("old_age_allowance.tiers.2.min_age", 85),  # 80, 90, 85
        ("old_age_allowance.tiers.0.monthly_amount", fact(-50)),
        ("disability_living_subsidy.monthly_amount", fact(-1)),
        ("disability_nursing_subsidy.claim_share", fact(1.5)),
        ("orphan_allowance.scattered_orphan.prevalence.urban", fact(-0.01)),
        ("orphan_allowance.scattered_orphan.incidence", by_stratum(0.7, 0.0)),  # + below > 1
        ("orphan_allowance.age_limit", 0),
        ("old_age_allowance.tiers", []),
        ("disability_living_subsidy.unknown", 1),
    ],
)
def test_bad_parameters_are_refused(path, value):
    data = _with(path, value)
    if path.endswith("incidence"):
        data["orphan_allowance"]["unsupported_child"]["incidence"] = by_stratum(0.4, 0.0)
    with pytest.raises(ValidationError):
        params(data)


def test_the_baseline_block_validates(baseline):
    """Needs the merged baseline (programmes.allowances)."""
    p = baseline.params.programmes.allowances
    assert [t.min_age for t in p.old_age_allowance.tiers] == [80, 90, 100]
    assert p.orphan_allowance.age_limit == 18
