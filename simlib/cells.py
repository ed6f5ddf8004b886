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
        self._tables = {id(self.person): city.persons, id(self.household): city.households}

    def _everyone(self, cell: np.ndarray) -> np.ndarray:
        """The count of all rows per cell (kept by the table until its cells change)."""
        return self._tables[id(cell)].derived(
            "cell_counts",
            ("area", "stratum"),
            lambda: np.bincount(cell, minlength=self.size),
            key=self.size,
        )

    def _sum(self, cell: np.ndarray, values) -> np.ndarray:
        values = np.asarray(values)
        n, size = len(values), self.size
        many = np.count_nonzero(values) if values.dtype == bool else -1
        if 0 <= many < n // 20:  # a count of few: select them
            counts = np.bincount(cell[values], minlength=size)
        elif many > n - n // 20:  # a count of nearly all: all but the few others
            counts = self._everyone(cell) - np.bincount(cell[~values], minlength=size)
        else:  # a sum (a count as a sum of ones: the same number)
            counts = _sum_by_cell(cell, np.asarray(values, dtype=float), size)
        return counts.reshape(self.shape).astype(float)

    def persons(self, values) -> np.ndarray:
        return self._sum(self.person, values)

    def persons_among(
        self, index: np.ndarray | slice, where: np.ndarray | None = None
    ) -> np.ndarray:
        """The count of the persons ``index`` (indices, or a slice), or of those of them
        where ``where`` is true: ``persons(mask)`` for the mask of those persons, cheaper
        when a few persons (the elders, the destitute) are counted several ways."""
        if where is None and isinstance(index, slice) and index == slice(None):
            return self._everyone(self.person).reshape(self.shape).astype(float)
        chosen = self.person[index] if where is None else self.person[index][where]
        return np.bincount(chosen, minlength=self.size).reshape(self.shape).astype(float)

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


def _sum_by_cell(cell: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """``bincount(cell, weights=values)``: each cell's values added in row order.  Most
    payments are zero for most persons: when the non-zero values are few, only they are
    added (the same sums: adding 0.0 changes nothing), which is faster."""
    paid = np.flatnonzero(values != 0)  # (faster than on the values themselves)
    if len(paid) < len(values) // 20:
        return np.bincount(cell[paid], weights=values[paid], minlength=size)
    return np.bincount(cell, weights=values, minlength=size)
