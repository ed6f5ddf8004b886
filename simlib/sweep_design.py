"""Designs of a sensitivity sweep (灵敏度分析的试验设计): the points at which the model is run.

A sweep varies ``k`` parameters, each between a ``low`` and a ``high`` bound (a value, or
a multiplier of the scenario's value: the design does not care which).  The ``design:``
block of a sweep file names one of four designs, each an array of ``n`` points × ``k``
parameter values:

``grid``
    the full factorial: ``levels`` evenly spaced values from low to high for every
    parameter, every combination (``levels ** k`` points, the first parameter varying
    slowest).  Easy to read; grows fast.
``latin_hypercube``
    ``samples`` points from ``scipy.stats.qmc.LatinHypercube`` (McKay, Beckman and
    Conover 1979): each parameter's range is cut into ``samples`` equal strata and each
    stratum is used exactly once, the strata of different parameters paired at random;
    scaled to the bounds with ``qmc.scale``.  Indices: regression coefficients
    (:mod:`simlib.sensitivity`).
``morris``
    ``SALib.sample.morris``: ``trajectories`` random one-at-a-time paths on a grid of
    ``levels`` levels, each path moving every parameter once by the same step
    (Morris 1991; Campolongo, Cariboni and Saltelli 2007): ``trajectories × (k + 1)``
    points.  Screening: which parameters matter, with few runs.
``sobol``
    ``SALib.sample.sobol``: Saltelli's scheme on a scrambled Sobol' sequence
    (Saltelli 2002; Saltelli et al. 2010), ``base_samples × (k + 2)`` points for first
    and total-order indices (``× (2k + 2)`` with ``second_order``).  ``base_samples``
    must be a power of two (the balance of the Sobol' sequence).

Every design is reproducible: the random ones take their own ``seed`` (the design's,
not the model's).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from pydantic import Field, field_validator, model_validator

from simlib.facts import Strict

MAX_POINTS = 20_000
"""No design is allowed more points than this (a typing slip in ``levels`` or ``samples``)."""


def salib_problem(names: Sequence[str], lows: Sequence[float], highs: Sequence[float]) -> dict:
    """The problem description SALib's samplers and analysers take."""
    return {
        "num_vars": len(names),
        "names": list(names),
        "bounds": [[float(lo), float(hi)] for lo, hi in zip(lows, highs, strict=True)],
    }


class GridDesign(Strict):
    """Full factorial: ``levels`` values per parameter, every combination."""

    levels: int = Field(3, ge=2, le=50)

    def size(self, k: int) -> int:
        return self.levels**k

    def sample(self, names: Sequence[str], lows: np.ndarray, highs: np.ndarray) -> np.ndarray:
        axes = [np.linspace(lo, hi, self.levels) for lo, hi in zip(lows, highs, strict=True)]
        return np.array(list(itertools.product(*axes)), dtype=float).reshape(-1, len(names))


class LatinHypercubeDesign(Strict):
    """``samples`` points of a Latin hypercube (scipy.stats.qmc)."""

    samples: int = Field(ge=2, le=MAX_POINTS)
    seed: int = Field(1, ge=0)

    def size(self, k: int) -> int:
        return self.samples

    def sample(self, names: Sequence[str], lows: np.ndarray, highs: np.ndarray) -> np.ndarray:
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(names), rng=np.random.default_rng(self.seed))
        return qmc.scale(unit.random(self.samples), lows, highs)


class MorrisDesign(Strict):
    """Morris trajectories (SALib)."""

    trajectories: int = Field(ge=2, le=1000)
    levels: int = Field(4, ge=2, le=20)
    seed: int = Field(1, ge=0)

    @field_validator("levels")
    @classmethod
    def _even(cls, levels: int) -> int:
        if levels % 2:
            raise ValueError("Morris levels must be even (the step is levels / (2 (levels - 1)))")
        return levels

    def size(self, k: int) -> int:
        return self.trajectories * (k + 1)

    def sample(self, names: Sequence[str], lows: np.ndarray, highs: np.ndarray) -> np.ndarray:
        from SALib.sample import morris

        problem = salib_problem(names, lows, highs)
        return morris.sample(problem, self.trajectories, num_levels=self.levels, seed=self.seed)


class SobolDesign(Strict):
    """Saltelli's sampling for Sobol' indices (SALib)."""

    base_samples: int = Field(ge=2, le=MAX_POINTS)
    second_order: bool = False
    seed: int = Field(1, ge=0)

    @field_validator("base_samples")
    @classmethod
    def _power_of_two(cls, n: int) -> int:
        if n & (n - 1):
            raise ValueError(f"base_samples must be a power of two (8, 16, 32, ...), not {n}")
        return n

    def size(self, k: int) -> int:
        return self.base_samples * (2 * k + 2 if self.second_order else k + 2)

    def sample(self, names: Sequence[str], lows: np.ndarray, highs: np.ndarray) -> np.ndarray:
        from SALib.sample import sobol

        problem = salib_problem(names, lows, highs)
        return sobol.sample(
            problem, self.base_samples, calc_second_order=self.second_order, seed=self.seed
        )


DesignSpec = GridDesign | LatinHypercubeDesign | MorrisDesign | SobolDesign
METHODS = ("grid", "latin_hypercube", "morris", "sobol")


class Design(Strict):
    """The ``design:`` block: exactly one of the four designs, by its name."""

    grid: GridDesign | None = None
    latin_hypercube: LatinHypercubeDesign | None = None
    morris: MorrisDesign | None = None
    sobol: SobolDesign | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Design:
        given = [m for m in METHODS if getattr(self, m) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one design ({', '.join(METHODS)}); got "
                f"{', '.join(given) if given else 'none'}"
            )
        return self

    @property
    def method(self) -> str:
        return next(m for m in METHODS if getattr(self, m) is not None)

    @property
    def spec(self) -> DesignSpec:
        return getattr(self, self.method)

    def size(self, k: int) -> int:
        return self.spec.size(k)

    def sample(self, names: Sequence[str], lows: Sequence[float], highs: Sequence[float]):
        """The design: an array of points × parameters, within the bounds."""
        lo, hi = np.asarray(lows, dtype=float), np.asarray(highs, dtype=float)
        return np.asarray(self.spec.sample(names, lo, hi), dtype=float)
