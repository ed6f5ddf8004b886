"""The comparison in words (情景比较): headings, labels and display tables in English or Chinese.

The wording of the comparison report and workbook (:data:`TEXT`, one entry per key in
each language; a key it lacks is a term of the glossary, :func:`simlib.glossary.label`),
the labels of periods, programmes, funders, areas, metrics and plan targets, and the
views: the long tables of :func:`simlib.compare.comparison_tables` reshaped for a reader,
the scenarios side by side, headings in ``lang`` and money in 万元.  Shared by the
workbook (:mod:`simlib.compare_workbook`) and the report notebook
(``notebooks/compare_budgets.ipynb``, with :mod:`simlib.compare_figures`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from simlib.budget import VIEWS
from simlib.compare import ABSENT, WAN, Comparison, Run
from simlib.glossary import Lang, check_lang, label, unit

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
