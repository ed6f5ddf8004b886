"""Dibao (最低生活保障, minimum livelihood guarantee): take-up, means test, review, benefit.

DESIGN §2 steps 5-6; plan 三(一)3 ("动态管理下的按标施保、应保尽保", with a household
economic verification mechanism 低保家庭经济状况核对机制).  Once a year, over the
family households:

* **Review** (dynamic management): a share of recipients is re-assessed; those now
  assessed at or above the standard, or whose disqualifying assets are found, leave
  after the month of their review, paid on for a gradual-exit period (渐退期) if the
  scenario has one.
* **Application**: households not on dibao apply with a probability that rises with
  the relative gap between the standard and their income,
  ``outreach · max_rate · (1 − exp(−gap / gap_scale))``; households a little above
  the line (within ``near_line_band``) apply at ``near_line_rate``, believing they
  qualify.  Take-up is unobserved: ``max_rate`` is calibrated to the city's dibao
  persons (docs/calibration.md).
* **Means test**: the bureau sees income with an error that shrinks with the
  verification strength v: assessed = income · exp(u), u ~ N(−δ(1−v), σ(1−v)) (δ:
  under-reporting, σ: noise with no verification); assets that fail the test
  (a car, a second dwelling, a business) are found with probability v.  Errors in
  both directions follow: inclusion (recipients whose true income is at or above
  the line, or who hold such assets) and exclusion (eligible households left out).
* **Benefit** (差额补助): (standard − assessed per-capita income) × members per month,
  at least ``floor_share`` of the standard per member, plus classified supplements
  (分类施保) as shares of the standard for each elderly, child, severely disabled
  (grade 1-2) or seriously ill (hit by major illness this year) member.

Timing within the year is by month: a recipient that passes review is paid 12
months; one that fails is paid to its review month, then the gradual-exit months
(carried into the next year if they run past December); a new entrant from its
entry month.  Review and entry months are uniform over the year.  Amounts use the
month-weighted mean standard of the year (the standard changes in its effective
month), and the December standard is the one reported.

Random numbers are drawn only for the households whose outcome they decide (the
review draw for regular recipients, the means test's error for those reviewed or
applying, the asset check for those holding such assets, the application draw for
households with a chance to apply, months for those leaving or entering), at a cost
that grows with the caseload rather than with the city.  Each is a function of the
household's row and a key drawn once a year for each kind of draw (keyed draws,
:mod:`simlib.draws`),
so a household's draws do not depend on how many others draw: common random numbers
hold for the dibao parameters (take-up, verification, exit rate), as the calibration
needs (simlib.calibration).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np
from pydantic import Field

from simlib import draws
from simlib.facts import ByStratum, Fact, NonNegative, Positive, Share, Strict
from simlib.incomes import SHOCK_CODES
from simlib.metrics import Metric
from simlib.population import City

METRICS = [
    Metric(
        "dibao_persons", "persons", "sum", "Dibao recipients (persons, December)", "低保对象人数"
    ),
    Metric("dibao_households", "households", "sum", "Dibao households (December)", "低保户数"),
    Metric(
        "dibao_rate",
        "share",
        "ratio",
        "Dibao persons per resident",
        "低保覆盖率",
        numerator="dibao_persons",
        denominator="population",
    ),
    Metric(
        "dibao_standard_month",
        "yuan/person/month",
        "weighted_mean",
        "Dibao standard in force in December",
        "低保标准",
    ),
    Metric(
        "dibao_standard_mean_month",
        "yuan/person/month",
        "weighted_mean",
        "Dibao standard, mean over the year",
        "低保标准(年内平均)",
    ),
    Metric(
        "dibao_standard_to_poverty_line",
        "ratio",
        "weighted_mean",
        "Dibao standard (December, x12) / national poverty line",
        "低保标准与国家扶贫标准之比",
    ),
    Metric(
        "dibao_avg_benefit_month",
        "yuan/person/month",
        "ratio",
        "Average dibao benefit",
        "低保月人均补助水平",
        numerator="dibao_spending",
        denominator="dibao_persons",
        per=12.0,
    ),
    Metric(
        "dibao_inclusion_error",
        "share",
        "ratio",
        "Inclusion error: regular recipient households not eligible",
        "错保率",
        numerator="dibao_wrongly_included",
        denominator="dibao_regular_households",
    ),
    Metric(
        "dibao_exclusion_error",
        "share",
        "ratio",
        "Exclusion error: eligible households not on dibao",
        "漏保率",
        numerator="dibao_eligible_left_out",
        denominator="dibao_eligible_households",
    ),
    Metric("dibao_entries", "households", "sum", "Households admitted to dibao", "新增低保户"),
    Metric("dibao_exits", "households", "sum", "Households leaving dibao at review", "退保户"),
]


class TakeUp(Strict):
    max_rate: ByStratum[Share]
    gap_scale: Fact[Positive]
    outreach: Fact[NonNegative]
    near_line_band: Fact[NonNegative]
    near_line_rate: Fact[Share]


class Assessment(Strict):
    verification_strength: Fact[Share]
    error_sd: Fact[NonNegative]
    underreporting: Fact[NonNegative]
    asset_failure_share: ByStratum[Share]


ExitMonths = Annotated[int, Field(ge=0, le=24)]
"""渐退期 in months; 0 for none."""


class Review(Strict):
    rate: Fact[Share]
    gradual_exit_months: Fact[ExitMonths]


class AgeSupplement(Strict):
    share: Fact[Share]
    age: int = Field(ge=0, le=120)


class Supplements(Strict):
    elderly: AgeSupplement
    child: AgeSupplement
    severely_disabled: Fact[Share]
    seriously_ill: Fact[Share]


class Benefit(Strict):
    floor_share: Fact[Share]
    supplements: Supplements


class DibaoParams(Strict):
    take_up: TakeUp
    assessment: Assessment
    review: Review
    benefit: Benefit
    burn_in_years: int = Field(
        8,
        ge=1,
        le=50,
        description="years of dibao run at base-year conditions to build the starting caseload",
    )


_DRAWS = (
    "review",
    "review_error",
    "review_assets",
    "review_month",
    "application",
    "application_error",
    "application_assets",
    "entry_month",
)
"""The kinds of draw of a year, one key each (the order is part of the random stream)."""


@dataclass
class DibaoYear:
    """What happened to each household this year (arrays aligned with households)."""

    members: np.ndarray  # members counted for dibao (destitute members are supported apart)
    months_paid: np.ndarray
    benefit_month: np.ndarray
    spending: np.ndarray
    recipients: np.ndarray  # on the rolls in December (gradual exit included)
    entries: np.ndarray
    exits: np.ndarray
    eligible: np.ndarray
    wrongly_included: np.ndarray


def init_dibao(city: City, params: DibaoParams, rng: np.random.Generator) -> None:
    """Add the dibao columns: assets that fail the means test, and the programme state."""
    hh = city.households
    share = params.assessment.asset_failure_share.pair(city.year)[hh.stratum]
    hh.add("asset_fail", rng.random(len(hh)) < share)
    hh.add("dibao_on", np.zeros(len(hh), dtype=bool), fresh=False)
    hh.add("dibao_exit_left", np.zeros(len(hh), dtype=np.int16), fresh=0)
    hh.add("dibao_assessed_pc", np.zeros(len(hh), dtype=np.float32), fresh=0.0)


def assess(
    income: np.ndarray, z: np.ndarray, verification: float, params: Assessment, year: int
) -> np.ndarray:
    """Assessed per-capita income: true income seen through the means test's error,
    ``z`` a standard normal draw for each household."""
    bias = float(params.underreporting.at(year)) * (1.0 - verification)
    sd = float(params.error_sd.at(year)) * (1.0 - verification)
    return income * np.exp(sd * z - bias)


def assets_found(holds: np.ndarray, verification: float, u: np.ndarray) -> np.ndarray:
    """Which of the households checked have disqualifying assets found: those that hold
    them (``holds``), each with probability ``verification`` (``u``: a uniform draw each)."""
    return holds & (u < verification)


def application_probability(
    income: np.ndarray, line: np.ndarray, max_rate: np.ndarray, params: TakeUp, year: int
) -> np.ndarray:
    """Yearly probability that a household not on dibao applies."""
    gap = 1.0 - income / line
    scale = float(params.gap_scale.at(year))
    band, near_rate = float(params.near_line_band.at(year)), float(params.near_line_rate.at(year))
    p = np.where(gap > -band, near_rate, 0.0)  # within the band above the line
    poor = np.flatnonzero(gap > 0)  # below the line: the rate rises with the gap
    max_rate = np.broadcast_to(max_rate, gap.shape)
    p[poor] = max_rate[poor] * (1.0 - np.exp(-gap[poor] / scale))
    p *= float(params.outreach.at(year))
    return np.minimum(p, 1.0, out=p)  # no rate is negative


def monthly_benefit(
    standard: np.ndarray,
    assessed_pc: np.ndarray,
    members: np.ndarray,
    supplement_units: np.ndarray,
    floor_share: float,
) -> np.ndarray:
    """Household benefit per month (yuan).

    ``standard`` is yuan/person/month, ``assessed_pc`` yuan/person/year; the
    difference per member is at least ``floor_share`` × standard; supplements are
    ``supplement_units`` × standard (the sum of the classified members' shares).
    """
    gap = np.maximum(standard - assessed_pc / 12.0, floor_share * standard)
    return members * gap + supplement_units * standard


def classified_members(city: City, params: Supplements) -> np.ndarray:
    """Members of each household in each class the supplements count, one row each:
    elderly, children, severely disabled (grade 1-2) (kept until the persons'
    households, ages or disabilities change; read-only)."""
    p = city.persons
    elderly_age, child_age = params.elderly.age, params.child.age

    def compute() -> np.ndarray:
        count = city.count_in_households
        severe = (p.disability == 1) | (p.disability == 2)
        return np.stack([count(p.age >= elderly_age), count(p.age < child_age), count(severe)])

    inputs = ("household", "age", "disability")
    key = (len(city.households), elderly_age, child_age)
    return p.derived("classified_members", inputs, compute, key=key)


def supplement_units(
    city: City, params: Supplements, year: int, rows: np.ndarray | None = None
) -> np.ndarray:
    """The sum of the supplement shares of the classified members of each household, or
    of the households ``rows`` only (indices)."""
    classified, shock = classified_members(city, params), city.households.shock
    if rows is not None:
        classified, shock = classified[:, rows], shock[rows]
    elderly, child, severe = classified
    units = (
        float(params.elderly.share.at(year)) * elderly
        + float(params.child.share.at(year)) * child
        + float(params.severely_disabled.at(year)) * severe
    )
    ill = shock == SHOCK_CODES["major_illness"]
    return units + float(params.seriously_ill.at(year)) * ill


def step(
    city: City,
    params: DibaoParams,
    standard_month: np.ndarray,
    year: int,
    rng: np.random.Generator,
    members: np.ndarray | None = None,
) -> DibaoYear:
    """One year of dibao: gradual exits run out, reviews, applications, benefits.

    ``standard_month`` is the month-weighted mean standard of the year by stratum
    (yuan/person/month); ``members`` the members of each household that dibao
    counts (all of them by default).  A household with none cannot claim: it
    leaves at its review.
    """
    hh = city.households
    n = len(hh)
    members = city.members() if members is None else members
    can_claim = members > 0
    stratum = hh.stratum
    line = np.take(12.0 * np.asarray(standard_month, dtype=float), stratum)
    income = hh.income_pc
    v = float(params.assessment.verification_strength.at(year))
    # the keys of this year's draws, one for each kind (see the module docstring)
    key = dict(zip(_DRAWS, rng.integers(2**64, size=len(_DRAWS), dtype=np.uint64), strict=True))
    on = np.flatnonzero(hh.dibao_on)  # on the rolls at the start of the year
    # who may apply: households not on the rolls with a chance to (p = 0 for the others)
    gap = income / line
    gap = np.subtract(1.0, gap, out=gap)
    band = float(params.take_up.near_line_band.at(year))
    chance = gap > -band
    chance &= can_claim
    chance &= ~hh.dibao_on
    chance = np.flatnonzero(chance)
    months = np.zeros(n, dtype=np.float32)

    # Households already in their gradual exit are paid what is left of it.
    left = hh.dibao_exit_left[on]
    in_exit = left > 0
    exiting, regular, left = on[in_exit], on[~in_exit], left[in_exit]
    paid_exit = np.minimum(left, 12)
    months[exiting] = paid_exit
    hh.dibao_exit_left[exiting] = left - paid_exit
    hh.dibao_on[exiting[left == paid_exit]] = False

    # Review of regular recipients (dynamic management).
    rate = float(params.review.rate.at(year))
    drawn = draws.keyed_uniforms(key["review"], regular)
    reviewed = regular[~can_claim[regular] | (drawn < rate)]
    z = draws.keyed_normals(key["review_error"], reviewed)
    reassessed = assess(income[reviewed], z, v, params.assessment, year)
    u = draws.keyed_uniforms(key["review_assets"], reviewed)
    found = assets_found(hh.asset_fail[reviewed], v, u)
    out = (reassessed >= line[reviewed]) | found | ~can_claim[reviewed]
    fails = reviewed[out]
    hh.dibao_assessed_pc[reviewed[~out]] = reassessed[~out]
    months[regular] = 12
    # review month - 1 + exit
    paid = draws.keyed_months(key["review_month"], fails) + int(
        params.review.gradual_exit_months.at(year)
    )
    months[fails] = np.minimum(paid, 12)
    carry = np.maximum(paid - 12, 0)
    hh.dibao_exit_left[fails] = carry
    hh.dibao_on[fails[carry == 0]] = False

    # Applications and the means test.
    max_rate = np.take(params.take_up.max_rate.pair(year), stratum[chance])
    p = application_probability(income[chance], line[chance], max_rate, params.take_up, year)
    applies = chance[draws.keyed_uniforms(key["application"], chance) < p]
    z = draws.keyed_normals(key["application_error"], applies)
    assessed = assess(income[applies], z, v, params.assessment, year)
    u = draws.keyed_uniforms(key["application_assets"], applies)
    ok = (assessed < line[applies]) & ~assets_found(hh.asset_fail[applies], v, u)
    admitted = applies[ok]
    hh.dibao_on[admitted] = True
    hh.dibao_exit_left[admitted] = 0
    hh.dibao_assessed_pc[admitted] = assessed[ok]
    months[admitted] = 12 - draws.keyed_months(key["entry_month"], admitted)  # from entry

    # the benefit of the households paid this year (nothing for the others)
    paid = np.sort(np.concatenate([on, admitted]))  # everyone else is paid nothing
    paid = paid[months[paid] > 0]
    benefit, spending = np.zeros(n), np.zeros(n)
    benefit[paid] = monthly_benefit(
        np.take(standard_month, stratum[paid]),
        hh.dibao_assessed_pc[paid],
        members[paid],
        supplement_units(city, params.benefit.supplements, year, paid),
        float(params.benefit.floor_share.at(year)),
    )
    spending[paid] = months[paid] * benefit[paid]
    eligible = (income < line) & ~hh.asset_fail & can_claim
    recipients = hh.dibao_on.copy()
    return DibaoYear(
        members=members,
        months_paid=months,
        benefit_month=benefit,
        spending=spending,
        recipients=recipients,
        entries=_mask(n, admitted),
        exits=_mask(n, fails),
        eligible=eligible,
        wrongly_included=recipients & (hh.dibao_exit_left == 0) & ~eligible,
    )


def _mask(n: int, rows: np.ndarray) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    return mask
