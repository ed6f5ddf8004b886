"""The notebooks other than the scenario notebook (run by test_cli) execute without error."""

from __future__ import annotations

from pathlib import Path

import nbformat

from tests.conftest import ROOT, run_notebook

NOTEBOOKS = ROOT / "notebooks"


def execute(name: str, out: Path, **parameters) -> nbformat.NotebookNode:
    return run_notebook(name, out, **parameters)


def errors(nb: nbformat.NotebookNode) -> list:
    return [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]


def test_the_calibration_and_backtest_notebook_runs(tmp_path):
    nb = execute(
        "calibrate_backtest.ipynb",
        tmp_path / "cb.ipynb",
        fit_until=2014,
        horizon=2,
        check_scale=0.02,
        check_replicates=1,
    )
    assert not errors(nb)
    text = "".join(
        o.get("data", {}).get("text/plain", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    # the backtest table and the forecast models are shown
    assert "urban_dibao_std_avg" in text and "naive_trend" in text
    assert "ETS" in text or "ARIMA" in text


def test_notebooks_are_kept_without_outputs():
    for path in NOTEBOOKS.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        assert not [c for c in nb.cells if c.cell_type == "code" and c.outputs], path.name
