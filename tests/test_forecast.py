"""Driver forecasts: candidates chosen out of sample, the fallback worked by hand, intervals,
paths, the cache, and what the economy and the replicates do with them."""

from __future__ import annotations

import copy
import functools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from simlib import forecast
from simlib.economy import EconomyParams, build_drivers, economy_seed, forecast_table
from simlib.parameters import load_tree
from simlib.runs import replicate_drivers, replicate_seeds
from simlib.scenario import load_scenario
from tests.conftest import BASELINE

Z95 = 1.959963984540054  # the 97.5% normal quantile
Z80 = 1.2815515655446004  # the 90% normal quantile


@pytest.fixture(scope="module", autouse=True)
def cache(tmp_path_factory):
    """One cache folder for the whole file (so the economy's fits are shared), never the
    repository's; set before any fit (module scope, autouse)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SIMLIB_CACHE", str(tmp_path_factory.mktemp("simlib-cache")))
        yield


def random_walk_with_drift() -> dict[int, float]:
    """16 years, 2008-2023, of a level whose log grows by 0.05 a year plus N(0, 0.01) noise."""
    rng = np.random.default_rng(2016)
    logs = np.log(100.0) + np.cumsum(0.05 + rng.normal(0.0, 0.01, 16))
    return {2008 + i: float(np.exp(v)) for i, v in enumerate(logs)}


def ar1_rate() -> dict[int, float]:
    """30 years, 1994-2023, of r_t = 0.02 + 0.6 (r_{t-1} - 0.02) + N(0, 0.005)."""
    rng = np.random.default_rng(1)
    r = [0.02]
    for _ in range(29):
        r.append(0.02 + 0.6 * (r[-1] - 0.02) + rng.normal(0.0, 0.005))
    return {1994 + i: v for i, v in enumerate(r)}


@pytest.fixture(scope="module")
def drift_fit() -> forecast.SeriesForecast:
    return forecast.fit(random_walk_with_drift(), "level", 6, "income")


@pytest.fixture(scope="module")
def ar1_fit() -> forecast.SeriesForecast:
    return forecast.fit(ar1_rate(), "rate", 10, "cpi")


# --- fitted models -------------------------------------------------------------------------


def test_a_log_linear_series_is_forecast_along_its_drift(drift_fit):
    f = drift_fit
    last = random_walk_with_drift()[2023]
    assert f.name == "income" and f.kind == "level"
    assert list(f.years) == [2024, 2025, 2026, 2027, 2028, 2029]
    assert f.fitted_years == (2008, 2023)
    assert f.model in {c.label for c in forecast._CANDIDATES["level"]}
    assert set(f.scores) == {c.label for c in forecast._CANDIDATES["level"]}
    assert f.scores[f.model] == min(f.scores.values())
    assert any("rolling-origin RMSE over the last 4 years" in n for n in f.notes)
    # the drift path: last × e^(0.05 h); the drift is estimated from 15 noisy growths
    # (sd 0.01/√15 = 0.0026 a year), so after 6 years within 3%
    drift_path = last * np.exp(0.05 * np.arange(1, 7))
    assert np.allclose(f.mean, drift_path, rtol=0.03)
    growth = np.diff(np.log(np.concatenate([[last], f.mean])))
    assert ((growth > 0.04) & (growth < 0.06)).all()


def test_a_known_ar1_rate_reverts_towards_its_mean(ar1_fit):
    f = ar1_fit
    r = ar1_rate()
    assert f.kind == "rate" and f.fitted_years == (1994, 2023)
    # the series ends below its mean 0.02 (r_2023 = 0.0163); the forecast starts near it and
    # stays between it and the mean, far from the -1..10 range a rate may take
    assert r[2023] == pytest.approx(0.0163, abs=1e-4)
    assert np.all(np.abs(f.mean - 0.02) < 0.008)
    # one-year 95% interval about ±1.96 × 0.005 = ±0.0098 (the innovation sd)
    assert (f.upper95[0] - f.lower95[0]) / 2 == pytest.approx(Z95 * 0.005, rel=0.35)


def test_the_ar1_candidate_estimates_the_coefficient():
    # AR(1) on the rate, fitted directly: φ ≈ 0.6, mean ≈ 0.02, ψ-weights φ^j
    x = np.array(list(ar1_rate().values()))
    ar1 = forecast._CANDIDATES["rate"][1]
    assert ar1.label == "ARIMA(1,0,0)+c on the rate"
    fitted = ar1.fit(x, 3, True)
    from statsmodels.tsa.ar_model import AutoReg

    res = AutoReg(x, lags=1, trend="c").fit()
    phi = res.params[1]
    assert phi == pytest.approx(0.6, abs=0.2)
    # the response of year h to the shock of year 1 is σ φ^(h-1)
    sigma = math.sqrt(res.sigma2)
    assert fitted.shocks[:, 0] == pytest.approx(sigma * phi ** np.arange(3))
    assert fitted.centre[0] == pytest.approx(res.params[0] + phi * x[-1])


@pytest.mark.parametrize("index", [1, 3])
def test_intervals_are_the_statsmodels_intervals(index):
    # AR(1) (AutoReg) and ETS(A,Ad,N) (ETSModel) on the rate: our sd per year equals the
    # forecast variance statsmodels reports for the same fit
    x = np.array(list(ar1_rate().values()))
    candidate = forecast._CANDIDATES["rate"][index]
    fitted = candidate.fit(x, 5, True)
    sd = np.sqrt((fitted.shocks**2).sum(axis=1))
    if index == 1:
        from statsmodels.tsa.ar_model import AutoReg

        res = AutoReg(x, lags=1, trend="c").fit()
        theirs = res.get_prediction(start=len(x), end=len(x) + 4)
    else:
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        model = ETSModel(pd.Series(x), error="add", trend="add", damped_trend=True)
        res = model.fit(disp=False)
        theirs = res.get_prediction(start=len(x), end=len(x) + 4)
    assert sd == pytest.approx(np.sqrt(np.asarray(theirs.var_pred_mean)), rel=1e-6)
    assert fitted.centre == pytest.approx(np.asarray(theirs.predicted_mean), rel=1e-9)


def test_a_failing_candidate_is_dropped_and_said_so(monkeypatch):
    def broken(x, horizon, with_shocks):
        raise np.linalg.LinAlgError("singular")

    iid = forecast._CANDIDATES["rate"][0]
    candidates = {"rate": (forecast._Candidate("broken", broken), iid)}
    monkeypatch.setattr(forecast, "_CANDIDATES", candidates)
    values = {2010 + i: 0.02 + 0.01 * (-1) ** i for i in range(12)}
    f = forecast.fit(values, "rate", 2, cache_dir=None)
    assert f.model == iid.label
    assert math.isnan(f.scores["broken"])
    assert any(n.startswith("broken dropped: fitted to 8 years: LinAlgError") for n in f.notes)
    # the iid model: the mean of six 0.03 and six 0.01 = 0.02
    assert f.mean == pytest.approx([0.02, 0.02])
    monkeypatch.setattr(forecast, "_CANDIDATES", {"rate": (forecast._Candidate("b", broken),)})
    f = forecast.fit({**values, 2022: 0.03}, "rate", 2)
    assert f.model.startswith("iid normal around the mean")
    assert "no candidate could be fitted: the fallback is used" in f.notes


# --- the fallback, by hand -------------------------------------------------------------------


def test_a_short_level_gets_a_random_walk_with_drift_worked_by_hand():
    # log growths 0.10, 0.06, 0.08: drift = 0.08, sd = √((0.02² + 0.02² + 0²) / 2) = 0.02,
    # m = 3 growths.  Log variance after h years: 0.02² (h + h²/3):
    # h = 1: 0.0004 × 4/3 = 0.000533 (sd 0.023094); h = 2: 0.0004 × (2 + 4/3) = 0.001333
    logs = np.log(100.0) + np.cumsum([0.0, 0.10, 0.06, 0.08])
    values = {2020 + i: float(np.exp(v)) for i, v in enumerate(logs)}
    f = forecast.fit(values, "level", 2, "short")
    assert f.model == "random walk with drift in logs (too short: 4 observations, fewer than 10)"
    assert f.scores == {}
    assert "drift 0.08, sd 0.02" in f.notes[0]
    last = values[2023]
    sd1, sd2 = math.sqrt(0.0004 * 4 / 3), math.sqrt(0.0004 * (2 + 4 / 3))
    assert f.sd == pytest.approx([sd1, sd2])
    assert f.mean == pytest.approx(last * np.exp([0.08 + sd1**2 / 2, 0.16 + sd2**2 / 2]))
    assert f.lower95[0] == pytest.approx(last * math.exp(0.08 - Z95 * sd1))
    assert f.upper80[1] == pytest.approx(last * math.exp(0.16 + Z80 * sd2))


def test_a_short_rate_is_iid_around_its_mean_worked_by_hand():
    # mean 0.02, sd 0.01 (ddof 1), standard error of the mean 0.01/√3:
    # sd of a year = 0.01 × √(1 + 1/3) = 0.011547, the same every year
    f = forecast.fit({2021: 0.01, 2022: 0.03, 2023: 0.02}, "rate", 3)
    assert f.model == "iid normal around the mean (too short: 3 observations, fewer than 10)"
    assert f.mean == pytest.approx([0.02] * 3)
    assert f.sd == pytest.approx([0.01 * math.sqrt(4 / 3)] * 3)
    assert f.upper95[2] == pytest.approx(0.02 + Z95 * 0.01 * math.sqrt(4 / 3))


def test_one_or_two_observations_use_the_floor():
    one = forecast.fit({2023: 200.0}, "level", 2)
    assert one.model.startswith("random walk in logs without drift")
    # no drift: the median stays at 200; sd = the floor 0.01, then 0.01 × √2
    assert one.sd == pytest.approx([0.01, 0.01 * math.sqrt(2)])
    assert np.exp(one.centre) == pytest.approx([200.0, 200.0])
    two = forecast.fit({2022: 100.0, 2023: 105.0}, "level", 1, sd_floor=0.03)
    # one growth log(1.05) = 0.04879, no sd from one value: the floor 0.03, m = 1:
    # variance 0.03² (1 + 1) → sd 0.042426
    assert two.centre == pytest.approx([math.log(105.0) + math.log(1.05)])
    assert two.sd == pytest.approx([0.03 * math.sqrt(2)])


def test_a_gap_leaves_the_latest_unbroken_run():
    # 2008-2014 and 2016-2023: the eight years after the gap are fitted (so: the fallback)
    values = {y: v for y, v in random_walk_with_drift().items() if y != 2015}
    f = forecast.fit(values, "level", 2)
    assert f.fitted_years == (2016, 2023)
    assert "7 earlier years dropped at the gap 2014-2016" in f.notes[0]
    assert f.model.startswith("random walk with drift in logs (too short: 8 observations")


# --- intervals and paths ------------------------------------------------------------------------


def test_intervals_widen_with_the_horizon_and_contain_the_mean(drift_fit, ar1_fit):
    short = forecast.fit({2020: 100.0, 2021: 108.0, 2022: 113.0, 2023: 125.0}, "level", 8)
    for f in (short, drift_fit, ar1_fit):
        assert (f.lower95 < f.lower80).all() and (f.lower80 < f.mean).all()
        assert (f.mean < f.upper80).all() and (f.upper80 < f.upper95).all()
        width = np.log(f.upper95 / f.lower95) if f.kind == "level" else f.upper95 - f.lower95
        assert (np.diff(width) >= -1e-12).all()  # never narrower further ahead
    # the random walk widens strictly: sd² = s² (h + h²/m)
    assert (np.diff(short.sd) > 0).all()


def test_paths_are_reproducible_for_a_seed_and_centred_on_the_mean(drift_fit):
    f = drift_fit
    a = f.paths(20_000, np.random.default_rng(5))
    b = f.paths(20_000, np.random.default_rng(5))
    c = f.paths(20_000, np.random.default_rng(6))
    assert a.shape == (20_000, 6)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    # mean of log-normal paths: its standard error is about mean × sd / √n < 0.01%
    assert a.mean(axis=0) == pytest.approx(f.mean, rel=5e-4)
    # and their quantiles are the intervals
    assert np.quantile(a, 0.025, axis=0) == pytest.approx(f.lower95, rel=2e-3)
    assert np.quantile(a, 0.9, axis=0) == pytest.approx(f.upper80, rel=2e-3)
    assert f.paths(0, np.random.default_rng(1)).shape == (0, 6)


# --- the cache ------------------------------------------------------------------------------------


def test_the_cache_is_read_instead_of_refitting(tmp_path, monkeypatch):
    values = {2015 + i: 100.0 * 1.06**i for i in range(5)}
    first = forecast.fit(values, "level", 4, "a", cache_dir=tmp_path)
    files = sorted(p.suffix for p in tmp_path.iterdir())
    assert files == [".json", ".npz"]
    forecast.clear_memory()

    def no_refit(*args, **kwargs):
        raise AssertionError("refitted")

    monkeypatch.setattr(forecast, "_fit", no_refit)
    second = forecast.fit(values, "level", 4, "b", cache_dir=tmp_path)
    assert second.name == "b" and second.model == first.model
    for field in ("years", "mean", "lower80", "upper80", "lower95", "upper95", "shocks"):
        assert np.array_equal(getattr(first, field), getattr(second, field)), field
    rng = np.random.default_rng(3)
    assert np.array_equal(first.paths(5, rng), second.paths(5, np.random.default_rng(3)))


def test_a_different_horizon_or_setting_is_a_different_entry(tmp_path):
    values = {2015 + i: 100.0 * 1.06**i for i in range(5)}
    forecast.fit(values, "level", 4, cache_dir=tmp_path)
    forecast.fit(values, "level", 5, cache_dir=tmp_path)
    forecast.fit(values, "level", 4, cache_dir=tmp_path, sd_floor=0.02)
    assert len(list(tmp_path.glob("*.npz"))) == 3


@pytest.mark.parametrize("damage", ["npz", "json", "shape"])
def test_a_corrupt_cache_entry_is_refitted(tmp_path, monkeypatch, damage):
    values = {2015 + i: 0.02 + 0.001 * i for i in range(5)}
    first = forecast.fit(values, "rate", 3, cache_dir=tmp_path)
    forecast.clear_memory()
    npz, sidecar = next(tmp_path.glob("*.npz")), next(tmp_path.glob("*.json"))
    if damage == "npz":
        npz.write_bytes(b"not a zip file")
    elif damage == "json":
        sidecar.write_text("{", encoding="utf-8")
    else:
        with npz.open("wb") as out:
            np.savez(out, years=first.years, centre=first.centre[:2], shocks=first.shocks)
    calls = []
    real = forecast._fit
    monkeypatch.setattr(forecast, "_fit", lambda *a: calls.append(1) or real(*a))
    again = forecast.fit(values, "rate", 3, cache_dir=tmp_path)
    assert calls == [1]
    assert np.array_equal(again.mean, first.mean) and np.array_equal(again.upper95, first.upper95)
    # the entry is whole again
    forecast.clear_memory()
    assert forecast.fit(values, "rate", 3, cache_dir=tmp_path).model == first.model
    assert calls == [1]
    assert json.loads(sidecar.read_text(encoding="utf-8"))["model"] == first.model


def test_the_cache_folder_follows_simlib_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("SIMLIB_CACHE", str(tmp_path))
    assert forecast.cache_folder() == tmp_path / "forecasts"
    monkeypatch.delenv("SIMLIB_CACHE")
    assert forecast.cache_folder() == Path(forecast.__file__).resolve().parents[1] / ".cache" / (
        "forecasts"
    )


# --- bad inputs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "kind", "horizon", "kwargs", "message"),
    [
        ({}, "level", 3, {}, "no observations"),
        ({2020: 1.0, 2021: -2.0}, "level", 3, {}, "must be positive"),
        ({2020: 0.01, 2021: -1.5}, "rate", 3, {}, "above -1"),
        ({2020: 0.01, 2021: math.nan}, "rate", 3, {}, "not a finite number"),
        ({2020: 1.0}, "level", 0, {}, "horizon"),
        ({2020: 1.0}, "index", 3, {}, "kind"),
        ({2020: 1.0}, "level", 3, {"min_obs": 8, "holdout": 4}, "at least holdout"),
        ({2020: 1.0}, "level", 3, {"sd_floor": -0.1}, "sd_floor"),
    ],
)
def test_bad_inputs_are_refused(values, kind, horizon, kwargs, message):
    with pytest.raises(ValueError, match=message):
        forecast.fit(values, kind, horizon, **kwargs)


# --- the economy: forecasts in the drivers --------------------------------------------------------

FORECAST = {
    "method": "statsmodels",
    "paths": "sampled",
    # the food CPI is left out to keep the file fast: one fewer series to fit
    "drivers": ["dispinc_pc_urban", "dispinc_pc_rural", "cpi", "budget_revenue"],
}


@functools.cache
def _baseline_economy() -> dict:
    return load_tree(BASELINE).data["economy"]


def baseline_economy() -> dict:
    """The baseline's economy block as a dict (a copy to change)."""
    return copy.deepcopy(_baseline_economy())


def economy(**forecast_block) -> EconomyParams:
    data = baseline_economy()
    data["forecast"] = forecast_block
    return EconomyParams.model_validate(data)


@pytest.fixture(scope="module")
def assumed():
    return build_drivers(economy(method="assumed"), 2010, 2031)


@pytest.fixture(scope="module")
def forecast_mean():
    return build_drivers(economy(**FORECAST), 2010, 2031)


def test_the_drivers_say_which_forecast_they_come_from(forecast_mean, assumed):
    d = forecast_mean
    assert d.provenance("cpi", 2025).startswith("assumption: forecast (")
    assert "forecast (random walk with drift in logs (too short: 8 observations" in d.provenance(
        "dispinc_pc_urban", 2025
    )
    # the food CPI is not in `drivers`: still the assumption, 3.0%
    assert d.value("cpi_food", 2025) == pytest.approx(0.03)
    assert "assumed (economy.drivers.cpi_food.rate)" in d.provenance("cpi_food", 2025)
    # budget revenue has no observed growth: its assumption (5%), no spread, and it says so
    assert d.value("budget_revenue", 2025) == pytest.approx(d.value("budget_revenue", 2024) * 1.05)
    assert "no observed history to forecast, no spread" in d.provenance("budget_revenue", 2025)
    # history is history: income to 2022, the CPI to 2023
    for name in assumed.names:
        assert np.array_equal(d.series(name)[:13], assumed.series(name)[:13]), name
    assert np.array_equal(d.series("cpi")[:14], assumed.series("cpi")[:14])


def test_the_income_forecast_is_the_random_walk_of_the_observed_growth(forecast_mean, assumed):
    # the national urban index: 2015 31195, (2016 filled geometrically), 2017 36396 ... 2022
    # 49283; drift = mean log growth = log(49283 / 31195) / 7; the mean path grows by
    # e^(drift + Δvariance/2); over 2023-2025 the median grows by e^(3 drift)
    drift = math.log(49283 / 31195) / 7
    d = forecast_mean
    median_ratio = d.value("dispinc_pc_urban", 2025) / d.value("dispinc_pc_urban", 2022)
    assert median_ratio == pytest.approx(math.exp(3 * drift), rel=2e-3)
    assert d.value("dispinc_pc_urban", 2022) == assumed.value("dispinc_pc_urban", 2022)
    # consumption follows income through the Sichuan ratio, held at 2020's
    assert d.value("cons_pc_urban", 2025) == pytest.approx(
        d.value("dispinc_pc_urban", 2025) * 25133 / 38253
    )


def test_the_projection_without_a_seed_is_the_mean_path():
    params = economy(**FORECAST)
    table = forecast_table(params, 2020, 2031)
    cpi = table[table["driver"] == "cpi"].set_index("year")
    d = build_drivers(params, 2010, 2031)
    assert list(cpi.index) == list(range(2024, 2032))
    assert cpi.loc[2025, "mean"] == pytest.approx(d.value("cpi", 2025))
    assert (cpi["lower95"] < cpi["mean"]).all() and (cpi["mean"] < cpi["upper95"]).all()
    urban = table[table["driver"] == "dispinc_pc_urban"].set_index("year")
    # the index forecast scaled to yuan: the median year 2023 ≈ the driver's 2023 value
    assert urban.loc[2023, "unit"] == "yuan/person/year"
    assert urban.loc[2023, "mean"] == pytest.approx(d.value("dispinc_pc_urban", 2023), rel=1e-3)
    assert table[table["driver"] == "budget_revenue"]["model"].str.startswith("none").all()
    # a run that ends in the history has nothing forecast in its years
    assert forecast_table(params, 2010, 2019).empty


def test_a_scenario_override_still_wins_over_the_forecast(forecast_mean):
    data = baseline_economy()
    data["forecast"] = FORECAST
    spike = {"values": {2025: 0.20, 2026: None}, "unit": "rate", "assumption": "spike"}
    data["drivers"]["cpi"] = {**data["drivers"]["cpi"], "override": spike}
    plan = {"values": {2025: 9.5e9}, "unit": "yuan", "assumption": "budget plan"}
    data["drivers"]["budget_revenue"] = {**data["drivers"]["budget_revenue"], "path": plan}
    d = build_drivers(EconomyParams.model_validate(data), 2010, 2031)
    assert d.value("cpi", 2025) == pytest.approx(0.20)
    assert "spike" in d.provenance("cpi", 2025)
    assert d.value("cpi", 2026) == forecast_mean.value("cpi", 2026)  # back to the forecast
    assert d.value("budget_revenue", 2027) == 9.5e9
    # sampled: the override wins in every replicate too
    sampled = build_drivers(EconomyParams.model_validate(data), 2010, 2031, seed=_seed(1))
    assert sampled.value("cpi", 2025) == pytest.approx(0.20)


def _seed(i: int) -> np.random.SeedSequence:
    return replicate_seeds(99, 3)[i]


def test_the_assumed_centre_keeps_the_assumption_with_the_forecast_spread(assumed):
    params = economy(**FORECAST, centre_from_assumption=["dispinc_pc_urban"])
    mean = build_drivers(params, 2010, 2031)
    drawn = build_drivers(params, 2010, 2031, seed=_seed(0))
    # mean path: exactly the assumed growth (5% from 2023)
    assert mean.value("dispinc_pc_urban", 2030) == pytest.approx(
        assumed.value("dispinc_pc_urban", 2030)
    )
    assert "with the spread of forecast (random walk" in mean.provenance("dispinc_pc_urban", 2025)
    assert drawn.value("dispinc_pc_urban", 2030) != pytest.approx(
        assumed.value("dispinc_pc_urban", 2030), rel=1e-4
    )


def test_an_assumed_spread_for_a_driver_without_history():
    sd = {"value": 0.03, "unit": "sd of yearly log growth", "assumption": "test"}
    params = economy(**FORECAST, spread_without_history=sd)
    a = build_drivers(params, 2010, 2031, seed=_seed(0))
    b = build_drivers(params, 2010, 2031, seed=_seed(1))
    mean = build_drivers(params, 2010, 2031)
    assert a.value("budget_revenue", 2026) != b.value("budget_revenue", 2026)
    assert np.array_equal(a.series("budget_revenue")[:14], mean.series("budget_revenue")[:14])
    assert "an assumed spread (sd 0.03 a year" in a.provenance("budget_revenue", 2026)


# --- replicates ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sampled_scenario(tmp_path_factory):
    path = tmp_path_factory.mktemp("scenario") / "sampled.yaml"
    drivers = ", ".join(FORECAST["drivers"])
    path.write_text(
        f"extends: {BASELINE}\neconomy:\n  forecast:\n    method: statsmodels\n"
        f"    paths: sampled\n    drivers: [{drivers}]\n",
        encoding="utf-8",
    )
    return load_scenario(path)


def test_replicates_draw_their_own_paths_reproducibly(sampled_scenario, assumed):
    seeds = replicate_seeds(20160101, 2)
    first, second = (replicate_drivers(sampled_scenario, s) for s in seeds)
    assert first.value("cpi", 2025) != second.value("cpi", 2025)
    assert first.value("dispinc_pc_rural", 2030) != second.value("dispinc_pc_rural", 2030)
    again = [replicate_drivers(sampled_scenario, s) for s in replicate_seeds(20160101, 2)[::-1]]
    for name in first.names:
        assert np.array_equal(again[1].series(name), first.series(name))
        assert np.array_equal(again[0].series(name), second.series(name))
    # 2016-2018 (the calibration years) are history: the same in every replicate
    years = slice(2016 - first.first_year, 2019 - first.first_year)
    for name in first.names:
        for d in (first, second):
            assert np.array_equal(d.series(name)[years], assumed.series(name)[6:9]), name
    # without a seed: the mean paths
    mean = replicate_drivers(sampled_scenario)
    assert "forecast (" in mean.provenance("cpi", 2025)


def test_drawing_the_economy_leaves_the_model_stream_alone(sampled_scenario):
    seed = replicate_seeds(7, 1)[0]
    before = np.random.default_rng(seed).random(3)
    replicate_drivers(sampled_scenario, seed)
    assert np.array_equal(np.random.default_rng(seed).random(3), before)
    econ = economy_seed(seed)
    assert econ.entropy == seed.entropy and econ.spawn_key[:-1] == seed.spawn_key


def test_a_mean_forecast_is_the_same_in_every_replicate(tmp_path):
    path = tmp_path / "mean.yaml"
    path.write_text(
        f"extends: {BASELINE}\neconomy:\n  forecast:\n    method: statsmodels\n"
        "    paths: mean\n    drivers: [dispinc_pc_urban]\n",
        encoding="utf-8",
    )
    s = load_scenario(path)
    a, b = (replicate_drivers(s, seed) for seed in replicate_seeds(1, 2))
    assert np.array_equal(a.series("dispinc_pc_urban"), b.series("dispinc_pc_urban"))


# --- the block is checked ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"method": "statsmodels", "drivers": ["cons_pc_urban"]}, "built on dispinc_pc_urban"),
        ({"method": "statsmodels", "drivers": ["gdp"]}, "unknown driver 'gdp'"),
        ({"method": "statsmodels", "centre_from_assumption": ["necessities"]}, "not a projected"),
        ({"method": "forecast"}, "method"),
        ({"min_obs": 8, "holdout": 4}, "at least holdout"),
        ({"paths": "mean", "seed": 3}, "seed"),
    ],
)
def test_a_bad_forecast_block_is_refused(block, message):
    with pytest.raises(ValidationError, match=message):
        economy(**block)


def test_the_default_is_the_assumption(assumed):
    data = baseline_economy()
    data.pop("forecast", None)
    params = EconomyParams.model_validate(data)
    assert params.forecast.method == "assumed" and params.forecast_drivers() == []
    d = build_drivers(params, 2010, 2031, seed=_seed(0))
    for name in d.names:
        assert np.array_equal(d.series(name), assumed.series(name))


# --- a run saves what each replicate read ------------------------------------------------------


@pytest.mark.slow
def test_a_run_saves_each_replicates_driver_paths(sampled_scenario, tmp_path):
    from simlib.runs import run_scenario

    result = run_scenario(sampled_scenario, replicates=2, seed=5, scale=0.002)
    paths = result.driver_paths
    cpi = paths[(paths["driver"] == "cpi") & (paths["year"] == 2025)]
    assert len(cpi) == 2 and cpi["value"].nunique() == 2
    assert result.drivers.provenance("cpi", 2025).startswith("assumption: forecast (")
    written = {p.name for p in result.save(tmp_path)}
    assert {"driver_paths.parquet", "forecasts.csv", "drivers.csv"} <= written
    saved = pd.read_parquet(tmp_path / "driver_paths.parquet")
    assert list(saved.columns) == ["replicate", "year", "driver", "value"]
