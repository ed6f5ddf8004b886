"""Disaster relief (救灾): events drawn from the seed, relief paid, the reserve's stock-flow and
its adequacy for a 1-in-20-year event, worked by hand."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from pydantic import ValidationError

from simlib.disaster_relief import (
    METRICS,
    DisasterReliefParams,
    Events,
    draw_down,
    draw_events,
    init_disaster_relief,
    need_for_return_period,
    step,
)
from simlib.metrics import evaluate
from simlib.services import ServiceInputs


def fact(value, unit="x"):
    return {"value": value, "unit": unit, "assumption": "a test value"}


def hazard(rate, median=0.01, sigma=1.0, cap=0.5, urban=0.5, relocated=0.2, assisted=0.05):
    return {
        "rate": {area: fact(r) for area, r in rate.items()},
        "affected_median": fact(median),
        "affected_sigma": fact(sigma),
        "affected_cap": fact(cap),
        "urban_exposure": fact(urban),
        "relocated_share": fact(relocated),
        "assisted_share": fact(assisted),
    }


def block(hazards, initial=(1.0, 5.0), target=(1.0, 5.0), capacity=2.0, write_off=0.1, **kw):
    return {
        "hazards": hazards,
        "relief": {"per_relocated": fact(300), "per_assisted": fact(1800)},
        "reserve": {
            "initial_per_1000": {"urban": fact(initial[0]), "rural": fact(initial[1])},
            "target_per_1000": {"urban": fact(target[0]), "rural": fact(target[1])},
            "replenishment_capacity_per_1000": fact(capacity),
            "purchase_cost": fact(700),
            "storage_cost": fact(35),
            "write_off_rate": fact(write_off),
            **kw,
        },
    }


def inputs(population, cpi=1.0):
    pop = np.asarray(population, dtype=float)
    zeros = np.zeros_like(pop)
    return ServiceInputs(
        population=pop,
        households=pop / 2.5,
        elderly_60p=zeros,
        assistance_recipients=zeros,
        residents_by_care_level=np.zeros((*pop.shape, 3)),
        beds=zeros,
        budget_revenue=1e9,
        cpi_level=cpi,
    )


AREAS = ("a", "b")
# area a: 100,000 rural residents; area b: 200,000 urban residents
POP = [[0.0, 100_000.0], [200_000.0, 0.0]]
SEVERAL = {
    "flood": hazard({"a": 1.5, "b": 0.5}),
    "earthquake": hazard({"a": 0.2, "b": 0.2}, median=0.03, sigma=1.2, cap=0.9),
}


def run_years(params, seed, years=range(2016, 2024)):
    rng = np.random.default_rng(seed)
    state = init_disaster_relief(params, AREAS, inputs(POP))
    return [step(state, params, y, rng, inputs(POP)) for y in years]


def test_the_same_seed_gives_the_same_disasters_and_another_seed_others():
    params = DisasterReliefParams(**block(SEVERAL))
    first, again, other = run_years(params, 7), run_years(params, 7), run_years(params, 8)
    for x, y in zip(first, again, strict=True):
        np.testing.assert_array_equal(x.events.size, y.events.size)
        np.testing.assert_array_equal(x.events.area, y.events.area)
        for name in x.raw:
            np.testing.assert_array_equal(x.raw[name], y.raw[name])
    sizes = [np.concatenate([yr.events.size for yr in run]) for run in (first, other)]
    assert len(sizes[0]) > 5  # about (1.5 + 0.5 + 0.4) × 8 = 19 events
    assert len(sizes[0]) != len(sizes[1]) or not np.array_equal(sizes[0], sizes[1])


def test_events_follow_their_rates_and_sizes():
    # 2,000 years of one hazard at 2 events a year in area a: the mean count is 2 (sd of the
    # mean sqrt(2 / 2000) = 0.03), the median size is the median, no size above the cap
    params = DisasterReliefParams(
        **block({"flood": hazard({"a": 2.0, "b": 0.0}, median=0.01, sigma=1.0, cap=0.05)})
    )
    rng = np.random.default_rng(3)
    years = [draw_events(params, AREAS, 2016, rng) for _ in range(2000)]
    counts = np.array([len(e.size) for e in years])
    sizes = np.concatenate([e.size for e in years])
    assert counts.mean() == pytest.approx(2.0, abs=0.12)
    assert np.median(sizes) == pytest.approx(0.01, rel=0.1)
    assert sizes.max() == 0.05  # P(size > cap) = P(Z > ln 5) = 5.4%: the cap binds
    assert (np.concatenate([e.area for e in years]) == 0).all()  # no rate in area b


def test_relief_paid_for_a_hand_made_event():
    # An earthquake of size 0.1 in area a (40,000 urban, 60,000 rural residents), urban
    # exposure 0.5, relocated 0.3 and assisted 0.1 of the affected, CPI level 1.2:
    #   affected urban 0.1 × 0.5 × 40,000 = 2,000; rural 0.1 × 60,000 = 6,000
    #   relocated 600 and 1,800; assisted 200 and 600
    #   paid urban (600 × 300 + 200 × 1,800) × 1.2 = (180,000 + 360,000) × 1.2 = 648,000
    #        rural (1,800 × 300 + 600 × 1,800) × 1.2 = (540,000 + 1,080,000) × 1.2 = 1,944,000
    quake = hazard({"a": 0.0, "b": 0.0}, urban=0.5, relocated=0.3, assisted=0.1)
    params = DisasterReliefParams(**block({"earthquake": quake}))
    pop = [[40_000.0, 60_000.0], [10_000.0, 0.0]]
    state = init_disaster_relief(params, AREAS, inputs(pop))
    event = Events(hazard=np.array([0]), area=np.array([0]), size=np.array([0.1]))
    out = step(state, params, 2016, np.random.default_rng(0), inputs(pop, cpi=1.2), events=event)
    np.testing.assert_allclose(out.raw["disaster_affected_persons"], [[2000, 6000], [0, 0]])
    np.testing.assert_allclose(out.raw["disaster_relocated_persons"], [[600, 1800], [0, 0]])
    np.testing.assert_allclose(out.raw["disaster_assisted_persons"], [[200, 600], [0, 0]])
    np.testing.assert_allclose(out.spending["disaster_relief"], [[648_000, 1_944_000], [0, 0]])
    # the event counts where its affected lived: 2,000 / 8,000 urban, 6,000 / 8,000 rural
    np.testing.assert_allclose(out.raw["disaster_events"], [[0.25, 0.75], [0, 0]])


def worked_example(lending="city"):
    # Start: a holds 5 per 1,000 of 100,000 rural = 500 sets; b 3 per 1,000 of 200,000 urban
    # = 600.  A flood of size 0.05 in a affects 0.05 × 100,000 = 5,000 and relocates
    # 0.2 × 5,000 = 1,000 persons, one set each.
    params = DisasterReliefParams(
        **block(
            {"flood": hazard({"a": 0.0, "b": 0.0})},
            initial=(3.0, 5.0),
            target=(3.0, 5.0),
            capacity=2.0,
            write_off=0.1,
            lending=lending,
        )
    )
    state = init_disaster_relief(params, AREAS, inputs(POP))
    start = state.stock.copy()
    event = Events(hazard=np.array([0]), area=np.array([0]), size=np.array([0.05]))
    out = step(state, params, 2016, np.random.default_rng(0), inputs(POP, cpi=1.1), events=event)
    return start, out, state


def test_stock_identity_on_a_worked_example():
    # a uses its 500; b lends 500 of its 600 (市级调拨); nothing is short.
    # Written off 0.1 × what is left: a 0, b 0.1 × 100 = 10.
    # Targets a 500, b 600; capacity 2 per 1,000: a 200, b 400.
    # Bought a min(500 − 0, 200) = 200; b min(600 − 90, 400) = 400.
    # End: a 500 + 200 − 500 − 0 = 200; b 600 + 400 − 500 − 10 = 490.
    start, out, state = worked_example()
    np.testing.assert_allclose(start, [[0, 500], [600, 0]])
    np.testing.assert_allclose(out.raw["relief_reserve_used"], [[0, 500], [500, 0]])
    np.testing.assert_allclose(out.raw["relief_reserve_written_off"], [[0, 0], [10, 0]])
    np.testing.assert_allclose(out.raw["relief_reserve_purchased"], [[0, 200], [400, 0]])
    np.testing.assert_allclose(out.raw["relief_reserve_units"], [[0, 200], [490, 0]])
    np.testing.assert_allclose(out.raw["relief_reserve_shortfall"], 0.0)
    np.testing.assert_allclose(state.stock, out.raw["relief_reserve_units"])
    np.testing.assert_allclose(state.stock, start + out.inflow - out.outflow)
    # cost: a 200 × 700 + 500 × 35 = 157,500; b 400 × 700 + 600 × 35 = 301,000; × CPI 1.1
    np.testing.assert_allclose(out.spending["relief_reserve"], [[0, 173_250], [331_100, 0]])


def test_without_lending_the_area_is_short():
    # a's 500 sets meet half of its 1,000 relocated; b lends nothing: 500 short, and b keeps
    # 600, of which 60 are written off, and buys back min(600 − 540, 400) = 60
    start, out, state = worked_example(lending="area")
    np.testing.assert_allclose(out.raw["relief_reserve_used"], [[0, 500], [0, 0]])
    np.testing.assert_allclose(out.raw["relief_reserve_shortfall"], [[0, 500], [0, 0]])
    np.testing.assert_allclose(out.raw["relief_reserve_purchased"], [[0, 200], [60, 0]])
    np.testing.assert_allclose(state.stock, start + out.inflow - out.outflow)
    np.testing.assert_allclose(state.stock, [[0, 200], [600, 0]])


def test_an_area_depot_serves_its_cells_in_proportion_to_their_stock():
    # area holds 100 urban + 300 rural sets; 200 relocated (all rural) take half of each
    used, short = draw_down(np.array([[100.0, 300.0]]), np.array([[0.0, 200.0]]), "city")
    np.testing.assert_allclose(used, [[50, 150]])
    np.testing.assert_allclose(short, 0.0)


def test_a_year_with_no_event_spends_only_storage():
    # At its target and with no write-off, a quiet year buys nothing: a 500 × 35 = 17,500
    # and b 600 × 35 = 21,000 of storage, × CPI 1.3 = 22,750 and 27,300; no relief.
    params = DisasterReliefParams(
        **block({"flood": hazard({"a": 0.0, "b": 0.0})}, initial=(3, 5), target=(3, 5), write_off=0)
    )
    state = init_disaster_relief(params, AREAS, inputs(POP))
    out = step(state, params, 2016, np.random.default_rng(1), inputs(POP, cpi=1.3))
    assert len(out.events.size) == 0
    np.testing.assert_allclose(out.spending["disaster_relief"], 0.0)
    np.testing.assert_allclose(out.spending["relief_reserve"], [[0, 22_750], [27_300, 0]])
    np.testing.assert_allclose(out.inflow, 0.0)
    # with a write-off of 10% the quiet year also buys back what was retired: a 50, b 60
    params = DisasterReliefParams(
        **block({"flood": hazard({"a": 0.0, "b": 0.0})}, initial=(3, 5), target=(3, 5))
    )
    state = init_disaster_relief(params, AREAS, inputs(POP))
    out = step(state, params, 2016, np.random.default_rng(1), inputs(POP))
    np.testing.assert_allclose(out.inflow, [[0, 50], [60, 0]])
    np.testing.assert_allclose(out.spending["relief_reserve"], [[0, 52_500], [63_000, 0]])


LEVEL = -math.log(0.95)  # yearly rate of events exceeding the 1-in-20 size: 0.051293
Z95 = 1.6448536269514722  # the standard normal's 95th percentile


def test_adequacy_of_a_hand_made_reserve_against_a_known_1_in_20_event():
    # One hazard at λ = LEVEL / 0.05 events a year in a: the 1-in-20 event is exceeded by
    # 5% of events, size 0.01 × exp(1.0 × 1.6449) = 0.0518025 of the 100,000 rural residents,
    # relocating 0.2 × 5,180.25 = 1,036.05 persons.  A reserve of 5 per 1,000 (500 sets) is
    # 500 / 1,036.05 = 0.4826 of it.  Area b has no hazard: need 0.
    lam = LEVEL / 0.05
    params = DisasterReliefParams(**block({"flood": hazard({"a": lam, "b": 0.0})}, write_off=0))
    pop = np.array(POP)
    need = need_for_return_period(params, AREAS, pop, 2016)
    expected = 0.2 * 0.01 * math.exp(Z95) * 100_000
    np.testing.assert_allclose(need, [expected, 0.0], rtol=1e-9)
    assert expected == pytest.approx(1036.05, abs=0.01)

    state = init_disaster_relief(params, AREAS, inputs(POP))
    none = Events(hazard=np.zeros(0, int), area=np.zeros(0, int), size=np.zeros(0))
    out = step(state, params, 2016, np.random.default_rng(0), inputs(POP), events=none)
    adequacy = next(m for m in METRICS if m.name == "relief_reserve_adequacy")
    table = evaluate(adequacy, out.raw)  # (areas + 1, 3): the last row and column are `all`
    assert table[0, 2] == pytest.approx(500 / expected, rel=1e-9)
    assert table[0, 2] == pytest.approx(0.4826, abs=1e-4)
    # the city: all stock (500 + 200 in b) over the sum of the needs (1,036.05 + 0)
    assert table[2, 2] == pytest.approx(700 / expected, rel=1e-9)


def test_the_1_in_20_need_adds_hazards_and_respects_the_cap():
    lam = LEVEL / 0.05
    pop = np.array(POP)
    expected = 0.2 * 0.01 * math.exp(Z95) * 100_000
    # two hazards of half the rate each have the same yearly tail as one
    halves = {"flood": hazard({"a": lam / 2, "b": 0}), "fire": hazard({"a": lam / 2, "b": 0})}
    need = need_for_return_period(DisasterReliefParams(**block(halves)), AREAS, pop, 2016)
    assert need[0] == pytest.approx(expected, rel=1e-9)
    # a cap of 0.03 below the 1-in-20 size 0.0518: the need is the cap's, 0.2 × 0.03 × 100,000
    capped = {"flood": hazard({"a": lam, "b": 0}, cap=0.03)}
    need = need_for_return_period(DisasterReliefParams(**block(capped)), AREAS, pop, 2016)
    assert need[0] == pytest.approx(600.0, rel=1e-9)
    # events rarer than once in 20 years: no 1-in-20 event, need 0
    rare = {"flood": hazard({"a": 0.04, "b": 0})}
    need = need_for_return_period(DisasterReliefParams(**block(rare)), AREAS, pop, 2016)
    assert need[0] == 0.0


def test_the_1_in_20_need_matches_a_simulation():
    # a check of the analytic quantile: 10,000 identical areas of 100,000 rural residents
    # under SEVERAL's rates for area a, one year each; the largest relocation of the year
    # exceeds the need in about 5% of them (sd 0.22%)
    n = 10_000
    codes = tuple(f"x{i}" for i in range(n))
    many = {
        name: {**h, "rate": dict.fromkeys(codes, h["rate"]["a"])} for name, h in SEVERAL.items()
    }
    params = DisasterReliefParams(**block(many))
    pop = np.tile([0.0, 100_000.0], (n, 1))
    need = need_for_return_period(params, codes, pop, 2016)
    assert np.ptp(need) == 0.0
    e = draw_events(params, codes, 2016, np.random.default_rng(11))
    relocated = 0.2 * e.size * 100_000  # both hazards relocate 0.2 of the affected
    largest = np.zeros(n)
    np.maximum.at(largest, e.area, relocated)
    assert np.mean(largest > need[0]) == pytest.approx(0.05, abs=0.008)


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        (("hazards", "flood", "rate", "a", "value"), -0.1),  # a negative rate
        (("hazards", "flood", "affected_median", "value"), 0.6),  # above the cap 0.5
        (("hazards", "flood", "relocated_share", "value"), 1.2),  # a share above 1
        (("hazards", "flood", "affected_sigma", "value"), 0.0),  # sigma must be positive
        (("reserve", "write_off_rate", "value"), 1.5),
        (("reserve", "purchase_cost", "value"), -700),
        (("reserve", "lending"), "province"),
        (("reserve", "target_per_1000", "urban", "value"), -1.0),
        (("relief", "per_assisted", "unit"), ""),
    ],
)
def test_bad_params_are_refused(path, bad):
    data = copy.deepcopy(block({"flood": hazard({"a": 1.0, "b": 1.0})}))
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = bad
    with pytest.raises(ValidationError):
        DisasterReliefParams(**data)


def test_unknown_keys_no_hazards_and_dated_sizes_are_refused():
    data = block({"flood": hazard({"a": 1.0, "b": 1.0})})
    with pytest.raises(ValidationError):
        DisasterReliefParams(**{**data, "return_period": 50})
    with pytest.raises(ValidationError):
        DisasterReliefParams(**{**data, "hazards": {}})
    dated = copy.deepcopy(data)
    dated["hazards"]["flood"]["affected_median"] = {
        "values": {2016: 0.01, 2020: 0.02},
        "unit": "x",
        "assumption": "a test",
    }
    with pytest.raises(ValidationError, match="cannot be dated"):
        DisasterReliefParams(**dated)
    no_provenance = copy.deepcopy(data)
    no_provenance["relief"]["per_relocated"] = {"value": 300, "unit": "yuan"}
    with pytest.raises(ValidationError):
        DisasterReliefParams(**no_provenance)


def test_every_area_needs_a_rate():
    params = DisasterReliefParams(**block({"flood": hazard({"a": 1.0})}))
    with pytest.raises(ValueError, match=r"missing \['b'\]"):
        init_disaster_relief(params, AREAS, inputs(POP))
    params = DisasterReliefParams(**block({"flood": hazard({"a": 1.0, "b": 1.0, "c": 1.0})}))
    with pytest.raises(ValueError, match=r"unknown \['c'\]"):
        init_disaster_relief(params, AREAS, inputs(POP))
