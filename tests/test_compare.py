"""Comparing runs: totals from the ledgers, differences, the scenario diff, refusals, the report.

Two small runs are made once for the module (the baseline to 2020 at scale 0.02 with two
replicates, and a variant that lowers the catastrophic threshold of major-disease medical
assistance from 40% to 30% of income), with the same seed.  The report notebook is executed
once per language.
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from simlib import compare, compare_text, compare_workbook
from simlib.errors import UserError
from simlib.runs import run_scenario
from tests.conftest import BASELINE

CHANGED_KEY = "programmes.medical_assistance.major.catastrophic_share"
WHY = "test lever: the threshold lowered to 30% of income"


@pytest.fixture(scope="module")
def run_dirs(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("compare")
    short = folder / "short.yaml"
    short.write_text(
        f"extends: {BASELINE}\nscenario: {{name: short}}\nyears: {{end_year: 2020}}\n",
        encoding="utf-8",
    )
    push = folder / "push.yaml"
    push.write_text(
        "extends: short.yaml\n"
        "scenario: {name: push}\n"
        "programmes:\n  medical_assistance:\n    major:\n      catastrophic_share:\n"
        "        value: 0.3\n"
        "        unit: share of household yearly income (income_pc × members)\n"
        f"        assumption: '{WHY}'\n",
        encoding="utf-8",
    )
    dirs = []
    for scenario in (short, push):
        run = run_scenario(scenario, replicates=2, seed=7, scale=0.02)
        run.save(folder / f"{scenario.stem}_run")
        dirs.append(folder / f"{scenario.stem}_run")
    return dirs[0], dirs[1]


@pytest.fixture(scope="module")
def comparison(run_dirs) -> compare.Comparison:
    return compare.prepare(run_dirs)


def ledger_totals(run_dir: Path) -> pd.Series:
    """Mean across replicates of each year's total spending, straight from the ledger."""
    ledger = pd.read_parquet(run_dir / "ledger.parquet")
    return ledger.groupby(["replicate", "year"]).amount.sum().groupby("year").mean()


# --- totals and differences -----------------------------------------------------------


def test_totals_are_the_sums_of_the_runs_ledgers(run_dirs, comparison):
    totals = comparison.tables["totals"]
    for name, run_dir in zip(("short", "push"), run_dirs, strict=True):
        expected = ledger_totals(run_dir)
        mine = totals[totals.scenario == name]
        years = mine[mine.first_year == mine.last_year]
        assert list(years.first_year) == [2016, 2017, 2018, 2019, 2020]
        np.testing.assert_allclose(years["mean"], expected.loc[years.first_year], rtol=1e-12)
        # the plan period 2016-2020 is the whole run here: its total is the sum of the years
        period = mine[mine.period == "2016-2020"]
        assert len(period) == 1
        assert period["mean"].iloc[0] == pytest.approx(expected.sum(), rel=1e-12)
        # with two replicates the 5th percentile is 5% of the way from the lower to the higher
        ledger = pd.read_parquet(run_dir / "ledger.parquet")
        lo, hi = sorted(ledger[ledger.year == 2016].groupby("replicate").amount.sum())
        first = years.iloc[0]
        assert first.p05 == pytest.approx(lo + 0.05 * (hi - lo), rel=1e-12)
        assert first.p95 == pytest.approx(lo + 0.95 * (hi - lo), rel=1e-12)


def test_the_parts_add_up_to_the_total(comparison):
    totals = comparison.tables["totals"].set_index(["scenario", "period"])["mean"]
    for view in ("by_programme", "by_funder", "by_area"):
        parts = comparison.tables[view].groupby(["scenario", "period"])["mean"].sum()
        np.testing.assert_allclose(parts.loc[totals.index], totals, rtol=1e-12)


def test_the_difference_is_the_scenario_minus_the_baseline(run_dirs, comparison):
    base, other = (ledger_totals(d) for d in run_dirs)
    totals = comparison.tables["totals"]
    push = totals[(totals.scenario == "push") & (totals.first_year == totals.last_year)]
    np.testing.assert_allclose(push["diff"], (other - base).to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(push["diff_pct"], (100 * (other - base) / base).to_numpy())
    short = totals[totals.scenario == "short"]
    assert (short["diff"] == 0).all() and (short["diff_pct"] == 0).all()
    # the lever is medical assistance: its spending over 2016-2020 rises
    programmes = comparison.tables["by_programme"]
    medical = programmes[
        (programmes.scenario == "push")
        & (programmes.programme == "medical_assistance")
        & (programmes.period == "2016-2020")
    ]
    assert medical["diff"].iloc[0] > 0
    # the baseline chosen the other way round turns the sign of every difference
    flipped = compare.prepare(run_dirs, baseline=run_dirs[1])
    assert flipped.labels == ["push", "short"]
    back = flipped.tables["totals"]
    back = back[(back.scenario == "short") & (back.first_year == back.last_year)]
    np.testing.assert_allclose(back["diff"], -push["diff"].to_numpy(), rtol=1e-9)
    # a baseline folder that is not among the runs is compared too, first
    assert compare.prepare([run_dirs[1]], baseline=run_dirs[0]).labels == ["short", "push"]


def test_with_difference_worked_by_hand():
    table = pd.DataFrame(
        {
            "scenario": ["base", "base", "alt", "alt", "alt"],
            "year": [2016, 2017, 2016, 2017, 2018],
            "mean": [200.0, 0.0, 250.0, 30.0, 5.0],
        }
    )
    out = compare.with_difference(table, ["year"], "base")
    alt = out[out.scenario == "alt"].set_index("year")
    # 250 - 200 = 50, 50 / 200 = 25%; against 0 the % is missing; 2018 has no baseline row
    assert alt.loc[2016, "diff"] == 50.0 and alt.loc[2016, "diff_pct"] == 25.0
    assert alt.loc[2017, "diff"] == 30.0 and np.isnan(alt.loc[2017, "diff_pct"])
    assert np.isnan(alt.loc[2018, "diff"])
    money = compare.with_difference(table, ["year"], "base", absent_is_zero=True)
    assert money.set_index(["scenario", "year"]).loc[("alt", 2018), "diff"] == 5.0


def test_caseloads_beds_and_targets_per_scenario(comparison, run_dirs):
    caseloads = comparison.tables["caseloads"]
    summary = pd.read_parquet(run_dirs[1] / "summary.parquet")
    city = summary[(summary.area == "all") & (summary.stratum == "all")]
    expected = city[city.metric == "medical_assist_major_person_times"].set_index("year")["mean"]
    mine = caseloads[
        (caseloads.scenario == "push") & (caseloads.metric == "medical_assist_major_person_times")
    ].set_index("year")["mean"]
    pd.testing.assert_series_equal(mine, expected.loc[mine.index], check_names=False)
    assert set(comparison.tables["beds"].metric) == set(compare.BEDS)
    targets = comparison.tables["targets"]
    assert set(targets.scenario) == {"short", "push"}
    assert set(targets.status) <= {"met", "at risk", "not met"}
    view = compare_text.targets_view(comparison, "zh")
    assert set(view[("push", "达成情况")]) <= {"达成", "有风险", "未达成"}


# --- what changed ---------------------------------------------------------------------


def test_the_scenario_diff_lists_exactly_the_changed_key(comparison):
    diff = comparison.tables["diff"]
    assert list(diff.key) == [CHANGED_KEY]
    row = diff.iloc[0]
    assert (row.scenario, row.baseline, row.value, row.why) == ("push", "0.4", "0.3", WHY)


def test_scenario_diff_rules():
    base = {
        "scenario": {"name": "a", "title": {"en": "A"}},
        "rate": {"value": 0.1, "unit": "share", "source": "bulletin"},
        "cap": {"value": 5, "unit": "yuan", "assumption": "old reason"},
        "switch": {"enabled": True, "mode": "fixed", "note": "as written"},
        "gone": 1,
        "targets": [{"name": "t1", "threshold": {"value": 33}}, {"name": "t2"}],
    }
    other = copy.deepcopy(base)
    other["scenario"] = {"name": "b", "title": {"en": "B"}}  # identity: not a change
    other["rate"] |= {"unit": "proportion", "source": "another bulletin"}  # provenance only
    other["cap"] = {"values": {2015: 5, 2018: 6}, "unit": "yuan", "assumption": "new reason"}
    other["switch"]["mode"] = "indexed"
    other["switch"]["enabled"] = 1  # true is not 1
    del other["gone"]
    other["added"] = {"value": 2.5, "assumption": "why added"}
    other["targets"][0]["threshold"] = {"value": 35, "source": "plan"}
    diff = compare.scenario_diff(base, other).set_index("key")
    assert list(diff.index) == [
        "cap",
        "switch.enabled",
        "switch.mode",
        "gone",
        "targets[0].threshold",
        "added",
    ]
    assert tuple(diff.loc["cap"]) == ("5", "{2015: 5, 2018: 6}", "new reason")
    assert tuple(diff.loc["switch.mode"]) == ("fixed", "indexed", "as written")
    assert tuple(diff.loc["switch.enabled"])[:2] == ("true", "1")
    assert tuple(diff.loc["gone"])[:2] == ("1", compare.ABSENT)
    assert tuple(diff.loc["added"]) == (compare.ABSENT, "2.5", "why added")
    assert tuple(diff.loc["targets[0].threshold"]) == ("33", "35", "plan")
    assert compare.scenario_diff(base, copy.deepcopy(base)).empty


# --- refusals and flags -----------------------------------------------------------------


def test_runs_over_different_years_or_areas_are_refused(run_dirs):
    a, b = (compare.load_run(d) for d in run_dirs)
    longer = copy.deepcopy(b)
    longer.params["years"]["end_year"] = 2030
    with pytest.raises(UserError, match=r"different years: short .*2016-2020.*push .*2016-2030"):
        compare.check_compatible([a, longer])
    fewer = copy.deepcopy(b)
    del fewer.params["areas"]["yanbian"]
    with pytest.raises(UserError, match="different areas"):
        compare.check_compatible([a, fewer])
    with pytest.raises(UserError, match="at least two runs"):
        compare.check_compatible([a])
    with pytest.raises(UserError, match="given twice"):
        compare.prepare([run_dirs[0], run_dirs[0]])


def test_different_versions_seeds_scales_and_replicates_are_flagged(run_dirs, comparison):
    assert comparison.flags.empty
    a, b = (compare.load_run(d) for d in run_dirs)
    b.manifest = b.manifest | {"seed": 8, "scale": 0.1, "versions": {"simlib": "0.0.9"}}
    flags = compare.check_compatible([a, b]).set_index("setting")["values"]
    assert flags.to_dict() == {
        "simlib": "short: 0.1.0; push: 0.0.9",
        "seed": "short: 7; push: 8",
        "scale": "short: 0.02; push: 0.1",
    }
    c = compare.Comparison([a, b], ["short", "push"], compare.check_compatible([a, b]), {})
    lines = compare_text.flag_lines(c, "zh")
    assert len(lines) == 3 and lines[1].startswith("随机种子不同（short: 7; push: 8）")


def test_a_folder_that_is_not_a_complete_run_is_refused(run_dirs, tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        compare.load_run(tmp_path / "nowhere")
    broken = tmp_path / "broken"
    shutil.copytree(run_dirs[0], broken)
    (broken / "ledger.parquet").unlink()
    with pytest.raises(UserError, match=f"{broken} is not a complete run: it has no ledger"):
        compare.load_run(broken)
    failed = tmp_path / "failed"
    shutil.copytree(run_dirs[0], failed)
    manifest = json.loads((failed / "manifest.json").read_text())
    manifest |= {"status": "failed", "error": "ValueError: boom (cell 3)"}
    (failed / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(UserError, match="status 'failed': ValueError: boom"):
        compare.prepare([run_dirs[0], failed])
    with pytest.raises(UserError, match="--baseline elsewhere is not one of the runs"):
        compare.prepare(run_dirs, baseline="elsewhere")


# --- the workbook and the report ---------------------------------------------------------


def test_the_workbook_puts_what_changed_first_and_totals_in_wan(comparison, run_dirs, tmp_path):
    path = compare_workbook.write_comparison_xlsx(comparison, tmp_path / "c.xlsx", "en")
    wb = load_workbook(path)
    assert wb.sheetnames[:3] == ["What changed", "README", "Totals"]
    changed = [r for r in wb["What changed"].iter_rows(values_only=True) if r[0] == "push"]
    assert changed == [("push", CHANGED_KEY, "0.4", "0.3", WHY)]
    rows = {r[0]: r for r in wb["Totals"].iter_rows(min_row=5, values_only=True)}
    base, other = (ledger_totals(d) for d in run_dirs)
    # columns: period | short mean, p05, p95 | push mean, p05, p95, difference, difference %
    total = rows["2016-2020 total"]
    assert total[1] == pytest.approx(base.sum() / 1e4, rel=1e-6)
    assert total[4] == pytest.approx(other.sum() / 1e4, rel=1e-6)
    assert total[7] == pytest.approx((other.sum() - base.sum()) / 1e4, rel=1e-6)
    # the workbook keeps 6 decimals (compare_workbook: round(value, 6))
    assert total[8] == pytest.approx(100 * (other.sum() / base.sum() - 1), abs=5e-7)
    assert rows[2017][1] == pytest.approx(base.loc[2017] / 1e4, rel=1e-6)


def test_every_heading_exists_in_both_languages():
    assert TEXT_KEYS["en"] == TEXT_KEYS["zh"]
    for lang in ("en", "zh"):
        names = [compare_text.text(f"sheet_{n}", lang) for n in compare_workbook.SHEETS]
        assert len(set(names)) == len(names)
        assert all(0 < len(n) <= 31 and not n.startswith("sheet_") for n in names)


TEXT_KEYS = {lang: set(words) for lang, words in compare_text.TEXT.items()}


@pytest.fixture(scope="module")
def reports(run_dirs, tmp_path_factory) -> dict[str, Path]:
    """``simlib compare`` in each language (through ``compare.run``)."""
    out = {}
    for lang in ("zh", "en"):
        folder = tmp_path_factory.mktemp("report") / lang
        args = argparse.Namespace(
            run_dirs=[str(d) for d in run_dirs], baseline=None, lang=lang, out=str(folder)
        )
        assert compare.run(args) == 0
        out[lang] = folder
    return out


@pytest.mark.parametrize(
    ("lang", "heading", "other_language"),
    [("zh", "情景差异：改变了什么", "What changed"), ("en", "What changed", "情景差异")],
)
def test_compare_writes_the_report_in_both_languages(reports, lang, heading, other_language):
    folder = reports[lang]
    names = {p.name for p in folder.iterdir()}
    assert {"comparison.xlsx", "comparison.ipynb", "comparison.html"} <= names
    assert {"total_spending.png", "difference_from_baseline.png", "caseloads.png"} <= names
    assert not [n for n in names if n.startswith(".")]  # no temporary file left behind
    html = (folder / "comparison.html").read_text(encoding="utf-8")
    assert heading in html and other_language not in html
    assert "import matplotlib" not in html  # the code is hidden
    assert CHANGED_KEY in html
    assert load_workbook(folder / "comparison.xlsx").sheetnames[0] == heading.split("：")[0]


def test_compare_refuses_a_folder_with_files_and_a_bad_language(reports, run_dirs):
    args = argparse.Namespace(
        run_dirs=[str(d) for d in run_dirs], baseline=None, lang="zh", out=str(reports["zh"])
    )
    with pytest.raises(UserError, match="is not empty"):
        compare.run(args)
    with pytest.raises(UserError, match="--lang must be zh or en"):
        compare.run(argparse.Namespace(**(vars(args) | {"lang": "fr"})))
