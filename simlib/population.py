"""The synthetic city: persons and households as columns, built from the censuses.

The city at the end of the base year (DESIGN §2) is built from the 2010 and 2020
population censuses (第六次 / 第七次全国人口普查) of the five areas, read from the
census file named in the ``population:`` block:

1. **Totals.** Each census figure (persons urban and rural, persons 60-64 ... 85+,
   family-household persons 家庭户人口, family households, one-person households,
   households with a member 65+) is interpolated geometrically between the census
   dates (1 November 2010 and 2020) to the end of the base year:
   ``v = v2010 · (v2020 / v2010) ** f`` with ``f`` the elapsed share of the days
   between the censuses.
2. **Ages.** The census gives five-year bands from 60 only.  Persons under 60 are
   spread over 0-59 by an assumed relative age profile; single years within a
   band are uniform, and 85+ is spread over 85 to ``oldest_age`` with a declining
   shape.  The census bands are per area: the urban and rural parts of an area are
   assumed to have the same age shape.  Sex by age band is an assumption.
3. **Collective quarters.** Persons not in family households (total minus
   family-household persons: dormitories, barracks, institutions; 集体户) get
   ``household = -1``; they are placed in the urban part first and drawn mostly
   from working ages (assumptions).
4. **Households.** The family households of each area are split between its urban
   and rural parts by an assumed rural/urban ratio of mean household size; a
   household is one person with the census one-person share, otherwise 2 + a
   truncated Poisson number whose mean gives the census mean size; the sizes sum
   exactly to the family-household persons of the cell.  A share of the
   one-person households are elders living alone (独居老人); the other elders live
   mostly in pairs (couples) in multi-person households; every multi-person
   household has an adult (18+).
5. **Disability** (残疾, grade 1-4, 1 most severe) by an assumed prevalence by age.

At ``scale`` s each cell (area × stratum × age band) holds round(count × s)
simulated persons, each standing for ``weight = 1/s`` persons.  All randomness is
drawn from the ``rng`` given.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from pathlib import Path

import numpy as np
from pydantic import Field, field_validator, model_validator

from simlib.columns import Columns
from simlib.facts import Fact, NonNegative, Positive, Share, Strict

STRATA = ("urban", "rural")
URBAN, RURAL = 0, 1

BAND_WIDTH = 5
UNDER_60_BANDS = 12  # 0-4 ... 55-59
CENSUS_OLD_BANDS = ("age_60_64", "age_65_69", "age_70_74", "age_75_79", "age_80_84", "age_85p")
ADULT_AGE = 18
ELDER_AGE = 60


def cell_of(table: Columns | dict[str, np.ndarray], rows: np.ndarray | None = None) -> np.ndarray:
    """The area × stratum cell of each row (persons or households), ``area * 2 + stratum``
    (kept by a ``Columns`` table until its areas or strata change; read-only), or of the
    ``rows`` (indices) only."""
    if rows is not None:
        return _cell({"area": table["area"][rows], "stratum": table["stratum"][rows]})
    if isinstance(table, Columns):
        return table.derived("cell", ("area", "stratum"), lambda: _cell(table))
    return _cell(table)


def _cell(table: Columns | dict[str, np.ndarray]) -> np.ndarray:
    return np.asarray(table["area"], dtype=np.int64) * len(STRATA) + table["stratum"]


@dataclass
class City:
    """The state of the city at the end of ``year``.

    ``persons`` has columns ``age`` (int16), ``sex`` (int8: 0 male, 1 female),
    ``area`` (int8), ``stratum`` (int8), ``household`` (int32, -1 outside family
    households), ``disability`` (int8: 0 none, 1-4 the grade, 1 most severe).
    ``households`` has ``area`` and ``stratum``.  One simulated person stands for
    ``weight`` persons of the real city.
    """

    area_codes: tuple[str, ...]
    persons: Columns
    households: Columns
    weight: float
    year: int

    def members(self) -> np.ndarray:
        """Number of members of each household (kept until persons change household;
        read-only)."""
        n = len(self.households)

        def moved(members: np.ndarray, rows: np.ndarray, before: np.ndarray) -> np.ndarray:
            after = self.persons.household[rows]
            members = members.copy()
            np.subtract.at(members, before[before >= 0], 1)
            np.add.at(members, after[after >= 0], 1)
            return members

        return self.persons.derived(
            "members",
            ("household",),
            lambda: np.bincount(self.household_index(), minlength=n + 1)[:n],
            key=n,
            update=moved,
        )

    def members_known(self, members: np.ndarray) -> None:
        """Keep ``members`` as the members of each household of the persons as they are now
        (worked out by the caller as persons came and went, cheaper than counting)."""
        self.persons.known("members", ("household",), members, key=len(self.households))

    def count_in_households(self, person_mask: np.ndarray) -> np.ndarray:
        """Number of members of each household for whom ``person_mask`` is true."""
        n, mask = len(self.households), np.asarray(person_mask, dtype=bool)
        return np.bincount(self.household_index()[mask], minlength=n + 1)[:n]

    def of_household(
        self, values: np.ndarray, outside: object = 0, persons: np.ndarray | None = None
    ) -> np.ndarray:
        """Per person, the value of the person's household in ``values`` (one per
        household); ``outside`` for persons outside family households.  Of the
        ``persons`` (indices) only, if given."""
        values = np.asarray(values)
        if len(values) != len(self.households):
            raise ValueError(f"{len(values)} values for {len(self.households)} households")
        slots = np.empty(len(values) + 1, dtype=values.dtype)
        slots[:-1] = values
        slots[-1] = outside
        index = self.household_index()
        return slots[index if persons is None else index[persons]]

    def household_index(self) -> np.ndarray:
        """Each person's household as an index into the households with one slot added
        at the end, where persons outside family households (-1) point (kept; read-only)."""
        n = len(self.households)

        def index(household: np.ndarray) -> np.ndarray:
            return np.where(household >= 0, household, n).astype(np.intp)

        def moved(held: np.ndarray, rows: np.ndarray, before: np.ndarray) -> np.ndarray:
            held = held.copy()
            held[rows] = index(self.persons.household[rows])
            return held

        return self.persons.derived(
            "household_index",
            ("household",),
            lambda: index(self.persons.household),
            key=n,
            update=moved,
        )


# --- parameters ------------------------------------------------------------------------


class _ByAgeBand(Strict):
    """Values by age band; ``age_from`` is the first age of each band (the first is 0)."""

    age_from: list[int] = Field(min_length=1)

    def _fact(self) -> Fact:
        raise NotImplementedError

    @model_validator(mode="after")
    def _bands(self) -> _ByAgeBand:
        _check_bands(self.age_from, self._fact())
        return self

    def at_ages(self, ages: np.ndarray, year: int) -> np.ndarray:
        values = np.asarray(self._fact().at(year), dtype=float)
        return values[np.searchsorted(self.age_from, ages, side="right") - 1]


class ShareByAge(_ByAgeBand):
    """A share by age band."""

    share: Fact[list[Share]]

    def _fact(self) -> Fact:
        return self.share


class WeightByAge(_ByAgeBand):
    """Relative weights by age band."""

    weight: Fact[list[NonNegative]]

    def _fact(self) -> Fact:
        return self.weight


def _check_bands(age_from: list[int], fact: Fact) -> None:
    if age_from[0] != 0 or any(b <= a for a, b in pairwise(age_from)):
        raise ValueError("age_from must start at 0 and rise")
    lists = [fact.value] if fact.values is None else list(fact.values.values())
    for values in lists:
        if len(values) != len(age_from):
            raise ValueError(f"{len(values)} values for {len(age_from)} age bands")


class HouseholdParams(Strict):
    """How family households are sized and who lives with whom."""

    max_size: int = Field(ge=3, le=20)
    rural_size_ratio: Fact[Positive]
    elderly_share_of_one_person: Fact[Share]
    elder_pair_share: Fact[Share]


class DisabilityParams(Strict):
    """Disability prevalence by age and the split over grades 1-4 (1 most severe)."""

    prevalence: ShareByAge
    grade_shares: Fact[list[Share]]

    @field_validator("grade_shares")
    @classmethod
    def _four_grades(cls, fact: Fact[list[float]]) -> Fact[list[float]]:
        lists = [fact.value] if fact.values is None else list(fact.values.values())
        for v in lists:
            if len(v) != 4 or abs(sum(v) - 1.0) > 1e-6:
                raise ValueError("give four grade shares (grades 1-4) that sum to 1")
        return fact


class PopulationParams(Strict):
    """The ``population:`` block: the census file and the assumptions that fill its gaps."""

    census_file: str
    census_codes: dict[str, str] = Field(min_length=1)
    under_60_profile: Fact[list[NonNegative]]
    oldest_age: int = Field(ge=90, le=110)
    oldest_decline: Fact[Share]
    male_share: ShareByAge
    collective_age_weight: WeightByAge
    households: HouseholdParams
    disability: DisabilityParams

    @field_validator("under_60_profile")
    @classmethod
    def _twelve_bands(cls, fact: Fact[list[float]]) -> Fact[list[float]]:
        lists = [fact.value] if fact.values is None else list(fact.values.values())
        for v in lists:
            if len(v) != UNDER_60_BANDS or sum(v) <= 0:
                raise ValueError("give 12 weights (ages 0-4 ... 55-59), not all zero")
        return fact


# --- the census and its interpolation --------------------------------------------------

_NUMERIC = (
    "pop_total",
    "pop_urban",
    "pop_rural",
    "family_households",
    "family_household_pop",
    "one_person_households",
    "households_with_65p",
    *CENSUS_OLD_BANDS,
)


@dataclass(frozen=True)
class CensusRound:
    """One census of one area: its date and its figures."""

    day: date
    figures: dict[str, float]


def read_census(path: str | Path) -> dict[str, list[CensusRound]]:
    """The census file as ``{code: [census, ...]}``, oldest first; the date from ``census``."""
    out: dict[str, list[CensusRound]] = {}
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            found = re.search(r"(\d{4})-(\d{2})-(\d{2})", row["census"])
            if not found:
                raise ValueError(f"{path}: no census date in {row['census']!r}")
            day = date(*(int(g) for g in found.groups()))
            figures = {k: float(row[k]) for k in _NUMERIC}
            out.setdefault(row["code"].strip(), []).append(CensusRound(day, figures))
    for rounds in out.values():
        rounds.sort(key=lambda r: r.day)
    return out


def decade_fraction(first: date, second: date, at: date) -> float:
    """The elapsed share of the days from the first census to the second at ``at``."""
    return (at - first).days / (second - first).days


def end_of_year(year: int) -> date:
    """The end of ``year`` (midnight into 1 January of the next)."""
    return date(year + 1, 1, 1)


def geometric(v0: np.ndarray | float, v1: np.ndarray | float, fraction: float) -> np.ndarray:
    """Geometric interpolation ``v0 · (v1/v0) ** fraction``; linear where a value is 0."""
    v0, v1 = np.asarray(v0, dtype=float), np.asarray(v1, dtype=float)
    positive = (v0 > 0) & (v1 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        geo = v0 * np.power(np.where(positive, v1 / v0, 1.0), fraction)
    return np.where(positive, geo, np.maximum(v0 + (v1 - v0) * fraction, 0.0))


@dataclass(frozen=True)
class CensusTargets:
    """Census figures at one date, per area × stratum (rows: areas; columns: urban, rural).

    ``old_bands`` is per area (the census gives ages per area only); the rest is per
    cell, split between the strata as the module docstring says.  Real persons and
    households, not scaled.
    """

    persons: np.ndarray
    old_bands: np.ndarray
    family_persons: np.ndarray
    collective: np.ndarray
    households: np.ndarray
    one_person: np.ndarray
    households_with_65p: np.ndarray

    @property
    def age_60p(self) -> np.ndarray:
        return self.old_bands.sum(axis=1)


def census_at(
    params: PopulationParams, area_codes: tuple[str, ...], at: date, year: int | None = None
) -> CensusTargets:
    """The census figures interpolated (or extrapolated) to ``at``, split into strata."""
    census = read_census(params.census_file)
    year = at.year if year is None else year
    rows = []
    for code in area_codes:
        if code not in params.census_codes:
            raise ValueError(f"area {code!r} has no census code in population.census_codes")
        rounds = census.get(params.census_codes[code])
        if not rounds or len(rounds) < 2:
            raise ValueError(f"the census file has fewer than two censuses for area {code!r}")
        first, second = rounds[0], rounds[-1]
        fraction = decade_fraction(first.day, second.day, at)
        rows.append({k: geometric(first.figures[k], second.figures[k], fraction) for k in _NUMERIC})

    def col(name: str) -> np.ndarray:
        return np.array([float(r[name]) for r in rows])

    persons = np.c_[col("pop_urban"), col("pop_rural")]
    old_bands = np.stack([col(b) for b in CENSUS_OLD_BANDS], axis=1)
    collective_area = np.clip(persons.sum(axis=1) - col("family_household_pop"), 0, None)
    collective_urban = np.minimum(collective_area, persons[:, URBAN])
    collective = np.c_[collective_urban, collective_area - collective_urban]
    family = persons - collective
    # Households split so that the rural mean size is k times the urban one:
    # H = F_u / s_u + F_r / (k s_u)  =>  s_u = (F_u + F_r / k) / H.
    k = float(params.households.rural_size_ratio.at(year))
    households_area = col("family_households")
    urban_size = (family[:, URBAN] + family[:, RURAL] / k) / np.maximum(households_area, 1e-9)
    households_urban = np.where(family[:, URBAN] > 0, family[:, URBAN] / urban_size, 0.0)
    households = np.c_[households_urban, households_area - households_urban]
    one_share = col("one_person_households") / np.maximum(households_area, 1e-9)
    return CensusTargets(
        persons=persons,
        old_bands=old_bands,
        family_persons=family,
        collective=collective,
        households=households,
        one_person=households * one_share[:, None],
        households_with_65p=col("households_with_65p"),
    )


# --- small helpers ----------------------------------------------------------------------


def largest_remainder(x: np.ndarray, total: int) -> np.ndarray:
    """Non-negative reals rounded to integers that sum to ``total`` (Hamilton's method)."""
    x = np.asarray(x, dtype=float)
    if total <= 0 or x.sum() <= 0:
        return np.zeros(len(x), dtype=np.int64)
    x = x * (total / x.sum())
    base = np.floor(x).astype(np.int64)
    short = int(total - base.sum())
    if short > 0:
        base[np.argsort(-(x - base), kind="stable")[:short]] += 1
    return base


def weighted_sample(weights: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` distinct indices drawn with probability proportional to ``weights``.

    Efraimidis & Spirakis (2006): the k smallest of Exp(1)/w.  Zero weights come last.
    """
    n = len(weights)
    k = min(max(int(k), 0), n)
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    with np.errstate(divide="ignore"):
        keys = rng.exponential(size=n) / np.asarray(weights, dtype=float)
    if k == n:
        return np.argsort(keys)
    return np.argpartition(keys, k - 1)[:k]


def truncated_poisson_mean(lam: float, top: int) -> float:
    """Mean of a Poisson(lam) truncated to 0..top."""
    k = np.arange(top + 1)
    logp = k * np.log(max(lam, 1e-300)) - lam - np.cumsum(np.r_[0.0, np.log(k[1:])])
    p = np.exp(logp - logp.max())
    return float((k * p).sum() / p.sum())


def solve_truncated_poisson(mean: float, top: int) -> float:
    """The Poisson parameter whose truncation to 0..top has the given mean (bisection)."""
    mean = min(max(mean, 0.0), top * 0.999)
    if mean <= 0:
        return 0.0
    lo, hi = 0.0, 50.0 + top
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if truncated_poisson_mean(mid, top) < mean else (lo, mid)
    return 0.5 * (lo + hi)


# --- ages, sex, collective quarters --------------------------------------------------------


def band_counts(
    params: PopulationParams, targets: CensusTargets, area: int, stratum: int, n: int, year: int
) -> np.ndarray:
    """Simulated persons per five-year band (18 bands, 85+ last) of one cell, summing to n."""
    total = targets.persons[area, stratum]
    area_total = targets.persons[area].sum()
    old = targets.old_bands[area] * (total / area_total if area_total > 0 else 0.0)
    young = max(total - old.sum(), 0.0)
    profile = np.asarray(params.under_60_profile.at(year), dtype=float)
    real = np.r_[profile / profile.sum() * young, old]
    return largest_remainder(real, n)


def single_ages(
    counts: np.ndarray, oldest: int, decline: float, rng: np.random.Generator
) -> np.ndarray:
    """Single years of age: uniform within each band; the last band (85+) runs to
    ``oldest`` with each year ``decline`` times as populous as the one before."""
    band = np.repeat(np.arange(len(counts)), counts)
    ages = band * BAND_WIDTH + rng.integers(0, BAND_WIDTH, size=len(band))
    last = band == len(counts) - 1
    span = np.arange((len(counts) - 1) * BAND_WIDTH, oldest + 1)
    w = decline ** (span - span[0])
    ages[last] = rng.choice(span, size=int(last.sum()), p=w / w.sum())
    return ages


# --- households -------------------------------------------------------------------------


def household_sizes(
    n_households: int,
    n_persons: int,
    one_person_share: float,
    max_size: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Sizes of about ``n_households`` households summing exactly to ``n_persons``.

    One person with the given share; otherwise 2 + a Poisson truncated at
    ``max_size - 2`` whose parameter gives the mean size of the multi-person
    households; the draws are then moved up or down by one member at random until
    the sum is exact.  The number of households is kept within what ``n_persons``
    allows (1 to ``n_persons``, at least n_persons / max_size), and the number of
    one-person households within what the sizes allow.  One-person households come
    first in the result.
    """
    if n_persons <= 0:
        return np.zeros(0, dtype=np.int64)
    h = int(min(max(n_households, -(-n_persons // max_size), 1), n_persons))
    # n_one + 2 (h - n_one) <= n_persons <= n_one + max (h - n_one)
    lowest = max(0, 2 * h - n_persons)
    highest = min(h, (max_size * h - n_persons) // (max_size - 1))
    n_one = int(min(max(round(one_person_share * h), lowest), highest))
    n_multi = h - n_one
    if n_multi == 0:
        return np.ones(h, dtype=np.int64)
    lam = solve_truncated_poisson((n_persons - n_one) / n_multi - 2.0, max_size - 2)
    extra = rng.poisson(lam, size=n_multi)
    while (over := extra > max_size - 2).any():
        extra[over] = rng.poisson(lam, size=int(over.sum()))
    sizes = np.r_[np.ones(n_one, dtype=np.int64), 2 + extra]
    _fix_sum(sizes[n_one:], n_persons - n_one, max_size, rng)
    return sizes


def _fix_sum(multi: np.ndarray, target: int, max_size: int, rng: np.random.Generator) -> None:
    """Move sizes (in place) up or down by one, at random, until they sum to ``target``."""
    while (gap := target - int(multi.sum())) != 0:
        movable = np.flatnonzero(multi < max_size) if gap > 0 else np.flatnonzero(multi > 2)
        pick = rng.choice(movable, size=min(abs(gap), len(movable)), replace=False)
        multi[pick] += 1 if gap > 0 else -1


def assign_members(
    ages: np.ndarray,
    sizes: np.ndarray,
    elderly_alone_share: float,
    elder_pair_share: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """The household (an index into ``sizes``) of each person of one cell.

    ``sizes`` has its one-person households first and sums to ``len(ages)``.
    1. A share of the one-person households are elders (60+) living alone, the
       older the likelier (weight age - 55); the other one-person households are
       adults 18-59.
    2. Of the remaining elders a share live in pairs (couples: elders sorted by age
       with a little noise, then paired in order, so partners are of similar age),
       the rest singly; each pair or single elder heads its own multi-person
       household, chosen at random (a pair in a two-person household is an
       elderly couple living alone).
    3. Each multi-person household without an elder gets an adult 18-59 as head.
    4. Everyone left fills the remaining places at random.
    Where a group runs short (tiny cells), the oldest persons still free stand in.
    """
    n = len(ages)
    hh = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return hh
    free = np.ones(n, dtype=bool)
    order = rng.permutation(n)
    elders = order[ages[order] >= ELDER_AGE]
    adults = order[(ages[order] >= ADULT_AGE) & (ages[order] < ELDER_AGE)]
    n_one = int((sizes == 1).sum())

    alone = elders[weighted_sample(ages[elders] - 55.0, round(elderly_alone_share * n_one), rng)]
    alone = alone[:n_one]
    free[alone] = False
    singles = np.r_[alone, _take(free, adults, n_one - len(alone), ages)]
    hh[singles] = np.arange(n_one)

    rest = elders[free[elders]]
    n_pairs = int(elder_pair_share * len(rest)) // 2
    paired = rest[: 2 * n_pairs]
    paired = paired[np.argsort(ages[paired] + rng.uniform(0.0, 4.0, len(paired)), kind="stable")]
    unpaired = rest[2 * n_pairs :]
    in_units = np.r_[paired, unpaired]
    unit = np.r_[np.arange(len(paired)) // 2, n_pairs + np.arange(len(unpaired))]
    n_units = n_pairs + len(unpaired)
    multi = n_one + rng.permutation(len(sizes) - n_one)
    placed = unit < len(multi)
    hh[in_units[placed]] = multi[unit[placed]]
    free[in_units[placed]] = False

    headless = multi[n_units:]
    heads = _take(free, adults, len(headless), ages)
    hh[heads] = headless

    room = sizes - np.bincount(hh[hh >= 0], minlength=len(sizes))
    places = np.repeat(np.arange(len(sizes)), room)
    left = np.flatnonzero(free)
    hh[left[rng.permutation(len(left))]] = places
    return hh


def _take(free: np.ndarray, preferred: np.ndarray, k: int, ages: np.ndarray) -> np.ndarray:
    """``k`` free persons from ``preferred`` in its order; if short, the oldest free others."""
    k = max(int(k), 0)
    chosen = preferred[free[preferred]][:k]
    if len(chosen) < k:
        spare = free.copy()
        spare[chosen] = False
        others = np.flatnonzero(spare)
        others = others[np.argsort(-ages[others], kind="stable")]
        chosen = np.r_[chosen, others[: k - len(chosen)]]
    free[chosen] = False
    return chosen


# --- the city ------------------------------------------------------------------------------


def build_city(
    params: PopulationParams,
    area_codes: tuple[str, ...],
    base_year: int,
    scale: float,
    rng: np.random.Generator,
) -> City:
    """The synthetic city at the end of ``base_year`` (see the module docstring)."""
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], not {scale}")
    if not area_codes:
        raise ValueError("no areas given")
    targets = census_at(params, tuple(area_codes), end_of_year(base_year), base_year)
    hp = params.households
    alone_share = float(hp.elderly_share_of_one_person.at(base_year))
    pair_share = float(hp.elder_pair_share.at(base_year))
    decline = float(params.oldest_decline.at(base_year))
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("age", "area", "stratum", "household")}
    hh_area: list[np.ndarray] = []
    hh_stratum: list[np.ndarray] = []
    n_households = 0
    for a in range(len(area_codes)):
        for s in (URBAN, RURAL):
            n = round(targets.persons[a, s] * scale)
            ages = single_ages(
                band_counts(params, targets, a, s, n, base_year), params.oldest_age, decline, rng
            )
            weights = params.collective_age_weight.at_ages(ages, base_year)
            collective = np.zeros(n, dtype=bool)
            collective[weighted_sample(weights, round(targets.collective[a, s] * scale), rng)] = (
                True
            )
            households = np.full(n, -1, dtype=np.int64)
            family = np.flatnonzero(~collective)
            cell_households = targets.households[a, s]
            one_share = targets.one_person[a, s] / cell_households if cell_households > 0 else 0.0
            sizes = household_sizes(
                round(cell_households * scale), len(family), one_share, hp.max_size, rng
            )
            local = assign_members(ages[family], sizes, alone_share, pair_share, rng)
            households[family] = local + n_households
            n_households += len(sizes)
            parts["age"].append(ages)
            parts["area"].append(np.full(n, a))
            parts["stratum"].append(np.full(n, s))
            parts["household"].append(households)
            hh_area.append(np.full(len(sizes), a))
            hh_stratum.append(np.full(len(sizes), s))
    age = np.concatenate(parts["age"]).astype(np.int16)
    male = rng.random(len(age)) < params.male_share.at_ages(age, base_year)
    persons = Columns(
        age=age,
        sex=np.where(male, 0, 1).astype(np.int8),
        area=np.concatenate(parts["area"]).astype(np.int8),
        stratum=np.concatenate(parts["stratum"]).astype(np.int8),
        household=np.concatenate(parts["household"]).astype(np.int32),
        disability=disability_grades(params.disability, age, base_year, rng),
    )
    households = Columns(
        area=np.concatenate(hh_area).astype(np.int8),
        stratum=np.concatenate(hh_stratum).astype(np.int8),
    )
    return City(tuple(area_codes), persons, households, 1.0 / scale, base_year)


def disability_grades(
    params: DisabilityParams, ages: np.ndarray, year: int, rng: np.random.Generator
) -> np.ndarray:
    """Grade 0 (none) or 1-4 for each person: prevalence by age, then grade shares."""
    disabled = rng.random(len(ages)) < params.prevalence.at_ages(ages, year)
    grades = rng.choice(np.arange(1, 5), size=len(ages), p=np.asarray(params.grade_shares.at(year)))
    return np.where(disabled, grades, 0).astype(np.int8)


def households_with_member_aged(city: City, min_age: int) -> np.ndarray:
    """For each household: has it a member aged ``min_age`` or over?"""
    return city.count_in_households(city.persons.age >= min_age) > 0
