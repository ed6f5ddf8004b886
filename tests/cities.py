"""Small cities built by hand for the programme tests: persons and households as columns."""

from __future__ import annotations

import numpy as np

from simlib.columns import Columns
from simlib.population import City


def hand_city(
    age,
    household,
    n_households: int,
    *,
    disability=None,
    adl=None,
    stratum=None,
) -> City:
    """One area (``a``); persons with ``age`` and ``household`` (-1: outside families),
    ``disability`` (0-4) and ``adl`` (0-2) if given, else 0; households of ``stratum`` (0
    urban, the default, or 1 rural) with no other column.  Weight 1, year 2016."""
    age = np.asarray(age)
    m = len(age)

    def column(values, dtype):
        return np.zeros(m, dtype) if values is None else np.asarray(values).astype(dtype)

    persons = Columns(
        age=age.astype(np.int16),
        sex=np.zeros(m, np.int8),
        area=np.zeros(m, np.int8),
        stratum=np.zeros(m, np.int8),
        household=np.asarray(household).astype(np.int32),
        disability=column(disability, np.int8),
    )
    persons.add("adl", column(adl, np.int8))
    strata = np.zeros(n_households, np.int8) if stratum is None else np.asarray(stratum, np.int8)
    households = Columns(area=np.zeros(n_households, np.int8), stratum=strata)
    return City(("a",), persons, households, weight=1.0, year=2016)
