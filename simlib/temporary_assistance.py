"""Temporary assistance (临时救助): a one-off payment to households hit by a sudden shock.

DESIGN §2 step 6; plan 三(一)6: emergency, transitional help (应急性、过渡性救助) for
households whose basic living falls into hardship through a sudden event, an
accident (意外伤害), a serious illness or another special cause, and that other
assistance does not yet cover (救急难, 应救尽救).  In the model, once a year:

* **Who qualifies**: a family household hit this year by one of the shocks the
  rules list (``months_by_shock``; the ``shock`` column that
  :func:`simlib.incomes.apply_shocks` sets: job loss, major illness, disaster,
  accident), with members, whose per-capita income this year *after* the shock is
  below ``income_limit`` × the dibao line of its stratum (12 × the monthly
  standard).  Dibao households qualify only if ``dibao_households_eligible`` (the
  shock is sudden and dibao pays the ordinary gap: 救急难).  A household hit by
  two shocks counts once, under the last shock drawn.
* **Take-up**: a qualifying household applies and is paid with probability
  ``take_up`` (temporary assistance is by application; an assumption).
* **Amount**: ``months_by_shock[shock]`` × the monthly dibao standard of its
  stratum × members (``per: member``) or × 1 (``per: household``), at most
  ``cap_months`` × the monthly standard per case (per household).

One payment a year per household; the standard is the month-weighted mean of
the year.  A case is a household paid (户次); the national bulletin counts
person-times (人次), so compare per-person figures with care.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from simlib.facts import Fact, NonNegative, Positive, Share, Strict
from simlib.incomes import SHOCK_CODES, ShockName
from simlib.metrics import Metric
from simlib.population import City

METRICS = [
    Metric(
        "temp_assist_cases",
        "households",
        "sum",
        "Temporary assistance cases (households paid)",
        "临时救助户次",
    ),
]


class TemporaryAssistanceParams(Strict):
    """The ``temporary_assistance:`` block: which shocks are covered and what is paid."""

    months_by_shock: dict[ShockName, Fact[NonNegative]]
    per: Literal["member", "household"] = "member"
    cap_months: Fact[NonNegative]
    income_limit: Fact[Positive]
    take_up: Fact[Share]
    dibao_households_eligible: bool = True


@dataclass
class TemporaryYear:
    """The year's temporary assistance, per household (aligned with households)."""

    cases: np.ndarray  # bool: paid this year
    spending: np.ndarray  # yuan this year (float64)


def months_of_standard(
    shock: np.ndarray, params: TemporaryAssistanceParams, year: int
) -> np.ndarray:
    """Months of the standard (per member or per household) for each household's shock;
    zero for no shock or a shock the rules do not cover."""
    table = np.zeros(max(SHOCK_CODES.values()) + 1)
    for name, months in params.months_by_shock.items():
        table[SHOCK_CODES[name]] = float(months.at(year))
    return table[shock]


def payment(
    months: np.ndarray,
    standard_month: np.ndarray,
    members: np.ndarray,
    per: Literal["member", "household"],
    cap_months: float,
) -> np.ndarray:
    """One-off payment per household (yuan): months × standard (× members), capped.

    ``standard_month`` is the household's monthly dibao standard (yuan/person/month);
    the cap is ``cap_months`` × that standard for the whole household.
    """
    units = members if per == "member" else np.ones_like(members)
    return np.minimum(months * standard_month * units, cap_months * standard_month)


def qualifies(
    city: City,
    params: TemporaryAssistanceParams,
    year: int,
    standard_month: np.ndarray,
    dibao_households: np.ndarray,
    members: np.ndarray,
) -> np.ndarray:
    """Households hit by a covered shock, with members, below the income limit."""
    hh = city.households
    covered = months_of_standard(hh.shock, params, year) > 0
    line = float(params.income_limit.at(year)) * 12.0 * np.asarray(standard_month)[hh.stratum]
    ok = covered & (members > 0) & (hh.income_pc < line)
    if not params.dibao_households_eligible:
        ok &= ~dibao_households
    return ok


def step(
    city: City,
    params: TemporaryAssistanceParams,
    year: int,
    rng: np.random.Generator,
    *,
    standard_month: np.ndarray,
    dibao_households: np.ndarray,
) -> TemporaryYear:
    """This year's temporary assistance.

    ``standard_month``: the mean monthly dibao standard of the year, urban and rural
    (yuan/person/month); ``dibao_households``: households on dibao (bool).
    Call after this year's shocks (:func:`simlib.incomes.update_incomes`).
    """
    hh = city.households
    members = city.members()
    ok = qualifies(city, params, year, standard_month, dibao_households, members)
    cases = ok & (rng.random(len(hh)) < float(params.take_up.at(year)))
    amount = payment(
        months_of_standard(hh.shock, params, year),
        np.asarray(standard_month, dtype=float)[hh.stratum],
        members,
        params.per,
        float(params.cap_months.at(year)),
    )
    return TemporaryYear(cases=cases, spending=np.where(cases, amount, 0.0))
