"""The dibao standard-adjustment mechanism (低保标准动态调整机制), DESIGN §3.

Each year the bureau sets the urban and rural dibao (最低生活保障) standards, in yuan per
person per month.  The plan (13th FYP, 三(一)3) says it does so "根据上年度居民人均消费
支出水平、当地居民生活必需品价格变化和地方财力状况 ... 逐步缩小城乡低保标准差距";
the quoted rules are in ``methods_rules.csv`` (M2-M12) of the shared data.

The scenario picks one base method:

- ``consumption_ratio`` (消费支出比例法, M2/M3): S = r × C_{t-1} / 12;
- ``engel`` (恩格尔系数法, M7): S = F_t / e, the cost of a minimum food basket at this
  year's food prices over the Engel coefficient of low-income households;
- ``basket`` (基本生活费用支出法 / 市场菜篮法, M7): S = Σ q_i p_{i,t}.

On that base the rules apply in this order, each switchable (``enabled``):

1. price uplift by the necessities index, for a base that is a lagged level;
2. fiscal cap (地方财力): the rise is scaled down to keep projected relief spending
   within a share of general budget revenue, or its growth within revenue growth + margin;
3. urban-rural convergence: the rural/urban ratio rises by at least a step a year;
4. floors: rural ≥ the national poverty line (两线合一, from 2016, plan 三(一)2), and no
   standard falls below last year's (ratchet);
5. rounding (whole yuan, or up to a step) and the effective month of the new standards;
6. price linkage (社会救助和保障标准与物价上涨挂钩联动机制, M8/M9): a temporary price
   subsidy for the months CPI or food CPI y/y is at or above its threshold.

Everything here is a pure function of plain numbers; ``set_standards`` applies the rules
in order and records the standard after each in ``StandardDecision.trace``.  The bureau
assembles :class:`StandardInputs` from the economy drivers.  Money is nominal yuan, rates
are fractions (0.02 = 2%).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from simlib.facts import ByStratum, Fact, Month, NonNegative, Positive, Rate, Share, Strict, Year

Method = Literal["consumption_ratio", "engel", "basket"]
PriceDriver = Literal["cpi_food", "cpi", "necessities"]
RULES = ("base", "price_uplift", "fiscal_cap", "convergence", "floors", "rounding")
"""The keys of ``StandardDecision.trace``, in the order the rules apply."""
LAGGED_BASES = ("consumption_ratio",)
"""Base methods that price a past year (C_{t-1}); only these get the price uplift."""
_EPS = 1e-9  # tolerance for float noise in rounding and threshold comparisons


# --- a pair of numbers, urban and rural ------------------------------------------------


@dataclass(frozen=True)
class Stratified:
    """One number for the urban (城镇) and one for the rural (农村) stratum."""

    urban: float
    rural: float

    @staticmethod
    def both(value: float) -> Stratified:
        return Stratified(value, value)

    def map(self, f: Callable[[float], float]) -> Stratified:
        return Stratified(f(self.urban), f(self.rural))

    def zip(self, other: Stratified, f: Callable[[float, float], float]) -> Stratified:
        return Stratified(f(self.urban, other.urban), f(self.rural, other.rural))

    def _pair(self, other: Stratified | float) -> Stratified:
        return other if isinstance(other, Stratified) else Stratified.both(float(other))

    def __add__(self, other: Stratified | float) -> Stratified:
        return self.zip(self._pair(other), lambda a, b: a + b)

    def __sub__(self, other: Stratified | float) -> Stratified:
        return self.zip(self._pair(other), lambda a, b: a - b)

    def __mul__(self, other: Stratified | float) -> Stratified:
        return self.zip(self._pair(other), lambda a, b: a * b)

    __rmul__ = __mul__

    def __truediv__(self, other: Stratified | float) -> Stratified:
        return self.zip(self._pair(other), lambda a, b: a / b)

    def maximum(self, other: Stratified | float) -> Stratified:
        return self.zip(self._pair(other), max)

    def total(self) -> float:
        return self.urban + self.rural

    def as_array(self) -> np.ndarray:
        """``[urban, rural]``: index by the ``stratum`` column (0 urban, 1 rural)."""
        return np.array([self.urban, self.rural])


# --- parameters ------------------------------------------------------------------------

Ratio = Annotated[float, Field(gt=0.0, le=1.0)]
OpenShare = Annotated[float, Field(gt=0.0, lt=1.0)]


def _stratified(fact: ByStratum, year: int) -> Stratified:
    return Stratified(*map(float, fact.pair(year)))


class ConsumptionRatioBase(Strict):
    """S = r × C_{t-1} / 12 (消费支出比例法)."""

    ratio: ByStratum[Ratio]


class EngelBase(Strict):
    """S = F × food price level / e (恩格尔系数法)."""

    food_cost: ByStratum[Positive]
    """Monthly cost of the minimum food basket at prices of ``price_base_year``."""
    engel_coefficient: ByStratum[OpenShare]
    """Food share of spending of low-income households."""


class BasketItem(Strict):
    """One necessity: a monthly quantity per person and its price in ``price_base_year``."""

    quantity: Fact[Positive]
    price: Fact[Positive]
    driver: PriceDriver


class BasketBase(Strict):
    """S = Σ q_i p_{i,t} (基本生活费用支出法 / 市场菜篮法)."""

    urban: dict[str, BasketItem] = Field(min_length=1)
    rural: dict[str, BasketItem] = Field(min_length=1)


class PriceUpliftRule(Strict):
    enabled: bool = True
    inflation_year: Literal["previous", "current"] = "previous"
    """``previous``: year t-1's necessities inflation, known when the standard is set;
    ``current``: year t's (perfect foresight)."""


class FiscalCapRule(Strict):
    enabled: bool = True
    mode: Literal["share_of_revenue", "growth_margin"] = "share_of_revenue"
    max_share: Fact[Share] | None = None
    """Relief spending / general public budget revenue, at most (share_of_revenue)."""
    margin: Fact[Rate] | None = None
    """Spending may grow by revenue growth plus this (growth_margin)."""

    @model_validator(mode="after")
    def _mode_has_its_parameter(self) -> FiscalCapRule:
        needed = "max_share" if self.mode == "share_of_revenue" else "margin"
        if getattr(self, needed) is None:
            raise ValueError(f"mode {self.mode!r} needs `{needed}`")
        return self


class ConvergenceRule(Strict):
    enabled: bool = True
    step: Fact[NonNegative]
    """Least yearly rise of the rural/urban ratio of the standards."""
    target: Fact[Positive]
    integration_year: Year | None = None
    """Year by which the ratio reaches ``target`` on a linear path (城乡统筹), or none."""


class FloorsRule(Strict):
    enabled: bool = True
    poverty_line_from: Year = 2016
    """First year of 两线合一 (plan 三(一)2: 从2016年起全面实现)."""
    ratchet: bool = True
    """No standard falls below last year's."""


class RoundingRule(Strict):
    enabled: bool = True
    mode: Literal["nearest", "up"] = "nearest"
    step: Positive = 1.0
    """Yuan per month: 1 = whole yuan, 10 = multiples of ten."""


class PriceLinkageRule(Strict):
    enabled: bool = True
    cpi_threshold: Fact[Rate]
    food_cpi_threshold: Fact[Rate]
    amount: Literal["fixed", "indexed"] = "indexed"
    """``fixed``: ``fixed_amount`` a month; ``indexed``: the standard × the triggering rate."""
    fixed_amount: Fact[NonNegative] | None = None
    minimum_amount: Fact[NonNegative]
    """Floor of the monthly subsidy per person (Fujian: 不低于最低标准30元, M9)."""

    @model_validator(mode="after")
    def _fixed_has_an_amount(self) -> PriceLinkageRule:
        if self.amount == "fixed" and self.fixed_amount is None:
            raise ValueError("amount 'fixed' needs `fixed_amount`")
        return self


class StandardsParams(Strict):
    """The ``standards:`` block of a scenario file."""

    method: Method
    price_base_year: Year
    """Year whose prices the Engel food cost and the basket prices are in (level 1.0)."""
    consumption_ratio: ConsumptionRatioBase | None = None
    engel: EngelBase | None = None
    basket: BasketBase | None = None
    effective_month: Fact[Month]
    price_uplift: PriceUpliftRule
    fiscal_cap: FiscalCapRule
    convergence: ConvergenceRule
    floors: FloorsRule
    rounding: RoundingRule
    price_linkage: PriceLinkageRule

    @model_validator(mode="after")
    def _method_has_its_block(self) -> StandardsParams:
        if getattr(self, self.method) is None:
            raise ValueError(f"method {self.method!r} needs a `{self.method}` block")
        return self


# --- inputs and decision ---------------------------------------------------------------


@dataclass(frozen=True)
class StandardInputs:
    """Everything the bureau knows when it sets year ``year``'s standards."""

    year: int
    consumption_prev: Stratified
    """C_{t-1}, per-capita consumption expenditure, yuan/person/year."""
    price_levels: dict[str, float]
    """Level of each price driver in year t, 1.0 in ``price_base_year``."""
    necessities_inflation: dict[int, float]
    cpi_rates: dict[int, float]
    food_cpi_rates: dict[int, float]
    """y/y rates by year: t-1, t and t+1 where known."""
    poverty_line_year: float
    """yuan/person/year in year t: the economy's ``poverty_line`` driver."""
    budget_revenue: float
    budget_revenue_prev: float
    previous: Stratified
    """Standards in force in December t-1."""
    recipients_prev: Stratified
    """Dibao persons in December t-1."""
    relief_spending_prev: float
    """Last year's spending on the relief that follows the standard (dibao), yuan."""
    other_relief_spending: float = 0.0
    """This year's other relief spending counted against the cap, yuan."""


@dataclass(frozen=True)
class StandardDecision:
    year: int
    previous: Stratified
    new: Stratified
    effective_month: int
    annual_mean: Stratified
    """Month-weighted mean standard in force over the year."""
    subsidy_months: int
    subsidy_amount: Stratified
    """Price subsidy, yuan/person/month, averaged over the ``subsidy_months``."""
    trace: dict[str, Stratified]
    """The standards after the base and after each rule (keys: :data:`RULES`)."""
    cap_factor: float = 1.0
    """λ of the fiscal cap: the share of the rise that was kept."""
    spending_cap: float | None = None
    """The most relief spending the fiscal cap allowed (yuan), None where the cap is off."""
    projected_spending: float | None = None
    """Relief spending projected at the standards after the fiscal cap (yuan), None where
    the cap is off: at most ``spending_cap`` unless even no rise exceeds it (λ = 0)."""
    poverty_line: float = 0.0
    """The national poverty line of the year (yuan/person/year), the rural floor."""
    subsidy_by_month: dict[str, np.ndarray] = field(default_factory=dict, compare=False)
    """Per month (12): ``rate`` the triggering rate (0 where none), ``urban``/``rural``
    the subsidy paid per person."""


# --- base methods ----------------------------------------------------------------------


def consumption_ratio_base(ratio: Stratified, consumption_prev: Stratified) -> Stratified:
    """S_s = r_s × C_{s,t-1} / 12.

    Source: 民发〔2024〕16号 "低保标准=当地上年度城镇(农村)居民人均消费支出×量化比例"
    (methods_rules M2); Tianmen's 30% urban / 35% rural (M3).
    """
    return ratio * consumption_prev / 12.0


def engel_base(
    food_cost: Stratified, engel_coefficient: Stratified, food_price_level: float
) -> Stratified:
    """S_s = F_s × P_food,t / e_s: the minimum food basket at this year's prices over the
    Engel coefficient (food share) of low-income households.

    Source: the Engel-coefficient method used by Fuzhou from 1995 (methods_rules M7); the
    formula itself is textbook knowledge (M7 note: unsourced there).
    """
    return food_cost * food_price_level / engel_coefficient


def basket_base(items: dict[str, BasketItem], price_levels: dict[str, float], year: int) -> float:
    """S = Σ_i q_i × p_i × level of the item's price driver in year t.

    Source: the market-basket method (市场菜篮法) of Shanghai 1993 and Beijing 1995
    (methods_rules M7); the items are assumptions of the scenario.
    """
    return float(
        sum(
            item.quantity.at(year) * item.price.at(year) * _level(price_levels, item.driver)
            for item in items.values()
        )
    )


def _level(price_levels: dict[str, float], driver: str) -> float:
    if driver not in price_levels:
        raise KeyError(f"price level of {driver!r} missing from the inputs")
    return float(price_levels[driver])


def base_standard(params: StandardsParams, inputs: StandardInputs) -> Stratified:
    """The base of the chosen method for year t (before any rule)."""
    t = inputs.year
    if params.method == "consumption_ratio":
        assert params.consumption_ratio is not None
        return consumption_ratio_base(
            _stratified(params.consumption_ratio.ratio, t), inputs.consumption_prev
        )
    if params.method == "engel":
        assert params.engel is not None
        return engel_base(
            _stratified(params.engel.food_cost, t),
            _stratified(params.engel.engel_coefficient, t),
            _level(inputs.price_levels, "cpi_food"),
        )
    assert params.basket is not None
    return Stratified(
        basket_base(params.basket.urban, inputs.price_levels, t),
        basket_base(params.basket.rural, inputs.price_levels, t),
    )


# --- the rules -------------------------------------------------------------------------


def price_uplift(standard: Stratified, necessities_inflation: float) -> Stratified:
    """S × (1 + π_necessities): bring a base priced in a past year up to this year.

    Source: plan 三(一)3 "当地居民生活必需品价格变化"; 社会救助暂行办法 Art.10 "根据...
    物价变动情况适时调整" (M1).  Applies to lagged bases only (:data:`LAGGED_BASES`).
    """
    return standard * (1.0 + necessities_inflation)


def months_in_force(effective_month: int) -> int:
    """Months of year t in which a standard effective from month m is paid: 13 − m."""
    return 13 - effective_month


def projected_relief_spending(
    candidate: Stratified,
    previous: Stratified,
    recipients: Stratified,
    months: int,
    spending_prev: float,
    other_spending: float = 0.0,
) -> float:
    """Last year's spending + Σ_s recipients_s × months × (S_s − S_prev_s) + other spending.

    A first-order projection: a dibao payment is the gap between standard and income, so a
    rise of the standard raises each recipient's payment one for one; changes in the
    caseload, and the full-year effect of last year's mid-year rise, are not projected.
    """
    rise = (candidate - previous) * recipients * months
    return spending_prev + rise.total() + other_spending


def spending_cap(
    mode: str,
    revenue: float,
    revenue_prev: float,
    base_spending: float,
    max_share: float | None = None,
    margin: float | None = None,
) -> float:
    """The most relief spending the cap allows in year t.

    ``share_of_revenue``: max_share × general budget revenue of year t.
    ``growth_margin``: base spending × (1 + revenue growth + margin), where the base is
    spending with no rise (last year's + other), so the rise of spending stays within
    revenue growth plus the margin.  After a year with no revenue (a collapse to nothing)
    revenue that is still nothing has not grown (growth 0) and any revenue has grown
    without bound (no cap).
    Source: plan 三(一)3 "地方财力状况"; Qinghai "综合考虑本地区财政承受能力决定是否调整"
    (M4).  The form of the cap is an assumption of the model.
    """
    if mode == "share_of_revenue":
        assert max_share is not None
        return max_share * revenue
    assert margin is not None
    if revenue_prev <= 0.0:
        return base_spending * (1.0 + margin) if revenue <= 0.0 else np.inf
    return base_spending * (revenue / revenue_prev + margin)


def fiscal_cap(
    candidate: Stratified,
    previous: Stratified,
    recipients: Stratified,
    months: int,
    spending_prev: float,
    other_spending: float,
    cap: float,
) -> tuple[Stratified, float]:
    """Scale both strata's rises by the largest λ in [0, 1] keeping projected spending ≤ cap.

    Spending is linear in λ: base + λ·D with base = spending_prev + other and D the added
    cost of the full rise; λ = (cap − base)/D clipped to [0, 1] (λ = 0: no rise).  The
    cap cuts the rise only, never the standard below last year's.  Returns (standards, λ).
    """
    base = spending_prev + other_spending
    added = projected_relief_spending(candidate, previous, recipients, months, 0.0)
    if added <= 0.0 or base + added <= cap:
        return candidate, 1.0
    lam = min(1.0, max(0.0, (cap - base) / added))
    return previous + (candidate - previous) * lam, lam


def required_rural_ratio(
    previous_ratio: float,
    year: int,
    step: float,
    target: float,
    integration_year: int | None = None,
) -> float:
    """The least rural/urban ratio for year t.

    min(target, last year's ratio + step); with an integration year Y, at least the
    linear path from last year's ratio to the target over the years t..Y, i.e.
    ratio_{t-1} + (target − ratio_{t-1}) / (Y − t + 1), and the target from Y on.
    Source: plan 三(一)3 "逐步缩小城乡低保标准差距"; Guangxi "农村...不低于城镇...70%，
    并逐步缩小城乡差距" (M6).  Step, target and year are scenario choices.
    """
    need = min(target, previous_ratio + step)
    if integration_year is not None:
        years_left = integration_year - year + 1
        path = (
            target if years_left <= 1 else previous_ratio + (target - previous_ratio) / years_left
        )
        need = max(need, min(target, path))
    return need


def convergence(standard: Stratified, required_ratio: float) -> Stratified:
    """Raise the rural standard to ``required_ratio`` × the urban one (never lower it)."""
    return Stratified(standard.urban, max(standard.rural, required_ratio * standard.urban))


def floors(
    standard: Stratified, poverty_line_month: float | None, previous: Stratified | None
) -> Stratified:
    """Rural ≥ the poverty line (per month); each standard ≥ last year's (ratchet).

    Source: plan 三(一)2 "从2016年起全面实现低保标准和国家扶贫标准'两线合一'"; MCA
    "低保标准原则上不应当低于国家公布的贫困标准" (M11).  The ratchet is an assumption:
    standards are announced as rises and were not cut in the period (not sourced).
    ``None`` switches a floor off.
    """
    out = standard
    if poverty_line_month is not None:
        out = Stratified(out.urban, max(out.rural, poverty_line_month))
    if previous is not None:
        out = out.maximum(previous)
    return out


def round_standard(
    standard: Stratified, mode: str, step: float, at_least: Stratified | None = None
) -> Stratified:
    """Round to a multiple of ``step`` yuan: ``nearest`` (half up) or ``up``.

    Where nearest rounding would fall below ``at_least`` (the floors), round up instead, so
    rounding never breaks a floor.  Standards are published in whole yuan (Tianmen: 296
    元/人月, M3); a step of 10 gives the round figures many cities announce.
    """

    def one(x: float, floor: float) -> float:
        q = x / step
        r = np.ceil(q - _EPS) if mode == "up" else np.floor(q + 0.5 + _EPS)
        if r * step < floor - _EPS:
            r = np.ceil(floor / step - _EPS)
        return float(r * step)

    floor = at_least if at_least is not None else Stratified.both(-np.inf)
    return standard.zip(floor, one)


def annual_mean(previous: Stratified, new: Stratified, effective_month: int) -> Stratified:
    """Mean standard in force over year t: ((m − 1) × old + (13 − m) × new) / 12."""
    m = effective_month
    return (previous * (m - 1) + new * (13 - m)) / 12.0


def monthly_rates(rates: dict[int, float], year: int) -> np.ndarray:
    """Approximate monthly y/y rates (12) of year t from yearly rates.

    Each yearly rate is put at the middle of its year and months are read off the straight
    lines between years t-1, t and t+1 at the middle of each month (month k at k − 0.5 on a
    0-12 scale, year t's rate at 6, t-1's at −6, t+1's at 18).  A missing t-1 or t+1 is
    taken equal to t.  The monthly path thus crosses a threshold mid-year when the yearly
    rate does between two years; it is an approximation (the model's drivers are yearly).
    """
    if year not in rates:
        raise KeyError(f"the y/y rate of {year} is missing from the inputs")
    now = rates[year]
    points = [rates.get(year - 1, now), now, rates.get(year + 1, now)]
    return np.interp(np.arange(12) + 0.5, [-6.0, 6.0, 18.0], points)


def price_linkage_months(
    cpi_month: np.ndarray, food_month: np.ndarray, cpi_threshold: float, food_threshold: float
) -> np.ndarray:
    """Months (bool, 12) in which CPI y/y ≥ its threshold or food CPI y/y ≥ its threshold.

    Source: 发改价格〔2021〕1553号 as amended 2022: "CPI单月同比涨幅达到3.5% ... 食品价格
    同比涨幅达到6% ... 满足任一条件即启动价格补贴联动机制" (M8); Fujian 3%/6% (M9).
    """
    return (cpi_month >= cpi_threshold - _EPS) | (food_month >= food_threshold - _EPS)


def triggering_rate(
    cpi_month: np.ndarray, food_month: np.ndarray, cpi_threshold: float, food_threshold: float
) -> np.ndarray:
    """Per month, the larger of the rates that reach their threshold; 0 where none does."""
    cpi = np.where(cpi_month >= cpi_threshold - _EPS, cpi_month, -np.inf)
    food = np.where(food_month >= food_threshold - _EPS, food_month, -np.inf)
    rate = np.maximum(cpi, food)
    return np.where(np.isfinite(rate), rate, 0.0)


def price_subsidy_amount(
    previous: Stratified,
    new: Stratified,
    effective_month: int,
    months: np.ndarray,
    rate: np.ndarray,
    mode: str,
    minimum: float,
    fixed: float | None = None,
) -> tuple[Stratified, dict[str, np.ndarray]]:
    """Subsidy per person per month, averaged over the triggered ``months``.

    ``indexed``: the standard in force that month × the triggering rate (the national
    formula 价格临时补贴 = 低保标准 × 涨幅 is a recollection, unsourced here); ``fixed``: a
    fixed amount.  Either way at least ``minimum`` (Fujian: 不低于最低标准30元, M9).
    Returns the average and the monthly amounts.
    """
    month_no = np.arange(1, 13)
    by_month: dict[str, np.ndarray] = {"rate": np.where(months, rate, 0.0)}
    means = []
    for name in ("urban", "rural"):
        if mode == "fixed":
            assert fixed is not None
            amount = np.full(12, max(fixed, minimum))
        else:
            in_force = np.where(
                month_no < effective_month, getattr(previous, name), getattr(new, name)
            )
            amount = np.maximum(in_force * rate, minimum)
        amount = np.where(months, amount, 0.0)
        by_month[name] = amount
        means.append(float(amount.sum() / months.sum()) if months.any() else 0.0)
    return Stratified(*means), by_month


# --- the mechanism ---------------------------------------------------------------------


def _inflation(inputs: StandardInputs, which: str) -> float:
    year = inputs.year - 1 if which == "previous" else inputs.year
    if year not in inputs.necessities_inflation:
        raise KeyError(f"necessities inflation of {year} is missing from the inputs")
    return inputs.necessities_inflation[year]


@dataclass(frozen=True)
class _CapOutcome:
    factor: float = 1.0
    cap: float | None = None
    projected: float | None = None


def _apply_rules(
    params: StandardsParams, inputs: StandardInputs, history: bool
) -> tuple[dict[str, Stratified], _CapOutcome]:
    """The standards after the base and each rule; ``history=False`` is the base year."""
    t = inputs.year
    m = int(params.effective_month.at(t))
    trace = {"base": base_standard(params, inputs)}
    s = trace["base"]

    if params.price_uplift.enabled and params.method in LAGGED_BASES:
        s = price_uplift(s, _inflation(inputs, params.price_uplift.inflation_year))
    trace["price_uplift"] = s

    capped = _CapOutcome()
    cap_rule = params.fiscal_cap
    if cap_rule.enabled and history:
        cap = spending_cap(
            cap_rule.mode,
            inputs.budget_revenue,
            inputs.budget_revenue_prev,
            inputs.relief_spending_prev + inputs.other_relief_spending,
            cap_rule.max_share.at(t) if cap_rule.max_share else None,
            cap_rule.margin.at(t) if cap_rule.margin else None,
        )
        s, lam = fiscal_cap(
            s,
            inputs.previous,
            inputs.recipients_prev,
            months_in_force(m),
            inputs.relief_spending_prev,
            inputs.other_relief_spending,
            cap,
        )
        projected = projected_relief_spending(
            s,
            inputs.previous,
            inputs.recipients_prev,
            months_in_force(m),
            inputs.relief_spending_prev,
            inputs.other_relief_spending,
        )
        capped = _CapOutcome(lam, cap, projected)
    trace["fiscal_cap"] = s

    conv = params.convergence
    if conv.enabled and history:
        prev_ratio = inputs.previous.rural / inputs.previous.urban
        need = required_rural_ratio(
            prev_ratio, t, conv.step.at(t), conv.target.at(t), conv.integration_year
        )
        s = convergence(s, need)
    trace["convergence"] = s

    fl = params.floors
    at_least = None
    if fl.enabled:
        line = inputs.poverty_line_year / 12.0 if t >= fl.poverty_line_from else None
        prev = inputs.previous if (fl.ratchet and history) else None
        s = floors(s, line, prev)
        at_least = floors(Stratified.both(-np.inf), line, prev)
    trace["floors"] = s

    if params.rounding.enabled:
        s = round_standard(s, params.rounding.mode, params.rounding.step, at_least)
    trace["rounding"] = s
    return trace, capped


def set_standards(params: StandardsParams, inputs: StandardInputs) -> StandardDecision:
    """Year t's standards by the mechanism (DESIGN §3), with the price subsidy."""
    t = inputs.year
    m = int(params.effective_month.at(t))
    trace, capped = _apply_rules(params, inputs, history=True)
    new = trace["rounding"]

    months = np.zeros(12, dtype=bool)
    amount, by_month = Stratified(0.0, 0.0), {}
    pl = params.price_linkage
    if pl.enabled:
        cpi, food = monthly_rates(inputs.cpi_rates, t), monthly_rates(inputs.food_cpi_rates, t)
        thresholds = (pl.cpi_threshold.at(t), pl.food_cpi_threshold.at(t))
        months = price_linkage_months(cpi, food, *thresholds)
        amount, by_month = price_subsidy_amount(
            inputs.previous,
            new,
            m,
            months,
            triggering_rate(cpi, food, *thresholds),
            pl.amount,
            pl.minimum_amount.at(t),
            pl.fixed_amount.at(t) if pl.fixed_amount else None,
        )
    return StandardDecision(
        year=t,
        previous=inputs.previous,
        new=new,
        effective_month=m,
        annual_mean=annual_mean(inputs.previous, new, m),
        subsidy_months=int(months.sum()),
        subsidy_amount=amount,
        trace=trace,
        cap_factor=capped.factor,
        spending_cap=capped.cap,
        projected_spending=capped.projected,
        poverty_line=inputs.poverty_line_year,
        subsidy_by_month=by_month,
    )


def initial_standards(params: StandardsParams, inputs: StandardInputs) -> Stratified:
    """The standards in force at the end of the base year.

    The mechanism applied to the base year itself: the base method, the price uplift, the
    poverty-line floor (from its first year) and rounding.  The rules that need a history
    are skipped: the fiscal cap (no spending of the year before), convergence (no ratio of
    the year before) and the ratchet (no standard of the year before).  ``inputs.previous``,
    ``recipients_prev`` and the spending fields are not read.
    """
    trace, _ = _apply_rules(params, inputs, history=False)
    return trace["rounding"]
