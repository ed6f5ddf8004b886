"""Running a sweep and writing its folder: points, indices, ranking, tornado, manifest.

:func:`execute` runs every point of a loaded sweep (:mod:`simlib.sweep`): the design's
points, then, with ``tornado: true``, the scenario as it is and each parameter alone at
its low and its high bound.  The points are tasks of :func:`simlib.parallel.map_tasks`
(``workers``, ``scheduler``, a progress bar over points unless ``quiet``).  A point that
fails is recorded with its values and error; the indices need every point of the
design, so they are computed only when all ran.

The folder ``OUT/sweep-<name>-<hash>/`` holds::

    sweep.resolved.yaml  the sweep file as read (extends merged, run settings applied)
    design.csv           one row per design point: the parameter values (sweep terms)
    points.csv           every point: design and tornado points, their outputs, status
    indices.csv          the design's indices per output and parameter
    ranking.csv          per output, the parameters by importance, with the tornado
    tornado.csv          the tornado bars (if run); tornado.png the chart
    manifest.json        status running -> ok / failed (with the error), identity, times

Every file is written whole or not at all (:func:`simlib.files.write_atomic`).  A
folder whose manifest says ``ok`` is not redone without ``force``; a folder left
``running`` or ``failed`` is redone.  Money outputs are shown in 亿元 (10^8 yuan)
in the indices, ranking and tornado; ``points.csv`` keeps the model's unit (yuan).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simlib import parallel, sensitivity
from simlib.errors import UserError
from simlib.files import write_atomic
from simlib.parameters import dump_yaml
from simlib.sweep import LoadedSweep
from simlib.sweep_points import PointTask, base_value, run_point

FILES = (
    "sweep.resolved.yaml", "design.csv", "points.csv", "indices.csv", "ranking.csv",
    "tornado.csv", "tornado.png",
)  # fmt: skip
YI = 1e8
"""亿元: 10^8 yuan, the unit of budgets in the bureau's reports."""


@dataclass
class SweepOutcome:
    """What a sweep gave: its points and, when every point ran, the analysis."""

    sweep: LoadedSweep
    folder: Path | None
    design: pd.DataFrame
    points: pd.DataFrame
    failures: list[str] = field(default_factory=list)
    indices: pd.DataFrame | None = None
    ranking: pd.DataFrame | None = None
    tornado: dict[str, pd.DataFrame] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    """The display unit of each output (亿元 for money)."""
    seconds: float = 0.0


def display_unit(unit: str) -> tuple[float, str]:
    """The factor and unit in which an output is shown: money in 亿元, the rest as is."""
    if unit.startswith("yuan"):
        return 1.0 / YI, "亿元" + unit.removeprefix("yuan")
    return 1.0, unit


def output_units(sweep: LoadedSweep) -> dict[str, tuple[float, str]]:
    from simlib.model import METRICS

    units = {m.name: m.unit for m in METRICS}
    return {o.column: display_unit(units[o.metric]) for o in sweep.params.outputs}


# --- the points --------------------------------------------------------------------------


def parameter_table(sweep: LoadedSweep) -> pd.DataFrame:
    """The varied parameters: paths, bounds, the scenario's own value (``base``), unit, why."""
    rows = []
    for name, p in sweep.params.parameters.items():
        base = base_value(sweep.scenario, p)
        rows.append(
            {
                "parameter": name,
                "path": ", ".join(p.paths),
                "bounds": p.bounds,
                "low": p.low,
                "base": np.nan if base is None else base,
                "high": p.high,
                "from_year": p.from_year,
                "unit": p.unit,
                "assumption": p.assumption,
            }
        )
    return pd.DataFrame(rows).set_index("parameter")


def design_table(sweep: LoadedSweep) -> pd.DataFrame:
    """The design: one row per point, the parameter values in the sweep's terms."""
    p = sweep.params
    x = p.design.sample(p.names, p.lows, p.highs)
    table = pd.DataFrame(x, columns=p.names)
    table.insert(0, "point", np.arange(len(table)))
    return table


def point_rows(sweep: LoadedSweep, design: pd.DataFrame) -> pd.DataFrame:
    """Every point to run: the design's, then the tornado's (base, each bound of each)."""
    p = sweep.params
    rows = [
        {"part": "design", "varied": "", "setting": "", **dict(zip(p.names, r, strict=True))}
        for r in design[p.names].to_numpy()
    ]
    if p.tornado:
        base = {n: base_value(sweep.scenario, q) for n, q in p.parameters.items()}
        base = {n: (np.nan if v is None else v) for n, v in base.items()}
        rows.append({"part": "tornado", "varied": "", "setting": "base", **base})
        for name, q in p.parameters.items():
            for setting in ("low", "high"):
                values = base | {name: getattr(q, setting)}
                rows.append({"part": "tornado", "varied": name, "setting": setting, **values})
    table = pd.DataFrame(rows)
    table.insert(0, "point", np.arange(len(table)))
    return table


def tasks(sweep: LoadedSweep, rows: pd.DataFrame) -> list[PointTask]:
    """One task per point; a tornado point changes only its varied parameter."""
    p = sweep.params
    found = []
    for r in rows.to_dict("records"):
        if r["part"] == "design":
            values = {n: float(r[n]) for n in p.names}
        else:
            values = {r["varied"]: float(r[r["varied"]])} if r["varied"] else {}
        found.append(
            PointTask(
                scenario_file=str(sweep.scenario.file),
                scenario_hash=sweep.scenario_hash,
                values=values,
                parameters=dict(p.parameters),
                outputs=list(p.outputs),
                seed=p.run.seed,
                replicates=p.run.replicates,
                scale=p.run.scale,
                end_year=p.run.end_year,
                label=f"{r['part']} {r['point']}",
            )
        )
    return found


def run_points(
    sweep: LoadedSweep,
    rows: pd.DataFrame,
    workers: int = 1,
    scheduler: str | None = None,
    quiet: bool = False,
) -> tuple[pd.DataFrame, list[str]]:
    """Run every point; the rows with their outputs and status, and the failures."""
    columns = [o.column for o in sweep.params.outputs]
    done = rows.copy()
    for c in columns:
        done[c] = np.nan
    done["status"] = "ok"
    done["error"] = ""
    failures = []
    todo = tasks(sweep, rows)
    for i, outcome in parallel.map_tasks(
        run_point,
        todo,
        workers=workers,
        scheduler=scheduler,
        desc=f"sweep {sweep.name}",
        quiet=quiet,
        unit="point",
    ):
        if isinstance(outcome, parallel.Failed):
            done.loc[i, ["status", "error"]] = ["failed", outcome.error]
            values = ", ".join(f"{k}={v:g}" for k, v in todo[i].values.items()) or "base"
            failures.append(f"{todo[i].label} ({values}) failed: {outcome.error}")
        else:
            for c in columns:
                done.loc[i, c] = outcome[c]
    return done, sorted(failures, key=lambda f: int(f.split()[1]))


# --- the analysis ------------------------------------------------------------------------


def analyse(sweep: LoadedSweep, points: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Indices, ranking and tornado bars of every output, in display units."""
    p = sweep.params
    spec = p.design.spec
    units = output_units(sweep)
    design = points[points.part == "design"]
    x = design[p.names].to_numpy(dtype=float)
    by_output, tornado = {}, {}
    for column, (factor, unit) in units.items():
        y = design[column].to_numpy(dtype=float) * factor
        t = sensitivity.indices(
            p.design.method,
            p.names,
            p.lows,
            p.highs,
            x,
            y,
            levels=getattr(spec, "levels", 4),
            second_order=getattr(spec, "second_order", False),
            seed=getattr(spec, "seed", 1),
        )
        t.insert(0, "output", column)
        t.insert(1, "unit", unit)
        by_output[column] = t
        if p.tornado:
            tornado[column] = tornado_table(sweep, points, column, factor)
    ranked = sensitivity.ranking(p.design.method, by_output, tornado)
    ranked.insert(1, "unit", ranked.output.map({c: u for c, (_, u) in units.items()}))
    return pd.concat(by_output.values(), ignore_index=True), ranked, tornado


def tornado_table(
    sweep: LoadedSweep, points: pd.DataFrame, column: str, factor: float = 1.0
) -> pd.DataFrame:
    """The tornado bars of one output from the tornado points, with each parameter's bounds."""
    t = points[points.part == "tornado"]
    base = float(t.loc[t.setting == "base", column].iloc[0]) * factor
    at = {
        s: dict(zip(t.varied[t.setting == s], t[column][t.setting == s] * factor, strict=True))
        for s in ("low", "high")
    }
    bars = sensitivity.tornado_ranges(base, at["low"], at["high"])
    params = sweep.params.parameters
    bars.insert(1, "low", bars.parameter.map(lambda n: params[n].low))
    bars.insert(2, "high", bars.parameter.map(lambda n: params[n].high))
    bars.insert(3, "bounds", bars.parameter.map(lambda n: params[n].bounds))
    return bars


# --- the folder --------------------------------------------------------------------------


def _manifest(sweep: LoadedSweep, folder: Path, workers: int, scheduler: str | None) -> dict:
    from simlib import runs

    p = sweep.params
    return {
        "run_id": folder.name,
        "kind": "sweep",
        "status": "running",
        "sweep": sweep.name,
        "sweep_file": str(sweep.file),
        "sweep_hash": sweep.hash,
        "method": p.design.method,
        "parameters": p.names,
        "outputs": [o.column for o in p.outputs],
        "scenario": sweep.scenario.name,
        "scenario_file": str(sweep.scenario.file),
        "parameter_hash": sweep.scenario_hash,
        "seed": p.run.seed,
        "replicates": p.run.replicates,
        "scale": p.run.scale,
        "end_year": sweep.scenario.params.years.end_year,
        "workers": workers,
        "scheduler": scheduler,
        "versions": runs.versions(),
        "start": runs.now(),
        "end": None,
    }


def prepare_folder(sweep: LoadedSweep, out: Path, force: bool) -> Path:
    """The sweep's folder, made ready: refused if complete unless ``force``; old files gone."""
    from simlib.runs import read_manifest

    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder")
    folder = out / sweep.folder_name
    if folder.exists():
        status = read_manifest(folder).get("status")
        if status == "ok" and not force:
            raise UserError(
                f"sweep folder {folder} already exists and is complete: "
                "use --force to run the sweep again"
            )
        for name in (*FILES, "manifest.json"):
            (folder / name).unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def read_folder(sweep: LoadedSweep, out: Path) -> SweepOutcome | None:
    """The outcome of a complete sweep folder for ``sweep`` under ``out`` (its points read
    back, the analysis done again from them), or None if there is none."""
    from simlib.runs import read_manifest

    folder = Path(out) / sweep.folder_name
    manifest = read_manifest(folder)
    if manifest.get("status") != "ok":
        return None
    text = ["part", "varied", "setting", "status", "error"]
    points = pd.read_csv(folder / "points.csv", dtype=dict.fromkeys(text, str))
    points[text] = points[text].fillna("")
    outcome = SweepOutcome(sweep, folder, pd.read_csv(folder / "design.csv"), points)
    outcome.units = {c: u for c, (_, u) in output_units(sweep).items()}
    outcome.indices, outcome.ranking, outcome.tornado = analyse(sweep, points)
    outcome.seconds = float(manifest.get("seconds", 0.0))
    return outcome


def _csv(folder: Path, name: str, table: pd.DataFrame) -> Path:
    return write_atomic(folder / name, lambda p: table.to_csv(p, index=False))


def execute(
    sweep: LoadedSweep,
    out: Path | None,
    workers: int = 1,
    scheduler: str | None = None,
    quiet: bool = False,
    force: bool = False,
    lang: str = "en",
) -> SweepOutcome:
    """Run the sweep; with ``out``, write its folder there (see the module docstring)."""
    from simlib import runs

    folder = prepare_folder(sweep, Path(out), force) if out is not None else None
    manifest: dict[str, Any] = {}
    if folder is not None:
        manifest = _manifest(sweep, folder, workers, scheduler)
        runs.write_manifest(folder, manifest)
        header = f"# resolved sweep {sweep.name}, hash {sweep.hash}\n"
        text = header + dump_yaml(sweep.tree.data)
        write_atomic(folder / FILES[0], lambda p: p.write_text(text, encoding="utf-8"))
    t0 = time.perf_counter()
    try:
        outcome = _run_and_analyse(sweep, folder, workers, scheduler, quiet, lang)
    except BaseException as e:
        if folder is not None:
            error = (
                "interrupted" if isinstance(e, KeyboardInterrupt) else f"{type(e).__name__}: {e}"
            )
            _finish(folder, manifest, "failed", error, time.perf_counter() - t0)
        raise
    outcome.seconds = time.perf_counter() - t0
    if folder is not None:
        error = f"{len(outcome.failures)} point(s) failed" if outcome.failures else None
        manifest["failed_points"] = outcome.failures
        _finish(folder, manifest, "failed" if error else "ok", error, outcome.seconds)
    return outcome


def _run_and_analyse(
    sweep: LoadedSweep,
    folder: Path | None,
    workers: int,
    scheduler: str | None,
    quiet: bool,
    lang: str,
) -> SweepOutcome:
    design = design_table(sweep)
    if folder is not None:
        _csv(folder, "design.csv", design)
    rows = point_rows(sweep, design)
    points, failures = run_points(sweep, rows, workers, scheduler, quiet)
    if folder is not None:
        _csv(folder, "points.csv", points)
    outcome = SweepOutcome(sweep, folder, design, points, failures)
    outcome.units = {c: u for c, (_, u) in output_units(sweep).items()}
    if failures:
        return outcome
    outcome.indices, outcome.ranking, outcome.tornado = analyse(sweep, points)
    if folder is not None:
        _csv(folder, "indices.csv", outcome.indices)
        _csv(folder, "ranking.csv", outcome.ranking)
        if outcome.tornado:
            _write_tornado(folder, outcome, lang)
    return outcome


def _write_tornado(folder: Path, outcome: SweepOutcome, lang: str) -> None:
    import matplotlib.pyplot as plt

    from simlib.sweep_figures import tornado_chart

    bars = pd.concat([t.assign(output=c) for c, t in outcome.tornado.items()], ignore_index=True)
    _csv(folder, "tornado.csv", bars[["output", *bars.columns[:-1]]])
    fig = tornado_chart(outcome, lang=lang)
    write_atomic(folder / "tornado.png", lambda p: fig.savefig(p, dpi=120, format="png"))
    plt.close(fig)


def _finish(folder: Path, manifest: dict, status: str, error: str | None, seconds: float) -> None:
    from simlib import runs

    manifest |= {"status": status, "end": runs.now(), "seconds": round(seconds, 1)}
    if error:
        manifest["error"] = error
    manifest["files"] = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    if "manifest.json" not in manifest["files"]:
        manifest["files"].append("manifest.json")
    runs.write_manifest(folder, manifest)


# --- the short table on stdout -----------------------------------------------------------

MEANING = {
    "mu_star": "Morris mu*: mean absolute change across the parameter's range",
    "ST": "Sobol' total index: share of the variance the parameter is part of",
    "SRC2": "SRC²: share of the variance explained linearly",
}


def ranking_text(outcome: SweepOutcome, top: int = 8) -> str:
    """Per output, the parameters that move it most (for the terminal)."""
    if outcome.ranking is None:
        return "no ranking: some points failed"
    lines = []
    for output, part in outcome.ranking.groupby("output", sort=False):
        measure = part.measure.iloc[0]
        unit = part.unit.iloc[0]
        lines.append(f"{output} ({unit}); ranked by {MEANING[measure]}")
        for r in part.head(top).itertuples():
            conf = f" ± {r.conf:.3g}" if pd.notna(r.conf) else ""
            swing = getattr(r, "tornado_swing", np.nan)
            bar = ""
            if pd.notna(swing):
                bar = f"   tornado: low {r.tornado_low:.3f}, high {r.tornado_high:.3f}"
            lines.append(f"  {r.rank:>2}  {r.parameter:<24} {measure} {r.value:.3g}{conf}{bar}")
    return "\n".join(lines)
