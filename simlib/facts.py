"""Parameter values that carry their unit and provenance.

Every number in a scenario file that is a fact about the world is written as a
*fact*: a mapping with the value, its ``unit``, and either a ``source`` (where the
figure was published) or an ``assumption`` (why the modeller chose it).  A value
that changes over time is written as dated values; the last one holds until the
next (DESIGN §5)::

    take_up_max:
      value: 0.42
      unit: share
      assumption: calibrated to 2018 dibao persons (docs/calibration.md)

    verification_strength:
      values: {2015: 0.5, 2018: 0.7}
      unit: share
      assumption: the household-verification mechanism (核对机制) is built up 2016-2018

Years before the first dated value take the first value.  This follows the
OpenFisca habit of keeping a parameter's value, unit and reference side by side.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator


def _not_true_or_false(value: object) -> object:
    """Pydantic reads true as 1 and false as 0 where a number is due: refuse them."""
    if isinstance(value, bool):
        raise ValueError(f"a number is due, not {str(value).lower()}")
    return value


_Number = BeforeValidator(_not_true_or_false)
Share = Annotated[float, _Number, Field(ge=0.0, le=1.0)]
"""A share or probability, 0-1."""
NonNegative = Annotated[float, _Number, Field(ge=0.0)]
Positive = Annotated[float, _Number, Field(gt=0.0)]
Rate = Annotated[float, _Number, Field(ge=-1.0, le=10.0)]
"""A yearly growth or inflation rate as a fraction (0.02 = 2%); above -100%."""
Month = Annotated[int, _Number, Field(ge=1, le=12)]
Year = Annotated[int, _Number, Field(ge=1900, le=2200)]


class Strict(BaseModel):
    """Base for every block of a scenario file: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Fact[T](Strict):
    """A value (or dated values) with its unit and its source or assumption."""

    value: T | None = None
    values: dict[Year, T] | None = None
    unit: str = Field(min_length=1)
    source: str | None = None
    assumption: str | None = None
    note: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _a_value_is_not_true_or_false(cls, data: object) -> object:
        """A fact is a number (or numbers): true or false is a mistake, not 1 or 0."""
        if isinstance(data, dict):
            values = data.get("values")
            dated = values.values() if isinstance(values, dict) else ()
            if any(isinstance(v, bool) for v in (data.get("value"), *dated)):
                raise ValueError("a fact's value is a number, not true or false")
        return data

    @model_validator(mode="after")
    def _one_value_and_a_provenance(self) -> Fact:
        if (self.value is None) == (self.values is None):
            raise ValueError("give exactly one of `value` or `values` (dated values)")
        if self.values is not None and not self.values:
            raise ValueError("`values` is empty: give at least one dated value")
        if not (self.source or self.assumption):
            raise ValueError("a fact needs a `source`, or an `assumption` saying it is one")
        return self

    @property
    def is_dated(self) -> bool:
        return self.values is not None

    def at(self, year: int) -> T:
        """The value in force in ``year``: the last dated value at or before it."""
        if self.values is None:
            return self.value  # type: ignore[return-value]
        years = sorted(self.values)
        chosen = years[0]
        for y in years:
            if y <= year:
                chosen = y
        return self.values[chosen]

    def path(self, years: range | list[int]) -> np.ndarray:
        """The values in force over ``years`` as a float array."""
        return np.array([float(self.at(y)) for y in years])  # type: ignore[arg-type]


def interpolated(points: dict[int, float], year: int) -> float:
    """Linear interpolation between dated points, held flat outside them.

    Used where a dated series describes a level that moves smoothly between
    observations (for example a consumption-to-income ratio), as opposed to
    a rule that changes on a date.
    """
    years = sorted(points)
    if year <= years[0]:
        return float(points[years[0]])
    if year >= years[-1]:
        return float(points[years[-1]])
    return float(np.interp(year, years, [points[y] for y in years]))


class ByStratum[T](Strict):
    """A fact given separately for the urban (城镇) and the rural (农村) part of the city."""

    urban: Fact[T]
    rural: Fact[T]

    def at(self, stratum: int, year: int) -> T:
        """The value for stratum 0 (urban) or 1 (rural) in ``year``."""
        return (self.urban, self.rural)[stratum].at(year)

    def pair(self, year: int) -> np.ndarray:
        """Urban and rural values in ``year`` as an array indexed by stratum."""
        return np.array([float(self.urban.at(year)), float(self.rural.at(year))])  # type: ignore[arg-type]
