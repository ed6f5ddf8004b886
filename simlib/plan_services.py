"""The plan's services in the yearly step: workforce, care workers, facilities, disasters.

Issue 8 (plan 三(二), 三(五), 三(八)).  Four modules follow the city per area × stratum
cell and report their own metrics and spending:

* :mod:`simlib.social_work`: the social-work workforce (社会工作专业人才);
* :mod:`simlib.care_workforce`: care workers (养老护理员), whose number limits how many
  residents the homes can staff, so admissions feel a shortage;
* :mod:`simlib.community_care`: community care facilities (养老服务设施覆盖);
* :mod:`simlib.disaster_relief`: disasters, emergency relief and the materials reserve.

:class:`PlanServices` holds their states.  Each year the model asks it for the staffing
limit before elderly-care admissions (last year's care workers against this year's
residents), then steps the four after elderly care.  Disasters draw from their own
random stream, derived from the replicate's seed like the economy's, so adding the
services leaves every other draw of the model as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simlib import care_workforce, community_care, disaster_relief, social_work
from simlib.services import ServiceInputs

SERVICES_STREAM = 0x73657276
"""The spawn key ("serv") of the services' stream beside a replicate's model stream."""

METRICS = [
    *social_work.METRICS,
    *care_workforce.METRICS,
    *community_care.METRICS,
    *disaster_relief.METRICS,
]


def services_rng(model_rng: np.random.Generator) -> np.random.Generator:
    """The services' generator: the model's seed sequence with :data:`SERVICES_STREAM`
    added to its spawn key (derived, not drawn, so the model's stream is untouched)."""
    seq = model_rng.bit_generator.seed_seq
    if not isinstance(seq, np.random.SeedSequence):
        raise TypeError("the model's generator has no seed sequence to derive from")
    derived = np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, SERVICES_STREAM))
    return np.random.default_rng(derived)


@dataclass
class ServicesYear:
    """The year's spending (programme -> yuan per cell) and raw quantities of the services."""

    spending: dict[str, np.ndarray] = field(default_factory=dict)
    raw: dict[str, np.ndarray] = field(default_factory=dict)

    def add(self, spending: dict[str, np.ndarray], raw: dict[str, np.ndarray]) -> None:
        for name, amount in spending.items():
            self.spending[name] = self.spending.get(name, 0.0) + np.asarray(amount, dtype=float)
        self.raw |= raw


class PlanServices:
    """The states of the four services, made at the end of the base year."""

    def __init__(
        self,
        programmes: object,
        area_codes: tuple[str, ...],
        inputs: ServiceInputs,
        base_year: int,
        rng: np.random.Generator,
    ) -> None:
        self.p = programmes
        self.rng = rng
        self.social_work = social_work.init_social_work(
            self.p.social_work, area_codes, inputs, base_year=base_year
        )
        self.care_workforce = care_workforce.init_care_workforce(
            self.p.care_workforce, area_codes, inputs, base_year=base_year
        )
        self.community_care = community_care.init_community_care(
            self.p.community_care, area_codes, inputs
        )
        self.disaster_relief = disaster_relief.init_disaster_relief(
            self.p.disaster_relief, area_codes, inputs
        )

    def staffed(self, residents_by_care_level: np.ndarray, year: int) -> np.ndarray:
        """The most residents (whole city) each area's care workers can look after."""
        return care_workforce.staffable_residents(
            self.care_workforce, self.p.care_workforce, residents_by_care_level, year
        )

    def step(self, year: int, inputs: ServiceInputs) -> ServicesYear:
        """One year of every service, after elderly care."""
        done = ServicesYear()
        for outcome in (
            social_work.step(self.social_work, self.p.social_work, year, None, inputs),
            care_workforce.step(self.care_workforce, self.p.care_workforce, year, None, inputs),
            community_care.step(self.community_care, self.p.community_care, year, None, inputs),
            disaster_relief.step(
                self.disaster_relief, self.p.disaster_relief, year, self.rng, inputs
            ),
        ):
            done.add(outcome.spending, outcome.raw)
        return done
