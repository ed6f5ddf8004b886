"""The economic drivers: anchors, index growth, ratios, prices, scenario changes, provenance."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from simlib.economy import (
    DRIVER_NAMES,
    EconomyError,
    EconomyParams,
    build_drivers,
)
from simlib.facts import Strict
from simlib.parameters import ParameterError, load_tree, read_yaml, validate

REPO = Path(__file__).resolve().parents[1]
BLOCK = REPO / "params" / "baseline.yaml"


class _Scenario(Strict):
    economy: EconomyParams


@pytest.fixture(scope="module")
def tree_data() -> dict:
    """The baseline's economy with its assumed projections (these tests pin them; forecasts
    are tested in test_forecast.py)."""
    return {"economy": load_tree(BLOCK).data["economy"] | {"forecast": {"method": "assumed"}}}


@pytest.fixture(scope="module")
def params(tree_data) -> EconomyParams:
    return EconomyParams.model_validate(tree_data["economy"])


@pytest.fixture(scope="module")
def drivers(params):
    return build_drivers(params, 2010, 2030)


def scenario(tmp_path: Path, tree_data: dict, changes: str) -> EconomyParams:
    """The baseline block in a file, and a scenario file that extends it with ``changes``."""
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(tree_data, allow_unicode=True))
    (tmp_path / "scenario.yaml").write_text("extends: base.yaml\n" + changes)
    return validate(load_tree(tmp_path / "scenario.yaml"), _Scenario).economy


# --- the YAML block --------------------------------------------------------------------


def test_the_block_validates_and_gives_all_nine_drivers(params, drivers):
    raw = read_yaml(BLOCK)
    assert "economy" in raw
    assert set(DRIVER_NAMES) <= set(params.drivers)
    assert drivers.first_year == 2010 and drivers.last_year == 2030
    for name in DRIVER_NAMES:
        path = drivers.series(name)
        assert path.shape == (21,)
        assert np.isfinite(path).all(), name
        assert all(drivers.provenance(name, y) for y in range(2010, 2031))
    table = drivers.table()
    assert len(table) == 9 * 21
    assert list(table.columns) == ["year", "driver", "value", "unit", "provenance"]
    assert not table["value"].isna().any()


def test_extrapolation_to_2080(params):
    far = build_drivers(params, 2010, 2080)
    for name in DRIVER_NAMES:
        assert np.isfinite(far.series(name)).all()
    # from 2041 urban income grows by the assumed 3%
    assert far.value("dispinc_pc_urban", 2080) / far.value("dispinc_pc_urban", 2079) == (
        pytest.approx(1.03)
    )
    assert far.value("cpi", 2080) == pytest.approx(0.02)
    # rural consumption (a higher share of income) stays below urban consumption
    assert (far.series("cons_pc_rural") < far.series("cons_pc_urban")).all()
    # the same years agree with a shorter run
    near = build_drivers(params, 2010, 2030)
    assert np.allclose(far.series("cons_pc_urban")[:21], near.series("cons_pc_urban"))


def test_building_twice_gives_the_same_drivers(params):
    # (its speed is measured by benchmarks/, not asserted by a test)
    first, second = build_drivers(params, 2010, 2030), build_drivers(params, 2010, 2030)
    for name in ("cons_pc_urban", "cpi", "budget_revenue"):
        assert np.array_equal(first.series(name), second.series(name))


# --- income: anchors and index growth --------------------------------------------------


def test_income_passes_through_every_anchor(drivers):
    # 2019 quoted, 2018 derived = round(41864 / 1.087) = 38513 and round(18352 / 1.098) = 16714
    assert drivers.value("dispinc_pc_urban", 2019) == pytest.approx(41864)
    assert drivers.value("dispinc_pc_urban", 2018) == pytest.approx(38513)
    assert abs(drivers.value("dispinc_pc_urban", 2018) - 41864 / 1.087) < 0.5
    assert drivers.value("dispinc_pc_rural", 2019) == pytest.approx(18352)
    assert drivers.value("dispinc_pc_rural", 2018) == pytest.approx(16714)
    # budget revenue 2023: 101.23 亿元 = 101.23e8 yuan
    assert drivers.value("budget_revenue", 2023) == pytest.approx(101.23e8)
    assert drivers.provenance("dispinc_pc_urban", 2019).startswith("quoted: panzhihua_bulletins")
    assert drivers.provenance("dispinc_pc_urban", 2018).startswith("derived: panzhihua_derived")
    assert "41864/1.087" in drivers.provenance("dispinc_pc_urban", 2018)


def test_income_moves_with_the_national_index_beyond_the_anchors(drivers):
    # 2020: the 2019 anchor × national urban growth 43834 / 42359
    assert drivers.value("dispinc_pc_urban", 2020) == pytest.approx(41864 * 43834 / 42359)
    # 2017: the 2018 anchor back by national growth 39251 / 36396
    assert drivers.value("dispinc_pc_urban", 2017) == pytest.approx(38513 * 36396 / 39251)
    # 2016: national 2016 is missing; 2015-2017 filled geometrically: sqrt(36396 / 31195)
    assert drivers.value("dispinc_pc_urban", 2016) == pytest.approx(
        38513 * 36396 / 39251 / math.sqrt(36396 / 31195)
    )
    # 2015 and before: no national urban growth for 2015 (2014 missing): assumed 9.0%
    assert drivers.value("dispinc_pc_urban", 2014) == pytest.approx(
        drivers.value("dispinc_pc_urban", 2015) / 1.09
    )
    # 2023 on: the assumed 5.0% (the national index ends in 2022)
    assert drivers.value("dispinc_pc_urban", 2023) == pytest.approx(41864 * 49283 / 42359 * 1.05)
    assert "assumed (economy.drivers.dispinc_pc_urban.growth)" in drivers.provenance(
        "dispinc_pc_urban", 2025
    )
    assert drivers.provenance("dispinc_pc_urban", 2016).startswith("assumption:")


def test_between_two_anchors_the_gap_is_spread_geometrically(tmp_path, tree_data):
    # anchors 100 (2010) and 121 (2012) with a flat index: 2011 = sqrt(100 × 121) = 110
    header = "year,area,indicator,value,unit,status,source_publication,source_url,note\n"
    (tmp_path / "a.csv").write_text(
        header
        + "2010,X,inc,100,yuan/person/year,quoted,p,u,\n"
        + "2012,X,inc,121,yuan/person/year,quoted,p,u,\n"
        + "2010,national,idx,50,yuan/person/year,quoted,p,u,\n"
        + "2011,national,idx,50,yuan/person/year,quoted,p,u,\n"
        + "2012,national,idx,50,yuan/person/year,quoted,p,u,\n"
        + "2013,national,idx,55,yuan/person/year,quoted,p,u,\n"
    )
    data = dict(tree_data["economy"])
    data["history_files"] = [*data["history_files"], str(tmp_path / "a.csv")]
    data["drivers"] = dict(data["drivers"])
    data["drivers"]["test_income"] = {
        "method": "indexed_level",
        "anchor": {"indicator": "inc", "area": "X"},
        "index": {"indicator": "idx"},
        "growth": {"value": 0.0, "unit": "rate", "assumption": "test"},
    }
    d = build_drivers(EconomyParams.model_validate(data), 2010, 2014)
    assert d.value("test_income", 2010) == pytest.approx(100)
    assert d.value("test_income", 2011) == pytest.approx(110)
    assert d.value("test_income", 2012) == pytest.approx(121)
    assert d.value("test_income", 2013) == pytest.approx(121 * 55 / 50)  # index growth 10%
    assert d.value("test_income", 2014) == pytest.approx(121 * 1.1)  # assumed 0% after 2013
    assert "between the 2010 and 2012 anchors" in d.provenance("test_income", 2011)


# --- consumption ------------------------------------------------------------------------


def test_consumption_is_income_times_the_sichuan_ratio(drivers):
    # Sichuan urban: 20660 / 28335 (2016), 25133 / 38253 (2020); rural 10192 / 11203, 14953 / 15929
    for year, urban, rural in [
        (2016, 20660 / 28335, 10192 / 11203),
        (2020, 25133 / 38253, 14953 / 15929),
    ]:
        assert drivers.value("cons_pc_urban", year) == pytest.approx(
            drivers.value("dispinc_pc_urban", year) * urban
        )
        assert drivers.value("cons_pc_rural", year) == pytest.approx(
            drivers.value("dispinc_pc_rural", year) * rural
        )
    # 2018 is halfway: ratio (0.72913 + 0.65702) / 2 = 0.69308
    assert drivers.value("cons_pc_urban", 2018) == pytest.approx(
        38513 * (20660 / 28335 + 25133 / 38253) / 2
    )
    # held outside 2016-2020
    assert drivers.value("cons_pc_urban", 2012) == pytest.approx(
        drivers.value("dispinc_pc_urban", 2012) * 20660 / 28335
    )
    assert drivers.value("cons_pc_rural", 2030) == pytest.approx(
        drivers.value("dispinc_pc_rural", 2030) * 14953 / 15929
    )
    assert "held at its 2020 value" in drivers.provenance("cons_pc_rural", 2030)


# --- prices ------------------------------------------------------------------------------


def test_cpi_is_panzhihua_where_the_bulletin_has_it_and_national_otherwise(drivers):
    assert drivers.value("cpi", 2019) == pytest.approx(0.041)  # Panzhihua 4.1%
    assert drivers.value("cpi", 2018) == pytest.approx(0.021)  # national 2.1%
    assert drivers.value("cpi_food", 2019) == pytest.approx(0.080)  # Panzhihua 食品烟酒 8.0%
    assert drivers.value("cpi_food", 2018) == pytest.approx(0.018)  # national, unsourced
    assert drivers.value("cpi", 2024) == pytest.approx(0.02)  # assumed after 2023
    assert "[Panzhihua] 2019" in drivers.provenance("cpi", 2019)
    assert drivers.provenance("cpi", 2018).startswith("quoted: national_consumption_cpi.csv")
    assert drivers.provenance("cpi_food", 2018).startswith("unsourced:")
    assert drivers.provenance("cpi", 2024).startswith("assumption:")
    # necessities: 0.5 × food + 0.5 × all items; 2019: 0.5 × 0.080 + 0.5 × 0.041 = 0.0605
    assert drivers.value("necessities", 2019) == pytest.approx(0.0605)
    assert "cpi_food unsourced" in drivers.provenance("necessities", 2018)


def test_price_level_compounds(drivers):
    # national CPI 2011 5.4%, 2012 2.6%, 2013 2.6%: 1.054 × 1.026 × 1.026 = 1.10953
    level = 1.054 * 1.026 * 1.026
    assert drivers.price_level("cpi", 2013, 2010) == pytest.approx(level)
    assert drivers.price_level("cpi", 2010, 2013) == pytest.approx(1 / level)
    assert drivers.price_level("cpi", 2015, 2015) == 1.0
    # the rate of the first year counts from the year before it
    assert drivers.price_level("cpi", 2010, 2009) == pytest.approx(1.033)
    with pytest.raises(ValueError, match="not a rate driver"):
        drivers.price_level("dispinc_pc_urban", 2013, 2010)
    with pytest.raises(ValueError, match="outside"):
        drivers.price_level("cpi", 2031, 2010)


def test_poverty_line_is_2300_at_2010_prices_carried_by_the_cpi(drivers):
    # CPI 2011-2015: 5.4%, 2.6%, 2.6%, 2.0%, 1.4%
    # 2300 × 1.054 × 1.026 × 1.026 × 1.020 × 1.014 = 2639.38
    assert drivers.value("poverty_line", 2015) == pytest.approx(
        2300 * 1.054 * 1.026 * 1.026 * 1.020 * 1.014
    )
    assert drivers.value("poverty_line", 2010) == 2300
    assert drivers.provenance("poverty_line", 2010).startswith("quoted:")
    assert "approximation of the official uprating" in drivers.provenance("poverty_line", 2015)


def test_the_drivers_are_read_only_and_checked(drivers):
    with pytest.raises(ValueError, match="read-only"):
        drivers.series("cpi")[0] = 1.0
    with pytest.raises(KeyError, match="no driver 'gdp'"):
        drivers.value("gdp", 2015)
    with pytest.raises(ValueError, match="outside"):
        drivers.value("cpi", 2031)
    assert drivers.unit("cpi") == "rate"
    assert drivers.unit("budget_revenue") == "yuan"
    assert drivers.unit("poverty_line") == "yuan/person/year"


# --- scenarios ----------------------------------------------------------------------------


def test_a_growth_override_changes_only_the_years_from_its_date(tmp_path, tree_data, drivers):
    changed = scenario(
        tmp_path,
        tree_data,
        "economy:\n  drivers:\n    dispinc_pc_urban:\n"
        "      override: {values: {2026: 0.02}, unit: rate, assumption: slowdown}\n",
    )
    d = build_drivers(changed, 2010, 2030)
    base = drivers.series("dispinc_pc_urban")
    new = d.series("dispinc_pc_urban")
    assert np.array_equal(new[:16], base[:16])  # 2010-2025 unchanged
    # 2026 = 2025 × 1.02, 2030 = 2025 × 1.02^5
    assert d.value("dispinc_pc_urban", 2026) == pytest.approx(base[15] * 1.02)
    assert d.value("dispinc_pc_urban", 2030) == pytest.approx(base[15] * 1.02**5)
    # consumption follows income from 2026 only; rural income is untouched
    assert np.array_equal(d.series("cons_pc_urban")[:16], drivers.series("cons_pc_urban")[:16])
    assert d.value("cons_pc_urban", 2030) < drivers.value("cons_pc_urban", 2030)
    assert np.array_equal(d.series("dispinc_pc_rural"), drivers.series("dispinc_pc_rural"))
    assert "slowdown" in d.provenance("dispinc_pc_urban", 2027)


def test_an_inflation_spike_for_one_year(tmp_path, tree_data, drivers):
    changed = scenario(
        tmp_path,
        tree_data,
        "economy:\n  drivers:\n    cpi:\n"
        "      override: {values: {2025: 0.20, 2026: null}, unit: rate, assumption: spike}\n",
    )
    d = build_drivers(changed, 2010, 2030)
    assert d.value("cpi", 2024) == drivers.value("cpi", 2024)
    assert d.value("cpi", 2025) == pytest.approx(0.20)
    assert d.value("cpi", 2026) == pytest.approx(0.02)  # back to the baseline assumption
    # the spike reaches the blend and the poverty line: 0.5 × 0.03 + 0.5 × 0.20 = 0.115
    assert d.value("necessities", 2025) == pytest.approx(0.115)
    assert d.value("poverty_line", 2025) == pytest.approx(drivers.value("poverty_line", 2024) * 1.2)
    assert d.value("poverty_line", 2024) == drivers.value("poverty_line", 2024)
    assert "spike" in d.provenance("cpi", 2025)


def test_a_path_replaces_a_driver_outright_from_its_first_date(tmp_path, tree_data, drivers):
    changed = scenario(
        tmp_path,
        tree_data,
        "economy:\n  drivers:\n    budget_revenue:\n"
        "      path: {values: {2025: 9.5e9, 2027: 9.0e9}, unit: yuan, assumption: budget plan}\n",
    )
    d = build_drivers(changed, 2010, 2030)
    assert np.array_equal(d.series("budget_revenue")[:15], drivers.series("budget_revenue")[:15])
    assert [d.value("budget_revenue", y) for y in (2025, 2026, 2027, 2030)] == [
        9.5e9,
        9.5e9,
        9.0e9,
        9.0e9,
    ]
    assert d.provenance("budget_revenue", 2026).startswith("assumption: economy.drivers.budget")


def test_the_projection_is_one_swappable_function(params, drivers):
    calls = []

    def flat(driver, observed, years, assumption, key):
        calls.append((driver, min(years), max(observed) if observed else None))
        return np.full(len(years), 0.1), "test forecast"

    d = build_drivers(params, 2010, 2030, project=flat)
    called = {c[0]: c for c in calls}
    assert called["cpi"] == ("cpi", 2024, 2023)  # after the last observed CPI (2023)
    assert called["dispinc_pc_urban"] == ("dispinc_pc_urban", 2023, 2022)
    assert called["budget_revenue"] == ("budget_revenue", 2024, None)
    assert d.value("cpi", 2024) == pytest.approx(0.1)
    assert d.value("cpi", 2023) == drivers.value("cpi", 2023)
    assert d.value("dispinc_pc_urban", 2023) == pytest.approx(
        drivers.value("dispinc_pc_urban", 2022) * 1.1
    )
    # back-casts are not projections: 2015 is the assumption, not the swapped function
    assert d.value("dispinc_pc_urban", 2014) == drivers.value("dispinc_pc_urban", 2014)
    assert "test forecast" in d.provenance("cpi", 2030)


# --- bad specifications ---------------------------------------------------------------------


def _with(tree_data: dict, name: str, spec: dict | None) -> dict:
    data = dict(tree_data["economy"])
    data["drivers"] = dict(data["drivers"])
    if spec is None:
        del data["drivers"][name]
    else:
        data["drivers"][name] = spec
    return data


def test_a_missing_driver_is_refused(tree_data):
    with pytest.raises(ValidationError, match="drivers missing: poverty_line"):
        EconomyParams.model_validate(_with(tree_data, "poverty_line", None))


def test_bad_references_and_weights_are_refused(tree_data):
    spec = dict(tree_data["economy"]["drivers"]["cons_pc_urban"], base="income")
    with pytest.raises(ValidationError, match="unknown driver 'income'"):
        EconomyParams.model_validate(_with(tree_data, "cons_pc_urban", spec))
    spec = dict(tree_data["economy"]["drivers"]["poverty_line"], price="dispinc_pc_urban")
    with pytest.raises(ValidationError, match="must be a rate driver"):
        EconomyParams.model_validate(_with(tree_data, "poverty_line", spec))
    weights = dict(tree_data["economy"]["drivers"]["necessities"]["weights"])
    weights["cpi"] = dict(weights["cpi"], value=0.6)
    spec = {"method": "blend", "weights": weights}
    with pytest.raises(ValidationError, match=r"sum to 1\.1"):
        EconomyParams.model_validate(_with(tree_data, "necessities", spec))
    spec = dict(
        tree_data["economy"]["drivers"]["cpi"],
        override={"value": 0.2, "unit": "rate", "assumption": "x"},
    )
    with pytest.raises(ValidationError, match="dated values"):
        EconomyParams.model_validate(_with(tree_data, "cpi", spec))
    spec = dict(
        tree_data["economy"]["drivers"]["cpi"],
        rate={"value": -2.0, "unit": "rate", "assumption": "x"},
    )
    with pytest.raises(ValidationError, match="greater than or equal to -1"):
        EconomyParams.model_validate(_with(tree_data, "cpi", spec))


def test_keys_must_fit_the_method(tree_data):
    spec = dict(tree_data["economy"]["drivers"]["cpi"], anchor={"indicator": "cpi_all"})
    with pytest.raises(ValidationError, match="`anchor` is not read by method observed_rate"):
        EconomyParams.model_validate(_with(tree_data, "cpi", spec))
    spec = dict(tree_data["economy"]["drivers"]["budget_revenue"])
    del spec["growth"]
    with pytest.raises(ValidationError, match="method indexed_level needs `growth`"):
        EconomyParams.model_validate(_with(tree_data, "budget_revenue", spec))


def test_a_cycle_is_refused(tree_data):
    data = _with(
        tree_data,
        "cpi",
        {
            "method": "blend",
            "weights": {"necessities": {"value": 1.0, "unit": "share", "assumption": "x"}},
        },
    )
    with pytest.raises(ValidationError, match="cycle"):
        EconomyParams.model_validate(data)


def test_an_anchor_missing_from_the_history_names_the_key(tree_data):
    spec = dict(tree_data["economy"]["drivers"]["budget_revenue"])
    spec["anchor"] = {"indicator": "general_public_budget_revenue", "area": "Chengdu"}
    params = EconomyParams.model_validate(_with(tree_data, "budget_revenue", spec))
    with pytest.raises(EconomyError, match=r"drivers\.budget_revenue\.anchor: no general_public"):
        build_drivers(params, 2010, 2030)


def test_a_rate_from_a_level_series_is_refused(tree_data):
    spec = dict(tree_data["economy"]["drivers"]["cpi"], sources=[{"indicator": "cons_pc_all"}])
    params = EconomyParams.model_validate(_with(tree_data, "cpi", spec))
    with pytest.raises(EconomyError, match=r"cons_pc_all \[national\] is in yuan/person/year"):
        build_drivers(params, 2010, 2030)


def test_an_unknown_key_in_a_scenario_names_the_file(tmp_path, tree_data):
    where = r"scenario\.yaml: economy\.drivers\.cpi\.ovveride: unknown key"
    with pytest.raises(ParameterError, match=where):
        scenario(tmp_path, tree_data, "economy:\n  drivers:\n    cpi:\n      ovveride: 0.2\n")
