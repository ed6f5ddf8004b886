"""Comparing runs (情景比较): what changed, what it costs, whom it reaches, which targets it meets.

A comparison reads complete run folders (``simlib run``: the manifest says ``ok``)
and sets them side by side against one of them, the baseline (基准情景):

* what changed: the resolved parameters that differ from the baseline's, with the
  scenario's own reason (its ``assumption`` or ``source``), so a reader knows what
  each scenario is;
* spending (民政资金) by programme, by level of government and by area, per year and
  for the plan period 2016-2020 ("十三五"时期) and the whole run (e.g. 2016-2030),
  each a band across the run's replicates (:func:`simlib.budget.budget_views`);
* caseloads (救助对象) and beds (养老床位): city totals per year with their bands;
* the plan's targets (规划目标): each run's status per target and year.

The difference from the baseline is the difference of the means across replicates
(scenario mean − baseline mean), in yuan and in % of the baseline mean; it is not
a band.  Runs over different years or areas cannot be compared and are refused;
runs from different simlib versions, seeds, scales or numbers of replicates are
compared but flagged.

``simlib compare RUN_DIR RUN_DIR... [--baseline RUN] [--lang zh|en] [--out DIR]``
writes ``comparison.xlsx`` (the tables, in 万元) and executes
``notebooks/compare_budgets.ipynb`` into ``DIR`` (``comparison.ipynb``, its HTML
``comparison.html`` without the code, and the figures as PNG).

This module loads and checks the runs and makes the tables (language-free, in yuan);
:mod:`simlib.compare_text` puts them in words (headings and display tables in ``lang``),
:mod:`simlib.compare_workbook` writes the workbook and :mod:`simlib.compare_figures` draws
the figures and executes the report notebook.  They import from this module, never the
reverse (:func:`run` imports them when the command runs).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from simlib.budget import VIEWS, budget_views
from simlib.errors import UserError
from simlib.glossary import Lang

RUN_FILES = ("manifest.json", "params.resolved.yaml", "ledger.parquet", "summary.parquet")
TARGETS_FILE = "targets.csv"
CASELOADS = (
    "dibao_persons",
    "dibao_households",
    "tekun_persons",
    "tekun_concentrated",
    "medical_assist_person_times",
    "medical_assist_major_person_times",
    "temp_assist_cases",
    "orphan_allowance_persons",
    "disability_living_persons",
    "disability_nursing_persons",
    "old_age_allowance_persons",
)
BEDS = ("beds", "nursing_beds", "beds_occupied", "waiting_list", "beds_per_1000_elderly")
FLAGGED = ("simlib", "seed", "scale", "replicates")
"""Settings that may differ between compared runs, with a warning."""
PROVENANCE = ("source", "assumption", "note", "unit")
"""Keys that say where a value comes from: shown as the reason of a change, never a change."""
IDENTITY = ("scenario",)
"""Top-level blocks that name a scenario rather than set it: left out of the diff."""
ABSENT = "—"
MISSING = object()  # a key one of two parameter trees lacks
WAN = 10_000.0  # yuan in one 万元


# --- runs ---------------------------------------------------------------------------


@dataclass
class Run:
    """A complete run folder: its manifest, resolved parameters and tables."""

    path: Path
    manifest: dict[str, Any]
    params: dict[str, Any]
    ledger: pd.DataFrame
    summary: pd.DataFrame
    targets: pd.DataFrame

    @property
    def scenario(self) -> str:
        return str(self.params["scenario"]["name"])

    @property
    def years(self) -> tuple[int, int]:
        y = self.params["years"]
        return int(y["base_year"]), int(y["end_year"])

    @property
    def areas(self) -> tuple[str, ...]:
        return tuple(self.params["areas"])

    def title(self, lang: Lang) -> str:
        return str(self.params["scenario"].get("title", {}).get(lang, self.scenario))

    def setting(self, name: str) -> str:
        """A setting of the run as text: its seed, scale, replicates or simlib version."""
        if name == "simlib":
            return str(self.manifest.get("versions", {}).get("simlib", "unknown"))
        return str(self.manifest.get(name, "unknown"))


def recent_runs(folder: str | Path, n: int = 2) -> list[Path]:
    """The ``n`` most recently finished complete runs in ``folder``, oldest first."""
    found = []
    for path in Path(folder).iterdir() if Path(folder).is_dir() else []:
        manifest = path / "manifest.json"
        if all((path / f).is_file() for f in (*RUN_FILES, TARGETS_FILE)):
            try:
                m = json.loads(manifest.read_text("utf-8"))
            except (OSError, ValueError):
                continue
            if m.get("status") == "ok":
                found.append((str(m.get("end") or ""), path))
    return [p for _, p in sorted(found)[-n:]]


def load_run(run_dir: str | Path) -> Run:
    """Read a run folder; a folder that is not a complete run is a :class:`UserError`."""
    path = Path(run_dir)
    if not path.is_dir():
        raise UserError(f"run folder {path} does not exist or is not a folder")
    missing = [f for f in (*RUN_FILES, TARGETS_FILE) if not (path / f).is_file()]
    if missing:
        raise UserError(
            f"{path} is not a complete run: it has no {', '.join(missing)} "
            "(run it again with `simlib run`)"
        )
    manifest = _read(path / "manifest.json", lambda p: json.loads(p.read_text("utf-8")))
    status = manifest.get("status") if isinstance(manifest, dict) else None
    if status != "ok":
        error = (
            f": {manifest['error']}" if isinstance(manifest, dict) and "error" in manifest else ""
        )
        raise UserError(f"{path} is not a complete run: its manifest says status {status!r}{error}")
    params = _read(path / "params.resolved.yaml", lambda p: yaml.safe_load(p.read_text("utf-8")))
    if not isinstance(params, dict) or not {"scenario", "years", "areas"} <= set(params):
        raise UserError(f"{path / 'params.resolved.yaml'} is not a scenario's resolved parameters")
    return Run(
        path=path,
        manifest=manifest,
        params=params,
        ledger=_read(path / "ledger.parquet", pd.read_parquet),
        summary=_read(path / "summary.parquet", pd.read_parquet),
        targets=_read(path / TARGETS_FILE, pd.read_csv),
    )


def _read(path: Path, reader: Any) -> Any:
    try:
        return reader(path)
    except Exception as e:  # a damaged file: name it, in one line
        raise UserError(f"cannot read {path}: {type(e).__name__}: {e}") from None


def check_compatible(runs: Sequence[Run]) -> pd.DataFrame:
    """Refuse runs over different years or areas (a :class:`UserError`); the flags.

    The flags are one row per setting in which the runs differ (simlib version, seed,
    scale, replicates): ``setting`` and ``values`` (each run's, ``name: value; ...``).
    """
    if len(runs) < 2:
        raise UserError("a comparison needs at least two runs")
    paths = [r.path.resolve() for r in runs]
    twice = sorted({str(p) for p in paths if paths.count(p) > 1})
    if twice:
        raise UserError(f"run folder given twice: {', '.join(twice)}")
    names = run_labels(runs)
    for what, value in (("years", _years_text), ("areas", lambda r: ", ".join(r.areas))):
        found = {value(r) for r in runs}
        if len(found) > 1:
            each = "; ".join(
                f"{n} ({r.path}): {value(r)}" for n, r in zip(names, runs, strict=True)
            )
            raise UserError(f"cannot compare runs over different {what}: {each}")
    rows = []
    for setting in FLAGGED:
        values = [r.setting(setting) for r in runs]
        if len(set(values)) > 1:
            each = "; ".join(f"{n}: {v}" for n, v in zip(names, values, strict=True))
            rows.append({"setting": setting, "values": each})
    return pd.DataFrame(rows, columns=["setting", "values"])


def _years_text(run: Run) -> str:
    first, last = run.years
    return f"{first + 1}-{last}"


def run_labels(runs: Sequence[Run]) -> list[str]:
    """A short unique name per run: its scenario; its folder's name when two runs share a
    scenario; numbered when two folders share a name too."""
    names = [r.scenario for r in runs]
    if len(set(names)) < len(names):
        names = [r.path.name for r in runs]
    if len(set(names)) < len(names):
        names = [f"{n} ({i + 1})" for i, n in enumerate(names)]
    return names


def pick_baseline(runs: Sequence[Run], which: str | Path | None) -> int:
    """The index of the baseline among ``runs``: the first unless ``which`` names one (its
    folder, the folder's name or its scenario)."""
    if which is None:
        return 0
    wanted = Path(which).resolve()
    for i, r in enumerate(runs):
        if r.path.resolve() == wanted:
            return i
    names = [r.path.name for r in runs], run_labels(runs), [r.scenario for r in runs]
    for candidates in names:
        if candidates.count(str(which)) == 1:
            return candidates.index(str(which))
    raise UserError(
        f"--baseline {which} is not one of the runs compared "
        f"({', '.join(str(r.path) for r in runs)}): give one of their folders"
    )


# --- what changed -------------------------------------------------------------------

DIFF_COLUMNS = ["key", "baseline", "value", "why"]


def scenario_diff(base_params: dict[str, Any], other_params: dict[str, Any]) -> pd.DataFrame:
    """The parameters of ``other_params`` that differ from ``base_params``.

    One row per changed value: ``key`` (the dotted path; a fact's path, not its
    ``value``), the ``baseline``'s and this scenario's ``value`` as text (``—`` when absent)
    and ``why``: the scenario's ``assumption`` (or ``source``, ``note``) for it.  A
    fact (a mapping with ``value`` or ``values``) changes when its value does; a
    change of its unit or provenance text alone is not a change.  The ``scenario``
    block (name, title, description) is left out.
    """
    rows = list(_changes(base_params, other_params, (), other_params))
    return pd.DataFrame(rows, columns=DIFF_COLUMNS)


def _changes(a: Any, b: Any, path: tuple[str, ...], context: Any) -> Iterator[dict[str, str]]:
    if _is_fact(a) or _is_fact(b):
        va, vb = _fact_value(a), _fact_value(b)
        if not _same(va, vb):
            yield _row(path, va, vb, _why(b) or _why(context))
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for k in [*a, *(k for k in b if k not in a)]:
            if k in PROVENANCE or (not path and k in IDENTITY):
                continue
            if k not in b:
                yield _row((*path, str(k)), a[k], MISSING, "")
            elif k not in a:
                yield _row((*path, str(k)), MISSING, b[k], _why(b[k]) or _why(b))
            else:
                yield from _changes(a[k], b[k], (*path, str(k)), b)
        return
    if isinstance(a, list) and isinstance(b, list) and any(isinstance(x, dict) for x in a + b):
        for i in range(max(len(a), len(b))):
            key = (*path[:-1], f"{path[-1]}[{i}]") if path else (f"[{i}]",)
            if i >= len(b):
                yield _row(key, a[i], MISSING, "")
            elif i >= len(a):
                yield _row(key, MISSING, b[i], _why(b[i]))
            else:
                yield from _changes(a[i], b[i], key, b[i])
        return
    if not _same(a, b):
        yield _row(path, a, b, _why(context))


def _row(path: tuple[str, ...], a: Any, b: Any, why: str) -> dict[str, str]:
    return {
        "key": ".".join(path),
        "baseline": ABSENT if a is MISSING else show(_fact_value(a)),
        "value": ABSENT if b is MISSING else show(_fact_value(b)),
        "why": " ".join(str(why).split()),
    }


def _is_fact(x: Any) -> bool:
    return isinstance(x, dict) and ("value" in x or "values" in x)


def _fact_value(x: Any) -> Any:
    if not _is_fact(x):
        return x
    return x["values"] if x.get("values") is not None else x.get("value")


def _why(x: Any) -> str:
    if not isinstance(x, dict):
        return ""
    return str(x.get("assumption") or x.get("source") or x.get("note") or "")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) != isinstance(b, bool):
        return False  # true is not 1
    return bool(a == b)


def show(value: Any) -> str:
    """A parameter value as short text: numbers without noise, mappings as ``{k: v}``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(value, ".10g")
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return str(value)


# --- the tables ---------------------------------------------------------------------

STATS = ["mean", "p05", "p50", "p95"]


@dataclass
class Comparison:
    """Runs side by side, the baseline first: their labels, the flags and the tables."""

    runs: list[Run]
    labels: list[str]
    flags: pd.DataFrame
    tables: dict[str, pd.DataFrame]

    @property
    def baseline(self) -> str:
        return self.labels[0]


def prepare(run_dirs: Sequence[str | Path], baseline: str | Path | None = None) -> Comparison:
    """Load the runs, refuse what cannot be compared, put the baseline first, make the
    tables.  A ``baseline`` folder that is not among ``run_dirs`` is compared too."""
    dirs = list(run_dirs)
    given = {Path(d).resolve() for d in dirs}
    if baseline is not None and Path(baseline).is_dir() and Path(baseline).resolve() not in given:
        dirs.insert(0, baseline)
    runs = [load_run(d) for d in dirs]
    flags = check_compatible(runs)
    b = pick_baseline(runs, baseline)
    runs = [runs[b], *runs[:b], *runs[b + 1 :]]
    return Comparison(runs, run_labels(runs), flags, comparison_tables(runs, 0))


def comparison_tables(runs: Sequence[Run], baseline: int = 0) -> dict[str, pd.DataFrame]:
    """Every table of the comparison, long, one ``scenario`` column naming the run.

    * ``runs``: each run's scenario, titles, folder, seed, replicates, scale, simlib
      version, years, and whether it is the baseline;
    * ``diff``: each scenario's changed parameters (:func:`scenario_diff`);
    * ``totals``, ``by_programme``, ``by_funder``, ``by_area`` (nominal yuan) and
      ``totals_real`` (yuan of the base year): the budget views of each run with
      ``diff`` (mean − the baseline's mean, yuan) and ``diff_pct`` (% of the baseline's
      mean; missing where that is 0);
    * ``caseloads`` and ``beds``: city totals per metric and year, with the same
      differences;
    * ``targets``: each run's plan-target dashboard (``targets.csv``).
    """
    names = run_labels(runs)
    base = names[baseline]
    tables: dict[str, pd.DataFrame] = {"runs": _runs_table(runs, names, baseline)}
    tables["diff"] = pd.concat(
        [
            scenario_diff(runs[baseline].params, r.params).assign(scenario=n)
            for n, r in zip(names, runs, strict=True)
            if n != base
        ],
        ignore_index=True,
    )[["scenario", *DIFF_COLUMNS]]
    nominal = [budget_views(r.ledger) for r in runs]
    for view, key in VIEWS.items():
        keys = ["period", "first_year", "last_year", *([key] if key else [])]
        long = _stack([v[view] for v in nominal], names)
        tables[view] = with_difference(long, keys, base, absent_is_zero=True)
    real = _stack([budget_views(r.ledger, real=True)["totals"] for r in runs], names)
    tables["totals_real"] = with_difference(
        real, ["period", "first_year", "last_year"], base, absent_is_zero=True
    )
    for name, metrics in (("caseloads", CASELOADS), ("beds", BEDS)):
        tables[name] = with_difference(city_metrics(runs, names, metrics), ["metric", "year"], base)
    tables["targets"] = _stack(
        [r.targets.drop(columns=["source"], errors="ignore") for r in runs], names
    )
    return tables


def _stack(frames: Sequence[pd.DataFrame], names: Sequence[str]) -> pd.DataFrame:
    parts = [f.drop(columns=["scenario"], errors="ignore") for f in frames]
    return pd.concat(
        [f.assign(scenario=n) for f, n in zip(parts, names, strict=True)], ignore_index=True
    ).pipe(lambda t: t[["scenario", *(c for c in t.columns if c != "scenario")]])


def city_metrics(runs: Sequence[Run], names: Sequence[str], metrics: Sequence[str]) -> pd.DataFrame:
    """The city totals (area and stratum ``all``) of ``metrics`` per year, from each run's
    summary: scenario, metric, year, unit, mean, p05, p50, p95; metrics in the given order."""
    order = {m: i for i, m in enumerate(metrics)}
    frames = []
    for r in runs:
        s = r.summary
        city = s[(s.area == "all") & (s.stratum == "all") & s.metric.isin(metrics)]
        frames.append(city.assign(order=city.metric.map(order)).sort_values(["order", "year"]))
    cols = ["metric", "year", "unit", *STATS]
    return _stack([f[cols] for f in frames], names)


def with_difference(
    table: pd.DataFrame, keys: list[str], baseline: str, absent_is_zero: bool = False
) -> pd.DataFrame:
    """``table`` with ``diff`` (mean − the baseline's mean for the same ``keys``) and
    ``diff_pct`` (``diff`` in % of the baseline's mean, missing where that is 0).  A row
    the baseline lacks has no difference, unless ``absent_is_zero`` (money not paid)."""
    base = table.loc[table.scenario == baseline, [*keys, "mean"]]
    merged = table.merge(base.rename(columns={"mean": "_base"}), on=keys, how="left")
    if absent_is_zero:
        merged["_base"] = merged["_base"].fillna(0.0)
    merged["diff"] = merged["mean"] - merged["_base"]
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * merged["diff"] / merged["_base"]
    merged["diff_pct"] = pct.where(merged["_base"] != 0)
    return merged.drop(columns="_base")


def _runs_table(runs: Sequence[Run], names: Sequence[str], baseline: int) -> pd.DataFrame:
    rows = []
    for i, (n, r) in enumerate(zip(names, runs, strict=True)):
        rows.append(
            {
                "scenario": n,
                "name": r.scenario,
                "title_en": r.title("en"),
                "title_zh": r.title("zh"),
                "description": " ".join(str(r.params["scenario"].get("description", "")).split()),
                "run_dir": str(r.path),
                "parameter_hash": str(r.manifest.get("parameter_hash", "")),
                "seed": r.setting("seed"),
                "replicates": r.setting("replicates"),
                "scale": r.setting("scale"),
                "simlib": r.setting("simlib"),
                "years": _years_text(r),
                "baseline": i == baseline,
            }
        )
    return pd.DataFrame(rows)


# --- the command --------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``simlib compare``."""
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run folders to compare")
    parser.add_argument(
        "--baseline",
        default=None,
        metavar="RUN",
        help="the run the others are compared with: its folder, which may be one of RUN_DIR "
        "(default: the first RUN_DIR)",
    )
    parser.add_argument(
        "--lang", default="zh", help="language of the report and workbook: zh or en (default zh)"
    )
    parser.add_argument(
        "--out",
        default=None,
        help="folder for the report (new or empty; default outputs/comparison-<timestamp>)",
    )


def run(args: argparse.Namespace) -> int:
    """``simlib compare``: write comparison.xlsx, comparison.ipynb, comparison.html and the
    figures into the output folder; 0 when done, 1 when the report notebook failed."""
    from simlib.compare_figures import execute_report
    from simlib.compare_text import TEXT
    from simlib.compare_workbook import write_comparison_xlsx

    if args.lang not in TEXT:
        raise UserError(f"--lang must be zh or en, not {args.lang!r}")
    comparison = prepare(args.run_dirs, args.baseline)
    out = output_folder(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"simlib: comparing {', '.join(comparison.labels)} into {out}", file=sys.stderr)
    write_comparison_xlsx(comparison, out / "comparison.xlsx", args.lang)
    error = execute_report(comparison, out, args.lang)
    if error:
        print(
            f"simlib: the report failed: {error}\nsimlib: the notebook with the error is "
            f"{out / 'comparison.ipynb'}",
            file=sys.stderr,
        )
        return 1
    print(out)
    return 0


def output_folder(out: str | None) -> Path:
    """The report's folder: ``out`` if it is new or empty, else a new timestamped one."""
    if out is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = Path("outputs") / f"comparison-{stamp}"
        folder, n = base, 1
        while folder.exists():
            n += 1
            folder = base.with_name(f"{base.name}-{n}")
        return folder
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise UserError(f"--out {folder} is a file, not a folder")
    if folder.is_dir() and any(folder.iterdir()):
        raise UserError(f"--out {folder} is not empty: choose a new folder for the comparison")
    return folder
