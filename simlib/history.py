"""Published history: the long-format CSV files, read into one table in canonical units.

The reference data (``params/data/*.csv``, verbatim copies of the project's shared
data; see ``params/data/README.md``) share one shape::

    year, [area,] indicator, value, unit, status, source_publication, source_url, note

A file without an ``area`` column holds national figures (area ``national``).  The
same kind of figure comes in different units (persons in units of 10,000 万人, money
in units of 100 million yuan 亿元, percentages), so every value is converted by its
``unit`` column to one canonical unit per family (:data:`UNITS`); a unit that is not
in the table is an error, never a guess.  Dibao standards (低保标准, indicators
containing ``_std``) are canonical in yuan per person per month: a yearly standard
is divided by 12.  A figure quoted per month is a separate indicator with the suffix
``_monthly`` and stays one.

Rows dated by something other than a plain year (``2021H1``, ``2020 (month n/a)``)
are skipped and counted per file in ``table.attrs["skipped"]``.  The same figure
(area, indicator, year) given twice with different values, in one file or in two,
is an error naming both places; identical duplicates are kept once.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

NATIONAL = "national"
STATUSES = ("quoted", "derived", "unsourced")
"""The data's provenance grades, best first (see the data README)."""

REQUIRED_COLUMNS = (
    "year",
    "indicator",
    "value",
    "unit",
    "status",
    "source_publication",
    "source_url",
    "note",
)
COLUMNS = ("year", "area", *REQUIRED_COLUMNS[1:], "file", "line")

UNITS: dict[str, tuple[float, str]] = {
    # unit in the files: (factor to the canonical unit, canonical unit)
    "persons": (1.0, "persons"),
    "10k persons": (1e4, "persons"),
    "households": (1.0, "households"),
    "10k households": (1e4, "households"),
    "person-times": (1.0, "person-times"),
    "10k person-times": (1e4, "person-times"),
    "yuan": (1.0, "yuan"),
    "10k yuan": (1e4, "yuan"),
    "100m yuan": (1e8, "yuan"),
    "yuan/person/year": (1.0, "yuan/person/year"),
    "yuan/person/month": (1.0, "yuan/person/month"),
    "beds": (1.0, "beds"),
    "10k beds": (1e4, "beds"),
    "beds per 1000 aged 60+": (1.0, "beds per 1000 aged 60+"),
    "count": (1.0, "count"),
    "10k units": (1e4, "count"),
    "% y/y": (0.01, "rate"),
    "%": (0.01, "share"),
    "index": (1.0, "index"),
}
"""Every unit the reader knows, in one place."""

MONTHS_PER_YEAR = 12
_PLAIN_YEAR = re.compile(r"\d{4}")


class HistoryError(ValueError):
    """A history file is wrong; the message names the file and the line."""


def canonical(indicator: str, value: float, unit: str) -> tuple[float, str]:
    """``value`` in ``unit`` as (value, unit) in the canonical unit of its family."""
    if unit not in UNITS:
        known = ", ".join(repr(u) for u in UNITS)
        raise KeyError(f"unknown unit {unit!r} (known: {known})")
    factor, to = UNITS[unit]
    value *= factor
    if "_std" in indicator and to == "yuan/person/year":
        return value / MONTHS_PER_YEAR, "yuan/person/month"
    return value, to


def read_history(paths: Iterable[str | Path]) -> pd.DataFrame:
    """Read long-format files into one table with the columns :data:`COLUMNS`.

    ``value`` and ``unit`` are canonical; ``file`` is the file name and ``line`` the
    line of the row in it (the header is line 1).  ``attrs["skipped"]`` maps each file
    name to ``{year label: rows}`` for rows whose year is not a plain year.
    """
    rows: list[tuple] = []
    skipped: dict[str, dict[str, int]] = {}
    seen: dict[tuple[str, str, int], tuple[float, str]] = {}
    for path in map(Path, paths):
        skipped[path.name] = _read_file(path, rows, seen)
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    table = table.astype({"year": "int64", "value": "float64", "line": "int64"})
    table.attrs["skipped"] = skipped
    return table


def _read_file(path: Path, rows: list[tuple], seen: dict) -> dict[str, int]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise HistoryError(f"{path}: cannot read the file ({e})") from None
    reader = csv.reader(text.splitlines(keepends=True))
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise HistoryError(f"{path}:1: missing column(s) {', '.join(missing)}")
    col = {name: header.index(name) for name in header}
    skipped: dict[str, int] = {}
    while True:
        line = reader.line_num + 1
        record = next(reader, None)
        if record is None:
            return skipped
        if not any(field.strip() for field in record):
            continue
        where = f"{path}:{line}"
        if len(record) != len(header):
            raise HistoryError(f"{where}: {len(record)} fields, the header has {len(header)}")
        fields = {name: record[i].strip() for name, i in col.items()}
        if not _PLAIN_YEAR.fullmatch(fields["year"]):
            skipped[fields["year"]] = skipped.get(fields["year"], 0) + 1
            continue
        row = _parse_row(fields, path.name, line, where)
        key = (row[1], row[2], row[0])
        if key not in seen:
            seen[key] = (row[3], where)
            rows.append(row)
        elif not math.isclose(seen[key][0], row[3], rel_tol=1e-9, abs_tol=1e-12):
            raise HistoryError(
                f"{where}: {row[2]} [{row[1]}] {row[0]} = {row[3]:g} {row[4]} conflicts with "
                f"{seen[key][0]:g} {row[4]} at {seen[key][1]}"
            )


def _parse_row(fields: dict[str, str], name: str, line: int, where: str) -> tuple:
    """One row in the order of :data:`COLUMNS`, its value in the canonical unit."""
    indicator, status = fields["indicator"], fields["status"]
    area = fields.get("area", NATIONAL)
    if not indicator or not area:
        raise HistoryError(f"{where}: empty indicator or area")
    if status not in STATUSES:
        raise HistoryError(f"{where}: unknown status {status!r} (known: {', '.join(STATUSES)})")
    try:
        raw = float(fields["value"])
    except ValueError:
        raise HistoryError(f"{where}: value {fields['value']!r} is not a number") from None
    if not math.isfinite(raw):
        raise HistoryError(f"{where}: value {fields['value']!r} is not a finite number")
    try:
        value, unit = canonical(indicator, raw, fields["unit"])
    except KeyError as e:
        raise HistoryError(f"{where}: {e.args[0]}") from None
    return (
        int(fields["year"]),
        area,
        indicator,
        value,
        unit,
        status,
        fields["source_publication"],
        fields["source_url"],
        fields["note"],
        name,
        line,
    )


def series(table: pd.DataFrame, indicator: str, area: str = NATIONAL) -> dict[int, float]:
    """One series as ``{year: value}`` in its canonical unit (empty if absent)."""
    rows = table[(table["indicator"] == indicator) & (table["area"] == area)]
    return {int(y): float(v) for y, v in zip(rows["year"], rows["value"], strict=True)}
