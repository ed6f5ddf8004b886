"""Model invariants (simlib/invariants.py): each check raises on a broken case built by hand,
naming the year, the area (code and names) and the metric, and a model run keeps them all."""

from __future__ import annotations

import json
from dataclasses import replace

import mesa
import numpy as np
import pytest

from simlib import demography, invariants
from simlib.cli import main
from simlib.errors import InvariantError, UserError
from simlib.institutions import CareHome
from simlib.invariants import (
    AreaNames,
    check_beds,
    check_beds_by_cell,
    check_ledger,
    check_not_negative,
    check_persons,
    check_probability,
    check_standards,
)
from simlib.ledger import FUNDERS, PROGRAMMES, spending_quantities
from simlib.model import CityModel
from simlib.standards import StandardDecision, Stratified

AREAS = AreaNames(
    ("dongqu", "xiqu", "renhe"), ("东区, Dong District", "西区, Xi District", "仁和区, Renhe")
)
S = Stratified


def broken(match: str):
    return pytest.raises(InvariantError, match=match)


def test_an_invariant_error_is_a_user_error_the_cli_reports_in_one_line():
    assert issubclass(InvariantError, UserError)


def test_area_names_come_from_the_scenario(baseline):
    areas = AreaNames.of(baseline.params)
    assert areas.label(0, 1) == "dongqu (东区, Dong District) rural"
    assert areas.label(invariants.CITY) == "all (the whole city)"


# --- 1. no negative counts or amounts -----------------------------------------------------


def test_a_negative_count_names_year_area_stratum_and_metric():
    good = {"population": np.full((3, 2), 100.0), "dibao_spending": np.zeros((3, 2))}
    check_not_negative(good, 2017, AREAS)
    bad = {**good, "dibao_persons": np.array([[5.0, 4.0], [3.0, -2.0], [1.0, 0.0]])}
    with broken(r"in 2017, area xiqu \(西区, Xi District\) rural, metric dibao_persons: -2 "):
        check_not_negative(bad, 2017, AREAS)


@pytest.mark.parametrize("value", [np.nan, np.inf, -1e-3])
def test_nan_infinite_and_small_negative_amounts_are_refused(value):
    spending = np.zeros((3, 2))
    spending[2, 0] = value
    with broken(r"in 2020, area renhe \(仁和区, Renhe\) urban, metric tekun_spending"):
        check_not_negative({"tekun_spending": spending}, 2020, AREAS)


def test_float_noise_below_a_millionth_is_not_a_negative_amount():
    # a stock less its outflow can end at -5.7e-15 yuan (seen in relief_reserve_written_off)
    check_not_negative({"relief_reserve_written_off": np.full((3, 2), -5.7e-15)}, 2017, AREAS)


# --- 2. persons ------------------------------------------------------------------------------


def report(**counts) -> demography.DemographyReport:
    r = demography.DemographyReport.empty(2018, 3)
    for name, cells in counts.items():
        getattr(r, name)[:] = cells
    return r


def test_persons_are_last_year_plus_births_minus_deaths_plus_migration():
    before = np.array([[100, 50], [80, 40], [60, 30]])
    r = report(
        births=[[3, 1], [0, 0], [2, 0]],
        deaths=[[2, 1], [1, 0], [0, 2]],
        in_migrants=[[5, 0], [0, 0], [1, 0]],
        out_migrants=[[4, 2], [0, 3], [0, 0]],
    )
    # dongqu urban 100 + 3 - 2 + 5 - 4 = 102; rural 50 + 1 - 1 + 0 - 2 = 48;
    # xiqu 80 - 1 = 79, 40 - 3 = 37; renhe 60 + 2 + 1 = 63, 30 - 2 = 28
    after = np.array([[102, 48], [79, 37], [63, 28]])
    check_persons(before, after, r, 2018, AREAS)
    after[2, 1] = 29  # one person too many in rural Renhe
    with broken(
        r"in 2018, area renhe \(仁和区, Renhe\) rural, metric persons \(simulated\): 29 at the end "
        r"of the year, but 30 at the end of last year \+ 0 births - 2 deaths \+ 0 in-migrants - "
        r"0 out-migrants = 28"
    ):
        check_persons(before, after, r, 2018, AREAS)


# --- 3. beds ---------------------------------------------------------------------------------


def homes_of(beds: list[int]) -> list[CareHome]:
    model = mesa.Model(rng=0)
    return [CareHome(model, 1, "public", b, 0, 1000.0, 0.0, 2015) for b in beds]


def test_a_home_holds_no_more_residents_than_its_places():
    homes = homes_of([250, 99])
    # places at scale 0.01: floor(250 × 0.01) = 2, floor(99 × 0.01) = 0
    check_beds(np.array([2, 0]), homes, 0.01, 2019, AREAS)
    with broken(
        r"in 2019, area xiqu \(西区, Xi District\) urban, metric beds_occupied: care home 1 "
        r"\(public, 99 beds\) holds 1 simulated residents for 0 simulated places"
    ):
        check_beds(np.array([2, 1]), homes, 0.01, 2019, AREAS)


def test_occupied_beds_at_most_beds_in_every_cell():
    beds = np.array([[300.0, 0.0], [200.0, 100.0], [0.0, 50.0]])
    check_beds_by_cell(beds.copy(), beds, 2021, AREAS)
    occupied = beds.copy()
    occupied[1, 1] = 101.0
    with broken(r"in 2021, area xiqu \(西区, Xi District\) rural, metric beds_occupied: 101 "):
        check_beds_by_cell(occupied, beds, 2021, AREAS)


# --- 4. the ledger --------------------------------------------------------------------------


def ledger_year() -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """A ledger booked by hand: every programme pays 1000 yuan × (area + 1) × (stratum + 1)
    per cell, 40% central, 30% provincial, 20% municipal, 10% county; CPI level 1.25."""
    shares = np.tile([0.4, 0.3, 0.2, 0.1], (len(PROGRAMMES), 1))
    paid = 1000.0 * np.outer([1, 2, 3], [1, 2])
    booked = shares[:, :, None, None] * np.broadcast_to(paid, (len(PROGRAMMES), 3, 2))[:, None]
    record = spending_quantities(booked, 1.25, 1e9, np.full((3, 2), 1000.0))
    return booked, shares, record


def test_a_hand_booked_ledger_keeps_its_accounts():
    booked, shares, record = ledger_year()
    # dibao in rural Renhe: 1000 × 3 × 2 = 6000, the municipal part 0.2 × 6000 = 1200
    assert booked[0, FUNDERS.index("municipal"), 2, 1] == pytest.approx(1200.0)
    # all 17 programmes: relief spending 17 × 6000 = 102,000; real 102,000 / 1.25 = 81,600
    assert record["relief_spending_total_real"][2, 1] == pytest.approx(81_600.0)
    check_ledger(booked, shares, record, 1.25, 2022, AREAS)


def test_funders_parts_that_do_not_add_up_to_the_payment_are_caught():
    booked, shares, record = ledger_year()
    booked[0, FUNDERS.index("county"), 1, 0] += 50.0  # county pays 250 of dibao's 2000, not 200
    with broken(
        r"in 2022, area xiqu \(西区, Xi District\) urban, metric ledger dibao by funder: the "
        r"funders' parts \(central 800, provincial 600, municipal 400, county 250\) are not "
        r"their shares \(0.4, 0.3, 0.2, 0.1\) of the payment 2050"
    ):
        check_ledger(booked, shares, record, 1.25, 2022, AREAS)


def test_a_negative_ledger_amount_is_caught():
    booked, shares, record = ledger_year()
    booked[PROGRAMMES_INDEX["care_subsidy"], 0, 0, 1] = -10.0
    with broken(r"in 2022, area dongqu \(东区, Dong District\) rural, metric ledger care_subsidy"):
        check_ledger(booked, shares, record, 1.25, 2022, AREAS)


PROGRAMMES_INDEX = {name: i for i, name in enumerate(PROGRAMMES)}


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("tekun_spending", "the ledger's total of the programme"),
        ("relief_spending_total", "the sum of the programmes in the ledger"),
        ("dibao_spending_real", "the nominal value over the CPI level 1.25"),
    ],
)
def test_a_record_that_is_not_the_ledger_is_caught(metric, expected):
    booked, shares, record = ledger_year()
    record[metric] = record[metric].copy()
    record[metric][2, 0] += 1.0
    with broken(
        rf"in 2022, area renhe \(仁和区, Renhe\) urban, metric {metric}: .* is not {expected}"
    ):
        check_ledger(booked, shares, record, 1.25, 2022, AREAS)


# --- 5. standards -----------------------------------------------------------------------------


def decision(**changes) -> StandardDecision:
    """A decision that keeps every rule: last year 600 / 400 yuan a month; the uplifted
    standards 640 / 440 cut halfway by the cap (λ = 0.5: 600 + 0.5 × 40 = 620, 400 + 0.5 × 40
    = 420) to its limit of 1000 yuan; new from July, so the mean is (6 × 600 + 6 × 620) / 12
    = 610 and 410; the poverty line 3600 yuan a year is 300 a month, below 420."""
    trace = {
        "base": S(630, 430),
        "price_uplift": S(640, 440),
        "fiscal_cap": S(620, 420),
        "convergence": S(620, 420),
        "floors": S(620, 420),
        "rounding": S(620, 420),
    }
    d = StandardDecision(
        year=2017,
        previous=S(600, 400),
        new=S(620, 420),
        effective_month=7,
        annual_mean=S(610, 410),
        subsidy_months=0,
        subsidy_amount=S(0, 0),
        trace=trace,
        cap_factor=0.5,
        spending_cap=1000.0,
        projected_spending=1000.0,
        poverty_line=3600.0,
    )
    return replace(d, **changes)


def test_a_decision_within_its_floors_and_cap_passes(baseline):
    check_standards(decision(), baseline.params.standards, 2017)


@pytest.mark.parametrize(
    ("changes", "metric", "problem"),
    [
        (
            # rural 280 < 300 a month: previous 250, uplifted 310, capped 250 + 0.5 × 60 = 280
            {
                "previous": S(600, 250),
                "new": S(620, 280),
                "annual_mean": S(610, 265),
                "trace": {"price_uplift": S(640, 310), "fiscal_cap": S(620, 280)},
            },
            "dibao_standard_month",
            "280 yuan/month is below the poverty line 300",
        ),
        (
            # urban cut from 600 to 590: the ratchet (the cap kept all of a fall: 590)
            {
                "new": S(590, 420),
                "annual_mean": S(595, 410),
                "trace": {"price_uplift": S(590, 440), "fiscal_cap": S(590, 420)},
            },
            "dibao_standard_month",
            "590 yuan/month is below last year's 600",
        ),
        (
            {"projected_spending": 1200.0},
            r"relief_spending_total \(fiscal cap\)",
            "projected relief spending 1200 yuan exceeds the cap 1000 yuan",
        ),
        (
            {"trace": {"price_uplift": S(640, 440), "fiscal_cap": S(650, 420)}},
            r"dibao_standard_month \(fiscal cap\)",
            "650 yuan/month is not between last year's standard and the uncapped one",
        ),
        ({"cap_factor": 1.5}, "fiscal cap factor", r"λ = 1.5 is outside \[0, 1\]"),
        (
            {"annual_mean": S(700, 410)},
            "dibao_standard_mean_month",
            "700 yuan/month is not between last year's standard and the new one",
        ),
        ({"new": S(np.nan, 420)}, "dibao_standard_month", "nan yuan/month is not a standard"),
    ],
)
def test_a_decision_outside_its_floors_or_cap_is_caught(baseline, changes, metric, problem):
    d = decision()
    if "trace" in changes:
        changes = changes | {"trace": d.trace | changes["trace"]}
    with broken(rf"in 2017, area all \(the whole city\).*, metric {metric}: {problem}"):
        check_standards(replace(d, **changes), baseline.params.standards, 2017)


# --- 6. probabilities ---------------------------------------------------------------------------


def test_probabilities_in_zero_to_one():
    check_probability(np.array([0.0, 0.3, 1.0]), "take-up", 2016)
    check_probability(np.zeros(0), "nothing", 2016)
    with broken(r"in 2016, area all \(the whole city\), metric take-up: 1.2 at index \(1, 0\)"):
        check_probability(np.array([[0.1, 0.2], [1.2, 0.0]]), "take-up", 2016)
    with broken(r"metric death: nan at index \(0,\) is not a probability"):
        check_probability(np.array([np.nan]), "death", 2016)
    with broken(r"in the base year, .* metric x: -0.1"):
        check_probability(np.array([-0.1]), "x", None)


# --- the model keeps them; a run that breaks one fails with the message -------------------------


def test_a_model_run_keeps_every_invariant(baseline, monkeypatch):
    years = []
    check = invariants.YearChecks.check

    def counted(self, model, year, report):
        check(self, model, year, report)
        years.append(year)

    monkeypatch.setattr(invariants.YearChecks, "check", counted)
    CityModel(baseline.params, scale=0.01, rng=np.random.default_rng(5)).run()
    assert years == list(baseline.params.years.simulated)


def test_a_miscounted_birth_stops_the_model_in_its_year(baseline, monkeypatch):
    step = demography.step

    def one_birth_too_many(city, params, year, rng, multiplier=None):
        report = step(city, params, year, rng, multiplier)
        if year == 2017:
            report.births[2, 1] += 1
        return report

    monkeypatch.setattr(demography, "step", one_birth_too_many)
    model = CityModel(baseline.params, scale=0.01, rng=np.random.default_rng(5))
    model.step()
    with broken(r"in 2017, area renhe \(仁和区, Renhe District\) rural, metric persons"):
        model.step()


def test_a_run_that_breaks_an_invariant_ends_failed_with_the_message(
    tmp_path, scenario_file, capsys
):
    # a total fertility rate of 30 puts the birth probability at the peak age above one
    path = scenario_file(
        "demography:\n  fertility:\n    total_fertility_urban: {value: 30.0, unit: births per "
        "woman, assumption: an impossible rate for the test}\n"
    )
    args = ["run", str(path), "--scale", "0.01", "--replicates", "1", "--quiet"]
    assert main([*args, "--out", str(tmp_path), "--run-id", "births"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    message = "model invariant broken in 2016, area all (the whole city), metric birth probability"
    assert message in err
    manifest = json.loads((tmp_path / "births" / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["error"].startswith(f"InvariantError: {message}")
    assert "results.parquet" not in manifest["files"]
