"""The backtest of the standard mechanism: fit, projection, baselines, isolation, errors."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from simlib import backtest as bt
from simlib.errors import UserError

DATA = Path(__file__).resolve().parents[1] / "params" / "data"
SHIPPED = [DATA / "national_social_assistance.csv", DATA / "national_consumption_cpi.csv"]
HEADER = "year,indicator,value,unit,status,source_publication,source_url,note\n"

# A synthetic history made by the rule S_t = r_t × C_{t-1} / 12 with
# r_urban = 0.25 + 0.01 (t − 2014), r_rural = 0.40 + 0.01 (t − 2014):
#   urban 2013: 0.24 × 12000 / 12 = 240.0   2014: 0.25 × 13200 / 12 = 275.0
#         2015: 0.26 × 14400 / 12 = 312.0   2016: 0.27 × 15600 / 12 = 351.0
#   rural (yuan/year) 2013: 0.39 × 6000 = 2340   2014: 0.40 × 6900 = 2760
#                     2015: 0.41 × 7800 = 3198   2016: 0.42 × 8700 = 3654
CONS_URBAN = {2012: 12000, 2013: 13200, 2014: 14400, 2015: 15600}
CONS_RURAL = {2012: 6000, 2013: 6900, 2014: 7800, 2015: 8700}
URBAN = {2013: 240.0, 2014: 275.0, 2015: 312.0, 2016: 351.0}
RURAL_YEAR = {2013: 2340.0, 2014: 2760.0, 2015: 3198.0, 2016: 3654.0}


def synthetic(tmp_path: Path, poison: dict | None = None, drop: str | None = None) -> list[Path]:
    """Two files like the shipped ones; ``poison`` replaces {(indicator, year): value}."""
    rows = [(y, "urban_dibao_std_avg", v, "yuan/person/month") for y, v in URBAN.items()]
    rows += [(y, "rural_dibao_std_avg", v, "yuan/person/year") for y, v in RURAL_YEAR.items()]
    drivers = [(y, "cons_pc_urban", v, "yuan/person/year") for y, v in CONS_URBAN.items()]
    drivers += [(y, "cons_pc_rural", v, "yuan/person/year") for y, v in CONS_RURAL.items()]
    for y in range(2010, 2018):
        drivers += [(y, "cpi_all", 2.0, "% y/y"), (y, "cpi_food", 4.0, "% y/y")]
    paths = []
    for name, part in (("assistance.csv", rows), ("drivers.csv", drivers)):
        lines = [
            f"{y},{i},{(poison or {}).get((i, y), v)},{u},quoted,test,,\n"
            for y, i, v, u in part
            if i != drop
        ]
        path = tmp_path / name
        path.write_text(HEADER + "".join(lines), encoding="utf-8")
        paths.append(path)
    return paths


def poisoned_copy(tmp_path: Path, source: Path, indicator: str, year: int, value: str) -> Path:
    """A copy of a shipped file with one value replaced."""
    text = source.read_text(encoding="utf-8")
    lines, hits = [], 0
    for line in text.splitlines(keepends=True):
        fields = next(csv.reader([line]))
        if fields[:2] == [str(year), indicator]:
            fields[2], hits = value, hits + 1
            line = ",".join(f'"{f}"' if "," in f or '"' in f else f for f in fields) + "\n"
        lines.append(line)
    assert hits == 1
    path = tmp_path / source.name
    path.write_text("".join(lines), encoding="utf-8")
    return path


def by_row(table: pd.DataFrame, column: str) -> dict[tuple[int, str], float]:
    return {(r.year, r.indicator): getattr(r, column) for r in table.itertuples()}


# --- the baselines ------------------------------------------------------------------------


def test_naive_baselines_by_hand():
    values = {2010: 100.0, 2011: 110.0, 2012: 125.0, 2013: 133.1, 2014: 146.41, 2015: 1e9}
    years = [2015, 2016]
    assert bt.naive_last(values, 2014, years) == [146.41, 146.41]  # 2015 is after T: unseen
    # last three yearly steps 2011 -> 2014: (146.41 / 110)^(1/3) = 1.331^(1/3) = 1.1
    # 2015: 146.41 × 1.1 = 161.051; 2016: × 1.1² = 177.1561
    assert bt.naive_trend(values, 2014, years) == pytest.approx([161.051, 177.1561])
    # with a gap the span counts: 100 (2010) -> 121 (2012) is 10% a year; 2013: 133.1
    assert bt.naive_trend({2010: 100.0, 2012: 121.0}, 2014, [2013]) == pytest.approx([133.1])
    # one observed year: no growth
    assert bt.naive_trend({2014: 50.0}, 2014, [2015, 2016]) == [50.0, 50.0]


def test_mape_by_hand():
    table = pd.DataFrame(
        {
            "year": [2015, 2016, 2015, 2016],
            "indicator": ["a", "a", "b", "b"],
            "unit": ["u"] * 4,
            "actual": [100.0, 200.0, 50.0, np.nan],
            "model": [98.0, 210.0, 55.0, 60.0],
            "naive_last": [90.0, 90.0, 50.0, 50.0],
            "naive_trend": [100.0, 200.0, 40.0, 40.0],
        }
    )
    got = bt.mape(table)
    # a: model |−2%|, |+5%| -> 3.5; naive_last 10%, 55% -> 32.5; trend 0
    assert got.loc["a", ["model", "naive_last", "naive_trend"]].tolist() == pytest.approx(
        [3.5, 32.5, 0.0]
    )
    # b: only 2015 has an actual: model 10%, last 0%, trend 20%
    assert got.loc["b", "years"] == 1
    assert got.loc["b", ["model", "naive_last", "naive_trend"]].tolist() == pytest.approx(
        [10.0, 0.0, 20.0]
    )
    # all three rows: model (2 + 5 + 10) / 3 = 5.667
    assert got.loc["all", "model"] == pytest.approx(17.0 / 3.0)


# --- the fit ------------------------------------------------------------------------------


def test_fit_recovers_the_ratio_and_drift_of_the_rule():
    unit = {2011: 1000.0, 2012: 1100.0, 2013: 1150.0, 2014: 1300.0, 2015: 1400.0}
    standard = {y: (0.30 + 0.005 * (y - 2015)) * u for y, u in unit.items()}
    fit = bt.fit_multiplier(standard, unit, 2015)
    assert (fit.level, fit.drift) == pytest.approx((0.30, 0.005))
    assert fit.years == (2011, 2012, 2013, 2014, 2015)
    assert fit.rms_error == pytest.approx(0.0, abs=1e-12)
    # no drift: one multiplier m minimising Σ (m u/s − 1)²: m = Σ(u/s) / Σ(u/s)²
    flat = bt.fit_multiplier(standard, unit, 2015, drift=False)
    q = np.array([unit[y] / standard[y] for y in unit])
    assert flat.drift == 0.0
    assert flat.level == pytest.approx(q.sum() / (q**2).sum())
    # one year: the drift is zero and the ratio is that year's
    one = bt.fit_multiplier({2015: 450.0}, {2015: 1500.0}, 2015)
    assert (one.level, one.drift) == pytest.approx((0.30, 0.0))
    # the projected multiplier stays a ratio of at most 1
    assert fit.at(2200, 2015, upper=1.0) == 1.0


def test_backtest_of_the_rule_reproduces_it(tmp_path):
    table = bt.backtest(synthetic(tmp_path), 2014, 2, convergence=False)
    fit = table.attrs["fit"]
    # two fitted years, 2013 and 2014: ratio at 2014 and its yearly change
    assert (fit.urban.level, fit.urban.drift) == pytest.approx((0.25, 0.01))
    assert (fit.rural.level, fit.rural.drift) == pytest.approx((0.40, 0.01))
    model = by_row(table, "model")
    assert model[2015, "urban_dibao_std_avg"] == pytest.approx(312.0)
    assert model[2016, "urban_dibao_std_avg"] == pytest.approx(351.0)
    assert model[2015, "rural_dibao_std_avg"] == pytest.approx(3198.0)
    assert model[2016, "rural_dibao_std_avg"] == pytest.approx(3654.0)
    assert bt.mape(table).loc["all", "model"] == pytest.approx(0.0, abs=1e-9)


def test_convergence_step_by_hand(tmp_path):
    table = bt.backtest(synthetic(tmp_path), 2014, 2)
    # rural/urban ratio of the standards: 2013 195/240 = 0.8125, 2014 230/275 = 0.836364
    # step = 0.023864 a year
    assert table.attrs["fit"].step == pytest.approx(230 / 275 - 0.8125)
    model = by_row(table, "model")
    assert model[2015, "urban_dibao_std_avg"] == pytest.approx(312.0)  # urban: the base
    # 2015: need 0.836364 + 0.023864 = 0.860227; × 312 = 268.391 > base 266.5; × 12 = 3220.69
    need = 230 / 275 + (230 / 275 - 0.8125)
    assert model[2015, "rural_dibao_std_avg"] == pytest.approx(need * 312.0 * 12)
    assert model[2015, "rural_dibao_std_avg"] == pytest.approx(3220.69, abs=0.01)
    # 2016 from the model's own 2015 ratio: (0.860227 + 0.023864) × 351 × 12 = 3723.79
    need2 = need + (230 / 275 - 0.8125)
    assert model[2016, "rural_dibao_std_avg"] == pytest.approx(need2 * 351.0 * 12)


def test_price_uplift_and_engel_fit_their_own_base(tmp_path):
    # uplift: the base is C_{t-1}/12 × (1 + π_{t-1}), π = 0.5 × 4% + 0.5 × 2% = 3%, so the
    # fitted ratio of the same standards is 1.03 times smaller: 0.25 / 1.03 at 2014
    up = bt.backtest(synthetic(tmp_path), 2014, 1, convergence=False, price_uplift=True)
    assert up.attrs["fit"].urban.level == pytest.approx(0.25 / 1.03)
    # ... and with a constant π the projection is the same as without the uplift
    assert by_row(up, "model")[2015, "urban_dibao_std_avg"] == pytest.approx(312.0)
    # engel: S = m × food price level (1.0 in 2014, +4% a year): m_2014 = 275
    engel = bt.backtest(synthetic(tmp_path), 2014, 1, method="engel", convergence=False)
    fit = engel.attrs["fit"]
    assert fit.urban.level == pytest.approx(275.0)
    # 2013: 240 / (1/1.04) = 249.6; the drift through the two points is 275 − 249.6 = 25.4
    assert fit.urban.drift == pytest.approx(275.0 - 240.0 * 1.04)
    # 2015: (275 + 25.4) × 1.04 = 312.416
    assert by_row(engel, "model")[2015, "urban_dibao_std_avg"] == pytest.approx(312.416)


def test_fit_refuses_standards_after_fit_until():
    with pytest.raises(ValueError, match="after 2014"):
        bt.fit_mechanism({"urban": {2015: 1.0}, "rural": {2014: 1.0}}, {}, 2014, bt.BacktestRules())


# --- rows and units -----------------------------------------------------------------------


def test_units_follow_the_shared_files_and_actual_is_empty_beyond_the_history():
    table = bt.backtest(SHIPPED, 2014, 4)
    assert list(table.columns) == list(bt.COLUMNS)
    raw = pd.read_csv(SHIPPED[0])
    for name in ("urban_dibao_std_avg", "rural_dibao_std_avg"):
        rows = table[table["indicator"] == name]
        assert list(rows["year"]) == [2015, 2016, 2017, 2018]
        # the unit of the row is the unit of the indicator in the shared file
        assert set(rows["unit"]) == set(raw.loc[raw["indicator"] == name, "unit"])
    actual = by_row(table, "actual")
    assert actual[2016, "rural_dibao_std_avg"] == pytest.approx(3744.0)  # yuan/year, as filed
    assert actual[2016, "urban_dibao_std_avg"] == pytest.approx(494.6)
    assert np.isnan(actual[2017, "urban_dibao_std_avg"])  # the history ends in 2016
    assert np.isnan(actual[2018, "rural_dibao_std_avg"])
    last = by_row(table, "naive_last")
    assert last[2018, "rural_dibao_std_avg"] == pytest.approx(2777.0)  # 2014, yuan/year
    assert bt.mape(table).loc["all", "years"] == 4  # only rows with an actual are scored


def test_run_writes_the_table_and_prints_the_errors(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    bt.add_arguments(parser)
    out = tmp_path / "bt.csv"
    argv = [*map(str, SHIPPED), "--fit-until", "2014", "--horizon", "3", "--out", str(out)]
    assert bt.run(parser.parse_args(argv)) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "year,indicator,unit,actual,model,naive_last,naive_trend"
    assert len(lines) == 1 + 6
    assert lines[3].startswith("2017,urban_dibao_std_avg,yuan/person/month,,")  # empty actual
    printed = capsys.readouterr().out
    assert "naive_trend" in printed and "rural_dibao_std_avg" in printed
    with pytest.raises(UserError, match="does not exist"):
        bt.run(parser.parse_args([*argv[:-1], str(tmp_path / "no" / "bt.csv")]))


# --- isolation ----------------------------------------------------------------------------


def test_a_poisoned_standard_after_fit_until_changes_nothing_but_actual(tmp_path):
    clean = bt.backtest(SHIPPED, 2014, 2)
    bad = tmp_path / "bad"
    bad.mkdir()
    files = [
        poisoned_copy(bad, SHIPPED[0], "urban_dibao_std_avg", 2015, "1e9"),
        SHIPPED[1],
    ]
    files[0] = poisoned_copy(bad, files[0], "rural_dibao_std_avg", 2016, "1e9")
    poisoned = bt.backtest(files, 2014, 2)
    for column in bt.SCORED:
        assert by_row(poisoned, column) == by_row(clean, column)
    assert by_row(poisoned, "actual")[2015, "urban_dibao_std_avg"] == 1e9  # it was read
    assert by_row(poisoned, "actual")[2016, "rural_dibao_std_avg"] == 1e9


def stub_forecaster(values, kind, horizon, name=""):
    """Levels grow at their last growth, rates stay at their last value."""
    years = sorted(values)
    last = values[years[-1]]
    g = last / values[years[-2]] if kind == "level" else 1.0
    path = [last * g**h if kind == "level" else last for h in range(1, horizon + 1)]
    return SimpleNamespace(years=list(range(years[-1] + 1, years[-1] + horizon + 1)), mean=path)


def test_forecast_drivers_do_not_read_drivers_after_fit_until(tmp_path):
    clean = bt.backtest(SHIPPED, 2014, 2, "forecast", forecaster=stub_forecaster)
    bad = tmp_path / "bad"
    bad.mkdir()
    drivers = poisoned_copy(bad, SHIPPED[1], "cons_pc_urban", 2015, "1e9")
    drivers = poisoned_copy(bad, drivers, "cpi_all", 2015, "900")
    poisoned = bt.backtest([SHIPPED[0], drivers], 2014, 2, "forecast", forecaster=stub_forecaster)
    assert by_row(poisoned, "model") == by_row(clean, "model")
    # the stub's urban consumption 2015: 19968 × 19968 / 18488 = 21566.4, so the 2016
    # standard is (0.2668 + 2 × 0.0048) × 21566.4 / 12, not from the observed 21392
    fit = clean.attrs["fit"]
    want = fit.urban.at(2016, 2014, 1.0) * 19968 * 19968 / 18488 / 12
    assert by_row(clean, "model")[2016, "urban_dibao_std_avg"] == pytest.approx(want)
    # with actual drivers the poisoned consumption is used (so the poison would show)
    actual = bt.backtest([SHIPPED[0], drivers], 2014, 2, "actual")
    assert actual["model"].max() > 1e5


# --- errors -------------------------------------------------------------------------------


def test_a_missing_series_is_named(tmp_path):
    with pytest.raises(UserError, match="rural_dibao_std_avg"):
        bt.backtest(synthetic(tmp_path, drop="rural_dibao_std_avg"), 2014, 2)
    with pytest.raises(UserError, match="cons_pc_urban"):
        bt.backtest(synthetic(tmp_path, drop="cons_pc_urban"), 2014, 2)


def test_a_missing_driver_year_is_named(tmp_path):
    # consumption ends in 2015: the 2017 standard needs 2016's
    with pytest.raises(UserError, match=r"cons_pc_urban has no value for 2016.*2017 standard"):
        bt.backtest(synthetic(tmp_path), 2014, 3)


def test_bad_requests_are_user_errors(tmp_path):
    files = synthetic(tmp_path)
    with pytest.raises(UserError, match="no value up to --fit-until 2005"):
        bt.backtest(files, 2005, 2)
    with pytest.raises(UserError, match="no year up to 2012 has both"):
        bt.backtest(SHIPPED, 2012, 2)  # consumption starts in 2012: no C_{t-1} for a fit
    with pytest.raises(UserError, match="--drivers"):
        bt.backtest(files, 2014, 2, "psychic")
    with pytest.raises(UserError, match="--horizon"):
        bt.backtest(files, 2014, 0)
    with pytest.raises(UserError, match="method"):
        bt.backtest(files, 2014, 2, method="basket")
    with pytest.raises(UserError, match=r"nowhere\.csv"):
        bt.backtest([tmp_path / "nowhere.csv"], 2014, 2)


# --- the shipped data -----------------------------------------------------------------------


def test_must_show_the_model_beats_both_baselines_on_2015_2016():
    table = bt.backtest(SHIPPED, 2014, 2)
    errors = bt.mape(table)
    for name in ("urban_dibao_std_avg", "rural_dibao_std_avg", "all"):
        row = errors.loc[name]
        assert row["years"] == (4 if name == "all" else 2)
        assert row["model"] < min(row["naive_last"], row["naive_trend"])
    assert errors.loc["all", "model"] < 5.0
    fit = table.attrs["fit"]
    # 2013 and 2014 ratios of the standard to last year's consumption:
    # urban 373.3 / (17103/12) = 0.26192, 411 / (18488/12) = 0.26677
    assert fit.urban.level == pytest.approx(411 / (18488 / 12))
    assert fit.urban.drift == pytest.approx(411 / (18488 / 12) - 373.3 / (17103 / 12))
    # convergence: ratio 2010 117/251.2 = 0.46576, 2014 (2777/12)/411 = 0.56306; 4 years
    assert fit.step == pytest.approx(((2777 / 12) / 411 - 117 / 251.2) / 4)


def test_must_show_with_forecast_drivers(tmp_path, monkeypatch):
    pytest.importorskip("simlib.forecast")
    monkeypatch.setenv("SIMLIB_CACHE", str(tmp_path))  # the forecast cache: not in the repo
    table = bt.backtest(SHIPPED, 2014, 2, "forecast")
    errors = bt.mape(table)
    for name in ("urban_dibao_std_avg", "rural_dibao_std_avg", "all"):
        row = errors.loc[name]
        assert row["model"] < min(row["naive_last"], row["naive_trend"])
    assert errors.loc["all", "model"] < 5.0
    # 2015 is set from C_2014, observed by 2014: the same as with actual drivers; 2016 is
    # set from a forecast of C_2015, not the observed one
    model, conditional = by_row(table, "model"), by_row(bt.backtest(SHIPPED, 2014, 2), "model")
    for name in ("urban_dibao_std_avg", "rural_dibao_std_avg"):
        assert model[2015, name] == pytest.approx(conditional[2015, name])
        assert model[2016, name] != pytest.approx(conditional[2016, name])
