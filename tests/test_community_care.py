"""Community care facilities: building by uncovered units, coverage capped at one, closures,
the stock identity, the money, the metrics' city totals, and bad parameters refused."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from simlib.community_care import (
    CONSTRUCTION,
    KINDS,
    METRICS,
    RUNNING,
    CommunityCareParams,
    allocate_builds,
    closures,
    coverage,
    init_community_care,
    step,
)
from simlib.metrics import evaluate
from simlib.services import ServiceInputs
from tests.conftest import BASELINE

AREAS = ["a", "b", "c"]


def fact(value, unit="u"):
    return {"value": value, "unit": unit, "assumption": "test"}


def kind(units, covered, built, cost, subsidy, closure=0.0) -> dict:
    return {
        "units": fact(dict(zip(AREAS, units, strict=True))),
        "covered_start": fact(dict(zip(AREAS, covered, strict=True))),
        "built_per_year": built if isinstance(built, dict) else fact(built),
        "closure_share": fact(closure),
        "construction_cost": fact(cost),
        "running_subsidy": fact(subsidy),
    }


def block() -> dict:
    return {
        "urban_communities": kind([10, 5, 2], [4, 5, 0], 3, 500_000, 50_000),
        "townships": kind([1, 4, 6], [0, 2, 3], 0, 1_500_000, 100_000),
        "rural_communities": kind([20, 10, 0], [5, 4, 0], 8, 100_000, 10_000),
    }


def params(data: dict | None = None) -> CommunityCareParams:
    return CommunityCareParams.model_validate(data or block())


def inputs(cpi: float = 1.1, elderly=None) -> ServiceInputs:
    z = np.zeros((len(AREAS), 2))
    return ServiceInputs(
        population=z,
        households=z,
        elderly_60p=z if elderly is None else elderly,
        assistance_recipients=z,
        residents_by_care_level=np.zeros((len(AREAS), 2, 3)),
        beds=z,
        budget_revenue=1e9,
        cpi_level=cpi,
    )


def test_building_goes_to_uncovered_units_and_costs_are_booked_by_hand():
    p = params()
    state = init_community_care(p, AREAS)
    year = step(state, p, 2016, None, inputs(cpi=1.1))
    # Rural communities: units [20, 10, 0], covered [5, 4, 0] -> uncovered [15, 6, 0] (21).
    # 8 built: quotas 8·15/21 = 5.714, 8·6/21 = 2.286 -> floors [5, 2] (7), one more to the
    # largest remainder (0.714, area a) -> [6, 2, 0]; covered [11, 6, 0] of [20, 10, 0].
    assert year.built["rural_communities"][:, 1].tolist() == [6, 2, 0]
    assert year.built["rural_communities"][:, 0].tolist() == [0, 0, 0]  # rural cells only
    assert state.facilities["rural_communities"][:, 1].tolist() == [11, 6, 0]
    # Urban communities: uncovered [6, 0, 2]; 3 built: quotas 2.25, 0, 0.75 -> [2, 0, 0] + 1
    # to area c (0.75 > 0.25) -> [2, 0, 1]; covered [6, 5, 1]; in the urban column.
    assert year.built["urban_communities"][:, 0].tolist() == [2, 0, 1]
    assert year.built["urban_communities"][:, 1].tolist() == [0, 0, 0]
    # Construction, nominal (cost × CPI level 1.1):
    #   urban  [2, 0, 1] × 500,000 × 1.1 = [1,100,000, 0, 550,000]  (urban column)
    #   rural  [6, 2, 0] × 100,000 × 1.1 = [660,000, 220,000, 0]      (rural column)
    construction = year.spending[CONSTRUCTION]
    np.testing.assert_allclose(construction[:, 0], [1_100_000, 0, 550_000])
    np.testing.assert_allclose(construction[:, 1], [660_000, 220_000, 0])
    # Running: subsidy × mean of start and end stock × 1.1, per cell:
    #   urban:     start [4, 5, 0], end [6, 5, 1] -> means [5, 5, 0.5] × 50,000 × 1.1
    #              = [275,000, 275,000, 27,500]
    #   townships: [0, 2, 3] all year × 100,000 × 1.1 = [0, 220,000, 330,000]
    #   rural:     start [5, 4, 0], end [11, 6, 0] -> [8, 5, 0] × 10,000 × 1.1
    #              = [88,000, 55,000, 0]; rural column = townships + rural communities
    running = year.spending[RUNNING]
    np.testing.assert_allclose(running[:, 0], [275_000, 275_000, 27_500])
    np.testing.assert_allclose(running[:, 1], [88_000, 275_000, 330_000])
    assert set(year.spending) == {CONSTRUCTION, RUNNING}


def test_coverage_metrics_recompute_the_city_from_totals():
    p = params()
    state = init_community_care(p, AREAS)
    elderly = np.array([[3000.0, 1000.0], [2000.0, 1000.0], [500.0, 500.0]])
    year = step(state, p, 2016, None, inputs(elderly=elderly))
    raw = {**year.raw, "elderly_60p": elderly}
    by_name = {m.name: evaluate(m, raw) for m in METRICS}
    # Urban communities after the year: covered [6, 5, 1] of [10, 5, 2]: by area 0.6, 1.0,
    # 0.5; the city (area `all`, index 3; stratum `all`, index 2) is 12/17 = 0.7059, not
    # the mean of the areas (0.7).
    urban = by_name["care_coverage_urban_communities"]
    np.testing.assert_allclose(urban[:3, 0], [0.6, 1.0, 0.5])
    assert urban[3, 2] == pytest.approx(12 / 17)
    assert urban[3, 1] == 0.0  # no urban communities in the rural cells
    # Rural communities: covered [11, 6, 0] of [20, 10, 0] -> city 17/30; area c has no
    # villages: 0, not NaN.
    rural = by_name["care_coverage_rural_communities"]
    assert rural[3, 2] == pytest.approx(17 / 30)
    assert rural[2, 1] == 0.0
    # Townships (nothing built): [0, 2, 3] of [1, 4, 6] -> 5/11.
    assert by_name["care_coverage_townships"][3, 2] == pytest.approx(5 / 11)
    # Facilities: 12 urban + 5 township + 17 village = 34, per 1,000 of 8,000 elders = 4.25.
    assert by_name["community_facilities"][3, 2] == 34
    assert by_name["community_facilities_built"][3, 2] == 3 + 8
    assert by_name["community_facilities_per_1000_elderly"][3, 2] == pytest.approx(34 / 8)


def test_coverage_never_above_one_even_with_a_huge_programme():
    data = block()
    for name in KINDS:
        data[name]["built_per_year"] = fact(10**9)
    p = params(data)
    state = init_community_care(p, AREAS)
    first = step(state, p, 2016, None, inputs(cpi=1.0))
    for name in KINDS:
        np.testing.assert_array_equal(state.facilities[name], state.units[name])
        assert (coverage(state.facilities[name], state.units[name]) <= 1.0).all()
    # Only what was missing is built and paid: urban 6 + 0 + 2 = 8 centres at 500,000,
    # townships 1 + 2 + 3 = 6 at 1,500,000, villages 15 + 6 = 21 at 100,000
    # = 4,000,000 + 9,000,000 + 2,100,000 = 15,100,000.
    assert first.spending[CONSTRUCTION].sum() == pytest.approx(15_100_000)
    second = step(state, p, 2017, None, inputs(cpi=1.0))
    assert second.spending[CONSTRUCTION].sum() == 0.0
    assert second.raw["community_facilities_built"].sum() == 0.0
    # Running at full coverage: 17 × 50,000 + 11 × 100,000 + 30 × 10,000 = 2,250,000.
    assert second.spending[RUNNING].sum() == pytest.approx(2_250_000)


def test_allocation_never_gives_an_area_more_than_it_lacks():
    rng = np.random.default_rng(0)
    for _ in range(500):
        uncovered = rng.integers(0, 30, size=5)
        planned = int(rng.integers(0, 200))
        new = allocate_builds(uncovered, planned)
        assert (new >= 0).all() and (new <= uncovered).all()
        assert new.sum() == min(planned, uncovered.sum())
    with pytest.raises(ValueError, match="negative"):
        allocate_builds(np.array([3, -1]), 2)


def test_closures_by_hand():
    # 17 facilities, share 0.1: round(1.7) = 2 close; quotas 2·11/17 = 1.294 and
    # 2·6/17 = 0.706 -> floors [1, 0], one more to the larger remainder (area b) -> [1, 1, 0].
    assert closures(np.array([11, 6, 0]), 0.1).tolist() == [1, 1, 0]
    # round half up: 0.25 × 2 = 0.5 -> 1 closes; nothing to close -> none.
    assert closures(np.array([2, 0]), 0.25).tolist() == [1, 0]
    assert closures(np.array([0, 0]), 0.5).tolist() == [0, 0]
    assert closures(np.array([3, 4]), 1.0).tolist() == [3, 4]


def test_stock_identity_with_closures_and_a_dated_programme():
    data = block()
    data["rural_communities"]["closure_share"] = fact(0.1)
    data["rural_communities"]["built_per_year"] = {
        "values": {2016: 2, 2018: 5},
        "unit": "facilities",
        "assumption": "test",
    }
    data["townships"]["closure_share"] = fact(0.2)
    data["townships"]["built_per_year"] = fact(1)
    p = params(data)
    state = init_community_care(p, AREAS)
    built_rural, stock_rural = [], []
    for year in range(2016, 2024):
        before = copy.deepcopy(state.facilities)
        y = step(state, p, year, None, inputs())
        for name in KINDS:
            np.testing.assert_array_equal(
                state.facilities[name], before[name] + y.built[name] - y.closed[name]
            )
            assert (state.facilities[name] <= state.units[name]).all()
            assert (state.facilities[name] >= 0).all()
        total_before = sum(before[n] for n in KINDS)
        flows = y.raw["community_facilities_built"] - y.raw["community_facilities_closed"]
        np.testing.assert_array_equal(y.raw["community_facilities"], total_before + flows)
        built_rural.append(int(y.built["rural_communities"].sum()))
        stock_rural.append(int(state.facilities["rural_communities"].sum()))
    # The dated programme: 2 a year in 2016-2017, 5 a year from 2018.  Every planned
    # facility finds a village: the stock (start of the year − closures, a tenth rounded)
    # goes 9 → 10, 11, 15, 18, 21, 24, 27, 29 of 30 (in 2023: 27 − 3 + 5).
    assert built_rural == [2, 2, 5, 5, 5, 5, 5, 5]
    assert stock_rural == [10, 11, 15, 18, 21, 24, 27, 29]


def test_first_year_rural_closure_and_build_by_hand():
    data = block()
    data["rural_communities"]["closure_share"] = fact(0.1)
    data["rural_communities"]["built_per_year"] = fact(2)
    p = params(data)
    state = init_community_care(p, AREAS)
    y = step(state, p, 2016, None, inputs(cpi=1.0))
    # Start [5, 4, 0] = 9; round(0.9) = 1 closes: quotas 5/9 = 0.556, 4/9 = 0.444 -> area a.
    assert y.closed["rural_communities"][:, 1].tolist() == [1, 0, 0]
    # Then uncovered [20 − 4, 10 − 4, 0] = [16, 6, 0]; 2 built: quotas 1.455, 0.545
    # -> floors [1, 0], one more to area b (0.545 > 0.455) -> [1, 1, 0]; end [5, 5, 0].
    assert y.built["rural_communities"][:, 1].tolist() == [1, 1, 0]
    assert state.facilities["rural_communities"][:, 1].tolist() == [5, 5, 0]
    # Running: mean of start [5, 4, 0] and end [5, 5, 0] = [5, 4.5, 0] × 10,000.
    rural_running = y.spending[RUNNING][:, 1] - np.array([0, 2, 3]) * 100_000
    np.testing.assert_allclose(rural_running, [50_000, 45_000, 0])


def test_bad_parameters_are_refused():
    def refused(change, match):
        data = block()
        change(data)
        with pytest.raises(ValidationError, match=match):
            params(data)

    refused(lambda d: d["townships"]["units"]["value"].update(a=-1), "greater than or equal")
    refused(
        lambda d: d["rural_communities"]["covered_start"]["value"].update(b=11),
        r"more units covered than there are in b \(11 > 10\)",
    )
    refused(lambda d: d["urban_communities"].update(built_per_year=fact(-2)), "greater than")
    refused(lambda d: d["urban_communities"].update(closure_share=fact(1.5)), "less than")
    refused(lambda d: d["townships"].update(construction_cost=fact(-1.0)), "greater than")
    refused(lambda d: d["townships"]["covered_start"]["value"].pop("c"), "different areas")
    refused(
        lambda d: d["townships"].update(
            units={"values": {2015: {"a": 1, "b": 4, "c": 6}}, "unit": "u", "assumption": "t"}
        ),
        "counts of the base year",
    )
    refused(lambda d: d["townships"].update(extra=fact(1)), "Extra inputs")
    refused(lambda d: d.pop("townships"), "Field required")


def test_the_areas_must_be_the_scenarios():
    with pytest.raises(ValueError, match="not the scenario's areas"):
        init_community_care(params(), ["a", "b", "c", "d"])


def test_no_randomness_needed():
    p = params()
    one, two = init_community_care(p, AREAS), init_community_care(p, AREAS)
    a = step(one, p, 2016, np.random.default_rng(1), inputs())
    b = step(two, p, 2016, np.random.default_rng(2), inputs())
    for name in a.raw:
        np.testing.assert_array_equal(a.raw[name], b.raw[name])


# --- the merged baseline block (skipped until the lead merges it into params/baseline.yaml) --

PLAN_2020 = {  # plan 三(八)1: 所有城市社区、90%以上的乡镇和50%以上的农村社区
    "urban_communities": 1.0,
    "townships": 0.9,
    "rural_communities": 0.5,
}
MEET_THE_PLAN = {"urban_communities": 14, "townships": 4, "rural_communities": 25}


def _baseline_block() -> dict:
    data = yaml.safe_load(BASELINE.read_text(encoding="utf-8"))
    block = data.get("programmes", {}).get("community_care")
    if block is None:
        pytest.skip("programmes.community_care is not in params/baseline.yaml yet")
    return block


def _city_coverage_2020(data: dict) -> dict[str, float]:
    p = CommunityCareParams.model_validate(data)
    areas = list(p.urban_communities.units.value)
    state = init_community_care(p, areas)
    z = np.zeros((len(areas), 2))
    services = ServiceInputs(z, z, z, z, np.zeros((len(areas), 2, 3)), z, 1e9, 1.0)
    for year in range(2016, 2021):
        step(state, p, year, None, services)
    return {n: state.facilities[n].sum() / state.units[n].sum() for n in KINDS}


def test_baseline_block_misses_and_the_lever_values_meet_the_plan():
    data = _baseline_block()
    baseline = _city_coverage_2020(data)
    assert any(baseline[n] < PLAN_2020[n] for n in KINDS)
    met = copy.deepcopy(data)
    for name, per_year in MEET_THE_PLAN.items():
        met[name]["built_per_year"] = fact(per_year)
    meeting = _city_coverage_2020(met)
    for name in KINDS:
        assert meeting[name] >= PLAN_2020[name]
        # the values are the least that meet: one a year fewer misses
        fewer = copy.deepcopy(met)
        fewer[name]["built_per_year"] = fact(MEET_THE_PLAN[name] - 1)
        assert _city_coverage_2020(fewer)[name] < PLAN_2020[name]
