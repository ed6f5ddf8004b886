"""Time the dibao household step: plain Mesa agents against simlib's vectorised rule.

    python benchmarks/bench_vs_mesa.py [--households N] [--steps S] [--seed S]

The household step of DESIGN §2 steps 4-6, run on the same synthetic households
(default 100,000) for ``--steps`` years (default 10), twice:

* **simlib**: the real functions on a :class:`simlib.population.City` made directly
  from the synthetic households (not ``population.build``: no census is needed),
  ``incomes.update_incomes`` (persistent income component, normalisation to the cell
  means, shocks) then ``dibao.step`` (gradual exits, review, application with the
  take-up probability, means test with assessment error and found assets, benefit =
  standard − assessed income per person, at least the floor, plus supplements), each
  drawing random numbers only for the households whose outcome they decide.
* **plain Mesa**: one ``mesa.Agent`` per household, each with its own attributes and
  per-agent Python logic, stepped with ``model.agents.do(...)`` (Mesa 3.5 ``AgentSet.do``),
  each agent drawing its own random numbers from ``model.random``.  The rule is the one
  of the two simlib functions, written out for one household: the income update is two
  ``do`` passes (draw the persistent component; then, once the model has summed the
  cell's raw incomes for the normalisation, the shocks and dibao).  Household
  composition (members, a worker, members 70+, under 16, grade 1-2 disabled) is kept
  as agent attributes computed once; simlib keeps the same counts (members, workers,
  classified members) while the persons' columns hold (``Columns.derived``): no
  person moves, ages or dies in this benchmark, so both sides count them once.

Both sides read the same parameters, the ``income:`` and ``programmes.dibao:`` blocks
of params/baseline.yaml, and start from the same state: the synthetic households are
generated once with numpy from ``--seed``, then ``burn_in_years`` of the vectorised
rule at base-year conditions (untimed, as the model does) give the starting caseload,
incomes and assessments, copied to the Mesa agents.  After that each side draws its
own random numbers, so the two caseloads differ by sampling noise only; the script
checks that the caseload shares (households on dibao at the end) agree within one
percentage point and exits with status 1 if they do not.

Synthetic inputs (illustrative, not calibrated): per-capita disposable income of
Panzhihua in 2019, urban 41,864 and rural 18,352 yuan (panzhihua_bulletins.csv,
quoted), standards of 600 urban and 450 rural yuan/person/month, both growing 6% a
year; 35% of households rural; sizes 1-6; ages and disability by simple shares.

Prints the wall seconds of the steps on each side (building the agents and the City
is timed apart and left out), the caseload shares, and last ``ratio: <number>x``,
plain-Mesa seconds / simlib seconds.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import mesa
import numpy as np

from simlib import dibao, incomes
from simlib.columns import Columns, keep_freed_memory
from simlib.incomes import SHOCK_CODES, IncomeParams
from simlib.parameters import load_tree
from simlib.population import City, cell_of

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SEED = 20160101  # simlib.runs.DEFAULT_SEED (not imported: the model loads slowly)

BASE_YEAR = 2019
DISPINC = (41864.0, 18352.0)  # yuan/person/year, urban and rural, Panzhihua 2019 (quoted)
STANDARD = (600.0, 450.0)  # yuan/person/month, urban and rural (illustrative)
GROWTH = 0.06  # yearly growth of incomes and standards (illustrative)
RURAL_SHARE = 0.35  # of households
SIZE_SHARES = (0.20, 0.30, 0.25, 0.15, 0.07, 0.03)  # households of 1 ... 6 members
AGE_BANDS = ((0, 16, 0.16), (16, 60, 0.58), (60, 70, 0.13), (70, 95, 0.13))  # from, to, share
DISABILITY_SHARE = 0.06  # persons with a disability, grades 1-4 equally likely
MAX_SHARE_GAP = 0.01  # the two caseload shares must agree within one percentage point


# --- the synthetic households (numpy, once) ---------------------------------------------


def synthetic_city(n: int, area_codes: tuple[str, ...], rng: np.random.Generator) -> City:
    """``n`` households with their members; the first member of each is an adult."""
    size = rng.choice(np.arange(1, len(SIZE_SHARES) + 1), n, p=SIZE_SHARES)
    household = np.repeat(np.arange(n, dtype=np.int32), size)
    first = np.r_[True, household[1:] != household[:-1]]
    bands = rng.choice(len(AGE_BANDS), len(household), p=[b[2] for b in AGE_BANDS])
    bands[first] = rng.choice([1, 2, 3], first.sum(), p=[0.7, 0.15, 0.15])
    low = np.array([b[0] for b in AGE_BANDS])[bands]
    high = np.array([b[1] for b in AGE_BANDS])[bands]
    age = rng.integers(low, high).astype(np.int16)
    disabled = rng.random(len(household)) < DISABILITY_SHARE
    disability = np.where(disabled, rng.integers(1, 5, len(household)), 0).astype(np.int8)
    area = rng.integers(0, len(area_codes), n).astype(np.int8)
    stratum = (rng.random(n) < RURAL_SHARE).astype(np.int8)
    persons = Columns(
        age=age,
        sex=rng.integers(0, 2, len(household)).astype(np.int8),
        area=area[household],
        stratum=stratum[household],
        household=household,
        disability=disability,
    )
    return City(area_codes, persons, Columns(area=area, stratum=stratum), 1.0, BASE_YEAR)


def dispinc(year: int) -> tuple[float, float]:
    grow = (1.0 + GROWTH) ** (year - BASE_YEAR)
    return DISPINC[0] * grow, DISPINC[1] * grow


def standard(year: int) -> np.ndarray:
    return np.array(STANDARD) * (1.0 + GROWTH) ** (year - BASE_YEAR)


# --- simlib: the vectorised rule ----------------------------------------------------------


def simlib_year(
    city: City, income: IncomeParams, rules: dibao.DibaoParams, year: int, rng: np.random.Generator
) -> dibao.DibaoYear:
    """One year of the real simlib functions: incomes move, then dibao."""
    incomes.update_incomes(city, income, dispinc(year), year, rng)
    return dibao.step(city, rules, standard(year), year, rng)


# --- plain Mesa: one agent per household -------------------------------------------------


class Household(mesa.Agent):
    """A family household: its composition, income and dibao state."""

    def __init__(
        self,
        model: DibaoModel,
        *,
        cell: int,
        stratum: int,
        members: int,
        worker: bool,
        supplement_members: float,
        z: float,
        asset_fail: bool,
        on: bool,
        exit_left: int,
        assessed: float,
    ) -> None:
        super().__init__(model)
        self.cell, self.stratum, self.members, self.worker = cell, stratum, members, worker
        self.supplement_members = supplement_members  # Σ shares of its elderly, children, disabled
        self.z, self.asset_fail = z, asset_fail
        self.on, self.exit_left, self.assessed = on, exit_left, assessed
        self.raw = self.income = 0.0
        self.shock = 0

    def move_income(self) -> None:
        """The persistent component moves on; the raw income joins its cell's total."""
        m = self.model
        self.z = m.rho * self.z + m.innovation_sd * self.random.gauss(0.0, 1.0)
        self.raw = math.exp(self.z if self.worker else self.z + m.no_worker_shift)
        m.raw_total[self.cell] += self.raw * self.members

    def step(self) -> None:
        """This year's income and shocks, then review or application, then the benefit."""
        m = self.model
        rnd = self.random
        income = self.raw * m.factor[self.cell]
        self.shock = 0
        for code, rates, loss, workers_only in m.shocks:
            if rnd.random() < rates[self.stratum] and (self.worker or not workers_only):
                income *= 1.0 - loss
                self.shock = code
        self.income = income

        line = m.line[self.stratum]
        can_claim = self.members > 0
        months = 0
        if self.on and self.exit_left > 0:  # in the gradual exit: paid what is left of it
            months = min(self.exit_left, 12)
            self.exit_left -= months
            self.on = self.exit_left > 0
        elif self.on:  # a regular recipient: reviewed?
            months = 12
            if rnd.random() < m.review_rate or not can_claim:
                reassessed = income * math.exp(rnd.gauss(-m.bias, m.error_sd))
                found = self.asset_fail and rnd.random() < m.verification
                if reassessed >= line or found or not can_claim:
                    paid = rnd.randrange(12) + m.exit_months
                    months = min(paid, 12)
                    self.exit_left = max(paid - 12, 0)
                    self.on = self.exit_left > 0
                else:
                    self.assessed = reassessed
        elif can_claim and rnd.random() < self.application_probability(income, line):
            assessed = income * math.exp(rnd.gauss(-m.bias, m.error_sd))
            if assessed < line and not (self.asset_fail and rnd.random() < m.verification):
                self.on = True
                self.exit_left = 0
                self.assessed = assessed
                months = 12 - rnd.randrange(12)
        if months > 0:
            std = m.standard[self.stratum]
            gap = max(std - self.assessed / 12.0, m.floor_share * std)
            units = self.supplement_members + (
                m.ill_share if self.shock == m.major_illness else 0.0
            )
            m.spending += months * (self.members * gap + units * std)

    def application_probability(self, income: float, line: float) -> float:
        m = self.model
        gap = 1.0 - income / line
        if gap > 0.0:
            p = m.max_rate[self.stratum] * (1.0 - math.exp(-gap / m.gap_scale))
        elif gap > -m.near_line_band:
            p = m.near_line_rate
        else:
            p = 0.0
        return min(max(p * m.outreach, 0.0), 1.0)


class DibaoModel(mesa.Model):
    """The households of a synthetic city, stepped a year at a time."""

    def __init__(
        self,
        city: City,
        income: IncomeParams,
        rules: dibao.DibaoParams,
        seed: int,
    ) -> None:
        super().__init__(rng=seed)
        self.income_params, self.rules, self.year = income, rules, city.year
        self.spending = 0.0
        hh = city.households
        sup, t = rules.benefit.supplements, city.year
        elderly, child, severe = dibao.classified_members(city, sup)  # counted once, as simlib
        units = (
            float(sup.elderly.share.at(t)) * elderly
            + float(sup.child.share.at(t)) * child
            + float(sup.severely_disabled.at(t)) * severe
        )
        members = city.members()
        cell = cell_of(hh)
        self.cell_persons = np.bincount(
            cell, weights=members, minlength=2 * len(city.area_codes)
        ).tolist()
        columns = {
            "cell": cell.tolist(),
            "stratum": hh.stratum.tolist(),
            "members": members.tolist(),
            "worker": incomes.has_worker(city).tolist(),
            "supplement_members": units.tolist(),
            "z": hh.income_z.astype(float).tolist(),
            "asset_fail": hh.asset_fail.tolist(),
            "on": hh.dibao_on.tolist(),
            "exit_left": hh.dibao_exit_left.tolist(),
            "assessed": hh.dibao_assessed_pc.astype(float).tolist(),
        }
        for i in range(len(hh)):
            Household(self, **{name: values[i] for name, values in columns.items()})

    def _parameters(self, year: int) -> None:
        """This year's parameters, read once for all agents."""
        inc, take_up, test = self.income_params, self.rules.take_up, self.rules.assessment
        self.rho = float(inc.persistence.at(year))
        self.innovation_sd = math.sqrt(1.0 - self.rho**2) * float(inc.dispersion.at(year))
        self.no_worker_shift = float(inc.no_worker_log_shift.at(year))
        self.shocks = [
            (
                SHOCK_CODES[name],
                tuple(shock.rate.pair(year)),
                float(shock.income_loss.at(year)),
                shock.hits == "households_with_workers",
            )
            for name, shock in inc.shocks.items()
        ]
        self.means = incomes.target_means(inc, tuple(inc.area_relative_income), dispinc(year), year)
        self.standard = standard(year).tolist()
        self.line = [12.0 * s for s in self.standard]
        self.verification = v = float(test.verification_strength.at(year))
        self.bias = float(test.underreporting.at(year)) * (1.0 - v)
        self.error_sd = float(test.error_sd.at(year)) * (1.0 - v)
        self.max_rate = tuple(take_up.max_rate.pair(year))
        self.gap_scale = float(take_up.gap_scale.at(year))
        self.near_line_band = float(take_up.near_line_band.at(year))
        self.near_line_rate = float(take_up.near_line_rate.at(year))
        self.outreach = float(take_up.outreach.at(year))
        self.review_rate = float(self.rules.review.rate.at(year))
        self.exit_months = int(self.rules.review.gradual_exit_months.at(year))
        self.floor_share = float(self.rules.benefit.floor_share.at(year))
        self.ill_share = float(self.rules.benefit.supplements.seriously_ill.at(year))
        self.major_illness = SHOCK_CODES["major_illness"]

    def step(self) -> None:
        self.year += 1
        self._parameters(self.year)
        self.raw_total = [0.0] * len(self.cell_persons)
        self.agents.do("move_income")
        self.factor = [
            mean * persons / total if total > 0 else 0.0
            for mean, persons, total in zip(
                self.means, self.cell_persons, self.raw_total, strict=True
            )
        ]
        self.agents.do("step")

    def caseload_share(self) -> float:
        return sum(self.agents.get("on")) / len(self.agents)


# --- the comparison -----------------------------------------------------------------------


def load_rules() -> tuple[IncomeParams, dibao.DibaoParams]:
    """The ``income:`` and ``programmes.dibao:`` blocks of params/baseline.yaml."""
    tree = load_tree(ROOT / "params" / "baseline.yaml")
    rules = dibao.DibaoParams.model_validate(tree.data["programmes"]["dibao"])
    return IncomeParams.model_validate(tree.data["income"]), rules


def bench(n: int, steps: int, seed: int) -> dict[str, float]:
    income, rules = load_rules()
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    city = synthetic_city(n, tuple(income.area_relative_income), rng)
    incomes.init_incomes(city, income, dispinc(BASE_YEAR), rng)
    dibao.init_dibao(city, rules, rng)
    for _ in range(rules.burn_in_years):
        simlib_year(city, income, rules, BASE_YEAR, rng)
    t1 = time.perf_counter()
    model = DibaoModel(city, income, rules, seed + 1)
    t2 = time.perf_counter()
    start_share = float(city.households.dibao_on.mean())

    simlib_spending = 0.0
    t3 = time.perf_counter()
    for year in range(BASE_YEAR + 1, BASE_YEAR + 1 + steps):
        simlib_spending += float(simlib_year(city, income, rules, year, rng).spending.sum())
    simlib_s = time.perf_counter() - t3

    t4 = time.perf_counter()
    for _ in range(steps):
        model.step()
    mesa_s = time.perf_counter() - t4

    return {
        "households": n,
        "persons": len(city.persons),
        "steps": steps,
        "simlib_build_s": t1 - t0,
        "mesa_build_s": t2 - t1,
        "start_share": start_share,
        "simlib_s": simlib_s,
        "mesa_s": mesa_s,
        "simlib_share": float(city.households.dibao_on.mean()),
        "mesa_share": model.caseload_share(),
        "simlib_spending": simlib_spending,
        "mesa_spending": model.spending,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    if args.households < 1 or args.steps < 1:
        parser.error("--households and --steps must be at least 1")
    keep_freed_memory()  # as CityModel does; a setting of the process, so both sides have it
    r = bench(args.households, args.steps, args.seed)
    print(f"households: {r['households']:,} ({r['persons']:,} persons), steps: {r['steps']}")
    print(
        f"build (untimed in the ratio): simlib City + burn-in {r['simlib_build_s']:.2f} s, "
        f"Mesa agents {r['mesa_build_s']:.2f} s"
    )
    print(f"caseload share at the start: {r['start_share']:.2%}")
    print(
        f"simlib (vectorised)  step time: {r['simlib_s']:8.3f} s   "
        f"caseload share: {r['simlib_share']:.2%}   spending: {r['simlib_spending']:,.0f} yuan"
    )
    print(
        f"plain Mesa (agents)  step time: {r['mesa_s']:8.3f} s   "
        f"caseload share: {r['mesa_share']:.2%}   spending: {r['mesa_spending']:,.0f} yuan"
    )
    gap = abs(r["simlib_share"] - r["mesa_share"])
    if gap > MAX_SHARE_GAP:
        print(
            f"error: the caseload shares differ by {gap:.2%} (more than {MAX_SHARE_GAP:.0%}): "
            "the two sides do not run the same rule",
            file=sys.stderr,
        )
        return 1
    print(f"ratio: {r['mesa_s'] / r['simlib_s']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
