"""Replicates of the whole city on 1 and 2 worker processes, and on a local Dask cluster.

    python benchmarks/bench_batch.py [--replicates N] [--scale F] [--years A-B] [--workers W]
                                     [--no-dask] [--workers-only] [--json]

Runs ``simlib.runs.run_scenario`` for the baseline with ``N`` replicates (default 4) three
ways: one process, ``W`` worker processes (default 2) and a ``dask.distributed``
LocalCluster of ``W`` processes; prints the wall time of each and the speed-up over one
process, and checks that the three give identical tables (each replicate's seed is its own,
so where it runs does not matter).  ``--workers-only`` times the W processes alone (the
long run of the target: 100 whole-city replicates on 2 workers).  With ``--json`` the last
line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd
from bench_city import within_years

from simlib.runs import DEFAULT_SEED, run_scenario
from simlib.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def timed(loaded, replicates: int, scale: float, **spread) -> tuple[float, object]:
    t0 = time.perf_counter()
    run = run_scenario(loaded, replicates=replicates, seed=DEFAULT_SEED, scale=scale, **spread)
    return time.perf_counter() - t0, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=ROOT / "params" / "baseline.yaml")
    parser.add_argument("--replicates", type=int, default=4)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--years", default=None, help="A-B, e.g. 2016-2030 (default: all)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-dask", action="store_true", help="leave out the Dask cluster")
    parser.add_argument("--workers-only", action="store_true", help="time W processes only")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    loaded = within_years(load_scenario(args.params), args.years)
    ways = {"1 process": {}, f"{args.workers} processes": {"workers": args.workers}}
    if args.workers_only:
        del ways["1 process"]
    if not (args.no_dask or args.workers_only):
        ways[f"dask LocalCluster, {args.workers} workers"] = {
            "workers": args.workers,
            "scheduler": "local",
        }
    seconds, first = {}, None
    for name, spread in ways.items():
        seconds[name], run = timed(loaded, args.replicates, args.scale, **spread)
        if first is None:
            first = run
        else:  # the same results wherever the replicates ran
            pd.testing.assert_frame_equal(run.table, first.table)
            pd.testing.assert_frame_equal(run.ledger, first.ledger)
    one = seconds.get("1 process")
    same = ", identical results every way" if len(seconds) > 1 else ""
    print(f"{args.replicates} replicates at scale {args.scale}{same}")
    for name, s in seconds.items():
        speedup = f"   speed-up {one / s:4.2f}x" if one else ""
        print(f"{name:>32}: {s:8.1f} s{speedup}")
    if args.json:
        result = {
            "replicates": args.replicates,
            "scale": args.scale,
            "seconds": {k: round(v, 2) for k, v in seconds.items()},
            "speedup": {k: round(one / v, 2) for k, v in seconds.items()} if one else {},
        }
        print(json.dumps(result))


if __name__ == "__main__":
    main()
