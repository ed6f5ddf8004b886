"""Care workers: the need from a resident mix, a year worked by hand, the staffing limit, and
a shortage of care workers lowering admissions in a hand-built city."""

from __future__ import annotations

import functools

import mesa
import numpy as np
import pydantic
import pytest

from simlib import elderly_care
from simlib.care_workforce import (
    PROGRAMME,
    CareWorkforceParams,
    CareWorkforceState,
    hiring_target,
    init_care_workforce,
    need_per_resident,
    staffable_residents,
    step,
    workers_needed,
)
from simlib.elderly_care import ElderlyCareParams, staffing_room, within_staffing
from simlib.institutions import CareHome
from simlib.services import ServiceInputs
from simlib.workforce import Workforce
from tests.cities import hand_city
from tests.conftest import BASELINE

RATIO = np.array([0.1, 0.2, 0.5])  # the test's ratios: 1:10, 1:5, 1:2


def fact(value, unit="u"):
    return {"value": value, "unit": unit, "assumption": "test"}


def params(**changes) -> CareWorkforceParams:
    block = {
        "staffing_ratio": {
            "self_caring": fact(0.1),
            "partly": fact(0.2),
            "fully": fact(0.5),
        },
        "minimum_staffing_share": fact(0.65),
        "initial_coverage": fact(0.9),
        "initial_certified_share": fact(0.4),
        "empty_beds_staffed_share": fact(0.1),
        "gap_filled_share": fact(0.5),
        "attrition_rate": fact(0.2),
        "hires_certified_share": fact(0.2),
        "certification_rate": fact(0.1),
        "training_places": fact(30),
        "training_pass_share": fact(0.8),
        "funded_recruits": fact(5),
        "costs": {
            "training_per_trainee": fact(1200),
            "certification_subsidy": fact(200),
            "entry_subsidy": fact(10000),
        },
    }
    return CareWorkforceParams.model_validate(block | changes)


def inputs(residents: np.ndarray, cpi_level: float = 1.0) -> ServiceInputs:
    cells = residents.shape[:2]
    return ServiceInputs(
        population=np.ones(cells),
        households=np.ones(cells),
        elderly_60p=np.ones(cells),
        assistance_recipients=np.ones(cells),
        residents_by_care_level=residents,
        beds=residents.sum(axis=-1) * 2,
        budget_revenue=1e9,
        cpi_level=cpi_level,
    )


def one_cell(self_caring, partly, fully) -> np.ndarray:
    """Residents of one area's urban homes (the rural cell empty): shape (1, 2, 3)."""
    r = np.zeros((1, 2, 3))
    r[0, 0] = [self_caring, partly, fully]
    return r


def test_workers_needed_from_a_hand_made_mix():
    # 20 self-caring × 0.1 + 10 partly × 0.2 + 4 fully × 0.5 = 2 + 2 + 2 = 6 workers;
    # the rural cell: 3 fully dependent × 0.5 = 1.5
    residents = np.array([[[20.0, 10.0, 4.0], [0.0, 0.0, 3.0]]])
    assert workers_needed(residents, RATIO) == pytest.approx(np.array([[6.0, 1.5]]))
    # per resident: 6 / 34 and 1.5 / 3 = 0.5
    assert need_per_resident(residents, RATIO) == pytest.approx(np.array([[6 / 34, 0.5]]))


def test_an_empty_area_takes_the_city_mix():
    # area 0 has 20 self-caring and 20 fully dependent: (2 + 10) / 40 = 0.3 per resident;
    # area 1 has nobody: the city's mix, the same 0.3; nobody anywhere: the partly ratio 0.2
    by_area = np.array([[20.0, 0.0, 20.0], [0.0, 0.0, 0.0]])
    assert need_per_resident(by_area, RATIO).tolist() == pytest.approx([0.3, 0.3])
    assert need_per_resident(np.zeros((2, 3)), RATIO).tolist() == pytest.approx([0.2, 0.2])


def test_the_homes_recruit_for_their_residents_and_some_empty_beds():
    # urban homes: 20 self-caring residents in 50 beds, 0.1 worker each; 20% of the 30 empty
    # beds are staffed: 0.1 × (20 + 0.2 × 30) = 2.6.  A new rural home with 10 beds and
    # nobody yet takes the city's mix (0.1 per resident): 0.1 × 0.2 × 10 = 0.2
    residents = np.array([[[20.0, 0.0, 0.0], [0.0, 0.0, 0.0]]])
    target = hiring_target(residents, np.array([[50.0, 10.0]]), RATIO, 0.2)
    assert target == pytest.approx(np.array([[2.6, 0.2]]))


def test_the_base_year_workers_cover_a_share_of_the_need():
    # need 200 × 0.1 + 100 × 0.2 + 40 × 0.5 = 60; coverage 0.9 -> 54; certified 40% -> 21.6
    state = init_care_workforce(params(), ("a",), inputs(one_cell(200, 100, 40)))
    assert state.workforce.workers == pytest.approx(np.array([[54.0, 0.0]]))
    assert state.workforce.certified == pytest.approx(np.array([[21.6, 0.0]]))


def test_a_year_worked_by_hand():
    # 50 workers, 20 certified; residents 200 / 100 / 40 in 680 beds: needed 60 (60 / 340 per
    # resident); the homes recruit for their 340 residents and 10% of the 340 empty beds:
    #   target = 60 / 340 × (340 + 0.1 × 340) = 60 + 6 = 66
    #   staying = 50 × 0.8 = 40; gap = 66 − 40 = 26; the market fills 0.5 × 26 = 13;
    #   subsidised recruits 5 of the 13 still open -> hires 18, 0.2 × 18 = 3.6 certified
    #   leavers 10, of them certified 0.2 × 20 = 4
    #   pool = (30 − 6) + (18 − 3.6) = 24 + 14.4 = 38.4; 30 places -> 30 trained
    #   certified in = 0.8 × 30 + 0.1 × (38.4 − 30) = 24 + 0.84 = 24.84
    #   workers = 50 + 18 − 10 = 58; certified = 20 + 3.6 + 24.84 − 4 = 44.44
    #   shortfall = 60 − 58 = 2
    #   spending = 30 × 1,200 + 24.84 × 200 + 5 × 10,000 = 36,000 + 4,968 + 50,000 = 90,968,
    #   × CPI 1.25 = 113,710 yuan
    p = params()
    state = CareWorkforceState(Workforce(np.array([[50.0, 0.0]]), np.array([[20.0, 0.0]])))
    year = step(state, p, 2016, None, inputs(one_cell(200, 100, 40), cpi_level=1.25))
    raw = year.raw
    assert raw["care_workers_needed"] == pytest.approx(np.array([[60.0, 0.0]]))
    assert raw["care_worker_entrants"] == pytest.approx(np.array([[18.0, 0.0]]))
    assert raw["care_worker_funded_recruits"] == pytest.approx(np.array([[5.0, 0.0]]))
    assert raw["care_workers_trained"] == pytest.approx(np.array([[30.0, 0.0]]))
    assert raw["care_workers_certified_in"] == pytest.approx(np.array([[24.84, 0.0]]))
    assert raw["care_workers"] == pytest.approx(np.array([[58.0, 0.0]]))
    assert raw["care_workers_certified"] == pytest.approx(np.array([[44.44, 0.0]]))
    assert raw["care_worker_shortfall"] == pytest.approx(np.array([[2.0, 0.0]]))
    assert year.spending[PROGRAMME].sum() == pytest.approx(113_710.0)
    f = year.flows
    assert (raw["care_workers"] == f.workers_start + f.inflow - f.outflow).all()
    assert state.workforce.certified.tolist() == raw["care_workers_certified"].tolist()


def test_subsidised_recruits_never_exceed_the_open_gap():
    # as above, the gap left after the market is 13: 100 subsidised recruits place only 13
    state = CareWorkforceState(Workforce(np.array([[50.0, 0.0]]), np.array([[20.0, 0.0]])))
    p = params(funded_recruits=fact(100))
    year = step(state, p, 2016, None, inputs(one_cell(200, 100, 40)))
    assert year.raw["care_worker_funded_recruits"] == pytest.approx(np.array([[13.0, 0.0]]))
    assert year.raw["care_workers"] == pytest.approx(np.array([[40.0 + 26.0, 0.0]]))


def test_the_certified_share_reaches_the_plan_with_enough_training():
    # every uncertified worker trained every year, 95% pass: the certified share climbs to
    # 95% and above within a few years whatever the turnover
    p = params(training_places=fact(10_000), training_pass_share=fact(0.95))
    state = init_care_workforce(p, ("a",), inputs(one_cell(200, 100, 40)))
    for y in range(2016, 2021):
        raw = step(state, p, y, None, inputs(one_cell(200, 100, 40))).raw
    assert raw["care_workers_certified"].sum() / raw["care_workers"].sum() >= 0.95


def test_staffable_residents_from_the_workers_and_the_mix():
    # residents 200 / 100 / 40: 60 workers needed for 340, 60 / 340 per resident; with 39
    # workers and a floor of 65% of the need: 39 / (60 / 340 × 0.65) = 39 × 340 / 39 = 340
    state = CareWorkforceState(Workforce(np.array([[30.0, 9.0]]), np.zeros((1, 2))))
    staffable = staffable_residents(state, params(), one_cell(200, 100, 40), 2016)
    assert staffable.tolist() == pytest.approx([340.0])


@pytest.mark.parametrize(
    "changes",
    [
        {"attrition_rate": fact(-0.1)},
        {"initial_certified_share": fact(1.5)},
        {"hires_certified_share": fact(1.01)},
        {"minimum_staffing_share": fact(0.0)},
        {"minimum_staffing_share": fact(1.2)},
        {"training_places": fact(-1)},
        {"staffing_ratio": {"self_caring": fact(0.0), "partly": fact(0.2), "fully": fact(0.5)}},
    ],
)
def test_bad_parameters_are_refused(changes):
    with pytest.raises(pydantic.ValidationError):
        params(**changes)


# --- the staffing limit in elderly care ---------------------------------------------------


def test_staffing_room_by_hand():
    # area 0 may hold 6.7 -> 6 residents and has 3: room 3; area 1 may hold 1 and has 4:
    # room 0, never negative (nobody is moved out); area 2: 10 for 0 residents
    room = staffing_room(np.array([6.7, 1.0, 10.0]), np.array([3, 4, 0]))
    assert room.tolist() == [3.0, 0.0, 10.0]
    with pytest.raises(ValueError):
        staffing_room(np.array([-1.0]), np.array([0]))


def test_within_staffing_keeps_the_first_served_of_each_area():
    # six seekers admitted (homes 7, 8, ...), areas 0 0 0 1 1 0; the serve order is by
    # priority then order: seekers 2 (p0), 0 (p1, order 1), 5 (p1, order 2), 1 (p2), ...
    # area 0 has room 2: seekers 2 and 0 keep their places, 5 and 1 wait; area 1 has room 5:
    # both of its seekers keep theirs.  Seeker 6 (not admitted) stays out.
    home = np.array([7, 8, 9, 10, 11, 12, -1])
    area = np.array([0, 0, 0, 1, 1, 0, 0])
    priority = np.array([1, 2, 0, 0, 1, 1, 0])
    order = np.array([1.0, 1.0, 5.0, 2.0, 3.0, 2.0, 0.0])
    kept = within_staffing(home, area, priority, order, np.array([2.0, 5.0]))
    assert kept.tolist() == [7, -1, 9, 10, 11, -1, -1]
    # room for all: nothing changes
    same = within_staffing(home, area, priority, order, np.array([4.0, 2.0]))
    assert same.tolist() == home.tolist()


@functools.cache
def care_params() -> ElderlyCareParams:
    """The baseline's elderly-care rules, with nobody seeking a bed of their own accord and
    nobody discharged: only the destitute persons the bureau places are admitted."""
    from simlib.parameters import load_tree

    block = load_tree(BASELINE).data["programmes"]["elderly_care"]
    block["seeking"]["intercept"] = fact(-50.0)
    block["seeking"]["waiting_dropout"] = fact(0.0)
    block["discharge_rate"] = fact(0.0)
    return ElderlyCareParams.model_validate(block)


def city_with_a_home(residents: int, seekers: int):
    """One area: ``residents`` fully dependent elders already in the one public home (10
    places), ``seekers`` fully dependent destitute elders at home whom the bureau places."""
    n = residents + seekers
    inside = np.arange(n) < residents
    city = hand_city([80] * n, np.where(inside, -1, np.arange(n)), n, adl=[2] * n)
    city.persons.add("tekun", ~inside)
    city.households.add("income_pc", np.zeros(n))
    elderly_care.init_care(city)
    city.persons.institution[inside] = 0
    homes = [CareHome(mesa.Model(rng=0), 0, "public", 10, 0, 1800.0, 500.0, 2015)]
    return city, homes, ~inside


def admit(residents: int, seekers: int, staffed) -> int:
    city, homes, first = city_with_a_home(residents, seekers)
    n = len(city.persons)
    year = elderly_care.step(
        city,
        homes,
        care_params(),
        2016,
        np.random.default_rng(1),
        1.0,
        np.zeros(n),
        first,
        first,
        np.zeros(n, dtype=bool),
        staffed=staffed,
    )
    assert (city.persons.institution[:residents] == 0).all()  # nobody is moved out
    return int(year.admitted.sum())


def test_a_shortage_of_care_workers_lowers_admissions():
    # 2 residents and 4 destitute elders to place in a home with 10 places: all 4 come in
    # without a limit; with staff for 3 residents only 1 does; staff for 1 (below the 2
    # already there): nobody comes in and nobody leaves
    assert admit(2, 4, None) == 4
    assert admit(2, 4, np.array([3.0])) == 1
    assert admit(2, 4, np.array([1.0])) == 0


def test_enough_care_workers_leave_admissions_unchanged():
    city0, homes0, first0 = city_with_a_home(2, 4)
    city1, homes1, _ = city_with_a_home(2, 4)
    n = len(city0.persons)
    args = (care_params(), 2016)
    rest = (1.0, np.zeros(n), first0, first0, np.zeros(n, dtype=bool))
    free = elderly_care.step(city0, homes0, *args, np.random.default_rng(5), *rest)
    staffed = elderly_care.step(
        city1, homes1, *args, np.random.default_rng(5), *rest, staffed=np.array([6.0])
    )
    assert free.admitted.tolist() == staffed.admitted.tolist()
    assert city0.persons.institution.tolist() == city1.persons.institution.tolist()


def test_the_staffing_limit_from_care_workers_to_admissions():
    # The 2 residents are fully dependent: 0.5 workers each by the test's ratios.  1.3 workers
    # with a floor of 65% of the need can look after 1.3 / (0.5 × 0.65) = 4 residents
    # (whole city); at scale 1 that is 4 simulated persons: room for 4 − 2 = 2 of the 4.
    p = params()
    state = CareWorkforceState(Workforce(np.array([[1.3, 0.0]]), np.zeros((1, 2))))
    staffable = staffable_residents(state, p, one_cell(0, 0, 2), 2016)
    assert staffable.tolist() == pytest.approx([4.0])
    assert admit(2, 4, staffable * 1.0) == 2
