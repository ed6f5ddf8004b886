"""Runs: replicates from one root seed, their results, and the run folder.

A run is one scenario × ``replicates`` × ``scale``.  Replicate *i* gets its own
random stream, spawned from the root seed by ``numpy.random.SeedSequence``, so
the same seed gives identical results however the replicates are scheduled, and
different seeds differ.  With ``economy.forecast.paths: sampled`` each replicate
also reads its own driver paths, drawn from the driver forecasts with a stream
derived from its seed beside the model's (``economy.economy_seed``); the run's
``drivers`` are then the forecasts' mean paths, and ``driver_paths`` holds what
each replicate read.  The run folder ``outputs/<run-id>/`` holds the resolved
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
from simlib.economy import Drivers, build_drivers, forecast_table
from simlib.files import write_atomic
from simlib.ledger import ledger_table
from simlib.model import FIRST_DRIVER_YEAR, METRICS, CityModel
from simlib.parameters import dump_yaml
from simlib.results import metric_arrays, summarise, tidy
from simlib.scenario import LoadedScenario, from_tree, load_scenario
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
    driver_paths: pd.DataFrame | None = None
    """The drivers each replicate read: replicate, year, driver, value."""
    forecasts: pd.DataFrame | None = None
    """The driver forecasts (economy.forecast_table), if the scenario forecasts drivers."""

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
        if self.driver_paths is not None:
            paths = self.driver_paths
            written.append(
                write_atomic(
                    run_dir / "driver_paths.parquet", lambda p: paths.to_parquet(p, index=False)
                )
            )
        if self.forecasts is not None:
            forecasts = self.forecasts
            written.append(
                write_atomic(run_dir / "forecasts.csv", lambda p: forecasts.to_csv(p, index=False))
            )
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
    drivers: Drivers | None = None
    """The driver paths the replicate read."""


def driver_years(scenario: LoadedScenario) -> tuple[int, int]:
    """The first and last year of the drivers a run reads."""
    p = scenario.params
    return min(FIRST_DRIVER_YEAR, p.years.base_year - 1), p.years.end_year + 1


def replicate_drivers(
    scenario: LoadedScenario, seed: np.random.SeedSequence | None = None
) -> Drivers:
    """The drivers of the replicate with ``seed``: its own sampled paths if the scenario's
    ``economy.forecast`` says so, else (and without a seed) the run's common paths."""
    return build_drivers(scenario.params.economy, *driver_years(scenario), seed=seed)


def run_replicate(
    scenario: LoadedScenario,
    scale: float,
    seed: np.random.SeedSequence,
    drivers: Drivers | None = None,
    after_year: Callable[[int], object] | None = None,
) -> ReplicateResult:
    """Build and run one replicate (with its own drivers from ``seed`` unless given)."""
    t0 = time.perf_counter()
    if drivers is None:
        drivers = replicate_drivers(scenario, seed)
    model = CityModel(
        scenario.params, scale=scale, rng=np.random.default_rng(seed), drivers=drivers
    )
    t1 = time.perf_counter()
    model.run(after_year)
    t2 = time.perf_counter()
    timings = {"build_s": t1 - t0, "step_s": t2 - t1, "persons": float(len(model.city.persons))}
    booked, deflators = model.ledger()
    return ReplicateResult(model.raw_results(), booked, deflators, timings, drivers)


def run_scenario(
    scenario: str | Path | LoadedScenario,
    replicates: int = 1,
    seed: int = DEFAULT_SEED,
    scale: float = 1.0,
    after_year: Callable[[int], object] | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    quiet: bool = True,
) -> RunResult:
    """Run a scenario: every replicate, then the tidy table and the summary.

    ``after_year(year)`` is called after every simulated year of every replicate
    (replicates × years calls in all), for a progress bar.  With ``workers`` > 1 or a
    Dask ``scheduler`` the replicates run in parallel (:mod:`simlib.parallel`); each has
    its own seed, so the results are the same however they are spread (a progress bar
    over the replicates unless ``quiet``).
    """
    if replicates < 1:
        raise ValueError("replicates must be at least 1")
    if not 0 < scale <= 1:
        raise ValueError("scale must be in (0, 1]")
    loaded = scenario if isinstance(scenario, LoadedScenario) else load_scenario(scenario)
    p = loaded.params
    drivers = replicate_drivers(loaded)
    own = p.economy.sampled_paths  # each replicate draws its own driver paths
    seeds = replicate_seeds(seed, replicates)
    common = None if own else drivers
    if workers > 1 or scheduler is not None:
        done = _in_parallel(loaded, scale, seeds, common, workers, scheduler, quiet)
    else:
        done = [run_replicate(loaded, scale, child, common, after_year) for child in seeds]
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
        driver_paths=driver_paths([r.drivers or drivers for r in done]),
        forecasts=forecast_table(p.economy, *driver_years(loaded))
        if p.economy.forecast_drivers()
        else None,
    )


_VALIDATED: dict[str, LoadedScenario] = {}
"""The scenarios a worker process has validated, by parameter hash."""


def _replicate_task(task: tuple) -> ReplicateResult:
    """One replicate on a worker: (scenario tree, its hash, scale, seed, drivers or None)."""
    tree, digest, scale, seed, drivers = task
    if digest not in _VALIDATED:
        _VALIDATED[digest] = from_tree(tree)
    return run_replicate(_VALIDATED[digest], scale, seed, drivers)


def _in_parallel(
    loaded: LoadedScenario,
    scale: float,
    seeds: list[np.random.SeedSequence],
    drivers: Drivers | None,
    workers: int,
    scheduler: str | None,
    quiet: bool,
) -> list[ReplicateResult]:
    from simlib.parallel import Failed, map_tasks

    tasks = [(loaded.tree, loaded.hash, scale, child, drivers) for child in seeds]
    done: list[ReplicateResult | None] = [None] * len(tasks)
    outcomes = map_tasks(
        _replicate_task,
        tasks,
        workers=workers,
        scheduler=scheduler,
        desc=f"{loaded.name}: replicates",
        quiet=quiet,
        unit="replicate",
    )
    for i, outcome in outcomes:
        if isinstance(outcome, Failed):
            raise RuntimeError(f"replicate {i} failed: {outcome.error}")
        done[i] = outcome
    return [r for r in done if r is not None]


def driver_paths(replicates: list[Drivers]) -> pd.DataFrame:
    """The drivers each replicate read, long: replicate, year, driver, value."""
    parts = []
    for i, d in enumerate(replicates):
        years = np.arange(d.first_year, d.last_year + 1)
        for name in d.names:
            parts.append(
                pd.DataFrame(
                    {"replicate": i, "year": years, "driver": name, "value": d.series(name)}
                )
            )
    return pd.concat(parts, ignore_index=True)


def load_run(run_dir: str | Path) -> RunResult:
    """A saved run back from its folder (what :meth:`RunResult.save` wrote).

    The scenario comes from the folder's ``params.resolved.yaml``, so the run reads
    as it was even if its scenario file has changed since.
    """
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    missing = [n for n in SAVED if not (run_dir / n).is_file()]
    if missing or "seed" not in manifest:
        raise FileNotFoundError(f"{run_dir} holds no saved run (missing {missing or 'manifest'})")
    scenario = load_scenario(run_dir / "params.resolved.yaml")
    seconds = manifest.get("model_seconds", {})
    paths, forecasts = run_dir / "driver_paths.parquet", run_dir / "forecasts.csv"
    return RunResult(
        scenario=scenario,
        seed=int(manifest["seed"]),
        replicates=int(manifest["replicates"]),
        scale=float(manifest["scale"]),
        table=pd.read_parquet(run_dir / "results.parquet"),
        summary=pd.read_parquet(run_dir / "summary.parquet"),
        targets=_text_filled(pd.read_csv(run_dir / "targets.csv")),
        drivers=Drivers.from_table(pd.read_csv(run_dir / "drivers.csv")),
        ledger=pd.read_parquet(run_dir / "ledger.parquet"),
        timings=[
            {"build_s": b, "step_s": s}
            for b, s in zip(seconds.get("build", []), seconds.get("steps", []), strict=False)
        ],
        driver_paths=pd.read_parquet(paths) if paths.is_file() else None,
        forecasts=pd.read_csv(forecasts) if forecasts.is_file() else None,
    )


SAVED = (
    "params.resolved.yaml",
    "results.parquet",
    "summary.parquet",
    "targets.csv",
    "drivers.csv",
    "ledger.parquet",
)
"""The files every saved run has (``load_run`` reads them)."""


def _text_filled(table: pd.DataFrame) -> pd.DataFrame:
    """Empty text cells back as "" (CSV reads them as missing)."""
    text = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
    return table.assign(**{c: table[c].fillna("").astype(str) for c in text})


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
