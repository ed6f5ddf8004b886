"""Sums per area × stratum cell: how persons, households and care homes are counted.

Persons are counted in the cell they belong to, households in theirs, and homes (their
beds, residents and the money paid to them) in the cell of the home.  Every table the
model records and every input of the plan's services (:mod:`simlib.services`) is made of
such sums, on the simulated city (multiply by ``City.weight`` for the whole city).
"""

from __future__ import annotations

import numpy as np

from simlib.institutions import CareHome
from simlib.population import STRATA, City, cell_of
from simlib.standards import Stratified


class Cells:
    """Sums per area × stratum cell of the city's persons, households and homes."""

    def __init__(self, city: City, homes: list[CareHome]) -> None:
        self.n_areas = len(city.area_codes)
        self.shape = (self.n_areas, len(STRATA))
        self.size = self.n_areas * len(STRATA)
        self.person = cell_of(city.persons)
        self.household = cell_of(city.households)
        self.home = np.array([hm.area * len(STRATA) + hm.stratum for hm in homes], dtype=np.int64)

    def _sum(self, cell: np.ndarray, values) -> np.ndarray:
        values = np.asarray(values)
        if values.dtype == bool:  # a count: cheaper to select than to weight
            counts = np.bincount(cell[values], minlength=self.size)
        else:
            counts = np.bincount(cell, weights=values.astype(float), minlength=self.size)
        return counts.reshape(self.shape).astype(float)

    def persons(self, values) -> np.ndarray:
        return self._sum(self.person, values)

    def households(self, values) -> np.ndarray:
        return self._sum(self.household, values)

    def homes(self, values) -> np.ndarray:
        return self._sum(self.home, values)

    def by_stratum(self, pair: Stratified | np.ndarray) -> np.ndarray:
        values = np.array([pair.urban, pair.rural]) if isinstance(pair, Stratified) else pair
        return np.ones(self.shape) * np.asarray(values, dtype=float)

    def residents_by_care_level(self, institution: np.ndarray, adl: np.ndarray) -> np.ndarray:
        """Residents of the homes by the home's cell and their care level (0 self-caring,
        1 partly, 2 fully dependent): shape (areas, strata, 3)."""
        placed = institution >= 0
        index = self.home[institution[placed]] * 3 + adl[placed].astype(np.int64)
        counts = np.bincount(index, minlength=self.size * 3)
        return counts.reshape((*self.shape, 3)).astype(float)
