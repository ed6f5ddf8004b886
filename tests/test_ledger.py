"""The ledger: funding shares, booking, real values, and the spending views that add up."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from simlib.ledger import (
    FUNDERS,
    PROGRAMMES,
    FundingShares,
    book,
    check_funding,
    ledger_table,
    programme_totals,
    spending_quantities,
)


def shares(central, provincial, municipal, county, dated=False):
    def fact(v):
        if dated:
            return {"values": v, "unit": "share", "assumption": "test"}
        return {"value": v, "unit": "share", "assumption": "test"}

    return FundingShares.model_validate(
        {
            "central": fact(central),
            "provincial": fact(provincial),
            "municipal": fact(municipal),
            "county": fact(county),
        }
    )


def all_programmes(funding: FundingShares) -> dict[str, FundingShares]:
    return dict.fromkeys(PROGRAMMES, funding)


def test_shares_must_sum_to_one():
    assert shares(0.5, 0.2, 0.1, 0.2).at(2016) == pytest.approx([0.5, 0.2, 0.1, 0.2])
    with pytest.raises(ValidationError, match=r"sum to 1\.1"):
        shares(0.6, 0.2, 0.1, 0.2)
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        shares(1.2, -0.2, 0.0, 0.0)


def test_dated_shares_are_checked_in_every_year_that_changes():
    # central falls from 0.6 to 0.5 in 2018 while the county's rises only in 2019:
    # in 2018 the shares sum to 0.5 + 0.2 + 0.1 + 0.1 = 0.9
    with pytest.raises(ValidationError, match="in 2018"):
        shares(
            {2016: 0.6, 2018: 0.5},
            {2016: 0.2},
            {2016: 0.1},
            {2016: 0.1, 2019: 0.2},
            dated=True,
        )
    ok = shares({2016: 0.6, 2018: 0.5}, {2016: 0.2}, {2016: 0.1}, {2016: 0.1, 2018: 0.2}, True)
    assert ok.at(2017) == pytest.approx([0.6, 0.2, 0.1, 0.1])
    assert ok.at(2020) == pytest.approx([0.5, 0.2, 0.1, 0.2])


def test_every_programme_needs_its_shares():
    funding = all_programmes(shares(0.25, 0.25, 0.25, 0.25))
    check_funding(funding)
    del funding["dibao"]
    funding["ferries"] = shares(1.0, 0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match=r"missing \['dibao'\], unknown \['ferries'\]"):
        check_funding(funding)


def test_booking_splits_each_cell_by_the_shares():
    funding = all_programmes(shares(0.5, 0.2, 0.1, 0.2))
    spending = {p: np.zeros((2, 2)) for p in PROGRAMMES}
    spending["dibao"] = np.array([[1000.0, 500.0], [0.0, 200.0]])
    booked = book(spending, funding, 2016)
    assert booked.shape == (len(PROGRAMMES), len(FUNDERS), 2, 2)
    dibao = list(PROGRAMMES).index("dibao")
    # area 0 urban: 1000 yuan -> central 500, provincial 200, municipal 100, county 200
    assert booked[dibao, :, 0, 0] == pytest.approx([500.0, 200.0, 100.0, 200.0])
    # area 1 rural: 200 -> 100, 40, 20, 40
    assert booked[dibao, :, 1, 1] == pytest.approx([100.0, 40.0, 20.0, 40.0])
    assert programme_totals(booked)["dibao_spending"] == pytest.approx(spending["dibao"])


def test_booking_refuses_a_missing_programme():
    funding = all_programmes(shares(1.0, 0.0, 0.0, 0.0))
    with pytest.raises(KeyError, match="tekun"):
        book({"dibao": np.ones((1, 2))}, funding, 2016)


def test_parts_add_up_to_the_total_and_real_values_divide_by_the_price_level():
    rng = np.random.default_rng(1)
    funding = all_programmes(shares(0.55, 0.15, 0.1, 0.2))
    spending = {p: rng.gamma(2.0, 1e6, size=(5, 2)) for p in PROGRAMMES}
    booked = book(spending, funding, 2018)
    population = np.array([[100.0, 50.0]] * 5)
    # CPI up 2% in 2016 and 3% in 2017 over the base year 2015: level 1.02 * 1.03 = 1.0506
    values = spending_quantities(booked, 1.0506, 2e9, population)
    parts = sum(values[p.metric] for p in PROGRAMMES.values())
    assert values["relief_spending_total"] == pytest.approx(parts, rel=1e-12)
    assert values["relief_spending_total"] == pytest.approx(sum(spending.values()), rel=1e-12)
    # a real yuan of 2015 buys what 1.0506 yuan buy in 2018
    assert values["dibao_spending_real"] == pytest.approx(spending["dibao"] / 1.0506)
    # revenue apportioned by population: 100 / 750 of 2e9 in each urban cell
    assert values["budget_revenue"][0, 0] == pytest.approx(2e9 * 100 / 750)
    assert values["budget_revenue"].sum() == pytest.approx(2e9)


def test_the_long_ledger():
    funding = all_programmes(shares(0.5, 0.2, 0.1, 0.2))
    spending = {p: np.zeros((2, 2)) for p in PROGRAMMES}
    spending["tekun"] = np.array([[0.0, 0.0], [0.0, 1000.0]])
    year = book(spending, funding, 2016)
    booked = np.stack([np.stack([year, 2 * year])])  # 1 replicate, 2 years
    table = ledger_table(booked, np.array([[1.0, 1.25]]), "s", [2016, 2017], ("a", "b"))
    assert len(table) == 2 * len(PROGRAMMES) * len(FUNDERS) * 2 * 2
    row = table[
        (table.year == 2017)
        & (table.programme == "tekun")
        & (table.funder == "central")
        & (table.area == "b")
        & (table.stratum == "rural")
    ].iloc[0]
    # 2 × 1000 × 0.5 = 1000 nominal; real: 1000 / 1.25 = 800
    assert row.amount == pytest.approx(1000.0) and row.amount_real == pytest.approx(800.0)
    assert table.amount.sum() == pytest.approx(3000.0)
