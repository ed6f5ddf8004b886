"""Elderly care: the demand for beds by hand, who may use which home, and who gets the last bed."""

from __future__ import annotations

import mesa
import numpy as np
import pytest

from simlib import elderly_care
from simlib.columns import Columns
from simlib.elderly_care import ElderlyCareParams, allowed_kinds, seeking_probability
from simlib.institutions import KINDS, CareHome
from simlib.population import City
from tests.conftest import BASELINE


def care_params(**changes) -> ElderlyCareParams:
    from simlib.parameters import load_tree

    block = load_tree(BASELINE).data["programmes"]["elderly_care"]
    block.update(changes)
    return ElderlyCareParams.model_validate(block)


def fact(value):
    return {"value": value, "unit": "u", "assumption": "test"}


def test_seeking_probability_by_hand():
    s = care_params(
        seeking={
            "intercept": fact(-4.0),
            "partly": fact(1.0),
            "fully": fact(2.5),
            "living_alone": fact(0.7),
            "per_decade_over_60": fact(0.5),
            "income": fact(0.5),
            "waiting_dropout": fact(0.3),
        }
    ).seeking
    # a fully dependent 80-year-old living alone, income equal to the fee:
    # -4 + 2.5 + 0.7 + 0.5 × 2 + 0.5 × ln(1) = 0.2 -> 1 / (1 + e^-0.2) = 0.5498
    # an independent 60-year-old, not alone, income a tenth of the fee:
    # -4 + 0.5 × ln(0.1) = -5.1513 -> 1 / (1 + e^5.1513) = 1 / 173.66 = 0.0057585
    p = seeking_probability(
        np.array([80, 60]),
        np.array([2, 0]),
        np.array([True, False]),
        np.array([1800.0, 180.0]),
        1800.0,
        s,
        2016,
    )
    assert p == pytest.approx([0.54983, 0.0057585], rel=1e-4)


def test_who_may_use_which_kind():
    params = care_params()
    fees = np.array([1800.0, 2200.0, 2600.0, 1000.0, 1600.0])  # in KINDS order
    ranks = np.tile(np.arange(len(KINDS)), (3, 1))
    # 0: destitute, no income -> every kind on its list; 1: poor and fully dependent with no
    # income -> the subsidised kinds only; 2: income 1,500 a month can pay up to 1.5 × 1,500 =
    # 2,250: public, public_private, jinglaoyuan and welfare_home, not private (2,600)
    allowed = allowed_kinds(
        ranks,
        np.array([True, False, False]),
        np.array([False, True, False]),
        np.array([0.0, 0.0, 1500.0]),
        fees,
        params,
        2016,
    )
    subsidised = [k in params.subsidised_kinds for k in KINDS]
    assert (allowed[0] >= 0).all()
    assert ((allowed[1] >= 0) == subsidised).all()
    assert (allowed[2] >= 0).tolist() == [True, True, False, True, True]


def one_area_city(ages, adl, tekun, incomes):
    """One-person households of elders in one urban area."""
    n = len(ages)
    persons = Columns(
        age=np.asarray(ages, np.int16),
        sex=np.zeros(n, np.int8),
        area=np.zeros(n, np.int8),
        stratum=np.zeros(n, np.int8),
        household=np.arange(n, dtype=np.int32),
        disability=np.zeros(n, np.int8),
    )
    households = Columns(area=np.zeros(n, np.int8), stratum=np.zeros(n, np.int8))
    households.add("income_pc", np.asarray(incomes, float))
    city = City(("a",), persons, households, weight=1.0, year=2016)
    persons.add("adl", np.asarray(adl, np.int8))
    persons.add("tekun", np.asarray(tekun, bool))
    elderly_care.init_care(city)
    return city


def test_the_last_bed_goes_to_the_destitute_person_who_cannot_care_for_themselves():
    model = mesa.Model(rng=0)
    homes = [CareHome(model, 0, "public", 1, 0, 1800.0, 500.0, 2015)]  # one bed
    # 0: a well-off fully dependent elder who has waited since 2014;
    # 1: a destitute fully dependent elder placed by the bureau this year
    city = one_area_city([85, 80], [2, 2], [False, True], [60_000.0, 0.0])
    city.persons.waiting_since[0] = 2014
    first = np.array([False, True])
    never = care_params(
        seeking={
            **care_params().model_dump(mode="json")["seeking"],
            "intercept": fact(-50.0),
            "waiting_dropout": fact(0.0),
        },
        discharge_rate=fact(0.0),
    )
    year = elderly_care.step(
        city,
        homes,
        never,
        2016,
        np.random.default_rng(1),
        1.0,
        np.array([5000.0, 0.0]),
        np.array([False, True]),
        first,
        np.array([False, False]),
    )
    assert year.admitted.tolist() == [False, True]
    assert city.persons.institution.tolist() == [-1, 0]
    assert city.persons.household[1] == -1  # the resident left the family household
    assert year.waiting.tolist() == [True, False] and city.persons.waiting_since[0] == 2014
    # the bed is full: the operating subsidy is 12 months of one resident on the mean of 0 and 1
    assert year.subsidy_spending.tolist() == [500.0 * 12 * 0.5]
