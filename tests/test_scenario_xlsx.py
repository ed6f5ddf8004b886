"""Scenarios from a spreadsheet: the template lists every parameter, a filled one round-trips,
and every bad cell is named by sheet, row and key."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook

from simlib.errors import UserError
from simlib.parameters import load_tree
from simlib.scenario import load_scenario
from simlib.scenario_xlsx import (
    COLUMNS,
    META_SHEET,
    README_SHEET,
    SpreadsheetError,
    add_arguments,
    changeable,
    parse_new_value,
    scenario_from_xlsx,
    write_template,
)
from tests.conftest import BASELINE

NEW = COLUMNS.index("new_value") + 1
REASON = COLUMNS.index("reason") + 1


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The template of the baseline, written once."""
    return write_template(BASELINE, tmp_path_factory.mktemp("template") / "baseline.xlsx")


def rows_by_key(path: Path) -> dict[str, tuple[str, int, tuple]]:
    """key -> (sheet, row, the row's values) over the block sheets of a workbook."""
    wb = load_workbook(path, read_only=True)
    found = {}
    for ws in wb.worksheets:
        if ws.title in (README_SHEET, META_SHEET):
            continue
        for r, values in enumerate(ws.iter_rows(min_row=2, values_only=True), start=2):
            assert values[0] not in found, f"{values[0]} listed twice"
            found[values[0]] = (ws.title, r, values)
    wb.close()
    return found


@pytest.fixture(scope="module")
def listed(template) -> dict[str, tuple[str, int, tuple]]:
    return rows_by_key(template)


def fill(template: Path, out: Path, cells: dict[str, object], where=None, **extra) -> Path:
    """A copy of ``template`` with new values (a value, or (value, reason)) in the given rows.

    ``where`` maps keys to (sheet, row, ...) (read from ``template`` if not given); ``extra``
    writes other cells: name=(sheet, row, column, value).
    """
    wb = load_workbook(template)
    where = where or rows_by_key(template)
    for key, value in cells.items():
        sheet, row = where[key][:2]
        new, reason = value if isinstance(value, tuple) else (value, None)
        wb[sheet].cell(row, NEW).value = new
        wb[sheet].cell(row, REASON).value = reason
    for sheet, row, column, value in extra.values():
        wb[sheet].cell(row, column).value = value
    wb.save(out)
    return out


def fact_paths(node, path=()) -> list[str]:
    """Every fact (a mapping with `unit` and `value` or `values`) of a tree, walked here anew."""
    if isinstance(node, dict):
        if "unit" in node and ("value" in node or "values" in node):
            return [".".join(path)]
        return [p for k, v in node.items() for p in fact_paths(v, (*path, str(k)))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in fact_paths(v, (*path, str(i)))]
    return []


def differences(a, b, path=()) -> set[tuple[str, ...]]:
    """The leaf paths at which two trees differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = set()
        for k in a.keys() | b.keys():
            out |= differences(a.get(k), b.get(k), (*path, str(k)))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return {
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, (*path, str(i)))
        }
    return set() if a == b else {path}


# --- the template ---------------------------------------------------------------------------


def test_template_lists_every_fact_exactly_once(listed, baseline):
    data = baseline.tree.data
    facts = [p for p in fact_paths(data) if not p.startswith(("scenario.", "areas."))]
    # rows_by_key (the `listed` fixture) asserts that no key is listed twice
    fact_rows = {k for k, (_, _, v) in listed.items() if "switch" not in v[COLUMNS.index("kind")]}
    assert sorted(fact_rows) == sorted(facts)
    assert len(facts) == len(set(facts)) > 250
    # Numbers and dated numbers can be changed; tables (lists, mappings) are read-only.
    kind = {k: v[COLUMNS.index("kind")] for k, (_, _, v) in listed.items()}
    assert kind["programmes.dibao.take_up.max_rate.urban"] == "数值 number"
    assert kind["programmes.dibao.assessment.verification_strength"] == "分年数值 dated"
    assert kind["population.under_60_profile"] == "表格(只读) table (read-only)"
    assert kind["institutions.pipeline.planned"] == "表格(只读) table (read-only)"
    for key in facts:
        node = data
        for part in key.split("."):
            node = node[int(part)] if isinstance(node, list) else node[part]
        number = isinstance(node.get("value"), int | float)
        dated = isinstance(node.get("values"), dict) and all(
            isinstance(v, int | float) for v in node["values"].values()
        )
        assert ("read-only" in kind[key]) == (not number and not dated), key


def test_template_rows_show_what_the_file_says(listed):
    sheet, row, values = listed["programmes.dibao.take_up.max_rate.urban"]
    col = {c: values[i] for i, c in enumerate(COLUMNS)}
    assert (sheet, row) == ("dibao 低保", 2)  # the first parameter of the dibao block
    assert col["current"] == 0.2235
    assert col["unit"] == "yearly probability of applying, far below the line"
    assert col["allowed"] == "0 – 1"  # facts.Share
    assert col["source"].startswith("assumption: Calibrated, not observed")
    assert col["new_value"] is None and col["reason"] is None

    def column(key: str, name: str):
        return listed[key][2][COLUMNS.index(name)]

    dated = "programmes.dibao.assessment.verification_strength"
    assert column(dated, "current") == "2015: 0.5; 2017: 0.7; 2020: 0.8"
    # a Literal's choices
    assert column("standards.method", "allowed") == "consumption_ratio / engel / basket"
    assert column("standards.method", "current") == "consumption_ratio"
    assert column("standards.fiscal_cap.enabled", "current") == "true"
    # a plan target is labelled by its name, a funder by the glossary or the word table
    assert "beds per 1,000 elderly in 2017" in listed["plan_targets.0.threshold"][2][2]
    # text fields and file names are not parameters a finance officer changes
    assert "population.census_file" not in listed
    assert "economy.drivers.cpi.method" not in listed  # decides the driver's other keys


def test_template_sheets_and_metadata(template, baseline):
    wb = load_workbook(template)
    assert wb.sheetnames[0] == README_SHEET
    assert wb[META_SHEET].sheet_state == "hidden"
    assert "dibao 低保" in wb.sheetnames and "funding 资金来源" in wb.sheetnames
    assert all(len(name) <= 31 for name in wb.sheetnames)
    assert wb["dibao 低保"].freeze_panes == "B2"
    meta = {a: b for a, b, *_ in wb[META_SHEET].iter_rows(values_only=True)}
    assert Path(meta["params_file"]) == BASELINE.resolve()
    assert (template.parent / meta["params_file_relative"]).resolve() == BASELINE.resolve()
    assert meta["parameter_hash"] == baseline.hash


def test_columns_are_found_by_the_headings_written_even_if_the_glossary_changes(
    template, listed, tmp_path, monkeypatch
):
    import simlib.scenario_xlsx as sx

    book = fill(template, tmp_path / "f.xlsx", {"programmes.dibao.take_up.outreach": 1.1}, listed)
    monkeypatch.setattr(sx, "heading", lambda column, lang: f"renamed {column}")
    monkeypatch.setattr(sx, "HEADINGS", {c: ("?", "?") for c in COLUMNS})
    (cell,) = sx.read_workbook(book).cells  # the headings kept in the _meta sheet
    assert (cell.key, cell.new) == ("programmes.dibao.take_up.outreach", 1.1)


def test_template_refuses_to_overwrite(template, tmp_path):
    out = tmp_path / "t.xlsx"
    out.write_text("keep me")
    with pytest.raises(UserError, match="already exists"):
        write_template(BASELINE, out)
    assert out.read_text() == "keep me"
    with pytest.raises(UserError, match=r"must end in \.xlsx"):
        write_template(BASELINE, tmp_path / "t.csv")


# --- round trip -------------------------------------------------------------------------------


def test_filled_template_round_trips_to_exactly_the_filled_changes(
    template, listed, baseline, tmp_path
):
    filled = {
        "programmes.dibao.take_up.max_rate.urban": (0.3, "应保尽保 outreach campaign"),
        "standards.consumption_ratio.ratio.rural": "2017: 0.36; 2020：40%",  # full-width colon
        # a pair that still sums to one: 0.6 + 0.2 + 0.08 + 0.12 = 1.00
        "funding.dibao.central": 0.6,
        "funding.dibao.provincial": "20%",
        "programmes.allowances.old_age_allowance.tiers.0.monthly_amount": 80,  # inside a list
        "standards.fiscal_cap.enabled": ("false", "no ceiling in this scenario"),
    }
    book = fill(
        template,
        tmp_path / "filled.xlsx",
        filled,
        listed,
        name=(README_SHEET, 3, 3, "outreach_push"),  # the README's cells for name and title
        zh=(README_SHEET, 4, 3, "加大宣传"),
    )
    out = tmp_path / "params" / "from_sheet.yaml"
    out.parent.mkdir()
    written = scenario_from_xlsx(book, out)
    assert written.path == out and len(written.changes) == len(filled) and not written.notes

    new, base = load_scenario(out), baseline
    assert new.tree.chain == [BASELINE.resolve(), out.resolve()]
    assert new.name == "outreach_push"
    assert new.params.scenario.title.zh == "加大宣传"
    assert new.params.scenario.title.en == "outreach_push: from filled.xlsx"
    changed = differences(
        {k: v for k, v in new.tree.data.items() if k != "scenario"},
        {k: v for k, v in base.tree.data.items() if k != "scenario"},
    )
    # Every difference lies in a filled parameter, and every filled parameter differs.
    filled_paths = [tuple(k.split(".")) for k in filled]
    assert all(any(d[: len(f)] == f for f in filled_paths) for d in changed), changed
    assert all(any(d[: len(f)] == f for d in changed) for f in filled_paths)

    p = new.params
    assert p.programmes.dibao.take_up.max_rate.urban.value == 0.3
    rural = p.standards.consumption_ratio.ratio.rural
    old = base.params.standards.consumption_ratio.ratio.rural
    # the years before the first new one keep their current value (written at the base year)
    assert rural.values == {2015: old.at(2015), 2017: 0.36, 2020: 0.4}
    assert rural.at(2016) == old.at(2016) and rural.at(2018) == 0.36
    assert p.funding["dibao"].at(2020).tolist() == [0.6, 0.2, 0.08, 0.12]
    tiers = p.programmes.allowances.old_age_allowance.tiers
    assert [t.monthly_amount.value for t in tiers] == [80, 100, 300]  # the other tiers kept
    assert p.standards.fiscal_cap.enabled is False
    # Provenance: the reason, where it was written and what it replaced; no stale source.
    urban = p.programmes.dibao.take_up.max_rate.urban
    assert urban.assumption == (
        "应保尽保 outreach campaign (spreadsheet filled.xlsx, sheet dibao 低保, row 2; was 0.2235)"
    )
    rural_ratio = p.standards.consumption_ratio.ratio.rural
    assert rural_ratio.source is None
    assert rural_ratio.assumption.startswith("set by spreadsheet filled.xlsx (sheet standards")
    assert rural_ratio.unit == "share of previous-year rural per-capita consumption expenditure"
    assert "standards.fiscal_cap.enabled = false (no ceiling in this scenario)" in (
        p.scenario.description
    )
    extends = yaml.safe_load(out.read_text(encoding="utf-8"))["extends"]
    assert not Path(extends).is_absolute()  # relative to the new file, which may move with it
    assert (out.parent / extends).resolve() == BASELINE.resolve()


# --- bad cells --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bad(template, listed, tmp_path_factory):
    """A workbook with every kind of bad cell; the error raised, and where each row is."""
    folder = tmp_path_factory.mktemp("bad")
    where = {k: (s, r) for k, (s, r, _) in listed.items()}
    sheet, row = where["programmes.dibao.take_up.gap_scale"]
    twice = where["programmes.dibao.take_up.near_line_rate"]
    book = fill(
        template,
        folder / "bad.xlsx",
        {
            "programmes.dibao.take_up.max_rate.urban": "0.3O",  # a letter O for a zero
            "programmes.dibao.take_up.max_rate.rural": 1.5,  # a probability above 1
            "funding.dibao.central": 0.7,  # shares now sum to 0.7+0.15+0.08+0.12 = 1.05
            "population.under_60_profile": 3,  # a read-only table
            "standards.method": "magic",  # not a choice
            "programmes.dibao.take_up.gap_scale": 0.5,
            "programmes.dibao.take_up.outreach": 1.1,
            "programmes.dibao.take_up.near_line_rate": 0.1,
        },
        listed,
        key=(sheet, row, 1, "programmes.dibao.take_up.gap_scal"),  # the key was edited
        twice=(*twice, 1, "programmes.dibao.take_up.outreach"),  # a key given twice
    )
    with pytest.raises(SpreadsheetError) as e:
        scenario_from_xlsx(book, folder / "bad.yaml")
    assert not (folder / "bad.yaml").exists()
    assert [p.name for p in folder.iterdir()] == ["bad.xlsx"]  # no check file left behind
    return e.value, where


def problem_at(error: SpreadsheetError, key: str):
    found = [c for c in error.cells if c.key == key]
    assert len(found) == 1, (key, error.cells)
    return found[0]


def test_text_in_a_number_names_sheet_row_and_key(bad):
    error, where = bad
    cell = problem_at(error, "programmes.dibao.take_up.max_rate.urban")
    assert (cell.sheet, cell.row) == where[cell.key]
    assert cell.message == "not a number: '0.3O'"


def test_a_probability_above_one_names_sheet_row_and_key(bad):
    error, where = bad
    cell = problem_at(error, "programmes.dibao.take_up.max_rate.rural")
    assert (cell.sheet, cell.row) == where[cell.key] == ("dibao 低保", 3)
    assert cell.message == "Input should be less than or equal to 1 (got 1.5)"


def test_an_unknown_key_names_sheet_row_and_key(bad):
    error, where = bad
    cell = problem_at(error, "programmes.dibao.take_up.gap_scal")
    assert (cell.sheet, cell.row) == where["programmes.dibao.take_up.gap_scale"]
    assert cell.message.startswith("unknown key")


def test_funding_shares_that_no_longer_sum_to_one_name_the_changed_cell(bad):
    error, where = bad
    cell = problem_at(error, "funding.dibao.central")
    assert (cell.sheet, cell.row) == where[cell.key] == ("funding 资金来源", 2)
    assert cell.message == "the funding shares sum to 1.05; they must sum to 1"


def test_read_only_rows_and_bad_choices_are_refused(bad):
    error, _ = bad
    assert "cannot be changed in the spreadsheet" in (
        problem_at(error, "population.under_60_profile").message
    )
    assert problem_at(error, "standards.method").message == (
        "choose one of consumption_ratio, engel, basket; not 'magic'"
    )


def test_a_key_given_twice_names_both_rows(bad):
    error, where = bad
    sheet, row = where["programmes.dibao.take_up.outreach"]
    cell = problem_at(error, "programmes.dibao.take_up.outreach")
    assert (cell.sheet, cell.row) == where["programmes.dibao.take_up.near_line_rate"]
    assert cell.message == f"given twice (also sheet {sheet}, row {row})"


def test_every_bad_cell_is_reported_at_once_one_line_each(bad):
    error, _ = bad
    assert len(error.cells) == 7
    lines = str(error).splitlines()
    assert len(lines) == 7
    assert "bad.xlsx: sheet dibao 低保, row 3, key programmes.dibao.take_up.max_rate.rural: " in (
        str(error)
    )
    # sorted by sheet order, then row
    assert lines[0].startswith("bad.xlsx: sheet population 人口")
    assert [c.row for c in error.cells if c.sheet == "dibao 低保"] == sorted(
        c.row for c in error.cells if c.sheet == "dibao 低保"
    )


# --- cells ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell, value",
    [
        (0.3, 0.3),
        (7.0, 7),  # a whole number read back as a float by Excel
        ("0.35", 0.35),
        ("30%", 0.3),
        ("３．５％", 0.035),  # full-width digits, point and percent
        ("1,800", 1800),
        ("2017: 0.3; 2020: 0.35", {2017: 0.3, 2020: 0.35}),
        ("2020：600；2016：50", {2016: 50, 2020: 600}),  # full-width, any order
        ("2017: 0.3\n2020: 0.35", {2017: 0.3, 2020: 0.35}),
    ],
)
def test_new_values_parse(cell, value):
    assert parse_new_value(cell) == value


@pytest.mark.parametrize(
    "cell, message",
    [
        ("abc", "not a number: 'abc'"),
        ("0,3", "not a number: '0,3'"),  # a decimal comma
        (True, "a number is needed, not true"),
        ("2017: 0.3; 2017: 0.4", "the year 2017 is given twice"),
        ("17: 0.3", "write dated values as"),
        ("2017: x", "not a number: 'x'"),
        (dt.datetime(2017, 1, 1), "Excel read this cell as a date"),
        ("nan", "not a finite number"),
    ],
)
def test_bad_new_values_say_why(cell, message):
    with pytest.raises(ValueError, match=message):
        parse_new_value(cell)


def test_switches_take_their_choices_or_true_false():
    from simlib.scenario import Scenario
    from simlib.scenario_xlsx import parse_switch

    rows = {r.key: r for r in changeable(load_tree(BASELINE).data)}
    enabled = rows["standards.fiscal_cap.enabled"]
    assert [parse_switch(v, enabled, Scenario) for v in ("false", "TRUE", "否", False)] == [
        False,
        True,
        False,
        False,
    ]
    assert parse_switch("Engel", rows["standards.method"], Scenario) == "engel"
    assert parse_switch("none", rows["standards.convergence.integration_year"], Scenario) is None
    assert parse_switch(2025.0, rows["standards.convergence.integration_year"], Scenario) == 2025
    with pytest.raises(ValueError, match="a whole number is needed"):
        parse_switch(8.5, rows["programmes.dibao.burn_in_years"], Scenario)


# --- files and the command line ---------------------------------------------------------------


def test_from_xlsx_refuses_nothing_filled_an_existing_output_and_a_non_workbook(
    template, listed, tmp_path
):
    with pytest.raises(UserError, match="no new value is filled in"):
        scenario_from_xlsx(template, tmp_path / "empty.yaml")
    book = fill(template, tmp_path / "one.xlsx", {"programmes.dibao.take_up.outreach": 1.1}, listed)
    (tmp_path / "exists.yaml").write_text("keep")
    with pytest.raises(UserError, match="already exists"):
        scenario_from_xlsx(book, tmp_path / "exists.yaml")
    assert (tmp_path / "exists.yaml").read_text() == "keep"
    (tmp_path / "not.xlsx").write_text("not a workbook")
    with pytest.raises(UserError, match="not an Excel workbook"):
        scenario_from_xlsx(tmp_path / "not.xlsx", tmp_path / "x.yaml")


def test_a_changed_original_is_noted_and_a_moved_template_still_finds_it(tmp_path, scenario_file):
    parent = scenario_file("programmes:\n  dibao:\n    burn_in_years: 6\n", name="mine.yaml")
    sub = tmp_path / "sheets"
    sub.mkdir()
    book = write_template(parent, sub / "mine.xlsx")  # a template of a scenario that extends
    rows = rows_by_key(book)
    assert rows["programmes.dibao.burn_in_years"][2][COLUMNS.index("current")] == "6"
    # As if moved with its folder: the absolute path is gone, the relative one still holds.
    meta = load_workbook(book, read_only=True)[META_SHEET].iter_rows(values_only=True)
    meta_row = next(r for r, (a, *_) in enumerate(meta, start=1) if a == "params_file")
    filled = fill(
        book,
        sub / "mine.xlsx",
        {"programmes.dibao.take_up.outreach": 1.1},
        rows,
        moved=(META_SHEET, meta_row, 2, str(tmp_path / "elsewhere" / "mine.yaml")),
    )
    parent.write_text(parent.read_text() + "years: {base_year: 2015, end_year: 2025}\n")
    written = scenario_from_xlsx(filled, tmp_path / "new.yaml")
    assert "mine.yaml has changed since the template was written" in written.notes[0]
    new = load_scenario(tmp_path / "new.yaml")
    assert new.tree.chain[1] == parent.resolve()
    assert new.params.years.end_year == 2025  # the original as it is now
    assert new.params.programmes.dibao.burn_in_years == 6
    assert new.params.programmes.dibao.take_up.outreach.value == 1.1


def test_command_line(template, tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="simlib")
    add_arguments(parser.add_subparsers(dest="command", required=True))
    out = tmp_path / "t.xlsx"
    args = parser.parse_args(["scenario", "template", str(BASELINE), "--out", str(out)])
    assert args.func(args) == 0 and out.is_file()
    assert capsys.readouterr().out.strip() == str(out)
    fill(out, out, {"programmes.tekun.basic_ratio": 1.5})
    target = tmp_path / "s.yaml"
    target.write_text("an older file")
    args = parser.parse_args(
        ["scenario", "from-xlsx", str(out), "--out", str(target), "--name", "tk", "--force"]
    )
    assert args.func(args) == 0
    assert capsys.readouterr().out.strip() == str(target)
    loaded = load_scenario(target)
    assert loaded.name == "tk"
    assert loaded.params.programmes.tekun.basic_ratio.value == 1.5
    with pytest.raises(SystemExit):
        parser.parse_args(["scenario"])  # a sub-command is required
