"""Elderly care (养老服务): who seeks a bed, who gets one, and what the beds cost.

DESIGN §2 step 7.  Each year, after the elders' health has moved on:

* **Discharges**: a share of residents who are not destitute persons leave their
  institution and move in with a family household of their area and stratum.
* **Demand**: elders (60+) at home seek a bed with a yearly probability
  ``logistic(intercept + partly + fully + living alone + age + income)``: it rises
  with dependency, living alone, age, and the ability to pay (the log of the
  elder's monthly income over the public home's fee).  Those who sought and found
  no bed stay on the waiting list (轮候), a share giving up each year.  The bureau
  places destitute persons who cannot fully care for themselves; self-caring
  destitute persons ask for a place at their own rate (:mod:`simlib.tekun`).
* **Admission** (:func:`simlib.institutions.admit`): by priority, destitute persons
  who cannot care for themselves first, then dibao and low-income elders who are
  fully dependent, and destitute persons asking for a place, then everyone else;
  within a class the longest waiting first.  A seeker may use a kind of home it
  can pay for (its fee up to ``affordability`` × its monthly income), or that pays
  for it: destitute persons everywhere on their list; poor fully dependent elders
  in the ``subsidised_kinds``.  Each takes its preferred kind with a free place in
  its own area.  Admitted elders leave their family household (``household`` -1).
  When the model passes a staffing limit (养老护理员, :mod:`simlib.care_workforce`), an
  area admits only as many as its care workers can look after, by the same priority
  (:func:`within_staffing`).
* **Operating subsidy**: each occupied bed earns its home's subsidy per month
  (运营补贴), counted on the mean of the occupancy before and after admissions.

The shape and coefficients of the demand are assumptions; the intercept is
calibrated so that occupancy stays at its base-year level to 2019
(docs/calibration.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from simlib import draws
from simlib.facts import Fact, Positive, Share, Strict
from simlib.institutions import KINDS, CareHome, admit, home_area_kind, occupancy, places
from simlib.metrics import Metric
from simlib.population import City, cell_of

ELDER_AGE = 60
Kind = Literal["public", "public_private", "private", "jinglaoyuan", "welfare_home"]
FIRST, POOR_OR_ASKING, OTHERS = 0, 1, 2

METRICS = [
    Metric("bed_seekers", "persons", "sum", "Elders seeking a bed (incl. waiting)", "申请入住人数"),
    Metric("beds", "beds", "sum", "Beds in elderly-care institutions", "养老床位"),
    Metric("nursing_beds", "beds", "sum", "Nursing beds", "护理型床位"),
    Metric("beds_occupied", "beds", "sum", "Occupied beds (residents)", "在院人数"),
    Metric("waiting_list", "persons", "sum", "Waiting list at year end", "轮候人数"),
    Metric(
        "beds_per_1000_elderly",
        "beds per 1,000 aged 60+",
        "ratio",
        "Beds per 1,000 elderly",
        "每千名老年人拥有养老床位数",
        numerator="beds",
        denominator="elderly_60p",
        per=0.001,
    ),
    Metric(
        "occupancy_rate",
        "share",
        "ratio",
        "Occupancy rate",
        "床位利用率",
        numerator="beds_occupied",
        denominator="beds",
    ),
]


class Seeking(Strict):
    """Coefficients of the yearly probability of seeking a bed (log-odds)."""

    intercept: Fact[float]
    partly: Fact[float]
    fully: Fact[float]
    living_alone: Fact[float]
    per_decade_over_60: Fact[float]
    income: Fact[float]
    waiting_dropout: Fact[Share]


class Preferences(Strict):
    """Kinds of home in order of preference; a kind not listed is not used."""

    destitute_rural: list[Kind]
    destitute_urban: list[Kind]
    others: list[Kind]


class ElderlyCareParams(Strict):
    initial_occupancy: Fact[Share]
    seeking: Seeking
    affordability: Fact[Positive]
    low_income_multiple: Fact[Positive]
    subsidised_kinds: list[Kind]
    discharge_rate: Fact[Share]
    preferences: Preferences


@dataclass
class CareYear:
    """The year's elderly care: per person (aligned with persons) and per home."""

    seekers: np.ndarray
    admitted: np.ndarray
    waiting: np.ndarray
    discharged: np.ndarray
    subsidy_spending: np.ndarray  # per home, yuan


def init_care(city: City) -> None:
    """Add the persons columns: the home they live in (-1: none) and when they began waiting."""
    n = len(city.persons)
    city.persons.add("institution", np.full(n, -1, dtype=np.int16), fresh=-1)
    city.persons.add("waiting_since", np.zeros(n, dtype=np.int16), fresh=0)


def seeking_probability(
    age: np.ndarray,
    adl: np.ndarray,
    alone: np.ndarray,
    income_month: np.ndarray,
    reference_fee: float,
    s: Seeking,
    year: int,
) -> np.ndarray:
    """Yearly probability that an elder at home seeks a bed (with no public home to set
    ``reference_fee``, 0, the income term is left out)."""
    logit = (
        float(s.intercept.at(year))
        + np.where(adl == 1, float(s.partly.at(year)), 0.0)
        + np.where(adl == 2, float(s.fully.at(year)), 0.0)
        + np.where(alone, float(s.living_alone.at(year)), 0.0)
        + float(s.per_decade_over_60.at(year)) * (age - ELDER_AGE) / 10.0
        + float(s.income.at(year))
        * (np.log(np.maximum(income_month, 1.0) / reference_fee) if reference_fee > 0 else 0.0)
    )
    return 1.0 / (1.0 + np.exp(-logit))


def demand_probability(
    city: City,
    homes: list[CareHome],
    params: ElderlyCareParams,
    year: int,
    person_income_month: np.ndarray,
    persons: np.ndarray | None = None,
) -> np.ndarray:
    """Each person's yearly probability of seeking a bed (meaningful for elders at home);
    of the ``persons`` (indices) only, if given."""
    p = city.persons
    alone = city.of_household(city.members() == 1, False, persons)
    public_fee = _fees_by_kind(homes)[KINDS.index("public")]
    who = slice(None) if persons is None else persons
    return seeking_probability(
        p.age[who],
        p.adl[who],
        alone,
        person_income_month[who],
        public_fee,
        params.seeking,
        year,
    )


def preference_ranks(stratum: np.ndarray, destitute: np.ndarray, prefs: Preferences) -> np.ndarray:
    """Rank of each kind for each seeker by its group (-1: not on its list)."""

    def ranks(order: list[str]) -> np.ndarray:
        r = np.full(len(KINDS), -1)
        for i, kind in enumerate(order):
            r[KINDS.index(kind)] = i
        return r

    table = np.stack(
        [ranks(prefs.others), ranks(prefs.destitute_urban), ranks(prefs.destitute_rural)]
    )
    group = np.where(destitute, 1 + stratum, 0)
    return table[group]


def allowed_kinds(
    ranks: np.ndarray,
    destitute: np.ndarray,
    poor_fully: np.ndarray,
    income_month: np.ndarray,
    kind_fees: np.ndarray,
    params: ElderlyCareParams,
    year: int,
) -> np.ndarray:
    """The ranks, with -1 where the seeker can neither pay nor be paid for."""
    can_pay = float(params.affordability.at(year)) * income_month[:, None] >= kind_fees[None, :]
    subsidised = np.isin(np.array(KINDS), params.subsidised_kinds)[None, :] & poor_fully[:, None]
    ok = destitute[:, None] | can_pay | subsidised
    return np.where(ok, ranks, -1)


def _discharge(city: City, params: ElderlyCareParams, year: int, rng) -> np.ndarray:
    """Residents who are not destitute leave at the discharge rate, to a family household."""
    p = city.persons
    residents = np.flatnonzero((p.institution >= 0) & ~p.tekun)  # the draws read
    idx = residents[draws.for_rows(rng, residents) < float(params.discharge_rate.at(year))]
    leaving = np.zeros(len(p), dtype=bool)
    leaving[idx] = True
    hh_cell = cell_of(city.households)
    p_cell = cell_of(p)
    where = np.zeros(len(p))  # the household each goes to: a draw per person who leaves
    where[idx] = draws.for_rows(rng, idx)
    for cell in np.unique(p_cell[idx]):
        movers = idx[p_cell[idx] == cell]
        pool = np.flatnonzero(hh_cell == cell)
        if len(pool):
            pick = (where[movers] * len(pool)).astype(np.int64)
            p.set_rows("household", movers, pool[np.minimum(pick, len(pool) - 1)])
    p.institution[idx] = -1
    return leaving


def step(
    city: City,
    homes: list[CareHome],
    params: ElderlyCareParams,
    year: int,
    rng: np.random.Generator,
    scale: float,
    person_income_month: np.ndarray,
    poor: np.ndarray,
    destitute_first: np.ndarray,
    destitute_asking: np.ndarray,
    staffed: np.ndarray | None = None,
) -> CareYear:
    """One year of elderly care: discharges, demand, admissions, operating subsidies.

    ``person_income_month`` is each person's monthly income (their household's per
    capita); ``poor`` marks persons on dibao or with low income; ``destitute_first``
    the destitute persons the bureau places this year, ``destitute_asking`` the
    self-caring ones who ask for a place.  ``staffed`` (per area, simulated persons) is
    the most residents the care workers of each area can look after after admissions
    (:func:`staffing_room`, :func:`within_staffing`); None for no limit.
    """
    p = city.persons
    n = len(p)
    discharged = _discharge(city, params, year, rng)
    n_homes = len(homes)
    start = occupancy(p.institution, n_homes)
    free = np.maximum(places(homes, scale) - start, 0)
    room = None
    if staffed is not None:
        home_area = home_area_kind(homes)[0]
        room = staffing_room(staffed, np.bincount(home_area, start, minlength=len(staffed)))

    at_home = (p.institution < 0) & (p.age >= ELDER_AGE)
    was_waiting = np.flatnonzero(at_home & (p.waiting_since > 0))  # the draws read
    drops = draws.for_rows(rng, was_waiting) < float(params.seeking.waiting_dropout.at(year))
    waiting = np.zeros(n, dtype=bool)
    waiting[was_waiting[~drops]] = True
    p.waiting_since[was_waiting[drops]] = 0
    asking = np.flatnonzero(at_home & ~waiting)  # only they may seek anew
    new = np.zeros(n, dtype=bool)
    new[asking] = draws.for_rows(rng, asking) < demand_probability(
        city, homes, params, year, person_income_month, asking
    )
    seekers = waiting | new | destitute_first | destitute_asking

    idx = np.flatnonzero(seekers)
    poor_fully = poor[idx] & (p.adl[idx] == 2)
    priority = np.where(
        destitute_first[idx], FIRST, np.where(poor_fully | p.tekun[idx], POOR_OR_ASKING, OTHERS)
    )
    since = np.where(p.waiting_since[idx] > 0, p.waiting_since[idx], year)
    admitted = _admit(
        city,
        homes,
        idx,
        priority,
        since + draws.for_rows(rng, idx),  # ties broken at random, a draw per person
        free,
        params,
        year,
        person_income_month,
        poor,
        room,
    )
    still = seekers & ~admitted
    p.waiting_since[still & (p.waiting_since == 0)] = year

    end = occupancy(p.institution, n_homes)
    subsidy = np.array([h.subsidy_month for h in homes]) * 12.0 * (start + end) / 2.0
    return CareYear(seekers, admitted, still, discharged, subsidy)


def staffing_room(staffed_by_area: np.ndarray, residents_by_area: np.ndarray) -> np.ndarray:
    """How many each area may admit: ``max(floor(staffed) − residents now, 0)``.

    ``staffed_by_area`` is the most residents of each area after admissions that its care
    workers can look after (:func:`simlib.care_workforce.staffable_residents` × the scale:
    simulated persons); ``residents_by_area`` the residents after this year's discharges.
    A shortage never moves residents out: the room is never negative.
    """
    staffed = np.asarray(staffed_by_area, dtype=float)
    residents = np.asarray(residents_by_area, dtype=float)
    if staffed.shape != residents.shape:
        raise ValueError(f"staffed {staffed.shape} and residents {residents.shape} differ")
    if np.isnan(staffed).any() or (staffed < 0).any():
        raise ValueError(f"staffed residents must be 0 or more: {staffed}")
    return np.maximum(np.floor(staffed + 1e-9) - residents, 0.0)


def within_staffing(
    home: np.ndarray,
    seeker_area: np.ndarray,
    seeker_priority: np.ndarray,
    seeker_order: np.ndarray,
    room_by_area: np.ndarray,
) -> np.ndarray:
    """The admissions of :func:`simlib.institutions.admit` (``home``: -1 for none) cut to
    the staffing room of each area: the first ``room`` admitted of an area in the order
    seekers are served (priority, then order) keep their place, the later ones wait.

    Since a seeker is admitted in its own area and served in that order, this is the
    admission rule with the area's intake capped at its room (up to which home of the
    same area and kind an admitted person lands in, which is immaterial); where the room
    is not reached nothing changes.
    """
    home = np.asarray(home).copy()
    area = np.asarray(seeker_area, dtype=np.int64)
    room = np.asarray(room_by_area)
    served = np.lexsort((np.asarray(seeker_order), np.asarray(seeker_priority)))
    admitted = served[home[served] >= 0]
    for a in np.unique(area[admitted]):
        in_area = admitted[area[admitted] == a]
        home[in_area[int(room[a]) :]] = -1
    return home


def _admit(
    city: City,
    homes: list[CareHome],
    idx: np.ndarray,
    priority: np.ndarray,
    order: np.ndarray,
    free: np.ndarray,
    params: ElderlyCareParams,
    year: int,
    person_income_month: np.ndarray,
    poor: np.ndarray,
    room: np.ndarray | None = None,
) -> np.ndarray:
    """Admit the persons ``idx`` by the rule, within the staffing ``room`` of each area if
    given; move the admitted into their homes."""
    p = city.persons
    poor_fully = poor[idx] & (p.adl[idx] == 2)
    ranks = preference_ranks(p.stratum[idx], p.tekun[idx], params.preferences)
    ranks = allowed_kinds(
        ranks,
        p.tekun[idx],
        poor_fully,
        person_income_month[idx],
        _fees_by_kind(homes),
        params,
        year,
    )
    home = admit(p.area[idx], priority, order, ranks, *home_area_kind(homes), free)
    if room is not None:
        home = within_staffing(home, p.area[idx], priority, order, room)
    admitted = np.zeros(len(p), dtype=bool)
    admitted[idx[home >= 0]] = True
    p.institution[idx[home >= 0]] = home[home >= 0].astype(np.int16)
    p.set_rows("household", admitted, -1)
    p.waiting_since[admitted] = 0
    return admitted


def fill_at_start(
    city: City,
    homes: list[CareHome],
    params: ElderlyCareParams,
    year: int,
    rng: np.random.Generator,
    scale: float,
    person_income_month: np.ndarray,
    poor: np.ndarray,
    destitute_first: np.ndarray,
) -> None:
    """The residents at the end of the base year.

    Every home is filled to ``initial_occupancy`` of its places by the admission rule:
    destitute persons who cannot care for themselves first, then elders in
    collective quarters (where the census counts care-home residents), then elders
    at home drawn in proportion to their probability of seeking a bed.
    """
    p = city.persons
    old = p.age >= ELDER_AGE
    capacity = places(homes, scale)
    free = np.floor(capacity * float(params.initial_occupancy.at(year))).astype(np.int64)
    target = free.sum()
    in_family = p.household >= 0
    prob = demand_probability(city, homes, params, year, person_income_month)
    race = rng.exponential(size=len(p)) / np.maximum(prob, 1e-12)  # weighted draw order
    collective = old & ~in_family
    priority = np.where(destitute_first, FIRST, np.where(collective, POOR_OR_ASKING, OTHERS))
    at_home = np.flatnonzero(old & in_family & ~destitute_first)
    drawn = at_home[np.argsort(race[at_home])[: 3 * int(target) + 1]]
    idx = np.concatenate([np.flatnonzero((destitute_first | collective) & old), drawn])
    _admit(
        city, homes, idx, priority[idx], race[idx], free, params, year, person_income_month, poor
    )


def _fees_by_kind(homes: list[CareHome]) -> np.ndarray:
    """The monthly fee of each kind (the mean over its homes; 0 where there is none)."""
    fees = np.zeros(len(KINDS))
    for i, kind in enumerate(KINDS):
        of_kind = [h.fee_month for h in homes if h.kind == kind]
        fees[i] = float(np.mean(of_kind)) if of_kind else 0.0
    return fees
