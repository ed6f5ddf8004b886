"""The exploration levers: their defaults, the key paths they set, and what they refuse."""

from __future__ import annotations

import pytest
import yaml

from simlib.errors import UserError
from simlib.levers import Levers, apply_levers, beds_year, changes, methods, verification_year
from simlib.scenario import load_scenario
from tests.conftest import BASELINE, PARAMS


@pytest.fixture(scope="module")
def base():
    return load_scenario(BASELINE)


@pytest.fixture(scope="module")
def defaults(base):
    return Levers.from_scenario(base)


def test_levers_read_their_defaults_from_the_baseline(defaults, base):
    raw = yaml.safe_load(BASELINE.read_text(encoding="utf-8"))
    s, dibao = raw["standards"], raw["programmes"]["dibao"]
    assert defaults.method == s["method"] == "consumption_ratio"
    assert defaults.ratio_urban == s["consumption_ratio"]["ratio"]["urban"]["value"] == 0.30
    assert defaults.ratio_rural == s["consumption_ratio"]["ratio"]["rural"]["value"] == 0.35
    assert defaults.convergence_step == s["convergence"]["step"]["value"] == 0.01
    assert defaults.fiscal_cap == s["fiscal_cap"]["max_share"]["value"] == 0.05
    assert defaults.take_up_urban == dibao["take_up"]["max_rate"]["urban"]["value"] == 0.2235
    assert defaults.take_up_rural == dibao["take_up"]["max_rate"]["rural"]["value"] == 0.2246
    # verification {2015: 0.5, 2017: 0.7, 2020: 0.8}: the end value is 2020's
    assert defaults.verification_end == 0.8 and verification_year(base) == 2020
    # planned 2020: dongqu private 150 + xiqu public_private 80 + renhe public 100
    # + yanbian private 70 = 400 beds a year
    assert defaults.new_beds_per_year == 400 and beds_year(base) == 2020
    assert methods(base) == ("consumption_ratio", "engel", "basket")


def test_levers_follow_the_scenario_they_are_read_from():
    squeeze = Levers.from_scenario(load_scenario(PARAMS / "fiscal_squeeze.yaml"))
    assert squeeze.fiscal_cap == 0.022
    # fast_beds 2020: 200 + 150 + 100 + 100 + 100 + 80 + 70 + 100 = 900
    assert Levers.from_scenario(load_scenario(PARAMS / "fast_beds.yaml")).new_beds_per_year == 900
    assert Levers.from_scenario(load_scenario(PARAMS / "engel.yaml")).method == "engel"


def test_unchanged_levers_leave_the_scenario_as_it_is(base, defaults):
    assert changes(base, defaults) == {}
    assert apply_levers(base, defaults) is base


def test_apply_levers_sets_the_key_paths(base, defaults):
    levers = defaults.replace(
        method="engel",
        ratio_urban=0.25,
        ratio_rural=0.40,
        convergence_step=0.02,
        fiscal_cap=0.03,
        take_up_urban=0.3,
        take_up_rural=0.35,
        verification_end=0.6,
        new_beds_per_year=500,
    )
    changed = apply_levers(base, levers)
    p = changed.params
    assert p.standards.method == "engel"
    assert p.standards.consumption_ratio.ratio.urban.value == 0.25
    assert p.standards.consumption_ratio.ratio.rural.value == 0.40
    assert p.standards.convergence.step.value == 0.02
    assert p.standards.fiscal_cap.max_share.value == 0.03
    assert p.programmes.dibao.take_up.max_rate.urban.value == 0.3
    assert p.programmes.dibao.take_up.max_rate.rural.value == 0.35
    # only the end value moves: the build-up of 2015 and 2017 stays
    assert p.programmes.dibao.assessment.verification_strength.values == {
        2015: 0.5,
        2017: 0.7,
        2020: 0.6,
    }
    # 500 / 400 = 1.25: dongqu 150 -> 187.5, xiqu 80 -> 100, renhe 100 -> 125, yanbian 70 -> 87.5;
    # floors sum to 499, the one bed left goes to the first of the two .5 remainders (dongqu)
    assert p.institutions.pipeline.planned.values == {
        2020: {
            "dongqu": {"private": 188},
            "xiqu": {"public_private": 100},
            "renhe": {"public": 125},
            "yanbian": {"private": 87},
        }
    }
    assert changed.hash != base.hash
    # what was not a lever is untouched
    assert p.programmes.dibao.take_up.outreach == base.params.programmes.dibao.take_up.outreach
    assert p.institutions.pipeline.built == base.params.institutions.pipeline.built
    assert Levers.from_scenario(changed) == levers


def test_a_scaled_bed_plan_keeps_its_years_and_cells(scenario_file):
    # two dated plans: 2020 200 + 100 = 300 beds, 2025 60 + 60 = 120; the lever 450 = ×1.5:
    # 2020 300 + 150 = 450, 2025 90 + 90 = 180
    loaded = load_scenario(
        scenario_file(
            "institutions:\n  pipeline:\n    planned:\n      values:\n"
            "        2020: {dongqu: {private: 200}, miyi: {public: 100}}\n"
            "        2025: {dongqu: {private: 60}, renhe: {public_private: 60}}\n"
            "      unit: beds opened in the year (area -> kind -> beds)\n"
            "      assumption: a test plan\n"
        )
    )
    levers = Levers.from_scenario(loaded)
    assert levers.new_beds_per_year == 300
    changed = apply_levers(loaded, levers.replace(new_beds_per_year=450))
    assert changed.params.institutions.pipeline.planned.values == {
        2020: {"dongqu": {"private": 300}, "miyi": {"public": 150}},
        2025: {"dongqu": {"private": 90}, "renhe": {"public_private": 90}},
    }


@pytest.mark.parametrize(
    ("lever", "value", "words"),
    [
        ("fiscal_cap", 0.5, ["fiscal_cap = 0.5", "[0.005, 0.2]", "standards.fiscal_cap.max_share"]),
        ("take_up_urban", -0.1, ["take_up_urban", "[0, 1]", "take_up.max_rate.urban"]),
        ("ratio_rural", float("nan"), ["ratio_rural", "out of range"]),
        ("new_beds_per_year", 5000, ["new_beds_per_year = 5000", "institutions.pipeline.planned"]),
        ("new_beds_per_year", 100.5, ["not whole"]),
        ("verification_end", True, ["verification_end", "not a number"]),
        ("method", "magic", ["method", "consumption_ratio, engel, basket"]),
    ],
)
def test_levers_out_of_range_are_refused(defaults, lever, value, words):
    with pytest.raises(UserError) as e:
        defaults.replace(**{lever: value})
    for w in words:
        assert w in str(e.value)


def test_a_lever_the_scenario_does_not_use_is_refused(scenario_file):
    loaded = load_scenario(
        scenario_file("standards:\n  basket: null\n  convergence:\n    enabled: false\n")
    )
    levers = Levers.from_scenario(loaded)
    assert methods(loaded) == ("consumption_ratio", "engel")
    assert levers.convergence_step is None
    with pytest.raises(UserError, match=r"no `standards\.basket` block; it can use"):
        apply_levers(loaded, levers.replace(method="basket"))
    with pytest.raises(UserError, match=r"does not use standards\.convergence\.step"):
        apply_levers(loaded, levers.replace(convergence_step=0.02))
