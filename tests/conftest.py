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
