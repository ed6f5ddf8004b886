"""``simlib runs``: an index of the run folders in a folder, read from their manifests.

    simlib runs [--out DIR] [--csv]

One row per folder holding a ``manifest.json`` (runs of ``simlib run`` and ``simlib
batch``, sweeps of ``simlib sweep``): its id, scenario, run hash, seed, replicates,
scale, status, start, end and minutes.  A run whose manifest still says ``running``
but whose process on this machine is gone shows as ``stopped``: it is not complete.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path

import pandas as pd

from simlib.errors import UserError
from simlib.run_folder import run_hash, state

COLUMNS = [
    "run_id",
    "scenario",
    "hash",
    "seed",
    "replicates",
    "scale",
    "status",
    "start",
    "end",
    "minutes",
    "error",
]


def index(out: Path) -> pd.DataFrame:
    """The runs under ``out``, oldest first."""
    rows = [_row(d) for d in sorted(out.iterdir()) if (d / "manifest.json").is_file()]
    table = pd.DataFrame(rows, columns=COLUMNS)
    return table.sort_values(["start", "run_id"], na_position="last", ignore_index=True)


def _row(run_dir: Path) -> dict:
    try:
        m = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return {"run_id": run_dir.name, "status": "unreadable", "error": str(e)}
    known = all(k in m for k in ("parameter_hash", "seed", "replicates", "scale"))
    return {
        "run_id": run_dir.name,
        "scenario": m.get("scenario", m.get("sweep", "")),
        "hash": m.get("run_hash")
        or (run_hash(m["parameter_hash"], m["seed"], m["replicates"], m["scale"]) if known else ""),
        "seed": m.get("seed"),
        "replicates": m.get("replicates"),
        "scale": m.get("scale"),
        "status": state(run_dir),
        "start": m.get("start"),
        "end": m.get("end"),
        "minutes": _minutes(m.get("start"), m.get("end")),
        "error": m.get("error", ""),
    }


def _minutes(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except ValueError:
        return None
    return round(seconds / 60, 2)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="outputs", help="folder of run folders (default outputs)")
    parser.add_argument("--csv", action="store_true", help="print CSV instead of a table")


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if not out.is_dir():
        raise UserError(f"no folder {out}: nothing has been run into it")
    table = index(out)
    if args.csv:
        print(table.to_csv(index=False), end="")
    elif table.empty:
        print(f"no runs in {out}")
    else:
        shown = table.drop(columns="error").astype(object).fillna("")
        print(shown.to_string(index=False))
        for r in table[table.error.fillna("") != ""].itertuples():
            print(f"{r.run_id}: {r.error}")
    return 0
