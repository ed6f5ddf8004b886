"""Care workers of the elderly-care homes (养老护理员): how many are needed, how many there
are, how many hold a certificate, and how many residents they can look after.

Plan 三(八)1: "逐步建立养老服务从业人员职业资格认证制度,加强专业教育、在职教育和岗位技能培训,
专业养老护理服务队伍的持证上岗率达到95%以上".  Per area × stratum cell of the homes (a home's
cell, as for beds), once a year after admissions:

* **needed** (配备标准): residents by level of care × the staffing ratio of the level
  (care workers per resident: self-caring, partly dependent 半失能, fully dependent 失能).
* **hires**: the homes recruit towards the need of their residents and of a share of
  their empty beds (``empty_beds_staffed_share``: the admissions they expect), at the
  cell's need per resident; the labour market fills ``gap_filled_share`` of the gap left
  after the year's leavers (招工难).  Because the target counts empty beds, homes short of
  staff keep recruiting for the beds they cannot fill, and new beds draw new workers.
  Recruits whose entry the scenario subsidises (入职补贴, ``funded_recruits``, city-wide)
  fill part of the gap still open, never more.  A share of hires come certified
  (``hires_certified_share``: vocational-school leavers, or a rule of training before the
  post 先培训后上岗).
* **leavers**, **certification**: :mod:`simlib.workforce`; the bureau's training places
  (岗位技能培训 with the skill test 职业技能鉴定, ``training_places``) go to the uncertified in
  post, who pass at ``training_pass_share``; the others certify on their own at
  ``certification_rate``.
* **staffing limit** (:func:`staffable_residents`): the workers of an area can look after
  ``workers / (need per resident × minimum_staffing_share)`` residents, with the need per
  resident of the area's current mix of care levels: the homes admit as long as their
  staff is at least ``minimum_staffing_share`` of what the ratios ask.  The model passes
  this to elderly care (``elderly_care.step(..., staffed=...)``), which caps each area's
  admissions at that many residents, so a shortage of workers lowers admissions.

Spending (ledger programme ``care_workforce``), nominal (base-year yuan × ``cpi_level``):
training places used × the training subsidy, certificates obtained by workers in post × the
certification subsidy (鉴定补贴), subsidised recruits × the entry subsidy.

The levers: ``training_places``, ``hires_certified_share`` and ``funded_recruits`` (dated).
The staffing ratios are an assumption after the ratios commonly quoted for Chinese care
homes (no staffing standard is quoted in the shared data); every other rate is an
assumption too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

import numpy as np
from pydantic import Field

from simlib.facts import Fact, NonNegative, Positive, Share, Strict
from simlib.metrics import Metric
from simlib.services import ServiceInputs
from simlib.workforce import Flows, Workforce, fill, year_flows

PROGRAMME = "care_workforce"
"""The ledger programme this module books to (spending metric ``care_workforce_spending``)."""
LEVELS = ("self_caring", "partly", "fully")
"""Levels of care, in the order of ``residents_by_care_level``'s last axis (adl 0, 1, 2)."""

StaffingShare = Annotated[float, Field(gt=0.0, le=1.0)]

METRICS = [
    Metric(
        "care_workers_needed",
        "persons",
        "sum",
        "Care workers needed by the staffing ratios",
        "养老护理员需求数（按配备标准）",
    ),
    Metric(
        "care_workers", "persons", "sum", "Care workers in elderly-care homes", "养老机构养老护理员"
    ),
    Metric(
        "care_workers_certified",
        "persons",
        "sum",
        "Care workers holding a certificate",
        "持证养老护理员",
    ),
    Metric(
        "care_workers_certified_share",
        "share",
        "ratio",
        "Share of care workers holding a certificate",
        "养老护理员持证上岗率",
        numerator="care_workers_certified",
        denominator="care_workers",
    ),
    Metric(
        "care_worker_shortfall",
        "persons",
        "sum",
        "Care workers short of the staffing ratios",
        "养老护理员缺口",
    ),
    Metric("care_worker_entrants", "persons", "sum", "Care workers hired", "新入职养老护理员"),
    Metric("care_worker_leavers", "persons", "sum", "Care workers leaving", "流失养老护理员"),
    Metric(
        "care_workers_trained",
        "persons",
        "sum",
        "Care workers trained on subsidised places",
        "养老护理员岗位技能培训人数",
    ),
]
"""Raw quantities: the sum metrics' names, and ``care_workers_certified_in`` and
``care_worker_funded_recruits``."""


class StaffingRatio(Strict):
    """Care workers per resident, by level of care."""

    self_caring: Fact[Positive]
    partly: Fact[Positive]
    fully: Fact[Positive]

    def at(self, year: int) -> np.ndarray:
        return np.array([float(getattr(self, level).at(year)) for level in LEVELS])


class CareWorkforceCosts(Strict):
    """Costs in yuan of the base year."""

    training_per_trainee: Fact[NonNegative]
    certification_subsidy: Fact[NonNegative]
    entry_subsidy: Fact[NonNegative]


class CareWorkforceParams(Strict):
    """``programmes.care_workforce``: need, supply, certification, the levers and costs."""

    staffing_ratio: StaffingRatio
    minimum_staffing_share: Fact[StaffingShare]
    initial_coverage: Fact[NonNegative]
    initial_certified_share: Fact[Share]
    empty_beds_staffed_share: Fact[Share]
    gap_filled_share: Fact[Share]
    attrition_rate: Fact[Share]
    hires_certified_share: Fact[Share]
    certification_rate: Fact[Share]
    training_places: Fact[NonNegative]
    training_pass_share: Fact[Share]
    funded_recruits: Fact[NonNegative]
    costs: CareWorkforceCosts


@dataclass
class CareWorkforceState:
    """The care workers per cell of the homes (areas, 2)."""

    workforce: Workforce


@dataclass(frozen=True)
class CareWorkforceYear:
    needed: np.ndarray
    funded_recruits: np.ndarray
    flows: Flows
    spending: dict[str, np.ndarray]
    raw: dict[str, np.ndarray]


def _levels(residents_by_care_level: np.ndarray) -> np.ndarray:
    r = np.asarray(residents_by_care_level, dtype=float)
    if r.ndim < 1 or r.shape[-1] != len(LEVELS):
        raise ValueError(f"residents by care level need a last axis of {len(LEVELS)}: {r.shape}")
    if (r < 0).any():
        raise ValueError("residents cannot be negative")
    return r


def workers_needed(residents_by_care_level: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """Σ over levels of residents × workers per resident (the last axis is the level)."""
    return _levels(residents_by_care_level) @ np.asarray(ratio, dtype=float)


def need_per_resident(residents_by_care_level: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """Workers needed per resident for each row's mix of levels; a row with no residents
    takes the mix of all rows, and with no residents anywhere the partly dependent ratio."""
    r = _levels(residents_by_care_level)
    ratio = np.asarray(ratio, dtype=float)
    residents = r.sum(axis=-1)
    total = residents.sum()
    fallback = float(r.sum(axis=tuple(range(r.ndim - 1))) @ ratio / total) if total else ratio[1]
    needed = r @ ratio
    return np.divide(needed, residents, out=np.full(residents.shape, fallback), where=residents > 0)


def hiring_target(
    residents_by_care_level: np.ndarray, beds: np.ndarray, ratio: np.ndarray, empty_share: float
) -> np.ndarray:
    """Workers the homes of each cell recruit for: the need per resident × (residents +
    ``empty_share`` × empty beds)."""
    r = _levels(residents_by_care_level)
    residents = r.sum(axis=-1)
    empty = np.maximum(np.asarray(beds, dtype=float) - residents, 0.0)
    return need_per_resident(r, ratio) * (residents + empty_share * empty)


def recruitment(
    target: np.ndarray, staying: np.ndarray, gap_filled_share: float, funded: float
) -> tuple[np.ndarray, np.ndarray]:
    """Hires from the labour market and subsidised recruits per cell.

    The gap is ``max(target − staying, 0)``; the market fills ``gap_filled_share`` of it;
    the subsidised recruits (city-wide) fill the rest of the gaps in proportion to them.
    """
    gap = np.maximum(np.asarray(target, dtype=float) - np.asarray(staying, dtype=float), 0.0)
    market = gap_filled_share * gap
    return market, fill(funded, gap - market)


def init_care_workforce(
    params: CareWorkforceParams,
    area_codes: Sequence[str],
    inputs: ServiceInputs,
    base_year: int | None = None,
) -> CareWorkforceState:
    """The care workers at the end of the base year: ``initial_coverage`` × the workers the
    base year's residents need, ``initial_certified_share`` of them certified."""
    residents = _levels(inputs.residents_by_care_level)
    if residents.shape[:2] != (len(area_codes), 2):
        raise ValueError(
            f"inputs give cells {residents.shape[:2]}, the areas are {len(area_codes)} × 2"
        )
    year = base_year if base_year is not None else 0
    needed = workers_needed(residents, params.staffing_ratio.at(year))
    workers = float(params.initial_coverage.at(year)) * needed
    return CareWorkforceState(
        Workforce(workers, float(params.initial_certified_share.at(year)) * workers)
    )


def step(
    state: CareWorkforceState,
    params: CareWorkforceParams,
    year: int,
    rng: np.random.Generator | None,
    inputs: ServiceInputs,
) -> CareWorkforceYear:
    """One year of care workers, with ``inputs`` the city after this year's admissions; the
    state moves on to the year's end (``rng`` is unused: the flows are expected flows)."""
    ratio = params.staffing_ratio.at(year)
    needed = workers_needed(inputs.residents_by_care_level, ratio)
    attrition = float(params.attrition_rate.at(year))
    staying = state.workforce.workers * (1.0 - attrition)
    target = hiring_target(
        inputs.residents_by_care_level,
        inputs.beds,
        ratio,
        float(params.empty_beds_staffed_share.at(year)),
    )
    market, funded = recruitment(
        target,
        staying,
        float(params.gap_filled_share.at(year)),
        float(params.funded_recruits.at(year)),
    )
    flows = year_flows(
        state.workforce,
        attrition_rate=attrition,
        hires=market + funded,
        hires_certified_share=float(params.hires_certified_share.at(year)),
        training_places=float(params.training_places.at(year)),
        pass_share=float(params.training_pass_share.at(year)),
        base_rate=float(params.certification_rate.at(year)),
    )
    state.workforce = flows.end
    cost = spending_of(params, year, flows.trained, flows.certified_in, funded)
    raw = {
        "care_workers_needed": needed,
        "care_workers": flows.workers,
        "care_workers_certified": flows.certified,
        "care_worker_shortfall": np.maximum(needed - flows.workers, 0.0),
        "care_worker_entrants": flows.hires,
        "care_worker_leavers": flows.leavers,
        "care_workers_trained": flows.trained,
        "care_workers_certified_in": flows.certified_in,
        "care_worker_funded_recruits": funded,
    }
    return CareWorkforceYear(needed, funded, flows, {PROGRAMME: cost * inputs.cpi_level}, raw)


def spending_of(
    params: CareWorkforceParams,
    year: int,
    trained: np.ndarray,
    certified_in: np.ndarray,
    funded_recruits: np.ndarray,
) -> np.ndarray:
    """Yuan of the base year per cell: trained × training subsidy + certificates obtained in
    post × certification subsidy + subsidised recruits × entry subsidy."""
    c = params.costs
    return (
        trained * float(c.training_per_trainee.at(year))
        + certified_in * float(c.certification_subsidy.at(year))
        + funded_recruits * float(c.entry_subsidy.at(year))
    )


def staffable_residents(
    state: CareWorkforceState,
    params: CareWorkforceParams,
    residents_by_care_level: np.ndarray,
    year: int,
) -> np.ndarray:
    """The most residents (whole city) each area's care workers can look after: workers /
    (need per resident × ``minimum_staffing_share``), with the need per resident of the
    area's mix in ``residents_by_care_level`` (areas, 2, 3), both strata together (an
    area's workers serve all its homes).  Multiply by the scale for simulated persons."""
    by_area = _levels(residents_by_care_level).sum(axis=1)
    per_resident = need_per_resident(by_area, params.staffing_ratio.at(year))
    workers = state.workforce.workers.sum(axis=1)
    return workers / (per_resident * float(params.minimum_staffing_share.at(year)))
