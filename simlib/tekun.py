"""Support for destitute persons (特困人员救助供养): identification, standards, support.

DESIGN §1 and §2; plan 三(一)4.  A destitute person (特困人员) has no capacity to
work, no income, and no one legally obliged and able to support them: in the
model, a person who is elderly (60+), severely disabled (grade 1-2) or a minor
(under 16), with no legal supporter (an unobserved attribute drawn once per person: childless
elders, orphans) and no one in the household able to work (aged 16-59 without a
grade 1-2 disability), whose household income is below a limit tied to the dibao
line, with no assets that fail the means test.

* **Identification**: each year an eligible person not yet supported is
  identified with ``recognition_rate`` (the bureau's reach; an assumption); a
  supported person living at home who is no longer eligible leaves at the review.
  Persons in an institution stay supported.
* **Standards**: the basic living standard (基本生活标准) is at least 1.3 times the
  local dibao standard (methods_rules M10, quoted from Guizhou's implementation of
  国发〔2016〕14号), rounded up to whole yuan; the care standard (照料护理标准)
  depends on self-care ability, three levels (全自理, 半护理, 全护理).
* **Support**: concentrated (集中供养, living in an institution) or scattered
  (分散供养, at home).  The plan puts those who cannot fully care for themselves
  first for concentrated support (优先集中供养完全或部分丧失生活自理能力的特困人员) and
  aims, by 2020, to meet all their demand: the bureau places them
  (:mod:`simlib.elderly_care`); self-caring persons ask for a place at
  ``concentrated_request_rate`` a year.

Payment months follow the dibao convention: 12 for a whole year, from the entry
month for a new case, to the review month for one that leaves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np
from pydantic import Field

from simlib import draws
from simlib.facts import ByStratum, Fact, NonNegative, Positive, Share, Strict
from simlib.incomes import has_worker
from simlib.metrics import Metric
from simlib.population import City

SEVERE_GRADES = (1, 2)
BasicRatio = Annotated[float, Field(ge=1.3, le=5.0)]
"""At least 1.3 × the dibao standard (methods_rules M10)."""

METRICS = [
    Metric("tekun_persons", "persons", "sum", "Destitute persons supported", "特困人员"),
    Metric("tekun_concentrated", "persons", "sum", "Destitute persons, concentrated", "集中供养"),
    Metric("tekun_scattered", "persons", "sum", "Destitute persons, scattered", "分散供养"),
    Metric(
        "tekun_not_selfcaring_unplaced",
        "persons",
        "sum",
        "Destitute persons who cannot fully care for themselves, not in an institution",
        "生活不能自理特困人员未集中供养",
    ),
    Metric(
        "tekun_basic_standard_month",
        "yuan/person/month",
        "weighted_mean",
        "Destitute basic living standard in December",
        "特困人员基本生活标准",
    ),
]


class CareStandards(Strict):
    """照料护理标准 by self-care ability, yuan/person/month."""

    independent: Fact[NonNegative]
    partly: Fact[NonNegative]
    fully: Fact[NonNegative]

    def by_state(self, year: int) -> np.ndarray:
        return np.array([float(f.at(year)) for f in (self.independent, self.partly, self.fully)])


class NoSupporter(Strict):
    """Shares of persons with no one legally obliged and able to support them (无赡养人、
    抚养人或者扶养人, or they cannot): an unobserved attribute, drawn once per person."""

    elderly: ByStratum[Share]
    severely_disabled: Fact[Share]
    children: Fact[Share]


class TekunParams(Strict):
    basic_ratio: Fact[BasicRatio]
    care_standard: CareStandards
    no_supporter: NoSupporter
    income_limit: Fact[Positive]
    recognition_rate: Fact[Share]
    concentrated_request_rate: Fact[Share]
    elderly_age: int = Field(60, ge=0, le=120)
    child_age: int = Field(16, ge=0, le=30)


@dataclass
class TekunYear:
    """The year's destitute support, per person (aligned with persons)."""

    supported: np.ndarray
    entries: np.ndarray
    exits: np.ndarray
    months_paid: np.ndarray
    spending: np.ndarray
    basic_standard: np.ndarray  # December, yuan/person/month, by stratum


def init_tekun(city: City, params: TekunParams, rng: np.random.Generator) -> None:
    """Add the persons columns: who has no supporter (an attribute), who is supported (a state)."""
    p = city.persons
    year = city.year
    share = np.where(
        p.age >= params.elderly_age,
        params.no_supporter.elderly.pair(year)[p.stratum],
        np.where(
            np.isin(p.disability, SEVERE_GRADES),
            float(params.no_supporter.severely_disabled.at(year)),
            np.where(p.age < params.child_age, float(params.no_supporter.children.at(year)), 0.0),
        ),
    )
    p.add("no_supporter", rng.random(len(p)) < share)
    p.add("tekun", np.zeros(len(p), dtype=bool), fresh=False)


def basic_standard(dibao_standard: np.ndarray, ratio: float) -> np.ndarray:
    """The basic living standard: ``ratio`` × the dibao standard, up to a whole yuan."""
    return np.ceil(np.round(ratio * np.asarray(dibao_standard, dtype=float), 6))


def eligible(city: City, params: TekunParams, dibao_line_year: np.ndarray) -> np.ndarray:
    """Persons who meet the three conditions (三无) as the model reads them.

    Unable to work (elderly, severely disabled, minor); no supporter (the person's
    attribute, and no one in the household able to work); no income (household
    per-capita income below ``income_limit`` × the dibao line: the model's income is a
    household average that includes what others in the household receive).
    """
    p, h = city.persons, city.households
    alone = np.flatnonzero(p.no_supporter)  # the others are never eligible
    age, disability = p.age[alone], p.disability[alone]
    unable = (
        (age >= params.elderly_age) | np.isin(disability, SEVERE_GRADES) | (age < params.child_age)
    )
    limit = float(params.income_limit.at(city.year)) * dibao_line_year
    # the household's part: no one able to work, no income, no assets (False outside)
    household = ~has_worker(city) & (h.income_pc < limit[h.stratum]) & ~h.asset_fail
    can = np.zeros(len(p), dtype=bool)
    can[alone] = unable & city.of_household(household, False, alone)
    return can


def step(
    city: City,
    params: TekunParams,
    dibao_december: np.ndarray,
    dibao_mean: np.ndarray,
    year: int,
    rng: np.random.Generator,
) -> TekunYear:
    """Identify, review and pay destitute persons for the year.

    ``dibao_december`` and ``dibao_mean`` are the dibao standards by stratum
    (yuan/person/month): in force in December, and the month-weighted mean.
    """
    p = city.persons
    n = len(p)
    resident = p.institution >= 0
    can = eligible(city, params, 12.0 * dibao_mean)
    was = p.tekun.copy()
    exits = was & ~resident & ~can
    new = np.flatnonzero(~was & can)  # only they may be recognised
    entries = np.zeros(n, dtype=bool)
    entries[new] = draws.for_rows(rng, new) < float(params.recognition_rate.at(year))
    p.tekun[exits] = False
    p.tekun[entries] = True
    months = np.where(p.tekun, 12.0, 0.0)
    # the month of entry or exit (a draw for every person, read for those who enter or leave)
    entered, left = np.flatnonzero(entries), np.flatnonzero(exits)
    months[entered] = 12 - draws.months(draws.for_rows(rng, entered))
    months[left] = draws.months(draws.for_rows(rng, left))
    ratio = float(params.basic_ratio.at(year))
    paid = np.flatnonzero(p.tekun | exits)  # spending is zero for everyone else
    paid = paid[months[paid] != 0]
    basic = basic_standard(dibao_mean, ratio)[p.stratum[paid]]
    care = params.care_standard.by_state(year)[np.clip(p.adl[paid], 0, 2)]
    spending = np.zeros(n)
    spending[paid] = months[paid] * (basic + care)
    return TekunYear(
        supported=p.tekun.copy(),
        entries=entries,
        exits=exits,
        months_paid=months,
        spending=spending,
        basic_standard=basic_standard(dibao_december, ratio),
    )


def needs_placement(city: City) -> np.ndarray:
    """Supported persons who cannot fully care for themselves and live at home."""
    p = city.persons
    return p.tekun & (p.adl >= 1) & (p.institution < 0)


def asks_for_place(
    city: City, params: TekunParams, year: int, rng: np.random.Generator
) -> np.ndarray:
    """Self-caring elderly destitute persons at home who ask this year for a place (集中供养)."""
    p = city.persons
    at_home = np.flatnonzero(
        p.tekun & (p.adl == 0) & (p.institution < 0) & (p.age >= params.elderly_age)
    )
    rate = float(params.concentrated_request_rate.at(year))
    asking = np.zeros(len(p), dtype=bool)
    asking[at_home[draws.for_rows(rng, at_home) < rate]] = True
    return asking


def members_not_supported(city: City) -> np.ndarray:
    """Per household, the members who are not destitute persons (dibao counts only them)."""
    return city.members() - city.count_in_households(city.persons.tekun)  # few are destitute
