"""Care homes: the 2019 stock rebuilt from the base year, the area spread, the pipeline and
its money, places at a scale, and who is admitted."""

from __future__ import annotations

import copy
from pathlib import Path

import mesa
import numpy as np
import pytest

from simlib import institutions as inst
from simlib.institutions import (
    KINDS,
    InstitutionsParams,
    admit,
    beds_by_cell,
    before_retirement,
    build_homes,
    build_pipeline,
    fill_from_the_top,
    occupancy,
    places,
    retired,
    spread_over_areas,
    stock_by_kind,
)
from simlib.parameters import ParameterError, Tree, validate
from tests.conftest import AREAS, BASELINE, PARAMS

URBAN_60P = {"dongqu": 87052, "xiqu": 28086, "renhe": 29095, "miyi": 17581, "yanbian": 10445}
RURAL_60P = {"dongqu": 877, "xiqu": 1431, "renhe": 20559, "miyi": 22378, "yanbian": 22070}
BULLETIN_2019 = {  # panzhihua_bulletins.csv: units and beds by kind
    "public": (21, 2314),
    "public_private": (11, 1322),
    "private": (39, 2974),
    "jinglaoyuan": (22, 1974),
    "welfare_home": (4, 760),
}


def fact(value, unit="u"):
    return {"value": value, "unit": unit, "assumption": "test"}


def kind(fee, subsidy, nursing, construction):
    return {
        "fee_month": fact(fee),
        "operating_subsidy_month": fact(subsidy),
        "nursing_share": fact(nursing),
        "construction_subsidy_per_bed": fact(construction),
    }


def block() -> dict:
    return {
        "stock": {
            "bulletin_file": str(PARAMS / "data" / "panzhihua_bulletins.csv"),
            "area": "Panzhihua",
            "year": 2019,
            "indicators": {
                "units": "welfare_residential_units",
                "beds": "welfare_residential_beds",
                "jinglaoyuan_units": "nursing_homes_jinglaoyuan",
                "jinglaoyuan_beds": "nursing_home_beds_jinglaoyuan",
                "welfare_home_units": "welfare_homes",
                "welfare_home_beds": "welfare_home_beds",
            },
            "other_units_split": fact({"public": 0.30, "public_private": 0.15, "private": 0.55}),
            "other_beds_split": fact({"public": 0.35, "public_private": 0.20, "private": 0.45}),
            "area_weight": {"urban": fact(dict(URBAN_60P)), "rural": fact(dict(RURAL_60P))},
        },
        "kinds": {
            "public": kind(1800, 500, 0.3, 90000),
            "public_private": kind(2200, 100, 0.35, 90000),
            "private": kind(2600, 100, 0.25, 5000),
            "jinglaoyuan": kind(0, 600, 0.1, 60000),
            "welfare_home": kind(1600, 600, 0.3, 90000),
        },
        "fees": {"price_year": 2015, "growth": fact(0.04)},
        "pipeline": {
            "built": {
                "values": {
                    2016: {
                        "dongqu": {"private": 120},
                        "renhe": {"public_private": 100},
                        "miyi": {"private": 80},
                    }
                },
                "unit": "beds",
                "assumption": "test",
            },
            "planned": {
                "values": {2020: {"dongqu": {"private": 150}, "yanbian": {"jinglaoyuan": 50}}},
                "unit": "beds",
                "assumption": "test",
            },
            "retirement_share": fact(0.01),
        },
    }


def params(change=None) -> InstitutionsParams:
    data = block()
    if change:
        change(data)
    return InstitutionsParams.model_validate(data)


def step(model, homes, p, years, **kw):
    spending = []
    for year in years:
        homes, s = build_pipeline(model, homes, p, AREAS, year, **kw)
        spending.append(s)
    return homes, spending


# --- the stock -----------------------------------------------------------------------------


def test_reference_stock_split_by_hand():
    # Others: 97 - 22 - 4 = 71 units, 9,344 - 1,974 - 760 = 6,610 beds.
    # Units 71 × (0.30, 0.15, 0.55) = 21.3, 10.65, 39.05 -> floors 21, 10, 39 (70); the one
    #   left goes to the largest remainder (.65): 21, 11, 39.
    # Beds 6,610 × (0.35, 0.20, 0.45) = 2313.5, 1322, 2974.5 -> floors 2313, 1322, 2974
    #   (8,609); the one left goes to the first of the tied remainders (.5): 2314, 1322, 2974.
    units, beds = inst.reference_stock(params().stock)
    assert units.tolist() == [21, 11, 39, 22, 4]
    assert beds.tolist() == [2314, 1322, 2974, 1974, 760]


def test_2019_stock_reproduced_exactly_from_2015():
    model = mesa.Model(rng=0)
    p = params()
    homes = build_homes(model, p, AREAS, 2015)
    homes, _ = step(model, homes, p, range(2016, 2020))
    assert stock_by_kind(homes) == BULLETIN_2019
    assert sum(h.beds for h in homes) == 9344
    assert sum(h.beds > 0 for h in homes) == 97
    assert len(model.agents) == len(homes)  # every home is a registered Mesa agent


def test_2015_stock_without_retirement_is_2019_less_the_pipeline():
    # With no retirement the base year is the 2019 stock less 4 years of openings:
    # private 2,974 - 4 × (120 + 80) = 2,174 beds in 39 - 8 = 31 homes;
    # public-private 1,322 - 4 × 100 = 922 beds in 11 - 4 = 7 homes; the others unchanged.
    def no_retirement(d):
        d["pipeline"]["retirement_share"] = fact(0.0)

    homes = build_homes(mesa.Model(), params(no_retirement), AREAS, 2015)
    assert stock_by_kind(homes) == {
        "public": (21, 2314),
        "public_private": (7, 922),
        "private": (31, 2174),
        "jinglaoyuan": (22, 1974),
        "welfare_home": (4, 760),
    }
    assert all(h.opened == 2015 for h in homes)


def test_retirement_undone_by_hand():
    # 1% of 151 beds is 1.51 -> 2 retired, leaving 149; of 150, 1.5 -> 2 (halves up), 148.
    # So the stock that ends at 149 after a year's retirement started at 151, not 150.
    assert retired(151, 0.01) == 2 and retired(150, 0.01) == 2 and retired(149, 0.01) == 1
    assert before_retirement(149, 0.01) == 151
    assert before_retirement(99, 0.01) == 100  # 100 - 1 = 99; 99 - round(0.99) = 98
    assert before_retirement(0, 0.3) == 0
    for share in (0.0, 0.01, 0.037, 0.25, 0.6):
        for after in range(0, 400):
            b = before_retirement(after, share)
            assert b - retired(b, share) == after
            assert b == 0 or (b - 1) - retired(b - 1, share) < after  # the smallest


def test_area_spread_by_hand_and_sums_to_totals():
    # Welfare homes (urban weights, sum 172,259): 4 units × w / sum = 2.02, 0.65, 0.68, 0.41,
    # 0.24 -> floors 2, 0, 0, 0, 0; two left to the largest remainders (renhe .68, xiqu .65).
    # Beds over the areas with units (sum 144,233): 760 × w / sum = 458.70, 147.99, 153.31
    # -> 458, 147, 153 (758); two left to xiqu (.99) and dongqu (.70).
    w = np.array(list(URBAN_60P.values()), dtype=float)
    units, beds = spread_over_areas(4, 760, w)
    assert units.tolist() == [2, 1, 1, 0, 0]
    assert beds.tolist() == [459, 148, 153, 0, 0]
    model = mesa.Model()
    homes = build_homes(model, params(), AREAS, 2015)
    for year_homes in (homes, step(model, homes, params(), range(2016, 2020))[0]):
        for k in KINDS:
            of_kind = [h for h in year_homes if h.kind == k]
            per_area = np.bincount([h.area for h in of_kind], [h.beds for h in of_kind], 5)
            assert per_area.sum() == sum(h.beds for h in of_kind)
    # in 2019 (no welfare homes were built) the welfare homes stand as spread by hand
    final, _ = step(
        mesa.Model(), build_homes(mesa.Model(), params(), AREAS, 2015), params(), range(2016, 2020)
    )
    wh = [h for h in final if h.kind == "welfare_home"]
    assert np.bincount([h.area for h in wh], [h.beds for h in wh], 5).tolist() == [
        459,
        148,
        153,
        0,
        0,
    ]


def test_jinglaoyuan_are_rural_and_follow_rural_elders():
    homes = build_homes(mesa.Model(), params(), AREAS, 2015)
    beds, nursing = beds_by_cell(homes, len(AREAS))
    jly = [h for h in homes if h.kind == "jinglaoyuan"]
    assert all(h.stratum == 1 for h in jly)
    assert all(h.stratum == 0 for h in homes if h.kind != "jinglaoyuan")
    assert beds[:, 1].sum() == sum(h.beds for h in jly)
    assert beds.sum() == sum(h.beds for h in homes)
    # 22 units by rural 60+ (sum 67,315): dongqu 0.29, xiqu 0.47 -> no home in dongqu
    assert not any(h.area == 0 for h in jly)
    assert (nursing <= beds).all()


def test_base_year_after_the_reference_year_steps_forward():
    a = build_homes(mesa.Model(), params(), AREAS, 2021)
    model = mesa.Model()
    b, _ = step(model, build_homes(model, params(), AREAS, 2019), params(), (2020, 2021))
    assert [(h.kind, h.area, h.beds, h.opened) for h in a] == [
        (h.kind, h.area, h.beds, h.opened) for h in b
    ]
    assert stock_by_kind(a)["jinglaoyuan"][0] == 22 + 2  # one new 敬老院 a year from 2020


# --- the pipeline ----------------------------------------------------------------------------


def test_openings_and_construction_spending_by_hand():
    model = mesa.Model()
    p = params()
    homes = build_homes(model, p, AREAS, 2019)
    n = len(homes)
    homes, spending = build_pipeline(model, homes, p, AREAS, 2020)
    # 2020: 150 private beds in dongqu (urban) × 5,000 = 750,000 yuan;
    #       50 敬老院 beds in yanbian (rural) × 60,000 = 3,000,000 yuan.
    expected = np.zeros((5, 2))
    expected[0, 0] = 150 * 5000
    expected[4, 1] = 50 * 60000
    np.testing.assert_allclose(spending, expected)
    new = homes[n:]
    assert [(h.kind, h.area, h.beds, h.opened) for h in new] == [
        ("private", 0, 150, 2020),
        ("jinglaoyuan", 4, 50, 2020),
    ]
    # nursing beds at opening: round(150 × 0.25) = 38 (37.5 halves up); round(50 × 0.1) = 5
    assert [h.nursing_beds for h in new] == [38, 5]
    # fees in 2020: 2,600 × 1.04^5 = 3,163.32 a month; 敬老院 free
    assert new[0].fee_month == pytest.approx(2600 * 1.04**5)
    assert new[1].fee_month == 0.0


def test_indices_stay_valid_and_homes_never_close():
    model = mesa.Model()
    p = params(lambda d: d["pipeline"].update(retirement_share=fact(0.3)))
    homes = build_homes(model, p, AREAS, 2015)
    first = list(homes)
    homes, _ = step(model, homes, p, range(2016, 2030))
    assert homes[: len(first)] == first  # the same agents, at the same indices
    assert all(h.beds >= 1 for h in homes)


def test_retirement_keeps_the_beds_residents_need():
    # One cell: two private homes of 100 beds in dongqu, 1% a year -> round(2.0) = 2 beds due.
    def nothing_built(d):
        d["pipeline"]["built"]["values"] = {2016: {}}

    model = mesa.Model()
    p = params(nothing_built)
    homes = [
        inst.CareHome(model, 0, "private", 100, 25, 2600.0, 100.0, 2015),
        inst.CareHome(model, 0, "private", 100, 25, 2600.0, 100.0, 2015),
    ]
    # At scale 0.1 home 0 has floor(100 × 0.1) = 10 places, all taken: it needs 10 / 0.1 =
    # 100 beds and loses none; home 1 (empty) could lose 99 and loses both beds due.
    homes, _ = build_pipeline(model, homes, p, AREAS, 2016, occupied=np.array([10, 0]), scale=0.1)
    assert [h.beds for h in homes[:2]] == [100, 98]
    assert homes[1].nursing_beds == 25  # round(25 × 98 / 100) = round(24.5) = 25
    # Next year 2 are due again (round(1.98)); home 1 now holds 9 residents = 90 beds and
    # can lose 98 - 90 = 8: it loses both.
    homes, _ = build_pipeline(model, homes, p, AREAS, 2017, occupied=np.array([10, 9]), scale=0.1)
    assert [h.beds for h in homes[:2]] == [100, 96]
    # At scale 1, both homes full: nothing is retired; the year after, with home 1 empty, it
    # loses only that year's round(0.01 × 196) = 2: held-back retirement is not carried over.
    homes, _ = build_pipeline(model, homes, p, AREAS, 2018, occupied=np.array([100, 96]))
    assert [h.beds for h in homes[:2]] == [100, 96]
    homes, _ = build_pipeline(model, homes, p, AREAS, 2019, occupied=np.array([100, 0]))
    assert [h.beds for h in homes[:2]] == [100, 94]


# --- places and occupancy ---------------------------------------------------------------------


def test_places_at_scale_by_hand():
    model = mesa.Model()
    beds = [0, 1, 9, 10, 19, 70, 95, 1974]
    homes = [inst.CareHome(model, 0, "public", b, 0, 0.0, 0.0, 2015) for b in beds]
    # floor(beds × 0.1): 0, 0, 0, 1, 1, 7 (7.000000000000001), 9, 197
    assert places(homes, 0.1).tolist() == [0, 0, 0, 1, 1, 7, 9, 197]
    assert places(homes, 1.0).tolist() == beds
    # 100 × 0.29 is 28.999999999999996 in floating point; the places are still 29
    assert places([inst.CareHome(model, 0, "public", 100, 0, 0.0, 0.0, 2015)], 0.29)[0] == 29


def test_occupancy_counts_the_persons_column():
    institution = np.array([-1, 0, 2, 2, -1, 2], dtype=np.int16)
    assert occupancy(institution, 4).tolist() == [1, 0, 3, 0]
    with pytest.raises(ValueError, match="home 2"):
        occupancy(institution, 2)


# --- admission ---------------------------------------------------------------------------------


def one_kind_ranks(n, allowed=(0,)):
    rank = np.full((n, len(KINDS)), -1)
    for r, k in enumerate(allowed):
        rank[:, k] = r
    return rank


def test_priority_beats_the_list_order():
    # One public place in area 0. Seeker 0 (priority 2) comes first in the list, seeker 1
    # (priority 0, destitute and unable to care for themselves) second: seeker 1 gets it.
    got = admit(
        np.array([0, 0]),
        np.array([2, 0]),
        np.array([0.0, 5.0]),
        one_kind_ranks(2),
        np.array([0]),
        np.array([0]),
        np.array([1]),
    )
    assert got.tolist() == [-1, 0]


def test_within_a_class_the_smaller_order_wins():
    got = admit(
        np.array([0, 0, 0]),
        np.array([1, 1, 1]),
        np.array([3.0, 1.0, 2.0]),
        one_kind_ranks(3),
        np.array([0, 0]),
        np.array([0, 0]),
        np.array([1, 1]),
    )
    assert sorted(got.tolist()) == [-1, 0, 1] and got[0] == -1


def test_a_seeker_waits_when_its_allowed_kinds_are_full():
    # Area 0 has a private home (kind 2) with room and a full public home (kind 0).  Seeker 0
    # allows only public (cannot pay a private fee): waits.  Seeker 1 prefers public, then
    # private: takes the private place.
    rank = np.full((2, len(KINDS)), -1)
    rank[0, 0] = 0
    rank[1, 0], rank[1, 2] = 0, 1
    got = admit(
        np.array([0, 0]),
        np.array([0, 1]),
        np.array([0.0, 0.0]),
        rank,
        np.array([0, 0]),
        np.array([0, 2]),
        np.array([0, 3]),
    )
    assert got.tolist() == [-1, 1]


def test_seekers_only_take_homes_of_their_area():
    # Area 1 has free places, area 0 none: the area-0 seeker waits, the area-1 seeker is in.
    got = admit(
        np.array([0, 1]),
        np.array([0, 2]),
        np.array([0.0, 0.0]),
        one_kind_ranks(2),
        np.array([1]),
        np.array([0]),
        np.array([5]),
    )
    assert got.tolist() == [-1, 0]


def test_the_best_ranked_kind_and_the_emptiest_home():
    # Area 0: two private homes with 2 and 4 free, a public home with 9 free.  Three seekers
    # rank private first: each goes to the private home with the most free places at its
    # turn: 4 -> 3 -> 2 (home 1, home 1, then the tie 2-2 to the lower index, home 0).
    rank = np.full((3, len(KINDS)), -1)
    rank[:, 2], rank[:, 0] = 0, 1
    got = admit(
        np.zeros(3, int),
        np.zeros(3, int),
        np.arange(3.0),
        rank,
        np.array([0, 0, 0]),
        np.array([2, 2, 0]),
        np.array([2, 4, 9]),
    )
    assert sorted(got.tolist()) == [0, 1, 1]


def test_fill_from_the_top_is_the_one_by_one_rule():
    rng = np.random.default_rng(3)
    for _ in range(300):
        free = rng.integers(0, 8, rng.integers(1, 6))
        m = int(rng.integers(0, free.sum() + 1))
        left, counts = free.copy(), np.zeros(len(free), int)
        for _ in range(m):
            h = int(np.argmax(left))  # the most free places, ties to the lower index
            left[h] -= 1
            counts[h] += 1
        assert fill_from_the_top(free, m).tolist() == counts.tolist()
    with pytest.raises(ValueError):
        fill_from_the_top(np.array([1, 1]), 3)


def reference_admit(area, priority, order, rank, h_area, h_kind, free):
    """The rule written plainly: serve one by one, a home of the best-ranked kind with room."""
    free = free.copy()
    out = np.full(len(area), -1)
    for i in sorted(range(len(area)), key=lambda i: (priority[i], order[i])):
        for k in sorted(
            (k for k in range(rank.shape[1]) if rank[i, k] >= 0), key=lambda k: (rank[i, k], k)
        ):
            here = np.flatnonzero((h_area == area[i]) & (h_kind == k) & (free > 0))
            if len(here):
                h = here[np.argmax(free[here])]
                free[h] -= 1
                out[i] = h
                break
    return out


def test_admission_matches_the_plain_rule_and_never_overfills():
    rng = np.random.default_rng(42)
    for _ in range(40):
        n, n_homes, n_areas = int(rng.integers(1, 400)), int(rng.integers(1, 40)), 5
        h_area = rng.integers(0, n_areas, n_homes)
        h_kind = rng.integers(0, len(KINDS), n_homes)
        beds = rng.integers(0, 300, n_homes)
        model = mesa.Model()
        homes = [
            inst.CareHome(model, int(a), KINDS[k], int(b), 0, 0.0, 0.0, 2015)
            for a, k, b in zip(h_area, h_kind, beds, strict=True)
        ]
        cap = places(homes, 0.1)
        already = rng.integers(0, cap + 1)
        area = rng.integers(0, n_areas, n)
        priority = rng.integers(0, 3, n)
        order = rng.random(n)
        rank = np.argsort(rng.random((n, len(KINDS))), axis=1)
        rank[rng.random((n, len(KINDS))) < 0.5] = -1
        got = admit(area, priority, order, rank, h_area, h_kind, cap - already)
        # the same homes get the same numbers of newcomers, and the same seekers get in
        want = reference_admit(area, priority, order, rank, h_area, h_kind, cap - already)
        assert ((got >= 0) == (want >= 0)).all()
        assert (
            np.bincount(got[got >= 0], minlength=n_homes).tolist()
            == np.bincount(want[want >= 0], minlength=n_homes).tolist()
        )
        admitted = got >= 0
        assert (h_area[got[admitted]] == area[admitted]).all()
        assert (rank[admitted, h_kind[got[admitted]]] >= 0).all()
        institution = np.r_[np.repeat(np.arange(n_homes), already), got].astype(np.int16)
        assert (occupancy(institution, n_homes) <= cap).all()


def test_admission_refuses_bad_inputs():
    ok = dict(
        seeker_area=np.array([0]),
        seeker_priority=np.array([0]),
        seeker_order=np.array([0.0]),
        seeker_rank=one_kind_ranks(1),
        home_area=np.array([0]),
        home_kind=np.array([0]),
        home_free=np.array([1]),
    )
    assert admit(**ok).tolist() == [0]
    with pytest.raises(ValueError, match="negative"):
        admit(**{**ok, "home_free": np.array([-1])})
    with pytest.raises(ValueError, match="seeker_rank"):
        admit(**{**ok, "seeker_rank": np.zeros(5)})
    with pytest.raises(ValueError, match="home_kind"):
        admit(**{**ok, "home_kind": np.array([7])})
    assert admit(**{**ok, "home_free": np.array([0])}).tolist() == [-1]


def test_admit_20000_seekers_fills_no_home_beyond_its_free_places():
    # a city-sized admission round (its speed is benchmarks/, not a test): every admitted
    # seeker is in a home of their own area and an allowed kind, no home takes more than
    # its free places, and no one waits while a home of an allowed kind in their area
    # still has a place
    rng = np.random.default_rng(0)
    n, n_homes = 20_000, 120
    h_area, h_kind = rng.integers(0, 5, n_homes), rng.integers(0, 5, n_homes)
    free = rng.integers(0, 300, n_homes)
    rank = np.argsort(rng.random((n, 5)), axis=1)
    rank[rng.random((n, 5)) < 0.4] = -1
    area = rng.integers(0, 5, n)
    home = admit(area, rng.integers(0, 3, n), rng.random(n), rank, h_area, h_kind, free)
    placed = home >= 0
    assert (np.bincount(home[placed], minlength=n_homes) <= free).all()
    assert (h_area[home[placed]] == area[placed]).all()
    assert (rank[np.flatnonzero(placed), h_kind[home[placed]]] >= 0).all()
    left = free - np.bincount(home[placed], minlength=n_homes)
    room = np.zeros((5, 5), dtype=bool)  # area x kind with a place left
    room[h_area[left > 0], h_kind[left > 0]] = True
    waiting = np.flatnonzero(~placed)
    allowed_with_room = (rank[waiting] >= 0) & room[area[waiting]]
    assert not allowed_with_room.any()


# --- parameters -----------------------------------------------------------------------------


def problems(change) -> list[str]:
    data = block()
    change(data)
    with pytest.raises(ParameterError) as e:
        validate(Tree(data=data, chain=[Path("scenario.yaml")]), InstitutionsParams)
    return [f"{p.key}: {p.message}" for p in e.value.problems]


def test_bad_parameters_are_refused_naming_the_key():
    def unknown_kind(d):
        d["pipeline"]["planned"]["values"][2020]["dongqu"] = {"privat": 150}

    def negative_beds(d):
        d["pipeline"]["built"]["values"][2016]["miyi"]["private"] = -80

    def shares_off(d):
        d["stock"]["other_beds_split"] = fact(
            {"public": 0.4, "public_private": 0.2, "private": 0.3}
        )

    def unknown_key(d):
        d["kinds"]["private"]["fees"] = fact(1)

    def retire_all(d):
        d["pipeline"]["retirement_share"] = fact(1.0)

    def missing_kind(d):
        del d["kinds"]["welfare_home"]

    assert any(
        p.startswith("pipeline.planned.values.2020.dongqu.privat:") for p in problems(unknown_kind)
    )
    assert any(
        p.startswith("pipeline.built.values.2016.miyi.private:") and "greater" in p
        for p in problems(negative_beds)
    )
    assert any(
        p.startswith("stock.other_beds_split.value:") and "sum to one" in p
        for p in problems(shares_off)
    )
    assert problems(unknown_key) == ["kinds.private.fees: unknown key"]
    assert any(p.startswith("pipeline.retirement_share.value:") for p in problems(retire_all))
    assert any(p.startswith("kinds.welfare_home:") for p in problems(missing_kind))


def test_inconsistent_areas_and_pipelines_are_refused_at_build():
    def unknown_area(d):
        d["pipeline"]["planned"]["values"][2020]["nowhere"] = {"private": 10}

    p = params(unknown_area)
    model = mesa.Model()
    homes = build_homes(model, p, AREAS, 2019)
    with pytest.raises(ValueError, match=r"institutions.pipeline.*nowhere"):
        build_pipeline(model, homes, p, AREAS, 2020)
    with pytest.raises(ValueError, match="occupied"):
        build_pipeline(model, homes, p, AREAS, 2019, occupied=np.zeros(3))

    def missing_weight(d):
        del d["stock"]["area_weight"]["rural"]["value"]["miyi"]

    with pytest.raises(ValueError, match=r"area_weight.rural.*miyi"):
        build_homes(mesa.Model(), params(missing_weight), AREAS, 2015)

    def too_many_welfare_homes(d):
        d["pipeline"]["built"]["values"][2016]["dongqu"]["welfare_home"] = 300

    # 4 years × 300 = 1,200 beds > the 760 welfare-home beds of 2019
    with pytest.raises(ValueError, match=r"institutions.pipeline.built.*welfare_home"):
        build_homes(mesa.Model(), params(too_many_welfare_homes), AREAS, 2015)

    def missing_indicator(d):
        d["stock"]["indicators"]["beds"] = "welfare_beds_typo"

    with pytest.raises(ValueError, match="welfare_beds_typo"):
        build_homes(mesa.Model(), params(missing_indicator), AREAS, 2015)


def test_baseline_block_weights_are_the_2020_census_elders():
    """Needs the institutions block merged into params/baseline.yaml."""
    import yaml

    data = yaml.safe_load(BASELINE.read_text(encoding="utf-8"))
    if "institutions" not in data:
        pytest.skip("the institutions block is not yet merged into params/baseline.yaml")
    weights = data["institutions"]["stock"]["area_weight"]
    census = _census_60p_2020(data["population"]["census_codes"])
    for stratum in ("urban", "rural"):
        assert weights[stratum]["value"] == {a: census[a][stratum] for a in AREAS}
    # and the merged block rebuilds the bulletin's 2019 stock
    from simlib.scenario import load_scenario

    scenario = load_scenario(BASELINE).params
    p = scenario.institutions
    model = mesa.Model()
    homes = build_homes(model, p, scenario.area_codes, scenario.years.base_year)
    homes, _ = step(model, homes, p, range(scenario.years.base_year + 1, 2020))
    assert stock_by_kind(homes) == BULLETIN_2019


def _census_60p_2020(codes: dict[str, str]) -> dict[str, dict[str, int]]:
    """Persons 60+ × urban (rural) share of persons, 2020 census, rounded."""
    import csv

    out = {}
    with open(PARAMS / "data" / "panzhihua_census_2010_2020.csv", encoding="utf-8") as f:
        rows = {r["code"].strip(): r for r in csv.DictReader(f) if r["year"] == "2020"}
    for area, code in codes.items():
        r = rows[code]
        share = float(r["age_60p"]) / float(r["pop_total"])
        out[area] = {
            "urban": round(share * float(r["pop_urban"])),
            "rural": round(share * float(r["pop_rural"])),
        }
    return out


def test_params_block_round_trip():
    p = params()
    assert InstitutionsParams.model_validate(copy.deepcopy(block())) == p
    assert p.pipeline.new_beds(2018, 2019) == {
        "dongqu": {"private": 120},
        "renhe": {"public_private": 100},
        "miyi": {"private": 80},
    }
    assert p.pipeline.new_beds(2025, 2019) == p.pipeline.planned.at(2020)
