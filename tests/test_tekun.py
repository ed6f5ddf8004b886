"""Destitute persons (特困): who qualifies, the 1.3 × dibao standard, care by self-care."""

from __future__ import annotations

import numpy as np
import pytest

from simlib import tekun
from simlib.population import City
from simlib.tekun import TekunParams, basic_standard
from tests.cities import hand_city


def fact(value):
    return {"value": value, "unit": "u", "assumption": "test"}


def params(**changes) -> TekunParams:
    block = {
        "basic_ratio": fact(1.3),
        "care_standard": {"independent": fact(60), "partly": fact(300), "fully": fact(600)},
        "no_supporter": {
            "elderly": {"urban": fact(1.0), "rural": fact(1.0)},
            "severely_disabled": fact(1.0),
            "children": fact(1.0),
        },
        "income_limit": fact(1.0),
        "recognition_rate": fact(1.0),
        "concentrated_request_rate": fact(0.0),
    }
    block.update(changes)
    return TekunParams.model_validate(block)


def city_of(people, incomes, assets=None) -> City:
    """``people``: (age, disability, household, adl) per person; one urban area."""
    age, disability, household, adl = zip(*people, strict=True)
    n = len(incomes)
    city = hand_city(age, household, n, disability=disability, adl=adl)
    city.households.add("income_pc", np.asarray(incomes, dtype=float))
    city.households.add("asset_fail", np.zeros(n, bool) if assets is None else np.asarray(assets))
    city.persons.add("institution", np.full(len(age), -1, np.int16), fresh=-1)
    tekun.init_tekun(city, params(), np.random.default_rng(0))
    return city


DIBAO = np.array([600.0, 400.0])  # yuan/person/month, urban and rural


def test_the_basic_standard_is_1_3_times_dibao_rounded_up():
    # 1.3 × 600 = 780; 1.3 × 413 = 536.9 -> 537
    assert basic_standard(np.array([600.0, 413.0]), 1.3) == pytest.approx([780.0, 537.0])
    with pytest.raises(ValueError, match=r"greater than or equal to 1\.3"):
        params(basic_ratio=fact(1.2))


def test_who_qualifies():
    city = city_of(
        [
            (75, 0, 0, 2),  # household 0: an elder alone, no income -> qualifies
            (70, 0, 1, 0),  # household 1: an elder with a working son -> supported by him
            (40, 0, 1, 0),
            (30, 1, 2, 0),  # household 2: a grade-1 disabled adult alone, poor -> qualifies
            (10, 0, 3, 0),  # household 3: a child alone, poor -> qualifies
            (80, 0, 4, 0),  # household 4: an elder alone above the income limit
            (65, 0, 5, 0),  # household 5: an elder alone, poor, but with assets
        ],
        incomes=[0.0, 0.0, 1000.0, 1000.0, 9000.0, 0.0],
        assets=[False, False, False, False, False, True],
    )
    ok = tekun.eligible(city, params(), 12 * DIBAO)  # line 7,200 a year (urban)
    assert ok.tolist() == [True, False, False, True, True, False, False]


def test_support_is_basic_plus_care_by_self_care():
    city = city_of([(75, 0, 0, 2), (70, 0, 1, 0)], incomes=[0.0, 0.0])
    year = tekun.step(city, params(), DIBAO, DIBAO, 2016, np.random.default_rng(1))
    assert year.supported.tolist() == [True, True] and year.entries.all()
    # fully dependent: 780 + 600 = 1,380 a month; self-caring: 780 + 60 = 840
    per_month = year.spending / year.months_paid
    assert per_month == pytest.approx([1380.0, 840.0])
    assert year.basic_standard == pytest.approx([780.0, 520.0])
    # a second year: both continue, 12 months each
    again = tekun.step(city, params(), DIBAO, DIBAO, 2017, np.random.default_rng(2))
    assert again.months_paid.tolist() == [12, 12] and not again.entries.any()


def test_those_no_longer_eligible_leave_unless_in_an_institution():
    city = city_of([(75, 0, 0, 2), (70, 0, 1, 2)], incomes=[0.0, 0.0])
    tekun.step(city, params(), DIBAO, DIBAO, 2016, np.random.default_rng(1))
    city.households.income_pc[:] = 50_000.0  # both households now well off
    city.persons.institution[1] = 0  # the second lives in a care home
    year = tekun.step(city, params(), DIBAO, DIBAO, 2017, np.random.default_rng(2))
    assert year.exits.tolist() == [True, False]
    assert year.supported.tolist() == [False, True]


def test_placement_and_dibao_members():
    city = city_of([(75, 0, 0, 2), (70, 0, 1, 0), (72, 0, 1, 0)], incomes=[0.0, 0.0])
    tekun.step(city, params(), DIBAO, DIBAO, 2016, np.random.default_rng(1))
    assert tekun.needs_placement(city).tolist() == [True, False, False]
    # destitute members are supported apart: dibao counts nobody in these households
    assert tekun.members_not_supported(city).tolist() == [0, 0]
