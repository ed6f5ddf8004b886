"""Elderly-care institutions (养老机构): homes, beds, the construction pipeline, admission.

DESIGN §2 (agents: institutions; step 7); plan 三(八)1 (公办, 公建民营, 民办公助; beds per 1,000
elderly 每千名老年人拥有养老床位数).  A care home is a Mesa agent (:class:`CareHome`) of one
*kind*: ``public`` 公办, ``public_private`` 公建民营 (publicly built, privately run), ``private``
民办, ``jinglaoyuan`` 敬老院 (rural home for the destitute, 农村特困人员供养服务机构) and
``welfare_home`` 社会福利院.  Assumption: 敬老院 are rural (stratum 1), all other kinds urban
(stratum 0); a home's stratum is where its beds are counted, and anyone of its area may live there.

**The stock.**  The statistical bulletin gives the stock of one reference year (2019: 97
welfare residential units 社会福利收养性单位 with 9,344 beds, among them 22 敬老院 with 1,974
beds and 4 社会福利院 with 760 beds).  The other units and beds are split into public /
public-private / private by scenario shares (largest remainder).  The whole bulletin stock is
taken as elderly-care stock (it also holds a few children's and mental-health places that the
bulletin does not separate).  Building the base year:

1. the homes the pipeline opened after the base year and by the reference year (their
   units and the beds they opened with) are taken off the reference stock;
2. what is left (the older stock) is spread over areas, kind by kind: units by the area
   weights of the kind's stratum (the scenario's persons 60+ by area, urban or rural), beds
   by the same weights over the areas that have units; within an area the beds are shared
   equally among the units; all by largest remainder, so totals are exact;
3. the stock of each area and kind is carried back year by year to the base year by undoing
   that year's openings and retirements (the retirement rule below inverted exactly), and
   the base-year beds of the cell are shared equally among its older units.

Stepping the pipeline from the base year to the reference year then reproduces the
reference stock exactly (units and beds by kind), as long as no retirement is held back by
residents (below).  A base year after the reference year steps forward from it instead.

**The pipeline** (each year, :func:`build_pipeline`): first retirements, then openings.

* Retirement: in each area and kind, ``round(share × beds)`` beds are taken out of use
  (old buildings closed, merged or converted; the share is the scenario's), spread over
  the cell's homes in proportion to the beds each can lose.  A home keeps at least one bed
  (homes are never removed: a person's ``institution`` is an index into the list of homes,
  which only grows) and, when the caller gives the occupancy, every bed a resident needs:
  only empty places are retired, and retirement held back is not carried to later years.
  Nursing beds shrink in proportion.
* Openings: the new beds of the year, by area and kind, each open as one new home of that
  kind in that area (not an extension of an existing one), with the kind's nursing-bed
  share of the year.  Its construction subsidy (beds × yuan per bed of the kind; public
  beds fully funded) is booked to the home's area × stratum in the year it opens.

Fees and operating subsidies of every home are set each year from the scenario (fees at
the price year × the fee growth since; subsidies as dated values).

**Capacity at a scale.**  At ``scale`` s a home has ``floor(beds · s)`` simulated places,
so occupancy × weight (1/s) never exceeds its real beds.  Occupancy is not kept in the
agents: the model's persons column ``institution`` (index of the home, -1 for none) is
counted by :func:`occupancy`.

**Admission** (轮候, DESIGN §2 step 7), :func:`admit`: seekers are served by priority
(0: destitute 特困 who cannot care for themselves; 1: dibao / low-income and fully
dependent; 2: others), then by the caller's order (waiting time, a random tie-break).  Each
takes a free place in its own area, in its best-ranked allowed kind that has one there,
in the home of that kind with the most free places; one whose allowed kinds are full waits.
Deaths and discharges are the caller's (the persons column).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Literal

import mesa
import numpy as np
from pydantic import Field, model_validator

from simlib.facts import ByStratum, Fact, NonNegative, Rate, Share, Strict, Year
from simlib.history import read_history, series
from simlib.population import RURAL, STRATA, URBAN, largest_remainder

KINDS = ("public", "public_private", "private", "jinglaoyuan", "welfare_home")
KIND_LABELS_ZH = {
    "public": "公办",
    "public_private": "公建民营",
    "private": "民办",
    "jinglaoyuan": "敬老院",
    "welfare_home": "社会福利院",
}
KIND_STRATUM = {
    "public": URBAN,
    "public_private": URBAN,
    "private": URBAN,
    "jinglaoyuan": RURAL,
    "welfare_home": URBAN,
}
"""Where a kind's beds are counted (an assumption: 敬老院 rural, the others urban)."""
OTHER_KINDS = ("public", "public_private", "private")
"""The kinds the bulletin does not give separately; split by the scenario's shares."""

Kind = Literal["public", "public_private", "private", "jinglaoyuan", "welfare_home"]
Beds = Annotated[int, Field(ge=0)]
RetirementShare = Annotated[float, Field(ge=0.0, lt=1.0)]
NewBeds = dict[str, dict[Kind, Beds]]
"""New beds of one year: area -> kind -> beds."""
_EPS = 1e-9


# --- parameters ------------------------------------------------------------------------


class OtherSplit(Strict):
    """Shares of the units (or beds) that are neither 敬老院 nor 社会福利院."""

    public: Share
    public_private: Share
    private: Share

    @model_validator(mode="after")
    def _sums_to_one(self) -> OtherSplit:
        total = self.public + self.public_private + self.private
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"the shares must sum to one (they sum to {total:g})")
        return self

    def array(self) -> np.ndarray:
        return np.array([self.public, self.public_private, self.private])


class BulletinIndicators(Strict):
    """The bulletin's indicator names for the reference stock."""

    units: str
    beds: str
    jinglaoyuan_units: str
    jinglaoyuan_beds: str
    welfare_home_units: str
    welfare_home_beds: str


class StockParams(Strict):
    """The reference-year stock and how it is split by kind and spread over areas."""

    bulletin_file: str
    area: str
    year: Year
    indicators: BulletinIndicators
    other_units_split: Fact[OtherSplit]
    other_beds_split: Fact[OtherSplit]
    area_weight: ByStratum[dict[str, NonNegative]]


class KindParams(Strict):
    """Money and nursing beds of one kind of home."""

    fee_month: Fact[NonNegative]
    operating_subsidy_month: Fact[NonNegative]
    nursing_share: Fact[Share]
    construction_subsidy_per_bed: Fact[NonNegative]


class KindsParams(Strict):
    public: KindParams
    public_private: KindParams
    private: KindParams
    jinglaoyuan: KindParams
    welfare_home: KindParams

    def of(self, kind: str) -> KindParams:
        return getattr(self, kind)


class FeeParams(Strict):
    """Fees are given at ``price_year`` prices and grow by ``growth`` a year after it."""

    price_year: Year
    growth: Fact[Rate]


class PipelineParams(Strict):
    """New beds by year, area and kind, and the yearly retirement share.

    ``built`` holds the years up to the reference year (the back-cast undoes them);
    ``planned`` the years after.  A scenario that builds faster changes ``planned`` only.
    """

    built: Fact[NewBeds]
    planned: Fact[NewBeds]
    retirement_share: Fact[RetirementShare]

    def new_beds(self, year: int, reference_year: int) -> NewBeds:
        return (self.built if year <= reference_year else self.planned).at(year)


class InstitutionsParams(Strict):
    stock: StockParams
    kinds: KindsParams
    fees: FeeParams
    pipeline: PipelineParams


# --- the agents ----------------------------------------------------------------------------


class CareHome(mesa.Agent):
    """One elderly-care institution: where it is, what kind, its beds and its prices."""

    def __init__(
        self,
        model: mesa.Model,
        area: int,
        kind: str,
        beds: int,
        nursing_beds: int,
        fee_month: float,
        subsidy_month: float,
        opened: int,
    ) -> None:
        super().__init__(model)
        if kind not in KINDS:
            raise ValueError(f"unknown kind of care home {kind!r} (known: {', '.join(KINDS)})")
        if beds < 0 or not 0 <= nursing_beds <= beds:
            raise ValueError(f"beds {beds} and nursing beds {nursing_beds} do not fit")
        self.area = int(area)
        self.kind = kind
        self.stratum = KIND_STRATUM[kind]
        self.beds = int(beds)
        self.nursing_beds = int(nursing_beds)
        self.fee_month = float(fee_month)
        self.subsidy_month = float(subsidy_month)
        self.opened = int(opened)
        """Year it opened; homes of the base-year stock carry the base year."""

    @property
    def kind_index(self) -> int:
        return KINDS.index(self.kind)

    def __repr__(self) -> str:
        return f"CareHome({self.kind}, area {self.area}, {self.beds} beds, opened {self.opened})"


# --- the stock --------------------------------------------------------------------------------


def reference_stock(params: StockParams) -> tuple[np.ndarray, np.ndarray]:
    """Units and beds by kind (in :data:`KINDS` order) in the reference year, from the bulletin."""
    table = read_history([params.bulletin_file])
    names = params.indicators

    def figure(indicator: str) -> int:
        found = series(table, indicator, params.area).get(params.year)
        if found is None:
            raise ValueError(
                f"institutions.stock.indicators: {indicator!r} for {params.area} "
                f"{params.year} is not in {Path(params.bulletin_file).name}"
            )
        return round(found)

    jly = (figure(names.jinglaoyuan_units), figure(names.jinglaoyuan_beds))
    welfare = (figure(names.welfare_home_units), figure(names.welfare_home_beds))
    other_units = figure(names.units) - jly[0] - welfare[0]
    other_beds = figure(names.beds) - jly[1] - welfare[1]
    if other_units < 0 or other_beds < 0:
        raise ValueError("institutions.stock: 敬老院 and 社会福利院 exceed the whole stock")
    year = params.year
    units = largest_remainder(params.other_units_split.at(year).array(), other_units)
    beds = largest_remainder(params.other_beds_split.at(year).array(), other_beds)
    return (np.array([*units, jly[0], welfare[0]]), np.array([*beds, jly[1], welfare[1]]))


def area_weights(params: StockParams, area_codes: Sequence[str]) -> np.ndarray:
    """Weights (areas × strata) from ``stock.area_weight``; every area must be given."""
    out = np.zeros((len(area_codes), len(STRATA)))
    for s, name in enumerate(STRATA):
        given = getattr(params.area_weight, name).at(params.year)
        missing, unknown = set(area_codes) - set(given), set(given) - set(area_codes)
        if missing or unknown:
            raise ValueError(
                f"institutions.stock.area_weight.{name} must give every area and no other: "
                f"missing {sorted(missing)}, unknown {sorted(unknown)}"
            )
        out[:, s] = [given[a] for a in area_codes]
        if out[:, s].sum() <= 0:
            raise ValueError(f"institutions.stock.area_weight.{name}: the weights are all zero")
    return out


def spread_over_areas(units: int, beds: int, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Units by ``weights``, then beds by the same weights over the areas that got units."""
    by_area_units = largest_remainder(weights, units)
    by_area_beds = largest_remainder(np.where(by_area_units > 0, weights, 0.0), beds)
    return by_area_units, by_area_beds


def round_half_up(x: float | np.ndarray) -> np.ndarray:
    return np.floor(np.asarray(x, dtype=float) + 0.5).astype(np.int64)


def retired(beds: int | np.ndarray, share: float) -> np.ndarray:
    """Beds retired in a year from a stock of ``beds``: round(share × beds), halves up."""
    return round_half_up(share * np.asarray(beds))


def before_retirement(after: int, share: float) -> int:
    """The smallest stock b with ``b - retired(b) == after`` (the retirement undone).

    ``b - round(s·b)`` rises by 0 or 1 as b rises by 1 (s < 1), so every ``after`` ≥ 0
    is reached.
    """
    if after < 0:
        raise ValueError(f"a stock cannot be negative ({after})")
    b = max(0, math.floor((after - 1) / (1.0 - share)) - 1)
    while b - int(retired(b, share)) < after:
        b += 1
    return b


def _check_areas(new: NewBeds, area_codes: Sequence[str], year: int) -> None:
    unknown = set(new) - set(area_codes)
    if unknown:
        raise ValueError(
            f"institutions.pipeline: new beds of {year} in unknown area(s) {sorted(unknown)}"
        )


def _cell_new_beds(new: NewBeds, area_codes: Sequence[str]) -> np.ndarray:
    """New beds of one year as an array (kinds × areas)."""
    out = np.zeros((len(KINDS), len(area_codes)), dtype=np.int64)
    for a, code in enumerate(area_codes):
        for kind, beds in new.get(code, {}).items():
            out[KINDS.index(kind), a] += beds
    return out


def _fee(params: InstitutionsParams, kind: str, year: int) -> float:
    fees = params.fees
    growth = np.prod([1.0 + fees.growth.at(y) for y in range(fees.price_year + 1, year + 1)])
    return float(params.kinds.of(kind).fee_month.at(year)) * float(growth)


def _new_home(
    model: mesa.Model, params: InstitutionsParams, area: int, kind: str, beds: int, year: int
) -> CareHome:
    p = params.kinds.of(kind)
    nursing = min(beds, int(round_half_up(beds * p.nursing_share.at(year))))
    return CareHome(
        model,
        area=area,
        kind=kind,
        beds=beds,
        nursing_beds=nursing,
        fee_month=_fee(params, kind, year),
        subsidy_month=p.operating_subsidy_month.at(year),
        opened=year,
    )


def stock_before_pipeline(
    params: InstitutionsParams, area_codes: Sequence[str], base_year: int
) -> tuple[dict[int, np.ndarray], np.ndarray, np.ndarray]:
    """What the pipeline opened after the base year and by the reference year (new beds,
    kinds × areas, by year), and the units and beds by kind of the reference stock left
    for the homes open in the base year.  A pipeline that opened more than the stock holds
    (a city with no care homes in the bulletin, and homes built before it) is refused with
    a ValueError naming the keys; the scenario checks this on load (:func:`check_pipeline`).
    """
    ref = params.stock.year
    units_ref, beds_ref = reference_stock(params.stock)
    window = range(min(base_year, ref) + 1, ref + 1)  # the years to undo (none if base ≥ ref)
    new_by_year = {}
    for year in window:
        new = params.pipeline.new_beds(year, ref)
        _check_areas(new, area_codes, year)
        new_by_year[year] = _cell_new_beds(new, area_codes)
    pipe_beds = sum(new_by_year.values(), np.zeros((len(KINDS), len(area_codes)), dtype=np.int64))
    pipe_units = sum((b > 0 for b in new_by_year.values()), np.zeros_like(pipe_beds))
    units_left = units_ref - pipe_units.sum(axis=1)
    beds_left = beds_ref - pipe_beds.sum(axis=1)
    for k, kind in enumerate(KINDS):
        if units_left[k] < 0 or beds_left[k] < units_left[k]:
            raise ValueError(
                f"institutions.pipeline.built: the {kind} homes opened {window.start}-{ref} "
                f"({pipe_units[k].sum()} units, {pipe_beds[k].sum()} beds) leave "
                f"{units_left[k]} units and {beds_left[k]} beds of the {ref} stock "
                f"({units_ref[k]} units, {beds_ref[k]} beds; institutions.stock) for the homes "
                "open in the base year"
            )
    return new_by_year, units_left, beds_left


def check_pipeline(params: InstitutionsParams, area_codes: Sequence[str], base_year: int) -> None:
    """Raise ValueError (naming the keys) if the homes cannot be built for ``base_year``: the
    check across blocks (``years``, ``areas``, ``institutions``) a scenario makes on load."""
    stock_before_pipeline(params, area_codes, base_year)
    area_weights(params.stock, area_codes)


def build_homes(
    model: mesa.Model,
    params: InstitutionsParams,
    area_codes: tuple[str, ...],
    base_year: int,
) -> list[CareHome]:
    """The care homes at the end of ``base_year`` (see the module docstring for the rule)."""
    stock = params.stock
    ref = stock.year
    weights = area_weights(stock, area_codes)
    n_areas = len(area_codes)
    window = range(min(base_year, ref) + 1, ref + 1)  # the years to undo (none if base ≥ ref)
    # 1. What the pipeline opened in the window (a home per area, kind and year).
    new_by_year, units_left, beds_left = stock_before_pipeline(params, area_codes, base_year)
    pipe_beds = sum(new_by_year.values(), np.zeros((len(KINDS), n_areas), dtype=np.int64))
    # 2. The rest of the reference stock (the older homes), spread over areas.
    old_units = np.zeros((len(KINDS), n_areas), dtype=np.int64)
    ref_beds = np.zeros((len(KINDS), n_areas), dtype=np.int64)
    for k, kind in enumerate(KINDS):
        w = weights[:, KIND_STRATUM[kind]]
        old_units[k], old_beds = spread_over_areas(int(units_left[k]), int(beds_left[k]), w)
        ref_beds[k] = old_beds + pipe_beds[k]
    # 3. Back to the base year, cell by cell: undo the openings, then the retirements.
    beds = ref_beds
    for year in reversed(window):
        share = params.pipeline.retirement_share.at(year)
        after = beds - new_by_year[year]
        beds = np.array([[before_retirement(int(b), share) for b in row] for row in after])
    homes: list[CareHome] = []
    start = min(base_year, ref)
    for k, kind in enumerate(KINDS):
        p = params.kinds.of(kind)
        for a in range(n_areas):
            n = int(old_units[k, a])
            if n == 0:
                continue
            if beds[k, a] < n:
                raise ValueError(f"institutions: fewer {kind} beds than homes in {area_codes[a]}")
            for b in largest_remainder(np.ones(n), int(beds[k, a])):
                share = p.nursing_share.at(start)
                homes.append(
                    CareHome(
                        model,
                        area=a,
                        kind=kind,
                        beds=int(b),
                        nursing_beds=min(int(b), int(round_half_up(b * share))),
                        fee_month=_fee(params, kind, start),
                        subsidy_month=p.operating_subsidy_month.at(start),
                        opened=start,
                    )
                )
    for year in range(ref + 1, base_year + 1):  # a base year after the reference year
        homes, _ = build_pipeline(model, homes, params, area_codes, year)
    return homes


def build_pipeline(
    model: mesa.Model,
    homes: list[CareHome],
    params: InstitutionsParams,
    area_codes: tuple[str, ...],
    year: int,
    occupied: np.ndarray | None = None,
    scale: float = 1.0,
) -> tuple[list[CareHome], np.ndarray]:
    """This year's retirements and openings.

    Returns the homes (the same agents, changed in place, then the new ones appended: an
    index into the list stays valid) and the construction spending (yuan) per area ×
    stratum.  With ``occupied`` (simulated residents per home) and ``scale``, a home keeps
    the beds its residents need: ``ceil(occupied / scale)``.
    """
    ref = params.stock.year
    share = params.pipeline.retirement_share.at(year)
    n_areas = len(area_codes)
    keep = np.ones(len(homes), dtype=np.int64)
    if occupied is not None:
        if len(occupied) != len(homes):
            raise ValueError(f"occupied gives {len(occupied)} homes, there are {len(homes)}")
        need = np.ceil(np.asarray(occupied, dtype=float) / scale - _EPS).astype(np.int64)
        keep = np.maximum(keep, need)
    area = np.array([h.area for h in homes], dtype=np.int64)
    kind = np.array([h.kind_index for h in homes], dtype=np.int64)
    beds = np.array([h.beds for h in homes], dtype=np.int64)
    cell = kind * n_areas + area
    cell_beds = np.bincount(cell, weights=beds, minlength=len(KINDS) * n_areas)
    due = retired(cell_beds.astype(np.int64), share)
    room = np.maximum(beds - keep, 0)
    cut = np.zeros(len(homes), dtype=np.int64)
    for c in np.flatnonzero(due):
        members = np.flatnonzero(cell == c)
        cut[members] = largest_remainder(room[members], min(int(due[c]), int(room[members].sum())))
    fee = {kind: _fee(params, kind, year) for kind in {home.kind for home in homes}}
    subsidy = {kind: float(params.kinds.of(kind).operating_subsidy_month.at(year)) for kind in fee}
    for h, home in enumerate(homes):
        if cut[h]:
            new_beds = home.beds - int(cut[h])
            home.nursing_beds = int(round_half_up(home.nursing_beds * new_beds / home.beds))
            home.beds = new_beds
        home.fee_month = fee[home.kind]
        home.subsidy_month = subsidy[home.kind]
    spending = np.zeros((n_areas, len(STRATA)))
    new = params.pipeline.new_beds(year, ref)
    _check_areas(new, area_codes, year)
    opened = []
    for a, code in enumerate(area_codes):
        by_kind = new.get(code, {})
        for kind_name in KINDS:
            b = int(by_kind.get(kind_name, 0))
            if b == 0:
                continue
            opened.append(_new_home(model, params, a, kind_name, b, year))
            per_bed = params.kinds.of(kind_name).construction_subsidy_per_bed.at(year)
            spending[a, KIND_STRATUM[kind_name]] += b * per_bed
    return [*homes, *opened], spending


# --- capacity, occupancy, admission --------------------------------------------------------


def places(homes: Sequence[CareHome], scale: float) -> np.ndarray:
    """Simulated places per home: floor(beds × scale), so occupancy × weight ≤ beds."""
    beds = np.array([h.beds for h in homes], dtype=float)
    return np.floor(beds * scale + _EPS).astype(np.int64)


def occupancy(institution: np.ndarray, n_homes: int) -> np.ndarray:
    """Simulated residents per home, from the persons column ``institution`` (-1 for none)."""
    inside = institution[np.flatnonzero(institution >= 0)]  # (faster than the mask)
    if inside.size and inside.max() >= n_homes:
        raise ValueError(f"a person lives in home {inside.max()}, but there are {n_homes} homes")
    return np.bincount(inside, minlength=n_homes)


def home_area_kind(homes: Sequence[CareHome]) -> tuple[np.ndarray, np.ndarray]:
    """Area and kind index (into :data:`KINDS`) of each home, for :func:`admit`."""
    area = np.array([h.area for h in homes], dtype=np.int64)
    kind = np.array([h.kind_index for h in homes], dtype=np.int64)
    return area, kind


def admit(
    seeker_area: np.ndarray,
    seeker_priority: np.ndarray,
    seeker_order: np.ndarray,
    seeker_rank: np.ndarray,
    home_area: np.ndarray,
    home_kind: np.ndarray,
    home_free: np.ndarray,
) -> np.ndarray:
    """The home admitting each seeker (index into the homes), or -1 for one who waits.

    Seekers are served by ``seeker_priority`` (0 first), then ``seeker_order`` (smaller
    first).  Each takes a place in its own area, in the best-ranked (smallest
    ``seeker_rank``; -1 = not allowed; equal ranks by :data:`KINDS` order) kind with a
    free place there.  Places are pooled by area × kind while seekers are served; then
    the admitted of each pool are spread over its homes so that each goes to the home
    with the most free places at its turn (ties to the lower index).  Which admitted
    person lands in which of these homes is immaterial: they share area, kind and price.
    """
    area = np.asarray(seeker_area, dtype=np.int64)
    rank = np.asarray(seeker_rank)
    n = len(area)
    h_area = np.asarray(home_area, dtype=np.int64)
    h_kind = np.asarray(home_kind, dtype=np.int64)
    free = np.asarray(home_free, dtype=np.int64)
    if rank.ndim != 2 or rank.shape[0] != n:
        raise ValueError(f"seeker_rank must be (seekers, kinds); got shape {rank.shape}")
    n_kinds = rank.shape[1]
    if len(seeker_priority) != n or len(seeker_order) != n:
        raise ValueError("seeker_area, seeker_priority and seeker_order differ in length")
    if not len(h_area) == len(h_kind) == len(free):
        raise ValueError("home_area, home_kind and home_free differ in length")
    if (n and area.min() < 0) or (len(h_area) and h_area.min() < 0):
        raise ValueError("areas must be indices (0 and up)")
    if (free < 0).any():
        raise ValueError("home_free is negative: a home holds more residents than places")
    if len(h_kind) and (h_kind.min() < 0 or h_kind.max() >= n_kinds):
        raise ValueError(f"home_kind must lie in 0..{n_kinds - 1}")
    result = np.full(n, -1, dtype=np.int64)
    if n == 0 or free.sum() == 0:
        return result
    n_areas = int(max(area.max(), h_area.max() if len(h_area) else 0)) + 1
    pool = np.zeros((n_areas, n_kinds), dtype=np.int64)
    np.add.at(pool, (h_area, h_kind), free)

    served = np.lexsort((np.asarray(seeker_order), np.asarray(seeker_priority)))
    ranked = np.where(rank < 0, np.iinfo(np.int64).max, rank)
    preference = np.argsort(ranked, axis=1, kind="stable")[served]
    n_allowed = (rank >= 0).sum(axis=1)[served]
    pool_left = pool.tolist()
    left = int(pool.sum())
    taken = [-1] * n
    for i, (a, kinds, m) in enumerate(
        zip(area[served].tolist(), preference.tolist(), n_allowed.tolist(), strict=True)
    ):
        free_here = pool_left[a]
        for k in kinds[:m]:
            if free_here[k] > 0:
                free_here[k] -= 1
                taken[i] = k
                left -= 1
                break
        if left == 0:
            break
    kind_taken = np.array(taken, dtype=np.int64)  # in serve order
    admitted = np.flatnonzero(kind_taken >= 0)
    pool_of = area[served][admitted] * n_kinds + kind_taken[admitted]
    by_pool = admitted[np.argsort(pool_of, kind="stable")]  # serve order within each pool
    pools, sizes = np.unique(pool_of, return_counts=True)
    starts = np.cumsum(sizes) - sizes
    home_pool = h_area * n_kinds + h_kind
    for p, s, m in zip(pools.tolist(), starts.tolist(), sizes.tolist(), strict=True):
        homes_here = np.flatnonzero(home_pool == p)
        counts = fill_from_the_top(free[homes_here], m)
        result[served[by_pool[s : s + m]]] = np.repeat(homes_here, counts)
    return result


def fill_from_the_top(free: np.ndarray, m: int) -> np.ndarray:
    """How many of ``m`` newcomers each home takes when each goes to the home with the most
    free places (ties to the lower index): the free places are cut down from the top to a
    level L, and the rest of the newcomers take one each in the homes at L, lowest first.
    """
    free = np.asarray(free, dtype=np.int64)
    if m > free.sum():
        raise ValueError(f"{m} newcomers for {free.sum()} free places")
    if m == 0:
        return np.zeros(len(free), dtype=np.int64)
    lo, hi = 0, int(free.max())  # the smallest L with sum(max(free - L, 0)) <= m
    while lo < hi:
        mid = (lo + hi) // 2
        if np.maximum(free - mid, 0).sum() <= m:
            hi = mid
        else:
            lo = mid + 1
    counts = np.maximum(free - lo, 0)
    rest = m - int(counts.sum())
    if rest:
        counts[np.flatnonzero(free >= lo)[:rest]] += 1
    return counts


# --- reporting helpers -------------------------------------------------------------------------


def beds_by_cell(homes: Sequence[CareHome], n_areas: int) -> tuple[np.ndarray, np.ndarray]:
    """Beds and nursing beds (护理型床位) per area × stratum."""
    beds = np.zeros((n_areas, len(STRATA)))
    nursing = np.zeros((n_areas, len(STRATA)))
    for h in homes:
        beds[h.area, h.stratum] += h.beds
        nursing[h.area, h.stratum] += h.nursing_beds
    return beds, nursing


def stock_by_kind(homes: Sequence[CareHome]) -> dict[str, tuple[int, int]]:
    """Units (homes with at least one bed) and beds of each kind."""
    out = {k: (0, 0) for k in KINDS}
    for h in homes:
        units, beds = out[h.kind]
        out[h.kind] = (units + (h.beds > 0), beds + h.beds)
    return out
