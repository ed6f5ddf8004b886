"""Community care facilities (养老服务设施覆盖): how many communities and townships have one.

Plan 三(八)1: "到2020年……养老服务设施覆盖所有城市社区、90%以上的乡镇和50%以上的农村社区".
Three kinds of unit are counted per area, each with its own kind of facility:

* **urban communities** (城市社区, 社区居委会): a community day-care centre or care station
  (社区日间照料中心 / 社区养老服务站);
* **townships** (乡镇: 乡 and 镇; 街道 are not townships, their communities are urban
  communities): a township care service centre (乡镇养老服务中心), a 敬老院 that serves
  the township's elders at home counted as one;
* **rural communities** (农村社区, 建制村 / 村委会): a village mutual-aid home
  (农村互助幸福院 / 村级互助养老服务点).

A unit is *covered* when it has a facility of its kind; one facility covers one unit, so
facilities of a kind = covered units of that kind, and coverage = covered / units, never
above one.  Urban communities are counted in the urban cell of their area (stratum 0),
townships and rural communities in the rural cell (stratum 1).

Each year (:func:`step`), for each kind:

1. **closures**: ``round(closure_share × facilities in the city)`` facilities stop (a
   village home left idle, a centre closed), spread over the areas in proportion to their
   facilities (largest remainder); their units become uncovered;
2. **building** (the scenario's lever ``built_per_year``, a city-wide count per year):
   new facilities go to uncovered units, spread over the areas in proportion to their
   uncovered units (largest remainder), so no area gets more than it lacks; building stops
   at full coverage (what the programme cannot place is not built and not paid for).

Stock and flows: facilities(t) = facilities(t−1) + built − closed, per kind and area.
Money, nominal (base-year yuan × ``cpi_level``): construction = built × cost per facility,
booked to ``community_care_construction``; running subsidies (运营补贴) = subsidy per
facility-year × the mean of the stocks at the start and the end of the year (a facility
built or closed in the year is paid half a year), booked to ``community_care_running``.
Deterministic: no random draws.

The counts of units (行政区划) are those of the base year; the mergers of townships and
villages after 2019 (乡镇行政区划和村级建制调整改革) are not modelled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

import numpy as np
from pydantic import Field, model_validator

from simlib.facts import Fact, NonNegative, Share, Strict
from simlib.metrics import Metric
from simlib.population import RURAL, URBAN, largest_remainder
from simlib.services import ServiceInputs

KINDS = ("urban_communities", "townships", "rural_communities")
KIND_STRATUM = {"urban_communities": URBAN, "townships": RURAL, "rural_communities": RURAL}
"""The cell a kind's units are counted in: urban communities urban, the others rural."""
CONSTRUCTION, RUNNING = "community_care_construction", "community_care_running"
"""The ledger programmes this module books to."""

Count = Annotated[int, Field(ge=0)]

METRICS = [
    Metric(
        "community_facilities",
        "facilities",
        "sum",
        "Community care facilities (day-care centres, township centres, village homes)",
        "社区养老服务设施数",
    ),
    Metric(
        "community_facilities_built",
        "facilities",
        "sum",
        "Community care facilities built in the year",
        "新建社区养老服务设施数",
    ),
    Metric(
        "community_facilities_closed",
        "facilities",
        "sum",
        "Community care facilities closed in the year",
        "停办社区养老服务设施数",
    ),
    Metric(
        "urban_communities_covered",
        "communities",
        "sum",
        "Urban communities with a day-care centre",
        "建有日间照料中心的城市社区数",
    ),
    Metric(
        "townships_covered",
        "townships",
        "sum",
        "Townships with a care service centre",
        "建有养老服务中心的乡镇数",
    ),
    Metric(
        "rural_communities_covered",
        "villages",
        "sum",
        "Rural communities with a mutual-aid home",
        "建有互助养老设施的农村社区数",
    ),
    Metric(
        "care_coverage_urban_communities",
        "share",
        "ratio",
        "Share of urban communities with a care facility",
        "养老服务设施城市社区覆盖率",
        numerator="urban_communities_covered",
        denominator="urban_communities",
    ),
    Metric(
        "care_coverage_townships",
        "share",
        "ratio",
        "Share of townships with a care facility",
        "养老服务设施乡镇覆盖率",
        numerator="townships_covered",
        denominator="townships",
    ),
    Metric(
        "care_coverage_rural_communities",
        "share",
        "ratio",
        "Share of rural communities with a care facility",
        "养老服务设施农村社区覆盖率",
        numerator="rural_communities_covered",
        denominator="rural_communities",
    ),
    Metric(
        "community_facilities_per_1000_elderly",
        "facilities per 1,000 aged 60+",
        "ratio",
        "Community care facilities per 1,000 elderly",
        "每千名老年人拥有社区养老服务设施数",
        numerator="community_facilities",
        denominator="elderly_60p",
        per=0.001,
    ),
]
"""Raw quantities: for each kind, ``<kind>`` (units) and ``<kind>_covered``; the
facilities and their flows; ``elderly_60p`` comes from the city's record."""


# --- parameters ------------------------------------------------------------------------


class FacilityKind(Strict):
    """One kind of unit and its facility: the counts per area, the programme, the money."""

    units: Fact[dict[str, Count]]
    """Units per area (communities, townships or villages) in the base year."""
    covered_start: Fact[dict[str, Count]]
    """Units with a facility at the end of the base year, per area."""
    built_per_year: Fact[Count]
    """The lever: facilities the programme builds in the city in a year (dated)."""
    closure_share: Fact[Share]
    """Share of the city's facilities of the kind that close in a year."""
    construction_cost: Fact[NonNegative]
    """Yuan of the base year per facility built."""
    running_subsidy: Fact[NonNegative]
    """Yuan of the base year per facility and year in operation."""

    @model_validator(mode="after")
    def _counts_fit(self) -> FacilityKind:
        if self.units.is_dated or self.covered_start.is_dated:
            raise ValueError(
                "`units` and `covered_start` are counts of the base year: give `value`, "
                "not dated `values` (changes of the administrative divisions are not modelled)"
            )
        units, covered = self.units.value or {}, self.covered_start.value or {}
        if set(units) != set(covered):
            raise ValueError(
                f"`units` and `covered_start` name different areas: {sorted(units)} "
                f"and {sorted(covered)}"
            )
        over = [a for a in units if covered[a] > units[a]]
        if over:
            raise ValueError(
                "more units covered than there are in "
                + ", ".join(f"{a} ({covered[a]} > {units[a]})" for a in over)
            )
        return self


class CommunityCareParams(Strict):
    """``programmes.community_care``: the three kinds of unit and their facilities."""

    urban_communities: FacilityKind
    townships: FacilityKind
    rural_communities: FacilityKind

    def kind(self, name: str) -> FacilityKind:
        return getattr(self, name)


# --- state and year ----------------------------------------------------------------------


@dataclass
class CommunityCareState:
    """Units and facilities per kind, each (areas, 2): the kind's stratum column only."""

    units: dict[str, np.ndarray]
    facilities: dict[str, np.ndarray]


@dataclass(frozen=True)
class CommunityCareYear:
    """The year's flows per kind (areas, 2), its spending and its raw quantities."""

    built: dict[str, np.ndarray]
    closed: dict[str, np.ndarray]
    spending: dict[str, np.ndarray]
    raw: dict[str, np.ndarray]


def init_community_care(
    params: CommunityCareParams,
    area_codes: list[str] | tuple[str, ...],
    inputs: ServiceInputs | None = None,
) -> CommunityCareState:
    """The units and facilities at the end of the base year (``inputs`` is not needed)."""
    units, facilities = {}, {}
    for name in KINDS:
        k = params.kind(name)
        u, c = k.units.value or {}, k.covered_start.value or {}
        if set(u) != set(area_codes):
            raise ValueError(
                f"programmes.community_care.{name}.units: areas {sorted(u)} are not the "
                f"scenario's areas {sorted(area_codes)}"
            )
        units[name] = _in_stratum([u[a] for a in area_codes], KIND_STRATUM[name])
        facilities[name] = _in_stratum([c[a] for a in area_codes], KIND_STRATUM[name])
    return CommunityCareState(units=units, facilities=facilities)


def step(
    state: CommunityCareState,
    params: CommunityCareParams,
    year: int,
    rng: np.random.Generator | None,
    inputs: ServiceInputs,
) -> CommunityCareYear:
    """One year: closures, then building; costs; the state moves on to the year's end."""
    shape = next(iter(state.units.values())).shape
    construction, running = np.zeros(shape), np.zeros(shape)
    built, closed = {}, {}
    for name in KINDS:
        k, s = params.kind(name), KIND_STRATUM[name]
        start = state.facilities[name]
        gone = _in_stratum(closures(start[:, s], float(k.closure_share.at(year))), s)
        after = start - gone
        new = _in_stratum(
            allocate_builds(state.units[name][:, s] - after[:, s], int(k.built_per_year.at(year))),
            s,
        )
        end = after + new
        construction += new * float(k.construction_cost.at(year)) * inputs.cpi_level
        running += (start + end) / 2 * float(k.running_subsidy.at(year)) * inputs.cpi_level
        built[name], closed[name] = new, gone
        state.facilities[name] = end
    return CommunityCareYear(
        built=built,
        closed=closed,
        spending={CONSTRUCTION: construction, RUNNING: running},
        raw=raw_quantities(state, built, closed),
    )


def raw_quantities(
    state: CommunityCareState, built: dict[str, np.ndarray], closed: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The raw quantities of :data:`METRICS` (whole city, per cell) at the year's end."""
    raw: dict[str, np.ndarray] = {}
    for name in KINDS:
        raw[name] = state.units[name].astype(float)
        raw[f"{name}_covered"] = state.facilities[name].astype(float)
    raw["community_facilities"] = sum(state.facilities[n] for n in KINDS).astype(float)
    raw["community_facilities_built"] = sum(built[n] for n in KINDS).astype(float)
    raw["community_facilities_closed"] = sum(closed[n] for n in KINDS).astype(float)
    return raw


# --- rules -------------------------------------------------------------------------------


def closures(facilities: np.ndarray, share: float) -> np.ndarray:
    """Facilities closing per area: ``round(share × total)`` (halves up), spread over the
    areas in proportion to their facilities by largest remainder (never more than an area has)."""
    n = math.floor(share * int(facilities.sum()) + 0.5)
    return largest_remainder(facilities, n)


def allocate_builds(uncovered: np.ndarray, planned: int) -> np.ndarray:
    """New facilities per area: ``min(planned, uncovered in the city)``, spread over the areas
    in proportion to their uncovered units by largest remainder.

    An area's quota ``n · u_a / U`` is at most ``u_a`` when ``n ≤ U``; rounding up happens
    only to a fractional quota, so no area is given more than it lacks."""
    if (uncovered < 0).any():
        raise ValueError(f"uncovered units cannot be negative: {uncovered}")
    return largest_remainder(uncovered, min(int(planned), int(uncovered.sum())))


def coverage(covered: np.ndarray, units: np.ndarray) -> np.ndarray:
    """Covered units / units (0 where there are no units)."""
    covered, units = np.asarray(covered, dtype=float), np.asarray(units, dtype=float)
    return np.divide(covered, units, out=np.zeros_like(covered), where=units > 0)


def _in_stratum(per_area: np.ndarray | list[int], stratum: int) -> np.ndarray:
    """A per-area count as an (areas, 2) cell array with the other stratum zero."""
    per_area = np.asarray(per_area, dtype=np.int64)
    cells = np.zeros((len(per_area), 2), dtype=np.int64)
    cells[:, stratum] = per_area
    return cells
