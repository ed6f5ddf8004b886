"""The economic drivers of the model, year by year, with where each value comes from.

DESIGN §2 step 1 and §6: each year the model reads per-capita disposable income
(居民人均可支配收入) and consumption expenditure (居民人均消费支出), urban and rural,
consumer prices (居民消费价格指数, all items and food), a necessities price index,
general public budget revenue (一般公共预算收入) and the national rural poverty line
(扶贫标准, the floor of the rural dibao standard, 两线合一).  Money is nominal yuan
per year; price changes are fractions year on year (0.02 = 2%).

The ``economy:`` block of a scenario file says where each path comes from, by one
of five methods:

``indexed_level``
    a level that passes through every *anchor* figure in the history files and moves
    between and beyond them with the growth of an *index* series (gaps in the index
    filled geometrically).  Where the index has no history, a dated ``growth``
    assumption: before it as a back-cast, after it as the projection.  Between two
    anchors the gap between the anchor and the index path is spread geometrically
    (log-linear), so the path meets each anchor exactly.
``observed_rate``
    a yearly rate from the first of several ``sources`` that has the year (the
    city's own figure before the national one), a dated ``rate`` assumption where
    none has it.
``ratio_to``
    another driver times a ratio of two history series (consumption = income × the
    consumption-to-income ratio of Sichuan), interpolated linearly between the years
    both are known and held at the nearest one outside them.
``blend``
    a weighted sum of rate drivers (the necessities price index).
``price_indexed``
    a value fixed at the prices of a base year, carried by a rate driver (the poverty
    line carried by the CPI).

A scenario changes a driver with two small keys, applied after the baseline path:
``override`` (dated values: from its first date on, the growth of a level or the
value of a rate; ``null`` returns to the baseline from that date) and ``path``
(the driver's values outright from the first date on).  Drivers built on another
one (consumption, necessities, the poverty line) follow a change to it.

Years after the history of a driver come from one function, the *projection*
(``build_drivers(..., project=...)``).  The ``economy.forecast`` block chooses it:

``method: assumed`` (the default)
    the scenario's dated assumption (``growth`` of a level, ``rate`` of a rate):
    :func:`assumed_projection`.
``method: statsmodels``
    a forecast (:mod:`simlib.forecast`: ETS or ARIMA chosen out of sample, or a random
    walk for a short series) fitted to the driver's observed history as the seam gives
    it: a rate driver's observed rates as a rate series; a level driver's observed index
    growth rebuilt into a log level (1 in the year before the first growth) as a level
    series.  Provenance: ``forecast (<model>)``.  ``paths: mean`` uses the forecast's mean
    path in every replicate; ``paths: sampled`` gives each replicate its own path drawn
    from the forecast, from a stream derived from the replicate's seed
    (:func:`economy_seed`), one sub-stream per driver, so a replicate's paths do not
    depend on the other replicates, on how they are scheduled, or on which other drivers
    are forecast.  A driver in ``centre_from_assumption`` keeps the assumption as its
    central path and takes only the forecast's spread: the growth (rate) of its path is
    the assumed one plus the drawn path's deviation from the forecast's mean.  The
    drivers' paths are drawn independently of each other (the CPI and the food CPI, urban
    and rural income): their co-movement is not modelled.
    A driver with no observed growth (budget revenue: one year, 2023) keeps its
    assumption; ``spread_without_history``, if given, adds an assumed iid spread of its
    log growth (rate: of the rate) around it, else it has none and its provenance says so.

Drivers built on others (consumption, necessities, the poverty line) are not forecast:
they follow the forecast of what they are built on.  A scenario's ``override`` and
``path`` are applied after the projection and win over it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from simlib import forecast, history
from simlib.facts import Fact, NonNegative, Positive, Rate, Share, Strict, Year

DRIVER_NAMES = (
    "dispinc_pc_urban",
    "dispinc_pc_rural",
    "cons_pc_urban",
    "cons_pc_rural",
    "cpi",
    "cpi_food",
    "necessities",
    "budget_revenue",
    "poverty_line",
)
"""The drivers the model reads; a scenario's ``economy.drivers`` must define each."""

RATE_UNIT = "rate"


class EconomyError(ValueError):
    """The history files cannot give what the ``economy:`` block asks of them."""


# --- the `economy:` block -------------------------------------------------------------


class SeriesRef(Strict):
    """A series in the history files: an indicator of an area."""

    indicator: str = Field(min_length=1)
    area: str = Field(default=history.NATIONAL, min_length=1)

    def __str__(self) -> str:
        return f"{self.indicator} [{self.area}]"


class RatioRef(Strict):
    """The ratio of two indicators of one area, in the years both are known."""

    numerator: str = Field(min_length=1)
    denominator: str = Field(min_length=1)
    area: str = Field(default=history.NATIONAL, min_length=1)


_METHOD_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # method: (keys it needs, keys it may have)
    "indexed_level": (("anchor", "growth"), ("index",)),
    "observed_rate": (("sources", "rate"), ()),
    "ratio_to": (("base", "ratio"), ()),
    "blend": (("weights",), ()),
    "price_indexed": (("base_year", "base_value", "price"), ()),
}
_METHOD_KEYS = {key for need, may in _METHOD_FIELDS.values() for key in (*need, *may)}
_RATE_METHODS = ("observed_rate", "blend")


class DriverSpec(Strict):
    """Where one driver's path comes from: a ``method`` and the keys that method reads.

    One flat block rather than a union of blocks, so that a wrong key is reported at
    its own path in the scenario file.
    """

    method: Literal["indexed_level", "observed_rate", "ratio_to", "blend", "price_indexed"]
    anchor: SeriesRef | None = None
    """indexed_level: the levels the path passes through."""
    index: SeriesRef | None = None
    """indexed_level: the series whose growth moves the path between and beyond anchors."""
    growth: Fact[Rate] | None = None
    """indexed_level: the growth where the index has no history (back-cast, projection)."""
    sources: list[SeriesRef] | None = Field(default=None, min_length=1)
    """observed_rate: the series of the rate, the first that has a year wins."""
    rate: Fact[Rate] | None = None
    """observed_rate: the rate where no source has the year."""
    base: str | None = None
    """ratio_to: the driver multiplied by the ratio."""
    ratio: RatioRef | None = None
    """ratio_to: the ratio, from history."""
    weights: dict[str, Fact[Share]] | None = Field(default=None, min_length=1)
    """blend: the rate drivers blended and their weights (summing to 1)."""
    base_year: Year | None = None
    """price_indexed: the year whose prices ``base_value`` is at."""
    base_value: Fact[Positive] | None = None
    """price_indexed: the value at ``base_year`` prices."""
    price: str | None = None
    """price_indexed: the rate driver that carries the value to other years."""
    override: Fact[Rate | None] | None = None
    """Scenario: from its first date on, the growth (level) or the value (rate); null = baseline."""
    path: Fact[float] | None = None
    """Scenario: the driver's values outright from the first date on (all years if undated)."""

    @model_validator(mode="after")
    def _keys_of_the_method(self) -> DriverSpec:
        need, may = _METHOD_FIELDS[self.method]
        for key in need:
            if getattr(self, key) is None:
                raise ValueError(f"method {self.method} needs `{key}`")
        for key in sorted(_METHOD_KEYS - {*need, *may}):
            if getattr(self, key) is not None:
                raise ValueError(f"`{key}` is not read by method {self.method}")
        if self.override is not None and not self.override.is_dated:
            raise ValueError("`override` takes dated values: the year it starts from")
        if self.weights is not None:
            weights = self.weights.values()
            for year in sorted({y for w in weights for y in (w.values or {})} or {0}):
                total = sum(float(w.at(year)) for w in weights)
                if abs(total - 1.0) > 1e-9:
                    raise ValueError(f"the weights sum to {total:g} in {year}, not 1")
        return self

    @property
    def is_rate(self) -> bool:
        """Whether the driver is a yearly rate (fraction y/y) rather than a level."""
        return self.method in _RATE_METHODS

    def references(self) -> list[tuple[str, bool]]:
        """The drivers this one is built on, each with whether it must be a rate."""
        if self.method == "ratio_to":
            return [(self.base, False)]  # type: ignore[list-item]
        if self.method == "blend":
            return [(name, True) for name in self.weights or {}]
        if self.method == "price_indexed":
            return [(self.price, True)]  # type: ignore[list-item]
        return []


_PROJECTED_METHODS = ("indexed_level", "observed_rate")
"""The methods whose years after the history come from the projection."""


class ForecastParams(Strict):
    """``economy.forecast``: where the years after each driver's history come from."""

    method: Literal["assumed", "statsmodels"] = "assumed"
    """assumed: the scenario's dated assumptions; statsmodels: forecasts (simlib.forecast)."""
    paths: Literal["mean", "sampled"] = "mean"
    """mean: the forecast's mean path in every replicate; sampled: a path per replicate."""
    centre_from_assumption: list[str] = Field(default_factory=list)
    """Drivers whose central path stays the scenario's assumption: the forecast gives only
    their spread (a drawn path's deviation from the forecast's mean)."""
    drivers: list[str] | None = None
    """The drivers forecast; none = every driver projected (indexed_level, observed_rate)."""
    min_obs: int = Field(default=forecast.MIN_OBS, ge=forecast.MIN_TRAIN + 1)
    """Fewer observations than this: the simple fallback model (simlib.forecast)."""
    holdout: int = Field(default=forecast.HOLDOUT, ge=1)
    """Years held out for the rolling-origin choice between candidate models."""
    spread_without_history: Fact[NonNegative] | None = None
    """sd of the yearly log growth (rate: of the rate) added around the assumed path of a
    driver with no observed history to fit; none: no spread."""

    @model_validator(mode="after")
    def _room_to_choose(self) -> ForecastParams:
        if self.min_obs < self.holdout + forecast.MIN_TRAIN:
            raise ValueError(
                f"min_obs ({self.min_obs}) must be at least holdout ({self.holdout}) + "
                f"{forecast.MIN_TRAIN}: the earliest rolling-origin fit needs "
                f"{forecast.MIN_TRAIN} years"
            )
        return self


class EconomyParams(Strict):
    """The ``economy:`` block: the history files and the specification of each driver.

    ``history_files`` are made absolute by the scenario loader (relative to the YAML file).
    """

    history_files: list[str] = Field(min_length=1)
    drivers: dict[str, DriverSpec]
    forecast: ForecastParams = ForecastParams()

    @model_validator(mode="after")
    def _complete_and_consistent(self) -> EconomyParams:
        missing = [n for n in DRIVER_NAMES if n not in self.drivers]
        if missing:
            raise ValueError(f"drivers missing: {', '.join(missing)}")
        for name, spec in self.drivers.items():
            for ref, want_rate in spec.references():
                if ref not in self.drivers:
                    raise ValueError(f"drivers.{name} refers to an unknown driver {ref!r}")
                if self.drivers[ref].is_rate != want_rate:
                    kind = "a rate" if want_rate else "a level"
                    raise ValueError(f"drivers.{name}: {ref!r} must be {kind} driver")
        for name in self.forecast.centre_from_assumption:
            if name not in self.drivers or self.drivers[name].method not in _PROJECTED_METHODS:
                raise ValueError(
                    f"forecast.centre_from_assumption: {name!r} is not a projected driver"
                )
        for name in self.forecast.drivers or ():
            if name not in self.drivers:
                raise ValueError(f"forecast.drivers: unknown driver {name!r}")
            spec = self.drivers[name]
            if spec.method not in _PROJECTED_METHODS:
                built_on = ", ".join(ref for ref, _ in spec.references())
                raise ValueError(
                    f"forecast.drivers: {name} ({spec.method}) is built on {built_on} and "
                    f"follows its forecast; only {' and '.join(_PROJECTED_METHODS)} drivers "
                    "are forecast"
                )
        self.order()
        return self

    @property
    def sampled_paths(self) -> bool:
        """Whether each replicate draws its own driver paths (forecasts, ``paths: sampled``)."""
        return self.forecast.method != "assumed" and self.forecast.paths == "sampled"

    def forecast_drivers(self) -> list[str]:
        """The drivers whose years after the history the forecast block projects."""
        if self.forecast.method == "assumed":
            return []
        if self.forecast.drivers is not None:
            return list(self.forecast.drivers)
        return [n for n, s in self.drivers.items() if s.method in _PROJECTED_METHODS]

    def is_rate(self, name: str) -> bool:
        """Whether a driver is a yearly rate (fraction y/y) rather than a level."""
        return self.drivers[name].is_rate

    def order(self) -> list[str]:
        """The drivers, each after those it is built on."""
        done: list[str] = []

        def visit(name: str, stack: tuple[str, ...]) -> None:
            if name in stack:
                cycle = " -> ".join((*stack, name))
                raise ValueError(f"drivers refer to each other in a cycle: {cycle}")
            if name not in done:
                for ref, _ in self.drivers[name].references():
                    visit(ref, (*stack, name))
                done.append(name)

        for name in self.drivers:
            visit(name, ())
        return done


# --- the drivers ----------------------------------------------------------------------


@dataclass(frozen=True)
class Drivers:
    """The driver paths of one run, ``first_year``..``last_year``, with provenance."""

    first_year: int
    last_year: int
    _paths: Mapping[str, np.ndarray]
    _units: Mapping[str, str]
    _provenance: Mapping[str, tuple[str, ...]]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._paths)

    def unit(self, name: str) -> str:
        return self._units[self._known(name)]

    def value(self, name: str, year: int) -> float:
        return float(self._paths[self._known(name)][self._at(year)])

    def series(self, name: str) -> np.ndarray:
        """The path over ``first_year``..``last_year`` (read-only)."""
        return self._paths[self._known(name)]

    def price_level(self, name: str, year: int, base_year: int) -> float:
        """The level of a rate driver in ``year`` relative to ``base_year`` (= 1).

        The product of (1 + rate) over base_year+1..year; its inverse for an
        earlier year.  Years from ``first_year - 1`` to ``last_year``.
        """
        if self._units[self._known(name)] != RATE_UNIT:
            raise ValueError(f"{name} is not a rate driver; price_level needs one")
        for y in (year, base_year):
            if not self.first_year - 1 <= y <= self.last_year:
                raise ValueError(f"year {y} outside {self.first_year - 1}-{self.last_year}")
        low, high = sorted((year, base_year))
        rates = self._paths[name][low + 1 - self.first_year : high + 1 - self.first_year]
        level = float(np.prod(1.0 + rates))
        return level if year >= base_year else 1.0 / level

    def provenance(self, name: str, year: int) -> str:
        return self._provenance[self._known(name)][self._at(year)]

    def table(self) -> pd.DataFrame:
        """Long table for notebooks: year, driver, value, unit, provenance."""
        years = np.arange(self.first_year, self.last_year + 1)
        parts = [
            pd.DataFrame(
                {
                    "year": years,
                    "driver": name,
                    "value": self._paths[name],
                    "unit": self._units[name],
                    "provenance": list(self._provenance[name]),
                }
            )
            for name in self._paths
        ]
        return pd.concat(parts, ignore_index=True)

    @classmethod
    def from_table(cls, table: pd.DataFrame) -> Drivers:
        """The drivers back from their :meth:`table` (a saved run's ``drivers.csv``)."""
        first, last = int(table.year.min()), int(table.year.max())
        paths, units, provenance = {}, {}, {}
        for name, rows in table.groupby("driver", sort=False):
            rows = rows.sort_values("year")
            if list(rows.year) != list(range(first, last + 1)):
                raise ValueError(f"driver {name!r} does not cover {first}-{last} year by year")
            paths[str(name)] = rows.value.to_numpy(dtype=float)
            units[str(name)] = str(rows.unit.iloc[0])
            provenance[str(name)] = tuple(rows.provenance.fillna("").astype(str))
        return cls(first, last, paths, units, provenance)

    def _known(self, name: str) -> str:
        if name not in self._paths:
            raise KeyError(f"no driver {name!r} (known: {', '.join(self._paths)})")
        return name

    def _at(self, year: int) -> int:
        if not self.first_year <= year <= self.last_year:
            raise ValueError(f"year {year} outside the drivers' {self.first_year}-{self.last_year}")
        return year - self.first_year


Projection = Callable[[str, dict[int, float], list[int], Fact, str], tuple[np.ndarray, str]]
"""``project(driver, observed rates by year, years to project, assumption, its key)``
returns the yearly rates (growth of a level, or the rate) and a label for provenance."""


def assumed_projection(
    driver: str, observed: dict[int, float], years: list[int], assumption: Fact, key: str
) -> tuple[np.ndarray, str]:
    """Beyond the history: the dated assumption of the scenario file.

    The seam for forecasts: a replacement fits ``observed`` and returns its own
    path (per replicate) and label.
    """
    return np.array([float(assumption.at(y)) for y in years]), f"assumed ({key})"


_WITHOUT_HISTORY = ("no observed history to forecast", "an assumed spread")
ECONOMY_STREAM = 0x65636F6E
"""The spawn key ("econ") of the economy's stream beside a replicate's model stream."""


def economy_seed(replicate: np.random.SeedSequence) -> np.random.SeedSequence:
    """The economy's seed of a replicate: its entropy and spawn key plus :data:`ECONOMY_STREAM`.

    Derived, not spawned, so ``np.random.default_rng(replicate)`` (the model's stream) is
    untouched and the same replicate seed gives the same economy however often it is used.
    """
    return np.random.SeedSequence(
        replicate.entropy, spawn_key=(*replicate.spawn_key, ECONOMY_STREAM)
    )


class ForecastProjection:
    """The projection seam filled by series forecasts (``economy.forecast``).

    ``seed`` (the economy's, see :func:`economy_seed`): draw one path per driver from its
    forecast, from a sub-stream keyed by the driver's name; none: the forecast's mean.
    ``fitted`` collects each driver's forecast, its last observed year and the value of the
    fitted series then (a level driver's index), as the drivers are built.
    """

    def __init__(self, params: EconomyParams, seed: np.random.SeedSequence | None = None) -> None:
        self.params = params
        self.seed = seed
        self.fitted: dict[str, tuple[forecast.SeriesForecast, int, float]] = {}

    def __call__(
        self, driver: str, observed: dict[int, float], years: list[int], assumption: Fact, key: str
    ) -> tuple[np.ndarray, str]:
        assumed, label = assumed_projection(driver, observed, years, assumption, key)
        if driver not in self.params.forecast_drivers():
            return assumed, label
        settings = self.params.forecast
        is_rate = self.params.is_rate(driver)
        series = dict(observed) if is_rate else _index_levels(observed)
        if not series:
            return self._without_history(driver, years, assumed, label, is_rate)
        last = max(series)
        at = np.asarray(years) - (last + 1)
        if at[0] < 0 or np.any(np.diff(at) != 1):
            raise EconomyError(f"{driver}: years to project {years} do not follow {last}")
        fit = forecast.fit(
            series,
            "rate" if is_rate else "level",
            int(at[-1]) + 1,
            name=driver,
            min_obs=settings.min_obs,
            holdout=settings.holdout,
        )
        self.fitted[driver] = (fit, last, series[last])
        drawn = fit.mean if self.seed is None else fit.paths(1, self._rng(driver))[0]
        if is_rate:
            rates, mean = drawn[at], fit.mean[at]
        else:
            rates, mean = _growth(series[last], drawn)[at], _growth(series[last], fit.mean)[at]
        if driver in settings.centre_from_assumption:
            return assumed + (rates - mean), f"{label} with the spread of forecast ({fit.model})"
        return rates, f"forecast ({fit.model})"

    def _without_history(
        self, driver: str, years: list[int], assumed: np.ndarray, label: str, is_rate: bool
    ) -> tuple[np.ndarray, str]:
        """A driver with no observed growth: the assumption, and the assumed spread if any."""
        fact = self.params.forecast.spread_without_history
        if fact is None:
            return assumed, f"{label}; {_WITHOUT_HISTORY[0]}, no spread"
        sd = fact.path(years)
        size = f"{sd[0]:g}" if np.all(sd == sd[0]) else f"{sd.min():g}-{sd.max():g}"
        where = "economy.forecast.spread_without_history"
        text = f"{label}; {_WITHOUT_HISTORY[0]}, {_WITHOUT_HISTORY[1]} (sd {size} a year, {where})"
        if self.seed is None:
            return assumed, text
        noise = sd * self._rng(driver).standard_normal(len(years))
        return (assumed + noise if is_rate else np.expm1(np.log1p(assumed) + noise)), text

    def _rng(self, driver: str) -> np.random.Generator:
        code = int.from_bytes(hashlib.sha256(driver.encode()).digest()[:4], "little")
        seed = self.seed  # type: ignore[union-attr]
        return np.random.default_rng(
            np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, code))
        )


def _index_levels(growth: dict[int, float]) -> dict[int, float]:
    """A level from its growth rates: 1 in the year before the latest unbroken run of
    growths, compounded over it."""
    if not growth:
        return {}
    years = sorted(growth)
    start = len(years) - 1
    while start > 0 and years[start - 1] == years[start] - 1:
        start -= 1
    run = years[start:]
    levels = np.cumprod([1.0 + growth[y] for y in run])
    return {run[0] - 1: 1.0} | {y: float(v) for y, v in zip(run, levels, strict=True)}


def _growth(last: float, levels: np.ndarray) -> np.ndarray:
    """Yearly growth of a path of levels that follows ``last``."""
    return np.diff(np.concatenate([[last], levels])) / np.concatenate([[last], levels[:-1]])


def projection(params: EconomyParams, seed: np.random.SeedSequence | None = None) -> Projection:
    """The projection the ``economy.forecast`` block asks for.

    ``seed``: the replicate's seed sequence; with ``paths: sampled`` the driver paths are
    drawn from :func:`economy_seed` of it.  Without a seed (or with ``paths: mean``): the
    mean path.
    """
    if params.forecast.method == "assumed":
        return assumed_projection
    sampled = seed is not None and params.sampled_paths
    return ForecastProjection(params, economy_seed(seed) if sampled else None)


def build_drivers(
    params: EconomyParams,
    first_year: int,
    last_year: int,
    project: Projection | None = None,
    *,
    seed: np.random.SeedSequence | None = None,
) -> Drivers:
    """Every driver for ``first_year``..``last_year`` from the history files and the YAML.

    ``project``: the projection after each driver's history; by default the one the
    ``economy.forecast`` block asks for (:func:`projection`, with ``seed``, the replicate's
    seed sequence, for sampled paths).
    """
    if first_year > last_year:
        raise ValueError(f"first_year {first_year} is after last_year {last_year}")
    if project is None:
        project = projection(params, seed)
    table = history.read_history(params.history_files)
    rows = _Rows(table)
    starts = [first_year, int(table["year"].min())] if len(table) else [first_year]
    starts += [s.base_year for s in params.drivers.values() if s.base_year is not None]
    ends = [last_year, int(table["year"].max())] if len(table) else [last_year]
    years = np.arange(min(starts), max(ends) + 1)
    built: dict[str, _Path] = {}
    for name in params.order():
        spec = params.drivers[name]
        path = _BUILDERS[spec.method](name, spec, years, rows, built, project)
        built[name] = _scenario_changes(name, spec, years, path, params.is_rate(name))
    keep = slice(first_year - int(years[0]), last_year - int(years[0]) + 1)
    paths = {}
    for name, p in built.items():
        values = p.values[keep].copy()
        values.flags.writeable = False
        paths[name] = values
    return Drivers(
        first_year=first_year,
        last_year=last_year,
        _paths=paths,
        _units={n: p.unit for n, p in built.items()},
        _provenance={n: tuple(p.provenance[keep]) for n, p in built.items()},
    )


def forecast_table(params: EconomyParams, first_year: int, last_year: int) -> pd.DataFrame:
    """Each forecast driver's model, mean path and 80%/95% intervals in the driver's units,
    ``first_year``..``last_year`` (a level driver's forecast index scaled to its value in
    its last observed year; the scenario's own changes are not applied), and whether the
    run's central path is the forecast's or the assumption's.  A driver with no history to
    forecast has its assumed path as ``mean`` and no intervals."""
    columns = ["driver", "year", "model", "fitted_years", "mean", "lower80", "upper80"]
    columns += ["lower95", "upper95", "unit", "central_path", "notes"]
    project = ForecastProjection(params)
    drivers = build_drivers(params, first_year, last_year, project=project)
    rows: list[dict[str, Any]] = []
    for name in params.forecast_drivers():
        unit = drivers.unit(name)
        if name not in project.fitted:
            for y in range(first_year, last_year + 1):
                if any(m in drivers.provenance(name, y) for m in _WITHOUT_HISTORY):
                    model = "none: no observed history, the assumed path"
                    rows.append(
                        {"driver": name, "year": y, "model": model, "unit": unit}
                        | {"mean": drivers.value(name, y), "central_path": "assumption"}
                    )
            continue
        fit, last, index = project.fitted[name]
        scale = 1.0
        if fit.kind == "level":
            known = first_year <= last <= last_year
            scale = drivers.value(name, last) / index if known else np.nan
        for i, y in enumerate(fit.years.tolist()):
            if first_year <= y <= last_year:
                rows.append(
                    {
                        "driver": name,
                        "year": y,
                        "model": fit.model,
                        "fitted_years": f"{fit.fitted_years[0]}-{fit.fitted_years[1]}",
                        **{k: float(getattr(fit, k)[i]) * scale for k in columns[4:9]},
                        "unit": unit,
                        "central_path": "assumption (the forecast gives the spread)"
                        if name in params.forecast.centre_from_assumption
                        else "forecast",
                        "notes": "; ".join(fit.notes),
                    }
                )
    return pd.DataFrame(rows, columns=columns)


# --- building one path ----------------------------------------------------------------


class _Path(NamedTuple):
    values: np.ndarray
    provenance: list[str]
    unit: str


class _Rows:
    """The history rows by (area, indicator), then by year."""

    def __init__(self, table: pd.DataFrame) -> None:
        self._by_series: dict[tuple[str, str], dict[int, Any]] = {}
        for row in table.itertuples(index=False):
            self._by_series.setdefault((row.area, row.indicator), {})[row.year] = row

    def get(self, indicator: str, area: str) -> dict[int, Any]:
        return self._by_series.get((area, indicator), {})


def _cite(row: Any) -> str:
    """The provenance of one history row."""
    text = f"{row.status}: {row.file} ({row.source_publication}) {row.indicator} [{row.area}]"
    text += f" {row.year}"
    return f"{text} = {row.note}" if row.status == "derived" and row.note else text


def _worst(*statuses: str) -> str:
    return max(statuses, key=history.STATUSES.index)


def _status(provenance: str) -> str:
    return provenance.split(":", 1)[0]


def _runs(labels: dict[int, str], first: int, last: int) -> str:
    """The labels of the years first..last, consecutive equal labels as one run."""
    parts: list[str] = []
    start = first
    for year in range(first, last + 1):
        if year == last or labels[year + 1] != labels[year]:
            span = str(year) if start == year else f"{start}-{year}"
            parts.append(f"{span} {labels[year]}")
            start = year + 1
    return ", ".join(parts)


def _indexed_level(
    name: str,
    spec: DriverSpec,
    years: np.ndarray,
    rows: _Rows,
    built: dict[str, _Path],
    project: Projection,
) -> _Path:
    anchors = rows.get(spec.anchor.indicator, spec.anchor.area)
    if not anchors:
        raise EconomyError(f"economy.drivers.{name}.anchor: no {spec.anchor} in the history files")
    observed: dict[int, float] = {}
    labels: dict[int, str] = {}
    last_known = max(anchors)
    if spec.index is not None:
        index = rows.get(spec.index.indicator, spec.index.area)
        if len(index) < 2:
            raise EconomyError(
                f"economy.drivers.{name}.index: {spec.index} needs two years in the history files"
            )
        known = sorted(index)
        for a, b in pairwise(known):
            growth = (index[b].value / index[a].value) ** (1.0 / (b - a)) - 1.0
            label = f"growth of {spec.index} ({_worst(index[a].status, index[b].status)}: "
            label += f"{index[b].file}{f', geometric over {a}-{b}' if b - a > 1 else ''})"
            for y in range(a + 1, b + 1):
                observed[y], labels[y] = growth, label
        last_known = known[-1]
    key = f"economy.drivers.{name}.growth"
    growth = np.zeros(len(years))
    for i, y in enumerate(years[1:].tolist(), start=1):
        if y in observed:
            growth[i] = observed[y]
        elif y <= last_known:
            growth[i], labels[y] = float(spec.growth.at(y)), f"assumed ({key})"
    later = [y for y in years.tolist() if y > last_known]
    if later:
        rates, label = project(name, observed, later, spec.growth, key)
        growth[len(years) - len(later) :] = rates
        labels.update(dict.fromkeys(later, label))
    log_index = np.concatenate([[0.0], np.cumsum(np.log1p(growth[1:]))])
    first = int(years[0])
    anchor_years = sorted(anchors)
    log_gap = [np.log(anchors[a].value) - log_index[a - first] for a in anchor_years]
    values = np.exp(log_index + np.interp(years, anchor_years, log_gap))
    provenance = [_level_provenance(y, anchors, labels) for y in years.tolist()]
    return _Path(values, provenance, anchors[anchor_years[0]].unit)


def _level_provenance(year: int, anchors: dict[int, Any], labels: dict[int, str]) -> str:
    if year in anchors:
        return _cite(anchors[year])
    before = [a for a in anchors if a < year]
    after = [a for a in anchors if a > year]
    if before and after:
        a0, a1 = max(before), min(after)
        return (
            f"assumption: between the {a0} and {a1} anchors by {_runs(labels, a0 + 1, year)}, "
            f"the gap to the {a1} anchor spread geometrically"
        )
    if before:
        a0 = max(before)
        return f"assumption: the {a0} anchor carried forward by {_runs(labels, a0 + 1, year)}"
    a1 = min(after)
    return f"assumption: the {a1} anchor carried back by {_runs(labels, year + 1, a1)}"


def _observed_rate(
    name: str,
    spec: DriverSpec,
    years: np.ndarray,
    rows: _Rows,
    built: dict[str, _Path],
    project: Projection,
) -> _Path:
    observed: dict[int, float] = {}
    cites: dict[int, str] = {}
    for ref in spec.sources:
        for y, row in rows.get(ref.indicator, ref.area).items():
            if row.unit != RATE_UNIT:
                raise EconomyError(
                    f"economy.drivers.{name}.sources: {ref} is in {row.unit}, not a rate "
                    f"(% y/y) ({row.file}:{row.line})"
                )
            if y not in observed:
                observed[y], cites[y] = row.value, _cite(row)
    if not observed:
        names = ", ".join(str(s) for s in spec.sources)
        raise EconomyError(f"economy.drivers.{name}.sources: none of {names} in the history files")
    key = f"economy.drivers.{name}.rate"
    values = np.zeros(len(years))
    provenance = [""] * len(years)
    last_known = max(observed)
    for i, y in enumerate(years.tolist()):
        if y in observed:
            values[i], provenance[i] = observed[y], cites[y]
        elif y < last_known:
            values[i] = float(spec.rate.at(y))
            provenance[i] = f"assumption: assumed ({key}): {spec.rate.assumption}"
    later = [y for y in years.tolist() if y > last_known]
    if later:
        rates, label = project(name, observed, later, spec.rate, key)
        values[len(years) - len(later) :] = rates
        why = f": {spec.rate.assumption}" if label.startswith("assumed") else ""
        provenance[len(years) - len(later) :] = [f"assumption: {label}{why}"] * len(later)
    return _Path(values, provenance, RATE_UNIT)


def _ratio_to(
    name: str,
    spec: DriverSpec,
    years: np.ndarray,
    rows: _Rows,
    built: dict[str, _Path],
    project: Projection,
) -> _Path:
    ref = spec.ratio
    num, den = rows.get(ref.numerator, ref.area), rows.get(ref.denominator, ref.area)
    points = {y: num[y].value / den[y].value for y in sorted(set(num) & set(den))}
    if not points:
        raise EconomyError(
            f"economy.drivers.{name}.ratio: no year with both {ref.numerator} and "
            f"{ref.denominator} [{ref.area}] in the history files"
        )
    base = built[spec.base]
    known = sorted(points)
    xs = np.array(known, dtype=float)
    ratio = np.interp(years, xs, [points[y] for y in known])
    label = f"the {ref.area} ratio {ref.numerator}/{ref.denominator}"
    provenance = []
    for y, r, base_prov in zip(years.tolist(), ratio, base.provenance, strict=True):
        if y in points:
            how = f"{_worst(num[y].status, den[y].status)}: {num[y].file}"
        elif known[0] < y < known[-1]:
            lo, hi = max(k for k in known if k < y), min(k for k in known if k > y)
            how = f"interpolated linearly between {lo} and {hi}"
        else:
            near = known[0] if y < known[0] else known[-1]
            how = f"held at its {near} value outside {known[0]}-{known[-1]}"
        provenance.append(
            f"assumption: {spec.base} × {label} = {r:.4f} in {y} ({how}); "
            f"{spec.base} {y}: {_status(base_prov)}"
        )
    return _Path(base.values * ratio, provenance, base.unit)


def _blend(
    name: str,
    spec: DriverSpec,
    years: np.ndarray,
    rows: _Rows,
    built: dict[str, _Path],
    project: Projection,
) -> _Path:
    values = np.zeros(len(years))
    for part, weight in spec.weights.items():
        values += weight.path(years.tolist()) * built[part].values
    provenance = []
    for i, y in enumerate(years.tolist()):
        terms = " + ".join(f"{float(w.at(y)):g} × {p}" for p, w in spec.weights.items())
        inputs = ", ".join(f"{p} {_status(built[p].provenance[i])}" for p in spec.weights)
        provenance.append(
            f"assumption: {terms} (weights: economy.drivers.{name}.weights); {y} inputs: {inputs}"
        )
    return _Path(values, provenance, RATE_UNIT)


def _price_indexed(
    name: str,
    spec: DriverSpec,
    years: np.ndarray,
    rows: _Rows,
    built: dict[str, _Path],
    project: Projection,
) -> _Path:
    price = built[spec.price]
    level = np.cumprod(1.0 + price.values)
    base_index = spec.base_year - int(years[0])
    base_value = float(spec.base_value.at(spec.base_year))
    values = base_value * level / level[base_index]
    fact = spec.base_value
    base_text = f"{base_value:g} {fact.unit} at {spec.base_year} prices"
    provenance = []
    for i, y in enumerate(years.tolist()):
        if y == spec.base_year:
            status = "quoted" if fact.source else "assumption"
            provenance.append(f"{status}: {base_text} ({fact.source or fact.assumption})")
            continue
        lo, hi = sorted((base_index, i))
        statuses = sorted({_status(p) for p in price.provenance[lo + 1 : hi + 1]})
        provenance.append(
            f"assumption: {base_text} carried by {spec.price} (an approximation of the official "
            f"uprating); {spec.price} {min(y, spec.base_year) + 1}-{max(y, spec.base_year)}: "
            f"{'/'.join(statuses)}"
        )
    return _Path(values, provenance, fact.unit)


_BUILDERS = {
    "indexed_level": _indexed_level,
    "observed_rate": _observed_rate,
    "ratio_to": _ratio_to,
    "blend": _blend,
    "price_indexed": _price_indexed,
}


def _scenario_changes(
    name: str, spec: DriverSpec, years: np.ndarray, path: _Path, is_rate: bool
) -> _Path:
    """Apply the scenario's ``override`` (dated rates) and then its ``path`` (values)."""
    values, provenance = path.values.copy(), list(path.provenance)
    if spec.override is not None:
        fact, key = spec.override, f"economy.drivers.{name}.override"
        start = min(fact.values)
        for i, y in enumerate(years.tolist()):
            if y < start or (not is_rate and i == 0):
                continue
            rate = fact.at(y)
            if is_rate and rate is not None:
                values[i] = rate
                provenance[i] = f"assumption: {key} = {rate:g} from {start} ({fact.assumption})"
            elif not is_rate:
                baseline = path.values[i] / path.values[i - 1] - 1.0 if rate is None else rate
                values[i] = values[i - 1] * (1.0 + baseline)
                what = "baseline growth" if rate is None else f"growth {rate:g}"
                provenance[i] = (
                    f"assumption: {what} on the level of the scenario {key} from {start} "
                    f"({fact.assumption})"
                )
    if spec.path is not None:
        fact, key = spec.path, f"economy.drivers.{name}.path"
        start = min(fact.values) if fact.is_dated else int(years[0])
        status = "quoted" if fact.source else "assumption"
        for i, y in enumerate(years.tolist()):
            if y >= start:
                values[i] = float(fact.at(y))
                provenance[i] = f"{status}: {key} ({fact.source or fact.assumption})"
    return _Path(values, provenance, path.unit)
