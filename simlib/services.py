"""What the plan's services read from the city each year (issue 8).

The social-work workforce, the care workers, the community care facilities and the
disaster-relief reserve are modelled per area × stratum cell, not per person: they
follow the city (its population, elders, assistance recipients and occupied beds)
and do not change it, except that a shortage of care workers limits how many
beds can be staffed (:mod:`simlib.care_workforce`).  ``ServiceInputs`` is that
reading of the city, in whole-city figures (already weighted by 1 / scale).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simlib.cells import Cells
from simlib.institutions import CareHome, beds_by_cell
from simlib.population import City


@dataclass(frozen=True)
class ServiceInputs:
    """This year's city, per area × stratum cell (shape (areas, 2): urban, rural)."""

    population: np.ndarray
    households: np.ndarray
    elderly_60p: np.ndarray
    assistance_recipients: np.ndarray  # dibao persons + destitute persons
    residents_by_care_level: np.ndarray  # (areas, 2, 3): self-caring, partly, fully dependent
    beds: np.ndarray
    budget_revenue: float  # the city's general public budget revenue, yuan
    cpi_level: float  # CPI relative to the base year (nominal = base-year yuan × cpi_level)


def read_city(
    city: City,
    homes: list[CareHome],
    dibao_persons: np.ndarray,
    tekun_persons: np.ndarray,
    budget_revenue: float,
    cpi_level: float,
) -> ServiceInputs:
    """The city as the services see it this year, in whole-city figures.

    ``dibao_persons`` is per household the persons on dibao (0 if none), ``tekun_persons``
    per person whether the person is supported as destitute.
    """
    c, w = Cells(city, homes), city.weight
    p = city.persons
    beds, _ = beds_by_cell(homes, c.n_areas)
    return ServiceInputs(
        population=c.persons(np.ones(len(p), dtype=bool)) * w,
        households=c.households(city.members() > 0) * w,
        elderly_60p=c.persons(p.age >= 60) * w,
        assistance_recipients=(c.households(dibao_persons) + c.persons(tekun_persons)) * w,
        residents_by_care_level=c.residents_by_care_level(p.institution, p.adl) * w,
        beds=np.asarray(beds, dtype=float),
        budget_revenue=float(budget_revenue),
        cpi_level=float(cpi_level),
    )
