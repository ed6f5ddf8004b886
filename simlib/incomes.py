"""Household per-capita income: its distribution, its dynamics and income shocks.

DESIGN §2 step 4.  Each family household has a per-capita income (yuan/person/year)
that moves with the aggregate growth of its area and stratum plus an idiosyncratic
persistent shock:

    z_t = ρ z_{t-1} + sqrt(1 - ρ²) σ ε_t,        ε_t ~ N(0, 1)
    y_t = m_{a,s,t} · exp(z_t + β·[no worker]) / c_{a,s,t}

``z`` is stationary with standard deviation σ, so the dispersion of log income
(and with it the share of households near the dibao line) stays stable while
incomes grow; ``m`` is the city's per-capita disposable income of the stratum
(the economy driver) times the area's relative income, and ``c`` normalises the
person-weighted mean of the area × stratum to ``m`` exactly.  Households without
a member able to work (no one aged 16-59 without a grade 1-2 disability) sit
lower by β in logs.  On top of this, shocks (job loss, major illness, disaster,
accident 意外伤害) take a share of one year's income from the households they hit;
the shock's code (``SHOCK_CODES``) stays in the ``shock`` column for the programmes
that respond to it (dibao's supplement for the seriously ill, temporary assistance).
Each household of a stratum is hit independently at the stratum's rate; the draw
makes as many random numbers as there are hits, not households (:func:`bernoulli_rows`).

The log-normal shape and the size of σ, ρ and β are assumptions (see the
``income:`` block of the scenario); the means are the sourced income drivers.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from simlib.facts import ByStratum, Fact, NonNegative, Positive, Share, Strict
from simlib.population import City, cell_of

SHOCK_CODES = {"none": 0, "job_loss": 1, "major_illness": 2, "disaster": 3, "accident": 4}
"""The ``shock`` column's codes; existing codes never change (programmes read them)."""
ShockName = Literal["job_loss", "major_illness", "disaster", "accident"]
WORKING_AGES = (16, 59)


class Shock(Strict):
    """One kind of income shock: how often it hits, whom, and what share of income it takes."""

    rate: ByStratum[Share]
    income_loss: Fact[Share]
    hits: Literal["households_with_workers", "all_households"] = "all_households"


class IncomeParams(Strict):
    dispersion: Fact[Positive]
    persistence: Fact[Share]
    no_worker_log_shift: Fact[float]
    area_relative_income: dict[str, Fact[Positive]]
    shocks: dict[ShockName, Shock]


def has_worker(city: City) -> np.ndarray:
    """Households with at least one member of working age not severely disabled (kept
    until the persons' households, ages or disabilities change; read-only)."""
    p = city.persons

    def compute() -> np.ndarray:
        severe = (p.disability == 1) | (p.disability == 2)
        able = (p.age >= WORKING_AGES[0]) & (p.age <= WORKING_AGES[1]) & ~severe
        return city.count_in_households(able) > 0

    inputs = ("household", "age", "disability")
    return p.derived("has_worker", inputs, compute, key=len(city.households))


def target_means(
    params: IncomeParams, area_codes: tuple[str, ...], dispinc: tuple[float, float], year: int
) -> np.ndarray:
    """Mean per-capita income of each area × stratum cell (flattened) in ``year``."""
    rel = np.array([float(params.area_relative_income[a].at(year)) for a in area_codes])
    return (rel[:, None] * np.asarray(dispinc)[None, :]).ravel()


def _normalise(
    raw: np.ndarray, members: np.ndarray, cell: np.ndarray, means: np.ndarray
) -> np.ndarray:
    """Scale ``raw`` so the person-weighted mean in each cell equals ``means``."""
    n_cells = len(means)
    persons = np.bincount(cell, weights=members, minlength=n_cells)
    total = np.bincount(cell, weights=raw * members, minlength=n_cells)
    factor = np.divide(means * persons, total, out=np.zeros(n_cells), where=total > 0)
    scaled = np.take(factor, cell)
    scaled *= raw
    return scaled


def per_capita_incomes(
    z: np.ndarray,
    worker: np.ndarray,
    members: np.ndarray,
    cell: np.ndarray,
    means: np.ndarray,
    shift: float,
) -> np.ndarray:
    """Per-capita income from the persistent component, normalised to the cell means.

    ``exp`` is taken in the precision of ``z`` (float32 in the model: the component is
    kept so), the normalisation in float64.
    """
    raw = np.asarray(shift, dtype=z.dtype) * ~np.asarray(worker, dtype=bool)
    raw += z
    return _normalise(np.exp(raw, out=raw), members, cell, means)


def init_incomes(
    city: City, params: IncomeParams, dispinc: tuple[float, float], rng: np.random.Generator
) -> None:
    """Give every household its persistent income component and this year's income."""
    sigma = float(params.dispersion.at(city.year))
    z = rng.normal(0.0, sigma, len(city.households)).astype(np.float32)
    city.households.add("income_z", z)
    city.households.add("income_pc", np.zeros(len(z)))
    city.households.add("shock", np.zeros(len(z), dtype=np.int8), fresh=0)
    _set_incomes(city, params, dispinc, city.year)


def update_incomes(
    city: City,
    params: IncomeParams,
    dispinc: tuple[float, float],
    year: int,
    rng: np.random.Generator,
) -> None:
    """Move every household's income one year on, then draw this year's shocks."""
    hh = city.households
    rho = float(params.persistence.at(year))
    sigma = float(params.dispersion.at(year))
    z = rng.standard_normal(len(hh), dtype=np.float32)  # z is kept in float32
    z *= np.float32(np.sqrt(1.0 - rho**2) * sigma)
    z += np.float32(rho) * hh.income_z
    hh["income_z"] = z
    worker = has_worker(city)
    _set_incomes(city, params, dispinc, year, worker)
    apply_shocks(city, params, year, rng, worker)


def _set_incomes(
    city: City,
    params: IncomeParams,
    dispinc: tuple[float, float],
    year: int,
    worker: np.ndarray | None = None,
) -> None:
    hh = city.households
    means = target_means(params, city.area_codes, dispinc, year)
    hh["income_pc"] = per_capita_incomes(
        hh.income_z,
        has_worker(city) if worker is None else worker,
        city.members(),
        cell_of(city.households),
        means,
        float(params.no_worker_log_shift.at(year)),
    )
    hh["shock"] = np.zeros(len(hh), dtype=np.int8)


def apply_shocks(
    city: City,
    params: IncomeParams,
    year: int,
    rng: np.random.Generator,
    worker: np.ndarray | None = None,
) -> None:
    """Each shock hits households at its rate and takes its share of this year's income
    (``worker``: :func:`has_worker`, if the caller has it).

    Every household of a stratum is hit with the stratum's probability, independently
    (a shock that ``hits`` households with workers: drawn the same way, then kept only
    where the household has a worker).  A household hit by more than one shock keeps
    the last code drawn (in the order of the ``shocks`` block) and loses the shares
    one after another.  Each kind of shock draws from a stream of its own, seeded by
    one number a year from ``rng``: a change of its rates changes whom it hits, not
    the other shocks nor any later draw (common random numbers for the rest).
    """
    hh = city.households
    worker = has_worker(city) if worker is None else worker
    strata = [_households_of_stratum(city, s) for s in (0, 1)]
    key = int(rng.integers(2**63))
    for name, shock in params.shocks.items():
        keep = 1.0 - float(shock.income_loss.at(year))
        draws = np.random.default_rng([key, SHOCK_CODES[name]])
        for rows, rate in zip(strata, shock.rate.pair(year), strict=True):
            hit = rows[bernoulli_rows(len(rows), float(rate), draws)]
            if shock.hits == "households_with_workers":
                hit = hit[worker[hit]]
            hh.income_pc[hit] *= keep
            hh.shock[hit] = SHOCK_CODES[name]


def bernoulli_rows(n: int, p: float, rng: np.random.Generator) -> np.ndarray:
    """The indices (0 … n−1, unordered) of the successes in ``n`` independent trials of
    probability ``p``: the same distribution as ``np.flatnonzero(rng.random(n) < p)``.

    The number of successes is Binomial(n, p) and, the trials being exchangeable,
    given that number every set of that size is equally likely: so draw the count,
    then that many distinct indices uniformly.  Its cost grows with the successes,
    not the trials: cheap for rare events over many households.
    """
    hits = rng.binomial(n, p)
    return rng.choice(n, hits, replace=False, shuffle=False)


def _households_of_stratum(city: City, stratum: int) -> np.ndarray:
    """Indices of the households of ``stratum`` (kept until the strata change; read-only)."""
    hh = city.households
    return hh.derived(
        f"households_of_stratum_{stratum}",
        ("stratum",),
        lambda: np.flatnonzero(hh.stratum == stratum),
    )


def lognormal_sigma_from_gini(gini: NonNegative) -> float:
    """σ of a log-normal distribution with the given Gini coefficient: G = 2Φ(σ/√2) − 1."""
    from scipy.stats import norm

    return float(np.sqrt(2.0) * norm.ppf((gini + 1.0) / 2.0))
