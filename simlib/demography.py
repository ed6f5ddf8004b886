"""Demography (人口变动): one calendar year of ageing, deaths, births and migration.

DESIGN §2, step 3.  :func:`step` moves the city from the end of year t-1 to the end
of year t, in this order:

1. **Deaths** (死亡) by a period life table by age and sex: Gompertz-Makeham hazards
   ``μ(x) = A + B·exp(c·x)`` from age 1 and the infant mortality rate below, with
   ``B`` solved each year so that life expectancy at birth is the assumed one for
   that year; an optional per-person multiplier lets the caller raise mortality
   (for dependent elders).  Survivors are one year older.
2. **Births** (出生) to women 15-49 in family households by an age-specific
   fertility schedule (a normal curve scaled to the total fertility rate, higher in
   rural parts); a newborn joins its mother's household; newborns who die before
   the end of the year count as births and as deaths.
3. **Net migration** (净迁移) per area × stratum at dated rates derived from the
   census change 2010→2020 less the model's own natural increase
   (:func:`derive_rates`).  Rural net out-migration and urban net in-migration of
   the same area carry the rural-to-urban drift.  Leaving households go whole;
   arriving households are copies of resident households of the same area ×
   stratum (``Columns.copy_rows``: attributes copied, states fresh).  On top, an
   area's elders (60+) migrate at their own derived rate, as households of elders
   only (retirees moving in or out), because the census cohorts of elders in
   Panzhihua grew far beyond what survival allows (see ``elder_net_rate``).
   Persons in collective quarters (household -1) migrate at the cell's rate and
   also turn over: a share of those under 60 leave each year and as many arrive,
   modelled on residents of the entry ages.
4. **New households** (分户): young adults in households of three or more, with
   another adult staying behind and no child of their own (as far as ages tell),
   leave to form one-person households, at a rate derived so that the household
   count follows the census trend 2010→2020.
5. **Dissolution**: households left without members are removed and
   ``persons.household`` renumbered.

All rows are removed and added through ``Columns.keep`` / ``copy_rows`` /
``append``, so columns that other modules add stay aligned.  The life table, the
fertility schedule and the rates are assumptions in the ``demography:`` block.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Annotated

import numpy as np
from pydantic import Field, field_validator

from simlib import draws
from simlib.facts import Fact, NonNegative, Positive, Share, Strict
from simlib.population import (
    ADULT_AGE,
    ELDER_AGE,
    STRATA,
    City,
    PopulationParams,
    build_city,
    cell_of,
    census_at,
    end_of_year,
)

MigrationRate = Annotated[float, Field(ge=-0.5, le=0.5)]
FERTILE_AGES = (15, 49)


def _ordered_ages(fact: Fact[tuple[int, int]]) -> Fact[tuple[int, int]]:
    pairs = [fact.value] if fact.values is None else list(fact.values.values())
    for lo, hi in pairs:
        if not 0 <= lo <= hi:
            raise ValueError(
                f"give (youngest, oldest) ages with 0 <= youngest <= oldest, not {lo, hi}"
            )
    return fact


# --- parameters --------------------------------------------------------------------------


class MortalityParams(Strict):
    """The period life table: life expectancy by sex and year, and its shape."""

    life_expectancy_male: Fact[Positive]
    life_expectancy_female: Fact[Positive]
    gain_after_last: Fact[NonNegative]
    infant_mortality: Fact[Share]
    infant_deaths_in_birth_year: Fact[Share]
    makeham: Fact[NonNegative]
    gompertz_slope: Fact[Positive]
    oldest_age: int = Field(ge=100, le=130)


class FertilityParams(Strict):
    """Age-specific fertility: a normal schedule scaled to the total fertility rate."""

    total_fertility_urban: Fact[Positive]
    rural_ratio: Fact[Positive]
    mean_age: Fact[Positive]
    sd_age: Fact[Positive]
    male_share_at_birth: Fact[Share]


class StratumRates(Strict):
    """A yearly rate for the urban and the rural part of an area."""

    urban: MigrationRate
    rural: MigrationRate


class MigrationParams(Strict):
    """Net migration per area × stratum, elders' own rate, and collective turnover."""

    net_rate: Fact[dict[str, StratumRates]]
    elder_net_rate: Fact[dict[str, MigrationRate]]
    collective_turnover: Fact[Share]
    collective_entry_ages: Fact[tuple[int, int]]

    _entry_ages = field_validator("collective_entry_ages")(_ordered_ages)


class FormationParams(Strict):
    """Young adults leaving their household to form a one-person household (分户)."""

    rate: Fact[dict[str, StratumRates]]
    leaver_ages: Fact[tuple[int, int]]
    min_household_size: int = Field(ge=2, le=10)

    _leaver_ages = field_validator("leaver_ages")(_ordered_ages)


class DemographyParams(Strict):
    """The ``demography:`` block."""

    mortality: MortalityParams
    fertility: FertilityParams
    migration: MigrationParams
    household_formation: FormationParams


# --- the life table and the fertility schedule ---------------------------------------------


def life_expectancy_target(m: MortalityParams, sex: int, year: int) -> float:
    """Life expectancy at birth in ``year``: linear between dated values, then a yearly gain."""
    fact = (m.life_expectancy_male, m.life_expectancy_female)[sex]
    points = fact.values or {year: fact.value}
    years = sorted(points)
    if year > years[-1]:
        return float(points[years[-1]]) + float(m.gain_after_last.at(year)) * (year - years[-1])
    return float(np.interp(year, years, [float(points[y]) for y in years]))


def _hazard(level: float, m: MortalityParams, year: int, ages: np.ndarray) -> np.ndarray:
    return float(m.makeham.at(year)) + level * np.exp(float(m.gompertz_slope.at(year)) * ages)


class _LifeTable:
    """The parts of the period life table of ``year`` that do not depend on the level."""

    def __init__(self, m: MortalityParams, year: int) -> None:
        ages = np.arange(1, m.oldest_age)
        self.makeham = float(m.makeham.at(year))
        self.shape = np.exp(float(m.gompertz_slope.at(year)) * (ages + 0.5))
        self.q = np.empty(len(ages) + 2)
        self.q[0], self.q[-1] = float(m.infant_mortality.at(year)), 1.0
        self.share_lived = np.full(len(self.q), 0.5)
        self.share_lived[0] = 0.15
        self.alive = np.empty(len(self.q) + 1)
        self.alive[0] = 1.0

    def e0(self, level: float) -> float:
        q, alive = self.q, self.alive
        q[1:-1] = 1 - np.exp(-(self.makeham + level * self.shape))
        np.cumprod(1 - q, out=alive[1:])
        lived = alive[1:] + self.share_lived * (alive[:-1] - alive[1:])
        return float(lived.sum())


def life_expectancy(level: float, m: MortalityParams, year: int) -> float:
    """e0 of the table with Gompertz level ``level``: q0 the infant mortality rate,
    q_x = 1 - exp(-μ(x + 0.5)) from age 1, nobody past ``oldest_age``; infants who
    die live 0.15 of a year on average, others half a year in the year of death."""
    return _LifeTable(m, year).e0(level)


def gompertz_level(m: MortalityParams, sex: int, year: int) -> float:
    """The Gompertz level B at which the table gives the target life expectancy (bisection).

    A pure function of the parameters: kept per parameters, sex and year.
    """
    return _remembered(_LEVELS, (m.model_dump_json(), sex, year), lambda: _solve(m, sex, year))


def _solve(m: MortalityParams, sex: int, year: int) -> float:
    target = life_expectancy_target(m, sex, year)
    table = _LifeTable(m, year)
    lo, hi = np.log(1e-9), np.log(1e-1)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if table.e0(np.exp(mid)) > target else (lo, mid)
    return float(np.exp(0.5 * (lo + hi)))


def death_probabilities(m: MortalityParams, year: int) -> np.ndarray:
    """Probability of dying within ``year`` by sex (rows) and age at its start (columns).

    A person aged x at the start of the year is on average x + 0.5 and x + 1.5 at
    its end, so faces ``1 - exp(-μ(x + 1))``; at age 0 the infant deaths not suffered
    in the year of birth are added; from ``oldest_age - 1`` nobody survives.  A pure
    function of the parameters: kept per parameters and year (read-only).
    """
    return _remembered(_TABLES, (m.model_dump_json(), year), lambda: _death_table(m, year))


def _death_table(m: MortalityParams, year: int) -> np.ndarray:
    ages = np.arange(m.oldest_age + 1, dtype=float)
    rest_of_infancy = float(m.infant_mortality.at(year)) * (
        1 - float(m.infant_deaths_in_birth_year.at(year))
    )
    out = np.empty((2, len(ages)))
    for sex in (0, 1):
        q = 1 - np.exp(-_hazard(gompertz_level(m, sex, year), m, year, ages + 1))
        q[0] += rest_of_infancy
        q[m.oldest_age - 1 :] = 1.0
        out[sex] = np.minimum(q, 1.0)
    out.setflags(write=False)
    return out


_LEVELS: dict[tuple, float] = {}
_TABLES: dict[tuple, np.ndarray] = {}


def _remembered(memo: dict, key: tuple, compute):
    """``memo[key]``, computed once (the memo is emptied when it grows past 4096)."""
    if key not in memo:
        if len(memo) >= 4096:
            memo.clear()
        memo[key] = compute()
    return memo[key]


def fertility_rates(f: FertilityParams, year: int, oldest: int) -> np.ndarray:
    """Births per woman in ``year`` by stratum (rows) and her age at the end of the year."""
    ages = np.arange(oldest + 1, dtype=float)
    fertile = (ages >= FERTILE_AGES[0]) & (ages <= FERTILE_AGES[1])
    z = (ages - float(f.mean_age.at(year))) / float(f.sd_age.at(year))
    shape = np.where(fertile, np.exp(-0.5 * z * z), 0.0)
    urban = float(f.total_fertility_urban.at(year)) * shape / shape.sum()
    return np.stack([urban, urban * float(f.rural_ratio.at(year))])


def cell_rates(
    fact: Fact[dict[str, StratumRates]], area_codes: tuple[str, ...], year: int
) -> np.ndarray:
    """A rate given per area and stratum, as an array (areas × strata)."""
    table = fact.at(year)
    missing = [a for a in area_codes if a not in table]
    if missing:
        raise ValueError(f"demography rates lack the areas {missing}")
    return np.array([[table[a].urban, table[a].rural] for a in area_codes])


def area_rates(fact: Fact[dict[str, float]], area_codes: tuple[str, ...], year: int) -> np.ndarray:
    """A rate given per area, repeated for both strata (areas × strata)."""
    table = fact.at(year)
    missing = [a for a in area_codes if a not in table]
    if missing:
        raise ValueError(f"demography rates lack the areas {missing}")
    return np.repeat(np.array([[float(table[a])] for a in area_codes]), len(STRATA), axis=1)


# --- the report ----------------------------------------------------------------------------


@dataclass
class DemographyReport:
    """Simulated (unweighted) counts of the year per area × stratum, arrays (areas, 2).

    Newborns who die before the year ends are in both ``births`` and ``deaths``; the
    migrant counts include the turnover of collective quarters.  Per cell, persons
    at the end = at the start + births - deaths + in_migrants - out_migrants.
    """

    year: int
    births: np.ndarray
    deaths: np.ndarray
    in_migrants: np.ndarray
    out_migrants: np.ndarray
    households_formed: np.ndarray
    households_dissolved: np.ndarray
    households_in: np.ndarray
    households_out: np.ndarray

    @classmethod
    def empty(cls, year: int, n_areas: int) -> DemographyReport:
        shape = (n_areas, len(STRATA))
        counts = {f.name: np.zeros(shape, dtype=np.int64) for f in fields(cls) if f.name != "year"}
        return cls(year=year, **counts)


def _count(cells: np.ndarray, n_areas: int, weights: np.ndarray | None = None) -> np.ndarray:
    n = n_areas * len(STRATA)
    counts = np.bincount(cells, weights=weights, minlength=n)[:n]
    return np.rint(counts).astype(np.int64).reshape(n_areas, len(STRATA))


def _stochastic_round(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Round down or up at random so that the expectation is ``x``."""
    base = np.floor(x)
    return (base + (rng.random(np.shape(x)) < x - base)).astype(np.int64)


# --- the year ------------------------------------------------------------------------------


def step(
    city: City,
    params: DemographyParams,
    year: int,
    rng: np.random.Generator,
    mortality_multiplier: np.ndarray | None = None,
) -> DemographyReport:
    """Advance ``city`` in place from the end of ``year - 1`` to the end of ``year``.

    ``mortality_multiplier`` (one value per person, aligned with ``city.persons``)
    multiplies each person's death probability of the year.
    """
    if year != city.year + 1:
        raise ValueError(f"the city is at the end of {city.year}; cannot step to {year}")
    if mortality_multiplier is not None and len(mortality_multiplier) != len(city.persons):
        raise ValueError(
            f"mortality_multiplier has {len(mortality_multiplier)} values "
            f"for {len(city.persons)} persons"
        )
    report = DemographyReport.empty(year, len(city.area_codes))
    deaths_and_ageing(city, params.mortality, year, rng, mortality_multiplier, report)
    births(city, params, year, rng, report)
    moves = [
        family_migration(city, params.migration, year, rng),
        elder_migration(city, params.migration, year, rng),
    ]
    turnover = collective_migration(city, params.migration, year, rng, report)
    move_and_dissolve(city, moves, turnover, report)
    form_households(city, params.household_formation, year, rng, report)
    city.year = year
    return report


def deaths_and_ageing(
    city: City,
    m: MortalityParams,
    year: int,
    rng: np.random.Generator,
    multiplier: np.ndarray | None,
    report: DemographyReport,
) -> None:
    """Remove those who die in the year; the survivors are a year older."""
    p = city.persons
    prob = _by_row_and_age(death_probabilities(m, year), p.sex, p.age)
    if multiplier is not None:
        prob *= np.asarray(multiplier, dtype=float)
        np.minimum(prob, 1.0, out=prob)
    dies = draws.uniforms(rng, len(prob)) < prob
    report.deaths += _count(cell_of(p)[dies], len(city.area_codes))
    members, n = city.members(), len(city.households)
    dead = np.bincount(city.household_index()[dies], minlength=n + 1)[:n]
    p.keep(~dies)
    p["age"] = (p.age + 1).astype(np.int16, copy=False)
    city.members_known(members - dead)


def _by_row_and_age(table: np.ndarray, row: np.ndarray, age: np.ndarray) -> np.ndarray:
    """``table[row, min(age, last age)]`` (a new array), looked up as one flat index of
    small integers (rows are sex or stratum, int8; ages int16)."""
    width = table.shape[1]
    index = row * np.int16(width) + np.minimum(age, np.int16(width - 1))
    return table.ravel()[index]


def births(
    city: City,
    params: DemographyParams,
    year: int,
    rng: np.random.Generator,
    report: DemographyReport,
) -> None:
    """Births to women in family households; the newborn joins the mother's household."""
    p = city.persons
    oldest = params.mortality.oldest_age
    rates = fertility_rates(params.fertility, year, oldest)
    fertile = np.flatnonzero(rates.max(axis=0) > 0)  # ages with births (the table's columns)
    lo, hi = (fertile[0], fertile[-1]) if len(fertile) else (1, 0)
    hi = np.iinfo(np.int16).max if hi == rates.shape[1] - 1 else hi  # the last column: older too
    women = (p.sex == 1) & (p.household >= 0) & (p.age >= lo) & (p.age <= hi)
    could = np.flatnonzero(women)  # everyone else has no chance of a birth
    mothers = could[
        draws.for_rows(rng, could) < _by_row_and_age(rates, p.stratum[could], p.age[could])
    ]
    n_areas = len(city.area_codes)
    mother_cells = cell_of(p, mothers)
    report.births += _count(mother_cells, n_areas)
    early = float(params.mortality.infant_mortality.at(year)) * float(
        params.mortality.infant_deaths_in_birth_year.at(year)
    )
    survives = rng.random(len(mothers)) >= early
    report.deaths += _count(mother_cells[~survives], n_areas)
    mothers = mothers[survives]
    male = rng.random(len(mothers)) < float(params.fertility.male_share_at_birth.at(year))
    members = city.members()
    born = np.bincount(p.household[mothers], minlength=len(members))  # mothers' households
    p.append(
        {
            "age": np.zeros(len(mothers), dtype=np.int16),
            "sex": np.where(male, 0, 1).astype(np.int8),
            "area": p.area[mothers],
            "stratum": p.stratum[mothers],
            "household": p.household[mothers],
            "disability": np.zeros(len(mothers), dtype=np.int8),
        }
    )
    city.members_known(members + born)


# --- moving households -------------------------------------------------------------------------


def household_members(
    household: np.ndarray, n_households: int, chosen: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The persons of the ``chosen`` households (repeats allowed), and for each person
    the position in ``chosen`` of the household it belongs to."""
    wanted = np.zeros(n_households + 1, dtype=bool)
    wanted[chosen] = True
    involved = np.flatnonzero(wanted[household])  # household -1 reads the spare last slot
    by_household = involved[np.argsort(household[involved], kind="stable")]
    sizes = np.bincount(household[involved], minlength=n_households)
    starts = np.cumsum(sizes) - sizes
    counts = sizes[chosen]
    owner = np.repeat(np.arange(len(chosen)), counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return by_household[starts[chosen][owner] + within], owner


def remove_households(
    city: City,
    gone: np.ndarray,
    households: dict[str, np.ndarray] | None = None,
    persons: dict[str, np.ndarray] | None = None,
    turnover: Turnover | None = None,
) -> None:
    """Remove the households where ``gone`` is true, with their members; renumber the rest.

    ``households`` and ``persons`` (optional) are new rows appended after those that stay,
    in the same pass; the new persons' ``household`` counts from the first new household
    (0 for the first of ``households``) and is moved past the households that stay.
    ``turnover``: persons outside family households who leave and arrive, in the same pass
    (their arrivals before ``persons``).
    """
    p = city.persons
    stay = ~city.of_household(gone, False)
    new_index = (np.cumsum(~gone) - 1).astype(np.int32)
    p["household"] = city.of_household(new_index, -1)  # those who go are removed next
    if persons is not None:
        n_staying = len(gone) - int(np.count_nonzero(gone))
        persons = persons | {"household": (n_staying + persons["household"]).astype(np.int32)}
    if turnover is not None:
        stay &= ~turnover.leaving
        persons = turnover.arrivals if persons is None else _joined(turnover.arrivals, persons)
    p.keep(stay, then=persons)
    city.households.keep(~gone, then=households)


def _joined(first: dict[str, np.ndarray], then: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """New rows: those of ``first``, then those of ``then`` (the same columns)."""
    return {name: np.concatenate([values, then[name]]) for name, values in first.items()}


def _sample_per_cell(
    cell: np.ndarray, eligible: np.ndarray, wanted: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """``wanted[c]`` rows drawn with replacement among the eligible rows of each cell c."""
    chosen = [np.zeros(0, dtype=np.int64)]
    candidates = np.flatnonzero(eligible)
    of_cell = cell[candidates]
    for c in np.flatnonzero(wanted):
        pool = candidates[of_cell == c]
        if len(pool):
            chosen.append(pool[rng.integers(0, len(pool), wanted[c])])
    return np.concatenate(chosen)


@dataclass
class Moves:
    """The year's household moves, drawn on the city as it stands before any is made."""

    leaving: np.ndarray  # households that leave the city (mask)
    sources: np.ndarray  # households whose copies arrive (indices, repeats allowed)


def family_migration(city: City, m: MigrationParams, year: int, rng: np.random.Generator) -> Moves:
    """Net migration of family households per area × stratum.

    At a positive rate, copies of resident households of the cell arrive, as many as
    bring rate × family persons on average (rate × persons / mean size = rate ×
    households); at a negative rate each household leaves with that probability.
    """
    h = city.households
    rates = cell_rates(m.net_rate, city.area_codes, year).ravel()
    hh_cell = cell_of(h)
    wanted = np.maximum(rates, 0.0) * np.bincount(hh_cell, minlength=len(rates))[: len(rates)]
    with_members = city.members() > 0  # a copy of a household whose members all died is empty
    sources = _sample_per_cell(hh_cell, with_members, _stochastic_round(wanted, rng), rng)
    leaving = rng.random(len(h)) < np.maximum(-rates, 0.0)[hh_cell]
    return Moves(leaving, sources)


def elder_migration(city: City, m: MigrationParams, year: int, rng: np.random.Generator) -> Moves:
    """Elders' own net migration per area, as households of elders only (retirees moving).

    The rate is per resident of all ages, so that the flow follows the size of the
    place, not of its elderly population (which it would make compound).  Arrivals are
    copies of the cell's households whose members are all 60+, as many as bring
    rate × persons of the cell on average; at a negative rate such households leave
    with the probability that takes rate × persons away on average.
    """
    p, h = city.persons, city.households
    rates = area_rates(m.elder_net_rate, city.area_codes, year).ravel()
    n_cells = len(rates)
    members = city.members()
    elder_only = (members > 0) & (city.count_in_households(p.age >= ELDER_AGE) == members)
    hh_cell = cell_of(h)
    persons = np.bincount(cell_of(p), minlength=n_cells)[:n_cells]
    weights = members[elder_only]
    in_elder_only = np.bincount(hh_cell[elder_only], weights=weights, minlength=n_cells)[:n_cells]
    n_elder_only = np.bincount(hh_cell[elder_only], minlength=n_cells)[:n_cells]
    mean_size = in_elder_only / np.maximum(n_elder_only, 1)
    wanted = np.maximum(rates, 0.0) * persons / np.maximum(mean_size, 1.0)
    sources = _sample_per_cell(hh_cell, elder_only, _stochastic_round(wanted, rng), rng)
    leave_share = np.minimum(np.maximum(-rates, 0.0) * persons / np.maximum(in_elder_only, 1), 1.0)
    leaving = elder_only & (rng.random(len(h)) < leave_share[hh_cell])
    return Moves(leaving, sources)


@dataclass
class Turnover:
    """Persons outside family households who leave and arrive in the year, drawn on the
    city as it stands before any moves."""

    leaving: np.ndarray  # persons who leave (mask)
    arrivals: dict[str, np.ndarray]  # the persons who arrive (rows, household -1)


def collective_migration(
    city: City, m: MigrationParams, year: int, rng: np.random.Generator, report: DemographyReport
) -> Turnover:
    """Persons in collective quarters: the cell's net rate, plus a turnover of those
    under 60 whose places go to as many arrivals (copies of residents of the entry ages,
    or of any resident of the cell if none is of those ages).  Drawn and counted here,
    made with the household moves (:func:`move_and_dissolve`: one pass over the persons)."""
    p = city.persons
    n_areas = len(city.area_codes)
    rates = cell_rates(m.net_rate, city.area_codes, year).ravel()
    n_cells = len(rates)
    cell = cell_of(p)
    collective = p.household < 0
    quarters = np.flatnonzero(collective)  # the draws read
    net_out = np.zeros(len(p), dtype=bool)
    net_out[quarters] = draws.for_rows(rng, quarters) < np.maximum(-rates, 0.0)[cell[quarters]]
    turnover = float(m.collective_turnover.at(year))
    turn_out = np.zeros(len(p), dtype=bool)
    turn_out[quarters] = (
        ~net_out[quarters]
        & (p.age[quarters] < ELDER_AGE)
        & (draws.for_rows(rng, quarters) < turnover)
    )
    n_collective = np.bincount(cell[collective], minlength=n_cells)[:n_cells]
    entrants = _stochastic_round(np.maximum(rates, 0.0) * n_collective, rng)
    entrants += np.bincount(cell[turn_out], minlength=n_cells)[:n_cells]
    lo, hi = m.collective_entry_ages.at(year)
    of_entry_age = collective & (p.age >= lo) & (p.age <= hi)
    has_entry_age = np.bincount(cell[of_entry_age], minlength=n_cells)[:n_cells] > 0
    pool = of_entry_age | (collective & ~has_entry_age[cell])
    newcomers = p.copy_rows(_sample_per_cell(cell, pool, entrants, rng))
    report.out_migrants += _count(cell[net_out | turn_out], n_areas)
    report.in_migrants += _count(cell_of(newcomers), n_areas)
    return Turnover(net_out | turn_out, newcomers)


def move_and_dissolve(
    city: City, moves: list[Moves], turnover: Turnover, report: DemographyReport
) -> None:
    """Make the household moves, and remove the households left without members.

    Departing households leave with their members; arriving households are copies
    of their sources (``copy_rows``: attributes copied, states fresh) with copies of
    the sources' members, numbered after the households that stay.  ``turnover``: the
    collective quarters' leavers and arrivals, made in the same pass (they leave the
    households as they are).
    """
    h, p = city.households, city.persons
    n_areas = len(city.area_codes)
    members = city.members()
    empty = members == 0
    leaving = np.logical_or.reduce([mv.leaving for mv in moves]) & ~empty
    sources = np.concatenate([mv.sources for mv in moves])
    movers, owner = household_members(p.household, len(h), sources)
    new_households, new_persons = h.copy_rows(sources), p.copy_rows(movers)

    hh_cell = cell_of(h)
    report.households_dissolved += _count(hh_cell[empty], n_areas)
    report.households_out += _count(hh_cell[leaving], n_areas)
    report.out_migrants += _count(hh_cell[leaving], n_areas, members[leaving])
    report.households_in += _count(cell_of(new_households), n_areas)
    report.in_migrants += _count(cell_of(new_persons), n_areas)
    # the households that stay, then the arrivals with as many members as their sources
    new_persons["household"] = owner
    remove_households(city, leaving | empty, new_households, new_persons, turnover)
    staying = members[~(leaving | empty)]
    city.members_known(np.concatenate([staying, np.bincount(owner, minlength=len(sources))]))


# --- households formed and dissolved ---------------------------------------------------------


def formation_candidates(city: City, f: FormationParams, year: int) -> np.ndarray:
    """Persons who may leave to form a household: of the leaver ages, in a household of
    at least ``min_household_size`` members, with another adult (18+) staying behind,
    and not the probable parent of a child in it (a member under 18 who is at least
    18 years younger: households carry no parent links)."""
    p = city.persons
    lo, hi = f.leaver_ages.at(year)
    members = city.members()
    adults = members - city.count_in_households(p.age < ADULT_AGE)  # fewer children to count
    youngest_child = np.full(len(city.households), 200, dtype=np.int16)
    child = (p.household >= 0) & (p.age < ADULT_AGE)
    np.minimum.at(youngest_child, p.household[child], p.age[child])
    # persons of the leaver ages in family households, then their households' conditions
    who = np.flatnonzero((p.household >= 0) & (p.age >= lo) & (p.age <= hi))
    hh, age = city.household_index()[who], p.age[who]
    candidate = np.zeros(len(p), dtype=bool)
    candidate[who] = (
        (members[hh] >= f.min_household_size)
        & (adults[hh] - (age >= ADULT_AGE) >= 1)
        & (age - youngest_child[hh] < ADULT_AGE)
    )
    return candidate


def form_households(
    city: City, f: FormationParams, year: int, rng: np.random.Generator, report: DemographyReport
) -> None:
    """Young adults leave to form one-person households, at most one per household a year.

    The new household is modelled on the one left (``copy_rows``: attributes such as
    area and stratum copied, states fresh).
    """
    p, h = city.persons, city.households
    rates = cell_rates(f.rate, city.area_codes, year).ravel()
    candidates = np.flatnonzero(formation_candidates(city, f, year))
    leavers = candidates[draws.for_rows(rng, candidates) < rates[cell_of(p, candidates)]]
    leavers = leavers[rng.permutation(len(leavers))]
    leavers = leavers[np.unique(p.household[leavers], return_index=True)[1]]
    left = p.household[leavers]  # one leaver per household
    new_households = h.copy_rows(left)
    report.households_formed += _count(cell_of(new_households), len(city.area_codes))
    members = np.concatenate([city.members(), np.ones(len(leavers), dtype=np.int64)])
    members[left] -= 1
    p.set_rows("household", leavers, (len(h) + np.arange(len(leavers))).astype(np.int32))
    h.append(new_households)
    city.members_known(members)


# --- deriving the migration and household-formation rates -------------------------------------


@dataclass(frozen=True)
class DerivedRates:
    """Rates that carry the city from the census figures at one date to those at another."""

    net_rate: np.ndarray  # areas × strata
    elder_net_rate: np.ndarray  # areas
    formation_rate: np.ndarray  # areas × strata


def with_rates(
    params: DemographyParams, area_codes: tuple[str, ...], rates: DerivedRates, first_year: int
) -> DemographyParams:
    """``params`` with the given rates, dated from ``first_year`` on."""

    def per_cell(r: np.ndarray) -> dict[str, StratumRates]:
        return {
            a: StratumRates(urban=float(x[0]), rural=float(x[1]))
            for a, x in zip(area_codes, r, strict=True)
        }

    def dated(old: Fact, table: dict) -> Fact:
        return old.model_copy(update={"value": None, "values": {first_year: table}})

    mig, form = params.migration, params.household_formation
    elder = {a: float(x) for a, x in zip(area_codes, rates.elder_net_rate, strict=True)}
    mig = mig.model_copy(
        update={
            "net_rate": dated(mig.net_rate, per_cell(rates.net_rate)),
            "elder_net_rate": dated(mig.elder_net_rate, elder),
        }
    )
    form = form.model_copy(update={"rate": dated(form.rate, per_cell(rates.formation_rate))})
    return params.model_copy(update={"migration": mig, "household_formation": form})


def cell_totals(city: City) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simulated persons and households per area × stratum, and elders (60+) per area."""
    n_areas = len(city.area_codes)
    p = city.persons
    elders = _count(cell_of(p)[p.age >= ELDER_AGE], n_areas).sum(axis=1)
    return _count(cell_of(p), n_areas), _count(cell_of(city.households), n_areas), elders


def project(
    population: PopulationParams,
    params: DemographyParams,
    area_codes: tuple[str, ...],
    years: tuple[int, int],
    scale: float,
    seed: int,
) -> tuple[City, tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """Build the city at the end of ``years[0]`` and step it to the end of ``years[1]``.

    Also returns :func:`cell_totals` at the start, and the mean number of
    household-formation candidates per area × stratum over the years.
    """
    rng = np.random.default_rng(seed)
    city = build_city(population, area_codes, years[0], scale, rng)
    start = cell_totals(city)
    candidates = []
    for year in range(years[0] + 1, years[1] + 1):
        mask = formation_candidates(city, params.household_formation, year)
        candidates.append(_count(cell_of(city.persons)[mask], len(area_codes)))
        step(city, params, year, rng)
    return city, start, np.mean(candidates, axis=0)


def derive_rates(
    population: PopulationParams,
    params: DemographyParams,
    area_codes: tuple[str, ...],
    years: tuple[int, int] = (2015, 2020),
    scale: float = 1.0,
    seed: int = 0,
    rounds: int = 4,
) -> DerivedRates:
    """Migration and formation rates that take the city from the census figures at the
    end of ``years[0]`` to those at the end of ``years[1]`` (geometric interpolation of
    the 2010 and 2020 censuses; see :func:`simlib.population.census_at`).

    Net migration: the census growth factor a year, (P_end / P_start)^(1/n), over the
    model's growth factor a year, less one; first with no migration (the census change
    less natural increase), then corrected ``rounds - 1`` times by the growth the
    rates achieved.  Elders (60+) per area, from the census age bands: the shortfall
    of elders at the end, spread over the years and the area's persons, added to the
    rate each round; the general rate is corrected for the persons that adds.
    Formation: with that migration and no formation, the household shortfall at the
    end against the census households, spread over the years and divided by the mean
    number of candidates; then scaled once by the shortfall over what that rate
    achieved.  The same seed is used in every run (common random numbers).
    """
    n_years = years[1] - years[0]
    shape = (len(area_codes), len(STRATA))
    start = census_at(population, area_codes, end_of_year(years[0]), years[0])
    end = census_at(population, area_codes, end_of_year(years[1]), years[1])
    census_growth = (end.persons / np.maximum(start.persons, 1e-9)) ** (1 / n_years)
    elder_growth = (end.age_60p / start.age_60p) ** (1 / n_years)

    def run(rates: DerivedRates) -> tuple[City, tuple, np.ndarray]:
        dated = with_rates(params, area_codes, rates, years[0] + 1)
        return project(population, dated, area_codes, years, scale, seed)

    rates = DerivedRates(np.zeros(shape), np.zeros(len(area_codes)), np.zeros(shape))
    for _ in range(rounds):
        city, (first, _, first_elders), _ = run(rates)
        persons, _, elders = cell_totals(city)
        # elders: the shortfall at the end, spread over the years and the persons
        elders_added = first_elders * elder_growth**n_years - elders
        elder = rates.elder_net_rate + elders_added / n_years / np.maximum(first.sum(axis=1), 1)
        # everyone: the growth gap once the elders' correction has added its persons
        share = persons / np.maximum(persons.sum(axis=1, keepdims=True), 1)
        expected = persons + elders_added[:, None] * share
        gap = census_growth / (expected / np.maximum(first, 1)) ** (1 / n_years)
        net = np.where(first > 0, (1 + rates.net_rate) * gap - 1, 0.0)
        rates = DerivedRates(net, elder, rates.formation_rate)

    target = end.households * scale
    city, _, candidates = run(rates)
    plain = cell_totals(city)[1]
    formation = np.clip((target - plain) / n_years / np.maximum(candidates, 1), 0.0, 1.0)
    city, _, _ = run(DerivedRates(rates.net_rate, rates.elder_net_rate, formation))
    formed = cell_totals(city)[1]
    gain = np.where(formed > plain, (target - plain) / np.maximum(formed - plain, 1), 1.0)
    formation = np.clip(formation * np.clip(gain, 0.0, 3.0), 0.0, 1.0)
    return DerivedRates(rates.net_rate, rates.elder_net_rate, formation)
