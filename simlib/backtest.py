"""Backtest of the dibao standard-adjustment mechanism (低保标准动态调整机制回测), DESIGN §6.

    simlib backtest HISTORY.csv [HISTORY2.csv ...] --fit-until T --horizon K
                    [--drivers actual|forecast] --out FILE.csv

The mechanism of :mod:`simlib.standards` (DESIGN §3) is fitted to the urban and rural
dibao (最低生活保障) standards observed up to year T, then run forward over T+1..T+K by
:func:`simlib.standards.set_standards` itself, so the backtest scores the model's own
rules; the projection is set beside what happened and two naive baselines.

What is fitted, from the standards of years ≤ T only:

- the base method's multiplier m_t per stratum, with a linear drift
  m_t = m_T + drift × (t − T) (the national ratio of the standard to consumption rose
  from about 25% urban, 37% rural in 2013, methods_rules M5).  ``consumption_ratio``
  (消费支出比例法, M2): S_t = m_t × C_{t-1} / 12, C the per-capita consumption
  expenditure; with the price uplift (off by default: the national formula M2 has none;
  the baseline scenario has it on) × (1 + π_{t-1}), π the necessities inflation (half
  food CPI, half CPI, as ``economy.necessities`` in the baseline).  ``engel`` (恩格尔系数法,
  M7): S_t = m_t × P_food,t with m = F / e (the food basket over the Engel coefficient;
  only their quotient is identified from the standards).  m_T and the drift minimise
  the squared relative errors of the fitted standards over the years where the base's
  drivers are known (scipy least squares).  With one such year the drift is zero; with
  two it is their difference (no error estimate then; ``--no-drift`` removes it);
  the projected m is kept within the range the model allows (a ratio in (0, 1]).
- the convergence step: the mean yearly change of the rural/urban ratio of the
  standards over the observed years (zero if it fell), applied as the least rise of
  the ratio (``standards.required_rural_ratio``, target 1.0 as in the baseline).

Rules, switchable (defaults in :class:`BacktestRules`): the price uplift, convergence,
the floors (rural ≥ the national poverty line from 2016, 2,300 yuan at 2010 prices
carried by the CPI; the ratchet) and rounding to whole yuan (off by default: a national
average of local standards is published to 0.1 yuan).  The fiscal cap is not part of
the backtest (the national files hold no budget revenue) and the price linkage pays a
subsidy without changing the standard.  The rules are assumed not to have bound in
the years the multipliers are fitted on.

Isolation: the standards enter only through :func:`known_at`, which drops every year
after T; with ``--drivers forecast`` so do consumption and prices, which are then
projected by ``simlib.forecast.fit`` (mean path) from years ≤ T: what a forecaster
would have known.  With ``--drivers actual`` the observed drivers of T+1..T+K are used
(a conditional backtest).  The ``actual`` column alone reads the later standards.

Baselines: ``naive_last`` repeats the last standard observed up to T; ``naive_trend``
extends the compound average growth of the last three observed years, i.e. over the
last three yearly steps, (x_last / x_{last−3})^(1/3) − 1 (over fewer if fewer are
observed; the years' span where there are gaps).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import ValidationError
from scipy import linalg

from simlib import standards as st
from simlib.arguments import whole_number
from simlib.errors import UserError
from simlib.facts import Share, Strict
from simlib.files import write_atomic
from simlib.history import NATIONAL, read_history, series

STANDARDS = {"urban": "urban_dibao_std_avg", "rural": "rural_dibao_std_avg"}
"""The standard of each stratum, as named in the shared files."""
OUTPUT_UNITS = {
    "urban_dibao_std_avg": "yuan/person/month",
    "rural_dibao_std_avg": "yuan/person/year",
}
"""The unit each standard has in the shared files (data README), the unit of the output."""
MONTHS = {"yuan/person/month": 1.0, "yuan/person/year": 12.0}
CONSUMPTION = {"urban": "cons_pc_urban", "rural": "cons_pc_rural"}
CPI, FOOD_CPI = "cpi_all", "cpi_food"
POVERTY_LINE_BASE = (2010, 2300.0)
"""The national rural poverty line, yuan/person/year at 2010 prices: methods_rules.csv M11
(quoted, 2013 NBS communique); carried to other years by the CPI, as the baseline's
``poverty_line`` driver."""
POVERTY_LINE_FROM = 2016
"""First year of the poverty-line floor (两线合一, plan 三(一)2), as the baseline."""
CONVERGENCE_TARGET = 1.0
"""Rural/urban ratio the convergence rule aims at: full integration, as the baseline."""
ENGEL_PLACEHOLDER = 0.5
"""The Engel coefficient e handed to ``standards.engel_base``: only F / e is fitted."""
COLUMNS = ("year", "indicator", "unit", "actual", "model", "naive_last", "naive_trend")
SCORED = ("model", "naive_last", "naive_trend")
TREND_STEPS = 3

Drivers = Literal["actual", "forecast"]
Forecaster = Callable[..., Any]
"""``fit(values, kind, horizon, name)`` returning an object with ``.years`` and ``.mean``."""


class BacktestRules(Strict):
    """The switches of the backtest.  Defaults: the baseline scenario's rules, except the
    price uplift (see below) and rounding (a national average is not a whole yuan)."""

    method: Literal["consumption_ratio", "engel"] = "consumption_ratio"
    drift: bool = True
    """Fit a linear drift of the base multiplier (else a constant multiplier)."""
    price_uplift: bool = False
    """consumption_ratio only: uplift by last year's necessities inflation.  Off by default:
    the national rule is S = C_{t-1} × ratio with no uplift (methods_rules M2); the
    baseline scenario switches it on (the plan's 生活必需品价格变化)."""
    convergence: bool = True
    floors: bool = True
    rounding: bool = False
    food_weight: Share = 0.5
    """Necessities inflation = w × food CPI + (1 − w) × CPI (baseline economy.necessities)."""


# --- what is known at T ------------------------------------------------------------------


@dataclass(frozen=True)
class Known:
    """The series the backtest may read: standards (canonical yuan/person/month) up to T;
    drivers (consumption yuan/person/year, CPI rates as fractions) up to T or all years."""

    fit_until: int
    standards: dict[str, dict[int, float]]
    drivers: dict[str, dict[int, float]]


def known_at(table: pd.DataFrame, fit_until: int, drivers: Drivers, area: str = NATIONAL) -> Known:
    """The only door from the history to the fit: standards after T are dropped here,
    and with ``forecast`` drivers so are the drivers' later years."""
    needed = [*STANDARDS.values(), *CONSUMPTION.values(), CPI, FOOD_CPI]
    got = {name: series(table, name, area) for name in needed}
    rural_monthly = series(table, STANDARDS["rural"] + "_monthly", area)
    got[STANDARDS["rural"]] = {**rural_monthly, **got[STANDARDS["rural"]]}
    missing = [name for name in needed if not got[name]]
    if missing:
        files = ", ".join(sorted(table["file"].unique())) or "no rows"
        raise UserError(f"the histories ({files}) have no {' or '.join(missing)} [{area}]")
    upto = {name: {y: v for y, v in s.items() if y <= fit_until} for name, s in got.items()}
    std = {stratum: upto[name] for stratum, name in STANDARDS.items()}
    for stratum, values in std.items():
        if not values:
            raise UserError(f"{STANDARDS[stratum]} has no value up to --fit-until {fit_until}")
    names = [*CONSUMPTION.values(), CPI, FOOD_CPI]
    source = upto if drivers == "forecast" else got
    return Known(fit_until, std, {name: source[name] for name in names})


def forecast_drivers(
    known: Known, last_year: int, forecaster: Forecaster | None = None
) -> dict[str, dict[int, float]]:
    """The drivers, each extended to ``last_year`` by the forecaster's mean path from its
    own years ≤ T (consumption as a level, CPI as a rate)."""
    if forecaster is None:
        try:
            from simlib.forecast import fit as forecaster
        except ImportError as e:
            raise UserError(f"--drivers forecast needs simlib.forecast ({e})") from None
    out = {}
    for name, values in known.drivers.items():
        values = {y: v for y, v in values.items() if y <= known.fit_until}
        if not values:
            raise UserError(f"{name} has no value up to --fit-until {known.fit_until}")
        horizon = last_year - max(values)
        if horizon <= 0:
            out[name] = values
            continue
        kind = "rate" if name in (CPI, FOOD_CPI) else "level"
        try:
            path = forecaster(values, kind, horizon, name=name)
        except ValueError as e:
            raise UserError(f"forecast of {name} from years up to {known.fit_until}: {e}") from None
        out[name] = {
            **values,
            **{int(y): float(v) for y, v in zip(path.years, path.mean, strict=True)},
        }
    return out


# --- the base of each method, with a multiplier of one -----------------------------------


def _need(values: Mapping[int, float], year: int, name: str, why: str) -> float:
    if year not in values:
        raise UserError(f"{name} has no value for {year}, needed for {why}")
    return float(values[year])


def necessities_inflation(drivers: Mapping[str, Mapping[int, float]], year: int, w: float) -> float:
    """π_t = w × food CPI_t + (1 − w) × CPI_t (the baseline's ``necessities`` blend)."""
    why = f"the necessities inflation of {year}"
    food = _need(drivers[FOOD_CPI], year, FOOD_CPI, why)
    return w * food + (1.0 - w) * _need(drivers[CPI], year, CPI, why)


def price_level(rates: Mapping[int, float], year: int, base: int, name: str) -> float:
    """Level in ``year`` of a price index that is 1.0 in ``base``, chained from y/y rates."""
    why = f"the {name} price level of {year} (1.0 in {base})"
    level = 1.0
    for y in range(base + 1, year + 1):
        level *= 1.0 + _need(rates, y, name, why)
    for y in range(year + 1, base + 1):
        level /= 1.0 + _need(rates, y, name, why)
    return level


def unit_base(
    drivers: Mapping[str, Mapping[int, float]], year: int, rules: BacktestRules, price_base: int
) -> st.Stratified:
    """The standard (yuan/person/month) the method gives in ``year`` with multiplier 1,
    through the mechanism's own functions (base, then the price uplift of a lagged base)."""
    if rules.method == "engel":
        level = price_level(drivers[FOOD_CPI], year, price_base, FOOD_CPI)
        return st.engel_base(st.Stratified.both(1.0), st.Stratified.both(1.0), level)
    why = f"the {year} standard"
    cons = st.Stratified(
        *(_need(drivers[CONSUMPTION[s]], year - 1, CONSUMPTION[s], why) for s in STANDARDS)
    )
    base = st.consumption_ratio_base(st.Stratified.both(1.0), cons)
    if rules.price_uplift:
        base = st.price_uplift(base, necessities_inflation(drivers, year - 1, rules.food_weight))
    return base


# --- the fit -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MultiplierFit:
    """m_t = level + drift × (t − fit_until), fitted on ``years``."""

    level: float
    drift: float
    years: tuple[int, ...]
    rms_error: float
    """Root mean square relative error of the fitted standards on ``years``."""

    def at(self, year: int, fit_until: int, upper: float) -> float:
        return float(np.clip(self.level + self.drift * (year - fit_until), 1e-9, upper))


@dataclass(frozen=True)
class MechanismFit:
    fit_until: int
    method: str
    urban: MultiplierFit
    rural: MultiplierFit
    step: float
    """Least yearly rise of the rural/urban ratio of the standards (convergence)."""
    step_years: tuple[int, int] | None

    def describe(self) -> str:
        name = "ratio" if self.method == "consumption_ratio" else "F/e"
        parts = []
        for stratum in STANDARDS:
            m: MultiplierFit = getattr(self, stratum)
            span = f"{m.years[0]}-{m.years[-1]}" if len(m.years) > 1 else f"{m.years[0]}"
            parts.append(
                f"{stratum} {name} {m.level:.4f} at {self.fit_until}, drift {m.drift:+.4f}/yr "
                f"(fitted on {span}, {len(m.years)} yr, rms error {100 * m.rms_error:.2f}%)"
            )
        span = f"{self.step_years[0]}-{self.step_years[1]}" if self.step_years else "none"
        parts.append(f"convergence step {self.step:+.4f}/yr (rural/urban ratio, {span})")
        return "; ".join(parts)


def fit_multiplier(
    standard: Mapping[int, float],
    unit: Mapping[int, float],
    fit_until: int,
    drift: bool = True,
) -> MultiplierFit:
    """Least squares of the relative errors (m_t × u_t − S_t) / S_t over the years with both
    the standard S and the unit base u, m_t = m_T + d × (t − T); d = 0 without ``drift`` or
    with one year."""
    years = sorted(y for y in standard if y in unit and y <= fit_until)
    if not years:
        raise UserError(f"no year up to {fit_until} has both a standard and its base's drivers")
    s = np.array([standard[y] for y in years])
    u = np.array([unit[y] for y in years])
    dt = np.array(years, dtype=float) - fit_until
    # relative error = m_T × (u/s) + d × (t − T) × (u/s) − 1: linear in (m_T, d)
    columns = [u / s] + ([dt * u / s] if drift and len(years) > 1 else [])
    x = np.column_stack(columns)
    coef, *_ = linalg.lstsq(x, np.ones(len(years)))
    level, slope = float(coef[0]), float(coef[1]) if len(coef) > 1 else 0.0
    rms = float(np.sqrt(np.mean((x @ coef - 1.0) ** 2)))
    return MultiplierFit(level, slope, tuple(years), rms)


def fit_step(
    urban: Mapping[int, float], rural: Mapping[int, float], fit_until: int
) -> tuple[float, tuple[int, int] | None]:
    """Mean yearly change of the rural/urban ratio from the first to the last year (≤ T)
    with both standards; zero if it fell or with fewer than two such years."""
    years = sorted(y for y in urban if y in rural and y <= fit_until)
    if len(years) < 2:
        return 0.0, None
    first, last = years[0], years[-1]
    change = rural[last] / urban[last] - rural[first] / urban[first]
    return max(0.0, change / (last - first)), (first, last)


def fit_mechanism(
    standards: Mapping[str, Mapping[int, float]],
    drivers: Mapping[str, Mapping[int, float]],
    fit_until: int,
    rules: BacktestRules,
) -> MechanismFit:
    """Fit the multipliers and the convergence step to the standards (years ≤ T only)."""
    late = sorted(y for s in standards.values() for y in s if y > fit_until)
    if late:
        raise ValueError(f"fit_mechanism was given standards after {fit_until}: {late}")
    years = sorted({y for s in standards.values() for y in s})
    unit: dict[str, dict[int, float]] = {s: {} for s in STANDARDS}
    for year in years:
        try:
            base = unit_base(drivers, year, rules, fit_until)
        except UserError:
            continue  # a year whose drivers are not in the history is not fitted on
        unit["urban"][year], unit["rural"][year] = base.urban, base.rural
    fits = {s: fit_multiplier(standards[s], unit[s], fit_until, rules.drift) for s in STANDARDS}
    step, step_years = fit_step(standards["urban"], standards["rural"], fit_until)
    return MechanismFit(fit_until, rules.method, fits["urban"], fits["rural"], step, step_years)


# --- the projection, by the model's own set_standards --------------------------------------


def _fact(value: Any, unit: str, why: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "assumption": why}


def standards_params(fit: MechanismFit, years: Iterable[int], rules: BacktestRules):
    """A ``standards:`` block carrying the fitted mechanism (dated multipliers, the step)."""
    years = list(years)
    t, fitted = fit.fit_until, "fitted by simlib.backtest to the standards up to"

    def dated(m: MultiplierFit, upper: float, scale: float) -> dict[str, Any]:
        return {
            "values": {y: m.at(y, t, upper) * scale for y in years},
            "unit": "multiplier of the base",
            "assumption": f"{fitted} {t}",
        }

    block: dict[str, Any] = {
        "method": rules.method,
        "price_base_year": t,
        "effective_month": _fact(1, "month", "year-end standards are compared"),
        "price_uplift": {"enabled": rules.price_uplift, "inflation_year": "previous"},
        "fiscal_cap": {
            "enabled": False,
            "max_share": _fact(1.0, "share", "not used: no budget revenue in the histories"),
        },
        "convergence": {
            "enabled": rules.convergence,
            "step": _fact(fit.step, "ratio points a year", f"{fitted} {t}"),
            "target": _fact(CONVERGENCE_TARGET, "ratio", "full integration, as the baseline"),
        },
        "floors": {
            "enabled": rules.floors,
            "poverty_line_from": POVERTY_LINE_FROM,
            "ratchet": True,
        },
        "rounding": {"enabled": rules.rounding, "mode": "nearest", "step": 1.0},
        "price_linkage": {
            "enabled": False,
            "cpi_threshold": _fact(0.035, "rate", "not used: the subsidy leaves S unchanged"),
            "food_cpi_threshold": _fact(0.06, "rate", "not used"),
            "minimum_amount": _fact(0.0, "yuan/person/month", "not used"),
        },
    }
    if rules.method == "engel":
        e = ENGEL_PLACEHOLDER
        block["engel"] = {
            "food_cost": {s: dated(getattr(fit, s), np.inf, e) for s in STANDARDS},
            "engel_coefficient": {
                s: _fact(e, "share", "placeholder: only F/e is fitted") for s in STANDARDS
            },
        }
    else:
        block["consumption_ratio"] = {
            "ratio": {s: dated(getattr(fit, s), 1.0, 1.0) for s in STANDARDS}
        }
    return st.StandardsParams.model_validate(block)


def poverty_line(cpi: Mapping[int, float], year: int) -> float:
    """The national poverty line of ``year``, yuan/person/year: 2,300 at 2010 prices × CPI."""
    base_year, value = POVERTY_LINE_BASE
    return value * price_level(cpi, year, base_year, CPI)


def standard_inputs(
    year: int,
    previous: st.Stratified,
    drivers: Mapping[str, Mapping[int, float]],
    rules: BacktestRules,
    price_base: int,
) -> st.StandardInputs:
    """What the bureau knows when it sets ``year``'s standards, from the drivers; the
    fields of the rules the backtest leaves out (fiscal cap, price linkage) are zero."""
    zero = st.Stratified(0.0, 0.0)
    why = f"the {year} standard"
    cons, food, uplift = zero, 1.0, {}
    if rules.method == "engel":
        food = price_level(drivers[FOOD_CPI], year, price_base, FOOD_CPI)
    else:
        cons = st.Stratified(
            *(_need(drivers[CONSUMPTION[s]], year - 1, CONSUMPTION[s], why) for s in STANDARDS)
        )
        if rules.price_uplift:
            uplift = {year - 1: necessities_inflation(drivers, year - 1, rules.food_weight)}
    line = poverty_line(drivers[CPI], year) if rules.floors and year >= POVERTY_LINE_FROM else 0.0
    return st.StandardInputs(
        year=year,
        consumption_prev=cons,
        price_levels={"cpi_food": food},
        necessities_inflation=uplift,
        cpi_rates={},
        food_cpi_rates={},
        poverty_line_year=line,
        budget_revenue=0.0,
        budget_revenue_prev=0.0,
        previous=previous,
        recipients_prev=zero,
        relief_spending_prev=0.0,
    )


def project(
    fit: MechanismFit,
    start: st.Stratified,
    start_year: int,
    last_year: int,
    drivers: Mapping[str, Mapping[int, float]],
    rules: BacktestRules,
) -> dict[int, st.Stratified]:
    """The standards of start_year+1..last_year by ``standards.set_standards``, each year
    from the one before, starting from the observed standards of ``start_year``."""
    years = range(start_year + 1, last_year + 1)
    params = standards_params(fit, years, rules)
    out, previous = {}, start
    for year in years:
        inputs = standard_inputs(year, previous, drivers, rules, fit.fit_until)
        previous = st.set_standards(params, inputs).new
        out[year] = previous
    return out


# --- naive baselines ---------------------------------------------------------------------


def naive_last(values: Mapping[int, float], fit_until: int, years: Iterable[int]) -> list[float]:
    """The last value observed up to T, repeated."""
    last = max(y for y in values if y <= fit_until)
    return [float(values[last])] * len(list(years))


def naive_trend(values: Mapping[int, float], fit_until: int, years: Iterable[int]) -> list[float]:
    """x_last × (1 + g)^(t − last), g the compound average growth over the last three
    observed yearly steps: (x_last / x_b)^(1 / (last − b)) − 1, b the fourth-last observed
    year (the first, if fewer are observed; g = 0 with one)."""
    seen = sorted(y for y in values if y <= fit_until)
    last, first = seen[-1], seen[max(0, len(seen) - 1 - TREND_STEPS)]
    growth = (values[last] / values[first]) ** (1.0 / (last - first)) if last > first else 1.0
    return [float(values[last] * growth ** (y - last)) for y in years]


# --- the backtest ------------------------------------------------------------------------


def backtest(
    history_files: Iterable[str | Path],
    fit_until: int,
    horizon: int,
    drivers: str = "actual",
    forecaster: Forecaster | None = None,
    area: str = NATIONAL,
    **rules: Any,
) -> pd.DataFrame:
    """One row per projected year and standard (:data:`COLUMNS`), in the unit of the shared
    files; ``attrs["fit"]`` holds the :class:`MechanismFit`."""
    if drivers not in ("actual", "forecast"):
        raise UserError(f"--drivers must be actual or forecast, got {drivers!r}")
    if horizon < 1:
        raise UserError(f"--horizon must be at least 1, got {horizon}")
    try:
        the_rules = BacktestRules(**rules)
    except ValidationError as e:
        raise UserError(f"backtest rules: {e.errors()[0]['loc']}: {e.errors()[0]['msg']}") from None
    try:
        table = read_history(history_files)
    except ValueError as e:
        raise UserError(str(e)) from None
    known = known_at(table, fit_until, drivers, area)  # nothing of the standards after T
    last_year = fit_until + horizon
    paths = (
        forecast_drivers(known, last_year, forecaster) if drivers == "forecast" else known.drivers
    )
    fit = fit_mechanism(known.standards, paths, fit_until, the_rules)
    s = known.standards
    both = set(s["urban"]) & set(s["rural"])
    if not both:
        raise UserError(f"no year up to {fit_until} has both the urban and the rural standard")
    start = max(both)  # the projection runs from the last year with both standards
    model = project(
        fit, st.Stratified(s["urban"][start], s["rural"][start]), start, last_year, paths, the_rules
    )

    years = list(range(fit_until + 1, last_year + 1))
    rows = []
    for stratum, name in STANDARDS.items():
        unit = OUTPUT_UNITS[name]
        k = MONTHS[unit]
        actual = {**series(table, name + "_monthly", area), **series(table, name, area)}
        last = naive_last(known.standards[stratum], fit_until, years)
        trend = naive_trend(known.standards[stratum], fit_until, years)
        for i, year in enumerate(years):
            rows.append(
                (
                    year,
                    name,
                    unit,
                    actual[year] * k if year in actual else np.nan,
                    getattr(model[year], stratum) * k,
                    last[i] * k,
                    trend[i] * k,
                )
            )
    out = pd.DataFrame(rows, columns=list(COLUMNS))
    out.attrs["fit"] = fit
    out.attrs["drivers"] = drivers
    return out


def mape(table: pd.DataFrame) -> pd.DataFrame:
    """Mean absolute percentage error (%) of each scored column, by indicator and over all
    rows with an ``actual``; ``years`` counts the rows scored."""
    scored = table.dropna(subset=["actual"])
    groups = [(name, scored[scored["indicator"] == name]) for name in table["indicator"].unique()]
    rows = []
    for name, part in [*groups, ("all", scored)]:
        rel = (part[list(SCORED)].to_numpy() / part[["actual"]].to_numpy() - 1.0) * 100.0
        err = np.abs(rel).mean(axis=0) if len(part) else np.full(len(SCORED), np.nan)
        rows.append({"indicator": name, "years": len(part), **dict(zip(SCORED, err, strict=True))})
    return pd.DataFrame(rows).set_index("indicator")


# --- command line --------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("histories", nargs="+", help="long-format history files (CSV)")
    parser.add_argument(
        "--fit-until",
        type=whole_number(1900),
        required=True,
        metavar="YEAR",
        help="last year of the standards the mechanism is fitted to",
    )
    parser.add_argument(
        "--horizon",
        type=whole_number(1),
        required=True,
        metavar="K",
        help="years projected after --fit-until",
    )
    parser.add_argument(
        "--drivers",
        choices=("actual", "forecast"),
        default="actual",
        help="consumption and prices of the projected years: observed "
        "(conditional, default) or forecast from years up to --fit-until",
    )
    parser.add_argument("--out", required=True, metavar="FILE.csv", help="table written")
    parser.add_argument(
        "--method",
        choices=("consumption_ratio", "engel"),
        default="consumption_ratio",
        help="base method (default consumption_ratio)",
    )
    parser.add_argument(
        "--no-drift",
        dest="drift",
        action="store_false",
        help="a constant multiplier (default: fitted linear drift)",
    )
    parser.add_argument(
        "--price-uplift",
        action="store_true",
        help="uplift the consumption base by last year's necessities inflation (default off)",
    )
    parser.add_argument(
        "--no-convergence",
        dest="convergence",
        action="store_false",
        help="no least rise of the rural/urban ratio",
    )
    parser.add_argument(
        "--no-floors",
        dest="floors",
        action="store_false",
        help="no poverty-line floor and no ratchet",
    )
    parser.add_argument(
        "--rounding",
        action="store_true",
        help="round the standards to whole yuan a month (default off)",
    )


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if not out.parent.is_dir():
        raise UserError(f"--out {out}: folder {out.parent} does not exist")
    table = backtest(
        args.histories,
        args.fit_until,
        args.horizon,
        args.drivers,
        method=args.method,
        drift=args.drift,
        price_uplift=args.price_uplift,
        convergence=args.convergence,
        floors=args.floors,
        rounding=args.rounding,
    )
    write_atomic(out, lambda p: table.to_csv(p, index=False, float_format="%.2f", na_rep=""))
    first, last = args.fit_until + 1, args.fit_until + args.horizon
    print(
        f"backtest {first}-{last}: fitted up to {args.fit_until}, drivers {args.drivers}, "
        f"method {args.method}"
    )
    print(f"fit: {table.attrs['fit'].describe()}")
    errors = mape(table)
    print("mean absolute percentage error (%), years with an actual value:")
    print(errors.to_string(float_format=lambda v: f"{v:.2f}"))
    print(f"wrote {out} ({len(table)} rows)")
    return 0
