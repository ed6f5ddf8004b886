"""The city model: a Mesa model whose step is one calendar year (DESIGN §2).

The model owns the randomness (Mesa's seeded ``rng``), the synthetic city (persons
and households as columns), the agents (the bureau and the care homes), and
Mesa's data collection.  Its ``step`` reads as the year's stages in order:

1. economy: this year's drivers (read by the bureau from the scenario's path);
2. standards: the bureau adjusts the dibao standards;
3. demography: deaths (raised for dependent elders), ageing, births, migration,
   households formed and dissolved;
4. incomes and shocks;
5-6. means tests and benefits: destitute persons identified and supported, dibao
   for the other members, the price subsidy when prices trigger it, medical and
   temporary assistance, the allowances;
7. elderly care: elders' health moves on, new beds open, elders seek beds and the
   homes admit them by priority;
8. accounts: every programme's payments are booked to the ledger by funder; the
   bureau remembers the year's caseload and relief spending for the fiscal cap.

Each new stage adds its call here and its metrics to ``METRICS``.

Before the first simulated year the model builds the city at the end of the base
year and lets destitute support and dibao run ``burn_in_years`` times at
base-year conditions, so that the caseloads at the start are stocks built by the
same flows as later; the homes start with the base year's residents.
"""

from __future__ import annotations

from collections.abc import Callable

import mesa
import numpy as np

from simlib import (
    allowances,
    demography,
    dibao,
    elderly_care,
    health,
    incomes,
    institutions,
    invariants,
    ledger,
    medical_assistance,
    price_subsidy,
    tekun,
    temporary_assistance,
)
from simlib.bureau import Bureau
from simlib.cells import Cells
from simlib.columns import keep_freed_memory
from simlib.economy import Drivers, build_drivers
from simlib.metrics import CITY_METRICS, Metric
from simlib.plan_services import METRICS as SERVICE_METRICS
from simlib.plan_services import PlanServices, ServicesYear, services_rng
from simlib.population import build_city
from simlib.records import YearOutcome, record, spending_by_cell
from simlib.scenario import Scenario
from simlib.services import ServiceInputs, read_city
from simlib.standards import StandardDecision, Stratified

FIRST_DRIVER_YEAR = 2010
METRICS: list[Metric] = [
    *CITY_METRICS,
    *dibao.METRICS,
    *price_subsidy.METRICS,
    *tekun.METRICS,
    *health.METRICS,
    *elderly_care.METRICS,
    *medical_assistance.METRICS,
    *temporary_assistance.METRICS,
    *allowances.METRICS,
    *SERVICE_METRICS,
    *ledger.METRICS,
]
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
        keep_freed_memory()  # reuse the memory of a step's temporary arrays
        self.params = params
        self.scale = scale
        self.year = params.years.base_year
        self.drivers = drivers or build_drivers(
            params.economy, min(FIRST_DRIVER_YEAR, self.year - 1), params.years.end_year + 1
        )
        self.city = build_city(params.population, params.area_codes, self.year, scale, self.rng)
        self.health = health.build_health(
            params.health, self.city, self.year, mortality=params.demography.mortality
        )
        self.homes = institutions.build_homes(
            self, params.institutions, params.area_codes, self.year
        )
        self.bureau = Bureau(self, params.standards, params.programmes.dibao, self.drivers)
        self.metrics = METRICS
        self.cells: dict[str, np.ndarray] = {}
        self.booked: list[np.ndarray] = []
        self.deflators: list[float] = []
        self._start()
        self.invariants = invariants.YearChecks(self)  # the checks of every year
        self.datacollector = mesa.DataCollector(
            model_reporters={name: self._reporter(name) for name in self.raw_names()}
        )

    # --- set-up -------------------------------------------------------------------

    def _start(self) -> None:
        """Every column, the caseloads and the residents at the end of the base year."""
        year, city, p = self.year, self.city, self.params
        self.health.init_states(city, self.rng)
        tekun.init_tekun(city, p.programmes.tekun, self.rng)
        elderly_care.init_care(city)
        incomes.init_incomes(city, p.income, self._dispinc(year), self.rng)
        dibao.init_dibao(city, p.programmes.dibao, self.rng)
        allowances.init_allowances(city, p.programmes.allowances, self.rng)
        standards = self.bureau.set_initial_standards(year)
        for _ in range(p.programmes.dibao.burn_in_years):
            incomes.update_incomes(city, p.income, self._dispinc(year), year, self.rng)
            supported = self._support_destitute(standards, standards, year)
            result = self._administer_dibao(year, standards)
        elderly_care.fill_at_start(
            city,
            self.homes,
            p.programmes.elderly_care,
            year,
            self.rng,
            self.scale,
            self._person_income_month(year),
            self._poor(result, standards, year),
            tekun.needs_placement(city),
        )
        self.services = PlanServices(
            p.programmes,
            p.area_codes,
            self._service_inputs(result, supported, year),
            year,
            services_rng(self.rng),
        )
        self.bureau.remember(city, result, self._base_year_relief(result, supported, standards))

    def _base_year_relief(
        self, dibao_year: dibao.DibaoYear, supported: tekun.TekunYear, standards: Stratified
    ) -> float:
        """The base year's relief spending, for the fiscal cap of the first year: every
        programme at base-year conditions, with no price subsidy and no construction."""
        city, year = self.city, self.year
        homes = self.homes
        subsidy = np.array([h.subsidy_month for h in homes]) * 12.0
        occupied = institutions.occupancy(city.persons.institution, len(homes))
        none = np.zeros(len(city.persons), dtype=bool)
        care = elderly_care.CareYear(none, none, none, none, subsidy * occupied)
        outcome = self._outcome(
            None,
            dibao_year,
            supported,
            None,
            None,
            care,
            np.zeros((len(self.params.areas), 2)),
            standards,
            year,
            ServicesYear(),  # the relief programmes only: the services start in the first year
        )
        return float(sum(v.sum() for v in spending_by_cell(city, homes, outcome).values()))

    def raw_names(self) -> list[str]:
        names: list[str] = []
        for m in self.metrics:
            names += [n for n in m.raw_needed if n not in names]
        return names

    def _reporter(self, name: str):
        return lambda model: model.cells[name]

    # --- the year -------------------------------------------------------------------

    def step(self) -> None:
        """One calendar year."""
        year, city, p = self.year + 1, self.city, self.params
        decision = self.bureau.adjust_standards(year)  # 1 economy, 2 standards
        multiplier = self.health.mortality_multiplier(city, year)
        report = demography.step(city, p.demography, year, self.rng, multiplier)  # 3
        incomes.update_incomes(city, p.income, self._dispinc(year), year, self.rng)  # 4
        supported = self._support_destitute(decision.new, decision.annual_mean, year)  # 5-6
        dibao_year = self._administer_dibao(year, decision.annual_mean)
        household_subsidy, person_subsidy = self.bureau.price_subsidies(city, dibao_year, supported)
        self.health.transition(city, year, self.rng)  # 7
        self.homes, construction = institutions.build_pipeline(
            self,
            self.homes,
            p.institutions,
            p.area_codes,
            year,
            occupied=institutions.occupancy(city.persons.institution, len(self.homes)),
            scale=self.scale,
        )
        care = self._elderly_care(year, dibao_year, decision.annual_mean)
        services = self.services.step(year, self._service_inputs(dibao_year, supported, year))
        outcome = self._outcome(
            decision,
            dibao_year,
            supported,
            household_subsidy,
            person_subsidy,
            care,
            construction,
            decision.annual_mean,
            year,
            services,
        )
        self._account(outcome, year)  # 8
        self.invariants.check(self, year, report)  # the model's own rules
        self.year = year
        self.datacollector.collect(self)

    def _outcome(
        self,
        decision: StandardDecision | None,
        dibao_year: dibao.DibaoYear,
        supported: tekun.TekunYear,
        household_subsidy: np.ndarray | None,
        person_subsidy: np.ndarray | None,
        care: elderly_care.CareYear,
        construction: np.ndarray,
        mean: Stratified,
        year: int,
        services: ServicesYear,
    ) -> YearOutcome:
        """The year's outcome, with the programmes that follow dibao and destitute support:
        medical and temporary assistance and the allowances (stage 6)."""
        city, programmes, rng = self.city, self.params.programmes, self.rng
        on_dibao = dibao_year.recipients
        return YearOutcome(
            decision=decision,
            dibao=dibao_year,
            household_subsidy=_or_zeros(household_subsidy, len(city.households)),
            tekun=supported,
            person_subsidy=_or_zeros(person_subsidy, len(city.persons)),
            care=care,
            construction=construction,
            medical=medical_assistance.step(
                city,
                programmes.medical_assistance,
                year,
                rng,
                dibao_households=on_dibao,
                tekun_persons=supported.supported,
                low_income_households=self._low_income(mean, year),
            ),
            temporary=temporary_assistance.step(
                city,
                programmes.temporary_assistance,
                year,
                rng,
                standard_month=_pair(mean),
                dibao_households=on_dibao,
            ),
            allowances=allowances.step(
                city, programmes.allowances, year, rng, dibao_households=on_dibao
            ),
            services=services,
        )

    def _account(self, outcome: YearOutcome, year: int) -> None:
        """Book the year's payments to the ledger and record the year."""
        city, d = self.city, self.drivers
        booked = ledger.book(spending_by_cell(city, self.homes, outcome), self.params.funding, year)
        deflator = d.price_level("cpi", year, self.params.years.base_year)
        self.booked.append(booked)
        self.deflators.append(deflator)
        self.bureau.remember(city, outcome.dibao, float(booked.sum()))
        self.cells = record(
            city, self.homes, outcome, booked, deflator, d.value("budget_revenue", year)
        )

    def run(self, after_year: Callable[[int], object] | None = None) -> None:
        """Step to the scenario's last year (calling ``after_year(year)`` after each)."""
        while self.year < self.params.years.end_year:
            self.step()
            if after_year is not None:
                after_year(self.year)

    # --- stages ---------------------------------------------------------------------

    def _support_destitute(
        self, december: Stratified, mean: Stratified, year: int
    ) -> tekun.TekunYear:
        return tekun.step(
            self.city, self.params.programmes.tekun, _pair(december), _pair(mean), year, self.rng
        )

    def _administer_dibao(self, year: int, mean: Stratified) -> dibao.DibaoYear:
        return self.bureau.administer_dibao(
            self.city, year, mean, tekun.members_not_supported(self.city)
        )

    def _elderly_care(
        self, year: int, dibao_year: dibao.DibaoYear, mean: Stratified
    ) -> elderly_care.CareYear:
        city = self.city
        params = self.params.programmes
        asking = tekun.asks_for_place(city, params.tekun, year, self.rng)
        residents = Cells(city, self.homes).residents_by_care_level(
            city.persons.institution, city.persons.adl
        )
        staffed = self.services.staffed(residents * city.weight, year) * self.scale
        return elderly_care.step(
            city,
            self.homes,
            params.elderly_care,
            year,
            self.rng,
            self.scale,
            self._person_income_month(year),
            self._poor(dibao_year, mean, year),
            tekun.needs_placement(city),
            asking,
            staffed=staffed,
        )

    # --- what the stages read -------------------------------------------------------------

    def _dispinc(self, year: int) -> tuple[float, float]:
        d = self.drivers
        return d.value("dispinc_pc_urban", year), d.value("dispinc_pc_rural", year)

    def _person_income_month(self, year: int) -> np.ndarray:
        """Each person's monthly income: the household's per capita, or the stratum's mean
        for persons outside family households."""
        p, h = self.city.persons, self.city.households
        mean = np.array(self._dispinc(year)) / 12.0
        income = self.city.of_household(h.income_pc / 12.0)
        outside = p.household < 0
        income[outside] = mean[p.stratum[outside]]
        return income

    def _low_income(self, mean: Stratified, year: int) -> np.ndarray:
        """Households below the low-income line (低收入家庭): a multiple of the standard."""
        h = self.city.households
        multiple = float(self.params.programmes.elderly_care.low_income_multiple.at(year))
        return h.income_pc < multiple * 12.0 * _pair(mean)[h.stratum]

    def _poor(self, dibao_year: dibao.DibaoYear, mean: Stratified, year: int) -> np.ndarray:
        """Persons on dibao, or in a household below the low-income line."""
        low = self._low_income(mean, year)
        return self.city.of_household(dibao_year.recipients | low, False)

    def _service_inputs(
        self, dibao_year: dibao.DibaoYear, supported: tekun.TekunYear, year: int
    ) -> ServiceInputs:
        d = self.drivers
        return read_city(
            self.city,
            self.homes,
            np.where(dibao_year.recipients, dibao_year.members, 0),
            supported.supported,
            d.value("budget_revenue", year),
            d.price_level("cpi", year, self.params.years.base_year),
        )

    def raw_results(self) -> dict[str, np.ndarray]:
        """Every raw quantity as an array (year, area, stratum) over the simulated years."""
        data = self.datacollector.model_vars
        return {name: np.stack(data[name]) for name in self.raw_names()}

    def ledger(self) -> tuple[np.ndarray, np.ndarray]:
        """The booked payments (year, programme, funder, area, stratum) and the CPI
        deflator of each simulated year."""
        return np.stack(self.booked), np.array(self.deflators)


def _pair(s: Stratified) -> np.ndarray:
    return np.array([s.urban, s.rural])


def _or_zeros(values: np.ndarray | None, n: int) -> np.ndarray:
    return np.zeros(n) if values is None else values
