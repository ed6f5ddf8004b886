"""The city model: a Mesa model whose step is one calendar year (DESIGN §2).

The model owns the randomness (Mesa's seeded ``rng``), the synthetic city (persons
and households as columns), the bureau agent, and Mesa's data collection.  Its
``step`` reads as the year's stages in order:

1. economy: this year's drivers (read by the bureau from the scenario's path);
2. standards: the bureau adjusts the dibao standards;
3. demography: ageing, deaths, births, migration, households formed and dissolved;
4. incomes and shocks;
5-6. means test and benefits: dibao, and the price subsidy when prices trigger it.

Elderly care (7) and the other programmes and the ledger (8) come in later issues;
each will add its stage here and its metrics to ``self.metrics``.

Before the first simulated year the model builds the city at the end of the base
year and lets dibao run ``burn_in_years`` times at base-year conditions, so that
the caseload at the start is a stock built by the same flows as later (the
bureau's first year is not a year of mass enrolment).
"""

from __future__ import annotations

import mesa
import numpy as np

from simlib import demography, dibao, incomes, price_subsidy
from simlib.bureau import Bureau
from simlib.economy import Drivers, build_drivers
from simlib.metrics import CITY_METRICS, Metric
from simlib.population import STRATA, build_city
from simlib.scenario import Scenario
from simlib.standards import Stratified

FIRST_DRIVER_YEAR = 2010
METRICS: list[Metric] = [*CITY_METRICS, *dibao.METRICS, *price_subsidy.METRICS]
"""Every metric the model reports, in report order."""


class CityModel(mesa.Model):
    """Panzhihua (or any city described by a scenario), one year per step."""

    def __init__(
        self,
        params: Scenario,
        scale: float = 1.0,
        rng: np.random.Generator | int | None = None,
        drivers: Drivers | None = None,
    ) -> None:
        super().__init__(rng=rng)
        self.params = params
        self.year = params.years.base_year
        self.drivers = drivers or build_drivers(
            params.economy, min(FIRST_DRIVER_YEAR, self.year - 1), params.years.end_year + 1
        )
        self.city = build_city(params.population, params.area_codes, self.year, scale, self.rng)
        self.bureau = Bureau(self, params.standards, params.programmes.dibao, self.drivers)
        self.metrics = METRICS
        self.cells: dict[str, np.ndarray] = {}
        self._start()
        self.datacollector = mesa.DataCollector(
            model_reporters={name: self._reporter(name) for name in self.raw_names()}
        )

    # --- set-up -------------------------------------------------------------------

    def _start(self) -> None:
        """Incomes, dibao columns and the dibao caseload at the end of the base year."""
        year = self.year
        incomes.init_incomes(self.city, self.params.income, self._dispinc(year), self.rng)
        dibao.init_dibao(self.city, self.params.programmes.dibao, self.rng)
        standards = self.bureau.set_initial_standards(year)
        for _ in range(self.params.programmes.dibao.burn_in_years):
            incomes.update_incomes(
                self.city, self.params.income, self._dispinc(year), year, self.rng
            )
            result = self.bureau.administer_dibao(self.city, year, standards)
        self.bureau.remember(self.city, result, float(result.spending.sum()) * self.city.weight)

    def raw_names(self) -> list[str]:
        names: list[str] = []
        for m in self.metrics:
            names += [n for n in m.raw_needed if n not in names]
        return names

    def _reporter(self, name: str):
        return lambda model: model.cells[name]

    def _dispinc(self, year: int) -> tuple[float, float]:
        d = self.drivers
        return d.value("dispinc_pc_urban", year), d.value("dispinc_pc_rural", year)

    # --- the year -------------------------------------------------------------------

    def step(self) -> None:
        """One calendar year."""
        year = self.year + 1
        decision = self.bureau.adjust_standards(year)  # 1 economy, 2 standards
        demography.step(self.city, self.params.demography, year, self.rng)  # 3
        incomes.update_incomes(  # 4
            self.city, self.params.income, self._dispinc(year), year, self.rng
        )
        dibao_year = self.bureau.administer_dibao(self.city, year, decision.annual_mean)  # 5-6
        subsidy = self.bureau.price_subsidies(self.city, dibao_year)
        relief = float(dibao_year.spending.sum() + subsidy.sum()) * self.city.weight
        self.bureau.remember(self.city, dibao_year, relief)
        self.year = year
        self.cells = self._cells(dibao_year, subsidy)
        self.datacollector.collect(self)

    def run(self) -> None:
        """Step to the scenario's last year."""
        while self.year < self.params.years.end_year:
            self.step()

    # --- recording ------------------------------------------------------------------

    def _cells(self, d: dibao.DibaoYear, subsidy: np.ndarray) -> dict[str, np.ndarray]:
        """This year's raw quantities per area × stratum, weighted to the whole city."""
        city = self.city
        n_cells = len(city.area_codes) * len(STRATA)
        shape = (len(city.area_codes), len(STRATA))
        hh_cell = incomes.cell_index(city)
        p_cell = incomes.cell_index(city, "persons")
        age = city.persons.age
        members = city.members()

        def households(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
            w = mask if weights is None else np.where(mask, weights, 0.0)
            return np.bincount(hh_cell, weights=w, minlength=n_cells).reshape(shape)

        def persons(mask: np.ndarray) -> np.ndarray:
            return np.bincount(p_cell, weights=mask, minlength=n_cells).reshape(shape)

        decision = self.bureau.decision
        assert decision is not None
        by_stratum = np.ones(shape)
        raw = {
            "population": persons(np.ones(len(age), dtype=bool)),
            "households": households(np.ones(len(members), dtype=bool)),
            "elderly_60p": persons(age >= 60),
            "elderly_65p": persons(age >= 65),
            "elderly_80p": persons(age >= 80),
            "dibao_persons": households(d.recipients, members),
            "dibao_households": households(d.recipients),
            "dibao_regular_households": households(
                d.recipients & (city.households.dibao_exit_left == 0)
            ),
            "dibao_wrongly_included": households(d.wrongly_included),
            "dibao_eligible_households": households(d.eligible),
            "dibao_eligible_left_out": households(d.eligible & ~d.recipients),
            "dibao_entries": households(d.entries),
            "dibao_exits": households(d.exits),
            "dibao_spending": households(np.ones(len(members), dtype=bool), d.spending),
            "price_subsidy_spending": households(np.ones(len(members), dtype=bool), subsidy),
        }
        raw = {k: v * city.weight for k, v in raw.items()}
        raw["dibao_standard_month"] = by_stratum * _pair(decision.new)
        raw["dibao_standard_mean_month"] = by_stratum * _pair(decision.annual_mean)
        raw["price_subsidy_months"] = by_stratum * float(decision.subsidy_months)
        return raw

    def raw_results(self) -> dict[str, np.ndarray]:
        """Every raw quantity as an array (year, area, stratum) over the simulated years."""
        data = self.datacollector.model_vars
        return {name: np.stack(data[name]) for name in self.raw_names()}


def _pair(s: Stratified) -> np.ndarray:
    return np.array([s.urban, s.rural])
