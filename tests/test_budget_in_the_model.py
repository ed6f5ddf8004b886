"""The budget of a whole run: the ledger adds up, funders and real values, rules move the bill."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simlib.ledger import FUNDERS, PROGRAMMES
from simlib.runs import run_scenario
from simlib.scenario import load_scenario

SPENDING = [p.metric for p in PROGRAMMES.values()]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    path = tmp_path_factory.mktemp("budget") / "short.yaml"
    from tests.conftest import BASELINE

    path.write_text(f"extends: {BASELINE}\nyears: {{end_year: 2020}}\n", encoding="utf-8")
    return run_scenario(load_scenario(path), replicates=2, seed=4, scale=0.05)


def wide(table: pd.DataFrame) -> pd.DataFrame:
    keys = ["replicate", "year", "area", "stratum"]
    return table.pivot_table(index=keys, columns="metric", values="value", aggfunc="first")


def test_the_parts_add_up_to_the_total_in_every_row(run):
    w = wide(run.table)
    parts = w[SPENDING].sum(axis=1)
    assert np.allclose(parts, w["relief_spending_total"], rtol=1e-12, atol=1e-6)
    real = w[[m + "_real" for m in SPENDING]].sum(axis=1)
    assert np.allclose(real, w["relief_spending_total_real"], rtol=1e-12, atol=1e-6)
    assert (w["relief_spending_total"] > 0).all()


def test_the_results_are_views_of_the_ledger(run):
    ledger = run.ledger
    assert set(ledger.programme) == set(PROGRAMMES) and set(ledger.funder) == set(FUNDERS)
    cells = ["replicate", "year", "area", "stratum"]
    by_programme = ledger.groupby([*cells, "programme"]).amount.sum().unstack("programme")
    w = wide(run.table[run.table.area != "all"].query("stratum != 'all'"))
    for name, p in PROGRAMMES.items():
        assert np.allclose(by_programme[name].to_numpy(), w[p.metric].to_numpy(), rtol=1e-12)
    total = ledger.groupby(cells).amount.sum()
    assert np.allclose(total.to_numpy(), w["relief_spending_total"].to_numpy(), rtol=1e-12)


def test_funders_get_their_shares(run, baseline):
    ledger = run.ledger
    dibao = ledger[ledger.programme == "dibao"].groupby("funder").amount.sum()
    shares = baseline.params.funding["dibao"].at(2018)
    for share, funder in zip(shares, FUNDERS, strict=True):
        assert dibao[funder] == pytest.approx(share * dibao.sum(), rel=1e-9)


def test_real_values_are_nominal_over_the_cpi_level(run):
    ledger = run.ledger
    d = run.drivers
    for year in (2016, 2020):
        rows = ledger[ledger.year == year]
        level = d.price_level("cpi", year, 2015)
        assert rows.amount_real.sum() == pytest.approx(rows.amount.sum() / level, rel=1e-12)
    # 2016's level is one year of CPI inflation
    assert d.price_level("cpi", 2016, 2015) == pytest.approx(1 + d.value("cpi", 2016))


def test_relief_share_of_revenue_is_total_over_revenue(run):
    w = wide(run.table[(run.table.area == "all") & (run.table.stratum == "all")])
    share = w["relief_spending_total"] / w["budget_revenue"]
    assert np.allclose(w["relief_share_of_revenue"], share, rtol=1e-12)
    revenue = w.xs(2018, level="year")["budget_revenue"]
    assert revenue.to_numpy() == pytest.approx(run.drivers.value("budget_revenue", 2018))


def test_dibao_benefit_per_recipient_lies_within_what_the_standards_imply(run, baseline):
    """2018 and 2019, per stratum: the average benefit per recipient and month.

    The rules bound it: a member is paid at least the floor, 10% of the standard, and at
    most the whole standard (no income at all) plus every supplement a member can have
    (one age supplement 0.1, severely disabled 0.2, seriously ill 0.2): 1.5 times the
    standard.  Within those bounds the model should sit near what is observed: nationally
    in 2015 the average benefit was 316.6 / 451.1 = 0.70 of the urban standard and
    1766.5 / 3177.6 = 0.56 of the rural (national_social_assistance.csv, quoted); the
    December caseload includes entrants paid part of the year, so the model's ratio is
    lower; we require 0.2 to 0.9 of the standard.
    """
    s = run.summary
    city = s[s.area == "all"].set_index(["metric", "stratum", "year"])["mean"]
    for year in (2018, 2019):
        for stratum in ("urban", "rural"):
            benefit = city[("dibao_avg_benefit_month", stratum, year)]
            standard = city[("dibao_standard_mean_month", stratum, year)]
            assert 0.1 * standard <= benefit <= 1.5 * standard
            assert 0.2 < benefit / standard < 0.9, (year, stratum, benefit / standard)


def test_the_budget_workbook_and_ledger_are_written(run, tmp_path):
    written = {p.name for p in run.save(tmp_path / "run")}
    assert {"ledger.parquet", "budget.xlsx", "results.parquet"} <= written
    back = pd.read_parquet(tmp_path / "run" / "ledger.parquet")
    assert back.amount.sum() == pytest.approx(run.ledger.amount.sum())
    sheets = pd.ExcelFile(tmp_path / "run" / "budget.xlsx").sheet_names
    assert sheets == ["说明", "按项目", "按资金来源", "按地区", "合计"]
    run.save(tmp_path / "run_en", lang="en")
    sheets = pd.ExcelFile(tmp_path / "run_en" / "budget.xlsx").sheet_names
    assert sheets == ["README", "By programme", "By funder", "By area", "Totals"]


def test_higher_old_age_allowance_moves_only_its_line(scenario_file):
    base = load_scenario(scenario_file("years: {end_year: 2017}\n"))
    richer = load_scenario(
        scenario_file(
            "years: {end_year: 2017}\n"
            "programmes:\n  allowances:\n    old_age_allowance:\n      tiers:\n"
            "        - {min_age: 80, monthly_amount: {value: 100, unit: yuan/person/month, "
            "assumption: test}}\n"
            "        - {min_age: 90, monthly_amount: {value: 200, unit: yuan/person/month, "
            "assumption: test}}\n"
            "        - {min_age: 100, monthly_amount: {value: 600, unit: yuan/person/month, "
            "assumption: test}}\n",
            name="richer.yaml",
        )
    )
    a = run_scenario(base, replicates=1, seed=2, scale=0.02).table
    b = run_scenario(richer, replicates=1, seed=2, scale=0.02).table

    def city(t, metric):
        sel = t[(t.metric == metric) & (t.area == "all") & (t.stratum == "all")]
        return sel.value.to_numpy()

    # every tier doubled: the allowance's spending doubles, its caseload does not move
    assert city(b, "old_age_allowance_spending") == pytest.approx(
        2 * city(a, "old_age_allowance_spending")
    )
    assert city(b, "old_age_allowance_persons") == pytest.approx(
        city(a, "old_age_allowance_persons")
    )
    added = city(b, "old_age_allowance_spending") - city(a, "old_age_allowance_spending")
    assert city(b, "relief_spending_total") - city(a, "relief_spending_total") == pytest.approx(
        added
    )


def test_the_major_disease_push_raises_the_share_and_the_bill(scenario_file):
    from tests.conftest import PARAMS

    short = "years: {end_year: 2019}\n"
    base = load_scenario(scenario_file(short))
    push = load_scenario(scenario_file(short, "p.yaml", PARAMS / "major_disease_push.yaml"))
    a = run_scenario(base, replicates=2, seed=6, scale=0.05).summary
    b = run_scenario(push, replicates=2, seed=6, scale=0.05).summary

    def city(s, metric, year):
        sel = s[(s.metric == metric) & (s.area == "all") & (s.stratum == "all") & (s.year == year)]
        return float(sel["mean"].iloc[0])

    # 2016 precedes the lever: the same rules and the same seed, the same bill
    assert city(b, "medical_assist_spending", 2016) == pytest.approx(
        city(a, "medical_assist_spending", 2016), rel=0.02
    )
    for year in (2018, 2019):
        assert city(b, "medical_assist_major_share", year) > city(
            a, "medical_assist_major_share", year
        )
        assert city(b, "medical_assist_spending", year) > 1.05 * city(
            a, "medical_assist_spending", year
        )
