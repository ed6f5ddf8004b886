"""simlib sweep: the sweep file, its errors, the points, the folder, workers, the notebook."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simlib import sweep_output
from simlib.errors import UserError
from simlib.sweep import load_sweep
from simlib.sweep_points import PointTask, apply_point, base_value, run_point, set_from_year
from tests.conftest import BASELINE, ROOT, notebook_outputs, run_notebook

TINY = f"""
sweep: {{name: tiny, title: a tiny sweep for the tests}}
scenario_file: {BASELINE}
run: {{replicates: 1, scale: 0.01, seed: 5, end_year: 2016}}
design:
  grid: {{levels: 2}}
parameters:
  ratio_urban:
    path: standards.consumption_ratio.ratio.urban
    bounds: value
    low: 0.25
    high: 0.40
    assumption: a test range
  take_up:
    path: [programmes.dibao.take_up.max_rate.urban, programmes.dibao.take_up.max_rate.rural]
    bounds: multiplier
    low: 0.8
    high: 1.2
    assumption: a test range
outputs:
  - {{metric: relief_spending_total, year: 2016}}
"""


def write(tmp_path: Path, text: str = TINY, name: str = "tiny.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def sweep_cli(argv: list[str]) -> int:
    """``simlib sweep ARGV`` through the command line, in this process."""
    from simlib import cli

    return cli.main(["sweep", *argv])


# --- the sweep file ----------------------------------------------------------------------


def test_a_sweep_file_loads_with_its_scenario_and_a_hash_of_what_it_asks(tmp_path):
    sweep = load_sweep(write(tmp_path))
    assert sweep.method == "grid"
    assert sweep.params.names == ["ratio_urban", "take_up"]
    assert sweep.params.parameters["take_up"].paths == (
        "programmes.dibao.take_up.max_rate.urban",
        "programmes.dibao.take_up.max_rate.rural",
    )
    assert sweep.scenario.params.years.end_year == 2016  # run.end_year applied
    assert sweep.folder_name == f"sweep-tiny-{sweep.hash}"
    assert load_sweep(write(tmp_path)).hash == sweep.hash  # the same request, the same folder
    assert load_sweep(write(tmp_path), seed=6).hash != sweep.hash
    assert load_sweep(write(tmp_path), scale=0.02).params.run.scale == 0.02


def test_the_shipped_sweeps_load():
    for path in sorted((ROOT / "params" / "sweeps").glob("*.yaml")):
        sweep = load_sweep(path)
        assert 4 <= len(sweep.params.parameters) <= 8, path.name
        assert [o.column for o in sweep.params.outputs] == [
            "relief_spending_total_2020",
            "relief_spending_total_2030",
        ]


BAD = {
    "an unknown key": (TINY + "colour: red\n", "colour", "unknown key"),
    "an unknown key in a parameter": (
        TINY.replace("bounds: value", "bounds: value\n    lo: 0.1"),
        "parameters.ratio_urban.lo",
        "unknown key",
    ),
    "low above high": (
        TINY.replace("low: 0.25", "low: 0.45"),
        "parameters.ratio_urban",
        "low (0.45) must be below high (0.4)",
    ),
    "an unknown parameter path": (
        TINY.replace("consumption_ratio.ratio.urban", "consumption_ratio.ratio.urbane"),
        "parameters.ratio_urban.path",
        "unknown parameter",
    ),
    "an unknown method": (
        TINY.replace("grid: {levels: 2}", "sobel: {base_samples: 8}"),
        "design.sobel",
        "unknown key",
    ),
    "a bound outside what the scenario allows": (
        TINY.replace("high: 0.40", "high: 1.5"),
        "parameters.ratio_urban.high",
        "makes the scenario invalid",
    ),
    "an unknown metric": (
        TINY.replace("metric: relief_spending_total", "metric: relief_budget"),
        "outputs.0.metric",
        "unknown metric",
    ),
    "a year the run does not reach": (
        TINY.replace("relief_spending_total, year: 2016", "relief_spending_total, year: 2030"),
        "outputs.0.year",
        "not a simulated year",
    ),
    "a Sobol' design of the wrong size": (
        TINY.replace("grid: {levels: 2}", "sobol: {base_samples: 12}"),
        "design.sobol.base_samples",
        "power of two",
    ),
    "a path varied twice": (
        TINY.replace(
            "max_rate.urban, programmes",
            "max_rate.urban, standards.consumption_ratio.ratio.urban, programmes",
        ),
        "parameters",
        "varied by two parameters: standards.consumption_ratio.ratio.urban",
    ),
    "too few points for a regression": (
        TINY.replace("grid: {levels: 2}", "latin_hypercube: {samples: 3}"),
        "design.latin_hypercube",
        "at least 4",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_sweep_file_exits_2_naming_the_file_and_the_key(tmp_path, capsys, case):
    text, key, message = BAD[case]
    path = write(tmp_path, text)
    assert sweep_cli([str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{path}: {key}" in err and message in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()  # nothing run, nothing written


# --- points ------------------------------------------------------------------------------


def test_a_points_values_are_set_in_its_scenario(baseline, tmp_path):
    sweep = load_sweep(write(tmp_path))
    point = apply_point(
        sweep.scenario, sweep.params.parameters, {"ratio_urban": 0.33, "take_up": 1.1}
    )
    p = point.params
    assert p.standards.consumption_ratio.ratio.urban.value == 0.33
    assert p.standards.consumption_ratio.ratio.rural.value == 0.35  # untouched
    # multiplier on both paths: 0.2235 × 1.1 = 0.24585, 0.2246 × 1.1 = 0.24706
    assert p.programmes.dibao.take_up.max_rate.urban.value == pytest.approx(0.24585)
    assert p.programmes.dibao.take_up.max_rate.rural.value == pytest.approx(0.24706)
    assert point.hash != sweep.scenario.hash
    assert apply_point(sweep.scenario, sweep.params.parameters, {}).hash == sweep.scenario.hash


def test_from_year_changes_only_the_values_in_force_from_that_year():
    # dated growth {2010: 0.090, 2023: 0.050, 2031: 0.040, 2041: 0.030} × 0.5 from 2023
    fact = {"values": {2010: 0.09, 2023: 0.05, 2031: 0.04, 2041: 0.03}, "unit": "rate"}
    set_from_year(fact, 0.5, True, 2023)
    assert fact["values"] == {2010: 0.09, 2023: 0.025, 2031: 0.02, 2041: 0.015}
    # from a year between two dates: the value in force then (0.05 in 2025) gets a date
    fact = {"values": {2010: 0.09, 2023: 0.05, 2031: 0.04}, "unit": "rate"}
    set_from_year(fact, 0.07, False, 2025)
    assert fact["values"] == {2010: 0.09, 2023: 0.05, 2025: 0.07, 2031: 0.07}
    # an undated value keeps its value before the year
    fact = {"value": 0.06, "unit": "rate", "assumption": "x"}
    set_from_year(fact, 2.0, True, 2024)
    assert fact == {"values": {1900: 0.06, 2024: 0.12}, "unit": "rate", "assumption": "x"}


def test_a_from_year_parameter_in_a_scenario(tmp_path):
    text = TINY.replace(
        "outputs:",
        """  income_growth:
    path: economy.drivers.dispinc_pc_urban.growth
    bounds: multiplier
    from_year: 2023
    low: 0.5
    high: 1.5
    assumption: a test range
outputs:""",
    )
    sweep = load_sweep(write(tmp_path, text))
    point = apply_point(sweep.scenario, sweep.params.parameters, {"income_growth": 0.5})
    growth = point.params.economy.drivers["dispinc_pc_urban"].growth
    assert growth.values == {2010: 0.09, 2023: 0.025, 2031: 0.02, 2041: 0.015}
    assert base_value(sweep.scenario, sweep.params.parameters["income_growth"]) == 1.0


def test_the_tornados_base_point_is_the_scenarios_own_values(tmp_path):
    text = TINY.replace(
        "outputs:",
        """  verification:
    path: programmes.dibao.assessment.verification_strength
    bounds: value
    low: 0.5
    high: 0.9
    assumption: a test range
outputs:""",
    )
    sweep = load_sweep(write(tmp_path, text))
    rows = sweep_output.point_rows(sweep, sweep_output.design_table(sweep))
    assert (rows.part == "design").sum() == 2**3
    tornado = rows[rows.part == "tornado"]
    assert len(tornado) == 2 * 3 + 1
    base = tornado.iloc[0]
    assert base.setting == "base" and base.ratio_urban == 0.30 and base.take_up == 1.0
    assert np.isnan(base.verification)  # dated values: no one number
    low = tornado[(tornado.varied == "take_up") & (tornado.setting == "low")].iloc[0]
    assert (low.take_up, low.ratio_urban) == (0.8, 0.30)
    tasks = sweep_output.tasks(sweep, rows)
    assert tasks[0].values == {"ratio_urban": 0.25, "take_up": 0.8, "verification": 0.5}
    assert tasks[8].values == {} and tasks[9].values == {"ratio_urban": 0.25}


def test_a_point_refuses_a_scenario_that_changed_during_the_sweep(tmp_path):
    sweep = load_sweep(write(tmp_path))
    task = sweep_output.tasks(
        sweep, sweep_output.point_rows(sweep, sweep_output.design_table(sweep))
    )[0]
    changed = PointTask(**{**task.__dict__, "scenario_hash": "0" * 16})
    with pytest.raises(UserError, match="changed during the sweep"):
        run_point(changed)


# --- the command, with a stand-in for the model -------------------------------------------


def linear_point(task: PointTask) -> dict[str, float]:
    """y = 3 (ratio_urban − 0.25) / 0.15 + (take_up − 0.8) / 0.4 in 亿元 (10^8 yuan); the
    scenario's own values where a point does not set them (0.30 and 1.0)."""
    v = {"ratio_urban": 0.30, "take_up": 1.0} | task.values
    y = 3 * (v["ratio_urban"] - 0.25) / 0.15 + (v["take_up"] - 0.8) / 0.4
    return {"relief_spending_total_2016": y * 1e8}


def test_the_sweep_folder_from_a_known_function(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sweep_output, "run_point", linear_point)
    out = tmp_path / "out"
    assert sweep_cli([str(write(tmp_path)), "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    folder = Path(printed[-1])
    assert folder.parent == out and folder.name.startswith("sweep-tiny-")
    assert "ratio_urban" in printed[1] and "take_up" in printed[2]  # ranked, largest first
    names = {p.name for p in folder.iterdir()}
    assert names == {*sweep_output.FILES, "manifest.json"}
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["kind"] == "sweep"
    assert (manifest["seed"], manifest["scale"], manifest["replicates"]) == (5, 0.01, 1)
    assert len(pd.read_csv(folder / "design.csv")) == 4
    points = pd.read_csv(folder / "points.csv")
    assert len(points) == 4 + 5 and (points.status == "ok").all()
    # on the 2 × 2 grid a and b are uncorrelated with equal variance: SRC² = 9/10 and 1/10
    indices = pd.read_csv(folder / "indices.csv").set_index("parameter")
    assert indices.loc["ratio_urban", "SRC2"] == pytest.approx(0.9)
    assert indices.loc["take_up", "SRC2"] == pytest.approx(0.1)
    # tornado: base 3 × 1/3 + 0.5 = 1.5; ratio_urban 0.5 .. 3.5 (swing 3), take_up 1 .. 2
    ranking = pd.read_csv(folder / "ranking.csv")
    assert ranking.parameter.tolist() == ["ratio_urban", "take_up"]
    assert ranking.tornado_low.tolist() == pytest.approx([0.5, 1.0])
    assert ranking.tornado_high.tolist() == pytest.approx([3.5, 2.0])
    assert ranking.tornado_swing.tolist() == pytest.approx([3.0, 1.0])
    assert ranking.unit.iloc[0] == "亿元/year"
    assert (folder / "tornado.png").stat().st_size > 10_000
    # the notebook reads a complete folder back: the same analysis from points.csv
    again = sweep_output.read_folder(load_sweep(write(tmp_path)), out)
    assert again.ranking.drop(columns="unit").equals(ranking.drop(columns="unit"))
    assert again.tornado["relief_spending_total_2016"].swing.tolist() == pytest.approx([3.0, 1.0])
    assert sweep_output.read_folder(load_sweep(write(tmp_path), seed=6), out) is None

    # the same request again: refused while complete, redone with --force
    assert sweep_cli([str(write(tmp_path)), "--out", str(out), "--quiet"]) == 2
    assert "already exists and is complete" in capsys.readouterr().err
    (folder / "stale.txt").write_text("kept: not a sweep file")
    assert sweep_cli([str(write(tmp_path)), "--out", str(out), "--quiet", "--force"]) == 0
    assert json.loads((folder / "manifest.json").read_text())["status"] == "ok"


def test_a_failed_point_is_reported_and_the_sweep_exits_1(tmp_path, capsys, monkeypatch):
    def failing(task: PointTask) -> dict[str, float]:
        if task.values.get("ratio_urban") == 0.4:
            raise RuntimeError("the model fell over")
        return linear_point(task)

    monkeypatch.setattr(sweep_output, "run_point", failing)
    out = tmp_path / "out"
    assert sweep_cli([str(write(tmp_path)), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "ratio_urban=0.4" in err and "RuntimeError: the model fell over" in err
    (folder,) = out.iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["error"] == "3 point(s) failed"
    assert len(manifest["failed_points"]) == 3  # 2 design points and the tornado's high one
    points = pd.read_csv(folder / "points.csv")
    assert (points.status == "failed").sum() == 3
    assert not (folder / "indices.csv").exists() and not (folder / "ranking.csv").exists()
    # an incomplete folder is redone without --force
    monkeypatch.setattr(sweep_output, "run_point", linear_point)
    assert sweep_cli([str(write(tmp_path)), "--out", str(out), "--quiet"]) == 0


# --- the model ---------------------------------------------------------------------------


def test_a_sweep_of_the_model_is_the_same_on_one_or_two_workers(tmp_path, capsys):
    out = tmp_path / "out"
    assert sweep_cli([str(write(tmp_path)), "--out", str(out), "--quiet"]) == 0
    folder = Path(capsys.readouterr().out.strip().splitlines()[-1])
    one = pd.read_csv(folder / "points.csv")
    two = sweep_output.execute(load_sweep(write(tmp_path)), None, workers=2, quiet=True)
    column = "relief_spending_total_2016"
    assert np.array_equal(one[column].to_numpy(), two.points[column].to_numpy())
    # a higher urban standard costs more, whatever the take-up (grid rows: ratio slowest)
    y = one[column].to_numpy()
    assert y[2] > y[0] and y[3] > y[1]
    # the tornado's base point is the scenario as it is: the same as its own run
    from simlib.runs import run_scenario

    alone = run_scenario(load_sweep(write(tmp_path)).scenario, 1, 5, 0.01).summary
    city = alone[(alone.area == "all") & (alone.stratum == "all") & (alone.year == 2016)]
    own = city.loc[city.metric == "relief_spending_total", "mean"].iloc[0]
    assert one.loc[one.setting == "base", column].iloc[0] == own


def test_the_sensitivity_notebook_runs(tmp_path):
    path = write(tmp_path)
    nb = run_notebook(
        "sensitivity.ipynb",
        tmp_path / "executed.ipynb",
        sweep_file=str(path),
        workers=1,
        output_dir=str(tmp_path / "o"),
    )
    outputs = notebook_outputs(nb)
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "SRC2" in text and "tornado_swing" in text
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 2  # tornado and scatter
    (folder,) = (tmp_path / "o").iterdir()
    assert json.loads((folder / "manifest.json").read_text())["status"] == "ok"
