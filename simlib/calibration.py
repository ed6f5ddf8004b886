"""Calibration (校准): fit the unobserved behaviours to observed figures, with scipy.

What people do that no statistic records (DESIGN §6: take-up, verification error,
income dispersion, exit rates, bed-seeking propensity) is fitted to target figures
(caseloads, spending, occupancy) by ``simlib calibrate``::

    simlib calibrate PARAMS.yaml --targets FILE.csv [--params NAME,NAME] [--scale 0.05]
        [--replicates 2] [--seed S] [--start NAME=VALUE,...] [--out NEW.yaml]
        [--report FIT.csv] [--max-iterations 20]

(also ``python -m simlib.calibration ...``); docs/calibration.md is the user's guide.

**Parameters.**  :data:`PARAMETERS` lists what can be fitted, by short name: the key
path(s) in the scenario, the bounds, the finite-difference step, and the metrics it
is fitted to by default.  A stratified fact is fitted per stratum
(``take_up_urban``, ``take_up_rural``) or tied (``take_up``: one rate for both;
``no_supporter``: rural at :data:`RURAL_TO_URBAN` times urban).  ``exit_rate`` is
the review rate of dibao recipients (``programmes.dibao.review.rate``, 动态管理): the
continuous parameter that drives exits (the gradual-exit months are whole months and
change when, not whether, a household leaves).  A fitted value *replaces* the fact:
dated values become one value for every year (a fitted level, not a fitted path).

**Targets.**  A CSV file with columns ``metric, year, area, stratum, value`` and
optionally ``weight`` (default 1), ``source`` and ``note``; ``metric`` is a model
metric (:data:`simlib.model.METRICS`), ``area`` a scenario area or ``all``,
``stratum`` ``urban``, ``rural`` or ``all``, ``year`` a simulated year of the
scenario.  Anything else is a :class:`~simlib.errors.UserError` naming file and line.

**Objective.**  The weighted relative residuals ``√w · (simulated / observed − 1)``,
the simulated figure being the mean over ``replicates`` replicates at ``scale``, with
the same seeds at every evaluation (common random numbers), each run only to the last
target year.  It is minimised by ``scipy.optimize.least_squares`` (trust-region
reflective, within the bounds).  At a small scale the simulated figures are step
functions of the parameters (a household more or less on the rolls is 1/scale
households), so the Jacobian is not scipy's machine-precision difference: it is a
forward difference with each parameter's own ``step`` (large enough to move its
figures by several per cent, above the steps' height), doubled while a column stays
flat, backward at the upper bound; ``x_scale`` is the same steps, so the trust region
is measured in them.  On a plateau the trust region shrinks until ``xtol`` ends the
round; the search then restarts from the best point simulated so far (a Jacobian
probe may be better than scipy's last point) while a round improves the fit, at most
``restarts`` times.

Common random numbers hold for the dibao parameters (take-up, verification
error, income dispersion, exit rate): each draw is one per household or person, in a
fixed order.  They do not hold for ``bed_seeking`` and ``no_supporter``: an elder who
enters a home can empty a household, the city's rows are compacted, and every later
draw falls on another household, so the whole realisation changes (at scale 0.05 the
rural dibao persons of 2018 move by up to a third when the intercept moves by 0.1).
Their figures are then noisy functions of them, and their steps are larger.

**Output.**  The fitted values go into a new scenario file that ``extends`` the input
(a relative path) and writes each fitted fact whole: its value, its unit, and an
``assumption`` saying it was calibrated by ``simlib calibrate`` on which targets, at
what scale, replicates and seed, and how well it fits.  The report (printed, and
``--report``) gives per target the observed figure, the simulated mean at the start
and at the fit, and the relative error; per parameter the start, the fitted value and
the bounds.

``compare_to_observed`` reports the dibao fit of a run in the scenario notebook.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import re
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from simlib import arguments
from simlib.errors import UserError
from simlib.files import write_atomic
from simlib.metrics import Metric, evaluate
from simlib.parameters import dump_yaml

if TYPE_CHECKING:  # the model, scipy and pandas are imported when used: `simlib --help` is quick
    import pandas as pd

    from simlib.scenario import LoadedScenario

OBSERVED = {  # indicator in the history files -> (metric, stratum)
    "urban_dibao_persons": ("dibao_persons", "urban"),
    "rural_dibao_persons": ("dibao_persons", "rural"),
}
STRATUM = {"urban": 0, "rural": 1, "all": 2}
RURAL_TO_URBAN = 2.5
"""Rural share of elders with no supporter per urban share (a judgement, see baseline.yaml)."""

KeyPath = tuple[str, ...]


@cache
def metrics_by_name() -> dict[str, Metric]:
    """The model's metrics (:data:`simlib.model.METRICS`) by name."""
    from simlib.model import METRICS

    return {m.name: m for m in METRICS}


# --- what can be fitted -------------------------------------------------------------------


@dataclass(frozen=True)
class Calibratable:
    """A behaviour that can be fitted: where it is written, its range and its step."""

    name: str
    writes: tuple[tuple[KeyPath, float], ...]  # (key path of a fact, factor on the value)
    bounds: tuple[float, float]
    step: float  # finite-difference step and typical scale, in the parameter's unit
    explains: tuple[str, ...]  # metrics it is fitted to by default ...
    strata: tuple[str, ...]  # ... in these strata
    meaning: str

    @property
    def paths(self) -> list[KeyPath]:
        return [path for path, _ in self.writes]


_DIBAO = ("programmes", "dibao")
_CASELOAD = ("dibao_persons", "dibao_households", "dibao_rate", "dibao_entries", "dibao_spending")
_MAX_RATE = (*_DIBAO, "take_up", "max_rate")
_ELDERLY = ("programmes", "tekun", "no_supporter", "elderly")

PARAMETERS: dict[str, Calibratable] = {
    p.name: p
    for p in [
        Calibratable(
            "take_up_urban",
            (((*_MAX_RATE, "urban"), 1.0),),
            (0.01, 1.0),
            0.02,
            _CASELOAD,
            ("urban",),
            "urban dibao take-up, the yearly probability of applying far below the line",
        ),
        Calibratable(
            "take_up_rural",
            (((*_MAX_RATE, "rural"), 1.0),),
            (0.01, 1.0),
            0.02,
            _CASELOAD,
            ("rural",),
            "rural dibao take-up, the yearly probability of applying far below the line",
        ),
        Calibratable(
            "take_up",
            (((*_MAX_RATE, "urban"), 1.0), ((*_MAX_RATE, "rural"), 1.0)),
            (0.01, 1.0),
            0.02,
            _CASELOAD,
            ("all",),
            "dibao take-up, one rate for urban and rural",
        ),
        Calibratable(
            "verification_error",
            (((*_DIBAO, "assessment", "error_sd"), 1.0),),
            (0.01, 2.0),
            0.05,
            ("dibao_inclusion_error",),
            ("urban", "rural", "all"),
            "sd of log assessed / true income with no verification, the means test's error",
        ),
        Calibratable(
            "income_dispersion",
            ((("income", "dispersion"), 1.0),),
            (0.2, 1.5),
            0.03,
            ("dibao_avg_benefit_month",),
            ("urban", "rural", "all"),
            "sd of log per-capita income within an area x stratum",
        ),
        Calibratable(
            "exit_rate",
            (((*_DIBAO, "review", "rate"), 1.0),),
            (0.05, 1.0),
            0.05,
            ("dibao_exits",),
            ("urban", "rural", "all"),
            "share of dibao recipients reviewed a year, those found above the line leave",
        ),
        Calibratable(
            "bed_seeking",
            ((("programmes", "elderly_care", "seeking", "intercept"), 1.0),),
            (-15.0, 0.0),
            1.0,
            ("occupancy_rate", "beds_occupied", "bed_seekers", "waiting_list"),
            ("urban", "rural", "all"),
            "log-odds intercept of an elder's yearly probability of seeking a care-home bed",
        ),
        Calibratable(
            "no_supporter",
            (((*_ELDERLY, "urban"), 1.0), ((*_ELDERLY, "rural"), RURAL_TO_URBAN)),
            (0.005, 0.39),
            0.01,
            ("tekun_persons", "tekun_concentrated", "tekun_scattered", "tekun_spending"),
            ("urban", "rural", "all"),
            f"share of urban elders with no supporter, rural at {RURAL_TO_URBAN} times",
        ),
    ]
}
"""Every calibratable parameter by short name."""


def chosen_parameters(names: str | None, targets: list[Target]) -> list[Calibratable]:
    """The parameters named in ``--params`` (comma separated), or the default for the targets.

    The default: every parameter that explains a target's metric in its stratum; a tied
    ``take_up`` together with a stratum's own becomes the two strata's own.
    """
    if names:
        wanted = [n.strip() for n in names.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in PARAMETERS]
        if unknown:
            raise UserError(
                f"unknown parameter(s) {', '.join(unknown)} in --params: "
                f"choose from {', '.join(PARAMETERS)}"
            )
        if len(set(wanted)) < len(wanted):
            raise UserError(f"--params names a parameter twice: {names}")
        chosen = [PARAMETERS[n] for n in wanted]
    else:
        found = [
            p.name
            for p in PARAMETERS.values()
            if any(t.metric in p.explains and t.stratum in p.strata for t in targets)
        ]
        if "take_up" in found and {"take_up_urban", "take_up_rural"} & set(found):
            found = [n for n in found if n != "take_up"]
            found += [n for n in ("take_up_urban", "take_up_rural") if n not in found]
        if not found:
            metrics = sorted({t.metric for t in targets})
            raise UserError(
                f"no parameter is fitted to {', '.join(metrics)} by default: "
                f"name them with --params (choose from {', '.join(PARAMETERS)})"
            )
        chosen = [PARAMETERS[n] for n in found]
    _check_no_overlap(chosen)
    if len(chosen) > len(targets):
        raise UserError(
            f"{len(chosen)} parameters ({', '.join(p.name for p in chosen)}) cannot be fitted "
            f"to {len(targets)} target(s): give more targets or fewer --params"
        )
    return chosen


def _check_no_overlap(chosen: list[Calibratable]) -> None:
    seen: dict[KeyPath, str] = {}
    for p in chosen:
        for path in p.paths:
            if path in seen:
                raise UserError(
                    f"--params {seen[path]} and {p.name} both set {'.'.join(path)}: choose one"
                )
            seen[path] = p.name


# --- targets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One observed figure the model should reproduce."""

    metric: str
    year: int
    area: str
    stratum: str
    observed: float
    weight: float = 1.0
    source: str = ""

    @property
    def label(self) -> str:
        return f"{self.metric} {self.year} {self.area}/{self.stratum}"


TARGET_COLUMNS = ("metric", "year", "area", "stratum", "value")
OPTIONAL_COLUMNS = ("weight", "source", "note")


def read_targets(path: str | Path, loaded: LoadedScenario) -> list[Target]:
    """The targets in a CSV file, checked against the model's metrics and the scenario."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"{path}: targets file not found") from None
    except (IsADirectoryError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: cannot read the targets file ({e})") from None
    reader = csv.DictReader(text.splitlines())
    columns = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in TARGET_COLUMNS if c not in columns]
    if missing:
        raise UserError(f"{path}: line 1: missing column(s) {', '.join(missing)}")
    unknown = [c for c in columns if c not in TARGET_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise UserError(
            f"{path}: line 1: unknown column(s) {', '.join(unknown)} "
            f"(allowed: {', '.join(TARGET_COLUMNS + OPTIONAL_COLUMNS)})"
        )
    p = loaded.params
    years = p.years.simulated
    targets: list[Target] = []
    seen: dict[tuple, int] = {}
    for row in reader:
        line = reader.line_num
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if not any(row.values()):
            continue

        def bad(message: str, line: int = line) -> UserError:
            return UserError(f"{path}: line {line}: {message}")

        metric = row["metric"]
        if metric not in metrics_by_name():
            raise bad(f"unknown metric {metric!r} (the model's metrics are in simlib.model)")
        try:
            year = int(row["year"])
        except ValueError:
            raise bad(f"year {row['year']!r} is not a whole number") from None
        if year not in years:
            raise bad(f"year {year} is not simulated by the scenario ({years[0]}-{years[-1]})")
        area = row["area"]
        if area != "all" and area not in p.areas:
            raise bad(f"unknown area {area!r} (areas: all, {', '.join(p.areas)})")
        stratum = row["stratum"]
        if stratum not in STRATUM:
            raise bad(f"unknown stratum {stratum!r} (urban, rural or all)")
        value = _number(row["value"])
        if value is None or value <= 0:
            raise bad(f"value {row['value']!r} is not a positive number")
        weight = _number(row.get("weight") or "1")
        if weight is None or weight < 0:
            raise bad(f"weight {row.get('weight')!r} is not a number of at least 0")
        key = (metric, year, area, stratum)
        if key in seen:
            raise bad(f"{metric} {year} {area}/{stratum} is already a target on line {seen[key]}")
        seen[key] = line
        targets.append(Target(metric, year, area, stratum, value, weight, row.get("source", "")))
    if not targets:
        raise UserError(f"{path}: no targets in the file")
    if not any(t.weight > 0 for t in targets):
        raise UserError(f"{path}: every target has weight 0")
    return targets


def _number(text: str) -> float | None:
    try:
        value = float(text.replace(",", "").replace("_", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


# --- the simulated figures ---------------------------------------------------------------------


def fact_value(data: dict, path: KeyPath, year: int) -> float:
    """The value of the fact at ``path`` in force in ``year`` (dated values: the last one at
    or before ``year``, else the first)."""
    node = _node(data, path)
    if "value" in node:
        return float(node["value"])
    dated = sorted(node["values"].items())
    before = [v for y, v in dated if y <= year]
    return float(before[-1] if before else dated[0][1])


def _node(data: dict, path: KeyPath) -> dict:
    node: Any = data
    for key in path:
        node = node[key]
    return node


def with_values(
    loaded: LoadedScenario,
    chosen: list[Calibratable],
    values: Iterable[float],
    end_year: int | None = None,
) -> LoadedScenario:
    """The scenario with the chosen parameters set (each fact's value replaced), run to
    ``end_year`` if given."""
    from simlib.scenario import changed

    def write(data: dict) -> None:
        if end_year is not None:
            data["years"]["end_year"] = end_year
        for param, value in zip(chosen, values, strict=True):
            for path, factor in param.writes:
                node = _node(data, path)
                node.pop("values", None)
                node["value"] = float(value) * factor

    return changed(loaded, write)


def target_value(raw: dict[str, np.ndarray], target: Target, loaded: LoadedScenario) -> float:
    """The target's figure in one replicate's raw results."""
    p = loaded.params
    cells = evaluate(metrics_by_name()[target.metric], raw)  # (year, area + all, stratum + all)
    area = -1 if target.area == "all" else p.area_codes.index(target.area)
    return float(cells[target.year - p.years.base_year - 1, area, STRATUM[target.stratum]])


def simulate(
    loaded: LoadedScenario,
    chosen: list[Calibratable],
    values: Iterable[float],
    targets: list[Target],
    scale: float,
    replicates: int,
    seed: int,
) -> np.ndarray:
    """Every target's simulated figure: the mean over replicates with these values, the same
    seeds at every call (common random numbers), run to the last target year only."""
    from simlib.runs import replicate_seeds, run_replicate

    trial = with_values(loaded, chosen, values, max(t.year for t in targets))
    per_replicate = []
    for child in replicate_seeds(seed, replicates):
        raw = run_replicate(trial, scale, child).raw
        per_replicate.append([target_value(raw, t, trial) for t in targets])
    return np.mean(np.array(per_replicate), axis=0)


# --- the fit ------------------------------------------------------------------------------------


@dataclass
class Calibration:
    """A finished fit: what was fitted to what, the values and how well they fit."""

    parameters: list[Calibratable]
    targets: list[Target]
    start: np.ndarray
    fitted: np.ndarray
    simulated_start: np.ndarray
    simulated: np.ndarray
    scale: float
    replicates: int
    seed: int
    evaluations: int
    seconds: float
    message: str
    dated: list[str] = field(default_factory=list)  # parameters whose input fact was dated

    @property
    def observed(self) -> np.ndarray:
        return np.array([t.observed for t in self.targets])

    @property
    def relative_error(self) -> np.ndarray:
        return self.simulated / self.observed - 1.0

    @property
    def values(self) -> dict[str, float]:
        return {p.name: float(x) for p, x in zip(self.parameters, self.fitted, strict=True)}

    @property
    def rms_relative_error(self) -> float:
        w = np.array([t.weight for t in self.targets])
        return float(np.sqrt(np.sum(w * self.relative_error**2) / np.sum(w)))

    def fit_text(self) -> str:
        """One line: each target's observed and simulated figure."""
        parts = [
            f"{t.label} {_fmt(t.observed)} -> {_fmt(s)} ({e:+.1%})"
            for t, s, e in zip(self.targets, self.simulated, self.relative_error, strict=True)
        ]
        return f"weighted RMS relative error {self.rms_relative_error:.1%}; " + "; ".join(parts)

    def report(self) -> pd.DataFrame:
        """Per target and per parameter, in one table (``kind`` says which)."""
        import pandas as pd

        rows = [
            {
                "kind": "target",
                "name": t.label,
                "metric": t.metric,
                "year": t.year,
                "area": t.area,
                "stratum": t.stratum,
                "weight": t.weight,
                "observed": t.observed,
                "simulated_start": s0,
                "simulated": s,
                "relative_error": s / t.observed - 1.0,
                "source": t.source,
            }
            for t, s0, s in zip(self.targets, self.simulated_start, self.simulated, strict=True)
        ]
        rows += [
            {
                "kind": "parameter",
                "name": p.name,
                "start": x0,
                "fitted": x,
                "lower": p.bounds[0],
                "upper": p.bounds[1],
                "key": ", ".join(".".join(path) for path in p.paths),
            }
            for p, x0, x in zip(self.parameters, self.start, self.fitted, strict=True)
        ]
        table = pd.DataFrame(rows)
        table["year"] = table["year"].astype("Int64")
        return table

    def summary(self) -> str:
        """The fit as text, for the terminal."""
        lines = [
            f"fitted {len(self.parameters)} parameter(s) to {len(self.targets)} target(s) at "
            f"scale {self.scale}, {self.replicates} replicate(s), seed {self.seed}: "
            f"{self.evaluations} simulations, {self.seconds:.0f} s ({self.message})",
            "",
            f"{'target':<44} {'observed':>12} {'start':>12} {'fitted':>12} {'error':>8}",
        ]
        for t, s0, s in zip(self.targets, self.simulated_start, self.simulated, strict=True):
            error = f"{s / t.observed - 1.0:+.1%}"
            lines.append(
                f"{t.label:<44} {_fmt(t.observed):>12} {_fmt(s0):>12} {_fmt(s):>12} {error:>8}"
            )
        lines += [
            f"weighted RMS relative error {self.rms_relative_error:.2%}",
            "",
            f"{'parameter':<20} {'start':>10} {'fitted':>10}  bounds",
        ]
        for p, x0, x in zip(self.parameters, self.start, self.fitted, strict=True):
            note = "  (was dated: replaced by one value)" if p.name in self.dated else ""
            at_bound = "  AT A BOUND" if x in p.bounds else ""
            lines.append(
                f"{p.name:<20} {x0:>10.4g} {x:>10.4g}  [{p.bounds[0]:g}, {p.bounds[1]:g}]"
                f"{at_bound}{note}"
            )
        return "\n".join(lines)


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.4g}"


def start_values(
    loaded: LoadedScenario, chosen: list[Calibratable], start: dict[str, float] | None = None
) -> np.ndarray:
    """Where the search starts: ``start`` where given (inside the bounds), else the scenario's
    value in the first simulated year, moved inside the bounds."""
    start = start or {}
    unknown = [n for n in start if n not in {p.name for p in chosen}]
    if unknown:
        raise UserError(f"a start value is given for {', '.join(unknown)}, which is not fitted")
    year = loaded.params.years.base_year + 1
    x0 = []
    for p in chosen:
        lo, hi = p.bounds
        if p.name in start:
            value = float(start[p.name])
            if not lo <= value <= hi:
                raise UserError(f"start value {value} of {p.name} is outside [{lo}, {hi}]")
        else:
            path, factor = p.writes[0]
            value = min(max(fact_value(loaded.tree.data, path, year) / factor, lo), hi)
        x0.append(value)
    return np.array(x0)


def calibrate(
    loaded: LoadedScenario,
    targets: list[Target],
    chosen: list[Calibratable],
    scale: float = 0.05,
    replicates: int = 2,
    seed: int | None = None,
    start: dict[str, float] | None = None,
    max_iterations: int = 20,
    progress: bool = False,
    restarts: int = 3,
) -> Calibration:
    """Fit the chosen parameters to the targets by bounded least squares (module docstring);
    ``seed`` is the root seed of the replicates (default :data:`simlib.runs.DEFAULT_SEED`)."""
    from scipy.optimize import least_squares

    from simlib.runs import DEFAULT_SEED

    seed = DEFAULT_SEED if seed is None else seed
    if not 0 < scale <= 1:
        raise UserError(f"scale must be in (0, 1], got {scale}")
    if replicates < 1:
        raise UserError(f"replicates must be at least 1, got {replicates}")
    _check_no_overlap(chosen)
    t0 = time.perf_counter()
    x0 = start_values(loaded, chosen, start)
    lower = np.array([p.bounds[0] for p in chosen])
    upper = np.array([p.bounds[1] for p in chosen])
    steps = np.array([p.step for p in chosen])
    observed = np.array([t.observed for t in targets])
    root_weight = np.sqrt([t.weight for t in targets])
    cache: dict[tuple[float, ...], np.ndarray] = {}

    def simulated(x: np.ndarray) -> np.ndarray:
        key = tuple(np.round(x, 8))
        if key not in cache:
            cache[key] = simulate(loaded, chosen, x, targets, scale, replicates, seed)
            if progress:
                shown = ", ".join(f"{p.name}={v:.4g}" for p, v in zip(chosen, x, strict=True))
                error = root_weight * (cache[key] / observed - 1.0)
                rms = np.sqrt(np.sum(error**2) / np.sum(root_weight**2))
                print(f"  [{len(cache)}] {shown}: weighted RMS error {rms:.2%}", file=sys.stderr)
        return cache[key]

    def residuals(x: np.ndarray) -> np.ndarray:
        return root_weight * (simulated(x) / observed - 1.0)

    def jacobian(x: np.ndarray) -> np.ndarray:
        return forward_differences(residuals, x, steps, lower, upper)

    def cost(x: np.ndarray) -> float:
        return float(np.sum(residuals(x) ** 2))

    fitted, messages = x0, []
    for _ in range(1 + restarts):
        fit = least_squares(
            residuals,
            fitted,
            jac=jacobian,
            bounds=(lower, upper),
            x_scale=steps,
            method="trf",
            xtol=1e-3,
            ftol=1e-4,
            max_nfev=max_iterations,
        )
        messages.append(fit.message.rstrip("."))
        best = best_point(cache, np.clip(fit.x, lower, upper), observed, root_weight)
        improved = cost(best) < (1.0 - 1e-3) * cost(fitted)
        fitted = best
        if not improved or cost(fitted) < 1e-8:
            break
    return Calibration(
        parameters=list(chosen),
        targets=list(targets),
        start=x0,
        fitted=fitted,
        simulated_start=simulated(x0),
        simulated=simulated(fitted),
        scale=scale,
        replicates=replicates,
        seed=seed,
        evaluations=len(cache),
        seconds=time.perf_counter() - t0,
        message=f"{len(messages)} round(s): {messages[-1]}",
        dated=[p.name for p in chosen if _is_dated(loaded, p)],
    )


def best_point(
    cache: dict[tuple[float, ...], np.ndarray],
    x: np.ndarray,
    observed: np.ndarray,
    root_weight: np.ndarray,
) -> np.ndarray:
    """The search's result ``x``, or a point simulated on the way (a Jacobian probe) that fits
    better: on a step function the last probes often land on a better plateau."""

    def cost(sim: np.ndarray) -> float:
        return float(np.sum((root_weight * (sim / observed - 1.0)) ** 2))

    key = tuple(np.round(x, 8))
    best = min(cache, key=lambda k: cost(cache[k]))
    if key not in cache or cost(cache[best]) < cost(cache[key]):
        return np.array(best)
    return x


def forward_differences(
    residuals,
    x: np.ndarray,
    steps: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    doublings: int = 3,
) -> np.ndarray:
    """The Jacobian by one-sided differences of ``steps`` (backward where a forward step would
    leave the bounds); a step that moves no residual is doubled, up to ``doublings`` times."""
    r0 = residuals(x)
    jac = np.zeros((len(r0), len(x)))
    for j, h in enumerate(steps):
        for _ in range(doublings + 1):
            direction = 1.0 if x[j] + h <= upper[j] else -1.0
            moved = x.copy()
            moved[j] = np.clip(x[j] + direction * h, lower[j], upper[j])
            dx = moved[j] - x[j]
            if dx == 0:
                break
            jac[:, j] = (residuals(moved) - r0) / dx
            if np.any(jac[:, j] != 0):
                break
            h *= 2.0
    return jac


def _is_dated(loaded: LoadedScenario, p: Calibratable) -> bool:
    return any("values" in _node(loaded.tree.data, path) for path in p.paths)


# --- the calibrated scenario file -----------------------------------------------------------------


def scenario_name(out: Path) -> str:
    """A scenario name from the output file's name (letters, digits, ``_ . -``)."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", out.stem)[:64]
    return name or "calibrated"


def calibrated_yaml(
    loaded: LoadedScenario, result: Calibration, out: Path, targets_file: Path
) -> str:
    """The text of a scenario file that extends the input with the fitted values."""
    out_dir = out.resolve().parent
    parent = Path(os.path.relpath(loaded.file, out_dir)).as_posix()
    targets_name = Path(os.path.relpath(Path(targets_file).resolve(), out_dir)).as_posix()
    how = (
        f"calibrated by simlib calibrate on {targets_name} at scale {result.scale}, "
        f"{result.replicates} replicates, seed {result.seed}"
    )
    data: dict[str, Any] = {
        "extends": parent,
        "scenario": {
            "name": scenario_name(out),
            "description": f"{loaded.name} with {', '.join(result.values)} {how}.",
        },
    }
    for p, x in zip(result.parameters, result.fitted, strict=True):
        for path, factor in p.writes:
            old = _node(loaded.tree.data, path)
            fact: dict[str, Any] = {"value": round(float(x) * factor, 6), "unit": old["unit"]}
            tied = f"{factor:g} times {p.name}, " if factor != 1.0 else ""
            dated = " (replaces dated values: one value for every year)" if "values" in old else ""
            fact["assumption"] = (
                f"{tied}{how}{dated}; start {result.start[result.parameters.index(p)]:.4g}, "
                f"bounds [{p.bounds[0]:g}, {p.bounds[1]:g}]; fit: {result.fit_text()}"
            )
            for stale in ("source", "note"):
                if old.get(stale) is not None:
                    fact[stale] = None
            _set(data, path, fact)
    header = (
        f"# Written by `simlib calibrate` on {time.strftime('%Y-%m-%d')}: fitted values of\n"
        f"# {', '.join(result.values)}; the fit is in each value's assumption.\n"
    )
    return header + dump_yaml(data)


def _set(data: dict, path: KeyPath, value: Any) -> None:
    node = data
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


def check_out(loaded: LoadedScenario, out: str | Path) -> Path:
    """The calibrated file's path, if it can be written: a new or replaceable file in an
    existing folder, and not the scenario or a file it extends."""
    out = Path(out)
    if out.resolve() in [p.resolve() for p in loaded.tree.chain]:
        raise UserError(f"--out {out} is the scenario being calibrated (or one it extends)")
    if out.is_dir():
        raise UserError(f"--out {out} is a folder: give a file name")
    if not out.parent.is_dir():
        raise UserError(f"--out {out}: folder {out.parent} does not exist")
    return out


def write_calibrated(
    loaded: LoadedScenario, result: Calibration, out: str | Path, targets_file: str | Path
) -> Path:
    """Write the calibrated scenario file (never over a file it extends)."""
    out = check_out(loaded, out)
    text = calibrated_yaml(loaded, result, out, Path(targets_file))
    return write_atomic(out, lambda p: p.write_text(text, encoding="utf-8"))


# --- the command ----------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``simlib calibrate``, and the parameters it can fit (as the epilog)."""
    parser.epilog = "parameters that can be fitted: " + "; ".join(
        f"{p.name}: {p.meaning}" for p in PARAMETERS.values()
    )
    parser.add_argument("params", help="scenario file to calibrate (YAML)")
    parser.add_argument(
        "--targets", required=True, help="targets CSV: metric,year,area,stratum,value"
    )
    parser.add_argument(
        "--params",
        dest="fit",
        default=None,
        help=f"parameters to fit, comma separated (default: those the targets need); "
        f"from {', '.join(PARAMETERS)}",
    )
    parser.add_argument(
        "--scale", type=arguments.scale, default=0.05, help="share of the city (default 0.05)"
    )
    parser.add_argument(
        "--replicates", type=arguments.positive_int, default=2, help="replicates (default 2)"
    )
    parser.add_argument(
        "--seed",
        type=arguments.seed,
        default=None,
        help="root seed, the same at every evaluation (default 20160101)",
    )
    parser.add_argument(
        "--start", default=None, help="start values, e.g. take_up_urban=0.2,bed_seeking=-8"
    )
    parser.add_argument(
        "--out",
        default=None,
        help="calibrated scenario file (default: <params>_calibrated.yaml beside the input)",
    )
    parser.add_argument(
        "--report", default=None, help="write the fit per target and parameter (CSV)"
    )
    parser.add_argument(
        "--max-iterations",
        type=arguments.positive_int,
        default=20,
        help="least-squares evaluations per round (default 20; up to 4 rounds)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not show each simulation")


def parse_start(text: str | None) -> dict[str, float]:
    """``NAME=VALUE,NAME=VALUE`` as a mapping."""
    start: dict[str, float] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        number = _number(value.strip()) if sep else None
        if number is None:
            raise UserError(f"--start {item!r}: write NAME=VALUE with a number")
        start[name.strip()] = number
    return start


def run(args: argparse.Namespace) -> int:
    """``simlib calibrate``: fit, print the fit, write the scenario file and the report."""
    if not 0 < args.scale <= 1:
        raise UserError(f"--scale must be in (0, 1], got {args.scale}")
    if args.replicates < 1:
        raise UserError(f"--replicates must be at least 1, got {args.replicates}")
    if args.seed is not None and args.seed < 0:
        raise UserError(f"--seed must not be negative, got {args.seed}")
    if args.max_iterations < 1:
        raise UserError(f"--max-iterations must be at least 1, got {args.max_iterations}")
    from simlib.scenario import load_scenario

    loaded = load_scenario(args.params)
    targets = read_targets(args.targets, loaded)
    chosen = chosen_parameters(args.fit, targets)
    start = parse_start(args.start)
    default_out = loaded.file.with_name(f"{loaded.file.stem}_calibrated.yaml")
    out = check_out(loaded, args.out or default_out)
    report = Path(args.report) if args.report else None
    if report is not None and not report.parent.is_dir():
        raise UserError(f"--report {report}: folder {report.parent} does not exist")
    print(
        f"simlib: fitting {', '.join(p.name for p in chosen)} to {len(targets)} target(s) "
        f"in {args.targets}",
        file=sys.stderr,
    )
    result = calibrate(
        loaded,
        targets,
        chosen,
        args.scale,
        args.replicates,
        args.seed,
        start,
        args.max_iterations,
        progress=not args.quiet,
    )
    print(result.summary())
    written = write_calibrated(loaded, result, out, args.targets)
    print(f"\ncalibrated scenario: {written}")
    if report is not None:
        write_atomic(report, lambda p: result.report().to_csv(p, index=False))
        print(f"report: {report}")
    return 0


# --- observed against simulated, for a run ------------------------------------------------


def observed(history_files: Iterable[str], area: str = "Panzhihua") -> pd.DataFrame:
    """The observed dibao figures: indicator, year, value, status, source."""
    from simlib.history import read_history

    table = read_history(history_files)
    rows = table[(table.area == area) & table.indicator.isin(OBSERVED)]
    return rows[["indicator", "year", "value", "status", "source_publication"]]


def fit_to_targets(summary: pd.DataFrame, targets: list[Target]) -> pd.DataFrame:
    """Each target beside a run's simulated mean and 5-95% band, with the relative error
    (targets whose year the run does not cover are left out)."""
    import pandas as pd

    keys = summary.set_index(["metric", "year", "area", "stratum"])
    rows = []
    for t in targets:
        key = (t.metric, t.year, t.area, t.stratum)
        if key not in keys.index:
            continue
        sim = keys.loc[key]
        mean = float(sim["mean"])
        rows.append(
            {
                "target": t.label,
                "observed": t.observed,
                "simulated_mean": mean,
                "p05": float(sim.p05),
                "p95": float(sim.p95),
                "relative_error": mean / t.observed - 1.0,
                "source": t.source,
            }
        )
    return pd.DataFrame(rows)


def compare_to_observed(summary: pd.DataFrame, history_files: Iterable[str]) -> pd.DataFrame:
    """Observed dibao figures beside the simulated mean and 5-95% band, with the error."""
    import pandas as pd

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


if __name__ == "__main__":  # python -m simlib.calibration: the same as simlib calibrate
    from simlib.cli import main

    raise SystemExit(main(["calibrate", *sys.argv[1:]]))
