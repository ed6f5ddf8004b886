"""Extreme scenarios (issue 10 item 5): each runs to complete tables with the model's
invariants holding every year (simlib/invariants.py raises otherwise), or is refused with
exit status 2 and a message naming the file and the key.

The runs go through the command line in-process (``simlib batch --no-notebooks``, the
unattended path; a run's tables are what ``simlib run`` saves before its notebook), at a
small scale.  The scenarios a user may want are in params/extremes/; the others are built
here from the baseline in tmp_path.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simlib.cli import main
from simlib.elderly_care import ElderlyCareParams, seeking_probability
from simlib.errors import UserError
from simlib.institutions import check_pipeline
from simlib.model import CityModel
from simlib.parameters import ParameterError
from simlib.runs import SAVED, load_run
from simlib.scenario import load_scenario
from simlib.standards import spending_cap
from tests.conftest import BASELINE, PARAMS

EXTREMES = PARAMS / "extremes"
YEARS = list(range(2016, 2031))


def batch(path: Path, out: Path, scale: str = "0.01") -> tuple[int, Path | None]:
    """Run one scenario with ``simlib batch``; the exit status and its run folder."""
    args = ["batch", str(path), "--scale", scale, "--replicates", "1", "--seed", "7"]
    code = main([*args, "--no-notebooks", "--quiet", "--out", str(out)])
    folders = sorted(out.iterdir()) if out.is_dir() else []
    return code, folders[0] if folders else None


def complete(code: int, run_dir: Path | None, years: list[int] = YEARS):
    """The run ended ``ok`` with every table, every simulated year and no missing value."""
    assert code == 0 and run_dir is not None
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "ok", manifest.get("error")
    assert set(SAVED) <= set(manifest["files"])
    run = load_run(run_dir)
    assert sorted(run.table.year.unique()) == years
    assert not run.summary["mean"].isna().any()
    assert not run.ledger["amount"].isna().any() and (run.ledger["amount"] >= 0).all()
    return run


def city(run, metric: str, stratum: str = "all", area: str = "all") -> pd.Series:
    s = run.summary
    rows = s[(s.metric == metric) & (s.area == area) & (s.stratum == stratum)]
    return rows.set_index("year")["mean"]


def driver(run, name: str) -> pd.Series:
    d = run.drivers.table()
    return d[d.driver == name].set_index("year")["value"]


# --- incomes ------------------------------------------------------------------------------


def test_zero_income_growth_runs_with_flat_incomes(tmp_path):
    run = complete(*batch(EXTREMES / "zero_income_growth.yaml", tmp_path))
    for name in ("dispinc_pc_urban", "dispinc_pc_rural"):
        income = driver(run, name)
        assert income.loc[2017:2031].to_numpy() == pytest.approx(income.loc[2016])
    # the standards never fall (the ratchet, checked every year by the invariants)
    assert city(run, "dibao_standard_month", "urban").diff().dropna().min() >= 0


def test_falling_incomes_run_and_the_caseload_grows(tmp_path):
    run = complete(*batch(EXTREMES / "income_fall.yaml", tmp_path))
    # -5% a year from 2017: 2030 / 2016 = 0.95^14 = 0.48767
    income = driver(run, "dispinc_pc_rural")
    assert income[2030] / income[2016] == pytest.approx(0.95**14, rel=1e-9)
    persons = city(run, "dibao_persons")
    assert persons[2030] > 3 * persons[2016]  # at scale 0.01: about 130,000 against 19,000


# --- prices: the price-linkage subsidy every month ----------------------------------------------


def test_twenty_percent_inflation_pays_the_price_subsidy_every_month(tmp_path):
    run = complete(*batch(EXTREMES / "high_inflation.yaml", tmp_path))
    assert driver(run, "cpi").loc[2024:2031].to_numpy() == pytest.approx(0.20)
    months = city(run, "price_subsidy_months")
    assert (months.loc[2024:2030] == 12).all()
    assert (city(run, "price_subsidy_spending").loc[2024:2030] > 0).all()
    # paid in every area, to urban and to rural recipients
    ledger = run.ledger[(run.ledger.programme == "price_subsidy") & (run.ledger.year == 2030)]
    assert (ledger.groupby("area")["amount"].sum() > 0).all()
    assert (ledger.groupby("stratum")["amount"].sum() > 0).all()


def test_the_subsidy_amount_is_the_standard_times_the_rate_each_month():
    loaded = load_scenario(EXTREMES / "high_inflation.yaml")
    model = CityModel(loaded.params, scale=0.002, rng=np.random.default_rng(3))
    while model.year < 2026:
        model.step()
    d = model.bureau.decision
    # 2026: every month's CPI is 20% (the years around it too), over a 3.5% threshold; the
    # amount is the standard in force × 0.20: from July the new urban standard, e.g.
    # 0.20 × new; before, 0.20 × last year's
    by_month = d.subsidy_by_month
    assert by_month["rate"] == pytest.approx(np.full(12, 0.20))
    m = d.effective_month
    assert by_month["urban"][m - 1 :] == pytest.approx(0.20 * d.new.urban)
    assert by_month["urban"][: m - 1] == pytest.approx(0.20 * d.previous.urban)
    assert d.subsidy_months == 12


# --- revenue: the fiscal cap binds --------------------------------------------------------------


def test_a_revenue_collapse_binds_the_fiscal_cap():
    loaded = load_scenario(EXTREMES / "revenue_collapse.yaml")
    model = CityModel(loaded.params, scale=0.01, rng=np.random.default_rng(3))
    decisions = {}
    model.run(lambda year: decisions.__setitem__(year, model.bureau.decision))
    # revenue halves in 2020 (8.02 bn -> 4.01 bn yuan) against relief spending of about
    # 0.2 bn: the cap, 5% of revenue = 0.20 bn, is below what was spent, so no rise (λ = 0)
    assert [decisions[y].cap_factor for y in range(2016, 2020)] == [1.0] * 4
    for year in range(2020, 2031):
        d = decisions[year]
        assert d.cap_factor == 0.0 and d.projected_spending > d.spending_cap
        assert d.trace["fiscal_cap"] == d.previous  # the rise is cut to nothing
        assert d.new.urban == decisions[2019].new.urban  # convergence lifts the rural only


def test_a_revenue_collapse_runs_to_complete_tables(tmp_path):
    run = complete(*batch(EXTREMES / "revenue_collapse.yaml", tmp_path))
    urban = city(run, "dibao_standard_month", "urban")
    assert (urban.loc[2020:2030] == urban[2019]).all()


def test_revenue_gone_to_nothing_with_the_growth_margin_cap(tmp_path, scenario_file):
    # revenue falls 100% in 2020: nothing from then on; the growth-margin cap used to stop
    # the run in 2021 (ValueError: growth_margin needs last year's budget revenue)
    path = scenario_file(
        "economy:\n  drivers:\n    budget_revenue:\n      override: {values: {2020: -1.0}, "
        "unit: rate, assumption: test}\nstandards:\n  fiscal_cap:\n    mode: growth_margin\n"
        "    margin: {value: 0.01, unit: rate, assumption: test}\n"
    )
    run = complete(*batch(path, tmp_path / "out", scale="0.005"))
    assert (city(run, "budget_revenue").loc[2020:] == 0).all()
    assert (city(run, "relief_share_of_revenue").loc[2020:] == 0).all()  # no denominator: 0


def test_the_growth_margin_cap_after_a_year_without_revenue():
    # nothing to nothing: no growth, cap = 100m × (1 + 0.01) = 101m; nothing to 5bn: no cap
    assert spending_cap("growth_margin", 0.0, 0.0, 100e6, margin=0.01) == pytest.approx(101e6)
    assert spending_cap("growth_margin", 5e9, 0.0, 100e6, margin=0.01) == np.inf


# --- horizons -----------------------------------------------------------------------------------


def test_a_one_year_horizon(tmp_path, scenario_file):
    path = scenario_file("years: {end_year: 2016}\n")
    run = complete(*batch(path, tmp_path / "out"), years=[2016])
    # the plan targets of later years are left out of the dashboard, those of 2016 kept
    assert set(run.targets.year) == {2016}


def test_fifty_years_extend_the_forecasts_and_the_dated_facts():
    from simlib.runs import run_scenario

    run = run_scenario(EXTREMES / "long_horizon.yaml", replicates=1, seed=7, scale=0.001)
    assert sorted(run.table.year.unique()) == list(range(2016, 2066))
    assert not run.summary["mean"].isna().any()
    drivers = run.drivers.table()
    assert drivers.year.max() == 2066 and not drivers.value.isna().any()
    assert run.forecasts is not None and run.forecasts.year.max() == 2066
    # dated facts hold their last value: the pipeline's 2020 plan (400 beds) every year
    beds = city(run, "beds")
    assert beds[2065] > beds[2030] > beds[2016]


@pytest.mark.parametrize(
    ("years", "message"),
    [
        ("{end_year: 2015}", "years: end_year must come after base_year"),
        ("{end_year: 2200}", "years.end_year: Input should be less than or equal to 2150"),
        ("{base_year: 2015, end_year: 2120}", "years: the horizon is limited to 100 years"),
    ],
)
def test_a_horizon_out_of_range_is_refused(tmp_path, scenario_file, capsys, years, message):
    path = scenario_file(f"years: {years}\n")
    assert batch(path, tmp_path / "out") == (2, None)
    err = capsys.readouterr().err
    assert f"{path}: {message}" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("driver_name", "value", "message"),
    [
        ("dispinc_pc_urban", -1.5, "greater than or equal to -1"),  # a fall of 150%
        ("cpi", 20, "less than or equal to 10"),  # 2000% inflation: a typo for 0.20
    ],
)
def test_rates_out_of_range_are_refused(
    tmp_path, scenario_file, capsys, driver_name, value, message
):
    path = scenario_file(
        f"economy:\n  drivers:\n    {driver_name}:\n      override: {{values: {{2024: {value}}}, "
        "unit: rate, assumption: test}\n"
    )
    assert batch(path, tmp_path / "out") == (2, None)
    err = capsys.readouterr().err
    assert f"{path}: economy.drivers.{driver_name}.override.values.2024: " in err
    assert message in err


# --- scale --------------------------------------------------------------------------------------


def test_a_thousandth_of_the_city(tmp_path):
    run = complete(*batch(BASELINE, tmp_path, scale="0.001"))
    assert 1.0e6 < city(run, "population")[2016] < 1.4e6  # about 1,200 simulated persons


def test_a_city_too_small_to_have_elders_is_refused_before_it_starts(tmp_path, capsys):
    # at 1/100,000 the city would have about 12 simulated persons, none aged 60+: the
    # command refuses a scale below arguments.MIN_SCALE (0.001) with exit 2, no folder made
    code, run_dir = batch(BASELINE, tmp_path, scale="0.00001")
    assert code == 2 and run_dir is None
    err = capsys.readouterr().err
    assert "--scale" in err and "must be between 0.001 and 1" in err
    assert "Traceback" not in err


def test_below_the_smallest_scale_the_model_says_why(baseline):
    # from Python (no command-line check), the model itself names the problem
    with pytest.raises(UserError, match=r"no persons aged 60\+.*use a larger --scale"):
        CityModel(baseline.params, scale=0.00001, rng=np.random.default_rng(7))


# --- places -------------------------------------------------------------------------------------


def census_without_rural_dongqu(folder: Path) -> Path:
    """The census file with Dong District all urban (its 4,105 rural persons of 2020 and
    7,401 of 2010 counted urban)."""
    source = PARAMS / "data" / "panzhihua_census_2010_2020.csv"
    with source.open(encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields, rows = reader.fieldnames, list(reader)
    for row in rows:
        if row["code"] == "510402":
            row["pop_urban"], row["pop_rural"] = row["pop_total"], "0.0"
    path = folder / "census_dongqu_all_urban.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_an_area_with_no_rural_population(tmp_path, scenario_file):
    census = census_without_rural_dongqu(tmp_path)
    path = scenario_file(
        f"population:\n  census_file: {census}\ninstitutions:\n  stock:\n    area_weight:\n"
        "      rural:\n        value: {dongqu: 0, xiqu: 1431, renhe: 20559, miyi: 22378, "
        "yanbian: 22070}\n        unit: persons aged 60+\n        assumption: test\n"
    )
    run = complete(*batch(path, tmp_path / "out"))
    table = run.table[(run.table.area == "dongqu") & (run.table.stratum == "rural")]
    assert not table["value"].isna().any()
    # no one lives there, so no one is counted or paid there; the standards (city-wide)
    # and the community-care facilities (given per area in their own block) are not zero
    of_persons = [
        "population",
        "households",
        "elderly_60p",
        "dibao_persons",
        "dibao_spending",
        "dibao_avg_benefit_month",
        "dibao_rate",
        "dependent_elder_share",
        "tekun_persons",
        "medical_assist_spending",
        "old_age_allowance_spending",
    ]
    values = table[table.metric.isin(of_persons)]
    assert set(values.metric) == set(of_persons) and (values["value"] == 0).all()
    assert (city(run, "population", "urban", "dongqu") > 300_000).all()


def bulletin_without_care_homes(folder: Path) -> Path:
    path = folder / "no_care_homes.csv"
    head = "year,area,indicator,value,unit,status,source_publication,source_url,note\n"
    names = (
        ("welfare_residential_units", "count"),
        ("welfare_residential_beds", "beds"),
        ("welfare_homes", "count"),
        ("welfare_home_beds", "beds"),
        ("nursing_homes_jinglaoyuan", "count"),
        ("nursing_home_beds_jinglaoyuan", "beds"),
    )
    rows = [
        f"2019,Panzhihua,{n},0,{u},unsourced,a city with no care homes (test),,\n" for n, u in names
    ]
    path.write_text(head + "".join(rows), encoding="utf-8")
    return path


NO_HOMES = (
    "institutions:\n  stock:\n    bulletin_file: {bulletin}\n  pipeline:\n"
    "    built: {{values: {{2016: {{}}}}, unit: beds, assumption: none built}}\n"
    "    planned: {{values: {{2020: {{}}}}, unit: beds, assumption: none planned}}\n"
)


def test_a_city_with_no_care_homes(tmp_path, scenario_file):
    path = scenario_file(NO_HOMES.format(bulletin=bulletin_without_care_homes(tmp_path)))
    run = complete(*batch(path, tmp_path / "out"))
    for metric in ("beds", "beds_occupied", "care_subsidy_spending", "tekun_concentrated"):
        assert (city(run, metric) == 0).all(), metric
    # elders still seek a place (and wait): not every elder, as when the missing public fee
    # made the income term of the seeking probability infinite
    seekers, elders = city(run, "bed_seekers"), city(run, "elderly_60p")
    assert (seekers > 0).all() and (seekers < 0.05 * elders).all()


def test_no_public_home_leaves_the_income_term_out_of_seeking(baseline):
    s = baseline.params.programmes.elderly_care.seeking
    assert isinstance(baseline.params.programmes.elderly_care, ElderlyCareParams)
    args = (np.array([75]), np.array([1]), np.array([False]))
    # with no public home (fee 0) the probability is that of an income equal to the fee
    none = seeking_probability(*args, np.array([3000.0]), 0.0, s, 2020)
    at_fee = seeking_probability(*args, np.array([1800.0]), 1800.0, s, 2020)
    assert np.isfinite(none).all() and none == pytest.approx(at_fee)


def test_care_homes_built_before_a_stock_of_none_are_refused_with_the_keys(
    tmp_path, scenario_file, capsys
):
    # no homes in 2019, but the baseline's pipeline opened homes in 2016-2019: refused on
    # load (exit 2, the file and the key named), before any folder is made
    bulletin = bulletin_without_care_homes(tmp_path)
    path = scenario_file(f"institutions:\n  stock:\n    bulletin_file: {bulletin}\n")
    code, run_dir = batch(path, tmp_path / "out")
    assert code == 2 and run_dir is None
    err = capsys.readouterr().err
    assert "Traceback" not in err and "baseline.yaml: institutions.pipeline.built: " in err
    assert "the public_private homes opened 2016-2019" in err and "institutions.stock" in err
    # the check itself, and the baseline passes it
    with pytest.raises(ParameterError):
        load_scenario(path)
    b = load_scenario(BASELINE).params
    check_pipeline(b.institutions, b.area_codes, b.years.base_year)
