"""Model invariants (模型自检): rules the model's own accounting keeps, checked every year.

Issue 10 item 4.  At the end of each simulated year (after the ledger is booked and the
year recorded) the model calls :meth:`YearChecks.check`, which raises
:class:`~simlib.errors.InvariantError` at the first broken rule, naming the year, the area
(code and names; ``all`` for a city-wide figure) and the metric:

1. **No negative counts or amounts**: every raw quantity the year recorded, per area ×
   stratum, and every amount of the ledger is finite and at least zero.
2. **Persons**: per area × stratum, the simulated persons at the end of the year (the
   recorded population over the weight) are those at the end of last year + births −
   deaths + in-migrants − out-migrants, exactly (demography's report).  Persons are added,
   removed or moved between cells only there: an elder admitted to a care home leaves the
   family household but keeps the area and stratum of the person (the home's beds and
   residents count in the home's cell), so the identity holds for the persons' cells.
3. **Beds**: no care home holds more simulated residents than its simulated places
   (``floor(beds × scale)``), and no cell more occupied beds than beds.
4. **The ledger**: each funder's part of a programme's payment in a cell is the funder's
   share of it (so the parts add up to the payment), each programme's recorded spending
   is its ledger total, ``relief_spending_total`` is the sum of the programmes, and the
   real values are the nominal ones over the CPI level.
5. **Standards**: the bureau's decision keeps its floors (rural ≥ the poverty line per
   month from the year 两线合一 starts; no standard below last year's with the ratchet)
   and its cap (λ in [0, 1]; the standards after the fiscal cap between last year's and
   the uncapped ones; projected relief spending within the cap unless even no rise
   keeps it there); the year's mean standard lies between last year's and the new one.
6. **Probabilities** in [0, 1]: the life table and the fertility schedule of the year
   here; the elders' health matrices where :mod:`simlib.health` makes them, through
   :func:`check_probability`.

Every check is a few vectorised reductions over per-cell arrays, or one pass over a
person column, so a year's checks cost a few milliseconds at full scale.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from simlib.cells import Cells
from simlib.demography import DemographyReport, death_probabilities, fertility_rates
from simlib.errors import InvariantError
from simlib.institutions import CareHome, occupancy, places
from simlib.ledger import FUNDERS, PROGRAMMES, FundingShares
from simlib.population import STRATA, City
from simlib.standards import StandardDecision, StandardsParams, Stratified

if TYPE_CHECKING:
    from simlib.model import CityModel

CITY = -1
"""The area index of a city-wide figure (a standard, a probability table)."""
RELATIVE = 1e-9
"""Tolerance of sums that are the same numbers added in another order."""
SHARES_RELATIVE = 2e-6
"""Tolerance of a funder's part: the funding shares sum to one within 1e-6 (ledger.py)."""
ABSOLUTE = 1e-6
"""Yuan or persons: below this, a difference is rounding."""


@dataclass(frozen=True)
class AreaNames:
    """How a message names an area: its code and its names."""

    codes: tuple[str, ...]
    names: tuple[str, ...]

    @classmethod
    def of(cls, params: Any) -> AreaNames:
        """From a scenario's ``areas`` block."""
        areas = params.areas
        return cls(
            tuple(areas),
            tuple(f"{a.name.zh}, {a.name.en}" for a in areas.values()),
        )

    def label(self, area: int, stratum: int | None = None) -> str:
        where = "all (the whole city)" if area < 0 else f"{self.codes[area]} ({self.names[area]})"
        return where if stratum is None else f"{where} {STRATA[stratum]}"


def fail(year: int | None, place: str, metric: str, problem: str) -> NoReturn:
    when = "the base year" if year is None else str(year)
    raise InvariantError(
        f"model invariant broken in {when}, area {place}, metric {metric}: {problem}"
    )


def _first(bad: np.ndarray) -> tuple[int, ...]:
    """The index of the first true element of ``bad``."""
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), bad.shape))


def _ok_amounts(values: np.ndarray) -> bool:
    """All finite and at least zero, bar rounding (two reductions; NaN fails both)."""
    return values.size == 0 or bool(values.min() >= -ABSOLUTE and values.max() < np.inf)


def _bad_amounts(values: np.ndarray) -> np.ndarray:
    return ~((values >= -ABSOLUTE) & (values < np.inf))


# --- 1. no negative counts or amounts -----------------------------------------------------


def check_not_negative(values: Mapping[str, np.ndarray], year: int, areas: AreaNames) -> None:
    """Every array (area × stratum cells) finite and at least zero."""
    arrays = [np.asarray(v, dtype=float) for v in values.values()]
    if not arrays or _ok_amounts(np.concatenate([a.ravel() for a in arrays])):
        return
    for name, v in zip(values, arrays, strict=True):
        bad = _bad_amounts(v)
        if bad.any():
            index = _first(bad)
            where = areas.label(*index) if v.ndim == 2 else areas.label(CITY)
            fail(
                year,
                where,
                name,
                f"{float(v[index]):.6g} is not a count or an amount (negative or not finite)",
            )


# --- 2. persons ---------------------------------------------------------------------------


def persons_by_cell(city: City, homes: list[CareHome]) -> np.ndarray:
    """Simulated persons per area × stratum (int; kept by the persons table)."""
    return np.rint(Cells(city, homes).persons_among(slice(None))).astype(np.int64)


def check_persons(
    before: np.ndarray,
    after: np.ndarray,
    report: DemographyReport,
    year: int,
    areas: AreaNames,
) -> None:
    """after = before + births − deaths + in-migrants − out-migrants, in every cell."""
    r = report
    expected = before + r.births - r.deaths + r.in_migrants - r.out_migrants
    bad = after != expected
    if bad.any():
        a, s = _first(bad)
        fail(
            year,
            areas.label(a, s),
            "persons (simulated)",
            f"{after[a, s]} at the end of the year, but {before[a, s]} at the end of last year "
            f"+ {r.births[a, s]} births - {r.deaths[a, s]} deaths + {r.in_migrants[a, s]} "
            f"in-migrants - {r.out_migrants[a, s]} out-migrants = {expected[a, s]}",
        )


# --- 3. beds ------------------------------------------------------------------------------


def check_beds(
    occupied: np.ndarray, homes: list[CareHome], scale: float, year: int, areas: AreaNames
) -> None:
    """No home holds more simulated residents than its places, floor(beds × scale)."""
    room = places(homes, scale)
    over = np.asarray(occupied) > room
    if over.any():
        (h,) = _first(over)
        home = homes[h]
        fail(
            year,
            areas.label(home.area, home.stratum),
            "beds_occupied",
            f"care home {h} ({home.kind}, {home.beds} beds) holds {occupied[h]} simulated "
            f"residents for {room[h]} simulated places (floor of beds × scale {scale:g})",
        )


def check_beds_by_cell(occupied: np.ndarray, beds: np.ndarray, year: int, areas: AreaNames) -> None:
    """Occupied beds at most beds, per area × stratum (whole-city figures)."""
    over = np.asarray(occupied) > np.asarray(beds) * (1 + RELATIVE) + ABSOLUTE
    if over.any():
        a, s = _first(over)
        fail(
            year,
            areas.label(a, s),
            "beds_occupied",
            f"{occupied[a, s]:.6g} occupied beds, more than the {beds[a, s]:.6g} beds",
        )


# --- 4. the ledger ------------------------------------------------------------------------


def funding_shares(funding: Mapping[str, FundingShares], year: int) -> np.ndarray:
    """The funding shares of the year, programme × funder (ledger order)."""
    return np.array([funding[p].at(year) for p in PROGRAMMES])


def _differ(a: np.ndarray, b: np.ndarray, relative: float = RELATIVE) -> np.ndarray:
    return np.abs(a - b) > relative * np.maximum(np.abs(a), np.abs(b)) + ABSOLUTE


def check_ledger(
    booked: np.ndarray,
    shares: np.ndarray,
    record: Mapping[str, np.ndarray],
    deflator: float,
    year: int,
    areas: AreaNames,
) -> None:
    """The year's ledger (programme × funder × area × stratum) against its parts and the
    record: amounts ≥ 0, each funder's part its share of the programme's payment, each
    programme's spending metric its ledger total, the total their sum, real = nominal / CPI."""
    programmes, funders = list(PROGRAMMES.values()), FUNDERS
    if not _ok_amounts(booked):
        p, f, a, s = _first(_bad_amounts(booked))
        fail(
            year,
            areas.label(a, s),
            f"ledger {programmes[p].name} ({funders[f]})",
            f"{float(booked[p, f, a, s]):.6g} is not an amount (negative or not finite)",
        )
    total = booked.sum(axis=1)  # programme × area × stratum
    bad = _differ(booked, shares[:, :, None, None] * total[:, None], SHARES_RELATIVE)
    if bad.any():
        p, _, a, s = _first(bad)
        parts = ", ".join(f"{f} {x:.6g}" for f, x in zip(funders, booked[p, :, a, s], strict=True))
        fail(
            year,
            areas.label(a, s),
            f"ledger {programmes[p].name} by funder",
            f"the funders' parts ({parts}) are not their shares "
            f"({', '.join(f'{x:.6g}' for x in shares[p])}) of the payment {total[p, a, s]:.6g}",
        )
    metrics = [p.metric for p in programmes]
    recorded = np.stack([record[m] for m in metrics])
    _same_cells(recorded, total, year, areas, metrics, "the ledger's total of the programme")
    nominal = np.stack([*recorded, record["relief_spending_total"]])
    _same_cells(
        nominal[-1:],
        booked.sum(axis=(0, 1))[None],
        year,
        areas,
        ["relief_spending_total"],
        "the sum of the programmes in the ledger",
    )
    names = [*metrics, "relief_spending_total"]
    real = np.stack([record[f"{n}_real"] for n in names])
    _same_cells(
        real,
        nominal / deflator,
        year,
        areas,
        [f"{n}_real" for n in names],
        f"the nominal value over the CPI level {deflator:.6g}",
    )


def _same_cells(
    got: np.ndarray,
    want: np.ndarray,
    year: int,
    areas: AreaNames,
    metrics: list[str],
    what: str,
) -> None:
    """``got`` equals ``want`` (metric × area × stratum) bar rounding."""
    bad = _differ(got, want)
    if bad.any():
        m, a, s = _first(bad)
        fail(
            year,
            areas.label(a, s),
            metrics[m],
            f"{got[m, a, s]:.10g} is not {what}, {want[m, a, s]:.10g}",
        )


# --- 5. standards -------------------------------------------------------------------------


def check_standards(decision: StandardDecision, params: StandardsParams, year: int) -> None:
    """The bureau's decision within its floors and its cap (see the module docstring)."""
    city = AreaNames((), ()).label(CITY)
    d = decision
    for name, pair in (
        ("dibao_standard_month", d.new),
        ("dibao_standard_mean_month", d.annual_mean),
        ("price_subsidy_amount", d.subsidy_amount),
    ):
        for s, x in enumerate((pair.urban, pair.rural)):
            if not 0.0 <= x < np.inf:
                fail(year, f"{city} {STRATA[s]}", name, f"{x:.6g} yuan/month is not a standard")
    if not 0.0 <= d.cap_factor <= 1.0:
        fail(year, city, "fiscal cap factor", f"λ = {d.cap_factor:.6g} is outside [0, 1]")
    _between(
        d.annual_mean,
        d.previous,
        d.new,
        year,
        "dibao_standard_mean_month",
        "last year's standard and the new one",
    )
    cap = params.fiscal_cap
    if cap.enabled and d.spending_cap is not None:
        before, after = d.trace["price_uplift"], d.trace["fiscal_cap"]
        _between(
            after,
            d.previous,
            before,
            year,
            "dibao_standard_month (fiscal cap)",
            "last year's standard and the uncapped one",
        )
        rises = (before - d.previous).total() > 0
        if d.cap_factor > 0 and rises and d.projected_spending is not None:
            limit = d.spending_cap * (1 + RELATIVE) + ABSOLUTE
            if d.projected_spending > limit:
                fail(
                    year,
                    city,
                    "relief_spending_total (fiscal cap)",
                    f"projected relief spending {d.projected_spending:.6g} yuan exceeds the "
                    f"cap {d.spending_cap:.6g} yuan at λ = {d.cap_factor:.6g}",
                )
    floors = params.floors
    if not floors.enabled:
        return
    if year >= floors.poverty_line_from:
        line = d.poverty_line / 12.0
        if d.new.rural < line - ABSOLUTE:
            fail(
                year,
                f"{city} rural",
                "dibao_standard_month",
                f"{d.new.rural:.6g} yuan/month is below the poverty line {line:.6g} "
                "yuan/month (两线合一)",
            )
    if floors.ratchet:
        for s, (new, old) in enumerate(
            zip((d.new.urban, d.new.rural), (d.previous.urban, d.previous.rural), strict=True)
        ):
            if new < old - ABSOLUTE:
                fail(
                    year,
                    f"{city} {STRATA[s]}",
                    "dibao_standard_month",
                    f"{new:.6g} yuan/month is below last year's {old:.6g} (the ratchet)",
                )


def _between(
    x: Stratified, a: Stratified, b: Stratified, year: int, metric: str, what: str
) -> None:
    city = AreaNames((), ()).label(CITY)
    for s, (v, lo, hi) in enumerate(
        zip((x.urban, x.rural), (a.urban, a.rural), (b.urban, b.rural), strict=True)
    ):
        low, high = min(lo, hi), max(lo, hi)
        if not low - ABSOLUTE - RELATIVE * abs(low) <= v <= high + ABSOLUTE + RELATIVE * abs(high):
            fail(
                year,
                f"{city} {STRATA[s]}",
                metric,
                f"{v:.6g} yuan/month is not between {what} ({lo:.6g}, {hi:.6g})",
            )


# --- 6. probabilities ---------------------------------------------------------------------


def check_probability(values: np.ndarray, what: str, year: int | None) -> None:
    """Every value in [0, 1] (two reductions); else an error naming the first bad one."""
    v = np.asarray(values)
    if v.size == 0 or (v.min() >= 0.0 and v.max() <= 1.0):
        return
    index = _first(~((v >= 0.0) & (v <= 1.0)))
    at = f" at index {index}" if v.ndim else ""
    fail(
        year,
        AreaNames((), ()).label(CITY),
        what,
        f"{float(v[index]):.6g}{at} is not a probability in [0, 1]",
    )


# --- every year ---------------------------------------------------------------------------


class YearChecks:
    """The checks of each simulated year, and the persons carried from one year to the next.

    Made at the end of the base year; :meth:`check` at the end of each year.
    """

    def __init__(self, model: CityModel) -> None:
        self.areas = AreaNames.of(model.params)
        self.persons = persons_by_cell(model.city, model.homes)

    def check(self, model: CityModel, year: int, report: DemographyReport) -> None:
        p, city, homes, areas = model.params, model.city, model.homes, self.areas
        check_not_negative(model.cells, year, areas)
        shares = funding_shares(p.funding, year)
        check_ledger(model.booked[-1], shares, model.cells, model.deflators[-1], year, areas)
        persons = np.rint(model.cells["population"] / city.weight).astype(np.int64)
        check_persons(self.persons, persons, report, year, areas)
        self.persons = persons
        check_beds(occupancy(city.persons.institution, len(homes)), homes, model.scale, year, areas)
        check_beds_by_cell(model.cells["beds_occupied"], model.cells["beds"], year, areas)
        if model.bureau.decision is not None:
            check_standards(model.bureau.decision, p.standards, year)
        mortality = p.demography.mortality
        check_probability(
            death_probabilities(mortality, year), "death probability (life table)", year
        )
        check_probability(
            fertility_rates(p.demography.fertility, year, mortality.oldest_age),
            "birth probability (fertility schedule)",
            year,
        )
