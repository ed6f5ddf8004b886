"""The social-work workforce (社会工作专业人才队伍): its size, its certified core, its cost.

Plan 三(五): "到2020年,社会工作专业人才总量从2016年的325人增加到1000人,具有中级及以上社会工作师
职业水平证书或达到同等能力素质的社会工作专业人才达到200人".  The workforce is a stock per area
× stratum cell moved by :mod:`simlib.workforce` once a year:

* **entrants** (hires): social-work graduates and others hired without public money
  (``graduates_hired``); community and civil-affairs staff who complete the bureau's
  professional training (社会工作专业培训, ``training_places`` × ``training_completion_share``);
  and the workers recruited to posts the government funds (政府购买社会工作服务岗位): the
  year's new posts (``funded_posts_new``) and the funded posts vacated by leavers, which
  are filled again (a funded post stays funded: the posts in force are the posts at the
  start plus the new ones).
* **leavers**: ``attrition_rate`` of the workers at the start of the year.
* **certified** (中级及以上社会工作师, or the equivalent): a few entrants hold the
  mid-level certificate already (``hires_certified_share``); the uncertified in post pass
  the exam on their own at ``certification_rate``, or after the bureau's exam training
  (``exam_training_places``) at ``exam_pass_share``.

City-wide numbers (graduates, places, posts) are spread over the cells by this year's
``allocation`` weight: the population or the assistance recipients (dibao + destitute
persons) of the cell; the stock of the base year likewise.  The stock at the end of the
base year (2015) is the plan's 325 "of 2016", i.e. the workforce as the plan period began.

Spending (ledger programme ``social_work``), nominal (base-year yuan × ``cpi_level``):
professional training per trainee, exam training per place used, and the yearly cost of a
funded post on the mean of the posts in force at the start and the end of the year.

The levers a scenario turns to meet the plan: ``funded_posts_new``, ``training_places`` and
``exam_training_places`` (dated facts).  Funded recruitment is a number of posts, not a budget
in yuan: the bureau buys services by post and project, a target in persons reads directly
against it, and its cost (posts × cost per post × CPI) shows in the ledger.  Every rate and
cost is an assumption: the shared data hold no figure on social workers beyond the plan's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from simlib.facts import Fact, NonNegative, Share, Strict
from simlib.metrics import Metric
from simlib.services import ServiceInputs
from simlib.workforce import Flows, Workforce, spread, year_flows

PROGRAMME = "social_work"
"""The ledger programme this module books to (spending metric ``social_work_spending``)."""

METRICS = [
    Metric("social_workers", "persons", "sum", "Social-work professionals", "社会工作专业人才总量"),
    Metric(
        "social_workers_certified",
        "persons",
        "sum",
        "Social-work professionals certified at mid level or above",
        "中级及以上社会工作专业人才",
    ),
    Metric(
        "social_workers_per_1000_recipients",
        "social workers per 1,000 recipients",
        "ratio",
        "Social workers per 1,000 assistance recipients (dibao and destitute persons)",
        "每千名救助对象拥有社会工作专业人才数",
        numerator="social_workers",
        denominator="assistance_recipients",
        per=0.001,
    ),
    Metric(
        "social_work_entrants", "persons", "sum", "Social workers entering", "新增社会工作专业人才"
    ),
    Metric(
        "social_work_leavers", "persons", "sum", "Social workers leaving", "流失社会工作专业人才"
    ),
    Metric(
        "social_work_funded_posts",
        "posts",
        "sum",
        "Government-funded social-work posts",
        "政府购买社会工作服务岗位",
    ),
]
"""Raw quantities: the metrics' names, ``social_workers_certified_in`` and
``social_work_trainees``, and ``assistance_recipients`` (from the inputs)."""


class SocialWorkCosts(Strict):
    """Costs in yuan of the base year."""

    training_per_trainee: Fact[NonNegative]
    exam_training_per_trainee: Fact[NonNegative]
    funded_post_per_year: Fact[NonNegative]


class SocialWorkParams(Strict):
    """``programmes.social_work``: the workforce at the start, its flows, the levers, costs."""

    allocation: Literal["population", "assistance_recipients"] = "population"
    initial_workers: Fact[NonNegative]
    initial_certified_share: Fact[Share]
    initial_funded_posts: Fact[NonNegative]
    graduates_hired: Fact[NonNegative]
    training_places: Fact[NonNegative]
    training_completion_share: Fact[Share]
    funded_posts_new: Fact[NonNegative]
    attrition_rate: Fact[Share]
    hires_certified_share: Fact[Share]
    certification_rate: Fact[Share]
    exam_training_places: Fact[NonNegative]
    exam_pass_share: Fact[Share]
    costs: SocialWorkCosts


@dataclass
class SocialWorkState:
    """The workforce and the funded posts in force, per cell (areas, 2)."""

    workforce: Workforce
    funded_posts: np.ndarray


@dataclass(frozen=True)
class SocialWorkYear:
    flows: Flows
    trainees: np.ndarray
    funded_posts_new: np.ndarray
    spending: dict[str, np.ndarray]
    raw: dict[str, np.ndarray]


def allocation_weight(params: SocialWorkParams, inputs: ServiceInputs) -> np.ndarray:
    """The cells' weights for spreading city-wide numbers."""
    if params.allocation == "population":
        return np.asarray(inputs.population, dtype=float)
    return np.asarray(inputs.assistance_recipients, dtype=float)


def init_social_work(
    params: SocialWorkParams,
    area_codes: Sequence[str],
    inputs: ServiceInputs,
    base_year: int | None = None,
) -> SocialWorkState:
    """The workforce at the end of the base year, spread over the cells by the allocation
    weight of ``inputs`` (the base year's city).  Facts are read at ``base_year`` (default:
    their first value)."""
    weight = allocation_weight(params, inputs)
    if weight.shape != (len(area_codes), 2):
        raise ValueError(f"inputs give cells {weight.shape}, the areas are {len(area_codes)} × 2")
    year = base_year if base_year is not None else 0
    workers = float(params.initial_workers.at(year))
    posts = float(params.initial_funded_posts.at(year))
    if posts > workers:
        raise ValueError(
            f"programmes.social_work: {posts:g} funded posts at the start, "
            f"but only {workers:g} social workers"
        )
    stock = spread(workers, weight)
    certified = float(params.initial_certified_share.at(year)) * stock
    return SocialWorkState(Workforce(stock, certified), spread(posts, weight))


def step(
    state: SocialWorkState,
    params: SocialWorkParams,
    year: int,
    rng: np.random.Generator | None,
    inputs: ServiceInputs,
) -> SocialWorkYear:
    """One year of the workforce; the state moves on to the year's end (``rng`` is unused:
    the flows are expected flows)."""
    weight = allocation_weight(params, inputs)
    attrition = float(params.attrition_rate.at(year))
    posts_start = state.funded_posts
    new_posts = spread(float(params.funded_posts_new.at(year)), weight)
    trainees = spread(float(params.training_places.at(year)), weight)
    hires = (
        spread(float(params.graduates_hired.at(year)), weight)
        + float(params.training_completion_share.at(year)) * trainees
        + new_posts
        + attrition * posts_start  # funded posts vacated by leavers, filled again
    )
    flows = year_flows(
        state.workforce,
        attrition_rate=attrition,
        hires=hires,
        hires_certified_share=float(params.hires_certified_share.at(year)),
        training_places=float(params.exam_training_places.at(year)),
        pass_share=float(params.exam_pass_share.at(year)),
        base_rate=float(params.certification_rate.at(year)),
    )
    posts_end = posts_start + new_posts
    state.workforce = flows.end
    state.funded_posts = posts_end
    cost = spending_of(params, year, trainees, flows.trained, posts_start, posts_end)
    spending = {PROGRAMME: cost * inputs.cpi_level}
    raw = {
        "social_workers": flows.workers,
        "social_workers_certified": flows.certified,
        "social_workers_certified_in": flows.certified_hires + flows.certified_in,
        "social_work_entrants": flows.hires,
        "social_work_leavers": flows.leavers,
        "social_work_funded_posts": posts_end,
        "social_work_trainees": trainees,
        "assistance_recipients": np.asarray(inputs.assistance_recipients, dtype=float),
    }
    return SocialWorkYear(flows, trainees, new_posts, spending, raw)


def spending_of(
    params: SocialWorkParams,
    year: int,
    trainees: np.ndarray,
    exam_trained: np.ndarray,
    posts_start: np.ndarray,
    posts_end: np.ndarray,
) -> np.ndarray:
    """Yuan of the base year per cell: trainees × training cost + exam places used × exam
    training cost + the mean funded posts in force × the cost of a post-year."""
    c = params.costs
    return (
        trainees * float(c.training_per_trainee.at(year))
        + exam_trained * float(c.exam_training_per_trainee.at(year))
        + (posts_start + posts_end) / 2.0 * float(c.funded_post_per_year.at(year))
    )
