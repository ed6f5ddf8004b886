"""The ledger (账户): every yuan the model pays, by programme, area, stratum and funder.

DESIGN §2 step 8.  Each year every programme's payments per area × stratum cell are
booked to the four levels of government (中央 / 省级 / 市级 / 县(区)级财政资金) by the
scenario's funding shares (``funding:``), which must sum to one for every
programme and year.  The spending metrics of the results (``dibao_spending``,
``relief_spending_total`` ...) are sums of the ledger, so the parts always add up
to the total; the ledger itself is saved as ``ledger.parquet`` in the run folder,
one row per (replicate, year, area, stratum, programme, funder) with the nominal
``amount`` and the ``amount_real`` in yuan of the base year (deflated by the CPI).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import model_validator

from simlib.facts import Fact, Share, Strict
from simlib.metrics import Metric
from simlib.population import STRATA

FUNDERS: dict[str, tuple[str, str]] = {
    "central": ("Central government", "中央财政"),
    "provincial": ("Provincial government", "省级财政"),
    "municipal": ("Municipal government", "市级财政"),
    "county": ("County / district government", "县(区)级财政"),
}
"""The levels of government that fund the programmes, in booking order (English, Chinese)."""


@dataclass(frozen=True)
class Programme:
    """A line of the ledger: the programme, its spending metric and its labels."""

    name: str
    metric: str
    label_en: str
    label_zh: str
    group: str  # "assistance" (社会救助) or "welfare" (社会福利)

    @property
    def persons_metric(self) -> str:
        """The name of the programme's caseload metric (``<stem>_persons``)."""
        return self.metric.removesuffix("_spending") + "_persons"


PROGRAMMES: dict[str, Programme] = {
    p.name: p
    for p in (
        Programme("dibao", "dibao_spending", "Dibao", "最低生活保障", "assistance"),
        Programme(
            "price_subsidy",
            "price_subsidy_spending",
            "Temporary price subsidy",
            "临时价格补贴",
            "assistance",
        ),
        Programme(
            "tekun", "tekun_spending", "Destitute persons support", "特困人员救助供养", "assistance"
        ),
        Programme(
            "medical_assistance",
            "medical_assist_spending",
            "Medical assistance",
            "医疗救助",
            "assistance",
        ),
        Programme(
            "temporary_assistance",
            "temp_assist_spending",
            "Temporary assistance",
            "临时救助",
            "assistance",
        ),
        Programme(
            "orphan_allowance",
            "orphan_allowance_spending",
            "Scattered orphans and de facto unsupported children",
            "散居孤儿和事实无人抚养儿童基本生活费",
            "welfare",
        ),
        Programme(
            "disability_living_subsidy",
            "disability_living_spending",
            "Living subsidy for disabled persons in hardship",
            "困难残疾人生活补贴",
            "welfare",
        ),
        Programme(
            "disability_nursing_subsidy",
            "disability_nursing_spending",
            "Nursing subsidy for severely disabled persons",
            "重度残疾人护理补贴",
            "welfare",
        ),
        Programme(
            "old_age_allowance",
            "old_age_allowance_spending",
            "Old-age allowance",
            "高龄津贴",
            "welfare",
        ),
        Programme(
            "care_subsidy",
            "care_subsidy_spending",
            "Care-home operating subsidies",
            "养老机构运营补贴",
            "welfare",
        ),
        Programme(
            "bed_construction",
            "bed_construction_spending",
            "Care-bed construction subsidies",
            "养老床位建设补贴",
            "welfare",
        ),
    )
}
"""Every programme the model pays, in report order."""


class FundingShares(Strict):
    """The shares of one programme's spending borne by each level of government."""

    central: Fact[Share]
    provincial: Fact[Share]
    municipal: Fact[Share]
    county: Fact[Share]

    @model_validator(mode="after")
    def _sum_to_one(self) -> FundingShares:
        facts = [getattr(self, f) for f in FUNDERS]
        dated = sorted({y for f in facts if f.values for y in f.values}) or [0]
        for year in dated:
            total = sum(float(f.at(year)) for f in facts)
            if abs(total - 1.0) > SUM_TOLERANCE:
                when = f" in {year}" if year else ""
                raise ValueError(f"the funding shares sum to {total:.6g}{when}; they must sum to 1")
        return self

    def at(self, year: int) -> np.ndarray:
        """The shares in ``year``, in the order of :data:`FUNDERS`."""
        return np.array([float(getattr(self, f).at(year)) for f in FUNDERS])


SUM_TOLERANCE = 1e-6


def check_funding(funding: dict[str, FundingShares]) -> None:
    """Every programme of the ledger has its funding shares, and no other name is given."""
    missing = [p for p in PROGRAMMES if p not in funding]
    unknown = [p for p in funding if p not in PROGRAMMES]
    if missing or unknown:
        raise ValueError(
            f"funding must give every programme of the ledger and no other: "
            f"missing {missing}, unknown {unknown} (programmes: {list(PROGRAMMES)})"
        )


def book(
    spending: dict[str, np.ndarray], funding: dict[str, FundingShares], year: int
) -> np.ndarray:
    """The year's payments booked by programme × funder × area × stratum (yuan).

    ``spending`` gives each programme's payments per area × stratum cell; every
    programme of :data:`PROGRAMMES` must be present.
    """
    missing = [p for p in PROGRAMMES if p not in spending]
    if missing:
        raise KeyError(f"no spending given for {missing}")
    return np.stack(
        [funding[p].at(year)[:, None, None] * np.asarray(spending[p])[None] for p in PROGRAMMES]
    )


def programme_totals(booked: np.ndarray) -> dict[str, np.ndarray]:
    """Each programme's spending metric per area × stratum: the ledger summed over funders."""
    return {p.metric: booked[i].sum(axis=0) for i, p in enumerate(PROGRAMMES.values())}


def ledger_table(
    booked: np.ndarray,
    deflator: np.ndarray,
    scenario: str,
    years: list[int],
    area_codes: tuple[str, ...],
) -> pd.DataFrame:
    """The long ledger of a run from ``booked`` (replicate, year, programme, funder, area,
    stratum) and the CPI deflator (price level / base year's) of each replicate and year."""
    dims = booked.shape
    index = np.indices(dims).reshape(len(dims), -1)
    amount = booked.reshape(-1)
    deflator = np.broadcast_to(np.asarray(deflator, dtype=float), dims[:2])
    table = pd.DataFrame(
        {
            "scenario": scenario,
            "replicate": index[0],
            "year": np.asarray(years)[index[1]],
            "area": np.asarray(area_codes, dtype=object)[index[4]],
            "stratum": np.asarray(STRATA, dtype=object)[index[5]],
            "programme": np.asarray(list(PROGRAMMES), dtype=object)[index[2]],
            "funder": np.asarray(list(FUNDERS), dtype=object)[index[3]],
            "amount": amount,
            "amount_real": amount / deflator[index[0], index[1]],
        }
    )
    return table


REAL_UNIT = "yuan/year, base-year prices"


def _spending_metrics() -> list[Metric]:
    nominal = [
        Metric(p.metric, "yuan/year", "sum", p.label_en, p.label_zh + "支出")
        for p in PROGRAMMES.values()
    ]
    total = Metric(
        "relief_spending_total",
        "yuan/year",
        "sum",
        "Relief spending, all programmes",
        "民政救助福利支出合计",
    )
    real = [
        Metric(m.name + "_real", REAL_UNIT, "sum", m.label_en + " (real)", m.label_zh + "(不变价)")
        for m in (*nominal, total)
    ]
    envelope = [
        Metric(
            "budget_revenue",
            "yuan/year",
            "sum",
            "General public budget revenue (apportioned by population)",
            "一般公共预算收入",
        ),
        Metric(
            "relief_share_of_revenue",
            "share",
            "ratio",
            "Relief spending / general public budget revenue",
            "救助福利支出占一般公共预算收入比重",
            numerator="relief_spending_total",
            denominator="budget_revenue",
        ),
    ]
    return [*nominal, total, *real, *envelope]


METRICS = _spending_metrics()
"""The spending metrics: each programme's, the total, their real values, the envelope."""


def spending_quantities(
    booked: np.ndarray, deflator: float, revenue: float, population: np.ndarray
) -> dict[str, np.ndarray]:
    """Every spending quantity from the year's ledger, nominal and real, and the envelope."""
    nominal = programme_totals(booked)
    nominal["relief_spending_total"] = booked.sum(axis=(0, 1))
    real = {f"{name}_real": value / deflator for name, value in nominal.items()}
    share = population / population.sum() if population.sum() > 0 else population
    return nominal | real | {"budget_revenue": revenue * share}
