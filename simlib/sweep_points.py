"""The points of a sweep: a scenario with a point's parameter values, run, and its outputs.

A point is the sweep's scenario with each varied parameter set to the point's value
(``bounds: value``) or multiplied by it (``bounds: multiplier``), through
:func:`simlib.scenario.with_values`, so the changed scenario is validated like any
other.  A parameter with ``from_year`` changes only the values in force from that year
on (the dated values before it are kept): a lever such as income growth after the
last observed year leaves the history alone.  A parameter may name several key paths
(urban and rural take-up) that take the same value.

Each point runs :func:`simlib.runs.run_scenario` with the sweep's replicates, scale and
seed; every point has the same seed (common random numbers), so two points differ by
their parameters and not by their draws, as far as the draws stay aligned (see
docs/sensitivity.md).  Its outputs are the mean across replicates of each chosen
metric in each chosen year, area and stratum.  The points are independent tasks for
:func:`simlib.parallel.map_tasks`: in this process, on worker processes or on Dask,
with the same results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from simlib.errors import UserError
from simlib.facts import Fact

if TYPE_CHECKING:
    from simlib.scenario import LoadedScenario
    from simlib.sweep import Output, SweepParameter

EARLIEST = 1900
"""The date given to an undated value kept before a ``from_year`` (the earliest facts.Year)."""


# --- setting a point's values ----------------------------------------------------------


def apply_point(
    base: LoadedScenario, parameters: Mapping[str, SweepParameter], values: Mapping[str, float]
) -> LoadedScenario:
    """The scenario ``base`` with each parameter named in ``values`` set (or multiplied)."""
    from simlib.scenario import changed, with_values

    set_to: dict[str, float] = {}
    multiply: dict[str, float] = {}
    dated: list[tuple[str, float, bool, int]] = []
    for name, x in values.items():
        p = parameters[name]
        for path in p.paths:
            if p.from_year is not None:
                dated.append((path, float(x), p.bounds == "multiplier", p.from_year))
            elif p.bounds == "multiplier":
                multiply[path] = float(x)
            else:
                set_to[path] = float(x)
    scenario = base
    if set_to:
        scenario = with_values(scenario, set_to)
    if multiply:
        scenario = with_values(scenario, multiply, multiply=True)
    if dated:
        # checked first, so that a bad path is a UserError as with_values gives it
        for path, *_ in dated:
            fact_at(scenario.tree.data, path)

        def change(data: dict) -> None:
            for path, x, times, year in dated:
                set_from_year(fact_at(data, path), x, times, year)

        scenario = changed(scenario, change)
    return scenario


def node_at(data: Any, path: str) -> Any:
    """The node of the scenario data at a dotted key path (a list item by its index)."""
    node = data
    steps = path.split(".")
    for i, step in enumerate(steps):
        try:
            node = node[int(step)] if isinstance(node, list) and step.isdigit() else node[step]
        except (KeyError, IndexError, TypeError):
            raise UserError(
                f"unknown parameter {path!r}: no {'.'.join(steps[: i + 1])!r} in the scenario"
            ) from None
    return node


def fact_at(data: dict, path: str) -> dict:
    """The fact (a mapping with ``value`` or ``values``) at ``path``."""
    node = node_at(data, path)
    if not (isinstance(node, dict) and (node.get("value") is not None or node.get("values"))):
        raise UserError(f"parameter {path!r} is not a fact with a value: from_year needs one")
    return node


def set_from_year(fact: dict, x: float, multiply: bool, year: int) -> None:
    """Change a fact (scenario data, in place) from ``year`` on: set to ``x``, or times ``x``.

    Dated values before ``year`` are kept; the value in force in ``year`` gets a date
    there; it and every later dated value are set or multiplied.  An undated value
    becomes dated: itself from :data:`EARLIEST`, the new value from ``year``.
    """
    values = fact.get("values") or {EARLIEST: fact["value"]}
    in_force = Fact[Any](values=values, unit="-", assumption="-").at(year)
    dated = {y: v for y, v in values.items() if y < year} | {year: in_force}
    dated |= {y: v for y, v in values.items() if y > year}

    def new(old: Any) -> float:
        if isinstance(old, bool) or not isinstance(old, int | float):
            raise UserError(f"cannot change {old!r} from {year}: not a number")
        return old * x if multiply else x

    fact.pop("value", None)
    fact["values"] = {y: (new(v) if y >= year else v) for y, v in sorted(dated.items())}


def base_value(scenario: LoadedScenario, parameter: SweepParameter) -> float | None:
    """The parameter's own value in the scenario, in the sweep's terms: 1 for a multiplier;
    for a value, the scenario's (in force in ``from_year``, if given) when every path has the
    same one; None when there is no one number (dated values, paths that differ)."""
    if parameter.bounds == "multiplier":
        return 1.0
    found = set()
    for path in parameter.paths:
        node = node_at(scenario.tree.data, path)
        if isinstance(node, dict) and node.get("values") and parameter.from_year is not None:
            node = Fact[Any](values=node["values"], unit="-", assumption="-").at(
                parameter.from_year
            )
        elif isinstance(node, dict):
            node = node.get("value")
        if isinstance(node, bool) or not isinstance(node, int | float):
            return None
        found.add(float(node))
    return found.pop() if len(found) == 1 else None


# --- running a point --------------------------------------------------------------------


@dataclass(frozen=True)
class PointTask:
    """Everything a worker needs to run one point (picklable)."""

    scenario_file: str
    scenario_hash: str
    values: dict[str, float]
    parameters: dict[str, SweepParameter]
    outputs: Sequence[Output]
    seed: int
    replicates: int
    scale: float
    end_year: int | None = None
    label: str = field(default="")


def run_point(task: PointTask) -> dict[str, float]:
    """Run one point; its outputs by column name (module-level: sent to the workers)."""
    from simlib.runs import run_scenario
    from simlib.scenario import ending_in, load_scenario

    base = load_scenario(task.scenario_file)
    if base.hash != task.scenario_hash:
        raise UserError(
            f"the scenario {task.scenario_file} changed during the sweep "
            f"(parameter hash {base.hash}, was {task.scenario_hash})"
        )
    if task.end_year is not None:
        base = ending_in(base, task.end_year)
    scenario = apply_point(base, task.parameters, task.values)
    result = run_scenario(scenario, task.replicates, task.seed, task.scale)
    return pick_outputs(result.summary, task.outputs)


def pick_outputs(summary: Any, outputs: Sequence[Output]) -> dict[str, float]:
    """The mean across replicates of each output, from a run's summary table."""
    picked = {}
    for o in outputs:
        row = summary[
            (summary.metric == o.metric)
            & (summary.year == o.year)
            & (summary.area == o.area)
            & (summary.stratum == o.stratum)
        ]
        if len(row) != 1:
            raise ValueError(f"the run has no single value of {o.column}")
        picked[o.column] = float(row["mean"].iloc[0])
    return picked
