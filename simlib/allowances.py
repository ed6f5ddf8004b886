"""Allowances paid as a monthly rate to every eligible person: rates × eligible counts.

DESIGN §4 ("simple rates × counts"); plan 四(三)2 (按时足额发放社会散居孤儿基本生活费,
事实无人抚养儿童帮扶, 全面建立困难残疾人生活补贴制度).  Four programmes, each a
monthly amount (dated) × 12 for the persons eligible in December:

* ``orphan_allowance``: basic living allowance for scattered orphans
  (散居孤儿基本生活费) and for de facto unsupported children (事实无人抚养儿童),
  children under ``age_limit`` (18) living in family households.  The population
  has no such status, so this module keeps a persons column ``orphan`` (0 none,
  1 scattered orphan, 2 de facto unsupported): drawn at the start with a
  prevalence by stratum, then each year a child not yet flagged becomes one with
  an incidence rate; the flag clears at the age limit.  Children in collective
  quarters (a children's welfare home: 集中供养) are not paid this allowance.
* ``disability_living_subsidy`` (困难残疾人生活补贴, 国发〔2015〕52号): disabled persons
  (grade 1-4) in dibao households, optionally also in low-income households.
* ``disability_nursing_subsidy`` (重度残疾人护理补贴, same document): persons with a
  grade 1-2 disability; residents of care homes (``institution`` >= 0) only if
  ``institution_residents`` (by default their care is paid through the home).  The
  national rule lets provinces add grade 3-4 intellectual and mental disability;
  the model has no kind of disability, so that extension is not modelled.
* ``old_age_allowance`` (高龄津贴): every resident at or above the first tier's age,
  at the amount of the highest tier reached (e.g. 80, 90, 100).

The population's disability grades are survey prevalence, not certified
disability (持证残疾人): each disabled person has a fixed claim draw (persons
column ``disability_claim_draw``, uniform on [0, 1), drawn once), and claims a
disability subsidy while the draw is below that subsidy's ``claim_share``.
Payments are for the whole year to those eligible in December (a
simplification: entries and exits within the year are not pro-rated); a person
counts as paid only where the amount in force is above zero (an allowance not
yet introduced pays no one).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from pydantic import Field, model_validator

from simlib import draws
from simlib.facts import ByStratum, Fact, NonNegative, Share, Strict
from simlib.metrics import Metric
from simlib.population import City

ORPHAN_CODES = {"none": 0, "scattered_orphan": 1, "unsupported_child": 2}
SEVERE_GRADES = (1, 2)
PROGRAMMES = (
    "orphan_allowance",
    "disability_living_subsidy",
    "disability_nursing_subsidy",
    "old_age_allowance",
)
"""Programme names, as in :data:`simlib.ledger.PROGRAMMES`."""

METRICS = [
    Metric(
        "orphan_allowance_persons",
        "persons",
        "sum",
        "Scattered orphans and de facto unsupported children paid",
        "散居孤儿和事实无人抚养儿童人数",
    ),
    Metric(
        "disability_living_persons",
        "persons",
        "sum",
        "Disabled persons in hardship paid the living subsidy",
        "困难残疾人生活补贴人数",
    ),
    Metric(
        "disability_nursing_persons",
        "persons",
        "sum",
        "Severely disabled persons paid the nursing subsidy",
        "重度残疾人护理补贴人数",
    ),
    Metric(
        "old_age_allowance_persons",
        "persons",
        "sum",
        "Very old persons paid the old-age allowance",
        "高龄津贴人数",
    ),
]


class ChildStatus(Strict):
    """One kind of child the orphan allowance pays for."""

    monthly_amount: Fact[NonNegative]
    prevalence: ByStratum[Share]
    incidence: ByStratum[Share]


class OrphanAllowanceParams(Strict):
    scattered_orphan: ChildStatus
    unsupported_child: ChildStatus
    age_limit: int = Field(18, ge=1, le=30, description="paid under this age (未满18周岁)")

    @model_validator(mode="after")
    def _shares_fit(self) -> OrphanAllowanceParams:
        for what in ("prevalence", "incidence"):
            for stratum in ("urban", "rural"):
                facts = [
                    getattr(getattr(kind, what), stratum)
                    for kind in (self.scattered_orphan, self.unsupported_child)
                ]
                years = sorted({y for f in facts for y in (f.values or {})}) or [0]
                if any(sum(float(f.at(y)) for f in facts) > 1.0 for y in years):
                    raise ValueError(f"the two {what} shares ({stratum}) sum to more than 1")
        return self


class DisabilityLivingParams(Strict):
    monthly_amount: Fact[NonNegative]
    claim_share: Fact[Share]
    low_income_households: bool = False


class DisabilityNursingParams(Strict):
    monthly_amount: Fact[NonNegative]
    claim_share: Fact[Share]
    institution_residents: bool = False


class AgeTier(Strict):
    min_age: int = Field(ge=0, le=130)
    monthly_amount: Fact[NonNegative]


class OldAgeAllowanceParams(Strict):
    tiers: list[AgeTier] = Field(min_length=1)

    @model_validator(mode="after")
    def _ages_rise(self) -> OldAgeAllowanceParams:
        ages = [t.min_age for t in self.tiers]
        if any(b <= a for a, b in pairwise(ages)):
            raise ValueError(f"tier ages must increase strictly, not {ages}")
        return self


class AllowancesParams(Strict):
    """The ``allowances:`` block."""

    orphan_allowance: OrphanAllowanceParams
    disability_living_subsidy: DisabilityLivingParams
    disability_nursing_subsidy: DisabilityNursingParams
    old_age_allowance: OldAgeAllowanceParams


@dataclass
class AllowancesYear:
    """Who is paid and how much this year, per person (aligned with persons)."""

    persons: dict[str, np.ndarray]  # programme name -> bool
    spending: dict[str, np.ndarray]  # programme name -> yuan this year (float64)


# --- orphans and de facto unsupported children -------------------------------------------


def _draw_status(
    u: np.ndarray, first: np.ndarray, second: np.ndarray, candidates: np.ndarray
) -> np.ndarray:
    """Code 1 where u < first, 2 where first <= u < first + second, else 0 (candidates only)."""
    status = np.where(u < first, 1, np.where(u < first + second, 2, 0))
    return np.where(candidates, status, 0).astype(np.int8)


def children_at_risk(city: City, params: OrphanAllowanceParams) -> np.ndarray:
    """Children under the age limit living in family households."""
    p = city.persons
    return (p.age < params.age_limit) & (p.household >= 0)


def init_allowances(city: City, params: AllowancesParams, rng: np.random.Generator) -> None:
    """Add the persons columns ``orphan`` (a state, drawn with the prevalence) and
    ``disability_claim_draw`` (an attribute: the uniform draw that decides who claims)."""
    p, op = city.persons, params.orphan_allowance
    stratum, year = p.stratum, city.year
    status = _draw_status(
        rng.random(len(p)),
        op.scattered_orphan.prevalence.pair(year)[stratum],
        op.unsupported_child.prevalence.pair(year)[stratum],
        children_at_risk(city, op),
    )
    p.add("orphan", status, fresh=0)
    p.add("disability_claim_draw", rng.random(len(p)).astype(np.float32))


def update_orphans(
    city: City, params: OrphanAllowanceParams, year: int, rng: np.random.Generator
) -> None:
    """Flags clear at the age limit; children not flagged become flagged at the incidence."""
    p = city.persons
    p.orphan[p.age >= params.age_limit] = 0
    children = np.flatnonzero(children_at_risk(city, params) & (p.orphan == 0))
    stratum = p.stratum[children]
    new = _draw_status(
        draws.for_rows(rng, children),
        params.scattered_orphan.incidence.pair(year)[stratum],
        params.unsupported_child.incidence.pair(year)[stratum],
        np.ones(len(children), dtype=bool),
    )
    orphan = p.orphan.copy()
    orphan[children[new > 0]] = new[new > 0]
    p["orphan"] = orphan


def orphan_allowance(
    city: City, params: OrphanAllowanceParams, year: int
) -> tuple[np.ndarray, np.ndarray]:
    """Children paid and their yearly amount (yuan)."""
    p = city.persons
    flagged = np.flatnonzero(children_at_risk(city, params) & (p.orphan > 0))
    monthly = np.array(
        [
            0.0,
            float(params.scattered_orphan.monthly_amount.at(year)),
            float(params.unsupported_child.monthly_amount.at(year)),
        ]
    )[p.orphan[flagged]]
    return _paid_among(len(p), flagged, monthly)


# --- the two disability subsidies (两项补贴) -------------------------------------------------


def disability_living_subsidy(
    city: City,
    params: DisabilityLivingParams,
    year: int,
    dibao_households: np.ndarray,
    low_income_households: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Disabled persons who claim, in dibao (or, if switched on, low-income) households."""
    p = city.persons
    poor = np.asarray(dibao_households, dtype=bool)
    if params.low_income_households:
        if low_income_households is None:
            raise ValueError(
                "disability_living_subsidy.low_income_households is on: "
                "pass low_income_households to allowances.step"
            )
        poor = poor | np.asarray(low_income_households, dtype=bool)
    in_poor = city.of_household(poor, False)
    paid = (p.disability > 0) & claims(city, params.claim_share, year) & in_poor
    return _paid(paid, float(params.monthly_amount.at(year)))


def disability_nursing_subsidy(
    city: City, params: DisabilityNursingParams, year: int
) -> tuple[np.ndarray, np.ndarray]:
    """Severely disabled persons (grade 1-2) who claim; care-home residents if switched on."""
    p = city.persons
    severe = np.logical_or.reduce([p.disability == g for g in SEVERE_GRADES])
    paid = severe & claims(city, params.claim_share, year)
    if not params.institution_residents and "institution" in p:
        paid &= p.institution < 0
    return _paid(paid, float(params.monthly_amount.at(year)))


def claims(city: City, share: Fact, year: int) -> np.ndarray:
    """Persons whose fixed claim draw is below the share in force (certified and claiming)."""
    return city.persons.disability_claim_draw < float(share.at(year))


# --- the old-age allowance (高龄津贴) ---------------------------------------------------------


def old_age_monthly(ages: np.ndarray, params: OldAgeAllowanceParams, year: int) -> np.ndarray:
    """Monthly amount by age: the highest tier whose ``min_age`` the person has reached."""
    floors = np.array([t.min_age for t in params.tiers])
    amounts = np.r_[0.0, [float(t.monthly_amount.at(year)) for t in params.tiers]]
    return amounts[np.searchsorted(floors, ages, side="right")]


def old_age_allowance(
    city: City, params: OldAgeAllowanceParams, year: int
) -> tuple[np.ndarray, np.ndarray]:
    """Persons at or above the first tier's age, and their yearly amount (yuan)."""
    ages = city.persons.age
    old = np.flatnonzero(ages >= min(t.min_age for t in params.tiers))  # younger: nothing
    return _paid_among(len(ages), old, old_age_monthly(ages[old], params, year))


def _paid_among(
    n: int, who: np.ndarray, monthly: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_paid` of the persons ``who`` (indices, eligible) among ``n``; the others
    are not paid."""
    paid_who, yearly_who = _paid(np.ones(len(who), dtype=bool), monthly)
    paid, yearly = np.zeros(n, dtype=bool), np.zeros(n)
    paid[who], yearly[who] = paid_who, yearly_who
    return paid, yearly


def _paid(eligible: np.ndarray, monthly: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Persons paid (eligible, with an amount above zero) and their yearly amount (yuan)."""
    monthly = np.asarray(monthly, dtype=float)
    if monthly.ndim == 0:  # one amount for everyone
        yearly = 12.0 * float(monthly)
        paid = eligible & (yearly > 0)
        amount = np.zeros(paid.shape)
        amount[paid] = yearly
        return paid, amount
    yearly = 12.0 * np.broadcast_to(monthly, eligible.shape)
    paid = eligible & (yearly > 0)
    return paid, np.where(paid, yearly, 0.0)


# --- the year -----------------------------------------------------------------------------


def step(
    city: City,
    params: AllowancesParams,
    year: int,
    rng: np.random.Generator,
    *,
    dibao_households: np.ndarray,
    low_income_households: np.ndarray | None = None,
) -> AllowancesYear:
    """This year's allowances, after demography has aged the population.

    ``dibao_households``: households on dibao in December (bool per household);
    ``low_income_households``: needed only when the living subsidy is extended to them.
    """
    update_orphans(city, params.orphan_allowance, year, rng)
    results = {
        "orphan_allowance": orphan_allowance(city, params.orphan_allowance, year),
        "disability_living_subsidy": disability_living_subsidy(
            city, params.disability_living_subsidy, year, dibao_households, low_income_households
        ),
        "disability_nursing_subsidy": disability_nursing_subsidy(
            city, params.disability_nursing_subsidy, year
        ),
        "old_age_allowance": old_age_allowance(city, params.old_age_allowance, year),
    }
    return AllowancesYear(
        persons={name: paid for name, (paid, _) in results.items()},
        spending={name: amount for name, (_, amount) in results.items()},
    )
