"""The budget (民政资金预算测算): the ledger summed for finance staff, and its workbook.

The ledger (:mod:`simlib.ledger`) books every yuan the model pays to a programme,
area, stratum and level of government (中央 / 省级 / 市级 / 县(区)级财政资金) in
each year of each replicate.  The budget views sum it the way a finance office
reads a budget: by programme, by funder, by area, and in total, for each year and
for whole periods (the plan period "十三五" 2016-2020 and the run's first-last
year).  Every number is a band across replicates: each replicate's total is
summed first (for a period, the sum of its years within the replicate), then the
mean and the 5th, 50th and 95th percentiles are taken across replicates
(不确定性区间, as :func:`simlib.results.summarise`).  Means add up across the
parts of a view; percentiles do not.

Nominal amounts (名义值) are yuan of each year; real amounts (实际值) are yuan of
the base year, deflated by the CPI (``amount_real`` of the ledger).  The
workbook shows both in 万元 (10,000 yuan).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from simlib.files import write_atomic
from simlib.glossary import Lang, check_lang, label
from simlib.ledger import FUNDERS, PROGRAMMES

PLAN_PERIOD = (2016, 2020)
"""The 13th five-year plan period ("十三五"时期), reported as a period total."""

VIEWS = {
    # view name -> the ledger column it sums by (None: the city's total)
    "by_programme": "programme",
    "by_funder": "funder",
    "by_area": "area",
    "totals": None,
}
STATS = ("mean", "p05", "p50", "p95")
LEDGER_COLUMNS = ("scenario", "replicate", "year", "area", "programme", "funder", "amount")
WAN = 10_000.0  # yuan in one 万元


# --- the views ----------------------------------------------------------------------


def budget_views(
    ledger: pd.DataFrame,
    *,
    real: bool = False,
    periods: Sequence[tuple[int, int]] | None = None,
) -> dict[str, pd.DataFrame]:
    """The budget by programme, funder, area and in total, with bands across replicates.

    Each view is a long table with columns ``period`` (``"2017"`` for a year,
    ``"2016-2020"`` for a period total), ``first_year``, ``last_year``, the key
    (``programme`` / ``funder`` / ``area``; none in ``totals``) and ``mean``,
    ``p05``, ``p50``, ``p95`` in yuan: the years in order, then the periods, and
    within each the keys in registry order (areas in ledger order).  ``periods``
    are (first, last) year pairs; by default the plan period 2016-2020 (when the
    run covers it) and the run's first-last year.  ``real`` sums ``amount_real``
    instead of ``amount``.
    """
    column = "amount_real" if real else "amount"
    _check(ledger, column)
    years = sorted(int(y) for y in ledger["year"].unique())
    spans = default_periods(years) if periods is None else _checked_periods(periods, years)
    return {
        name: _view(ledger, key, column, years, spans, _order(ledger, key))
        for name, key in VIEWS.items()
    }


def default_periods(years: Sequence[int]) -> list[tuple[int, int]]:
    """The plan period when every year of it is in ``years``, and the whole run."""
    first, last = min(years), max(years)
    spans = []
    if set(range(PLAN_PERIOD[0], PLAN_PERIOD[1] + 1)) <= set(years):
        spans.append(PLAN_PERIOD)
    if (first, last) not in spans and first < last:
        spans.append((first, last))
    return spans


def yearly(view: pd.DataFrame) -> pd.DataFrame:
    """The year rows of a view, with an integer ``year`` column instead of the period."""
    rows = view[view.first_year == view.last_year]
    rows = rows.drop(columns=["period", "last_year"]).rename(columns={"first_year": "year"})
    return rows.reset_index(drop=True)


def _check(ledger: pd.DataFrame, column: str) -> None:
    missing = [c for c in (*LEDGER_COLUMNS, column) if c not in ledger.columns]
    if missing:
        raise ValueError(f"the ledger has no column {missing}")
    if ledger.empty:
        raise ValueError("the ledger is empty")
    if ledger["scenario"].nunique() != 1:
        raise ValueError(
            "the ledger holds several scenarios "
            f"{sorted(ledger['scenario'].unique())}: bands are across replicates of one"
        )
    if ledger[column].isna().any():
        raise ValueError(f"the ledger's {column} has missing values")


def _checked_periods(
    periods: Sequence[tuple[int, int]], years: Sequence[int]
) -> list[tuple[int, int]]:
    for first, last in periods:
        if first >= last:
            raise ValueError(f"a period spans at least two years, not {first}-{last}")
        if first < years[0] or last > years[-1]:
            raise ValueError(f"period {first}-{last} is not within the run {years[0]}-{years[-1]}")
    return [(int(a), int(b)) for a, b in periods]


def _order(ledger: pd.DataFrame, key: str | None) -> list[str]:
    """The keys in report order: the registry's for programmes and funders."""
    if key is None:
        return []
    present = list(pd.unique(ledger[key]))
    registry = {"programme": list(PROGRAMMES), "funder": list(FUNDERS)}.get(key, [])
    return [k for k in registry if k in present] + [k for k in present if k not in registry]


def _view(
    ledger: pd.DataFrame,
    key: str | None,
    column: str,
    years: list[int],
    spans: list[tuple[int, int]],
    keys: list[str],
) -> pd.DataFrame:
    """Replicate × year × key totals, then the bands for the years and the periods."""
    replicates = sorted(ledger["replicate"].unique())
    cells = ["replicate", "year"] + ([key] if key else [])
    data = ledger[[*cells, column]].astype({c: str for c in cells[2:]})
    sums = data.groupby(cells, observed=True)[column].sum()
    # a dense array (replicate, year, key): a combination missing from the ledger is zero
    full = pd.MultiIndex.from_product([replicates, years] + ([keys] if key else []), names=cells)
    arr = sums.reindex(full, fill_value=0.0).to_numpy(float)
    arr = arr.reshape(len(replicates), len(years), max(len(keys), 1))
    year_index = {y: i for i, y in enumerate(years)}
    rows = [(str(y), y, y, arr[:, year_index[y], :]) for y in years]
    for first, last in spans:
        inside = [year_index[y] for y in years if first <= y <= last]
        rows.append((f"{first}-{last}", first, last, arr[:, inside, :].sum(axis=1)))
    frames = []
    for period, first, last, totals in rows:  # totals: (replicate, key)
        frame = pd.DataFrame(
            {
                "period": period,
                "first_year": first,
                "last_year": last,
                "mean": totals.mean(axis=0),
                "p05": np.quantile(totals, 0.05, axis=0),
                "p50": np.quantile(totals, 0.50, axis=0),
                "p95": np.quantile(totals, 0.95, axis=0),
            }
        )
        if key:
            frame.insert(3, key, keys)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


# --- labels -------------------------------------------------------------------------


def programme_label(name: str, lang: Lang = "en") -> str:
    return label("programmes", name, lang)


def funder_label(name: str, lang: Lang = "en") -> str:
    return label("funders", name, lang)


def area_label(
    code: str, lang: Lang = "en", area_names: dict[str, tuple[str, str]] | None = None
) -> str:
    """The scenario's name of the area (``area_names``: code -> (English, Chinese)), else
    the glossary's, else the code."""
    names = (area_names or {}).get(code)
    if names is None:
        return label("areas", code, lang)
    return names[1 if check_lang(lang) == "zh" else 0]


def key_label(
    key: str, value: str, lang: Lang, area_names: dict[str, tuple[str, str]] | None = None
) -> str:
    """The label of ``value`` of the ledger column ``key`` (programme, funder or area)."""
    if key == "programme":
        return programme_label(value, lang)
    if key == "funder":
        return funder_label(value, lang)
    return area_label(value, lang, area_names)


# --- the workbook -------------------------------------------------------------------

HEADINGS = ("readme", "programme", "funder", "area", "period", "mean", "p05", "p50", "p95")
"""The workbook's headings that are glossary terms (:mod:`simlib.glossary`)."""
VIEW_TITLES = {
    "by_programme": "spending_by_programme",
    "by_funder": "spending_by_funder",
    "by_area": "spending_by_area",
    "totals": "total_spending",
}
"""Each view's title, a glossary term."""

TEXT = {
    "en": {
        "by_programme": "By programme",
        "by_funder": "By funder",
        "by_area": "By area",
        "totals": "Totals",
        "period_total": "{period} total",
        "nominal": "Nominal (yuan of each year), 10,000 yuan",
        "real": "Real ({base} yuan, CPI-deflated), 10,000 yuan",
        "units": (
            "Unit: 10,000 yuan (万元). Band: across {n} replicates (mean, 5th, 50th, 95th "
            "percentile of the replicate totals). Rows marked 'total' are sums over the "
            "years of a period ({periods})."
        ),
        "title": "Civil-affairs spending projection, scenario {scenario}",
    },
    "zh": {
        "by_programme": "按项目",
        "by_funder": "按资金来源",
        "by_area": "按地区",
        "totals": "合计",
        "period_total": "{period}合计",
        "nominal": "名义值（当年价格，万元）",
        "real": "实际值（{base}年价格，按CPI折算，万元）",
        "units": (
            "单位：万元。不确定性区间：{n}次重复模拟的合计的均值、5%、50%、95%分位数。"
            "标“合计”的行为时期内各年之和（{periods}）。"
        ),
        "title": "民政资金支出测算（情景：{scenario}）",
    },
}


def _text(lang: Lang) -> dict[str, str]:
    """The workbook's own phrases and its glossary headings in ``lang``."""
    return TEXT[check_lang(lang)] | {h: label("terms", h, lang) for h in HEADINGS}


def _readme_rows(
    lang: Lang, scenario: str, replicates: int, years: list[int], base: int, spans: list[str]
) -> list[tuple[str, str]]:
    periods = ", ".join(spans) or "-"
    term = {k: label("terms", k, lang) for k in ("scenario", "replicates", "base_year", "unit")}
    if lang == "zh":
        return [
            (term["scenario"], scenario),
            (term["replicates"], str(replicates)),
            ("年份", f"{years[0]}-{years[-1]}"),
            (term["base_year"], f"{base}年（实际值按此年价格）"),
            (term["unit"], "万元（1万元 = 10,000元），保留一位小数"),
            (
                "内容",
                "模型测算的民政资金支出（社会救助和社会福利各项目），"
                "按项目、资金来源（中央、省级、市级、县(区)级财政）、地区及合计汇总。"
                "数据来自本次运行的账户表 ledger.parquet。",
            ),
            (
                "不确定性区间",
                "每次重复模拟先各自求和（时期合计为该次模拟各年之和），"
                "再在各次模拟之间取均值、5%分位数、中位数和95%分位数。"
                "90%的模拟结果落在5%至95%分位数之间。"
                "各分项的均值相加等于合计的均值；分位数不能相加。",
            ),
            (
                "名义值与实际值",
                "名义值为当年价格的元；实际值为按居民消费价格指数(CPI)折算到"
                f"{base}年价格的元，用于不同年份之间的比较。",
            ),
            ("时期合计", f"{periods}：各年之和（“十三五”时期为2016-2020年）。"),
            (
                "工作表",
                "按项目：各项目逐年支出；按资金来源：各级财政承担的支出；"
                "按地区：各县(区)支出；合计：全市支出。每张表左侧为名义值，右侧为实际值。",
            ),
        ]
    return [
        (term["scenario"], scenario),
        (term["replicates"], str(replicates)),
        ("Years", f"{years[0]}-{years[-1]}"),
        (term["base_year"], f"{base} (real amounts are in yuan of this year)"),
        (term["unit"], "10,000 yuan (万元), one decimal"),
        (
            "Contents",
            "Civil-affairs spending projected by the model (social assistance and welfare "
            "programmes), by programme, by funder (central, provincial, municipal, "
            "county/district government), by area and in total; from the run's ledger "
            "(ledger.parquet).",
        ),
        (
            "Bands",
            "Each replicate's total is summed first (a period total is the sum of its years "
            "within the replicate); then the mean, 5th percentile, median and 95th percentile "
            "are taken across replicates. 90% of replicates lie between the 5th and 95th "
            "percentiles. The means of the parts add up to the mean of the total; "
            "percentiles do not add up.",
        ),
        (
            "Nominal and real",
            "Nominal amounts are yuan of each year; real amounts are yuan of "
            f"{base}, deflated by the consumer price index (CPI), to compare years.",
        ),
        (
            "Period totals",
            f"{periods}: sums of their years (2016-2020 is the 13th five-year plan period).",
        ),
        (
            "Sheets",
            "By programme: each programme's spending; By funder: spending borne by each level "
            "of government; By area: spending in each district and county; Totals: the city. "
            "Each sheet shows nominal amounts on the left and real amounts on the right.",
        ),
    ]


def write_budget_xlsx(
    ledger: pd.DataFrame,
    path: str | Path,
    *,
    lang: Lang = "zh",
    area_names: dict[str, tuple[str, str]] | None = None,
    title: str = "",
    base_year: int | None = None,
    periods: Sequence[tuple[int, int]] | None = None,
) -> Path:
    """Write the budget views as a workbook for finance staff; its path.

    Sheets: a README (说明), then one per view (by programme, by funder, by area,
    totals), each with the nominal bands on the left and the real bands on the
    right, in 万元.  ``area_names`` maps area codes to (English, Chinese) names;
    ``base_year`` (of the real amounts) defaults to the year before the ledger's
    first year, as the simulated years start after the base year.  The file is
    written under a temporary name and renamed when complete.
    """
    lang = check_lang(lang)
    nominal = budget_views(ledger, real=False, periods=periods)
    real = budget_views(ledger, real=True, periods=periods)
    years = sorted(int(y) for y in ledger["year"].unique())
    base = years[0] - 1 if base_year is None else base_year
    scenario = str(ledger["scenario"].iloc[0])
    replicates = int(ledger["replicate"].nunique())
    t = _text(lang)
    spans = list(period_labels(nominal["totals"]))
    heading = title or t["title"].format(scenario=scenario)

    wb = Workbook()
    readme = wb.active
    readme.title = t["readme"]
    _write_readme(readme, heading, _readme_rows(lang, scenario, replicates, years, base, spans))
    units = t["units"].format(n=replicates, periods=", ".join(spans) or "-")
    for name, key in VIEWS.items():
        ws = wb.create_sheet(t[name])
        _write_view(ws, nominal[name], real[name], key, lang, area_names, base, units, heading)
    return write_atomic(Path(path), wb.save)


def period_labels(view: pd.DataFrame) -> list[str]:
    """The labels of a view's period totals (the rows that are not single years), in order."""
    return list(pd.unique(view.loc[view.first_year != view.last_year, "period"]))


BOLD = Font(bold=True)
TITLE = Font(bold=True, size=13)
HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
PERIOD_FILL = PatternFill("solid", fgColor="F2F2F2")
NUMBER = "#,##0.0"


def _write_readme(ws: Worksheet, heading: str, rows: list[tuple[str, str]]) -> None:
    ws.cell(1, 1, heading).font = TITLE
    for i, (item, text) in enumerate(rows, start=3):
        ws.cell(i, 1, item).font = BOLD
        cell = ws.cell(i, 2, text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.cell(i, 1).alignment = Alignment(vertical="top")
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 100


def _write_view(
    ws: Worksheet,
    nominal: pd.DataFrame,
    real: pd.DataFrame,
    key: str | None,
    lang: Lang,
    area_names: dict[str, tuple[str, str]] | None,
    base: int,
    units: str,
    heading: str,
) -> None:
    """Title, units, a two-level header (nominal | real × the four statistics), the rows."""
    t = _text(lang)
    title = label("terms", VIEW_TITLES[_view_name(key)], lang)
    ws.cell(1, 1, f"{title} — {heading}").font = TITLE
    ws.cell(2, 1, units)
    label_cols = [t["period"]] + ([t[key]] if key else [])
    n_label = len(label_cols)
    for j, text in enumerate(label_cols, start=1):
        _head(ws.cell(4, j, text))
        _head(ws.cell(3, j))
    for b, block in enumerate((t["nominal"], t["real"].format(base=base))):
        first = n_label + 1 + b * len(STATS)
        _head(ws.cell(3, first, block))
        ws.merge_cells(start_row=3, start_column=first, end_row=3, end_column=first + 3)
        for s, stat in enumerate(STATS):
            _head(ws.cell(4, first + s, t[stat]))
    for i, (row_n, row_r) in enumerate(
        zip(nominal.itertuples(index=False), real.itertuples(index=False), strict=True), start=5
    ):
        is_period = row_n.first_year != row_n.last_year
        period = t["period_total"].format(period=row_n.period)
        ws.cell(i, 1, period if is_period else int(row_n.first_year))
        if key:
            ws.cell(i, 2, key_label(key, getattr(row_n, key), lang, area_names))
        values = [getattr(row_n, s) for s in STATS] + [getattr(row_r, s) for s in STATS]
        for j, value in enumerate(values, start=n_label + 1):
            ws.cell(i, j, round(float(value) / WAN, 6)).number_format = NUMBER
        if is_period:
            for j in range(1, n_label + 2 * len(STATS) + 1):
                ws.cell(i, j).fill = PERIOD_FILL
                ws.cell(i, j).font = BOLD
    ws.freeze_panes = ws.cell(5, n_label + 1)
    last = n_label + 2 * len(STATS)
    ws.auto_filter.ref = f"A4:{get_column_letter(last)}{4 + len(nominal)}"
    ws.column_dimensions["A"].width = 16
    if key:
        labels = [str(ws.cell(i, 2).value) for i in range(5, 5 + len(nominal))]
        per_char = 2.0 if lang == "zh" else 1.1  # CJK characters are about two columns wide
        ws.column_dimensions["B"].width = min(max(12.0, per_char * max(map(len, labels))), 60.0)
    for j in range(n_label + 1, last + 1):
        ws.column_dimensions[get_column_letter(j)].width = 14
    ws.row_dimensions[3].height = 30


def _view_name(key: str | None) -> str:
    return next(name for name, k in VIEWS.items() if k == key)


def _head(cell: Any) -> None:
    cell.font = BOLD
    cell.fill = HEAD_FILL
    cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
