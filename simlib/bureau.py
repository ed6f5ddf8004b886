"""The civil-affairs bureau (民政局): the one agent that makes the rules each year.

DESIGN §2 (agents).  The bureau is a Mesa agent.  Each year it

* sets the dibao standards by the adjustment mechanism (:mod:`simlib.standards`),
  from what it knows at the start of the year: last year's consumption, this
  year's prices as far as it sees them, the budget revenue, and last year's
  caseload and relief spending;
* runs dibao (:mod:`simlib.dibao`): reviews, the means test, the benefits;
* pays the temporary price subsidy to dibao recipients and destitute persons when
  the price linkage holds.

It remembers last year's caseload and spending, which the fiscal-cap rule needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from simlib import dibao, price_subsidy
from simlib.economy import Drivers
from simlib.population import City
from simlib.standards import (
    StandardDecision,
    StandardInputs,
    StandardsParams,
    Stratified,
    initial_standards,
    set_standards,
)

if TYPE_CHECKING:
    from simlib.dibao import DibaoParams, DibaoYear
    from simlib.tekun import TekunYear

PRICE_DRIVERS = ("cpi", "cpi_food", "necessities")


class Bureau(mesa.Agent):
    """The city bureau: standards, dibao, price subsidy."""

    def __init__(
        self,
        model: mesa.Model,
        standards: StandardsParams,
        dibao_params: DibaoParams,
        drivers: Drivers,
    ) -> None:
        super().__init__(model)
        self.standards_params = standards
        self.dibao_params = dibao_params
        self.drivers = drivers
        self.standards: Stratified | None = None
        self.decision: StandardDecision | None = None
        self.recipients_prev = Stratified(0.0, 0.0)
        self.relief_spending_prev = 0.0

    # --- standards --------------------------------------------------------------

    def standard_inputs(self, year: int) -> StandardInputs:
        """What the bureau knows when it sets the standards of ``year``."""
        d = self.drivers

        def rates(name: str, years: range) -> dict[int, float]:
            return {y: d.value(name, y) for y in years if d.first_year <= y <= d.last_year}

        base = self.standards_params.price_base_year
        return StandardInputs(
            year=year,
            consumption_prev=Stratified(
                d.value("cons_pc_urban", year - 1), d.value("cons_pc_rural", year - 1)
            ),
            price_levels={name: d.price_level(name, year, base) for name in PRICE_DRIVERS},
            necessities_inflation=rates("necessities", range(year - 1, year + 1)),
            cpi_rates=rates("cpi", range(year - 1, year + 2)),
            food_cpi_rates=rates("cpi_food", range(year - 1, year + 2)),
            poverty_line_year=d.value("poverty_line", year),
            budget_revenue=d.value("budget_revenue", year),
            budget_revenue_prev=d.value("budget_revenue", year - 1),
            previous=self.standards or Stratified(0.0, 0.0),
            recipients_prev=self.recipients_prev,
            relief_spending_prev=self.relief_spending_prev,
        )

    def set_initial_standards(self, base_year: int) -> Stratified:
        """The standards in force at the end of the base year."""
        self.standards = initial_standards(self.standards_params, self.standard_inputs(base_year))
        return self.standards

    def adjust_standards(self, year: int) -> StandardDecision:
        """Set this year's standards by the mechanism (DESIGN §3)."""
        self.decision = set_standards(self.standards_params, self.standard_inputs(year))
        self.standards = self.decision.new
        return self.decision

    # --- dibao and the price subsidy ------------------------------------------------

    def administer_dibao(
        self, city: City, year: int, mean_standard: Stratified, members: np.ndarray
    ) -> DibaoYear:
        """Reviews, applications, the means test and benefits for the year.

        ``members``: the members of each household that dibao counts (destitute
        persons are supported apart).
        """
        return dibao.step(
            city,
            self.dibao_params,
            np.array([mean_standard.urban, mean_standard.rural]),
            year,
            self.model.rng,
            members,
        )

    def price_subsidies(
        self, city: City, dibao_year: DibaoYear, destitute: TekunYear
    ) -> tuple[np.ndarray, np.ndarray]:
        """The price subsidy paid this year: per dibao household, and per destitute person."""
        decision = self.decision
        households = np.zeros(len(city.households))
        persons = np.zeros(len(city.persons))
        if decision is None or decision.subsidy_months == 0:
            return households, persons
        amount = np.array([decision.subsidy_amount.urban, decision.subsidy_amount.rural])
        months = decision.subsidy_months
        households = price_subsidy.payments(
            dibao_year.months_paid, dibao_year.members, city.households.stratum, months, amount
        )
        persons = price_subsidy.payments(
            destitute.months_paid,
            np.ones(len(city.persons)),
            city.persons.stratum,
            months,
            amount,
        )
        return households, persons

    def remember(self, city: City, year_result: DibaoYear, relief_spending: float) -> None:
        """Keep last year's caseload (persons, by stratum) and relief spending."""
        members = year_result.members
        on = year_result.recipients
        persons = (
            np.bincount(city.households.stratum[on], weights=members[on], minlength=2) * city.weight
        )
        self.recipients_prev = Stratified(float(persons[0]), float(persons[1]))
        self.relief_spending_prev = relief_spending
