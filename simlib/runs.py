"""Runs: replicates from one root seed, their results, and the run folder.

A run is one scenario × ``replicates`` × ``scale``.  Replicate *i* gets its own
random stream, spawned from the root seed by ``numpy.random.SeedSequence``, so
the same seed gives identical results however the replicates are scheduled, and
different seeds differ.  The run folder ``outputs/<run-id>/`` holds the resolved
parameters, the tables and the manifest; every file is written under a
temporary name and renamed when complete, so a table that exists is whole.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simlib.budget import write_budget_xlsx
from simlib.economy import Drivers, build_drivers
from simlib.files import write_atomic
from simlib.ledger import ledger_table
from simlib.model import FIRST_DRIVER_YEAR, METRICS, CityModel
from simlib.parameters import dump_yaml
from simlib.results import metric_arrays, summarise, tidy
from simlib.scenario import LoadedScenario, load_scenario
from simlib.targets import dashboard

DEFAULT_SEED = 20160101
PACKAGES = ("simlib", "mesa", "numpy", "scipy", "pandas", "statsmodels", "pydantic", "pyarrow")


@dataclass
class RunResult:
    """The results of a run, and everything needed to trace them to their inputs."""

    scenario: LoadedScenario
    seed: int
    replicates: int
    scale: float
    table: pd.DataFrame
    summary: pd.DataFrame
    targets: pd.DataFrame
    drivers: Drivers
    ledger: pd.DataFrame
    timings: list[dict[str, float]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.scenario.name

    def save(self, run_dir: str | Path, lang: str = "zh") -> list[Path]:
        """Write the resolved parameters, the tables and the budget workbook into ``run_dir``
        (the workbook's headings in ``lang``: ``zh`` or ``en``)."""
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        header = f"# resolved parameters of scenario {self.name}, hash {self.scenario.hash}\n"
        written = [
            write_atomic(
                run_dir / "params.resolved.yaml",
                lambda p: p.write_text(
                    header + dump_yaml(self.scenario.tree.data), encoding="utf-8"
                ),
            ),
            write_atomic(
                run_dir / "results.parquet", lambda p: self.table.to_parquet(p, index=False)
            ),
            write_atomic(
                run_dir / "summary.parquet", lambda p: self.summary.to_parquet(p, index=False)
            ),
            write_atomic(run_dir / "summary.csv", lambda p: self.summary.to_csv(p, index=False)),
            write_atomic(run_dir / "targets.csv", lambda p: self.targets.to_csv(p, index=False)),
            write_atomic(
                run_dir / "drivers.csv", lambda p: self.drivers.table().to_csv(p, index=False)
            ),
            write_atomic(
                run_dir / "ledger.parquet", lambda p: self.ledger.to_parquet(p, index=False)
            ),
            self._budget_workbook(run_dir / "budget.xlsx", lang),
        ]
        self._note_in_manifest(run_dir, written)
        return written

    def _budget_workbook(self, path: Path, lang: str) -> Path:
        p = self.scenario.params
        title = p.scenario.title.zh if lang == "zh" else p.scenario.title.en
        return write_budget_xlsx(
            self.ledger,
            path,
            lang=lang,
            area_names={code: (a.name.en, a.name.zh) for code, a in p.areas.items()},
            title=title,
            base_year=p.years.base_year,
        )

    def _note_in_manifest(self, run_dir: Path, written: list[Path]) -> None:
        """Record the run's identity and timings in the manifest (made here if absent)."""
        manifest = read_manifest(run_dir)
        manifest.setdefault("run_id", run_dir.name)
        manifest.setdefault("status", "ok")
        manifest.setdefault("start", now())
        manifest.setdefault("end", now())
        manifest.setdefault("versions", versions())
        manifest |= {
            "scenario": self.name,
            "parameter_hash": self.scenario.hash,
            "seed": self.seed,
            "replicates": self.replicates,
            "scale": self.scale,
            "tables": [p.name for p in written],
            "model_seconds": {
                "build": [round(t["build_s"], 3) for t in self.timings],
                "steps": [round(t["step_s"], 3) for t in self.timings],
            },
        }
        write_manifest(run_dir, manifest)


def replicate_seeds(seed: int, replicates: int) -> list[np.random.SeedSequence]:
    """Independent seed sequences, one per replicate, from one root seed."""
    return np.random.SeedSequence(seed).spawn(replicates)


@dataclass
class ReplicateResult:
    """One replicate: raw per-cell results, its booked ledger and deflators, its timings."""

    raw: dict[str, np.ndarray]
    booked: np.ndarray  # (year, programme, funder, area, stratum), yuan
    deflators: np.ndarray  # (year,), CPI level relative to the base year
    timings: dict[str, float]


def run_replicate(
    scenario: LoadedScenario,
    scale: float,
    seed: np.random.SeedSequence,
    drivers: Drivers | None = None,
) -> ReplicateResult:
    """Build and run one replicate."""
    t0 = time.perf_counter()
    model = CityModel(
        scenario.params, scale=scale, rng=np.random.default_rng(seed), drivers=drivers
    )
    t1 = time.perf_counter()
    model.run()
    t2 = time.perf_counter()
    timings = {"build_s": t1 - t0, "step_s": t2 - t1, "persons": float(len(model.city.persons))}
    booked, deflators = model.ledger()
    return ReplicateResult(model.raw_results(), booked, deflators, timings)


def run_scenario(
    scenario: str | Path | LoadedScenario,
    replicates: int = 1,
    seed: int = DEFAULT_SEED,
    scale: float = 1.0,
    progress: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Run a scenario: every replicate, then the tidy table and the summary."""
    if replicates < 1:
        raise ValueError("replicates must be at least 1")
    if not 0 < scale <= 1:
        raise ValueError("scale must be in (0, 1]")
    loaded = scenario if isinstance(scenario, LoadedScenario) else load_scenario(scenario)
    p = loaded.params
    drivers = build_drivers(
        p.economy, min(FIRST_DRIVER_YEAR, p.years.base_year - 1), p.years.end_year + 1
    )
    done: list[ReplicateResult] = []
    for i, child in enumerate(replicate_seeds(seed, replicates)):
        done.append(run_replicate(loaded, scale, child, drivers))
        if progress:
            progress(i + 1, replicates)
    years = list(p.years.simulated)
    values = metric_arrays(METRICS, [r.raw for r in done])
    table = tidy(values, METRICS, loaded.name, years, p.area_codes)
    booked = ledger_table(
        np.stack([r.booked for r in done]),
        np.stack([r.deflators for r in done]),
        loaded.name,
        years,
        p.area_codes,
    )
    return RunResult(
        scenario=loaded,
        seed=seed,
        replicates=replicates,
        scale=scale,
        table=table,
        summary=summarise(table),
        targets=dashboard(table, p.plan_targets),
        drivers=drivers,
        ledger=booked,
        timings=[r.timings for r in done],
    )


# --- manifest ---------------------------------------------------------------------


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def read_manifest(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def write_manifest(run_dir: Path, manifest: dict[str, Any]) -> Path:
    """Write ``manifest.json`` atomically."""
    text = json.dumps(manifest, indent=2, ensure_ascii=False)
    return write_atomic(run_dir / "manifest.json", lambda p: p.write_text(text, encoding="utf-8"))
