"""Sensitivity sweeps (灵敏度分析): which assumptions move the projection, and by how much.

``simlib sweep params/sweeps/X.yaml [--out DIR] [--workers N] [--scheduler ADDRESS|local]
[--scale F] [--replicates N] [--seed S] [--lang en|zh] [--quiet] [--force]``

A sweep file (YAML, in ``params/sweeps/``; docs/sensitivity.md is the user's guide) says

* ``sweep``: its name and what it asks;
* ``scenario_file``: the scenario every point starts from (relative to the sweep file);
* ``run``: replicates, scale, seed and, optionally, an earlier ``end_year``, the same for
  every point (one seed: common random numbers);
* ``design``: one of ``grid``, ``latin_hypercube``, ``morris``, ``sobol``
  (:mod:`simlib.sweep_design`);
* ``parameters``: by name, the key path(s) into the scenario, ``low`` and ``high``,
  whether they are values or multipliers of the scenario's value (``bounds``), and the
  ``assumption`` that justifies the range;
* ``outputs``: metric and year (area and stratum, default the city total); by default the
  relief budget (``relief_spending_total``) of 2020 and 2030;
* ``tornado``: also run each parameter alone at its low and high bound, the others at the
  scenario's values (2k + 1 more points), for the tornado chart.

It is read like a scenario file (:mod:`simlib.parameters`: safe YAML, ``extends:``, a
pydantic schema deriving from ``facts.Strict``), and every problem, including a
parameter path the scenario does not have or a bound that makes the scenario invalid,
is a :class:`~simlib.parameters.ParameterError` naming the sweep file and the key path.

The points run through :mod:`simlib.sweep_points` and :func:`simlib.parallel.map_tasks`.
The folder ``DIR/sweep-<name>-<hash>/`` (the hash covers the resolved sweep with its
run settings and the scenario's parameter hash) gets the resolved sweep, ``design.csv``,
``points.csv``, ``indices.csv``, ``ranking.csv``, ``tornado.png`` and ``manifest.json``
(:mod:`simlib.sweep_output`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator, model_validator

from simlib import arguments
from simlib.facts import Strict
from simlib.parameters import ParameterError, Problem, Tree, load_tree, parameter_hash, validate
from simlib.sweep_design import MAX_POINTS, Design

if TYPE_CHECKING:
    from simlib.scenario import LoadedScenario

NAME = r"^[A-Za-z][A-Za-z0-9_]{0,39}$"
RESERVED = ("point", "part", "varied", "setting", "status", "error")
"""Column names of points.csv that a parameter cannot take."""
DEFAULT_SEED = 20160101  # simlib.runs.DEFAULT_SEED (not imported: the model loads slowly)


# --- the sweep file ----------------------------------------------------------------------


class SweepInfo(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    title: str = ""
    description: str = ""


class RunSettings(Strict):
    """How every point is run: the same replicates, scale and seed."""

    replicates: int = Field(1, ge=1, le=1000)
    scale: float = Field(0.05, gt=0.0, le=1.0)
    seed: int = Field(DEFAULT_SEED, ge=0)
    end_year: int | None = Field(None, ge=2001, le=2150)


class SweepParameter(Strict):
    """A parameter varied by the sweep."""

    path: str | list[str]
    """Dotted key path(s) into the scenario; several paths take the same value."""
    bounds: Literal["value", "multiplier"]
    low: float
    high: float
    unit: str = ""
    assumption: str = Field(min_length=1)
    """Why this range: what the bounds are based on."""
    from_year: int | None = Field(None, ge=1901, le=2150)
    label_zh: str = ""

    @field_validator("path")
    @classmethod
    def _some_path(cls, path: str | list[str]) -> str | list[str]:
        paths = [path] if isinstance(path, str) else path
        if not paths or any(not p.strip() for p in paths):
            raise ValueError("give the key path of the parameter in the scenario")
        return path

    @model_validator(mode="after")
    def _ordered(self) -> SweepParameter:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.path,) if isinstance(self.path, str) else tuple(self.path)


class Output(Strict):
    """A model result recorded at every point: the mean across replicates."""

    metric: str
    year: int
    area: str = "all"
    stratum: Literal["urban", "rural", "all"] = "all"

    @property
    def column(self) -> str:
        where = (
            "" if (self.area, self.stratum) == ("all", "all") else f"_{self.area}_{self.stratum}"
        )
        return f"{self.metric}_{self.year}{where}"


DEFAULT_OUTPUTS = [
    Output(metric="relief_spending_total", year=2020),
    Output(metric="relief_spending_total", year=2030),
]


class SweepFile(Strict):
    sweep: SweepInfo
    scenario_file: str
    run: RunSettings = RunSettings()
    design: Design
    parameters: dict[str, SweepParameter] = Field(min_length=1)
    outputs: list[Output] = Field(default_factory=lambda: list(DEFAULT_OUTPUTS), min_length=1)
    tornado: bool = True

    @field_validator("parameters")
    @classmethod
    def _names(cls, parameters: dict[str, SweepParameter]) -> dict[str, SweepParameter]:
        bad = [n for n in parameters if not re.match(NAME, n) or n in RESERVED]
        if bad:
            raise ValueError(
                f"parameter names must be a letter then letters, digits or '_' (at most 40), "
                f"not one of {', '.join(RESERVED)}: {', '.join(map(repr, bad))}"
            )
        paths = [path for p in parameters.values() for path in p.paths]
        twice = sorted({path for path in paths if paths.count(path) > 1})
        if twice:
            raise ValueError(f"a key path is varied by two parameters: {', '.join(twice)}")
        return parameters

    @model_validator(mode="after")
    def _outputs_once(self) -> SweepFile:
        columns = [o.column for o in self.outputs]
        if len(set(columns)) != len(columns):
            raise ValueError("an output is listed twice")
        return self

    @property
    def names(self) -> list[str]:
        return list(self.parameters)

    @property
    def lows(self) -> list[float]:
        return [p.low for p in self.parameters.values()]

    @property
    def highs(self) -> list[float]:
        return [p.high for p in self.parameters.values()]


# --- loading -----------------------------------------------------------------------------


@dataclass
class LoadedSweep:
    """A validated sweep file, the scenario it starts from (to its end year), and its hash."""

    params: SweepFile
    tree: Tree
    scenario: LoadedScenario
    scenario_hash: str
    """The parameter hash of the scenario file as written (before ``end_year``)."""

    @property
    def file(self) -> Path:
        return self.tree.chain[-1]

    @property
    def name(self) -> str:
        return self.params.sweep.name

    @property
    def method(self) -> str:
        return self.params.design.method

    @property
    def hash(self) -> str:
        """A short hash of the resolved sweep (run settings included) and of the scenario."""
        text = json.dumps({"sweep": parameter_hash(self.tree.data), "scenario": self.scenario_hash})
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]

    @property
    def folder_name(self) -> str:
        return f"sweep-{self.name}-{self.hash}"


RUN_OVERRIDES = ("replicates", "scale", "seed", "end_year")


def load_sweep(path: str | Path, **overrides: int | float | None) -> LoadedSweep:
    """Read and check a sweep file; ``overrides`` (replicates, scale, seed, end_year) replace
    its run settings.  Any problem raises :class:`ParameterError` naming file and key."""
    from simlib.scenario import ending_in, load_scenario

    tree = load_tree(path)
    unknown = set(overrides) - set(RUN_OVERRIDES)
    if unknown:
        raise TypeError(f"unknown run settings {sorted(unknown)}")
    given = {k: v for k, v in overrides.items() if v is not None}
    if given:
        run = tree.data.get("run")
        tree.data["run"] = (dict(run) if isinstance(run, dict) else {}) | given
        for key in given:
            tree.origin[("run", key)] = tree.chain[-1]
    sweep = validate(tree, SweepFile)
    file = str(tree.chain[-1])
    scenario = load_scenario(sweep.scenario_file)
    base = scenario
    end_year = sweep.run.end_year
    if end_year is not None:
        if end_year <= scenario.params.years.base_year:
            raise ParameterError(
                [Problem(file, "run.end_year", "must come after the scenario's base year")]
            )
        base = ending_in(scenario, end_year)
    problems = [
        *_check_size(tree, sweep),
        *_check_outputs(tree, sweep, base),
        *_check_parameters(tree, sweep, base),
    ]
    if problems:
        raise ParameterError(problems)
    return LoadedSweep(sweep, tree, base, scenario.hash)


def _check_size(tree: Tree, sweep: SweepFile) -> list[Problem]:
    """Not too many points; enough for a regression (grid, Latin hypercube) to be fitted."""
    k = len(sweep.parameters)
    n = sweep.design.size(k)
    where, key = str(tree.file_of(("design",))), f"design.{sweep.design.method}"
    if n > MAX_POINTS:
        return [Problem(where, key, f"{n} points, more than {MAX_POINTS}")]
    if sweep.design.method in ("grid", "latin_hypercube") and n < k + 2:
        return [
            Problem(
                where,
                key,
                f"{n} points cannot fit a regression on {k} parameters: give at least {k + 2}",
            )
        ]
    return []


def _check_outputs(tree: Tree, sweep: SweepFile, scenario: LoadedScenario) -> list[Problem]:
    from simlib.model import METRICS

    metrics = {m.name for m in METRICS}
    years = scenario.params.years.simulated
    areas = (*scenario.params.area_codes, "all")
    problems = []
    for i, o in enumerate(sweep.outputs):
        where = str(tree.file_of(("outputs",)))
        if o.metric not in metrics:
            problems.append(Problem(where, f"outputs.{i}.metric", f"unknown metric {o.metric!r}"))
        if o.year not in years:
            problems.append(
                Problem(
                    where,
                    f"outputs.{i}.year",
                    f"{o.year} is not a simulated year ({years.start}-{years.stop - 1})",
                )
            )
        if o.area not in areas:
            problems.append(
                Problem(where, f"outputs.{i}.area", f"unknown area {o.area!r}: {', '.join(areas)}")
            )
    return problems


def _check_parameters(tree: Tree, sweep: SweepFile, scenario: LoadedScenario) -> list[Problem]:
    """Each parameter's paths exist and both its bounds give a valid scenario."""
    from simlib.errors import UserError
    from simlib.sweep_points import apply_point

    problems = []
    for name, p in sweep.parameters.items():
        where = str(tree.file_of(("parameters", name)))
        for bound in ("low", "high"):
            try:
                apply_point(scenario, sweep.parameters, {name: getattr(p, bound)})
            except UserError as e:
                problems.append(Problem(where, f"parameters.{name}.path", str(e)))
                break
            except ParameterError as e:
                why = "; ".join(f"{q.key}: {q.message}" for q in e.problems)
                problems.append(
                    Problem(
                        where, f"parameters.{name}.{bound}", f"makes the scenario invalid: {why}"
                    )
                )
    return problems


# --- the command line --------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``simlib sweep``."""
    parser.add_argument("sweep_file", metavar="SWEEP.yaml", help="sweep file (params/sweeps/)")
    parser.add_argument(
        "--out", default="outputs", help="folder for sweep folders (default outputs)"
    )
    parser.add_argument(
        "--workers", type=arguments.positive_int, default=1, help="parallel processes (default 1)"
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run the points on a Dask cluster: tcp://host:port, or 'local' for a LocalCluster "
        "of --workers processes",
    )
    parser.add_argument("--scale", type=arguments.scale, default=None, help="override run.scale")
    parser.add_argument(
        "--replicates", type=arguments.positive_int, default=None, help="override run.replicates"
    )
    parser.add_argument("--seed", type=arguments.seed, default=None, help="override run.seed")
    parser.add_argument(
        "--lang", choices=("en", "zh"), default="en", help="language of the tornado chart"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--force", action="store_true", help="redo a sweep whose folder is already complete"
    )


def run(args: argparse.Namespace) -> int:
    """``simlib sweep``: 0 when every point ran, 1 when a point failed, 130 when interrupted
    (2: a user error, raised as UserError or ParameterError for the command line to print)."""
    import sys

    from simlib.sweep_output import execute, ranking_text

    sweep = load_sweep(
        args.sweep_file, scale=args.scale, replicates=args.replicates, seed=args.seed
    )
    try:
        outcome = execute(
            sweep,
            Path(args.out),
            workers=args.workers,
            scheduler=args.scheduler,
            quiet=args.quiet,
            force=args.force,
            lang=args.lang,
        )
    except KeyboardInterrupt:
        folder = Path(args.out) / sweep.folder_name
        print(f"simlib: interrupted; {folder} is marked failed", file=sys.stderr)
        return 130
    for failure in outcome.failures:
        print(f"simlib: point {failure}", file=sys.stderr)
    if outcome.failures:
        print(
            f"simlib: {len(outcome.failures)} of {len(outcome.points)} points failed; "
            f"no indices (they need every point). Folder: {outcome.folder}",
            file=sys.stderr,
        )
        return 1
    print(ranking_text(outcome))
    print(outcome.folder)
    return 0
