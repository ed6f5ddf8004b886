"""The synthetic city reproduces the census inputs and keeps its household rules."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from simlib.parameters import load_tree, read_yaml
from simlib.population import (
    CENSUS_OLD_BANDS,
    RURAL,
    URBAN,
    PopulationParams,
    build_city,
    census_at,
    decade_fraction,
    end_of_year,
    household_sizes,
    households_with_member_aged,
    largest_remainder,
    read_census,
)

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "params" / "baseline.yaml"
AREAS = ("dongqu", "xiqu", "renhe", "miyi", "yanbian")


def population_block() -> dict:
    """The ``population:`` block of the baseline, its census file resolved."""
    return load_tree(BASELINE).data["population"]


@pytest.fixture(scope="module")
def params() -> PopulationParams:
    return PopulationParams.model_validate(population_block())


@pytest.fixture(scope="module")
def targets(params):
    return census_at(params, AREAS, end_of_year(2015), 2015)


@pytest.fixture(scope="module")
def full_city(params):
    return build_city(params, AREAS, 2015, 1.0, np.random.default_rng(11))


@pytest.fixture(scope="module")
def tenth_city(params):
    return build_city(params, AREAS, 2015, 0.1, np.random.default_rng(12))


def per_cell(city, mask=None) -> np.ndarray:
    p = city.persons
    mask = np.ones(len(p), dtype=bool) if mask is None else mask
    cells = p.area[mask].astype(np.int64) * 2 + p.stratum[mask]
    return np.bincount(cells, minlength=2 * len(city.area_codes)).reshape(-1, 2)


def old_bands_per_area(city) -> np.ndarray:
    p = city.persons
    band = np.clip((p.age.astype(np.int64) - 60) // 5, -1, 5)
    old = band >= 0
    return np.bincount(p.area[old] * 6 + band[old], minlength=6 * len(city.area_codes)).reshape(
        -1, 6
    )


# --- the parameter block ---------------------------------------------------------------------


def test_baseline_block_validates():
    # the block as written for the lead to merge (or, once merged, the baseline)
    data = read_yaml(BASELINE)
    params = PopulationParams.model_validate(data["population"])
    assert set(params.census_codes) == set(AREAS)
    assert params.census_codes["dongqu"] == "510402"


def test_bad_blocks_are_refused():
    block = population_block()
    short = {**block, "under_60_profile": {**block["under_60_profile"], "value": [1.0] * 11}}
    with pytest.raises(ValidationError, match="12 weights"):
        PopulationParams.model_validate(short)
    disability = {
        **block["disability"],
        "grade_shares": {**block["disability"]["grade_shares"], "value": [0.5, 0.5, 0.5, 0.5]},
    }
    with pytest.raises(ValidationError, match="sum to 1"):
        PopulationParams.model_validate({**block, "disability": disability})
    male = {**block["male_share"], "age_from": [5, 15, 60, 70, 80, 85]}
    with pytest.raises(ValidationError, match="start at 0"):
        PopulationParams.model_validate({**block, "male_share": male})
    with pytest.raises(ValidationError, match=r"[Ee]xtra"):
        PopulationParams.model_validate({**block, "census_fiel": "x.csv"})


def test_bad_arguments_are_refused(params):
    rng = np.random.default_rng(0)
    for scale in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="scale"):
            build_city(params, AREAS, 2015, scale, rng)
    with pytest.raises(ValueError, match="census code"):
        build_city(params, ("dongqu", "atlantis"), 2015, 0.01, rng)


# --- the census and its interpolation ----------------------------------------------------------


def test_census_file_is_read_by_code_despite_stray_spaces(params):
    census = read_census(params.census_file)
    dongqu = census["510402"]
    assert [r.day for r in dongqu] == [date(2010, 11, 1), date(2020, 11, 1)]
    assert dongqu[0].figures["pop_total"] == 364326
    assert dongqu[1].figures["age_85p"] == 4124


def test_interpolation_worked_by_hand(targets):
    # Days from the 2010 census (2010-11-01) to the end of 2015 (2016-01-01):
    #   30 (Nov) + 31 (Dec) + 5 × 365 + 1 (29 Feb 2012) = 1887;
    # days between the censuses: 10 × 365 + 3 (2012, 2016, 2020) = 3653;
    # f = 1887 / 3653 = 0.516562.
    f = decade_fraction(date(2010, 11, 1), date(2020, 11, 1), end_of_year(2015))
    assert f == pytest.approx(1887 / 3653)
    # Dongqu urban: 356,925 (2010) and 407,322 (2020).
    # ln(407322 / 356925) = 0.132078; × f = 0.068227; exp = 1.070608;
    # 356,925 × 1.070608 = 382,126.7
    assert targets.persons[0, URBAN] == pytest.approx(382126.7, abs=0.5)
    # Dongqu 60-64: 23,077 × (15,668 / 23,077) ** 0.516562 = 18,893.5
    assert targets.old_bands[0, 0] == pytest.approx(18893.5, abs=0.5)


def test_collective_persons_are_urban_first(targets):
    # Dongqu 2015: persons 382,127 + 5,458; family-household persons
    # 332,998 × (345,856 / 332,998) ** f; the rest (about 48,000) fits in the urban part.
    assert targets.collective[:, RURAL].sum() == 0
    assert targets.collective[0, URBAN] == pytest.approx(
        targets.persons[0].sum() - 332998 * (345856 / 332998) ** (1887 / 3653), abs=0.5
    )
    assert np.allclose(targets.family_persons + targets.collective, targets.persons)


def test_households_split_keeps_area_totals_and_size_ratio(params, targets):
    # The strata's households add up to the area's census households, and the rural
    # mean size is rural_size_ratio × the urban one.
    k = params.households.rural_size_ratio.value
    households_2015 = 126168 * (161900 / 126168) ** (1887 / 3653)
    assert targets.households[0].sum() == pytest.approx(households_2015)
    size = targets.family_persons / targets.households
    assert np.allclose(size[:, RURAL] / size[:, URBAN], k)


# --- the city at full scale and at a tenth ------------------------------------------------------


def test_full_scale_reproduces_census_cells(full_city, targets):
    assert full_city.weight == 1.0
    sim = per_cell(full_city) * full_city.weight
    assert np.all(np.abs(sim / targets.persons - 1) < 0.005)
    assert np.all(np.abs(sim - targets.persons) <= 0.5)  # rounding of each cell only
    bands = old_bands_per_area(full_city)
    assert np.all(np.abs(bands / targets.old_bands - 1) < 0.005)


def test_tenth_scale_within_rounding(tenth_city, targets):
    assert tenth_city.weight == pytest.approx(10.0)
    sim = per_cell(tenth_city) * tenth_city.weight
    # round(count × 0.1) per cell: at most half a simulated person (5 persons) off
    assert np.all(np.abs(sim - targets.persons) <= 5.0 + 1e-9)
    # age bands: largest-remainder rounding in each of two strata, a person each
    bands = old_bands_per_area(tenth_city) * tenth_city.weight
    assert np.all(np.abs(bands - targets.old_bands) <= 2 * 10 + 5)


def test_household_sizes_sum_to_family_persons(tenth_city, targets):
    city = tenth_city
    in_family = per_cell(city, city.persons.household >= 0)
    members = city.members()
    cell = city.households.area.astype(np.int64) * 2 + city.households.stratum
    size_sum = np.bincount(cell, weights=members, minlength=10).reshape(-1, 2)
    assert np.array_equal(size_sum, in_family)
    assert np.all(members >= 1)
    assert np.all(np.abs(in_family * city.weight - targets.family_persons) <= 2 * city.weight)
    households = np.bincount(cell, minlength=10).reshape(-1, 2)
    assert np.all(np.abs(households * city.weight - targets.households) <= 10)


def test_mean_size_and_one_person_share_near_census(full_city, targets):
    city = full_city
    members = city.members()
    cell = city.households.area.astype(np.int64) * 2 + city.households.stratum
    n = np.bincount(cell, minlength=10).reshape(-1, 2)
    size = np.bincount(cell, weights=members, minlength=10).reshape(-1, 2) / n
    one = np.bincount(cell, weights=members == 1, minlength=10).reshape(-1, 2) / n
    assert np.allclose(size, targets.family_persons / targets.households, rtol=0.005)
    assert np.allclose(one, targets.one_person / targets.households, atol=0.002)


def test_every_multi_person_household_has_an_adult(full_city):
    city = full_city
    members = city.members()
    adults = city.count_in_households(city.persons.age >= 18)
    assert np.all(adults[members > 1] >= 1)
    assert np.all(adults[members == 1] == 1)  # nobody under 18 lives alone


def test_households_with_65_plus_near_census(full_city, targets):
    # One elder to a household would give 1.34 times the census count; living alone
    # and in couples brings it near.  Per area within 15%, the city within 5%.
    has_65 = households_with_member_aged(full_city, 65)
    per_area = np.bincount(full_city.households.area, weights=has_65, minlength=5)
    ratio = per_area / targets.households_with_65p
    assert np.all(np.abs(ratio - 1) < 0.15), ratio
    assert per_area.sum() / targets.households_with_65p.sum() == pytest.approx(1.0, abs=0.05)


def test_collective_persons_are_mostly_of_working_age(full_city, targets):
    p = full_city.persons
    collective = p.household < 0
    assert collective.sum() == pytest.approx(targets.collective.sum(), abs=5)
    assert np.all(per_cell(full_city, collective)[:, RURAL] == 0)
    working = (p.age >= 15) & (p.age < 60)
    assert working[collective].mean() > 0.85


def test_ages_sexes_and_disability(full_city, params):
    p = full_city.persons
    assert p.age.dtype == np.int16 and p.sex.dtype == np.int8
    assert p.household.dtype == np.int32 and p.disability.dtype == np.int8
    assert p.area.dtype == np.int8 and p.stratum.dtype == np.int8
    assert p.age.min() == 0 and p.age.max() <= params.oldest_age
    old = p.age >= 85
    assert (p.age[old] == 85).sum() > (p.age[old] == 90).sum() > (p.age[old] == 95).sum()
    # women outnumber men among the 85+ (male share 0.38), not among children (0.535)
    assert (p.sex[old] == 0).mean() == pytest.approx(0.38, abs=0.02)
    assert (p.sex[p.age < 15] == 0).mean() == pytest.approx(0.535, abs=0.01)
    assert set(np.unique(p.disability)) == {0, 1, 2, 3, 4}
    disabled = p.disability > 0
    assert disabled[p.age >= 80].mean() == pytest.approx(0.55, abs=0.02)
    assert disabled[p.age < 15].mean() == pytest.approx(0.014, abs=0.003)
    grades = np.bincount(p.disability[disabled], minlength=5)[1:] / disabled.sum()
    assert np.allclose(grades, [0.1, 0.2, 0.3, 0.4], atol=0.01)


def test_same_seed_same_city_other_seed_differs(params):
    a = build_city(params, AREAS, 2015, 0.02, np.random.default_rng(5))
    b = build_city(params, AREAS, 2015, 0.02, np.random.default_rng(5))
    c = build_city(params, AREAS, 2015, 0.02, np.random.default_rng(6))
    for name in a.persons:
        assert np.array_equal(a.persons[name], b.persons[name])
    for name in a.households:
        assert np.array_equal(a.households[name], b.households[name])
    assert not np.array_equal(a.persons.age, c.persons.age)
    assert len(a.persons) == len(c.persons)  # counts are deterministic


def test_scale_one_thousandth_works(params, targets):
    city = build_city(params, AREAS, 2015, 0.001, np.random.default_rng(3))
    assert city.weight == pytest.approx(1000.0)
    assert np.array_equal(per_cell(city), np.rint(targets.persons * 0.001))
    assert (per_cell(city) == 0).any() or per_cell(city).min() <= 5  # tiny cells
    members = city.members()
    assert np.all(members >= 1)
    adults = city.count_in_households(city.persons.age >= 18)
    assert np.all(adults[members > 1] >= 1)


# --- the small helpers --------------------------------------------------------------------------


def test_largest_remainder_by_hand():
    # 10 split 1 : 1 : 1 -> 3.33 each: floors 3, 3, 3 and the one left goes to the first
    # of the equal remainders.
    assert largest_remainder(np.array([1.0, 1.0, 1.0]), 10).tolist() == [4, 3, 3]
    # 7 split 0.5 : 0.3 : 0.2 -> 3.5, 2.1, 1.4: floors 3, 2, 1; remainders .5, .1, .4
    assert largest_remainder(np.array([0.5, 0.3, 0.2]), 7).tolist() == [4, 2, 1]
    assert largest_remainder(np.array([0.0, 0.0]), 3).tolist() == [0, 0]


def test_household_sizes_exact_and_edge_cases():
    rng = np.random.default_rng(0)
    sizes = household_sizes(1000, 2600, 0.25, 10, rng)
    # 250 one-person households; 750 others share 2,350 persons (mean 3.13)
    assert len(sizes) == 1000 and sizes.sum() == 2600
    assert (sizes == 1).sum() == 250 and sizes.max() <= 10
    assert household_sizes(5, 3, 0.2, 10, rng).tolist() == [1, 1, 1]  # fewer persons
    assert household_sizes(1, 25, 0.0, 10, rng).sum() == 25  # more than one can hold
    assert len(household_sizes(1, 25, 0.0, 10, rng)) == 3
    assert household_sizes(3, 0, 0.5, 10, rng).size == 0
    # one-person share too high for the mean: as many as the sizes allow
    high = household_sizes(10, 25, 0.9, 10, rng)
    assert high.sum() == 25 and len(high) == 10


def test_full_scale_matches_census_oldest_band(full_city, targets):
    p = full_city.persons
    old = p.age >= 85
    per_area = np.bincount(p.area[old], minlength=5)
    assert np.allclose(per_area, targets.old_bands[:, CENSUS_OLD_BANDS.index("age_85p")], atol=2)
