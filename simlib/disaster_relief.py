"""Disaster relief (救灾): natural disasters, emergency relief and the relief-materials reserve.

Plan 三(二): improve emergency relief (救灾应急) and build the relief-materials reserve
(救灾物资储备: "增加我市救灾物资储备数量……提高我市灾害应急保障能力").  Panzhihua's hazards are
earthquakes, floods with debris flows and landslides, droughts and forest fires.  Per
area × stratum cell, once a year:

* **Events**: each hazard h strikes each area a a Poisson number of times a year (rate
  λ_{h,a}).  An event's size X is the share of the area's *rural* residents it affects,
  log-normal and capped: X = min(cap, median · exp(σ Z)), Z ~ N(0, 1); urban residents
  are affected at ``urban_exposure`` × X.  So an event affects X · (rural + u · urban)
  residents.  Of the affected, ``relocated_share`` need emergency relocation (紧急转移安置)
  and ``assisted_share`` need living assistance until they can live by themselves again
  (过渡期生活救助: houses lost or badly damaged, harvest gone).  Draws come only from the
  ``rng`` given, Poisson counts (hazards in name order × areas) first, then one normal per
  event, so a seed gives the same disasters.  Events of different areas are independent
  (an earthquake felt in two areas counts as two events).
* **Relief paid** (ledger ``disaster_relief``): relocated persons × the relocation rate
  plus assisted persons × the living-assistance rate, in base-year yuan × the CPI level.
* **Reserve** (ledger ``relief_reserve``): a stock of person-sets (a tent place, a quilt,
  a set of clothing) held per cell.  Each relocated person uses one set.  An area's
  depot serves its own events first (its cells in proportion to their stock); with
  ``lending: city`` the rest of the city lends what it has spare (市级调拨), again in
  proportion to stock; a need left over is the ``shortfall`` (met from the provincial
  reserve, not costed here).  Then ``write_off_rate`` of what is left is retired (worn or
  expired, 轮换), and each cell buys back up to its target (sets per 1,000 residents by
  stratum: the scenario lever) with at most ``replenishment_capacity_per_1000`` sets per
  1,000 residents a year.  Stock identity: stock = last year's + purchased − used −
  written off (``inflow`` = purchased, ``outflow`` = used + written off).  Storage is paid
  on the stock held at the start of the year, purchases at the purchase cost.
* **Adequacy** for a 1-in-T-year event (T = ``RETURN_PERIOD`` = 20): an area's
  stock at year end over the sets needed by the largest event of a 1-in-T year, the
  relocation y at which P(some event in the year relocates more than y) = 1/T.  With
  Poisson events this is Σ_h λ_{h,a} · P(R_h > y) = −ln(1 − 1/T), where R_h = relocated
  share × X × exposed residents; y is found *analytically* (from the log-normal's
  closed-form tail, solved by bisection; no simulation).  Need is 0 in an area where no
  event of any hazard happens as often as once in T years.  The need belongs to the area
  (its depot); it is split to the area's cells by population so that area and city rows
  are right: the city's adequacy is its whole stock over the sum of the areas' needs
  (1.0 when each area holds its own 1-in-T need).

The rates, sizes, relief rates and costs are assumptions (no disaster figure is in the
shared data); see the ``programmes.disaster_relief`` block of the scenario.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field, model_validator
from scipy.special import ndtr

from simlib.facts import ByStratum, Fact, NonNegative, Positive, Share, Strict
from simlib.metrics import Metric
from simlib.services import ServiceInputs

METRICS = [
    Metric("disaster_events", "events", "sum", "Natural disasters (events)", "自然灾害次数"),
    Metric(
        "disaster_affected_persons", "persons", "sum", "Persons affected by disasters", "受灾人口"
    ),
    Metric(
        "disaster_affected_share",
        "share",
        "ratio",
        "Persons affected by disasters per resident",
        "受灾人口占常住人口比例",
        numerator="disaster_affected_persons",
        denominator="population",
    ),
    Metric(
        "disaster_relocated_persons",
        "persons",
        "sum",
        "Persons urgently relocated",
        "紧急转移安置人口",
    ),
    Metric(
        "disaster_assisted_persons",
        "persons",
        "sum",
        "Disaster victims given transitional living assistance",
        "过渡期生活救助人数",
    ),
    Metric(
        "relief_reserve_units",
        "person-sets",
        "sum",
        "Relief-materials reserve at year end",
        "救灾物资储备",
    ),
    Metric(
        "relief_reserve_per_1000",
        "person-sets per 1,000 residents",
        "ratio",
        "Relief-materials reserve per 1,000 residents",
        "每千名常住人口救灾物资储备",
        numerator="relief_reserve_units",
        denominator="population",
        per=0.001,
    ),
    Metric(
        "relief_reserve_need_1in20",
        "person-sets",
        "sum",
        "Sets a 1-in-20-year event would need (sum of areas)",
        "二十年一遇灾害所需救灾物资",
    ),
    Metric(
        "relief_reserve_adequacy",
        "ratio",
        "ratio",
        "Reserve / sets needed by a 1-in-20-year event",
        "救灾物资储备保障率（二十年一遇）",
        numerator="relief_reserve_units",
        denominator="relief_reserve_need_1in20",
    ),
    Metric(
        "relief_reserve_purchased",
        "person-sets",
        "sum",
        "Relief sets purchased",
        "救灾物资购置",
    ),
    Metric(
        "relief_reserve_used",
        "person-sets",
        "sum",
        "Relief sets issued to relocated persons",
        "救灾物资发放",
    ),
    Metric(
        "relief_reserve_written_off",
        "person-sets",
        "sum",
        "Relief sets retired (worn or expired)",
        "救灾物资报废轮换",
    ),
    Metric(
        "relief_reserve_shortfall",
        "person-sets",
        "sum",
        "Sets needed beyond the city's reserve",
        "救灾物资缺口",
    ),
]

PROGRAMMES = ("disaster_relief", "relief_reserve")
"""The ledger programmes this module books to."""
RETURN_PERIOD = 20.0
"""The reserve's adequacy is judged against the largest event of a 1-in-20-year year."""


class Hazard(Strict):
    """One kind of natural hazard: how often it strikes each area and how large it is."""

    rate: dict[str, Fact[NonNegative]]
    """Events a year in each area (Poisson rate)."""
    affected_median: Fact[Share]
    """Median share of the area's rural residents affected by one event."""
    affected_sigma: Fact[Positive]
    """Standard deviation of the log of that share (the heavy tail)."""
    affected_cap: Fact[Share]
    """The largest share one event can affect."""
    urban_exposure: Fact[Share]
    """Urban residents affected per rural resident affected (relative exposure)."""
    relocated_share: Fact[Share]
    """Share of affected persons urgently relocated (紧急转移安置)."""
    assisted_share: Fact[Share]
    """Share of affected persons given transitional living assistance (过渡期生活救助)."""

    @model_validator(mode="after")
    def _median_within_cap(self) -> Hazard:
        for f in (self.affected_median, self.affected_cap):
            if f.is_dated:
                raise ValueError("the size distribution of a hazard cannot be dated")
        if float(self.affected_median.value) > float(self.affected_cap.value):
            raise ValueError(
                f"affected_median ({self.affected_median.value}) is above affected_cap "
                f"({self.affected_cap.value})"
            )
        return self


class Relief(Strict):
    """What is paid per person (base-year yuan; nominal = × the CPI level)."""

    per_relocated: Fact[NonNegative]
    per_assisted: Fact[NonNegative]


class Reserve(Strict):
    """The relief-materials reserve, in person-sets."""

    initial_per_1000: ByStratum[NonNegative]
    target_per_1000: ByStratum[NonNegative]
    replenishment_capacity_per_1000: Fact[NonNegative]
    purchase_cost: Fact[NonNegative]
    storage_cost: Fact[NonNegative]
    write_off_rate: Fact[Share]
    lending: Literal["area", "city"] = "city"


class DisasterReliefParams(Strict):
    """The ``programmes.disaster_relief`` block."""

    hazards: dict[str, Hazard] = Field(min_length=1)
    relief: Relief
    reserve: Reserve


@dataclass
class DisasterReliefState:
    """The reserve's stock of person-sets per area × stratum cell (end of last year)."""

    area_codes: tuple[str, ...]
    stock: np.ndarray


@dataclass(frozen=True)
class Events:
    """The year's disasters, one entry per event."""

    hazard: np.ndarray  # index into the hazards in name order
    area: np.ndarray  # index into the area codes
    size: np.ndarray  # share of the area's rural residents affected


@dataclass
class DisasterReliefYear:
    """The year's disasters, relief and reserve, per area × stratum cell (whole city)."""

    events: Events
    spending: dict[str, np.ndarray]
    raw: dict[str, np.ndarray]
    inflow: np.ndarray  # sets purchased
    outflow: np.ndarray  # sets used + written off


def hazard_names(params: DisasterReliefParams) -> list[str]:
    """The hazards in the fixed order of the draws (by name)."""
    return sorted(params.hazards)


def check_areas(params: DisasterReliefParams, area_codes: Sequence[str]) -> None:
    """Every hazard gives a rate for every area of the scenario and for no other."""
    for name, hazard in params.hazards.items():
        missing = set(area_codes) - set(hazard.rate)
        unknown = set(hazard.rate) - set(area_codes)
        if missing or unknown:
            raise ValueError(
                f"disaster_relief.hazards.{name}.rate must give every area and no other: "
                f"missing {sorted(missing)}, unknown {sorted(unknown)}"
            )


def rates(params: DisasterReliefParams, area_codes: Sequence[str], year: int) -> np.ndarray:
    """Events a year, hazards (in name order) × areas."""
    return np.array(
        [
            [float(params.hazards[h].rate[a].at(year)) for a in area_codes]
            for h in hazard_names(params)
        ]
    ).reshape(len(params.hazards), len(area_codes))


def draw_events(
    params: DisasterReliefParams, area_codes: Sequence[str], year: int, rng: np.random.Generator
) -> Events:
    """This year's events: Poisson counts per hazard × area, then a capped log-normal size each."""
    lam = rates(params, area_codes, year)
    counts = rng.poisson(lam)
    struck_hazard, struck_area = np.nonzero(counts)
    times = counts[struck_hazard, struck_area]
    hazard, area = np.repeat(struck_hazard, times), np.repeat(struck_area, times)
    z = rng.standard_normal(len(hazard))
    names = hazard_names(params)
    median = np.array([float(params.hazards[h].affected_median.value) for h in names])
    sigma = np.array([float(params.hazards[h].affected_sigma.at(year)) for h in names])
    cap = np.array([float(params.hazards[h].affected_cap.value) for h in names])
    size = np.minimum(cap[hazard], median[hazard] * np.exp(sigma[hazard] * z))
    return Events(hazard=hazard.astype(np.int64), area=area.astype(np.int64), size=size)


def _per_hazard(params: DisasterReliefParams, field: str, year: int) -> np.ndarray:
    hazards = [params.hazards[h] for h in hazard_names(params)]
    return np.array([float(getattr(h, field).at(year)) for h in hazards])


def exposure(params: DisasterReliefParams, year: int) -> np.ndarray:
    """Residents affected per unit of event size, relative to rural: hazards × (urban, rural)."""
    u = _per_hazard(params, "urban_exposure", year)
    return np.stack([u, np.ones_like(u)], axis=1)


def affected_persons(
    events: Events, params: DisasterReliefParams, population: np.ndarray, year: int
) -> dict[str, np.ndarray]:
    """Events, affected, relocated and assisted persons per area × stratum cell.

    An event counts in a cell by the share of its affected residents living there (so an
    area's events add up to whole events).
    """
    exp_cell = exposure(params, year)[events.hazard] * population[events.area]  # (events, 2)
    affected_ev = events.size[:, None] * exp_cell
    total = exp_cell.sum(axis=1, keepdims=True)
    event_share = np.divide(exp_cell, total, out=np.zeros_like(exp_cell), where=total > 0)
    relocated_ev = affected_ev * _per_hazard(params, "relocated_share", year)[events.hazard, None]
    assisted_ev = affected_ev * _per_hazard(params, "assisted_share", year)[events.hazard, None]

    def by_cell(per_event: np.ndarray) -> np.ndarray:
        out = np.zeros_like(population, dtype=float)
        np.add.at(out, events.area, per_event)
        return out

    return {
        "disaster_events": by_cell(event_share),
        "disaster_affected_persons": by_cell(affected_ev),
        "disaster_relocated_persons": by_cell(relocated_ev),
        "disaster_assisted_persons": by_cell(assisted_ev),
    }


def relief_paid(
    relocated: np.ndarray, assisted: np.ndarray, relief: Relief, year: int, cpi_level: float
) -> np.ndarray:
    """Emergency relief (紧急转移安置) and transitional living assistance (过渡期生活救助), yuan."""
    per_base_year = relocated * float(relief.per_relocated.at(year)) + assisted * float(
        relief.per_assisted.at(year)
    )
    return per_base_year * cpi_level


def draw_down(
    stock: np.ndarray, need: np.ndarray, lending: Literal["area", "city"]
) -> tuple[np.ndarray, np.ndarray]:
    """Sets used from each cell's stock, and the need left unmet, per cell.

    An area's depot serves its own need first, its cells giving in proportion to their
    stock; with ``lending == "city"`` the other areas then lend, each cell the same share
    of what it has left.  The unmet need is split over the cells by their need.
    """
    area_stock, area_need = stock.sum(axis=1), need.sum(axis=1)
    own = np.minimum(area_stock, area_need)
    used = stock * _ratio(own, area_stock)[:, None]
    unmet = area_need - own
    if lending == "city" and unmet.sum() > 0:
        left = stock - used
        lent = min(unmet.sum(), left.sum())
        used = used + left * _ratio(np.array(lent), np.array(left.sum()))
        unmet = unmet * (1.0 - lent / unmet.sum())
    shortfall = need * _ratio(unmet, area_need)[:, None]
    return used, shortfall


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def replenish(after_use: np.ndarray, target: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Sets bought per cell: up to the target, at most the capacity, never negative."""
    return np.minimum(np.maximum(target - after_use, 0.0), capacity)


def per_1000(rate: np.ndarray | float, population: np.ndarray) -> np.ndarray:
    """A rate per 1,000 residents applied to each cell's population."""
    return np.asarray(rate, dtype=float) * population / 1000.0


def need_for_return_period(
    params: DisasterReliefParams,
    area_codes: Sequence[str],
    population: np.ndarray,
    year: int,
    period: float = RETURN_PERIOD,
) -> np.ndarray:
    """Sets (relocated persons) of the largest event of a 1-in-``period`` year, per area.

    The y with Σ_h λ_{h,a} · P(R_h > y) = −ln(1 − 1/period), R_h the persons one event of
    hazard h relocates in area a (relocated share × capped log-normal size × exposed
    residents).  The left side falls with y, so y is found by bisection on the log-normal's
    closed-form tail.  Zero where events of all hazards together are rarer than that.
    """
    names = hazard_names(params)
    lam = rates(params, area_codes, year)  # (H, A)
    exposed = population @ exposure(params, year).T  # (A, H): residents per unit of size
    scale = (_per_hazard(params, "relocated_share", year)[None, :] * exposed).T  # (H, A)
    median = np.array([float(params.hazards[h].affected_median.value) for h in names])[:, None]
    sigma = _per_hazard(params, "affected_sigma", year)[:, None]
    cap = np.array([float(params.hazards[h].affected_cap.value) for h in names])[:, None]
    level = -math.log1p(-1.0 / period)
    live = (scale > 0) & (lam > 0)

    def exceedance(y: np.ndarray) -> np.ndarray:  # Σ_h λ P(R_h > y), per area
        x = np.divide(y[None, :], scale, out=np.full_like(scale, np.inf), where=scale > 0)
        z = np.log(np.maximum(x, 1e-300) / median) / sigma
        tail = np.where(x < cap, 1.0 - ndtr(z), 0.0)
        return np.where(live, lam * tail, 0.0).sum(axis=0)

    low = np.zeros(len(area_codes))
    high = np.where(live, cap * scale, 0.0).max(axis=0)
    possible = np.where(live, lam, 0.0).sum(axis=0) > level
    for _ in range(200):
        mid = 0.5 * (low + high)
        above = exceedance(mid) > level
        new_low, new_high = np.where(above, mid, low), np.where(above, high, mid)
        # once an iteration changes nothing (the bounds are adjacent numbers) none will:
        # stopping there gives what the 200 iterations give (the areas where no event is
        # as likely are zero whatever the bounds)
        settled = np.array_equal(new_low[possible], low[possible]) and np.array_equal(
            new_high[possible], high[possible]
        )
        low, high = new_low, new_high
        if settled:
            break
    return np.where(possible, 0.5 * (low + high), 0.0)


def init_disaster_relief(
    params: DisasterReliefParams, area_codes: Sequence[str], inputs: ServiceInputs
) -> DisasterReliefState:
    """The reserve at the end of the base year: ``initial_per_1000`` (its first value, if
    dated) of each cell's residents."""
    check_areas(params, area_codes)
    pop = np.asarray(inputs.population, dtype=float)
    if pop.shape != (len(area_codes), 2):
        raise ValueError(f"population has shape {pop.shape}, expected ({len(area_codes)}, 2)")
    initial = params.reserve.initial_per_1000
    stock = per_1000(np.array([float(initial.urban.at(0)), float(initial.rural.at(0))]), pop)
    return DisasterReliefState(area_codes=tuple(area_codes), stock=stock)


def step(
    state: DisasterReliefState,
    params: DisasterReliefParams,
    year: int,
    rng: np.random.Generator,
    inputs: ServiceInputs,
    events: Events | None = None,
) -> DisasterReliefYear:
    """The year's disasters, relief and reserve; ``state.stock`` becomes this year's end stock.

    ``events`` replaces the draw (a hand-made year); otherwise they are drawn from ``rng``.
    """
    area_codes = state.area_codes
    pop = np.asarray(inputs.population, dtype=float)
    if events is None:
        events = draw_events(params, area_codes, year, rng)
    raw = affected_persons(events, params, pop, year)
    relief = relief_paid(
        raw["disaster_relocated_persons"],
        raw["disaster_assisted_persons"],
        params.relief,
        year,
        inputs.cpi_level,
    )

    r = params.reserve
    start = state.stock
    used, shortfall = draw_down(start, raw["disaster_relocated_persons"], r.lending)
    written_off = float(r.write_off_rate.at(year)) * (start - used)
    after_use = start - used - written_off
    target = per_1000(r.target_per_1000.pair(year), pop)
    capacity = per_1000(float(r.replenishment_capacity_per_1000.at(year)), pop)
    purchased = replenish(after_use, target, capacity)
    end = after_use + purchased
    state.stock = end

    reserve_cost = (
        purchased * float(r.purchase_cost.at(year)) + start * float(r.storage_cost.at(year))
    ) * inputs.cpi_level
    need_area = need_for_return_period(params, area_codes, pop, year)
    need = need_area[:, None] * _ratio(pop, pop.sum(axis=1, keepdims=True))
    raw |= {
        "relief_reserve_units": end,
        "relief_reserve_need_1in20": need,
        "relief_reserve_purchased": purchased,
        "relief_reserve_used": used,
        "relief_reserve_written_off": written_off,
        "relief_reserve_shortfall": shortfall,
    }
    return DisasterReliefYear(
        events=events,
        spending={"disaster_relief": relief, "relief_reserve": reserve_cost},
        raw=raw,
        inflow=purchased,
        outflow=used + written_off,
    )
