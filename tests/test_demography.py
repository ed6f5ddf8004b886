"""One year of demography: the life table, the accounting, aligned columns, 2015→2020."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simlib.demography import (
    DemographyParams,
    DerivedRates,
    death_probabilities,
    derive_rates,
    fertility_rates,
    gompertz_level,
    life_expectancy,
    life_expectancy_target,
    step,
    with_rates,
)
from simlib.parameters import load_tree, read_yaml
from simlib.population import (
    CENSUS_OLD_BANDS,
    PopulationParams,
    build_city,
    read_census,
)

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "params" / "baseline.yaml"
AREAS = ("dongqu", "xiqu", "renhe", "miyi", "yanbian")


def blocks() -> tuple[dict, dict]:
    """The ``population:`` and ``demography:`` blocks of the baseline, paths resolved."""
    data = load_tree(BASELINE).data
    return data["population"], data["demography"]


@pytest.fixture(scope="module")
def pop() -> PopulationParams:
    return PopulationParams.model_validate(blocks()[0])


@pytest.fixture(scope="module")
def demo() -> DemographyParams:
    return DemographyParams.model_validate(blocks()[1])


@pytest.fixture(scope="module")
def no_migration(demo) -> DemographyParams:
    """No migration, no turnover of collective quarters, no households formed."""
    zero = np.zeros((len(AREAS), 2))
    params = with_rates(demo, AREAS, DerivedRates(zero, np.zeros(len(AREAS)), zero), 2016)
    turnover = params.migration.collective_turnover.model_copy(update={"value": 0.0})
    migration = params.migration.model_copy(update={"collective_turnover": turnover})
    return params.model_copy(update={"migration": migration})


def city_at(pop, scale=0.1, seed=1):
    return build_city(pop, AREAS, 2015, scale, np.random.default_rng(seed))


def per_cell(table) -> np.ndarray:
    cells = table.area.astype(np.int64) * 2 + table.stratum
    return np.bincount(cells, minlength=2 * len(AREAS)).reshape(-1, 2)


def test_baseline_block_validates():
    # the block as written for the lead to merge (or, once merged, the baseline)
    data = read_yaml(BASELINE)
    params = DemographyParams.model_validate(data["demography"])
    assert set(params.migration.net_rate.at(2016)) == set(AREAS)
    assert set(params.migration.elder_net_rate.at(2030)) == set(AREAS)


# --- the life table ---------------------------------------------------------------------------


def test_life_table_gives_the_target_life_expectancy(demo):
    m = demo.mortality
    for sex, year in ((0, 2015), (1, 2015), (0, 2020), (1, 2018)):
        level = gompertz_level(m, sex, year)
        assert life_expectancy(level, m, year) == pytest.approx(
            life_expectancy_target(m, sex, year), abs=0.01
        )
    # 2018, women: linear between 79.43 (2015) and 80.88 (2020): 79.43 + 3/5 × 1.45 = 80.30
    assert life_expectancy_target(m, 1, 2018) == pytest.approx(80.30)
    # after 2020 the yearly gain: men 2025 = 75.37 + 5 × 0.2 = 76.37
    assert life_expectancy_target(m, 0, 2025) == pytest.approx(76.37)


def test_death_rates_rise_with_age(demo):
    q = death_probabilities(demo.mortality, 2016)
    assert np.all(np.diff(q[:, 10:]) >= 0)  # rising from childhood on
    assert np.all(q[0, 30:100] > q[1, 30:100])  # men die younger
    assert np.all(q[:, demo.mortality.oldest_age - 1 :] == 1.0)
    assert q[0, 85] > 10 * q[0, 45]


def test_observed_deaths_85_plus_over_10_times_40_49(pop, no_migration):
    city = city_at(pop, scale=0.2, seed=4)
    p = city.persons
    p.add("pid", np.arange(1, len(p) + 1))  # newborns will have pid 0
    age_before = p.age.copy()
    step(city, no_migration, 2016, np.random.default_rng(5))
    was_there = p.pid > 0
    alive = np.zeros(len(age_before), dtype=bool)
    alive[p.pid[was_there] - 1] = True
    death_rate = {
        band: 1 - alive[(age_before >= lo) & (age_before <= hi)].mean()
        for band, (lo, hi) in {"40-49": (40, 49), "85+": (85, 200)}.items()
    }
    assert death_rate["85+"] > 10 * death_rate["40-49"]
    assert 0.001 < death_rate["40-49"] < 0.005
    assert 0.08 < death_rate["85+"] < 0.25
    # the survivors are a year older, in family households and in collective quarters
    assert np.array_equal(p.age[was_there], age_before[p.pid[was_there] - 1] + 1)
    assert (p.household[was_there] < 0).sum() > 0


def test_mortality_multiplier(pop, no_migration):
    city = city_at(pop, scale=0.02, seed=2)
    n = len(city.persons)
    with pytest.raises(ValueError, match="mortality_multiplier"):
        step(city, no_migration, 2016, np.random.default_rng(0), np.ones(n - 1))
    report = step(city, no_migration, 2016, np.random.default_rng(0), np.zeros(n))
    births = report.births.sum()
    # nobody alive at the start dies; only newborns can (0.0081 × 0.75 each)
    assert report.deaths.sum() <= max(3, births // 20)
    city = city_at(pop, scale=0.02, seed=2)
    doomed = city.persons.age >= 80
    report = step(city, no_migration, 2016, np.random.default_rng(0), np.where(doomed, 1e9, 1.0))
    assert (city.persons.age >= 81).sum() == 0
    assert report.deaths.sum() >= doomed.sum()


def test_fertility_schedule(demo):
    f = fertility_rates(demo.fertility, 2016, demo.mortality.oldest_age)
    # urban: sums to the total fertility rate of 2016 (1.25); rural 1.35 times that
    assert f[0].sum() == pytest.approx(1.25)
    assert f[1].sum() == pytest.approx(1.25 * 1.35)
    assert f[:, :15].sum() == 0 and f[:, 50:].sum() == 0
    assert np.argmax(f[0]) in (28, 29)


# --- one year ---------------------------------------------------------------------------------


def test_accounting_identity_per_cell(pop, demo):
    city = city_at(pop, scale=0.1, seed=3)
    for year in (2016, 2017):
        before = per_cell(city.persons)
        r = step(city, demo, year, np.random.default_rng(year))
        after = per_cell(city.persons)
        assert np.array_equal(after, before + r.births - r.deaths + r.in_migrants - r.out_migrants)
        assert city.year == year
        assert r.births.sum() > 0 and r.deaths.sum() > 0
        assert r.in_migrants.sum() > 0 and r.out_migrants.sum() > 0
        assert r.households_formed.sum() > 0 and r.households_dissolved.sum() > 0
        # rural net out-migration: every rural cell loses more than it gains
        assert np.all(r.out_migrants[:, 1] > r.in_migrants[:, 1])


def test_household_count_identity(pop, demo):
    city = city_at(pop, scale=0.1, seed=3)
    before = per_cell(city.households)
    r = step(city, demo, 2016, np.random.default_rng(9))
    after = per_cell(city.households)
    assert np.array_equal(
        after,
        before + r.households_formed - r.households_dissolved + r.households_in - r.households_out,
    )


def test_household_columns_stay_aligned(pop, demo):
    """A column another module adds stays with its household through every change."""
    city = city_at(pop, scale=0.1, seed=6)
    h, p = city.households, city.persons
    n_before = len(h)
    h.add("tag", np.arange(1, n_before + 1))  # an attribute: copied to copies
    h.add("on_programme", np.full(n_before, 5, dtype=np.int8), fresh=-1)  # a state
    p.add("home_tag", np.where(p.household >= 0, h.tag[np.maximum(p.household, 0)], -1))
    r = step(city, demo, 2016, np.random.default_rng(8))
    h, p = city.households, city.persons
    family = p.household >= 0
    born = p.home_tag == 0  # appended rows take the zero default
    assert born.sum() == (p.age == 0).sum() > 0
    # everyone who was in a family household (and copies of them) is still in a
    # household with the same tag: arrivals copy the tag, new households copy the
    # tag of the one left; newborns carry none yet
    assert np.array_equal(p.home_tag[family & ~born], h.tag[p.household[family & ~born]])
    assert np.all(p.home_tag[~family] == -1)
    # the state: old households keep it, new ones (arrivals, formed) start fresh
    new = h.on_programme == -1
    assert new.sum() == r.households_in.sum() + r.households_formed.sum()
    assert (~new).sum() == n_before - r.households_dissolved.sum() - r.households_out.sum()
    assert np.all(city.members() >= 1)
    assert p.household.max() < len(h) and p.household.dtype == np.int32


def test_newborns_join_their_mothers_household(pop, no_migration):
    city = city_at(pop, scale=0.05, seed=7)
    p = city.persons
    p.add("pid", np.arange(len(p)))
    n0 = len(p)
    r = step(city, no_migration, 2016, np.random.default_rng(1))
    p = city.persons
    newborn = p.age == 0
    assert newborn.sum() > 0
    assert newborn.sum() <= r.births.sum()
    assert np.all(p.household[newborn] >= 0)
    assert np.all(p.disability[newborn] == 0)
    assert np.all(p.pid[newborn] == 0)  # appended rows take the zero default
    # each newborn's household has a woman of 15-49 (fertility is by age at year end)
    mothers = city.count_in_households((p.sex == 1) & (p.age >= 15) & (p.age <= 49))
    assert np.all(mothers[p.household[newborn]] >= 1)
    assert len(p) == n0 + r.births.sum() - r.deaths.sum()


def test_wrong_year_and_missing_area_are_refused(pop, demo):
    city = city_at(pop, scale=0.01)
    with pytest.raises(ValueError, match="cannot step"):
        step(city, demo, 2017, np.random.default_rng(0))
    two = build_city(pop, ("dongqu", "xiqu"), 2015, 0.01, np.random.default_rng(0))
    rates = DerivedRates(np.zeros((1, 2)), np.zeros(1), np.zeros((1, 2)))
    only_dongqu = with_rates(demo, ("dongqu",), rates, 2016)
    with pytest.raises(ValueError, match="xiqu"):
        step(two, only_dongqu, 2016, np.random.default_rng(0))


def test_one_thousandth_scale_steps(pop, demo):
    city = city_at(pop, scale=0.001, seed=2)
    rng = np.random.default_rng(2)
    for year in range(2016, 2021):
        step(city, demo, year, rng)
    assert city.year == 2020
    assert np.all(city.members() >= 1)
    assert city.persons.household.max() < len(city.households)


# --- 2015 → 2020 against the 2020 census ---------------------------------------------------------


def test_projection_2015_to_2020_lands_near_census(pop, demo):
    city = city_at(pop, scale=0.1, seed=21)
    rng = np.random.default_rng(22)
    for year in range(2016, 2021):
        step(city, demo, year, rng)
    census = read_census(pop.census_file)
    c2020 = [census[pop.census_codes[a]][-1].figures for a in AREAS]
    persons = np.bincount(city.persons.area, minlength=5) * city.weight
    households = np.bincount(city.households.area, minlength=5) * city.weight
    old = city.persons.age >= 60
    elders = np.bincount(city.persons.area[old], minlength=5) * city.weight
    census_persons = np.array([c["pop_total"] for c in c2020])
    census_households = np.array([c["family_households"] for c in c2020])
    census_elders = np.array([sum(c[b] for b in CENSUS_OLD_BANDS) for c in c2020])
    # The 2020 census is of 1 November; the projection ends on 31 December (0.2% of a
    # decade's growth later).  Within 3% per area, 1.5% for the city.
    assert np.all(np.abs(persons / census_persons - 1) < 0.03), persons / census_persons
    assert persons.sum() / census_persons.sum() == pytest.approx(1, abs=0.015)
    assert np.all(np.abs(households / census_households - 1) < 0.04)
    assert np.all(np.abs(elders / census_elders - 1) < 0.05), elders / census_elders


@pytest.mark.slow
def test_yaml_rates_are_what_the_derivation_gives(pop, demo):
    """The rates written in the YAML come out of derive_rates (scale 0.5, another seed)."""
    derived = derive_rates(pop, demo, AREAS, (2015, 2020), scale=0.5, seed=3)
    net = np.array([[r.urban, r.rural] for r in demo.migration.net_rate.at(2016).values()])
    elder = np.array(list(demo.migration.elder_net_rate.at(2016).values()))
    # the rural parts of dongqu and xiqu (about 300 simulated persons each) are noisy
    big = np.array([[True, False], [True, False], [True, True], [True, True], [True, True]])
    assert np.allclose(derived.net_rate[big], net[big], atol=0.004)
    assert np.allclose(derived.net_rate, net, atol=0.02)
    assert np.allclose(derived.elder_net_rate, elder, atol=0.0015)


def test_bad_demography_blocks_are_refused():
    block = blocks()[1]
    migration = {
        **block["migration"],
        "collective_entry_ages": {**block["migration"]["collective_entry_ages"], "value": [34, 15]},
    }
    with pytest.raises(ValueError, match="youngest"):
        DemographyParams.model_validate({**block, "migration": migration})
    rates = block["migration"]["net_rate"]["values"][2016]
    too_fast = {**rates, "dongqu": {"urban": 0.9, "rural": 0.0}}
    migration = {
        **block["migration"],
        "net_rate": {**block["migration"]["net_rate"], "values": {2016: too_fast}},
    }
    with pytest.raises(ValueError, match=r"less than or equal to 0\.5"):
        DemographyParams.model_validate({**block, "migration": migration})
    mortality = {**block["mortality"], "gompertz_slope": {"value": 0.09, "unit": "per year"}}
    with pytest.raises(ValueError, match="source"):
        DemographyParams.model_validate({**block, "mortality": mortality})
