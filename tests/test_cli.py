"""The command line: options, run folders, and a run through the scenario notebook."""

from __future__ import annotations

import gc
import json
import os
import socket
import subprocess
import sys

import pandas as pd
import pytest

from simlib import cli
from simlib.cli import main
from simlib.notebooks import deferred_iri_grammar
from tests.conftest import BASELINE, ROOT

with deferred_iri_grammar():
    import nbformat

COMMAND_MODULES = [m for _, m in cli.COMMANDS.values() if m]
HEAVY = ["pandas", "numpy", "scipy", "matplotlib", "mesa", "pydantic", "dask", "simlib.model"]


def python(code: str) -> str:
    """What ``python -c code`` prints, run in a fresh interpreter from the repository."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return done.stdout


def imported_after(argv: list[str]) -> tuple[str, set[str]]:
    """``simlib ARGV`` in a fresh interpreter: what it printed, and the modules it imported."""
    code = (
        "import sys\n"
        "from simlib import cli\n"
        "try:\n"
        f"    cli.main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('MODULES', ' '.join(sorted(sys.modules)))\n"
    )
    out = python(code)
    text, _, modules = out.rpartition("MODULES ")
    return text, set(modules.split())


def test_help_lists_every_command_without_importing_them():
    text, modules = imported_after(["--help"])
    for name, (help_text, _) in cli.COMMANDS.items():
        assert name in text and help_text.split(":")[0][:30] in " ".join(text.split())
    assert len(COMMAND_MODULES) == 7
    assert not [m for m in COMMAND_MODULES + HEAVY if m in modules]


def test_a_command_imports_its_own_module_only():
    text, modules = imported_after(["calibrate", "--help"])
    assert "--targets" in text
    assert "simlib.calibration" in modules
    others = [m for m in COMMAND_MODULES if m != "simlib.calibration"]
    assert not [m for m in others if m in modules]


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_each_command_gets_the_same_arguments_built_alone_or_with_all(name):
    def command_help(parser):
        sub = next(a for a in parser._actions if a.dest == "command")
        return sub.choices[name].format_help()

    alone, full = command_help(cli.build_parser(name)), command_help(cli.build_parser())
    assert alone == full
    assert "options:" in alone and alone.count("\n") > 3  # more than a bare listing


def test_only_the_command_line_freezes_its_objects_before_the_process_ends(capsys):
    frozen = gc.get_freeze_count()
    assert main(["--help"]) == 0 and "calibrate" in capsys.readouterr().out
    assert gc.get_freeze_count() == frozen  # called in a process that goes on: left alone
    code = (
        "import gc, sys\n"
        "from simlib import cli\n"
        "sys.argv = ['simlib', '--help']\n"
        "status = cli.main()\n"
        "print('FROZEN', status, gc.get_freeze_count() > 0)\n"
    )
    assert python(code).split()[-3:] == ["FROZEN", "0", "True"]


def test_the_command_is_the_first_word_that_is_no_option():
    assert cli.chosen_command(["--help"]) is None
    assert cli.chosen_command(["-h", "batch", "a.yaml"]) == "batch"
    assert cli.chosen_command(["run", "--scale", "0.1", "x.yaml"]) == "run"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["run", str(BASELINE), "--scale", "2"], "must be between 0.001 and 1"),
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


def test_a_bad_scenario_file_stops_before_any_folder_or_kernel(tmp_path, capsys, monkeypatch):
    started = []
    monkeypatch.setattr("simlib.notebooks.start_kernel_if_possible", lambda *a: started.append(a))
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"extends: {BASELINE}\nyears: {{end_year: 1999}}\n")
    assert main(["run", str(bad), "--out", str(tmp_path / "out")]) == 2
    assert f"{bad}: years" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert started == []  # no notebook kernel was started for it


def test_default_run_ids_never_collide(tmp_path):
    first = cli.new_run_dir(tmp_path, None, "baseline")  # made at once: the name is taken
    second = cli.new_run_dir(tmp_path, None, "baseline")
    assert first.is_dir() and second.is_dir()
    assert second != first and second.name.startswith(first.name)


def a_run_folder(out, name: str, status: str, pid: int) -> None:
    folder = out / name
    folder.mkdir(parents=True)
    manifest = {"status": status, "host": socket.gethostname(), "pid": pid}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "results.parquet").write_text("old")


def test_force_replaces_a_finished_run_but_never_a_live_one_or_a_stranger(tmp_path, capsys):
    a_run_folder(tmp_path, "done", "ok", 1)
    a_run_folder(tmp_path, "live", "running", os.getpid())  # this process: alive
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("precious")
    # the finished run is replaced: its old table is gone, the folder made anew
    assert cli.new_run_dir(tmp_path, "done", "baseline", force=True) == tmp_path / "done"
    assert list((tmp_path / "done").iterdir()) == []
    for name, why in (("live", "still running"), ("mine", "not a run folder")):
        code = main(["run", str(BASELINE), "--out", str(tmp_path), "--run-id", name, "--force"])
        assert code == 2 and why in capsys.readouterr().err
    assert (tmp_path / "live" / "results.parquet").read_text() == "old"
    assert (tmp_path / "mine" / "keep.txt").read_text() == "precious"


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
