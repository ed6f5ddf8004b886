"""A run stopped or failing part-way: its folder says so, nothing looks complete that is not.

Issue 10, items 3 and 6: `simlib run` killed outright (SIGKILL) or interrupted (Ctrl-C,
SIGINT) leaves a folder marked not complete, with no results table; a notebook whose cell
raises or whose kernel dies is reported with the cell and the error, the partial notebook
kept, exit status non-zero.  (A batch killed mid-way and resumed: tests/test_batch.py.)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from simlib import cli, run_index
from tests.conftest import BASELINE, ROOT

SHELL_130 = (130, -signal.SIGINT)
"""Exit 130, or ended by the SIGINT itself: a shell shows both as 130.  (Rarely, under
pytest and never outside it, the process ended by SIGINT after saying it was interrupted
and marking the run failed; once a SIGINT sent just after "running" was lost and the run
ended ok.  The cause is not found; the runs below are long enough that the signal lands
while the model runs.)"""

TINY = ["--scale", "0.01", "--replicates", "1", "--seed", "7", "--quiet"]


def manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text())


def start_run(out: Path, *extra: str) -> subprocess.Popen:
    """`simlib run` of the baseline in its own process group (so a signal reaches all)."""
    args = [sys.executable, "-m", "simlib.cli", "run", str(BASELINE), *TINY, "--out", str(out)]
    return subprocess.Popen(
        [*args, "--replicates", "40", *extra],  # the model runs for seconds: killed in it
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for_status(out: Path, status: str, timeout: float = 120) -> Path:
    """The run folder once its manifest says ``status``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for m in out.glob("*/manifest.json"):
            if json.loads(m.read_text() or "{}").get("status") == status:
                return m.parent
        time.sleep(0.05)
    raise AssertionError(f"no run reached {status!r} in {timeout} s")


def test_a_run_killed_outright_is_left_marked_not_complete(tmp_path):
    out = tmp_path / "outputs"
    proc = start_run(out)
    run_dir = wait_for_status(out, "running")
    os.killpg(proc.pid, signal.SIGKILL)  # the run and any kernel it started
    proc.wait(timeout=30)
    # the manifest still says running; no table that could look complete was left
    assert manifest(run_dir)["status"] == "running"
    assert not (run_dir / "results.parquet").exists()
    # the index sees the process is gone: the run is "stopped", not running and not ok
    table = run_index.index(out)
    assert table.status.tolist() == ["stopped"]


def test_a_run_interrupted_with_ctrl_c_is_marked_failed_and_exits_130(tmp_path):
    out = tmp_path / "outputs"
    proc = start_run(out)
    run_dir = wait_for_status(out, "running")
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode in SHELL_130, err
    assert "Traceback" not in err and "interrupted" in err
    m = manifest(run_dir)
    assert m["status"] == "failed" and m["error"] == "interrupted"
    assert not (run_dir / "results.parquet").exists()


def test_a_second_ctrl_c_while_the_run_stops_still_exits_130(tmp_path):
    """Ctrl-C pressed twice: the second lands while the run stops its kernel and exits."""
    out = tmp_path / "outputs"
    proc = start_run(out)
    wait_for_status(out, "running")
    os.killpg(proc.pid, signal.SIGINT)
    run_dir = wait_for_status(out, "failed", timeout=60)
    with contextlib.suppress(ProcessLookupError):  # it may have ended already
        os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode in SHELL_130, err
    assert "Traceback" not in err
    assert manifest(run_dir)["error"] == "interrupted"


def failing_notebooks(folder: Path, source: str) -> Path:
    """A notebooks folder whose scenario notebook has a parameters cell, then ``source``."""
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('params_file = ""\nrun_dir = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell(source)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, folder / "scenario.ipynb")
    return folder


def run_with_notebook(tmp_path, monkeypatch, capsys, source: str) -> tuple[int, Path, str]:
    monkeypatch.setattr(cli, "NOTEBOOKS", failing_notebooks(tmp_path / "nb", source))
    out = tmp_path / "outputs"
    code = cli.main(["run", str(BASELINE), *TINY, "--out", str(out), "--run-id", "r"])
    return code, out / "r", capsys.readouterr().err


def test_a_notebook_cell_that_raises_is_reported_with_the_cell(tmp_path, monkeypatch, capsys):
    code, run_dir, err = run_with_notebook(
        tmp_path, monkeypatch, capsys, "raise RuntimeError('the figure failed')"
    )
    assert code == 1 and "Traceback" not in err
    m = manifest(run_dir)
    assert m["status"] == "failed"
    assert m["error"].startswith("notebook: ") and "the figure failed" in m["error"]
    assert "cell" in m["error"]
    # the tables were whole before the notebook ran, and the partial notebook is kept
    assert (run_dir / "results.parquet").exists()
    kept = nbformat.read(run_dir / "scenario.ipynb", as_version=4)
    assert any(c.get("outputs") for c in kept.cells if c.cell_type == "code")


def test_a_kernel_that_dies_is_reported_and_the_notebook_kept(tmp_path, monkeypatch, capsys):
    # the kernel process ends abruptly, as when the system kills it for memory
    code, run_dir, err = run_with_notebook(
        tmp_path, monkeypatch, capsys, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"
    )
    assert code == 1 and "Traceback" not in err
    m = manifest(run_dir)
    assert m["status"] == "failed" and m["error"].startswith("notebook: ")
    assert "died" in m["error"].lower() or "dead" in m["error"].lower()
    assert "cell" in m["error"]
    assert (run_dir / "scenario.ipynb").exists() and (run_dir / "results.parquet").exists()
