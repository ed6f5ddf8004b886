"""The comparison as a workbook (情景比较表, ``comparison.xlsx``), for finance officers.

One sheet per table of :func:`simlib.compare.comparison_tables`: what changed (the
flags, then each scenario's changed parameters), a README, total spending nominal and
real, by programme, by funder and by area (in 万元), caseloads, beds and the plan's
targets; the scenarios side by side, one block of columns each (mean, 5th and 95th
percentile, and for the scenarios other than the baseline the difference from it and
in %).  Headings in English or Chinese from :mod:`simlib.compare_text`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from simlib.budget import VIEWS
from simlib.compare import WAN, Comparison, Run
from simlib.compare_text import (
    flag_lines,
    key_label,
    period_label,
    runs_view,
    targets_view,
    text,
)
from simlib.files import write_atomic
from simlib.glossary import Lang, check_lang, label, unit

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
