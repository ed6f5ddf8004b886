"""The walk through the model (模型导览) for a new researcher: small tables of a projection.

Issue 7, part 2 (DESIGN §7 "one [notebook] explores the model interactively"): the
walk-through helpers (census, stages, standards, programmes, beds, ledger, targets) give the
small tables the exploration notebook shows a new researcher, each read from a
:class:`simlib.explore.Projection` (the census table also builds the city afresh).  They
compute no rule of their own: each shows what the module that owns the rule did
(population and demography, the yearly step of simlib/model.py, the standards' adjustment
mechanism, the programmes, the care homes, the ledger, the plan targets).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simlib.errors import UserError
from simlib.explore import WAN, YI
from simlib.institutions import KIND_LABELS_ZH, KINDS
from simlib.ledger import FUNDERS, PROGRAMMES
from simlib.model import METRICS
from simlib.population import build_city, census_at, end_of_year, read_census
from simlib.results import tidy
from simlib.standards import RULES
from simlib.targets import dashboard

if TYPE_CHECKING:
    from simlib.explore import Projection

PLAN_END = 2020
"""The last year of the 13th five-year plan: the year the walk-through tables show."""


def plan_year(result: Projection, year: int | None = None) -> int:
    """``year``, or 2020 (the plan's last year) when simulated, else the last year."""
    if year is None:
        year = PLAN_END if PLAN_END in result.years else result.years[-1]
    if year not in result.years:
        raise UserError(f"{year} is not simulated ({result.years[0]}-{result.years[-1]})")
    return year


def census_table(result: Projection) -> pd.DataFrame:
    """The city as built at the end of the base year against the census interpolated to
    that date, and the simulated city of the last census year against that census (by
    area and for the city; persons and persons 60+)."""
    p = result.scenario.params
    codes, base = p.area_codes, p.years.base_year
    city = build_city(p.population, codes, base, result.scale, np.random.default_rng(result.seed))
    target = census_at(p.population, codes, end_of_year(base), base)
    census = read_census(p.population.census_file)
    last = [census[p.population.census_codes[c]][-1] for c in codes]
    year = last[0].day.year
    old = city.persons.age >= 60
    n = len(codes)

    def with_city(values: np.ndarray) -> np.ndarray:
        return np.append(values, values.sum())

    def simulated(metric: str) -> np.ndarray:
        return np.array([result.at(metric, year, area=a) for a in [*codes, "all"]])

    table = pd.DataFrame(
        {
            f"persons: census, end {base}": with_city(target.persons.sum(axis=1)),
            f"persons: built, end {base}": with_city(
                np.bincount(city.persons.area, minlength=n) * city.weight
            ),
            f"60+: census, end {base}": with_city(target.age_60p),
            f"60+: built, end {base}": with_city(
                np.bincount(city.persons.area[old], minlength=n) * city.weight
            ),
            f"persons: census {last[0].day:%Y-%m}": with_city(
                np.array([r.figures["pop_urban"] + r.figures["pop_rural"] for r in last])
            ),
            f"persons: simulated, end {year}": simulated("population"),
            f"60+: census {last[0].day:%Y-%m}": with_city(
                np.array([sum(r.figures[b] for b in _OLD_BANDS) for r in last])
            ),
            f"60+: simulated, end {year}": simulated("elderly_60p"),
        },
        index=pd.Index([*codes, "city"], name="area"),
    )
    return table.round(0)


_OLD_BANDS = ("age_60_64", "age_65_69", "age_70_74", "age_75_79", "age_80_84", "age_85p")

STAGES = (
    ("1", "economy", "this year's drivers: consumption, prices, budget revenue",
     "economy.py, bureau.py", "§2, §6"),
    ("2", "standards", "the bureau sets the dibao standards by the adjustment mechanism",
     "standards.py, bureau.py", "§3"),
    ("3", "demography", "deaths (raised for dependent elders), ageing, births, migration, "
     "households formed and dissolved", "demography.py, health.py", "§2"),
    ("4", "incomes", "household incomes move; job loss, illness, disaster, accident shocks",
     "incomes.py", "§2"),
    ("5-6", "means tests and benefits", "destitute support, dibao (take-up, assessment, "
     "reviews, benefits), price subsidy, medical and temporary assistance, allowances",
     "tekun.py, dibao.py, price_subsidy.py, medical_assistance.py, temporary_assistance.py, "
     "allowances.py", "§2, §4"),
    ("7", "elderly care", "dependency moves on, new beds open and old ones retire, elders "
     "seek beds, homes admit by priority", "health.py, institutions.py, elderly_care.py", "§2"),
    ("8", "accounts", "every payment booked by programme and funder; the bureau remembers "
     "the year for the fiscal cap", "ledger.py, records.py", "§2"),
)  # fmt: skip
"""The yearly step (simlib/model.py, CityModel.step): stage, name, what, modules, DESIGN."""


def stages_table(result: Projection, year: int | None = None) -> pd.DataFrame:
    """The stages of one simulated year (default the first) and what each did in it."""
    year = result.years[0] if year is None else year
    d, r = result.drivers, result.at
    did = (
        f"CPI {d.value('cpi', year):+.1%}; consumption last year "
        f"{d.value('cons_pc_urban', year - 1):,.0f} urban, "
        f"{d.value('cons_pc_rural', year - 1):,.0f} rural yuan; revenue "
        f"{d.value('budget_revenue', year) / YI:.1f} 亿元",
        f"December standard {r('dibao_standard_month', year, 'urban'):,.0f} urban, "
        f"{r('dibao_standard_month', year, 'rural'):,.0f} rural yuan/month",
        f"population {r('population', year):,.0f}, of them 60+ {r('elderly_60p', year):,.0f}",
        f"disposable income {d.value('dispinc_pc_urban', year):,.0f} urban, "
        f"{d.value('dispinc_pc_rural', year):,.0f} rural yuan/person",
        f"destitute {r('tekun_persons', year):,.0f}; dibao {r('dibao_persons', year):,.0f} persons "
        f"({r('dibao_entries', year):,.0f} households in, {r('dibao_exits', year):,.0f} out); "
        f"medical assistance {r('medical_assist_person_times', year):,.0f} person-times",
        f"fully dependent elders {r('dependent_fully', year):,.0f}; {r('beds', year):,.0f} beds, "
        f"{r('beds_occupied', year):,.0f} occupied, {r('waiting_list', year):,.0f} waiting",
        f"relief spending {r('relief_spending_total', year) / YI:.2f} 亿元",
    )
    rows = [
        {"stage": s, "name": n, "what": w, "modules": m, "DESIGN.md": ds, f"in {year}": x}
        for (s, n, w, m, ds), x in zip(STAGES, did, strict=True)
    ]
    return pd.DataFrame(rows).set_index("stage")


def standards_table(result: Projection, year: int | None = None) -> pd.DataFrame:
    """The standard after the base and after each rule of the mechanism in ``year``
    (default 2020, or the last year simulated), urban and rural, yuan/person/month: the
    bureau's decision in the first replicate; ``attrs["cap_factor"]`` is the share of the
    rise the fiscal cap kept."""
    year = plan_year(result, year)
    decision = result.decisions[year]
    rows = [(rule, decision.trace[rule].urban, decision.trace[rule].rural) for rule in RULES]
    rows.insert(0, ("in force last December", decision.previous.urban, decision.previous.rural))
    rows.append(("mean over the year (effective month)", *_pair(decision.annual_mean)))
    table = pd.DataFrame(rows, columns=["after", "urban", "rural"]).set_index("after")
    table.attrs["cap_factor"] = decision.cap_factor
    return table.round(1)


def _pair(s: Any) -> tuple[float, float]:
    return s.urban, s.rural


CASELOADS = {
    "dibao": "dibao_persons",
    "price_subsidy": "price_subsidy_months",
    "tekun": "tekun_persons",
    "medical_assistance": "medical_assist_person_times",
    "temporary_assistance": "temp_assist_cases",
    "orphan_allowance": "orphan_allowance_persons",
    "disability_living_subsidy": "disability_living_persons",
    "disability_nursing_subsidy": "disability_nursing_persons",
    "old_age_allowance": "old_age_allowance_persons",
    "care_subsidy": "beds_occupied",
    "bed_construction": "",
    "social_work": "social_workers",
    "care_workforce": "care_workers_trained",
    "community_care_construction": "community_facilities_built",
    "community_care_running": "community_facilities",
    "disaster_relief": "disaster_relocated_persons",
    "relief_reserve": "relief_reserve_purchased",
}
"""Each programme's caseload metric (what its spending is paid for)."""


def programmes_table(result: Projection, year: int | None = None) -> pd.DataFrame:
    """Each programme in ``year`` (default 2020, or the last year simulated): its caseload
    (persons, person-times, cases, months or occupied beds), its spending (万元) and its
    share of relief spending."""
    from simlib.glossary import label

    year = plan_year(result, year)
    total = result.at("relief_spending_total", year)
    rows = []
    for name, programme in PROGRAMMES.items():
        caseload = CASELOADS.get(name, "")
        spending = result.at(programme.metric, year)
        rows.append(
            {
                "programme": label("programmes", name, "en"),
                "项目": label("programmes", name, "zh"),
                "caseload": result.at(caseload, year) if caseload else float("nan"),
                "counted as": caseload,
                "spending, 万元": spending / WAN,
                "share": spending / total if total else float("nan"),
            }
        )
    return pd.DataFrame(rows).round({"caseload": 0, "spending, 万元": 1, "share": 3})


def beds_table(result: Projection) -> pd.DataFrame:
    """Homes and beds by kind at the end of the base year and of the last year."""
    p = result.scenario.params
    start, end = result.stock["start"], result.stock["end"]
    rows = [
        {
            "kind": kind,
            "类型": KIND_LABELS_ZH[kind],
            f"homes {p.years.base_year}": start[kind][0],
            f"beds {p.years.base_year}": start[kind][1],
            f"homes {p.years.end_year}": end[kind][0],
            f"beds {p.years.end_year}": end[kind][1],
        }
        for kind in KINDS
    ]
    table = pd.DataFrame(rows).set_index("kind")
    table.loc["all"] = ["合计", *table.iloc[:, 1:].sum().tolist()]
    return table


def ledger_by_funder(result: Projection, year: int | None = None) -> pd.DataFrame:
    """The ledger in ``year`` (default 2020, or the last year simulated): each programme's
    spending by funder, 万元 (mean across replicates), with totals."""
    from simlib.glossary import label

    y = result.years.index(plan_year(result, year))
    money = result.booked[:, y].mean(axis=0) / WAN
    table = pd.DataFrame(
        money,
        index=[label("programmes", p, "en") for p in PROGRAMMES],
        columns=[label("funders", f, "en") for f in FUNDERS],
    )
    table["total"] = table.sum(axis=1)
    table.loc["total"] = table.sum()
    return table.round(1)


def targets_table(result: Projection) -> pd.DataFrame:
    """The plan-target dashboard of the projection (:func:`simlib.targets.dashboard`)."""
    p = result.scenario.params
    table = tidy(result.values, METRICS, result.scenario.name, result.years, p.area_codes)
    board = dashboard(table, p.plan_targets)
    return board[["target", "year", "value", "threshold", "comparison", "status"]]
