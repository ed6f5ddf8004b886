"""What the model records each year: raw quantities per area × stratum cell.

Persons are counted in the cell they belong to, households in theirs, and beds,
occupancy and the money paid to institutions in the cell of the institution (so
that occupied beds never exceed beds in any cell).  Counts of simulated persons
and the money paid to them are multiplied by the city's weight (1 / scale); beds
and construction spending are real figures already.  The published metrics are
made from these by :mod:`simlib.metrics`.

Money goes through the ledger: :func:`spending_by_cell` gives each programme's
payments per cell, the model books them to the funders (:func:`simlib.ledger.book`),
and :func:`record` takes every spending quantity from the booked ledger, so that
the programmes' spending always adds up to ``relief_spending_total``.  Real values
divide by the CPI level of the year relative to the base year; the general budget
revenue of the city is apportioned to the cells by population (the county budgets
are not modelled), so an area's ``relief_share_of_revenue`` is its spending against
its population share of the city's revenue.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simlib.allowances import AllowancesYear
from simlib.cells import Cells
from simlib.dibao import DibaoYear
from simlib.elderly_care import CareYear
from simlib.institutions import CareHome, beds_by_cell, occupancy
from simlib.ledger import PROGRAMMES, spending_quantities
from simlib.medical_assistance import MedicalYear
from simlib.plan_services import ServicesYear
from simlib.population import City
from simlib.standards import StandardDecision, Stratified
from simlib.tekun import TekunYear
from simlib.temporary_assistance import TemporaryYear


@dataclass
class YearOutcome:
    """Everything the year's stages produced that the records need."""

    decision: StandardDecision | None  # None in the base year
    dibao: DibaoYear
    household_subsidy: np.ndarray  # price subsidy per household (yuan, simulated)
    tekun: TekunYear
    person_subsidy: np.ndarray  # price subsidy per person (destitute persons)
    care: CareYear
    construction: np.ndarray  # construction spending per area × stratum (yuan, real)
    medical: MedicalYear
    temporary: TemporaryYear
    allowances: AllowancesYear
    services: ServicesYear  # social work, care workers, community care, disaster relief


def spending_by_cell(city: City, homes: list[CareHome], year: YearOutcome) -> dict[str, np.ndarray]:
    """Each programme's payments of the year per area × stratum (yuan, whole city)."""
    c = Cells(city, homes)
    m, a = year.medical, year.allowances
    simulated = {
        "dibao": c.households(year.dibao.spending),
        "price_subsidy": c.households(year.household_subsidy) + c.persons(year.person_subsidy),
        "tekun": c.persons(year.tekun.spending),
        "medical_assistance": c.persons(m.spending),
        "temporary_assistance": c.households(year.temporary.spending),
        **{name: c.persons(paid) for name, paid in a.spending.items()},
        "care_subsidy": c.homes(year.care.subsidy_spending),
    }
    spending = {k: v * city.weight for k, v in simulated.items()}
    spending["bed_construction"] = np.asarray(year.construction, dtype=float)
    spending |= year.services.spending  # whole-city figures already
    unknown = set(spending) - set(PROGRAMMES)
    if unknown:
        raise KeyError(f"payments of programmes the ledger does not know: {sorted(unknown)}")
    return spending


def record(
    city: City,
    homes: list[CareHome],
    year: YearOutcome,
    booked: np.ndarray,
    deflator: float,
    revenue: float,
) -> dict[str, np.ndarray]:
    """This year's raw quantities per area × stratum, for the whole city.

    ``booked`` is the year's ledger (programme × funder × area × stratum), ``deflator``
    the CPI level of the year relative to the base year, ``revenue`` the city's
    general public budget revenue (yuan).
    """
    if year.decision is None:
        raise ValueError("a simulated year needs the bureau's standard decision")
    c = Cells(city, homes)
    p, h = city.persons, city.households
    members = city.members()
    d, t, care = year.dibao, year.tekun, year.care
    elders = np.flatnonzero(p.age >= 60)  # counted several ways: among themselves
    elder_age, elder_adl = p.age[elders], p.adl[elders]
    supported = np.flatnonzero(t.supported)
    placed, adl = p.institution[supported] >= 0, p.adl[supported]
    weighted = {
        "population": c.persons_among(slice(None)),
        "households": c.households(members > 0),
        "elderly_60p": c.persons_among(elders),
        "elderly_65p": c.persons_among(elders, elder_age >= 65),
        "elderly_80p": c.persons_among(elders, elder_age >= 80),
        "dibao_persons": c.households(np.where(d.recipients, d.members, 0)),
        "dibao_households": c.households(d.recipients),
        "dibao_regular_households": c.households(d.recipients & (h.dibao_exit_left == 0)),
        "dibao_wrongly_included": c.households(d.wrongly_included),
        "dibao_eligible_households": c.households(d.eligible),
        "dibao_eligible_left_out": c.households(d.eligible & ~d.recipients),
        "dibao_entries": c.households(d.entries),
        "dibao_exits": c.households(d.exits),
        "tekun_persons": c.persons_among(supported),
        "tekun_concentrated": c.persons_among(supported, placed),
        "tekun_scattered": c.persons_among(supported, ~placed),
        "tekun_not_selfcaring_unplaced": c.persons_among(supported, (adl >= 1) & ~placed),
        "dependent_elders": c.persons_among(elders, elder_adl >= 1),
        "dependent_partly": c.persons_among(elders, elder_adl == 1),
        "dependent_fully": c.persons_among(elders, elder_adl == 2),
        "bed_seekers": c.persons(care.seekers),
        "waiting_list": c.persons(care.waiting),
        "beds_occupied": c.homes(occupancy(p.institution, len(homes))),
        "medical_assist_person_times": c.persons(year.medical.person_times),
        "medical_assist_major_person_times": c.persons(year.medical.major_person_times),
        "medical_assist_persons": c.persons(year.medical.direct | year.medical.major),
        "medical_assist_premium_persons": c.persons(year.medical.premium),
        "temp_assist_cases": c.households(year.temporary.cases),
        **{
            PROGRAMMES[name].persons_metric: c.persons(eligible)
            for name, eligible in year.allowances.persons.items()
        },
    }
    raw = {k: v * city.weight for k, v in weighted.items()}
    beds, nursing = beds_by_cell(homes, c.n_areas)
    raw |= {
        "beds": np.asarray(beds, dtype=float),
        "nursing_beds": np.asarray(nursing, dtype=float),
        "dibao_standard_month": c.by_stratum(year.decision.new),
        "dibao_standard_mean_month": c.by_stratum(year.decision.annual_mean),
        "dibao_standard_to_poverty_line": c.by_stratum(
            _per_year(year.decision.new) / max(year.decision.poverty_line, 1e-9)
        ),
        "price_subsidy_months": c.by_stratum(np.full(2, float(year.decision.subsidy_months))),
        "tekun_basic_standard_month": c.by_stratum(t.basic_standard),
    }
    raw |= year.services.raw  # whole-city figures already
    return raw | spending_quantities(booked, deflator, revenue, raw["population"])


def _per_year(monthly: Stratified) -> np.ndarray:
    return 12.0 * np.array([monthly.urban, monthly.rural])
