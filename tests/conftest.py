"""Shared test helpers: where the baseline scenario lives, and small scenario files."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PARAMS = ROOT / "params"
BASELINE = PARAMS / "baseline.yaml"
AREAS = ("dongqu", "xiqu", "renhe", "miyi", "yanbian")


@pytest.fixture(scope="session")
def baseline():
    """The validated baseline scenario."""
    from simlib.scenario import load_scenario

    return load_scenario(BASELINE)


@pytest.fixture
def scenario_file(tmp_path):
    """Write a scenario that extends the baseline (or ``parent``) with ``text``; its path."""

    def write(text: str, name: str = "scenario.yaml", parent: Path = BASELINE) -> Path:
        path = tmp_path / name
        path.write_text(f"extends: {parent}\n{text}", encoding="utf-8")
        return path

    return write


def run_notebook(name: str, out: Path, **parameters):
    """Execute ``notebooks/<name>`` with papermill into ``out``; the executed notebook."""
    import nbformat
    import papermill

    papermill.execute_notebook(
        str(ROOT / "notebooks" / name),
        str(out),
        parameters=parameters,
        kernel_name="python3",
        progress_bar=False,
        cwd=str(ROOT / "notebooks"),
    )
    return nbformat.read(out, as_version=4)


def notebook_outputs(nb) -> list:
    """Every output of the notebook's code cells."""
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
