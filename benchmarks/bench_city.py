"""Time the city model: build and yearly steps at a given scale.

    python benchmarks/bench_city.py [--scale F] [--years A-B] [--replicates N] [--params FILE]
                                    [--json] [--profile]

Prints persons, households, steps, wall seconds for building and stepping, ns per
person-step and peak memory (RSS).  With ``--json`` the last line is one JSON object.
With ``--profile`` it profiles (cProfile) one year, the second simulated (the first also
makes one-off tables), in a city of its own, and prints the time of each stage of the
yearly step and the costliest functions.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import resource
import time
from pathlib import Path

import numpy as np

from simlib.model import CityModel
from simlib.runs import DEFAULT_SEED, replicate_seeds
from simlib.scenario import LoadedScenario, ending_in, load_scenario

ROOT = Path(__file__).resolve().parents[1]


def bench(
    params: Path, scale: float, replicates: int, seed: int, years: str | None = None
) -> dict[str, float]:
    loaded = within_years(load_scenario(params), years)
    rows = []
    for child in replicate_seeds(seed, replicates):
        t0 = time.perf_counter()
        model = CityModel(loaded.params, scale=scale, rng=np.random.default_rng(child))
        t1 = time.perf_counter()
        persons = len(model.city.persons)
        households = len(model.city.households)
        model.run()
        t2 = time.perf_counter()
        rows.append((persons, households, model.steps, t1 - t0, t2 - t1))
    persons, households, steps, build, step = (np.mean([r[i] for r in rows]) for i in range(5))
    return {
        "scale": scale,
        "years": f"{loaded.params.years.base_year + 1}-{loaded.params.years.end_year}",
        "replicates": replicates,
        "persons": int(persons),
        "households": int(households),
        "steps": int(steps),
        "build_s": round(float(build), 3),
        "step_s": round(float(step), 3),
        "ns_per_person_step": round(float(step) / (persons * steps) * 1e9, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


# The stages of CityModel.step, as (module file, function) in the profile.
STAGES = {
    "demography (deaths, births, migration, households)": ("demography.py", "step"),
    "incomes (persistent part, shocks)": ("incomes.py", "update_incomes"),
    "dibao (review, applications, benefits)": ("bureau.py", "administer_dibao"),
    "destitute support (特困)": ("tekun.py", "step"),
    "medical assistance": ("medical_assistance.py", "step"),
    "temporary assistance": ("temporary_assistance.py", "step"),
    "allowances": ("allowances.py", "step"),
    "health (dependency transitions)": ("health.py", "transition"),
    "elderly care (demand, admissions)": ("elderly_care.py", "step"),
    "plan services (workforce, facilities, disasters)": ("plan_services.py", "step"),
    "recording the year (cells, metrics)": ("records.py", "record"),
    "spending by cell and ledger": ("records.py", "spending_by_cell"),
}


def profile_year(params: Path, scale: float, seed: int, top: int = 12) -> list[tuple[str, float]]:
    """cProfile of the second simulated year: seconds per stage (cumulative), then prints
    the ``top`` functions by their own time.  Returns the stages, costliest first."""
    loaded = load_scenario(params)
    model = CityModel(loaded.params, scale=scale, rng=np.random.default_rng(seed))
    model.step()
    profiler = cProfile.Profile()
    profiler.runcall(model.step)
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    found = {
        stage: sum(
            row[3]
            for (file, _, func), row in stats.stats.items()
            if file.endswith("simlib/" + module) and func == name
        )
        for stage, (module, name) in STAGES.items()
    }
    stages = sorted(found.items(), key=lambda kv: -kv[1])
    print(f"one year at scale {scale}, profiled: {total:.2f} s (cProfile adds overhead)")
    for stage, seconds in stages:
        print(f"  {seconds:6.3f} s  {100 * seconds / total:5.1f}%  {stage}")
    print(f"  {total - sum(found.values()):6.3f} s  (the rest: standards, subsidies, bookkeeping)")
    print(f"costliest functions by own time (top {top}):")
    stats.sort_stats("tottime").print_stats(top)
    return stages


def within_years(loaded: LoadedScenario, years: str | None) -> LoadedScenario:
    """The scenario run over ``A-B`` (A is the first simulated year, after the base year)."""
    if years is None:
        return loaded
    first, _, last = years.partition("-")
    base = loaded.params.years.base_year
    if not (first.isdigit() and last.isdigit()) or int(first) != base + 1:
        raise SystemExit(f"--years must be {base + 1}-B (the model starts after {base}): {years}")
    return ending_in(loaded, int(last))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=ROOT / "params" / "baseline.yaml")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--years", default=None, help="A-B, e.g. 2016-2030 (default: all)")
    parser.add_argument("--replicates", type=int, default=1)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--profile", action="store_true", help="profile one year first")
    args = parser.parse_args()
    if args.profile:
        profile_year(args.params, args.scale, args.seed)
    result = bench(args.params, args.scale, args.replicates, args.seed, args.years)
    for key, value in result.items():
        print(f"{key:>20}: {value}")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
