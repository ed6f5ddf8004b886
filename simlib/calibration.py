"""Calibration of dibao take-up to the city's observed caseload.

Take-up is not observed: how many eligible households apply depends on need,
stigma and outreach.  The baseline fits the yearly application rate of the
poorest households (``programmes.dibao.take_up.max_rate``, urban and rural) so
that the simulated dibao persons of a target year match the observed ones
(issue 2: Panzhihua 2018, urban 7,523 and rural 11,487 persons, from the city's
2019 statistical bulletin, ``params/data/panzhihua_bulletins.csv``).

The fit solves simulated(rate) = observed for each stratum with
``scipy.optimize.brentq``, using common random numbers (the same seeds at every
evaluation) so the simulated caseload is a smooth, increasing function of the
rate; the two strata are solved in turn until both hold.  Each evaluation runs
the model from the base year to the target year only.  The fitted rates are
written into ``params/baseline.yaml`` by hand, with this command as their
source::

    python -m simlib.calibration params/baseline.yaml --scale 0.2 --replicates 4

and ``compare_to_observed`` reports the fit in the scenario notebook.
"""

from __future__ import annotations

import argparse
import copy
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from simlib.history import read_history
from simlib.metrics import evaluate
from simlib.parameters import Tree, validate
from simlib.runs import DEFAULT_SEED, replicate_seeds, run_replicate
from simlib.scenario import LoadedScenario, Scenario, load_scenario

TARGET_YEAR = 2018
TARGETS = {  # indicator in the history files -> (metric, stratum)
    "urban_dibao_persons": ("dibao_persons", "urban"),
    "rural_dibao_persons": ("dibao_persons", "rural"),
}
STRATUM_INDEX = {"urban": 0, "rural": 1}


def observed(history_files: Iterable[str], area: str = "Panzhihua") -> pd.DataFrame:
    """The observed calibration figures: indicator, year, value, status, source."""
    table = read_history(history_files)
    rows = table[(table.area == area) & table.indicator.isin(TARGETS)]
    return rows[["indicator", "year", "value", "status", "source_publication"]]


def compare_to_observed(summary: pd.DataFrame, history_files: Iterable[str]) -> pd.DataFrame:
    """Observed figures beside the simulated mean and 5-95% band, with the relative error."""
    rows = []
    for obs in observed(history_files).itertuples():
        metric, stratum = TARGETS[obs.indicator]
        sim = summary[
            (summary.metric == metric)
            & (summary.area == "all")
            & (summary.stratum == stratum)
            & (summary.year == obs.year)
        ]
        if sim.empty:
            continue
        mean = float(sim["mean"].iloc[0])
        rows.append(
            {
                "indicator": obs.indicator,
                "year": obs.year,
                "observed": obs.value,
                "simulated_mean": mean,
                "p05": float(sim.p05.iloc[0]),
                "p95": float(sim.p95.iloc[0]),
                "relative_error": mean / obs.value - 1.0,
                "status": obs.status,
                "source": obs.source_publication,
            }
        )
    return pd.DataFrame(rows)


def _with_rates(loaded: LoadedScenario, rates: dict[str, float], end_year: int) -> LoadedScenario:
    data = copy.deepcopy(loaded.tree.data)
    data["years"]["end_year"] = end_year
    for stratum, rate in rates.items():
        fact = data["programmes"]["dibao"]["take_up"]["max_rate"][stratum]
        fact.pop("values", None)
        fact["value"] = float(rate)
    tree = Tree(data=data, origin=loaded.tree.origin, chain=loaded.tree.chain)
    return LoadedScenario(validate(tree, Scenario), tree)


def simulated_persons(
    loaded: LoadedScenario,
    rates: dict[str, float],
    scale: float,
    replicates: int,
    seed: int,
    year: int = TARGET_YEAR,
) -> np.ndarray:
    """Mean simulated dibao persons (urban, rural, whole city) in ``year`` at these rates."""
    trial = _with_rates(loaded, rates, year)
    metric = next(m for m in _dibao_metrics() if m.name == "dibao_persons")
    totals = []
    for child in replicate_seeds(seed, replicates):
        raw, _ = run_replicate(trial, scale, child)
        totals.append(evaluate(metric, raw)[-1, -1, :2])  # last year, all areas, urban/rural
    return np.mean(totals, axis=0)


def _dibao_metrics():
    from simlib.dibao import METRICS

    return METRICS


def calibrate_take_up(
    loaded: LoadedScenario,
    targets: dict[str, float],
    scale: float = 0.2,
    replicates: int = 4,
    seed: int = DEFAULT_SEED,
    rounds: int = 3,
    bracket: tuple[float, float] = (0.005, 1.0),
) -> dict[str, float]:
    """Take-up rates (urban, rural) that reproduce the target dibao persons."""
    p = loaded.params.programmes.dibao.take_up.max_rate
    year = loaded.params.years.base_year
    rates = {"urban": float(p.urban.at(year)), "rural": float(p.rural.at(year))}
    for _ in range(rounds):
        for stratum, target in targets.items():
            i = STRATUM_INDEX[stratum]

            def gap(
                rate: float, stratum: str = stratum, i: int = i, target: float = target
            ) -> float:
                trial = rates | {stratum: rate}
                return simulated_persons(loaded, trial, scale, replicates, seed)[i] - target

            rates[stratum] = brentq(gap, *bracket, xtol=1e-3)
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Calibrate dibao take-up to observed caseloads.")
    parser.add_argument("params", type=Path)
    parser.add_argument("--scale", type=float, default=0.2)
    parser.add_argument("--replicates", type=int, default=4)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    loaded = load_scenario(args.params)
    obs = observed(loaded.params.economy.history_files)
    targets = {TARGETS[r.indicator][1]: r.value for r in obs.itertuples() if r.year == TARGET_YEAR}
    rates = calibrate_take_up(loaded, targets, args.scale, args.replicates, args.seed)
    sim = simulated_persons(loaded, rates, args.scale, args.replicates, args.seed)
    for stratum, rate in rates.items():
        i = STRATUM_INDEX[stratum]
        seen = targets[stratum]
        print(f"{stratum}: max_rate {rate:.4f}  simulated {sim[i]:.0f}  observed {seen:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
