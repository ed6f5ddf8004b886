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
from simlib.glossary import label
from simlib.metrics import Kind, Metric
from simlib.population import STRATA

FUNDERS = ("central", "provincial", "municipal", "county")
"""The levels of government that fund the programmes, in booking order (their labels are in
the glossary, :mod:`simlib.glossary`)."""


@dataclass(frozen=True)
class Programme:
    """A line of the ledger: the programme and its spending metric (labels: the glossary)."""

    name: str
    metric: str
    group: str  # "assistance" (社会救助) or "welfare" (社会福利)

    @property
    def persons_metric(self) -> str:
        """The name of the programme's caseload metric (``<stem>_persons``)."""
        return self.metric.removesuffix("_spending") + "_persons"


PROGRAMMES: dict[str, Programme] = {
    p.name: p
    for p in (
        Programme("dibao", "dibao_spending", "assistance"),
        Programme("price_subsidy", "price_subsidy_spending", "assistance"),
        Programme("tekun", "tekun_spending", "assistance"),
        Programme("medical_assistance", "medical_assist_spending", "assistance"),
        Programme("temporary_assistance", "temp_assist_spending", "assistance"),
        Programme("orphan_allowance", "orphan_allowance_spending", "welfare"),
        Programme("disability_living_subsidy", "disability_living_spending", "welfare"),
        Programme("disability_nursing_subsidy", "disability_nursing_spending", "welfare"),
        Programme("old_age_allowance", "old_age_allowance_spending", "welfare"),
        Programme("care_subsidy", "care_subsidy_spending", "welfare"),
        Programme("bed_construction", "bed_construction_spending", "welfare"),
        Programme("social_work", "social_work_spending", "welfare"),
        Programme("care_workforce", "care_workforce_spending", "welfare"),
        Programme("community_care_construction", "community_care_construction_spending", "welfare"),
        Programme("community_care_running", "community_care_running_spending", "welfare"),
        Programme("disaster_relief", "disaster_relief_spending", "assistance"),
        Programme("relief_reserve", "relief_reserve_spending", "assistance"),
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
    def metric(name: str, unit: str, kind: Kind = "sum", **ratio: str) -> Metric:
        en, zh = label("metrics", name, "en"), label("metrics", name, "zh")
        return Metric(name, unit, kind, en, zh, **ratio)

    nominal = [p.metric for p in PROGRAMMES.values()] + ["relief_spending_total"]
    return [
        *(metric(name, "yuan/year") for name in nominal),
        *(metric(name + "_real", REAL_UNIT) for name in nominal),
        metric("budget_revenue", "yuan/year"),
        metric(
            "relief_share_of_revenue",
            "share",
            "ratio",
            numerator="relief_spending_total",
            denominator="budget_revenue",
        ),
    ]


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
