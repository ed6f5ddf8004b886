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
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from simlib.budget import VIEWS, budget_views
from simlib.errors import UserError
from simlib.files import write_atomic
from simlib.glossary import Lang, check_lang, label, unit

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn: the command starts fast
    from matplotlib.figure import Figure

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "compare_budgets.ipynb"
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


# --- words --------------------------------------------------------------------------

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Scenario comparison: spending, caseloads, beds and plan targets",
        "runs": "Runs compared",
        "baseline_mark": "baseline",
        "flags": "Read with care: the runs differ in their settings",
        "flag_simlib": "simlib version ({values}): part of the differences may come from changes "
        "to the model, not to the parameters.",
        "flag_seed": "seed ({values}): the differences include the noise of different random "
        "streams.",
        "flag_scale": "scale ({values}): the runs simulate different shares of the city, with "
        "different sampling noise.",
        "flag_replicates": "replicates ({values}): bands from different numbers of replicates "
        "are not equally precise.",
        "what_changed": "What changed: parameters that differ from the baseline ({baseline})",
        "same": "same parameters as the baseline",
        "title_col": "Title",
        "folder": "Run folder",
        "seed": "Seed",
        "scale": "Scale",
        "simlib": "simlib version",
        "years": "Years",
        "key": "Parameter",
        "baseline_value": "Baseline value",
        "scenario_value": "This scenario's value",
        "why": "Why (the scenario's assumption or source)",
        "period_total": "{period} total",
        "diff_wan": "Difference from baseline (10,000 yuan)",
        "value": "Projection (mean)",
        "sheet_what_changed": "What changed",
        "sheet_readme": "README",
        "sheet_totals": "Totals",
        "sheet_totals_real": "Totals (real)",
        "sheet_by_programme": "By programme",
        "sheet_by_funder": "By funder",
        "sheet_by_area": "By area",
        "sheet_caseloads": "Caseloads",
        "sheet_beds": "Beds",
        "sheet_targets": "Plan targets",
        "head_totals": "Total spending",
        "head_totals_real": "Total spending, real",
        "head_by_programme": "Spending by programme",
        "head_by_funder": "Spending by level of government",
        "head_by_area": "Spending by area",
        "head_caseloads": "Caseloads (city totals)",
        "head_beds": "Elderly-care beds (city totals)",
        "head_targets": "The plan's targets: status per scenario",
        "money_note": "Unit: 10,000 yuan (万元), nominal (yuan of each year). Band: 5th-95th "
        "percentile across each run's replicates. Difference: scenario mean − baseline mean "
        "(a difference of means, not a band); % of the baseline mean.",
        "real_note": "Unit: 10,000 yuan (万元) of {base}, deflated by the CPI. Band and "
        "difference as on the nominal sheet.",
        "metric_note": "City totals (rates as stated). Band: 5th-95th percentile across each "
        "run's replicates. Difference: scenario mean − baseline mean; % of the baseline mean.",
        "target_note": "Status: met when at least 95% of a run's replicates meet the target, at "
        "risk when at least half do, not met otherwise. Projection: mean across replicates.",
        "wan": "10,000 yuan",
        "h_changed": "What changed",
        "h_totals": "Total spending, side by side",
        "h_difference": "Difference from the baseline, per year",
        "h_breakdown": "By programme, by funder and by area",
        "h_caseloads": "Caseloads",
        "h_beds": "Elderly-care beds",
        "h_targets": "The plan's targets",
        "fig_totals": "Total spending, nominal: mean and 5-95% band",
        "fig_difference": "Total spending: difference from {baseline} (difference of means)",
        "fig_wan": "10,000 yuan",
    },
    "zh": {
        "title": "情景比较：民政资金、救助对象、养老床位与规划目标",
        "runs": "参与比较的运行",
        "baseline_mark": "基准",
        "flags": "注意：各次运行的设置不同",
        "flag_simlib": "simlib版本不同（{values}）：差异可能部分来自模型本身的改动，而非参数。",
        "flag_seed": "随机种子不同（{values}）：差异中包含不同随机数序列带来的波动。",
        "flag_scale": "模拟规模不同（{values}）：各次运行模拟的人口比例不同，抽样误差不同。",
        "flag_replicates": "重复模拟次数不同（{values}）：各区间的精度不同。",
        "what_changed": "情景差异：与基准情景（{baseline}）不同的参数",
        "same": "参数与基准情景相同",
        "title_col": "名称",
        "folder": "运行文件夹",
        "seed": "随机种子",
        "scale": "模拟规模",
        "simlib": "simlib版本",
        "years": "年份",
        "key": "参数",
        "baseline_value": "基准情景取值",
        "scenario_value": "本情景取值",
        "why": "依据（本情景的假设或来源）",
        "period_total": "{period}合计",
        "diff_wan": "与基准差额（万元）",
        "value": "预测值（均值）",
        "sheet_what_changed": "情景差异",
        "sheet_readme": "说明",
        "sheet_totals": "支出合计",
        "sheet_totals_real": "支出合计（不变价）",
        "sheet_by_programme": "按项目",
        "sheet_by_funder": "按资金来源",
        "sheet_by_area": "按地区",
        "sheet_caseloads": "救助对象",
        "sheet_beds": "养老床位",
        "sheet_targets": "规划目标",
        "head_totals": "支出合计",
        "head_totals_real": "支出合计（不变价）",
        "head_by_programme": "分项目支出",
        "head_by_funder": "分资金来源支出",
        "head_by_area": "分地区支出",
        "head_caseloads": "救助对象（全市合计）",
        "head_beds": "养老床位（全市合计）",
        "head_targets": "规划目标：各情景达成情况",
        "money_note": "单位：万元，名义值（当年价格）。区间：各次运行重复模拟结果的5%-95%分位数。"
        "差额：本情景均值减基准情景均值（均值之差，不是区间）；百分比为占基准情景均值的比例。",
        "real_note": "单位：万元，{base}年价格（按居民消费价格指数折算）。区间和差额同名义值表。",
        "metric_note": "全市合计（比率指标按其定义）。区间：各次运行重复模拟结果的5%-95%分位数。"
        "差额：本情景均值减基准情景均值；百分比为占基准情景均值的比例。",
        "target_note": "状态：至少95%的重复模拟达到目标为“达成”，至少一半达到为“有风险”，"
        "否则为“未达成”。预测值为各次重复模拟的均值。",
        "wan": "万元",
        "h_changed": "情景差异：改变了什么",
        "h_totals": "支出合计对比",
        "h_difference": "与基准情景的逐年差额",
        "h_breakdown": "分项目、分资金来源、分地区支出",
        "h_caseloads": "救助对象",
        "h_beds": "养老床位",
        "h_targets": "规划目标",
        "fig_totals": "支出合计（名义值）：均值及5%-95%区间",
        "fig_difference": "支出合计：与{baseline}的差额（均值之差）",
        "fig_wan": "万元",
    },
}


TERMS = {"diff": "difference_from_baseline", "diff_pct": "percent_difference"}
"""Headings taken from the glossary's terms under another name."""


def text(key: str, lang: Lang, **values: Any) -> str:
    """A heading or note of the comparison in ``lang``: its own words, else the glossary's
    term (:func:`simlib.glossary.label`)."""
    words = TEXT[check_lang(lang)].get(key)
    if words is None:
        words = label("terms", TERMS.get(key, key), lang)
    return words.format(**values) if values else words


def period_label(period: str, first: int, last: int, lang: Lang) -> str:
    return period if first == last else text("period_total", lang, period=period)


def key_label(key: str, value: str, lang: Lang, run: Run | None = None) -> str:
    """The label of a programme, funder or area (areas by the run's own names)."""
    if key == "area" and run is not None:
        names = run.params["areas"].get(value, {}).get("name", {})
        if lang in names:
            return str(names[lang])
    kinds = {"programme": "programmes", "funder": "funders", "area": "areas"}
    return label(kinds[key], value, lang)


def flag_lines(comparison: Comparison, lang: Lang) -> list[str]:
    """One sentence per setting in which the runs differ."""
    return [text(f"flag_{f.setting}", lang, values=f.values) for f in comparison.flags.itertuples()]


def target_label(target: str, label_zh: Any, lang: Lang) -> str:
    """A plan target's name: its Chinese label in Chinese when it has one."""
    has_zh = isinstance(label_zh, str) and label_zh.strip()
    return str(label_zh) if lang == "zh" and has_zh else str(target)


# --- views for the report -----------------------------------------------------------


def runs_view(comparison: Comparison, lang: Lang) -> pd.DataFrame:
    """The runs compared, one row each, headings in ``lang``."""
    t = comparison.tables["runs"]
    mark = text("baseline_mark", lang)
    return pd.DataFrame(
        {
            text("scenario", lang): [
                f"{s} ({mark})" if b else s for s, b in zip(t.scenario, t.baseline, strict=True)
            ],
            text("title_col", lang): t[f"title_{lang}"],
            text("seed", lang): t.seed,
            text("replicates", lang): t.replicates,
            text("scale", lang): t.scale,
            text("simlib", lang): t.simlib,
            text("years", lang): t.years,
            text("folder", lang): t.run_dir,
        }
    ).set_index(text("scenario", lang))


def diff_view(comparison: Comparison, scenario: str, lang: Lang) -> pd.DataFrame:
    """The changed parameters of one scenario, headings in ``lang``."""
    d = comparison.tables["diff"]
    d = d[d.scenario == scenario]
    return pd.DataFrame(
        {
            text("key", lang): d.key,
            text("baseline_value", lang): d.baseline,
            text("scenario_value", lang): d.value,
            text("why", lang): d.why,
        }
    ).set_index(text("key", lang))


def period_view(comparison: Comparison, view: str, period: str, lang: Lang) -> pd.DataFrame:
    """One period's spending (万元) by programme, funder or area, the scenarios side by side:
    each one's mean, and for the others the difference from the baseline in 万元 and %."""
    table = comparison.tables[view]
    key = VIEWS[view]
    rows = table[table.period == period]
    if key is None:
        rows = rows.assign(total=text("total", lang))
        key = "total"
        keys, shown = [text("total", lang)], [text("total", lang)]
    else:
        keys = list(pd.unique(rows[key]))
        shown = [key_label(key, k, lang, comparison.runs[0]) for k in keys]
    out = pd.DataFrame(index=pd.Index(shown, name=text(VIEWS[view] or "period", lang)))
    for name in comparison.labels:
        mine = rows[rows.scenario == name].set_index(key).reindex(keys)
        out[(name, text("mean", lang))] = (mine["mean"] / WAN).to_numpy()
        if name != comparison.baseline:
            out[(name, text("diff_wan", lang))] = (mine["diff"] / WAN).to_numpy()
            out[(name, text("diff_pct", lang))] = mine["diff_pct"].to_numpy()
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    return out.round(1)


def metric_view(
    comparison: Comparison, name: str, years: Sequence[int], lang: Lang
) -> pd.DataFrame:
    """Caseloads or beds in ``years``: per metric and year, each scenario's mean, and for the
    others the difference from the baseline (and in %)."""
    table = comparison.tables[name]
    rows = table[table.year.isin(years)]
    keys = rows[["metric", "year"]].drop_duplicates()
    index = pd.MultiIndex.from_tuples(
        [(metric_label(m, lang), int(y)) for m, y in keys.itertuples(index=False)],
        names=[text("metric", lang), text("year", lang)],
    )
    out = pd.DataFrame(index=index)
    base = comparison.baseline
    lookup = rows.set_index(["scenario", "metric", "year"])
    for s in comparison.labels:
        at = [(s, m, y) for m, y in keys.itertuples(index=False)]
        mine = lookup.reindex(at)
        out[(s, text("mean", lang))] = mine["mean"].to_numpy()
        if s != base:
            out[(s, text("diff", lang))] = mine["diff"].to_numpy()
            out[(s, text("diff_pct", lang))] = mine["diff_pct"].to_numpy()
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    return out.round(2)


def metric_label(metric: str, lang: Lang) -> str:
    """The metric's name and unit in ``lang``."""
    name, u = label("metrics", metric, lang), unit(metric, lang)
    return f"{name}（{u}）" if lang == "zh" else f"{name} ({u})"


def periods(comparison: Comparison) -> list[str]:
    """The period totals of the comparison, e.g. ``["2016-2020", "2016-2030"]``."""
    t = comparison.tables["totals"]
    return list(pd.unique(t.loc[t.first_year != t.last_year, "period"]))


def yearly_difference_view(comparison: Comparison, lang: Lang, real: bool = False) -> pd.DataFrame:
    """Total spending per year: each other scenario's difference from the baseline (万元, %)."""
    t = comparison.tables["totals_real" if real else "totals"]
    t = t[t.first_year == t.last_year]
    out = pd.DataFrame(index=pd.Index(sorted(t.first_year.unique()), name=text("year", lang)))
    for s in comparison.labels[1:]:
        mine = t[t.scenario == s].set_index("first_year").reindex(out.index)
        out[(s, text("diff_wan", lang))] = (mine["diff"] / WAN).to_numpy()
        out[(s, text("diff_pct", lang))] = mine["diff_pct"].to_numpy()
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    return out.round(1)


def targets_view(comparison: Comparison, lang: Lang) -> pd.DataFrame:
    """The plan's targets, one row per target and year (the index): the threshold, and each
    scenario's projection (mean across replicates) and status, in ``lang``."""
    t = comparison.tables["targets"]
    if t.empty:
        return pd.DataFrame()
    keys = t[["target", "year"]].drop_duplicates()
    first = t.drop_duplicates(["target", "year"]).set_index(["target", "year"])
    lookup = t.set_index(["scenario", "target", "year"])
    rows, index = [], []
    for target, year in keys.itertuples(index=False):
        info = first.loc[(target, year)]
        index.append((target_label(target, info.get("label_zh"), lang), int(year)))
        threshold = f"{text(info.comparison, lang)} {format(float(info.threshold), '.4g')}"
        row: dict[tuple[str, str], Any] = {(text("threshold", lang), ""): threshold}
        for s in comparison.labels:
            mine = lookup.loc[(s, target, year)] if (s, target, year) in lookup.index else None
            row[(s, text("value", lang))] = np.nan if mine is None else float(mine.value)
            row[(s, text("status", lang))] = (
                ABSENT if mine is None else label("statuses", str(mine.status), lang)
            )
        rows.append(row)
    names = [text("target", lang), text("year", lang)]
    out = pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(index, names=names))
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    return out


# --- the workbook -------------------------------------------------------------------

BOLD = Font(bold=True)
TITLE = Font(bold=True, size=13)
WARN = Font(bold=True, color="C00000")
HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
BASE_FILL = PatternFill("solid", fgColor="FFF2CC")
PERIOD_FILL = PatternFill("solid", fgColor="F2F2F2")
WRAP = Alignment(wrap_text=True, vertical="top")
MONEY, COUNT, RATE, PCT = "#,##0.0", "#,##0", "0.000", "0.0"
BLOCK_STATS = ("mean", "p05", "p95")
SHEETS = (
    "what_changed",
    "readme",
    "totals",
    "totals_real",
    "by_programme",
    "by_funder",
    "by_area",
    "caseloads",
    "beds",
    "targets",
)
"""The workbook's sheets, in order."""


def write_comparison_xlsx(comparison: Comparison, path: str | Path, lang: Lang = "zh") -> Path:
    """Write the comparison as a workbook; its path (written whole or not at all).

    Sheets: what changed (the flags, then each scenario's changed parameters), a README,
    total spending nominal and real, by programme, by funder, by area (万元), caseloads,
    beds, and the plan targets.  Each table sheet has the scenarios side by side, one
    block of columns each (mean, 5th and 95th percentile, and for the scenarios other
    than the baseline the difference from it and in %).
    """
    lang = check_lang(lang)
    wb = Workbook()
    _what_changed_sheet(wb.active, comparison, lang)
    _readme_sheet(wb.create_sheet(text("sheet_readme", lang)), comparison, lang)
    base_year = comparison.runs[0].years[0]
    for view in ("totals", "totals_real", *(v for v in VIEWS if v != "totals")):
        key = VIEWS.get(view)
        note = text("real_note", lang, base=base_year) if view == "totals_real" else None
        _block_sheet(
            wb.create_sheet(text(f"sheet_{view}", lang)),
            comparison,
            view,
            keys=["period", "first_year", "last_year", *([key] if key else [])],
            shown=[(text("period", lang), lambda r: _period_cell(r, lang))]
            + ([(text(key, lang), _key_cell(key, lang, comparison.runs[0]))] if key else []),
            lang=lang,
            note=note or text("money_note", lang),
            number=lambda _r: (MONEY, WAN),
            shade=lambda r: r.first_year != r.last_year,
        )
    for name in ("caseloads", "beds"):
        _block_sheet(
            wb.create_sheet(text(f"sheet_{name}", lang)),
            comparison,
            name,
            keys=["metric", "year"],
            shown=[
                (text("metric", lang), lambda r: label("metrics", r.metric, lang)),
                (text("unit", lang), lambda r: unit(r.metric, lang)),
                (text("year", lang), lambda r: int(r.year)),
            ],
            lang=lang,
            note=text("metric_note", lang),
            number=lambda r: (COUNT if _is_count(r.unit) else RATE, 1.0),
            shade=lambda r: False,
        )
    _targets_sheet(wb.create_sheet(text("sheet_targets", lang)), comparison, lang)
    return write_atomic(Path(path), wb.save)


def _is_count(unit_text: str) -> bool:
    return not any(w in str(unit_text) for w in ("share", "ratio", "per", "/"))


def _period_cell(row: Any, lang: Lang) -> Any:
    if row.first_year == row.last_year:
        return int(row.first_year)
    return period_label(row.period, row.first_year, row.last_year, lang)


def _key_cell(key: str, lang: Lang, run: Run) -> Any:
    return lambda row: key_label(key, getattr(row, key), lang, run)


def _title(ws: Worksheet, title: str, note: str | None = None) -> None:
    ws.cell(1, 1, title).font = TITLE
    if note:
        ws.cell(2, 1, note)


def _head(cell: Any, fill: PatternFill = HEAD_FILL) -> None:
    cell.font = BOLD
    cell.fill = fill
    cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _what_changed_sheet(ws: Worksheet, c: Comparison, lang: Lang) -> None:
    ws.title = text("sheet_what_changed", lang)
    _title(ws, text("what_changed", lang, baseline=c.baseline))
    row = 3
    if not c.flags.empty:
        ws.cell(row, 1, text("flags", lang)).font = WARN
        for line in flag_lines(c, lang):
            row += 1
            ws.cell(row, 1, line).font = WARN
        row += 2
    headings = ["scenario", "key", "baseline_value", "scenario_value", "why"]
    for j, h in enumerate(headings, start=1):
        _head(ws.cell(row, j, text(h, lang)))
    ws.freeze_panes = ws.cell(row + 1, 1)
    diff = c.tables["diff"]
    for name in c.labels[1:]:
        mine = diff[diff.scenario == name]
        if mine.empty:
            row += 1
            ws.cell(row, 1, name)
            ws.cell(row, 2, text("same", lang))
        for d in mine.itertuples(index=False):
            row += 1
            for j, value in enumerate((name, d.key, d.baseline, d.value, d.why), start=1):
                ws.cell(row, j, value).alignment = WRAP
    for col, width in zip("ABCDE", (18, 48, 30, 30, 70), strict=True):
        ws.column_dimensions[col].width = width


def _readme_sheet(ws: Worksheet, c: Comparison, lang: Lang) -> None:
    _title(ws, text("title", lang))
    runs = c.tables["runs"]
    view = runs_view(c, lang).reset_index()
    for j, h in enumerate(view.columns, start=1):
        _head(ws.cell(3, j, h))
    for i, r in enumerate(view.itertuples(index=False), start=4):
        for j, value in enumerate(r, start=1):
            ws.cell(i, j, value)
        if bool(runs.baseline.iloc[i - 4]):
            for j in range(1, len(view.columns) + 1):
                ws.cell(i, j).fill = BASE_FILL
    sheets = [text(f"sheet_{n}", lang) for n in SHEETS]
    notes = [
        (text("baseline", lang), c.baseline),
        (text("spending", lang), text("money_note", lang)),
        (text("real", lang), text("real_note", lang, base=c.runs[0].years[0])),
        (f"{text('h_caseloads', lang)}, {text('h_beds', lang)}", text("metric_note", lang)),
        (text("target", lang), text("target_note", lang)),
        *((text("flags", lang), line) for line in flag_lines(c, lang)),
        (text("contents", lang), ", ".join(sheets)),
    ]
    last = len(view.columns)
    for row, (item, note) in enumerate(notes, start=5 + len(view)):
        ws.cell(row, 1, item).font = WARN if item == text("flags", lang) else BOLD
        ws.cell(row, 1).alignment = WRAP
        ws.cell(row, 2, note).alignment = WRAP
        ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=last)
        ws.row_dimensions[row].height = 15 * max(1, -(-len(note) // (70 if lang == "zh" else 140)))
    for j, width in enumerate((22, 40, 12, 12, 10, 14, 12, 60), start=1):
        ws.column_dimensions[get_column_letter(j)].width = width


def _block_sheet(
    ws: Worksheet,
    c: Comparison,
    name: str,
    *,
    keys: list[str],
    shown: list[tuple[str, Any]],
    lang: Lang,
    note: str,
    number: Any,
    shade: Any,
) -> None:
    """Title and note, a two-level header (scenario × statistic), one row per key."""
    table = c.tables[name]
    _title(ws, text(f"head_{name}", lang), note)
    n = len(shown)
    for j, (heading, _) in enumerate(shown, start=1):
        _head(ws.cell(3, j))
        _head(ws.cell(4, j, heading))
    blocks: list[tuple[str, list[str]]] = []
    col = n + 1
    for s in c.labels:
        stats = [*BLOCK_STATS, *(("diff", "diff_pct") if s != c.baseline else ())]
        fill = BASE_FILL if s == c.baseline else HEAD_FILL
        heading = f"{s} ({text('baseline_mark', lang)})" if s == c.baseline else s
        _head(ws.cell(3, col, heading), fill)
        ws.merge_cells(start_row=3, start_column=col, end_row=3, end_column=col + len(stats) - 1)
        for k, stat in enumerate(stats):
            _head(ws.cell(4, col + k, text(stat, lang)), fill)
        blocks.append((s, stats))
        col += len(stats)
    lookup = {(r.scenario, *(getattr(r, k) for k in keys)): r for r in table.itertuples()}
    order = table[keys].drop_duplicates()
    for i, key in enumerate(order.itertuples(index=False), start=5):
        sample = lookup.get((c.baseline, *key)) or next(
            r for k, r in lookup.items() if tuple(k[1:]) == tuple(key)
        )
        for j, (_, cell) in enumerate(shown, start=1):
            ws.cell(i, j, cell(sample))
        fmt, divisor = number(sample)
        j = n + 1
        for s, stats in blocks:
            r = lookup.get((s, *key))
            for stat in stats:
                value = None if r is None else getattr(r, stat)
                if value is not None and not pd.isna(value):
                    value = float(value) if stat == "diff_pct" else float(value) / divisor
                    ws.cell(i, j, round(value, 6)).number_format = (
                        PCT if stat == "diff_pct" else fmt
                    )
                j += 1
        if shade(sample):
            for jj in range(1, j):
                ws.cell(i, jj).fill = PERIOD_FILL
                ws.cell(i, jj).font = BOLD
    ws.freeze_panes = ws.cell(5, n + 1)
    ws.auto_filter.ref = f"A4:{get_column_letter(col - 1)}{4 + len(order)}"
    for j in range(1, n + 1):
        ws.column_dimensions[get_column_letter(j)].width = 30 if j == 1 and n > 2 else 16
    if n == 2:
        ws.column_dimensions["B"].width = 34
    for j in range(n + 1, col):
        ws.column_dimensions[get_column_letter(j)].width = 13
    ws.row_dimensions[4].height = 32


def _targets_sheet(ws: Worksheet, c: Comparison, lang: Lang) -> None:
    _title(ws, text("head_targets", lang), text("target_note", lang))
    view = targets_view(c, lang)
    if view.empty:
        return
    heads = [*((name, "") for name in view.index.names), *view.columns]
    for j, (top, sub) in enumerate(heads, start=1):
        fill = BASE_FILL if top == c.baseline else HEAD_FILL
        first = j == 1 or heads[j - 2][0] != top
        _head(ws.cell(3, j, top if first and sub else None), fill)
        _head(ws.cell(4, j, sub or top), fill)
        if sub and first:  # the scenario's heading over its two columns
            ws.merge_cells(start_row=3, start_column=j, end_row=3, end_column=j + 1)
    for i, (key, r) in enumerate(zip(view.index, view.itertuples(index=False), strict=True), 5):
        for j, value in enumerate((*key, *r), start=1):
            cell = ws.cell(i, j, None if isinstance(value, float) and np.isnan(value) else value)
            if isinstance(value, float):
                cell.number_format = "#,##0.000"
    ws.freeze_panes = ws.cell(5, 4)
    ws.column_dimensions["A"].width = 50
    for j in range(2, len(heads) + 1):
        ws.column_dimensions[get_column_letter(j)].width = 8 if j == 2 else 14


# --- figures ------------------------------------------------------------------------

BASE_COLOUR = "#444444"


def colours(comparison: Comparison) -> dict[str, Any]:
    """A colour per scenario: dark grey for the baseline, then tab10."""
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("tab10")
    return {
        s: BASE_COLOUR if i == 0 else cmap((i - 1) % 10) for i, s in enumerate(comparison.labels)
    }


def _fan(
    ax: Any, x: Any, mean: Any, low: Any, high: Any, colour: Any, name: str, base: bool
) -> None:
    """A scenario's mean (a line) and band (shaded); the baseline dashed and drawn on top, so
    that it shows where a scenario's line lies on it."""
    ax.fill_between(x, low, high, color=colour, alpha=0.15, lw=0)
    style = {"ls": "--", "lw": 1.6, "zorder": 5} if base else {"lw": 2.0}
    ax.plot(x, mean, color=colour, label=name, **style)


def _baseline_last(comparison: Comparison) -> list[tuple[str, Any]]:
    return list(colours(comparison).items())[::-1]


def spending_fans(comparison: Comparison, lang: Lang, real: bool = False) -> Figure:
    """Total spending per year, each scenario's mean and 5-95% band (万元)."""
    import matplotlib.pyplot as plt

    table = comparison.tables["totals_real" if real else "totals"]
    years = table[table.first_year == table.last_year]
    fig, ax = plt.subplots(figsize=(8, 4.2))
    for s, colour in _baseline_last(comparison):
        mine = years[years.scenario == s]
        x, base = mine.first_year, s == comparison.baseline
        _fan(ax, x, mine["mean"] / WAN, mine.p05 / WAN, mine.p95 / WAN, colour, s, base)
    _finish(
        ax, text("fig_totals", lang), text("year", lang), text("fig_wan", lang), comparison.labels
    )
    return fig


def difference_bars(comparison: Comparison, lang: Lang, view: str = "totals") -> Figure:
    """The difference of each scenario's mean total spending from the baseline's, per year
    (万元), grouped bars."""
    import matplotlib.pyplot as plt

    table = comparison.tables[view]
    years = table[(table.first_year == table.last_year) & (table.scenario != comparison.baseline)]
    others = comparison.labels[1:]
    width = 0.8 / max(len(others), 1)
    fig, ax = plt.subplots(figsize=(8, 4.2))
    palette = colours(comparison)
    for i, s in enumerate(others):
        mine = years[years.scenario == s]
        x = mine.first_year.to_numpy(float) - 0.4 + width * (i + 0.5)
        ax.bar(x, mine["diff"] / WAN, width=width, color=palette[s], label=s)
    ax.axhline(0, color="black", lw=0.8)
    title = text("fig_difference", lang, baseline=comparison.baseline)
    _finish(ax, title, text("year", lang), text("fig_wan", lang))
    return fig


def metric_fans(comparison: Comparison, name: str, lang: Lang, columns: int = 3) -> Figure:
    """Small multiples: one panel per metric of ``caseloads`` or ``beds``, each scenario's
    mean and 5-95% band per year."""
    import matplotlib.pyplot as plt

    table = comparison.tables[name]
    metrics = list(pd.unique(table.metric))
    rows = -(-len(metrics) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.0 * rows), squeeze=False)
    for ax, metric in zip(axes.flat, metrics, strict=False):
        for s, colour in _baseline_last(comparison):
            mine = table[(table.metric == metric) & (table.scenario == s)]
            base = s == comparison.baseline
            _fan(ax, mine.year, mine["mean"], mine.p05, mine.p95, colour, s, base)
        ax.set_title(label("metrics", metric, lang), fontsize=9)
        ax.set_ylabel(unit(metric, lang), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(metrics) :]:
        ax.set_visible(False)
    _legend(axes.flat[0], comparison.labels, fontsize=7)
    fig.tight_layout()
    return fig


def _legend(ax: Any, order: Sequence[str] | None, fontsize: int) -> None:
    """The legend, its entries in ``order`` (the scenarios' order) whatever the drawing order."""
    handles, names = ax.get_legend_handles_labels()
    rank = {n: i for i, n in enumerate(order or names)}
    pairs = sorted(zip(handles, names, strict=True), key=lambda hn: rank.get(hn[1], len(rank)))
    ax.legend([h for h, _ in pairs], [n for _, n in pairs], frameon=False, fontsize=fontsize)


def _finish(
    ax: Any, title: str, xlabel: str, ylabel: str, order: Sequence[str] | None = None
) -> None:
    from matplotlib.ticker import StrMethodFormatter

    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.grid(alpha=0.3, axis="y")
    _legend(ax, order, fontsize=8)
    ax.figure.tight_layout()


def save_figure(fig: Figure, folder: str | Path | None, name: str) -> bytes:
    """The figure as PNG, drawn once; saved as ``folder/name.png`` (whole or not at all) when
    there is a folder.  The figure is closed."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=110, format="png")
    plt.close(fig)
    data = buffer.getvalue()
    if folder is not None:
        write_atomic(Path(folder) / f"{name}.png", lambda p: p.write_bytes(data))
    return data


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


def execute_report(comparison: Comparison, out: Path, lang: Lang) -> str | None:
    """Execute the comparison notebook into ``out`` and export it as HTML without the code;
    the error text, or None when it ran."""
    import papermill

    target = out / "comparison.ipynb"
    partial = out / f".comparison-tmp-{os.getpid()}.ipynb"
    try:
        papermill.execute_notebook(
            str(NOTEBOOK),
            str(partial),
            parameters={
                "run_dirs": [str(r.path.resolve()) for r in comparison.runs],
                "baseline": str(comparison.runs[0].path.resolve()),
                "lang": lang,
                "out_dir": str(out.resolve()),
            },
            kernel_name="python3",
            progress_bar=False,
            cwd=str(NOTEBOOK.parent),
        )
    except papermill.PapermillExecutionError as e:
        return f"{e.ename}: {e.evalue} (cell {e.exec_count})"
    except KeyboardInterrupt:
        return "interrupted"
    except Exception as e:  # the kernel died, the notebook could not be read, ...
        return f"{type(e).__name__}: {e}"
    finally:
        if partial.exists():
            os.replace(partial, target)
    export_html(target, text("title", lang))
    return None


def export_html(notebook: Path, title: str = "") -> Path:
    """The notebook as HTML beside it, without the code cells' inputs and without the cells
    tagged ``notebook-only``; ``title`` is the page's title."""
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_cell_tags={"notebook-only"}, enabled=True), enabled=True
    )
    nb = nbformat.read(notebook, as_version=4)
    if title:
        nb.metadata["title"] = title
    body, _ = exporter.from_notebook_node(nb)
    return write_atomic(notebook.with_suffix(".html"), lambda p: p.write_text(body, "utf-8"))
