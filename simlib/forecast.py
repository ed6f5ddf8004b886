"""Forecasts of one driver series: candidate statsmodels models, chosen out of sample.

DESIGN §6: past the last observed year the drivers (居民人均可支配收入 and 消费支出,
居民消费价格指数, budget revenue) come from time-series models fitted per series, with
prediction intervals, and replicates draw driver paths from them.  This module fits
one series; :mod:`simlib.economy` decides which series and what the paths feed.

A series is either a ``level`` (yuan, an index: positive) or a ``rate`` (a fraction y/y,
like CPI inflation 0.02).  A level is modelled in logs, a rate as it is.

Candidates (in this order; a tie goes to the earlier, simpler one; a candidate that
fails to fit, or forecasts what is not finite, is dropped and the notes say why)

==========================================  ==============================================
level                                        rate
==========================================  ==============================================
ARIMA(0,0,0)+c on log growth (random walk    ARIMA(0,0,0)+c on the rate (iid around the
with drift in logs)                          mean)
ARIMA(1,0,0)+c on log growth                 ARIMA(1,0,0)+c on the rate
ETS(A,A,N) on log level (Holt)               ETS(A,N,N) on the rate (simple smoothing)
ETS(A,Ad,N) on log level (damped trend)      ETS(A,Ad,N) on the rate (damped trend)
==========================================  ==============================================

ETS is statsmodels ``ETSModel`` (additive errors, maximum likelihood); ARIMA(p,0,0) with a
constant is statsmodels ``AutoReg`` (conditional least squares: fast, and for p ≤ 1 on
ten-odd points no worse than exact likelihood).  An AR(1) that is not stationary is
dropped.

Choice: rolling-origin forecasts over the last ``holdout`` observations.  From each origin
T-holdout … T-1 the candidate is refitted on the years before it and forecasts every
remaining held-out year (so 1- to holdout-step errors count, as the model is used
several years ahead); the score is the RMSE of those errors in log level (level) or in
the rate.  The chosen candidate is refitted on all years.

Too short a series: with fewer than ``min_obs`` (default 10) observations the rolling
origin would leave fewer than six years to fit a five-parameter damped trend to, and the
choice would rest on a handful of errors.  Such a series gets a documented simple model:

* level: a random walk with drift in logs; drift = the mean log growth, its sd = the
  sample sd of the log growths (at least ``sd_floor``); the drift's standard error
  sd/√m (m growths) is part of the spread, so an h-year log forecast has variance
  sd²·(h + h²/m) (as ``rwf(drift=TRUE)`` in Hyndman's *forecast*).  One observation: no
  drift can be measured, a random walk without drift.
* rate: iid normal around the mean of the observations, sd = their sample sd (at least
  ``sd_floor``), plus the standard error of the mean.

Gaps: a series is fitted on its latest unbroken run of years (the contiguous tail); years
before a gap are dropped and the notes say so.  (A gap in a published series often marks a
change of survey or definition, as the national consumption series before 2012.)

The forecast distribution: every candidate is linear and Gaussian in the modelled scale,
so the path over the horizon is ``centre + shocks @ z`` with z ~ N(0, I): ``centre`` is
the model's point forecast, and the columns of ``shocks`` are the responses of the path
to one-sd innovations (ETS: read off ``ETSResults.simulate`` fed unit errors; AR: the
ψ-weights of the fitted AR; growth is cumulated for a level).  The prediction intervals
are normal quantiles of that distribution — they equal statsmodels' own intervals
(``get_prediction``) where it gives them for the modelled series (checked in the tests) —
and are mapped back through ``exp`` for a level; ``mean`` of a level is
exp(centre + var/2), the mean of the log-normal.  Parameter uncertainty of the fitted
models is not included (as in statsmodels); that of the fallback's drift is.
``paths(n, rng)`` draws ``z`` from ``rng``: a pure function of the fit, n and the stream.

Cache: a fit is stored on disk under the hash of (values, kind, horizon, settings, the
statsmodels version, :data:`FORECAST_VERSION`) as ``<key>.npz`` (years, centre, shocks)
with a ``<key>.json`` sidecar (model, notes, scores), each written atomically; since the
forecast distribution is two small arrays, nothing is stored that ``paths`` could not
redraw exactly.  Folder: ``$SIMLIB_CACHE/forecasts`` if ``SIMLIB_CACHE`` is set, else
``<repo>/.cache/forecasts``.  An unreadable or inconsistent entry is refitted and
rewritten; a folder that cannot be written only loses the cache.  Within a process fits
are also kept in memory.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from statistics import NormalDist
from typing import Literal, NamedTuple

import numpy as np

Kind = Literal["level", "rate"]

FORECAST_VERSION = 1
"""Bumped when a change here changes fitted forecasts: older cache entries are not read."""
MIN_OBS = 10
HOLDOUT = 4
MIN_TRAIN = 6
"""The fewest years any candidate is fitted to (at the earliest rolling origin)."""
SD_FLOOR = {"level": 0.01, "rate": 0.005}
"""Smallest yearly sd of the fallback: one point of log growth (a level), half a point (a
rate).  A modelling choice: from one or two growths a sample sd is no measure of spread
(from one there is none); the national growth of income and the CPI varied by more than
this in 2012-2023 (national_consumption_cpi.csv)."""
Z80 = NormalDist().inv_cdf(0.90)
Z95 = NormalDist().inv_cdf(0.975)
_MEMO: dict[str, SeriesForecast] = {}


@dataclass(frozen=True, eq=False)
class SeriesForecast:
    """The forecast of one series for ``years``, in the series' units.

    ``centre`` and ``shocks`` are in the modelled scale (log level, or the rate): a path is
    ``centre + shocks @ z``, z ~ N(0, I).
    """

    name: str
    kind: Kind
    model: str
    years: np.ndarray
    mean: np.ndarray
    lower80: np.ndarray
    upper80: np.ndarray
    lower95: np.ndarray
    upper95: np.ndarray
    centre: np.ndarray
    shocks: np.ndarray
    fitted_years: tuple[int, int]
    """The first and last year of the observations fitted."""
    scores: Mapping[str, float] = field(default_factory=dict)
    """Out-of-sample RMSE of each candidate (NaN: failed); empty for a fallback."""
    notes: tuple[str, ...] = ()
    """What the reader should know: years dropped, fit warnings, candidates dropped."""

    @property
    def sd(self) -> np.ndarray:
        """The forecast sd of each year in the modelled scale."""
        return np.sqrt((self.shocks**2).sum(axis=1))

    def paths(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` simulated paths, shape (n, horizon), in the series' units."""
        if n < 0:
            raise ValueError(f"n must be non-negative, got {n}")
        z = rng.standard_normal((n, self.shocks.shape[1]))
        return _to_units(self.kind, self.centre + z @ self.shocks.T)


def fit(
    values: Mapping[int, float],
    kind: Kind,
    horizon: int,
    name: str = "",
    *,
    min_obs: int = MIN_OBS,
    holdout: int = HOLDOUT,
    sd_floor: float | None = None,
    cache_dir: str | Path | None = None,
) -> SeriesForecast:
    """Forecast ``values`` ({year: value}) ``horizon`` years past their last year.

    Cached (see the module docstring); ``cache_dir`` overrides the folder.
    """
    series = _checked(values, kind)
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1, got {horizon}")
    if holdout < 1 or min_obs < holdout + MIN_TRAIN:
        raise ValueError(
            f"min_obs ({min_obs}) must be at least holdout ({holdout}, ≥ 1) + {MIN_TRAIN}: "
            f"the earliest rolling-origin fit needs {MIN_TRAIN} years"
        )
    floor = SD_FLOOR[kind] if sd_floor is None else float(sd_floor)
    if not floor >= 0:
        raise ValueError(f"sd_floor must be non-negative, got {sd_floor}")
    settings = {"min_obs": min_obs, "holdout": holdout, "sd_floor": floor}
    key = _key(series, kind, horizon, settings)
    folder = Path(cache_dir) if cache_dir is not None else cache_folder()
    memo = f"{folder}/{key}"
    if memo in _MEMO:
        return _renamed(_MEMO[memo], name)
    found = _load(folder, key, kind)
    if found is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # those of the chosen fit are in its notes
            found = _fit(series, kind, horizon, min_obs, holdout, floor)
        _store(folder, key, found)
    _MEMO[memo] = found
    return _renamed(found, name)


def cache_folder() -> Path:
    """``$SIMLIB_CACHE/forecasts``, else ``<repo>/.cache/forecasts``."""
    root = os.environ.get("SIMLIB_CACHE")
    base = Path(root) if root else Path(__file__).resolve().parents[1] / ".cache"
    return base / "forecasts"


def clear_memory() -> None:
    """Forget the fits kept in memory (the disk cache stays)."""
    _MEMO.clear()


# --- the fit ---------------------------------------------------------------------------


class _Fitted(NamedTuple):
    centre: np.ndarray  # (horizon,) in the modelled scale
    shocks: np.ndarray  # (horizon, k)
    notes: tuple[str, ...]


class _Candidate(NamedTuple):
    label: str
    fit: Callable[[np.ndarray, int, bool], _Fitted]
    """(series in the modelled scale, horizon, with shocks?) -> fitted."""


def _checked(values: Mapping[int, float], kind: Kind) -> dict[int, float]:
    if kind not in ("level", "rate"):
        raise ValueError(f"kind must be 'level' or 'rate', got {kind!r}")
    series = {int(y): float(v) for y, v in sorted(values.items())}
    if not series:
        raise ValueError("no observations to forecast from")
    for y, v in series.items():
        if not math.isfinite(v):
            raise ValueError(f"{y}: {v} is not a finite number")
        if kind == "level" and v <= 0:
            raise ValueError(f"{y}: a level must be positive, got {v}")
        if kind == "rate" and v <= -1:
            raise ValueError(f"{y}: a rate must be above -1 (-100%), got {v}")
    return series


def _tail(series: dict[int, float]) -> tuple[list[int], list[str]]:
    """The latest unbroken run of years, and a note if earlier years were dropped."""
    years = list(series)
    start = len(years) - 1
    while start > 0 and years[start - 1] == years[start] - 1:
        start -= 1
    if start == 0:
        return years, []
    gap = f"{years[start - 1]}-{years[start]}"
    return years[start:], [
        f"fitted to {years[start]}-{years[-1]}: {start} earlier years dropped at the gap {gap}"
    ]


def _fit(
    series: dict[int, float], kind: Kind, horizon: int, min_obs: int, holdout: int, floor: float
) -> SeriesForecast:
    years, notes = _tail(series)
    x = np.array([series[y] for y in years])
    x = np.log(x) if kind == "level" else x
    last = years[-1]
    out_years = np.arange(last + 1, last + horizon + 1)
    span = (years[0], last)
    if len(x) < min_obs:
        label, fitted = _fallback(x, kind, horizon, floor, min_obs)
        return _forecast("", kind, label, out_years, fitted, span, {}, (*notes, *fitted.notes))
    scored = {c.label: _score(c, x, holdout) for c in _CANDIDATES[kind]}
    scores = {label: rmse for label, (rmse, _) in scored.items()}
    notes += [f"{label} dropped: {why}" for label, (_, why) in scored.items() if why]
    notes.append(
        f"chosen by rolling-origin RMSE over the last {holdout} years: "
        + ", ".join(f"{label} {s:.4g}" for label, s in scores.items())
    )
    # best first; of equal scores the earlier, simpler candidate (a stable sort)
    ranked = sorted(
        (c for c in _CANDIDATES[kind] if math.isfinite(scores[c.label])),
        key=lambda c: scores[c.label],
    )
    for candidate in ranked:
        try:
            fitted = candidate.fit(x, horizon, True)
        except Exception as e:  # a candidate that fails is dropped
            notes.append(f"{candidate.label} failed on all years: {type(e).__name__}: {e}")
            continue
        return _forecast(
            "", kind, candidate.label, out_years, fitted, span, scores, (*notes, *fitted.notes)
        )
    label, fitted = _fallback(x, kind, horizon, floor, min_obs)
    notes.append("no candidate could be fitted: the fallback is used")
    return _forecast("", kind, label, out_years, fitted, span, scores, (*notes, *fitted.notes))


def _score(candidate: _Candidate, x: np.ndarray, holdout: int) -> tuple[float, str]:
    """RMSE of the candidate's forecasts from each of the last ``holdout`` origins, and why
    it is NaN if the candidate failed."""
    n = len(x)
    errors: list[np.ndarray] = []
    for origin in range(n - holdout, n):
        try:
            fitted = candidate.fit(x[:origin], n - origin, False)
        except Exception as e:  # statsmodels raises many kinds
            return math.nan, f"fitted to {origin} years: {type(e).__name__}: {e}"
        errors.append(x[origin:] - fitted.centre)
    e = np.concatenate(errors)
    if not np.isfinite(e).all():
        return math.nan, "forecasts that are not finite"
    return float(np.sqrt(np.mean(e**2))), ""


def _forecast(
    name: str,
    kind: Kind,
    model: str,
    years: np.ndarray,
    fitted: _Fitted,
    span: tuple[int, int],
    scores: Mapping[str, float],
    notes: tuple[str, ...],
) -> SeriesForecast:
    centre, shocks = fitted.centre.astype(float), fitted.shocks.astype(float)
    sd = np.sqrt((shocks**2).sum(axis=1))
    arrays = {
        "years": np.asarray(years, dtype=int),
        "mean": np.exp(centre + sd**2 / 2) if kind == "level" else centre.copy(),
        "lower80": _to_units(kind, centre - Z80 * sd),
        "upper80": _to_units(kind, centre + Z80 * sd),
        "lower95": _to_units(kind, centre - Z95 * sd),
        "upper95": _to_units(kind, centre + Z95 * sd),
        "centre": centre,
        "shocks": shocks,
    }
    for a in arrays.values():
        a.flags.writeable = False  # shared by every caller of a cached fit
    return SeriesForecast(
        name=name,
        kind=kind,
        model=model,
        fitted_years=span,
        scores=dict(scores),
        notes=notes,
        **arrays,
    )


def _to_units(kind: Kind, x: np.ndarray) -> np.ndarray:
    return np.exp(x) if kind == "level" else np.asarray(x, dtype=float)


def _renamed(f: SeriesForecast, name: str) -> SeriesForecast:
    return f if f.name == name else replace(f, name=name)


# --- the fallback ----------------------------------------------------------------------


def _fallback(
    x: np.ndarray, kind: Kind, horizon: int, floor: float, min_obs: int
) -> tuple[str, _Fitted]:
    """Random walk with drift in logs (level) or iid normal around the mean (rate)."""
    n = len(x)
    h = np.arange(1, horizon + 1, dtype=float)
    why = f"too short: {n} observation{'s' if n != 1 else ''}, fewer than {min_obs}"
    if kind == "rate":
        sd = max(float(np.std(x, ddof=1)) if n > 1 else 0.0, floor)
        shocks = np.column_stack([np.full(horizon, sd / math.sqrt(n)), sd * np.eye(horizon)])
        label = f"iid normal around the mean ({why})"
        note = f"mean {x.mean():.4g}, sd {sd:.4g} (floor {floor:g}) from {n} observations"
        return label, _Fitted(np.full(horizon, x.mean()), shocks, (note,))
    growth = np.diff(x)
    m = len(growth)
    walk = sd_walk = 0.0
    if m:
        walk = float(growth.mean())
        sd_walk = float(np.std(growth, ddof=1)) if m > 1 else 0.0
    sd = max(sd_walk, floor)
    cumulative = np.tril(np.ones((horizon, horizon)))
    if m:
        shocks = np.column_stack([h * sd / math.sqrt(m), sd * cumulative])
        label = f"random walk with drift in logs ({why})"
        note = f"drift {walk:.4g}, sd {sd:.4g} (floor {floor:g}) of {m} log growths"
    else:
        shocks = sd * cumulative
        label = f"random walk in logs without drift ({why}: no growth to measure)"
        note = f"sd {sd:.4g} (the floor)"
    return label, _Fitted(x[-1] + walk * h, shocks, (note,))


# --- the candidates ---------------------------------------------------------------------


class _Unfit(Exception):
    """A candidate that cannot be used on this series (too short, not stationary)."""


def _quietly(fit: Callable[[], object]) -> tuple[object, tuple[str, ...]]:
    """Run a statsmodels fit with its warnings caught; their messages as notes."""
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        result = fit()
    seen = dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught)
    return result, tuple(seen)


def _ar(p: int, on_growth: bool) -> Callable[[np.ndarray, int, bool], _Fitted]:
    def fit_ar(x: np.ndarray, horizon: int, with_shocks: bool) -> _Fitted:
        from statsmodels.tsa.ar_model import AutoReg

        y = np.diff(x) if on_growth else x
        if len(y) < p + 3:
            raise _Unfit(f"{len(y)} points for AR({p})")
        res, caught = _quietly(lambda: AutoReg(y, lags=p, trend="c").fit())
        phi = float(res.params[1]) if p else 0.0
        if abs(phi) >= 1:
            raise _Unfit(f"AR coefficient {phi:.3f} is not stationary")
        ahead = np.asarray(res.forecast(horizon), dtype=float)
        centre = x[-1] + np.cumsum(ahead) if on_growth else ahead
        if not with_shocks:
            return _Fitted(centre, np.zeros((horizon, 0)), ())
        lags = np.subtract.outer(np.arange(horizon), np.arange(horizon))
        psi = np.where(lags >= 0, phi ** np.maximum(lags, 0), 0.0)
        psi = np.cumsum(psi, axis=0) if on_growth else psi
        notes = caught + _poor(res)
        return _Fitted(centre, math.sqrt(float(res.sigma2)) * psi, notes)

    return fit_ar


def _ets(trend: bool, damped: bool) -> Callable[[np.ndarray, int, bool], _Fitted]:
    def fit_ets(x: np.ndarray, horizon: int, with_shocks: bool) -> _Fitted:
        import pandas as pd
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        y = pd.Series(x)
        model = ETSModel(y, error="add", trend="add" if trend else None, damped_trend=damped)
        res, caught = _quietly(lambda: model.fit(disp=False))
        centre = np.asarray(res.forecast(horizon), dtype=float)
        if not with_shocks:
            return _Fitted(centre, np.zeros((horizon, 0)), ())
        zero = np.zeros((horizon, 1))
        base = np.asarray(res.simulate(horizon, anchor="end", random_errors=zero), dtype=float)
        unit = res.simulate(
            horizon, anchor="end", repetitions=horizon, random_errors=np.eye(horizon)
        )
        psi = np.asarray(unit, dtype=float).reshape(horizon, horizon) - base.reshape(horizon, 1)
        notes = caught + _poor(res)
        return _Fitted(centre, math.sqrt(float(res.mse)) * psi, notes)

    return fit_ets


def _poor(res: object) -> tuple[str, ...]:
    retvals = getattr(res, "mle_retvals", None) or {}
    if retvals.get("converged", True) is False:
        return ("the optimiser did not converge: treat this forecast with care",)
    return ()


_CANDIDATES: dict[str, tuple[_Candidate, ...]] = {
    "level": (
        _Candidate("ARIMA(0,0,0)+c on log growth", _ar(0, on_growth=True)),
        _Candidate("ARIMA(1,0,0)+c on log growth", _ar(1, on_growth=True)),
        _Candidate("ETS(A,A,N) on log level", _ets(trend=True, damped=False)),
        _Candidate("ETS(A,Ad,N) on log level", _ets(trend=True, damped=True)),
    ),
    "rate": (
        _Candidate("ARIMA(0,0,0)+c on the rate", _ar(0, on_growth=False)),
        _Candidate("ARIMA(1,0,0)+c on the rate", _ar(1, on_growth=False)),
        _Candidate("ETS(A,N,N) on the rate", _ets(trend=False, damped=False)),
        _Candidate("ETS(A,Ad,N) on the rate", _ets(trend=True, damped=True)),
    ),
}


# --- the cache --------------------------------------------------------------------------


def _statsmodels_version() -> str:
    try:
        return metadata.version("statsmodels")
    except metadata.PackageNotFoundError:
        return "not installed"


def _key(series: dict[int, float], kind: Kind, horizon: int, settings: dict) -> str:
    payload = {
        "values": [[y, repr(v)] for y, v in series.items()],
        "kind": kind,
        "horizon": horizon,
        "settings": settings,
        "statsmodels": _statsmodels_version(),
        "version": FORECAST_VERSION,
    }
    text = json.dumps(payload, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _load(folder: Path, key: str, kind: Kind) -> SeriesForecast | None:
    """The cached fit, or None if absent, unreadable or inconsistent."""
    try:
        meta = json.loads((folder / f"{key}.json").read_text(encoding="utf-8"))
        with np.load(folder / f"{key}.npz", allow_pickle=False) as data:
            years, centre, shocks = data["years"], data["centre"], data["shocks"]
        if meta["key"] != key or meta["kind"] != kind:
            return None
        horizon = len(years)
        if centre.shape != (horizon,) or shocks.ndim != 2 or shocks.shape[0] != horizon:
            return None
        if not (np.isfinite(centre).all() and np.isfinite(shocks).all()):
            return None
        fitted = _Fitted(centre.astype(float), shocks.astype(float), ())
        scores = {str(k): math.nan if v is None else float(v) for k, v in meta["scores"].items()}
        span = (int(meta["fitted_years"][0]), int(meta["fitted_years"][1]))
        notes = tuple(str(n) for n in meta["notes"])
        return _forecast(
            "", kind, str(meta["model"]), years.astype(int), fitted, span, scores, notes
        )
    except (OSError, ValueError, KeyError, TypeError, IndexError, EOFError):
        return None


def _store(folder: Path, key: str, f: SeriesForecast) -> None:
    """Write the fit: the arrays first, the sidecar last (a sidecar means a whole entry)."""
    from simlib.files import write_atomic

    meta = {
        "key": key,
        "kind": f.kind,
        "model": f.model,
        "fitted_years": list(f.fitted_years),
        "scores": {k: (v if math.isfinite(v) else None) for k, v in f.scores.items()},
        "notes": list(f.notes),
        "statsmodels": _statsmodels_version(),
        "version": FORECAST_VERSION,
    }

    def arrays(path: Path) -> None:
        with path.open("wb") as out:
            np.savez(out, years=f.years, centre=f.centre, shocks=f.shocks)

    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / f"{key}.npz", arrays)
        text = json.dumps(meta, indent=1, ensure_ascii=False, allow_nan=False)
        write_atomic(folder / f"{key}.json", lambda p: p.write_text(text, encoding="utf-8"))
    except OSError:
        pass  # a cache that cannot be written costs a refit next time, nothing else
