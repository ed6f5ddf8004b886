"""Calibration: the unobserved behaviours of the baseline, fitted to a few figures.

What people do that no statistic records is fitted here, one parameter to one
figure (issues 2 and 3; docs/calibration.md):

* dibao take-up, ``programmes.dibao.take_up.max_rate`` (urban, rural), to the
  city's dibao persons at the end of 2018 (urban 7,523 and rural 11,487, from the
  2019 statistical bulletin, ``params/data/panzhihua_bulletins.csv``);
* the share of elders with no supporter,
  ``programmes.tekun.no_supporter.elderly`` (rural at ``RURAL_TO_URBAN`` times the
  urban share), to a derived count of destitute persons in 2016;
* the propensity to seek a care-home bed, ``programmes.elderly_care.seeking.intercept``,
  so that occupancy in 2019 is the base year's (``initial_occupancy``): no drift while
  the calibration years run.

Each is solved with ``scipy.optimize.brentq`` on the mean over a few replicates,
with the same seeds at every evaluation (common random numbers), running the model
from the base year to the target's year only; the list is solved in order twice,
since destitute persons leave dibao and enter care homes.  The fitted values are
written into ``params/baseline.yaml`` by hand, with this command as their source::

    python -m simlib.calibration params/baseline.yaml --scale 0.2 --replicates 4

``compare_to_observed`` reports the dibao fit in the scenario notebook.
"""

from __future__ import annotations

import argparse
import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from simlib.history import read_history
from simlib.metrics import evaluate
from simlib.model import METRICS
from simlib.parameters import Tree, validate
from simlib.runs import DEFAULT_SEED, replicate_seeds, run_replicate
from simlib.scenario import LoadedScenario, Scenario, load_scenario

TARGET_YEAR = 2018
OBSERVED = {  # indicator in the history files -> (metric, stratum)
    "urban_dibao_persons": ("dibao_persons", "urban"),
    "rural_dibao_persons": ("dibao_persons", "rural"),
}
STRATUM = {"urban": 0, "rural": 1, "all": 2}
RURAL_TO_URBAN = 2.5
DESTITUTE_2016 = 4300.0
"""Destitute persons in Panzhihua in 2016, derived (docs/calibration.md): the national ratio
of rural tekun to persons 60+ (496.9万 / 23,086万 = 2.15% in 2016, both quoted) times the
city's ~205,000 elders; and, as a check, its 1,974 敬老院 beds (2019) filled by the third of
tekun supported in institutions nationally (174.3 / 529.1万 in 2014, quoted)."""


@dataclass(frozen=True)
class Target:
    """One figure to fit, and the parameter that fits it."""

    name: str
    year: int
    observed: float
    simulated: Callable[[dict[str, np.ndarray]], float]  # from the raw results of that year
    set_value: Callable[[dict, float], None]  # writes the parameter into the scenario data
    bracket: tuple[float, float]


def _metric(name: str, stratum: str = "all") -> Callable[[dict[str, np.ndarray]], float]:
    metric = next(m for m in METRICS if m.name == name)
    return lambda raw: float(evaluate(metric, raw)[-1, -1, STRATUM[stratum]])


def _fact(*path: str, factor: float = 1.0) -> Callable[[dict, float], None]:
    def write(data: dict, value: float) -> None:
        node = data
        for key in path:
            node = node[key]
        node.pop("values", None)
        node["value"] = float(value) * factor

    return write


def _both(*setters: Callable[[dict, float], None]) -> Callable[[dict, float], None]:
    def write(data: dict, value: float) -> None:
        for setter in setters:
            setter(data, value)

    return write


def observed(history_files: Iterable[str], area: str = "Panzhihua") -> pd.DataFrame:
    """The observed dibao figures: indicator, year, value, status, source."""
    table = read_history(history_files)
    rows = table[(table.area == area) & table.indicator.isin(OBSERVED)]
    return rows[["indicator", "year", "value", "status", "source_publication"]]


def targets(loaded: LoadedScenario) -> list[Target]:
    """The baseline's calibration targets, in the order they are solved."""
    p = loaded.params
    dibao = {
        OBSERVED[r.indicator][1]: r.value
        for r in observed(p.economy.history_files).itertuples()
        if r.year == TARGET_YEAR
    }
    elderly = ("programmes", "tekun", "no_supporter", "elderly")
    occupancy = float(p.programmes.elderly_care.initial_occupancy.at(2019))
    take_up = ("programmes", "dibao", "take_up", "max_rate")
    return [
        Target(
            "destitute persons 2016",
            2016,
            DESTITUTE_2016,
            _metric("tekun_persons"),
            _both(_fact(*elderly, "urban"), _fact(*elderly, "rural", factor=RURAL_TO_URBAN)),
            (0.005, 0.39),
        ),
        Target(
            "occupancy 2019",
            2019,
            occupancy,
            _metric("occupancy_rate"),
            _fact("programmes", "elderly_care", "seeking", "intercept"),
            (-15.0, 0.0),
        ),
        *[
            Target(
                f"{s} dibao persons {TARGET_YEAR}",
                TARGET_YEAR,
                dibao[s],
                _metric("dibao_persons", s),
                _fact(*take_up, s),
                (0.005, 1.0),
            )
            for s in ("urban", "rural")
        ],
    ]


def with_values(
    loaded: LoadedScenario, values: dict[str, float], chosen: list[Target], end_year: int
) -> LoadedScenario:
    """The scenario with the targets' parameters set, run to ``end_year``."""
    data = copy.deepcopy(loaded.tree.data)
    data["years"]["end_year"] = end_year
    for target in chosen:
        if target.name in values:
            target.set_value(data, values[target.name])
    tree = Tree(data=data, origin=loaded.tree.origin, chain=loaded.tree.chain)
    return LoadedScenario(validate(tree, Scenario), tree)


def simulate(
    loaded: LoadedScenario,
    values: dict[str, float],
    chosen: list[Target],
    target: Target,
    scale: float,
    replicates: int,
    seed: int,
) -> float:
    """The target's simulated figure: the mean over replicates at these parameter values."""
    trial = with_values(loaded, values, chosen, target.year)
    results = []
    for child in replicate_seeds(seed, replicates):
        raw = run_replicate(trial, scale, child).raw
        results.append(target.simulated(raw))
    return float(np.mean(results))


def calibrate(
    loaded: LoadedScenario,
    scale: float = 0.2,
    replicates: int = 4,
    seed: int = DEFAULT_SEED,
    rounds: int = 2,
) -> dict[str, tuple[float, float, float]]:
    """Fit every target in turn, ``rounds`` times; name -> (value, simulated, observed)."""
    chosen = targets(loaded)
    values: dict[str, float] = {}
    for _ in range(rounds):
        for t in chosen:

            def gap(x: float, t: Target = t) -> float:
                trial = values | {t.name: x}
                return simulate(loaded, trial, chosen, t, scale, replicates, seed) - t.observed

            values[t.name] = brentq(gap, *t.bracket, xtol=1e-4 * abs(t.bracket[1] - t.bracket[0]))
    return {
        t.name: (
            values[t.name],
            simulate(loaded, values, chosen, t, scale, replicates, seed),
            t.observed,
        )
        for t in chosen
    }


def compare_to_observed(summary: pd.DataFrame, history_files: Iterable[str]) -> pd.DataFrame:
    """Observed dibao figures beside the simulated mean and 5-95% band, with the error."""
    rows = []
    for obs in observed(history_files).itertuples():
        metric, stratum = OBSERVED[obs.indicator]
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fit the baseline's unobserved behaviours.")
    parser.add_argument("params", type=Path)
    parser.add_argument("--scale", type=float, default=0.2)
    parser.add_argument("--replicates", type=int, default=4)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    fitted = calibrate(
        load_scenario(args.params), args.scale, args.replicates, args.seed, args.rounds
    )
    for name, (value, sim, obs) in fitted.items():
        print(f"{name}: parameter {value:.4f}  simulated {sim:.4f}  target {obs:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
