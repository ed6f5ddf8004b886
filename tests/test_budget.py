"""The budget: views with bands across replicates, the workbook, the figures.

A hand-built ledger: 2 replicates × 2 years × 2 areas × 2 strata × 2 programmes ×
2 funders.  Each amount is a product

    amount = base[programme][replicate][year] × funder share × area weight × stratum weight

with funder shares central 0.6 / county 0.4 (sum 1), area weights dongqu 3 /
xiqu 1 (sum 4) and stratum weights urban 2 / rural 1 (sum 3), so a programme's
total in a replicate and year is 1 × 4 × 3 = 12 times its base:

    base        replicate 0        replicate 1
    dibao       2016 10,000        2016 20,000
                2017 30,000        2017 20,000
    tekun       1,000 in every year and replicate

The real amount is the nominal one × 0.8 in 2016 and × 0.5 in 2017 (a CPI
index of 1.25 and 2.0 against the base year 2015).
"""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from simlib import budget_figures
from simlib.budget import budget_views, default_periods, write_budget_xlsx, yearly

BASE = {
    ("dibao", 0, 2016): 10_000.0,
    ("dibao", 0, 2017): 30_000.0,
    ("dibao", 1, 2016): 20_000.0,
    ("dibao", 1, 2017): 20_000.0,
}
FUNDER_SHARE = {"central": 0.6, "county": 0.4}
AREA_WEIGHT = {"dongqu": 3.0, "xiqu": 1.0}
STRATUM_WEIGHT = {"urban": 2.0, "rural": 1.0}
REAL_FACTOR = {2016: 0.8, 2017: 0.5}
AREA_NAMES = {"dongqu": ("Dong District", "东区"), "xiqu": ("Xi District", "西区")}


def make_ledger() -> pd.DataFrame:
    rows = []
    # tekun first: the views must still list programmes in registry order (dibao first)
    for p, r, y, a, s, f in itertools.product(
        ("tekun", "dibao"), (0, 1), (2016, 2017), AREA_WEIGHT, STRATUM_WEIGHT, FUNDER_SHARE
    ):
        base = BASE.get((p, r, y), 1_000.0)
        amount = base * FUNDER_SHARE[f] * AREA_WEIGHT[a] * STRATUM_WEIGHT[s]
        rows.append(("test", r, y, a, s, p, f, amount, amount * REAL_FACTOR[y]))
    return pd.DataFrame(
        rows,
        columns=[
            "scenario",
            "replicate",
            "year",
            "area",
            "stratum",
            "programme",
            "funder",
            "amount",
            "amount_real",
        ],
    )


@pytest.fixture
def ledger() -> pd.DataFrame:
    return make_ledger()


def row(view: pd.DataFrame, period: str, **keys: str) -> pd.Series:
    sel = view[view.period == period]
    for k, v in keys.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1
    return sel.iloc[0]


def stats(r: pd.Series) -> list[float]:
    return [r["mean"], r.p05, r.p50, r.p95]


# --- views --------------------------------------------------------------------------


def test_programme_bands(ledger):
    v = budget_views(ledger)["by_programme"]
    # dibao 2016: replicate totals 12 × 10,000 = 120,000 and 12 × 20,000 = 240,000
    #   mean 180,000; p05 = 120,000 + 0.05 × 120,000 = 126,000; p50 180,000;
    #   p95 = 120,000 + 0.95 × 120,000 = 234,000
    assert stats(row(v, "2016", programme="dibao")) == pytest.approx(
        [180_000, 126_000, 180_000, 234_000]
    )
    # dibao 2017: 360,000 and 240,000 -> mean 300,000, p05 246,000, p95 354,000
    assert stats(row(v, "2017", programme="dibao")) == pytest.approx(
        [300_000, 246_000, 300_000, 354_000]
    )
    # tekun: 12 × 1,000 = 12,000 in both replicates: no band
    assert stats(row(v, "2017", programme="tekun")) == pytest.approx([12_000] * 4)
    # registry order, years first then the period total (2016-2017: the run)
    assert list(v.programme[:2]) == ["dibao", "tekun"]
    assert list(v.period) == ["2016"] * 2 + ["2017"] * 2 + ["2016-2017"] * 2
    assert list(v.columns) == [
        "period",
        "first_year",
        "last_year",
        "programme",
        "mean",
        "p05",
        "p50",
        "p95",
    ]


def test_totals_and_period_total_sum_within_replicates_first(ledger):
    v = budget_views(ledger)["totals"]
    # 2016: 132,000 and 252,000 -> mean 192,000, p05 138,000, p95 246,000
    assert stats(row(v, "2016")) == pytest.approx([192_000, 138_000, 192_000, 246_000])
    # 2017: 372,000 and 252,000 -> mean 312,000, p05 258,000, p95 366,000
    assert stats(row(v, "2017")) == pytest.approx([312_000, 258_000, 312_000, 366_000])
    # 2016-2017 per replicate: 132,000 + 372,000 = 504,000 and 252,000 + 252,000 = 504,000,
    # so no band at all -- while the sum of the yearly p05 would be 396,000
    period = row(v, "2016-2017")
    assert (period.first_year, period.last_year) == (2016, 2017)
    assert stats(period) == pytest.approx([504_000] * 4)


def test_funder_and_area_views_split_the_total(ledger):
    views = budget_views(ledger)
    # 2016 central = 0.6 × (132,000, 252,000) = (79,200, 151,200): mean 115,200,
    #   p05 = 79,200 + 0.05 × 72,000 = 82,800
    central = row(views["by_funder"], "2016", funder="central")
    assert (central["mean"], central.p05) == pytest.approx((115_200, 82_800))
    # 2016 xiqu = 1/4 × (132,000, 252,000) = (33,000, 63,000): mean 48,000, p95 61,500
    xiqu = row(views["by_area"], "2016", area="xiqu")
    assert (xiqu["mean"], xiqu.p95) == pytest.approx((48_000, 61_500))
    # means of the parts add up to the mean of the total, in every period
    total = views["totals"].set_index("period")["mean"]
    for name, key in (("by_programme", "programme"), ("by_funder", "funder"), ("by_area", "area")):
        parts = views[name].groupby("period")["mean"].sum()
        assert parts.to_dict() == pytest.approx(total.to_dict()), key


def test_real_views_use_amount_real(ledger):
    v = budget_views(ledger, real=True)["totals"]
    # 2016: 0.8 × (132,000, 252,000) = (105,600, 201,600), mean 153,600
    # 2017: 0.5 × (372,000, 252,000) = (186,000, 126,000), mean 156,000
    # 2016-2017: 291,600 and 327,600 -> mean 309,600,
    #   p05 = 291,600 + 0.05 × 36,000 = 293,400, p95 = 291,600 + 0.95 × 36,000 = 325,800
    assert row(v, "2016")["mean"] == pytest.approx(153_600)
    assert row(v, "2017")["mean"] == pytest.approx(156_000)
    assert stats(row(v, "2016-2017")) == pytest.approx([309_600, 293_400, 309_600, 325_800])
    # the real view differs from the nominal one only through the column read
    swapped = ledger.assign(amount=ledger.amount_real, amount_real=ledger.amount)
    assert budget_views(swapped)["totals"].equals(v)


def test_a_missing_combination_counts_as_zero(ledger):
    gone = (ledger.programme == "tekun") & (ledger.replicate == 1) & (ledger.year == 2017)
    v = budget_views(ledger[~gone])["by_programme"]
    # tekun 2017: 12,000 in replicate 0 and nothing in replicate 1 -> mean 6,000, p05 600
    r = row(v, "2017", programme="tekun")
    assert (r["mean"], r.p05) == pytest.approx((6_000, 600))


def test_yearly_rows():
    y = yearly(budget_views(make_ledger())["by_area"])
    assert list(y.columns[:2]) == ["year", "area"]
    assert y.year.tolist() == [2016, 2016, 2017, 2017]


def test_periods():
    assert default_periods(list(range(2016, 2031))) == [(2016, 2020), (2016, 2030)]
    assert default_periods(list(range(2016, 2021))) == [(2016, 2020)]
    assert default_periods([2016, 2017]) == [(2016, 2017)]  # the plan period is not covered
    assert default_periods([2020]) == []
    v = budget_views(make_ledger(), periods=[])["totals"]
    assert v.period.tolist() == ["2016", "2017"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.drop(columns="amount_real"), "no column"),
        (lambda d: d.iloc[:0], "empty"),
        (lambda d: d.assign(scenario=np.where(d.replicate == 0, "a", "b")), "several scenarios"),
        (lambda d: d.assign(amount_real=d.amount_real.where(d.year == 2016)), "missing values"),
    ],
)
def test_bad_ledgers_are_refused(ledger, change, message):
    with pytest.raises(ValueError, match=message):
        budget_views(change(ledger), real=True)


@pytest.mark.parametrize(
    ("periods", "message"), [([(2016, 2016)], "two years"), ([(2015, 2017)], "within")]
)
def test_bad_periods_are_refused(ledger, periods, message):
    with pytest.raises(ValueError, match=message):
        budget_views(ledger, periods=periods)


# --- workbook -----------------------------------------------------------------------


def test_workbook_in_chinese(ledger, tmp_path):
    path = write_budget_xlsx(ledger, tmp_path / "budget.xlsx", area_names=AREA_NAMES)
    assert path == tmp_path / "budget.xlsx" and path.is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["budget.xlsx"]  # no temporary left
    wb = load_workbook(path)
    assert wb.sheetnames == ["说明", "按项目", "按资金来源", "按地区", "合计"]
    readme = {r[0]: r[1] for r in wb["说明"].iter_rows(min_row=3, values_only=True)}
    assert readme["情景"] == "test" and readme["重复模拟次数"] == "2"
    assert readme["基期"].startswith("2015")  # the year before the first year
    totals = wb["合计"]
    assert totals.freeze_panes == "B5"
    assert [c.value for c in totals[4]] == [
        "年份/时期",
        *["均值", "5%分位数", "中位数", "95%分位数"] * 2,
    ]
    assert totals["B3"].value == "名义值（当年价格，万元）"
    assert totals["F3"].value.startswith("实际值（2015年价格")
    # 2016 nominal mean 192,000 yuan = 19.2 万元; real mean 153,600 yuan = 15.36 万元
    assert totals["A5"].value == 2016
    assert totals["B5"].value == pytest.approx(19.2)
    assert totals["F5"].value == pytest.approx(15.36)
    assert totals["B5"].number_format == "#,##0.0"
    # the period total: 504,000 yuan = 50.4 万元
    assert totals["A7"].value == "2016-2017合计" and totals["B7"].value == pytest.approx(50.4)
    programmes = wb["按项目"]
    assert programmes.freeze_panes == "C5"
    assert programmes["B4"].value == "项目" and programmes["B5"].value == "最低生活保障"
    # dibao 2016 p95 234,000 yuan = 23.4 万元 (columns C-F: mean, p05, p50, p95)
    assert programmes["F5"].value == pytest.approx(23.4)
    assert wb["按资金来源"]["B5"].value == "中央财政"
    assert wb["按地区"]["B5"].value == "东区"
    assert programmes.column_dimensions["B"].width >= 12


def test_workbook_in_english(ledger, tmp_path):
    path = write_budget_xlsx(ledger, tmp_path / "b.xlsx", lang="en", title="Test budget")
    frame = pd.read_excel(path, sheet_name="By area", header=3)
    assert list(frame.columns[:3]) == ["Year / period", "Area", "Mean"]
    # no area names given: the glossary's; 2016 dongqu mean 3/4 × 192,000 = 144,000 yuan = 14.4
    first = frame.iloc[0]
    assert (first["Year / period"], first["Area"], first["Mean"]) == (2016, "Dong District", 14.4)
    wb = load_workbook(path)
    assert wb.sheetnames == ["README", "By programme", "By funder", "By area", "Totals"]
    assert wb["README"]["A1"].value == "Test budget"
    assert wb["By funder"]["B6"].value == "County / district government"


def test_workbook_refuses_an_unknown_language(ledger, tmp_path):
    with pytest.raises(ValueError, match="lang"):
        write_budget_xlsx(ledger, tmp_path / "b.xlsx", lang="fr")
    assert not list(tmp_path.iterdir())


# --- figures ------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_programme_stack(ledger):
    # a programme that pays nothing is left out of the stack
    zero = ledger[ledger.programme == "tekun"].assign(programme="care_subsidy", amount=0.0)
    fig = budget_figures.spending_by_programme(pd.concat([ledger, zero]), unit="wan")
    ax = fig.axes[0]
    assert len(ax.containers) == 2
    dibao, tekun = ax.containers
    # mean dibao 2016 / 2017: 18.0 / 30.0 万元; tekun 1.2 on top of it
    assert [b.get_height() for b in dibao] == pytest.approx([18.0, 30.0])
    assert [b.get_y() for b in tekun] == pytest.approx([18.0, 30.0])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "Destitute persons support",
        "Dibao",
    ]


def test_funder_stack_real(ledger):
    fig = budget_figures.spending_by_funder(ledger, real=True, unit="wan")
    ax = fig.axes[0]
    assert len(ax.containers) == 2
    # real central 2016 = 0.6 × 153,600 = 92,160 yuan = 9.216 万元
    assert ax.containers[0][0].get_height() == pytest.approx(9.216)
    assert "real (2015 yuan)" in ax.get_title()


def test_total_fan(ledger):
    ax = budget_figures.total_spending_fan(ledger, unit="wan").axes[0]
    assert len(ax.lines) == 2 and len(ax.collections) == 2  # nominal and real, with bands
    nominal, real = ax.lines
    assert nominal.get_ydata().tolist() == pytest.approx([19.2, 31.2])
    assert real.get_ydata().tolist() == pytest.approx([15.36, 15.6])


def test_area_fan(ledger):
    ax = budget_figures.spending_by_area(ledger, area_names=AREA_NAMES).axes[0]
    assert [line.get_label() for line in ax.lines] == ["Dong District", "Xi District"]
    assert len(ax.collections) == 2
    # 100 million yuan: xiqu 2016 mean 48,000 yuan = 0.00048
    assert ax.lines[1].get_ydata()[0] == pytest.approx(0.00048)


@pytest.mark.filterwarnings("ignore:Glyph")
def test_figure_labels_in_chinese(ledger):
    ax = budget_figures.spending_by_funder(ledger, lang="zh").axes[0]
    assert ax.get_title() == "分资金来源支出（各次模拟均值），名义值"
    assert ax.get_ylabel() == "亿元"
    with pytest.raises(ValueError, match="lang"):
        budget_figures.total_spending_fan(ledger, lang="fr")
