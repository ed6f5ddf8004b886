"""The command line: options, run folders, and a run through the scenario notebook."""

from __future__ import annotations

import json

import nbformat
import pandas as pd
import pytest

from simlib import cli
from simlib.cli import main
from tests.conftest import BASELINE


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["run", str(BASELINE), "--scale", "2"], "must be in (0, 1]"),
        (["run", str(BASELINE), "--scale", "lots"], "not a number"),
        (["run", str(BASELINE), "--replicates", "0"], "must be at least 1"),
        (["run", str(BASELINE), "--seed", "-3"], "must not be negative"),
        (["run", str(BASELINE), "--colour", "red"], "unrecognized arguments"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_options_exit_2(capsys, args, words):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


@pytest.mark.parametrize("run_id", ["../escape", "a/b", "..", "", "x" * 101, ".hidden"])
def test_bad_run_ids_exit_2(tmp_path, capsys, run_id):
    assert main(["run", str(BASELINE), "--out", str(tmp_path), "--run-id", run_id]) == 2
    assert "invalid run id" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_an_existing_run_folder_is_not_overwritten(tmp_path, capsys):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("precious")
    assert main(["run", str(BASELINE), "--out", str(tmp_path), "--run-id", "mine"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (tmp_path / "mine" / "keep.txt").read_text() == "precious"


def test_a_bad_scenario_file_stops_before_any_folder(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"extends: {BASELINE}\nyears: {{end_year: 1999}}\n")
    assert main(["run", str(bad), "--out", str(tmp_path / "out")]) == 2
    assert f"{bad}: years" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_default_run_ids_never_collide(tmp_path):
    first = cli.new_run_dir(tmp_path, None, "baseline")
    first.mkdir()
    second = cli.new_run_dir(tmp_path, None, "baseline")
    assert second != first and second.name.startswith(first.name)


def test_a_run_writes_its_folder(tmp_path, capsys):
    code = main(
        [
            "run",
            str(BASELINE),
            "--replicates",
            "2",
            "--scale",
            "0.01",
            "--seed",
            "3",
            "--out",
            str(tmp_path),
            "--run-id",
            "tiny",
        ]
    )
    assert code == 0, capsys.readouterr().err
    run = tmp_path / "tiny"
    names = {p.name for p in run.iterdir()}
    assert {
        "manifest.json",
        "params.resolved.yaml",
        "results.parquet",
        "summary.parquet",
        "summary.csv",
        "scenario.ipynb",
        "scenario.html",
        "dibao_persons.png",
        "dibao_standard.png",
        "beds_by_area.png",
        "budget_by_programme.png",
        "relief_share_of_revenue.png",
        "targets.csv",
        "ledger.parquet",
        "budget.xlsx",
    } <= names
    assert not [n for n in names if n.startswith(".") or ".tmp" in n]
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["end"]
    assert (manifest["seed"], manifest["replicates"], manifest["scale"]) == (3, 2, 0.01)
    assert len(manifest["parameter_hash"]) == 16 and manifest["versions"]["mesa"].startswith("3.5")
    results = pd.read_parquet(run / "results.parquet")
    assert sorted(results.replicate.unique()) == [0, 1]
    targets = pd.read_csv(run / "targets.csv")
    assert {"target", "year", "value", "p05", "p95", "threshold", "status"} <= set(targets.columns)
    # beds 2017 and 2020, destitute placed 2020, two lines 2016-2020 (5 rows), major share 2020,
    # and in 2020 social workers (2), care workers certified, coverage (3), relief reserve
    assert len(targets) == 9 + 7
    assert results.year.min() == 2016 and results.year.max() == 2030
    summary = pd.read_csv(run / "summary.csv")
    assert len(summary) == len(results) // 2
    nb = nbformat.read(run / "scenario.ipynb", as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
    assert not [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]


def test_a_failing_run_keeps_its_notebook_and_says_why(tmp_path, monkeypatch, capsys):
    broken = tmp_path / "notebooks"
    broken.mkdir()
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("params_file = None")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("raise RuntimeError('the model broke')")]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, broken / "scenario.ipynb")
    monkeypatch.setattr(cli, "NOTEBOOKS", broken)
    code = main(
        [
            "run", str(BASELINE), "--out", str(tmp_path / "out"), "--run-id", "broken",
            "--scale", "0.01", "--replicates", "1",
        ]
    )  # fmt: skip
    assert code == 1
    assert "the model broke" in capsys.readouterr().err
    run = tmp_path / "out" / "broken"
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "RuntimeError: the model broke" in manifest["error"]
    assert (run / "scenario.ipynb").exists()
    # the model ran before the notebook: its tables are whole, but the run is not complete
    assert manifest["error"].startswith("notebook: ")
    assert "results.parquet" in manifest["files"] and not (run / "scenario.html").exists()
    assert not [p for p in run.iterdir() if ".tmp" in p.name]
