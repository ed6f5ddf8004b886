"""The dibao standard-adjustment mechanism: each rule on a worked example (DESIGN §3)."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from simlib.parameters import load_tree, read_yaml
from simlib.standards import (
    RULES,
    StandardInputs,
    StandardsParams,
    Stratified,
    annual_mean,
    basket_base,
    consumption_ratio_base,
    convergence,
    engel_base,
    fiscal_cap,
    floors,
    initial_standards,
    monthly_rates,
    price_linkage_months,
    price_subsidy_amount,
    price_uplift,
    projected_relief_spending,
    required_rural_ratio,
    round_standard,
    set_standards,
    spending_cap,
    triggering_rate,
)

REPO = Path(__file__).resolve().parents[1]
YAML = REPO / "params" / "baseline.yaml"
S = Stratified


def fact(value, unit="u"):
    return {"value": value, "unit": unit, "assumption": "test"}


def item(q, p, driver):
    return {"quantity": fact(q), "price": fact(p), "driver": driver}


# Parameters of the worked examples, independent of the baseline YAML.
BASE = {
    "method": "consumption_ratio",
    "price_base_year": 2015,
    "consumption_ratio": {"ratio": {"urban": fact(0.30), "rural": fact(0.35)}},
    "engel": {
        "food_cost": {"urban": fact(240.0), "rural": fact(150.0)},
        "engel_coefficient": {"urban": fact(0.40), "rural": fact(0.50)},
    },
    "basket": {
        "urban": {
            "rice": item(10.0, 5.0, "cpi_food"),
            "utilities": item(1.0, 100.0, "necessities"),
            "clothing": item(1.0, 50.0, "cpi"),
        },
        "rural": {"rice": item(12.0, 5.0, "cpi_food")},
    },
    "effective_month": fact(7),
    "price_uplift": {"enabled": True, "inflation_year": "previous"},
    "fiscal_cap": {"enabled": True, "mode": "share_of_revenue", "max_share": fact(0.02)},
    "convergence": {"enabled": True, "step": fact(0.02), "target": fact(1.0)},
    "floors": {"enabled": True, "ratchet": True},
    "rounding": {"enabled": True, "mode": "up", "step": 10.0},
    "price_linkage": {
        "enabled": True,
        "cpi_threshold": fact(0.035),
        "food_cpi_threshold": fact(0.06),
        "amount": "indexed",
        "minimum_amount": fact(0.0),
    },
}

ALL_OFF = {
    rule: {"enabled": False}
    for rule in ("price_uplift", "fiscal_cap", "convergence", "floors", "rounding", "price_linkage")
}


def merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def params(**over) -> StandardsParams:
    return StandardsParams.model_validate(merge(BASE, over))


def inputs(**over) -> StandardInputs:
    """Year 2016; every rule binds with BASE (see test_every_rule_binds_in_order)."""
    values = {
        "year": 2016,
        "consumption_prev": S(24_000.0, 12_000.0),
        "price_levels": {"cpi": 1.02, "cpi_food": 1.05, "necessities": 1.03},
        "necessities_inflation": {2015: 0.02, 2016: 0.05},
        "cpi_rates": {2015: 0.01, 2016: 0.01, 2017: 0.01},
        "food_cpi_rates": {2015: 0.02, 2016: 0.02, 2017: 0.02},
        "poverty_line_year": 4320.0,
        "budget_revenue": 5_159e6,
        "budget_revenue_prev": 5_000e6,
        "previous": S(560.0, 330.0),
        "recipients_prev": S(10_000.0, 20_000.0),
        "relief_spending_prev": 100e6,
    }
    values.update(over)
    return StandardInputs(**values)


def close(a: Stratified, urban: float, rural: float, tol: float = 1e-9) -> bool:
    return abs(a.urban - urban) <= tol and abs(a.rural - rural) <= tol


# --- base methods ----------------------------------------------------------------------


def test_consumption_ratio_base():
    # urban 0.30 × 24,000 / 12 = 600.0; rural 0.35 × 12,000 / 12 = 350.0
    out = consumption_ratio_base(S(0.30, 0.35), S(24_000.0, 12_000.0))
    assert close(out, 600.0, 350.0)
    d = set_standards(params(**ALL_OFF), inputs())
    assert close(d.trace["base"], 600.0, 350.0)
    assert close(d.new, 600.0, 350.0)


def test_engel_base():
    # urban F 240 × food price level 1.05 / e 0.40 = 252 / 0.40 = 630.0
    # rural F 150 × 1.05 / 0.50 = 157.5 / 0.50 = 315.0
    assert close(engel_base(S(240.0, 150.0), S(0.40, 0.50), 1.05), 630.0, 315.0)
    d = set_standards(params(method="engel", **ALL_OFF), inputs())
    assert close(d.new, 630.0, 315.0)


def test_basket_base():
    # urban: rice 10 kg × 5.0 × cpi_food 1.05 = 52.5; utilities 1 × 100 × necessities 1.03 = 103.0;
    #        clothing 1 × 50 × cpi 1.02 = 51.0; total 206.5
    # rural: rice 12 × 5.0 × 1.05 = 63.0
    p = params(method="basket", **ALL_OFF)
    levels = inputs().price_levels
    assert basket_base(p.basket.urban, levels, 2016) == pytest.approx(206.5)
    assert close(set_standards(p, inputs()).new, 206.5, 63.0)


def test_basket_refuses_a_missing_price_level():
    p = params(method="basket", **ALL_OFF)
    with pytest.raises(KeyError, match="necessities"):
        set_standards(p, inputs(price_levels={"cpi": 1.0, "cpi_food": 1.0}))


# --- rule 1: price uplift --------------------------------------------------------------


def test_price_uplift():
    # 600 × (1 + 2%) = 612; 350 × 1.02 = 357
    assert close(price_uplift(S(600.0, 350.0), 0.02), 612.0, 357.0)
    only = {**ALL_OFF, "price_uplift": {"enabled": True}}
    # inflation_year previous -> 2015's 2%: 612, 357;  current -> 2016's 5%: 630, 367.5
    assert close(set_standards(params(**only), inputs()).new, 612.0, 357.0)
    current = merge(only, {"price_uplift": {"inflation_year": "current"}})
    assert close(set_standards(params(**current), inputs()).new, 630.0, 367.5)


def test_price_uplift_only_for_a_lagged_base():
    # The Engel base is already at this year's food prices: 630, 315 stay.
    only = {**ALL_OFF, "price_uplift": {"enabled": True}}
    d = set_standards(params(method="engel", **only), inputs())
    assert close(d.trace["price_uplift"], 630.0, 315.0)


def test_price_uplift_needs_the_inflation_of_its_year():
    only = {**ALL_OFF, "price_uplift": {"enabled": True}}
    with pytest.raises(KeyError, match="2015"):
        set_standards(params(**only), inputs(necessities_inflation={2016: 0.05}))


# --- rule 2: fiscal cap ----------------------------------------------------------------


def test_fiscal_cap_share_of_revenue_binding():
    # previous 500/300, candidate 560/350, recipients 10,000/20,000, effective month 7 -> 6 months
    # added cost D = 10,000 × 6 × 60 + 20,000 × 6 × 50 = 3.6m + 6.0m = 9.6m
    # cap = 2% × 5,240m = 104.8m; base = 100m; λ = (104.8 − 100) / 9.6 = 0.5
    # -> urban 500 + 0.5 × 60 = 530; rural 300 + 0.5 × 50 = 325
    cap = spending_cap("share_of_revenue", 5_240e6, 5_000e6, 100e6, max_share=0.02)
    assert cap == pytest.approx(104.8e6)
    out, lam = fiscal_cap(S(560.0, 350.0), S(500.0, 300.0), S(1e4, 2e4), 6, 100e6, 0.0, cap)
    assert lam == pytest.approx(0.5)
    assert close(out, 530.0, 325.0, 1e-6)
    spent = projected_relief_spending(out, S(500.0, 300.0), S(1e4, 2e4), 6, 100e6)
    assert spent == pytest.approx(cap)


def test_fiscal_cap_growth_margin():
    # revenue grows 5,000m -> 5,150m (+3%), margin 1 point: cap = 100m × (1.03 + 0.01) = 104m
    # λ = (104 − 100) / 9.6 = 0.416667 -> urban 500 + 25 = 525; rural 300 + 20.8333 = 320.8333
    cap = spending_cap("growth_margin", 5_150e6, 5_000e6, 100e6, margin=0.01)
    assert cap == pytest.approx(104e6)
    out, lam = fiscal_cap(S(560.0, 350.0), S(500.0, 300.0), S(1e4, 2e4), 6, 100e6, 0.0, cap)
    assert lam == pytest.approx(4 / 9.6)
    assert close(out, 525.0, 300.0 + 50 * 4 / 9.6, 1e-6)


def test_fiscal_cap_counts_other_relief_spending():
    # base = 100m + other 3m = 103m; cap 104.8m; λ = 1.8 / 9.6 = 0.1875 -> 511.25, 309.375
    out, lam = fiscal_cap(S(560.0, 350.0), S(500.0, 300.0), S(1e4, 2e4), 6, 100e6, 3e6, 104.8e6)
    assert lam == pytest.approx(0.1875)
    assert close(out, 511.25, 309.375, 1e-6)


def test_fiscal_cap_not_binding_and_already_over():
    args = (S(560.0, 350.0), S(500.0, 300.0), S(1e4, 2e4), 6, 100e6, 0.0)
    # cap 200m > 109.6m: λ = 1, the candidate stands
    out, lam = fiscal_cap(*args, 200e6)
    assert lam == 1.0 and out == S(560.0, 350.0)
    # cap 90m < 100m already spent: λ = 0, no rise (never a cut below last year)
    out, lam = fiscal_cap(*args, 90e6)
    assert lam == 0.0 and out == S(500.0, 300.0)


def test_fiscal_cap_through_the_mechanism():
    # Only uplift and cap on: candidate 612/357 over previous 560/330, 6 months:
    # D = 10,000 × 6 × 52 + 20,000 × 6 × 27 = 3.12m + 3.24m = 6.36m
    # cap = 2% × 5,159m = 103.18m; λ = 3.18 / 6.36 = 0.5 -> 586, 343.5
    on = {**ALL_OFF, "price_uplift": {"enabled": True}, "fiscal_cap": {"enabled": True}}
    d = set_standards(params(**on), inputs())
    assert d.cap_factor == pytest.approx(0.5)
    assert close(d.new, 586.0, 343.5, 1e-6)


# --- rule 3: convergence ---------------------------------------------------------------


def test_convergence_step():
    # previous 600/360: ratio 0.60; step 0.02 -> at least 0.62; candidate 650/380 (0.585)
    # rural raised to 0.62 × 650 = 403.0; urban unchanged
    need = required_rural_ratio(360 / 600, 2016, 0.02, 1.0)
    assert need == pytest.approx(0.62)
    assert close(convergence(S(650.0, 380.0), need), 650.0, 403.0, 1e-9)
    # a rural standard already above the required ratio is not lowered
    assert convergence(S(650.0, 420.0), need) == S(650.0, 420.0)


def test_convergence_integration_year():
    # 2016, integration in 2020, previous ratio 0.60: linear path 0.60 + (1 − 0.60) / 5 = 0.68
    # (> 0.62 of the step) -> rural 0.68 × 650 = 442
    need = required_rural_ratio(0.60, 2016, 0.02, 1.0, integration_year=2020)
    assert need == pytest.approx(0.68)
    assert convergence(S(650.0, 380.0), need).rural == pytest.approx(442.0)
    # in the integration year (and after) the target itself: rural = urban
    assert required_rural_ratio(0.90, 2020, 0.02, 1.0, integration_year=2020) == 1.0
    assert required_rural_ratio(0.90, 2023, 0.02, 1.0, integration_year=2020) == 1.0
    # the step never overshoots the target
    assert required_rural_ratio(0.99, 2016, 0.02, 1.0) == 1.0


# --- rule 4: floors --------------------------------------------------------------------


def test_poverty_line_floor_binding():
    # poverty line 4,000 yuan/year -> 333.33/month > rural 320 -> 333.33
    out = floors(S(600.0, 320.0), 4000 / 12, None)
    assert close(out, 600.0, 4000 / 12)
    # nearest rounding would give 333 < 333.33: it rounds up to 334 instead
    assert (
        round_standard(out, "nearest", 1.0, at_least=floors(S(0, 0), 4000 / 12, None)).rural == 334
    )


def test_ratchet_binding():
    # candidate 590/410 after last year's 600/400: urban held at 600
    assert floors(S(590.0, 410.0), None, S(600.0, 400.0)) == S(600.0, 410.0)


def test_floors_through_the_mechanism():
    only = {**ALL_OFF, "floors": {"enabled": True}}
    # consumption 24,000/12,000 -> 600/350; poverty line 4,800/yr = 400/month -> rural 400
    d = set_standards(params(**only), inputs(poverty_line_year=4800.0))
    assert close(d.new, 600.0, 400.0)
    # ratchet: last year 620/300 -> urban 620
    d = set_standards(params(**only), inputs(previous=S(620.0, 300.0)))
    assert close(d.new, 620.0, 360.0)  # rural: 350 < 4,320 / 12 = 360
    # before 两线合一 (2015 < 2016) the poverty line does not apply
    d = set_standards(params(**only), inputs(year=2015, previous=S(500.0, 300.0)))
    assert close(d.new, 600.0, 350.0)
    # the ratchet alone can be switched off
    no_ratchet = merge(only, {"floors": {"ratchet": False}})
    d = set_standards(params(**no_ratchet), inputs(previous=S(620.0, 300.0)))
    assert close(d.new, 600.0, 360.0)


# --- rule 5: rounding and effective month ----------------------------------------------


def test_rounding_up_to_ten_and_effective_month_seven():
    # up to 10: 557.5 -> 560; 344.17 -> 350
    new = round_standard(S(557.5, 4130 / 12), "up", 10.0)
    assert new == S(560.0, 350.0)
    # in force from July: Jan-Jun (6 months) at the old 520/300, Jul-Dec (6) at 560/350
    # urban (6 × 520 + 6 × 560) / 12 = 540; rural (6 × 300 + 6 × 350) / 12 = 325
    assert annual_mean(S(520.0, 300.0), new, 7) == S(540.0, 325.0)
    # from March: (2 × 520 + 10 × 560) / 12 = 553.33
    assert annual_mean(S(520.0, 300.0), new, 3).urban == pytest.approx(6640 / 12)
    # from January: the new standard all year
    assert annual_mean(S(520.0, 300.0), new, 1) == new


def test_rounding_nearest_half_up_and_float_noise():
    # nearest whole yuan, half up: 557.5 -> 558, 344.17 -> 344
    assert round_standard(S(557.5, 4130 / 12), "nearest", 1.0) == S(558.0, 344.0)
    # 0.62 × 650 = 403.00000000000006 in floats: still 403 when rounding up
    assert round_standard(S(560.0, 0.62 * 650), "up", 1.0) == S(560.0, 403.0)


def test_effective_month_in_the_decision():
    # ALL_OFF: new 600/350 after 560/330, from July: annual mean 580/340
    d = set_standards(params(**ALL_OFF), inputs())
    assert d.effective_month == 7
    assert close(d.annual_mean, 580.0, 340.0)


# --- rule 6: price linkage -------------------------------------------------------------


def test_monthly_path_crossing_cpi_threshold_mid_year():
    # CPI 2% in t-1, 4% in t and t+1. Month k sits at k − 0.5; t-1's rate at −6, t's at 6:
    # for k ≤ 6: rate = 0.02 + 0.02 × (k − 0.5 + 6) / 12
    #   k=3: 0.02 + 0.02 × 8.5/12 = 3.417% < 3.5%;  k=4: 0.02 + 0.02 × 9.5/12 = 3.583% ≥ 3.5%
    # k ≥ 7: 4% -> months 4..12 = 9 months
    cpi = monthly_rates({2015: 0.02, 2016: 0.04, 2017: 0.04}, 2016)
    assert cpi[2] == pytest.approx(0.02 + 0.02 * 8.5 / 12)
    assert cpi[3] == pytest.approx(0.02 + 0.02 * 9.5 / 12)
    low_food = np.full(12, 0.0)
    months = price_linkage_months(cpi, low_food, 0.035, 0.06)
    assert months.sum() == 9
    assert list(np.flatnonzero(months) + 1) == list(range(4, 13))


def test_monthly_path_food_cpi():
    # food 8% in t-1, 5% in t, unknown t+1 (= t): for k ≤ 6 rate = 0.08 − 0.03 × (k + 5.5) / 12
    # ≥ 6% while k + 5.5 ≤ 8, i.e. k ≤ 2.5: January and February -> 2 months
    food = monthly_rates({2015: 0.08, 2016: 0.05}, 2016)
    cpi = monthly_rates({2016: 0.01}, 2016)  # flat 1%: never triggers
    assert np.allclose(cpi, 0.01)
    months = price_linkage_months(cpi, food, 0.035, 0.06)
    assert list(np.flatnonzero(months) + 1) == [1, 2]


def test_monthly_rates_need_the_year_itself():
    with pytest.raises(KeyError, match="2016"):
        monthly_rates({2015: 0.02}, 2016)


def test_price_subsidy_indexed_amount():
    # CPI path above: months 4-6 at 3.5833%, 3.75%, 3.9167% (sum 11.25%), months 7-12 at 4%.
    # standard 600 all year (no rise): 600 × (0.1125 + 6 × 0.04) / 9 = 600 × 0.3525 / 9 = 23.5
    cpi = monthly_rates({2015: 0.02, 2016: 0.04, 2017: 0.04}, 2016)
    food = np.zeros(12)
    months = price_linkage_months(cpi, food, 0.035, 0.06)
    rate = triggering_rate(cpi, food, 0.035, 0.06)
    same = S(600.0, 600.0)
    amount, by_month = price_subsidy_amount(same, same, 1, months, rate, "indexed", 0.0)
    assert amount.urban == pytest.approx(23.5)
    assert by_month["urban"][:3].sum() == 0.0
    # a rise from 500 to 600 in July: (500 × 0.1125 + 600 × 0.24) / 9 = (56.25 + 144) / 9 = 22.25
    amount, _ = price_subsidy_amount(S(500.0, 500.0), same, 7, months, rate, "indexed", 0.0)
    assert amount.urban == pytest.approx(22.25)
    # with Fujian's floor of 30 yuan every month pays 30 (600 × 4% = 24 < 30)
    amount, _ = price_subsidy_amount(same, same, 1, months, rate, "indexed", 30.0)
    assert amount == S(30.0, 30.0)
    # fixed: 40 a month (above the floor of 30)
    amount, _ = price_subsidy_amount(same, same, 1, months, rate, "fixed", 30.0, fixed=40.0)
    assert amount == S(40.0, 40.0)


def test_triggering_rate_is_the_larger_of_the_triggered_rates():
    # month 1: CPI 4% and food 7% both trigger -> 7%; month 2: CPI 4%, food 5% -> 4%;
    # month 3: CPI 3%, food 6.5% -> 6.5%; month 4: neither -> 0
    cpi = np.array([0.04, 0.04, 0.03, 0.03] + [0.0] * 8)
    food = np.array([0.07, 0.05, 0.065, 0.05] + [0.0] * 8)
    assert np.allclose(triggering_rate(cpi, food, 0.035, 0.06)[:4], [0.07, 0.04, 0.065, 0.0])


def test_price_linkage_through_the_mechanism():
    on = {**ALL_OFF, "price_linkage": {"enabled": True}}
    high = inputs(cpi_rates={2015: 0.02, 2016: 0.04, 2017: 0.04})
    # new 600/350 from July after 560/330; months 4-12:
    # urban (560 × 0.1125 + 600 × 0.24) / 9 = (63 + 144) / 9 = 23.0
    # rural (330 × 0.1125 + 350 × 0.24) / 9 = (37.125 + 84) / 9 = 13.4583
    d = set_standards(params(**on), high)
    assert d.subsidy_months == 9
    assert close(d.subsidy_amount, 23.0, 121.125 / 9, 1e-9)
    # calm prices: no months, no amount
    d = set_standards(params(**on), inputs())
    assert d.subsidy_months == 0 and d.subsidy_amount == S(0.0, 0.0)
    # switched off: nothing even with high prices
    d = set_standards(params(**ALL_OFF), high)
    assert d.subsidy_months == 0 and d.subsidy_amount == S(0.0, 0.0)


# --- the rules together ----------------------------------------------------------------


def test_every_rule_binds_in_order():
    # base:        0.30 × 24,000 / 12 = 600;          0.35 × 12,000 / 12 = 350
    # uplift 2%:   612;                                357
    # cap:         λ = 0.5 (test_fiscal_cap_through_the_mechanism) -> 586, 343.5
    # convergence: 330/560 = 0.589286 + 0.02 = 0.609286; × 586 = 357.0414 > 343.5
    # floors:      poverty line 4,320 / 12 = 360 > 357.04 -> rural 360; urban 586 > 560
    # rounding:    up to 10 -> 590, 360
    d = set_standards(params(), inputs())
    t = d.trace
    assert list(t) == list(RULES)
    assert close(t["base"], 600.0, 350.0)
    assert close(t["price_uplift"], 612.0, 357.0)
    assert close(t["fiscal_cap"], 586.0, 343.5, 1e-6)
    assert close(t["convergence"], 586.0, (330 / 560 + 0.02) * 586, 1e-6)
    assert close(t["floors"], 586.0, 360.0, 1e-6)
    assert d.new == t["rounding"] == S(590.0, 360.0)
    # from July: (6 × 560 + 6 × 590) / 12 = 575; (6 × 330 + 6 × 360) / 12 = 345
    assert close(d.annual_mean, 575.0, 345.0)


@pytest.mark.parametrize(
    "rule", ["price_uplift", "fiscal_cap", "convergence", "floors", "rounding"]
)
def test_switching_a_rule_off_removes_its_effect(rule):
    on = set_standards(params(), inputs())
    off = set_standards(params(**{rule: {"enabled": False}}), inputs())
    before = RULES[RULES.index(rule) - 1]
    assert off.trace[rule] == off.trace[before]  # the rule did nothing
    assert on.trace[rule] != on.trace[before]  # and with it on, it did something


def test_convergence_after_the_cap_can_exceed_the_cap():
    # Cap example: previous 500/300, candidate 560/350, cap 104.8m -> λ 0.5 -> 530/325.
    # Convergence after it: ratio 0.60 + step 0.05 = 0.65 × 530 = 344.5 > 325:
    # spending 100m + 10,000 × 6 × 30 + 20,000 × 6 × 44.5 = 100m + 1.8m + 5.34m = 107.14m > 104.8m
    prev, n = S(500.0, 300.0), S(1e4, 2e4)
    capped, _ = fiscal_cap(S(560.0, 350.0), prev, n, 6, 100e6, 0.0, 104.8e6)
    after = convergence(capped, required_rural_ratio(0.60, 2016, 0.05, 1.0))
    assert after.rural == pytest.approx(344.5)
    assert projected_relief_spending(after, prev, n, 6, 100e6) == pytest.approx(107.14e6)
    # The same through the mechanism (rounding off to keep the numbers exact): the cap held
    # spending at 2% × 5,159m = 103.18m, the convergence after it spends more.
    p = params(convergence={"step": fact(0.05)}, rounding={"enabled": False})
    inp = inputs(poverty_line_year=0.0)
    d = set_standards(p, inp)
    cap = 0.02 * inp.budget_revenue
    spent = lambda s: projected_relief_spending(  # noqa: E731
        s, inp.previous, inp.recipients_prev, 6, inp.relief_spending_prev
    )
    assert spent(d.trace["fiscal_cap"]) == pytest.approx(cap)
    assert spent(d.new) > cap * 1.01


# --- initial state ---------------------------------------------------------------------


def test_initial_standards_skip_the_rules_that_need_a_history():
    # Base year 2015: 0.30 × 24,000 / 12 = 600 × (1 + 2014's 3%) = 618; 350 × 1.03 = 360.5
    # rounded up to 10: 620, 370.  previous (absurdly high) is not read: no ratchet, no cap, no
    # convergence; the poverty line (from 2016) does not apply yet.
    inp = inputs(
        year=2015,
        necessities_inflation={2014: 0.03},
        previous=S(9_999.0, 1.0),
        poverty_line_year=99_999.0,
        budget_revenue=1.0,
    )
    assert initial_standards(params(), inp) == S(620.0, 370.0)
    # with a base year of 2016 the poverty floor (4,800 / 12 = 400) applies
    inp = replace(inp, year=2016, necessities_inflation={2015: 0.03}, poverty_line_year=4800.0)
    assert initial_standards(params(), inp) == S(620.0, 400.0)


# --- parameters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "over",
    [
        {"consumption_ratio": {"ratio": {"urban": fact(-0.30)}}},  # negative ratio
        {"consumption_ratio": {"ratio": {"rural": fact(1.5)}}},  # ratio above one
        {"effective_month": fact(13)},  # month 13
        {"effective_month": fact(0)},
        {"method": "minimum_wage"},  # unknown method
        {"engel": {"engel_coefficient": {"urban": fact(1.0)}}},  # food share of 100%
        {"rounding": {"step": 0.0}},
        {"rounding": {"mode": "down"}},
        {"fiscal_cap": {"max_share": fact(1.2)}},
        {"fiscal_cap": {"mode": "growth_margin"}},  # no margin given
        {"price_linkage": {"amount": "fixed"}},  # no fixed amount given
        {"price_linkage": {"minimum_amount": fact(-30.0)}},
        {"basket": {"urban": {"rice": {"driver": "gold"}}}},  # unknown price driver
        {"price_uplift": {"enabled": True, "speed": 2}},  # unknown key
    ],
)
def test_bad_parameters_are_refused(over):
    with pytest.raises(ValidationError):
        params(**over)


def test_the_chosen_method_needs_its_block():
    data = merge(BASE, {"method": "engel"})
    del data["engel"]
    with pytest.raises(ValidationError, match="needs a `engel` block"):
        StandardsParams.model_validate(data)


# --- the baseline block ----------------------------------------------------------------


def baseline() -> StandardsParams:
    return StandardsParams.model_validate(read_yaml(YAML)["standards"])


def test_baseline_block_validates():
    p = baseline()
    assert p.method == "consumption_ratio"
    assert S(*p.consumption_ratio.ratio.pair(2016)) == S(0.30, 0.35)


def test_baseline_like_2016_standards():
    # C_2015 ≈ 22,300 urban, 11,800 rural:
    # base 0.30 × 22,300 / 12 = 557.5;  0.35 × 11,800 / 12 = 344.17
    # uplift by 2015's necessities inflation 1.4% (national CPI 2015): 565.31, 348.99
    # cap: 2015 standards 530/320, 7,500/11,500 persons, 6 months: 7,500 × 6 × 35.31 + 11,500 × 6
    # × 28.99 = 3.6m on 70m = 73.6m, far under 3% of 8,000m = 240m;
    # convergence: 320/530 + 0.01 = 0.6138 × 565.31 = 347.0 < 348.99; poverty
    # line 2,952 / 12 = 246 < 349; ratchet not binding; nearest yuan: 565, 349
    p = baseline()
    inp = StandardInputs(
        year=2016,
        consumption_prev=S(22_300.0, 11_800.0),
        price_levels={"cpi": 1.02, "cpi_food": 1.046, "necessities": 1.02},
        necessities_inflation={2015: 0.014, 2016: 0.02},
        cpi_rates={2015: 0.014, 2016: 0.02},
        food_cpi_rates={2015: 0.023, 2016: 0.046},
        poverty_line_year=2952.0,
        budget_revenue=8_000e6,
        budget_revenue_prev=7_800e6,
        previous=S(530.0, 320.0),
        recipients_prev=S(7_500.0, 11_500.0),
        relief_spending_prev=70e6,
    )
    d = set_standards(p, inp)
    assert d.new == S(565.0, 349.0)
    assert abs(d.new.urban - 560) <= 10 and abs(d.new.rural - 345) <= 10
    assert d.cap_factor == 1.0
    assert d.subsidy_months == 0
    # the Engel and basket methods are calibrated to the same standard at 2015 prices
    at_2015 = replace(inp, price_levels={"cpi": 1.0, "cpi_food": 1.0, "necessities": 1.0})
    for method in ("engel", "basket"):
        base = set_standards(p.model_copy(update={"method": method}), at_2015).trace["base"]
        assert abs(base.urban - 557.5) < 1.0 and abs(base.rural - 344.17) < 1.0


def test_a_scenario_changes_one_ratio(tmp_path):
    # A scenario file that extends the block and changes the urban ratio alone.
    (tmp_path / "base.yaml").write_text(YAML.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "s.yaml").write_text(
        "extends: base.yaml\nstandards:\n  consumption_ratio:\n    ratio:\n      urban: 0.35\n",
        encoding="utf-8",
    )
    p = StandardsParams.model_validate(load_tree(tmp_path / "s.yaml").data["standards"])
    assert S(*p.consumption_ratio.ratio.pair(2016)) == S(0.35, 0.35)
    assert "s.yaml" in p.consumption_ratio.ratio.urban.assumption
