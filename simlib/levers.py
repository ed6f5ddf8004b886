"""The levers (政策杠杆) of live exploration: the main choices and numbers of a scenario.

A researcher moves a lever and sees the projection change in seconds (issue 7, part 1;
DESIGN §7 "one [notebook] explores the model interactively").  A *lever* is
one choice or number of the scenario file, named by its key path(s), with the range and
step a slider offers.  Its default is read from the loaded scenario, and
:func:`apply_levers` changes only the levers that differ from it, through
:func:`simlib.scenario.with_values`, so the scenario is validated again and an unchanged
lever leaves it exactly as it was (same parameter hash).  The levers:

==================  ====================================================  ===============
lever               key path(s)                                           range, step
==================  ====================================================  ===============
method              standards.method (the methods the file has a block    a choice
                    for: consumption_ratio, engel, basket)
ratio_urban/rural   standards.consumption_ratio.ratio.urban / .rural      0.10-0.80, 0.01
convergence_step    standards.convergence.step                            0-0.10, 0.005
fiscal_cap          standards.fiscal_cap.max_share                        0.005-0.20, 0.001
take_up_urban/rural programmes.dibao.take_up.max_rate.urban / .rural      0-1, 0.0005
verification_end    programmes.dibao.assessment.verification_strength:    0-1, 0.05
                    the END VALUE, the value of its last dated year (2020
                    in the baseline); the earlier dated values stay
new_beds_per_year   institutions.pipeline.planned: the beds opened in the  0-3000, 50
                    first planned year (2020); every planned year's beds
                    are scaled by new / default, each cell (area × kind)
                    to whole beds by largest remainder
==================  ====================================================  ===============

A lever the scenario does not use (the ratio without a ``consumption_ratio`` block, the
fiscal cap when it is off or not a share of revenue, convergence when it is off) has the
default ``None`` and cannot be set here.  A dated fact set by a plain lever becomes one
value for every year (``with_values``).  A value outside the range, or a method the file
has no block for, raises :class:`~simlib.errors.UserError` naming the lever and its key path.

:func:`simlib.explore.project` runs a scenario with the levers set;
:class:`simlib.explore_widgets.Explorer` puts them on sliders.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, get_args

import numpy as np
import pandas as pd

from simlib.errors import UserError
from simlib.population import largest_remainder
from simlib.scenario import LoadedScenario, with_values
from simlib.standards import Method


@dataclass(frozen=True)
class Lever:
    """One numeric lever: its key path in the scenario, and what a slider offers."""

    name: str
    label: str
    path: str
    low: float
    high: float
    step: float
    unit: str


_RATIO = "share of last year's per-capita consumption"
_TAKE_UP = "yearly probability of applying, far below the line"
# fmt: off
LEVERS: dict[str, Lever] = {lever.name: lever for lever in (
    Lever("ratio_urban", "Urban ratio r (城镇比例)",
          "standards.consumption_ratio.ratio.urban", 0.10, 0.80, 0.01, _RATIO),
    Lever("ratio_rural", "Rural ratio r (农村比例)",
          "standards.consumption_ratio.ratio.rural", 0.10, 0.80, 0.01, _RATIO),
    Lever("convergence_step", "Convergence step (城乡统筹)", "standards.convergence.step",
          0.0, 0.10, 0.005, "least yearly rise of the rural/urban ratio"),
    Lever("fiscal_cap", "Fiscal cap (财力上限)", "standards.fiscal_cap.max_share",
          0.005, 0.20, 0.001, "relief spending / general budget revenue, at most"),
    Lever("take_up_urban", "Take-up, urban (申请率)", "programmes.dibao.take_up.max_rate.urban",
          0.0, 1.0, 0.0005, _TAKE_UP),
    Lever("take_up_rural", "Take-up, rural (申请率)", "programmes.dibao.take_up.max_rate.rural",
          0.0, 1.0, 0.0005, _TAKE_UP),
    Lever("verification_end", "Verification{from_year} (核对)",
          "programmes.dibao.assessment.verification_strength", 0.0, 1.0, 0.05,
          "share (0 = income as declared, 1 = verified exactly), from the last dated year on"),
    Lever("new_beds_per_year", "New beds/year{from_year} (新增床位)",
          "institutions.pipeline.planned", 0.0, 3000.0, 50.0,
          "beds opened in the first planned year; later years scaled alike"),
)}
# fmt: on
"""Every numeric lever, by the name of its field in :class:`Levers`."""
METHOD_PATH = "standards.method"
METHODS: tuple[str, ...] = get_args(Method)


@dataclass(frozen=True)
class Levers:
    """The levers' values; ``None`` for a lever the scenario does not use (see above).

    Building one checks every value against its lever's range (and the method against
    the methods simlib knows); :func:`apply_levers` checks the method against the file.
    """

    method: str
    ratio_urban: float | None
    ratio_rural: float | None
    convergence_step: float | None
    fiscal_cap: float | None
    take_up_urban: float
    take_up_rural: float
    verification_end: float
    new_beds_per_year: int

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise UserError(
                f"lever method = {self.method!r} is not a method ({METHOD_PATH}: "
                f"one of {', '.join(METHODS)})"
            )
        for lever in LEVERS.values():
            value = getattr(self, lever.name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise UserError(f"lever {lever.name} = {value!r} is not a number")
            if not (lever.low <= value <= lever.high):  # also refuses NaN
                raise UserError(
                    f"lever {lever.name} = {value:g} is out of range [{lever.low:g}, "
                    f"{lever.high:g}] ({lever.path}; {lever.unit})"
                )
        if float(self.new_beds_per_year) != int(self.new_beds_per_year):
            raise UserError(f"lever new_beds_per_year = {self.new_beds_per_year} is not whole")

    @classmethod
    def from_scenario(cls, loaded: LoadedScenario) -> Levers:
        """The levers as the scenario sets them (each fact at the first simulated year)."""
        p = loaded.params
        year = p.years.base_year + 1
        s, dibao = p.standards, p.programmes.dibao
        ratio = s.consumption_ratio.ratio if s.consumption_ratio is not None else None
        cap = s.fiscal_cap
        share_cap = cap.enabled and cap.mode == "share_of_revenue" and cap.max_share is not None
        return cls(
            method=s.method,
            ratio_urban=None if ratio is None else float(ratio.urban.at(year)),
            ratio_rural=None if ratio is None else float(ratio.rural.at(year)),
            convergence_step=float(s.convergence.step.at(year)) if s.convergence.enabled else None,
            fiscal_cap=float(cap.max_share.at(year)) if share_cap else None,  # type: ignore[union-attr]
            take_up_urban=float(dibao.take_up.max_rate.urban.at(year)),
            take_up_rural=float(dibao.take_up.max_rate.rural.at(year)),
            verification_end=float(
                _last_dated(dibao.assessment.verification_strength.model_dump())[1]
            ),
            new_beds_per_year=_beds_in_first_planned_year(loaded),
        )

    def replace(self, **values: Any) -> Levers:
        """A copy with some levers set (checked like a new one)."""
        return dataclasses.replace(self, **values)

    def differences(self, other: Levers) -> dict[str, tuple[Any, Any]]:
        """The levers whose values differ: name -> (this value, the other's)."""
        out = {}
        for f in dataclasses.fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if not _same(a, b):
                out[f.name] = (a, b)
        return out


def methods(loaded: LoadedScenario) -> tuple[str, ...]:
    """The base methods the scenario can switch to: those it has a block for."""
    s = loaded.params.standards
    return tuple(m for m in METHODS if getattr(s, m) is not None)


def verification_year(loaded: LoadedScenario) -> int | None:
    """The year from which ``verification_end`` holds (None: the fact is not dated)."""
    fact = loaded.params.programmes.dibao.assessment.verification_strength
    return _last_dated(fact.model_dump())[0]


def beds_year(loaded: LoadedScenario) -> int:
    """The first year of the planned pipeline (the year ``new_beds_per_year`` counts)."""
    p = loaded.params.institutions
    planned = p.pipeline.planned
    return min(planned.values) if planned.values else p.stock.year + 1


def changes(loaded: LoadedScenario, levers: Levers) -> dict[str, Any]:
    """The key paths and values that set ``levers`` in the scenario (only those that
    differ from the scenario's own)."""
    default = Levers.from_scenario(loaded)
    out: dict[str, Any] = {}
    if levers.method != default.method:
        allowed = methods(loaded)
        if levers.method not in allowed:
            raise UserError(
                f"lever method = {levers.method!r}: the scenario has no `standards."
                f"{levers.method}` block; it can use {', '.join(allowed)}"
            )
        out[METHOD_PATH] = levers.method
    tree = loaded.tree.data
    for lever in LEVERS.values():
        value, old = getattr(levers, lever.name), getattr(default, lever.name)
        if _same(value, old):
            continue
        if old is None:
            raise UserError(
                f"lever {lever.name}: the scenario does not use {lever.path} "
                "(its rule is off, or its block is absent); change the file to use it"
            )
        path = lever.path
        if lever.name == "verification_end":
            out |= _dated_end(_node(tree, path), path, float(value))
        elif lever.name == "new_beds_per_year":
            out |= _scaled_beds(_node(tree, path), path, int(value), int(old))
        else:
            out[path] = float(value)
    return out


def apply_levers(loaded: LoadedScenario, levers: Levers) -> LoadedScenario:
    """The scenario with the levers set (validated again); the scenario itself when no
    lever differs from it."""
    values = changes(loaded, levers)
    return with_values(loaded, values) if values else loaded


def lever_table(loaded: LoadedScenario) -> pd.DataFrame:
    """One row per lever: its key path(s), range, step and the scenario's value."""
    default = Levers.from_scenario(loaded)
    rows = [
        {
            "lever": "method",
            "key path": METHOD_PATH,
            "range": " / ".join(methods(loaded)),
            "step": "",
            "scenario value": default.method,
            "unit": "base method of the standard",
        }
    ]
    for lever in LEVERS.values():
        rows.append(
            {
                "lever": lever.name,
                "key path": lever.path,
                "range": f"{lever.low:g}-{lever.high:g}",
                "step": f"{lever.step:g}",
                "scenario value": getattr(default, lever.name),
                "unit": lever.unit,
            }
        )
    return pd.DataFrame(rows)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b


def _node(tree: dict, path: str) -> dict:
    node: Any = tree
    for step in path.split("."):
        node = node[step]
    return node


def _last_dated(fact: dict) -> tuple[int | None, float]:
    """The last dated year of a fact and its value; (None, value) for a plain fact."""
    if fact.get("values"):
        year = max(fact["values"])
        return int(year), fact["values"][year]
    return None, fact["value"]


def _dated_end(fact: dict, path: str, value: float) -> dict[str, Any]:
    """Set the last dated value of a fact (or its one value)."""
    year, _ = _last_dated(fact)
    if year is None:
        return {path: value}
    return {f"{path}.values": {**fact["values"], year: value}}


def _beds_in_first_planned_year(loaded: LoadedScenario) -> int:
    planned = loaded.params.institutions.pipeline.planned
    new = planned.at(beds_year(loaded))
    return int(sum(b for by_kind in new.values() for b in by_kind.values()))


def _scaled_beds(fact: dict, path: str, beds: int, default: int) -> dict[str, Any]:
    """Every planned year's new beds × beds / default, each year's cells (area × kind) to
    whole beds by largest remainder, so the first planned year opens exactly ``beds``."""
    if default == 0:
        raise UserError(
            f"lever new_beds_per_year: the scenario plans no new beds ({path}); "
            "say in the file where new beds would go (area and kind) before scaling them"
        )
    factor = beds / default

    def scale(new: dict) -> dict:
        cells = [(area, kind, b) for area, by_kind in new.items() for kind, b in by_kind.items()]
        raw = np.array([b for *_, b in cells], dtype=float) * factor
        whole = largest_remainder(raw, round(raw.sum()))
        out: dict[str, dict[str, int]] = {}
        for (area, kind, _), b in zip(cells, whole, strict=True):
            out.setdefault(area, {})[kind] = int(b)
        return out

    if fact.get("values"):
        return {f"{path}.values": {y: scale(v) for y, v in fact["values"].items()}}
    return {f"{path}.value": scale(fact["value"])}
