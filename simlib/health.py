"""Elders' health: dependency (ADL) states of persons 60+ and their yearly transitions.

DESIGN §2 (persons; steps 3 and 7).  Every person 60+ has a dependency state in the
activities of daily living: 0 independent (生活自理), 1 partly dependent (半失能, 部分失能),
2 fully dependent (失能).  Each year the survivors move between the states by a Markov
matrix by single year of age and sex; death is absorbing and is drawn by demography from
the life table, with the dependent at higher risk.

**The prior.** ``elderly_health_transitions_prior.csv`` (CLHLS, one-year matrix of health
states 1-3 and death by five-year band 65-70 ... 95+ and sex; Mathematical Problems in
Engineering 2022, table 4) read as states 1, 2, 3 = independent, partly, fully dependent
(the data README says this ordering is assumed, and that the 90+ cells are noisy: a
prior to smooth and calibrate, not a truth).  The loader refuses a file with a
probability outside 0-1, a row (band × sex × origin) not summing to one within
``ROW_SUM_TOLERANCE`` (the file is rounded to three decimals: sums 0.999-1.001), a
missing cell or a gap between bands, naming the file and the line or the band; rows are
then rescaled to sum to exactly one.

**1. Smoothing and extension** (``smoothing: logit_linear``).  Per sex and origin
state s, a multinomial logit linear in age, log(p_d / p_s) = a_d + b_d·age for each of
the three other destinations d (two states and death), fitted across the band
mid-points (67.5, 72.5, ..., and ``open_band_age`` for 95+) by minimising the
cross-entropy Σ_band Σ_d p̂_d log p_d (maximum likelihood with every band weighted
alike).  This keeps every row positive and summing to one, needs no floor for the zero
cells (a cell of 0.000 or 0.001 only pulls with its own small weight, where a
least-squares fit of log ratios would be driven by the floor chosen), and is
deterministic.  It is evaluated at the mean exact age x + 0.5 of the persons aged x at
the start of the year, for x = 60 up: ages 60-64, below the first band, take the fitted
trend; above the open band's mid-point the rates are held at their value there (13
years of extrapolation from the noisiest cells would run away: women's independent →
fully dependent would reach 0.79 a year at 105).  ``smoothing: none`` uses the bands as
they stand (60-64 as 65-69).

**2. Level.**  The prior's dependency is far commoner than ADL dependency (men 65-69
move from the file's state 1 to 2 at 13% a year), so one scalar sets the level: the
*onset scale* k multiplies the odds, against staying, of the worsening transitions 0→1,
0→2 and 1→2 of the matrix conditional on survival, whose rows are then renormalised (the
matrix's death column is kept apart, for point 5).  With a ``mortality`` block (pass
``demography.mortality``) the cohort dies by the life table as the simulation does.  k is solved
(scipy ``brentq``) so that the share of partly or fully dependent persons among the
base-year city's 60+ equals ``base_prevalence`` (the 2016 national 18.3% of the civil
affairs minister; ``elderly_disability.csv``), with P(state | age, sex) from a synthetic
cohort: at 60 the entry distribution, then each year the survivors (with the
state-specific death risk of point 5 on the base-year life table) move by the
conditional matrix.  The split partly / fully is not fitted: it comes out of the prior.

**3. Entry at 60** (``entry``): ``quasi_stationary``: the quasi-stationary distribution
of the age-60 matrix (the Perron left eigenvector of its living-state part, onset
scaled), i.e. the mix a cohort would settle in if the age-60 rates had held before;
``independent``: everyone enters independent.

**4. The year.**  :meth:`ElderHealth.init_states` draws each 60+ person's state from
P(state | age, sex).  :meth:`ElderHealth.transition` (after demography has removed the
dead and aged everyone) moves the survivors aged 61+ by the matrix of their age at the
start of the year, and draws the state of those who turned 60 from the entry
distribution.  A scenario lever, ``onset_multiplier`` (dated), multiplies k in the
simulated years (1.3 from 2020: 30% higher odds of onset).  The ``adl`` column is an
attribute: a migrant copied from a resident keeps the resident's state; newborns get 0.

**5. Mortality.**  Deaths come from the life table (``demography.death_probabilities``);
the matrix's death probabilities q_s are used only as *relative* risks: for each sex and
age x (60+), multiplier_s = q_s / Σ_s' π_s' q_s', with π the current distribution of the
states among the city's persons of that age and sex, so that the mean death probability
of the age equals the life table's and the dependent die faster.  Where the life table's
q times the largest multiplier would pass 1 (the oldest ages) the multipliers are pulled
towards 1, m' = 1 + λ(m - 1) with the largest λ ≤ 1 that keeps every q·m' ≤ 1, which keeps
the mean exact.  Persons under 60 have multiplier 1.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, field_validator
from scipy.optimize import brentq, minimize

from simlib.demography import MortalityParams, death_probabilities
from simlib.errors import UserError
from simlib.facts import Fact, NonNegative, Strict
from simlib.invariants import check_probability
from simlib.metrics import Metric
from simlib.population import ELDER_AGE, City

INDEPENDENT, PARTLY, FULLY = 0, 1, 2
STATES = ("independent", "partly", "fully")
N_STATES = 3
DEATH = 3
TOP_AGE = 130
"""Matrices are kept for ages 60..TOP_AGE; older persons use the last one."""
AGES = np.arange(ELDER_AGE, TOP_AGE + 1)
ROW_SUM_TOLERANCE = 0.005
SEXES = {"male": 0, "female": 1}
FILE_STATES = {"1": INDEPENDENT, "2": PARTLY, "3": FULLY, "death": DEATH}
WORSENING = np.array([[False, True, True], [False, False, True], [False, False, False]])
"""Transitions (origin, destination) that the onset scale multiplies: 0→1, 0→2, 1→2."""
ONSET_BRACKET = (1e-4, 1e4)

OpenShare = Annotated[float, Field(gt=0.0, lt=1.0)]

METRICS = [
    Metric("dependent_partly", "persons", "sum", "Elders partly dependent (60+)", "半失能老年人"),
    Metric("dependent_fully", "persons", "sum", "Elders fully dependent (60+)", "失能老年人"),
    Metric(
        "dependent_elder_share",
        "share",
        "ratio",
        "Dependent elders per elder 60+",
        "老年人失能半失能率",
        numerator="dependent_elders",
        denominator="elderly_60p",
    ),
]


# --- parameters --------------------------------------------------------------------------


class HealthParams(Strict):
    """The ``health:`` block."""

    transitions_file: str
    smoothing: Literal["logit_linear", "none"]
    open_band_age: Fact[Annotated[float, Field(gt=60.0, le=130.0)]]
    entry: Literal["quasi_stationary", "independent"]
    base_prevalence: Fact[OpenShare]
    onset_multiplier: Fact[NonNegative]

    @field_validator("transitions_file")
    @classmethod
    def _readable_prior(cls, path: str) -> str:
        read_transitions(path)
        return path


# --- the prior ---------------------------------------------------------------------------


class TransitionFileError(ValueError):
    """The transitions file is wrong; the message names the file and the line or band."""


@dataclass(frozen=True)
class BandPrior:
    """The prior by band: ``probabilities[sex, band, origin, destination]`` (death last)."""

    first_ages: np.ndarray  # first age of each band
    open_last: bool  # the last band is open (95+)
    probabilities: np.ndarray  # (2, bands, 3, 4), rows summing to one

    def mid_ages(self, open_band_age: float) -> np.ndarray:
        mids = self.first_ages + 2.5
        if self.open_last:
            mids = np.r_[mids[:-1], open_band_age]
        return mids.astype(float)


_BAND = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)|(\+))\s*$")


def read_transitions(path: str | Path) -> BandPrior:
    """Read and check the prior (see the module docstring); raises TransitionFileError."""
    path = Path(path)
    try:
        f = open(path, encoding="utf-8", newline="")  # noqa: SIM115
    except OSError as e:
        raise TransitionFileError(
            f"{path}: cannot read the transitions file ({e.strerror})"
        ) from None
    cells: dict[tuple[str, int, int, int], float] = {}
    lines: dict[tuple[str, int, int], list[int]] = {}
    bands: dict[str, tuple[int, int | None]] = {}
    with f:
        reader = csv.DictReader(f)
        needed = {"age_band", "sex", "from_state", "to_state", "probability"}
        missing = needed - set(reader.fieldnames or [])
        if missing:
            raise TransitionFileError(f"{path}: line 1: missing columns {sorted(missing)}")
        for row in reader:
            line = reader.line_num
            where = f"{path}: line {line}"
            band = row["age_band"].strip()
            m = _BAND.match(band)
            if not m or (m.group(2) and int(m.group(2)) - int(m.group(1)) != 5):
                raise TransitionFileError(f"{where}: age band {band!r} is not 'a-(a+5)' or 'a+'")
            bands[band] = (int(m.group(1)), None if m.group(3) else int(m.group(2)))
            sex = row["sex"].strip()
            if sex not in SEXES:
                raise TransitionFileError(f"{where}: sex {sex!r} is not male or female")
            origin, dest = row["from_state"].strip(), row["to_state"].strip()
            if origin not in FILE_STATES or origin == "death" or dest not in FILE_STATES:
                raise TransitionFileError(
                    f"{where}: transition {origin!r} -> {dest!r}: states are 1, 2, 3 and death"
                )
            try:
                p = float(row["probability"])
            except (TypeError, ValueError):
                raise TransitionFileError(
                    f"{where}: probability {row['probability']!r} is not a number"
                ) from None
            if not 0.0 <= p <= 1.0:
                raise TransitionFileError(f"{where}: probability {p} is not between 0 and 1")
            key = (band, SEXES[sex], FILE_STATES[origin], FILE_STATES[dest])
            if key in cells:
                raise TransitionFileError(f"{where}: {band} {sex} {origin} -> {dest} given twice")
            cells[key] = p
            lines.setdefault(key[:3], []).append(line)
    if not bands:
        raise TransitionFileError(f"{path}: no transitions in the file")
    order = sorted(bands, key=lambda b: bands[b][0])
    for i, band in enumerate(order):
        _, end = bands[band]
        if end is None and i != len(order) - 1:
            raise TransitionFileError(f"{path}: band {band}: only the last band may be open")
        if i + 1 < len(order) and end != bands[order[i + 1]][0]:
            raise TransitionFileError(
                f"{path}: band {end}-{end + 5} is missing (between {band} and {order[i + 1]})"
            )
    probs = np.zeros((2, len(order), N_STATES, 4))
    for b, band in enumerate(order):
        for sex_name, sex in SEXES.items():
            for origin in range(N_STATES):
                keys = [(band, sex, origin, d) for d in range(4)]
                absent = [d for d, k in enumerate(keys) if k not in cells]
                label = f"band {band}, {sex_name}, from state {origin + 1}"
                if absent:
                    names = ", ".join(("1", "2", "3", "death")[d] for d in absent)
                    raise TransitionFileError(f"{path}: {label}: no probability to {names}")
                row = np.array([cells[k] for k in keys])
                if abs(row.sum() - 1.0) > ROW_SUM_TOLERANCE:
                    at = ", ".join(str(n) for n in lines[(band, sex, origin)])
                    raise TransitionFileError(
                        f"{path}: {label} (lines {at}): probabilities sum to {row.sum():.4f}, "
                        f"not 1 (tolerance {ROW_SUM_TOLERANCE})"
                    )
                probs[sex, b, origin] = row / row.sum()
    first_ages = np.array([bands[b][0] for b in order])
    return BandPrior(first_ages, bands[order[-1]][1] is None, probs)


# --- smoothing -----------------------------------------------------------------------------

_CENTRE, _SPAN = 80.0, 10.0  # ages are centred and scaled for the fit's conditioning


def fit_logit_linear(mid_ages: np.ndarray, rows: np.ndarray, origin: int) -> np.ndarray:
    """Coefficients (a_d, b_d) of log(p_d / p_origin) = a_d + b_d·(age - 80)/10, shape (4, 2).

    ``rows`` (bands, 4) are the observed rows; the fit minimises their cross-entropy
    with the model, every band weighted alike.  The origin's own row of the result is 0.
    """
    x = (np.asarray(mid_ages, dtype=float) - _CENTRE) / _SPAN
    others = [d for d in range(4) if d != origin]
    design = np.stack([np.ones_like(x), x], axis=1)  # (bands, 2)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        coef = theta.reshape(3, 2)
        eta = np.zeros((len(x), 4))
        eta[:, others] = design @ coef.T
        logp = eta - np.logaddexp.reduce(eta, axis=1, keepdims=True)
        residual = (np.exp(logp) - rows)[:, others]  # d loss / d eta
        return float(-(rows * logp).sum()), (residual.T @ design).ravel()

    fit = minimize(loss, np.zeros(6), jac=True, method="BFGS", options={"gtol": 1e-10})
    coef = np.zeros((4, 2))
    coef[others] = fit.x.reshape(3, 2)
    return coef


def smooth(prior: BandPrior, smoothing: str, open_band_age: float) -> np.ndarray:
    """One-year matrices by single age: ``[sex, age - 60, origin, destination]`` (death last)."""
    mids = prior.mid_ages(open_band_age)
    if smoothing == "none":
        band = np.clip(np.searchsorted(prior.first_ages, AGES, side="right") - 1, 0, None)
        return prior.probabilities[:, band]
    x = (np.minimum(AGES + 0.5, mids[-1]) - _CENTRE) / _SPAN
    out = np.empty((2, len(AGES), N_STATES, 4))
    for sex in (0, 1):
        for origin in range(N_STATES):
            coef = fit_logit_linear(mids, prior.probabilities[sex, :, origin], origin)
            eta = coef[:, 0][None, :] + np.outer(x, coef[:, 1])
            p = np.exp(eta - eta.max(axis=1, keepdims=True))
            out[sex, :, origin] = p / p.sum(axis=1, keepdims=True)
    return out


def conditional_on_survival(full: np.ndarray) -> np.ndarray:
    """The living-state part of each row divided by the survival probability."""
    alive = full[..., :N_STATES]
    return alive / alive.sum(axis=-1, keepdims=True)


def onset_scaled(conditional: np.ndarray, scale: float) -> np.ndarray:
    """Multiply the odds (against staying) of 0→1, 0→2 and 1→2 by ``scale``; renormalise.

    By hand: the row (0.80, 0.15, 0.05) at scale 0.5 becomes (0.80, 0.075, 0.025) / 0.9.
    """
    scaled = np.where(WORSENING, conditional * scale, conditional)
    return scaled / scaled.sum(axis=-1, keepdims=True)


# --- entry at 60, mortality, the synthetic cohort -------------------------------------------


def quasi_stationary(sub: np.ndarray) -> np.ndarray:
    """The quasi-stationary distribution of a sub-stochastic matrix (its Perron left vector)."""
    values, vectors = np.linalg.eig(sub.T)
    v = np.abs(vectors[:, np.argmax(values.real)].real)
    return v / v.sum()


def entry_distribution(
    conditional: np.ndarray, death: np.ndarray, entry: str, scale: float
) -> np.ndarray:
    """The distribution of states at 60 by sex, (2, 3)."""
    if entry == "independent":
        return np.tile(np.eye(N_STATES)[INDEPENDENT], (2, 1))
    at_60 = onset_scaled(conditional[:, 0], scale)
    return np.stack([quasi_stationary((1 - death[s, 0])[:, None] * at_60[s]) for s in (0, 1)])


def mortality_ratios(
    distribution: np.ndarray, death: np.ndarray, life_q: np.ndarray | None
) -> np.ndarray:
    """Relative risks q_s / Σ π q by state, pulled towards 1 where life_q · risk > 1.

    ``distribution`` and ``death`` are (..., 3), ``life_q`` (...) or None (no pull).
    """
    mean = (distribution * death).sum(axis=-1, keepdims=True)
    ratio = death / np.where(mean > 0, mean, 1.0)
    if life_q is None:
        return ratio
    top = np.where(distribution > 0, ratio, 0.0).max(axis=-1)
    room = np.where(life_q > 0, 1.0 / np.maximum(life_q, 1e-12) - 1.0, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        pull = np.where(top > 1.0, np.clip(room / (top - 1.0), 0.0, 1.0), 1.0)
    return 1.0 + (ratio - 1.0) * pull[..., None]


def cohort_distribution(
    conditional: np.ndarray, death: np.ndarray, entry: np.ndarray, life_q: np.ndarray | None
) -> np.ndarray:
    """P(state | age, sex) of a synthetic cohort, (2, ages, 3).

    From ``entry`` at 60, each year the survivors move by ``conditional``; a state's
    death probability is life_q × its relative risk (or the matrix's own ``death`` when
    ``life_q`` is None).
    """
    dist = np.empty((2, len(AGES), N_STATES))
    dist[:, 0] = entry
    for i in range(len(AGES) - 1):
        if life_q is None:
            dies = death[:, i]
        else:
            ratio = mortality_ratios(dist[:, i], death[:, i], life_q[:, i])
            dies = np.minimum(ratio * life_q[:, i, None], 1.0)
        nxt = np.einsum("xs,xsd->xd", dist[:, i] * (1 - dies), conditional[:, i])
        total = nxt.sum(axis=1, keepdims=True)
        dist[:, i + 1] = np.where(total > 0, nxt / np.where(total > 0, total, 1.0), dist[:, i])
    return dist


def elders_by_age_sex(city: City) -> np.ndarray:
    """Persons 60+ by sex and single age (clipped at TOP_AGE), (2, ages)."""
    p = city.persons
    old = p.age >= ELDER_AGE
    index = p.sex[old].astype(np.int64) * len(AGES) + np.minimum(p.age[old], TOP_AGE) - ELDER_AGE
    return np.bincount(index, minlength=2 * len(AGES)).reshape(2, len(AGES)).astype(float)


# --- the model's object --------------------------------------------------------------------


@dataclass
class Tables:
    """Matrices at one onset scale: cumulative conditional rows and the entry at 60."""

    cumulative: np.ndarray  # (2, ages, 3, 3)
    entry: np.ndarray  # (2, 3)


class ElderHealth:
    """The calibrated single-age matrices and the yearly rules over the ``adl`` column."""

    def __init__(
        self,
        params: HealthParams,
        full: np.ndarray,
        onset_scale: float,
        mortality: MortalityParams | None,
        base_distribution: np.ndarray,
    ) -> None:
        self.params = params
        self.full = full
        """Smoothed one-year matrices before the onset scale, [sex, age - 60, origin, dest]."""
        self.conditional = conditional_on_survival(full)
        self.death = full[..., DEATH]
        self.onset_scale = onset_scale
        self.mortality = mortality
        self.base_distribution = base_distribution
        """P(state | age, sex) in the base year, [sex, age - 60, state]."""
        self._tables: dict[float, Tables] = {}
        self._life: dict[int, np.ndarray] = {}

    def tables(self, year: int | None = None) -> Tables:
        """The matrices in force in ``year`` (the base scale when ``year`` is None)."""
        scale = self.onset_scale
        if year is not None:
            scale *= float(self.params.onset_multiplier.at(year))
        if scale not in self._tables:
            conditional = onset_scaled(self.conditional, scale)
            entry = entry_distribution(self.conditional, self.death, self.params.entry, scale)
            check_probability(conditional, "elders' ADL transition probability", year)
            check_probability(entry, "elders' ADL state at 60 (share)", year)
            self._tables[scale] = Tables(np.cumsum(conditional, axis=-1), entry)
        return self._tables[scale]

    def life_table(self, year: int) -> np.ndarray | None:
        """The life table's death probabilities at ages 60..TOP_AGE, (2, ages)."""
        if self.mortality is None:
            return None
        if year not in self._life:
            q = death_probabilities(self.mortality, year)
            self._life[year] = q[:, np.minimum(AGES, self.mortality.oldest_age)]
        return self._life[year]

    def init_states(self, city: City, rng: np.random.Generator) -> None:
        """Add the persons column ``adl`` (int8) and draw each 60+ person's state."""
        p = city.persons
        adl = np.zeros(len(p), dtype=np.int8)
        old = np.flatnonzero(p.age >= ELDER_AGE)
        dist = self.base_distribution[p.sex[old], np.minimum(p.age[old], TOP_AGE) - ELDER_AGE]
        adl[old] = _draw(np.cumsum(dist, axis=-1), rng)
        if "adl" in p:
            p["adl"] = adl
        else:
            p.add("adl", adl)

    def mortality_multiplier(self, city: City, year: int) -> np.ndarray:
        """Per person, the multiplier of the life table's death probability of ``year``."""
        p = city.persons
        out = np.ones(len(p))
        old = np.flatnonzero(p.age >= ELDER_AGE)
        sex = p.sex[old].astype(np.int64)
        age = np.minimum(p.age[old], TOP_AGE) - ELDER_AGE
        state = p.adl[old].astype(np.int64)
        cell = (sex * len(AGES) + age) * N_STATES + state
        counts = np.bincount(cell, minlength=2 * len(AGES) * N_STATES)
        counts = counts.reshape(2, len(AGES), N_STATES).astype(float)
        total = counts.sum(axis=-1, keepdims=True)
        dist = counts / np.where(total > 0, total, 1.0)
        life_q = self.life_table(year)
        ratios = mortality_ratios(dist, self.death, life_q)
        if life_q is not None:  # of the states someone is in (the others are not used)
            dies = np.where(dist > 0, ratios * life_q[..., None], 0.0)
            check_probability(dies, "elders' death probability", year)
        out[old] = ratios[sex, age, state]
        return out

    def transition(self, city: City, year: int, rng: np.random.Generator) -> None:
        """Move the survivors one year (after ``demography.step``); new 60-year-olds enter.

        The matrix is that of the age at the start of the year (age - 1).
        """
        p = city.persons
        if "adl" not in p:
            raise KeyError("persons have no `adl` column: call ElderHealth.init_states first")
        tables = self.tables(year)
        adl = p.adl
        movers = np.flatnonzero(p.age > ELDER_AGE)
        age = np.minimum(p.age[movers] - 1, TOP_AGE) - ELDER_AGE
        adl[movers] = _draw(tables.cumulative[p.sex[movers], age, adl[movers]], rng)
        entrants = np.flatnonzero(p.age == ELDER_AGE)
        adl[entrants] = _draw(np.cumsum(tables.entry, axis=-1)[p.sex[entrants]], rng)
        adl[p.age < ELDER_AGE] = INDEPENDENT

    def prevalence(self, city: City) -> dict[str, float]:
        """Shares of partly, fully and all dependent persons among the 60+."""
        p = city.persons
        adl = p.adl[p.age >= ELDER_AGE]
        n = max(len(adl), 1)
        partly = float((adl == PARTLY).sum()) / n
        fully = float((adl == FULLY).sum()) / n
        return {"partly": partly, "fully": fully, "dependent": partly + fully}

    def expected_prevalence(self, counts: np.ndarray) -> np.ndarray:
        """Shares of the three states among elders ``counts`` (2, ages) in the base year."""
        return (counts[..., None] * self.base_distribution).sum(axis=(0, 1)) / counts.sum()


def _draw(cumulative: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One state per row of cumulative probabilities (n, 3)."""
    u = rng.random(len(cumulative))
    return ((u >= cumulative[:, 0]).astype(np.int8) + (u >= cumulative[:, 1])).astype(np.int8)


def build_health(
    params: HealthParams,
    city: City,
    base_year: int,
    mortality: MortalityParams | None = None,
) -> ElderHealth:
    """Smooth the prior and calibrate the onset scale against the base-year city.

    ``mortality`` is the ``demography.mortality`` block: with it the cohort and the
    mortality multipliers use the life table, as the simulation does (pass it); without
    it the cohort dies at the prior's own rates and multipliers are not capped.
    """
    prior = read_transitions(params.transitions_file)
    full = smooth(prior, params.smoothing, float(params.open_band_age.at(base_year)))
    health = ElderHealth(params, full, 1.0, mortality, np.zeros((2, len(AGES), N_STATES)))
    counts = elders_by_age_sex(city)
    if counts.sum() == 0:
        raise UserError(
            f"the base-year city at scale {1 / city.weight:g} ({len(city.persons)} simulated "
            "persons) has no persons aged 60+ to calibrate the elders' health against: "
            "use a larger --scale"
        )
    target = float(params.base_prevalence.at(base_year))
    life_q = health.life_table(base_year)

    def distribution(scale: float) -> np.ndarray:
        conditional = onset_scaled(health.conditional, scale)
        entry = entry_distribution(health.conditional, health.death, params.entry, scale)
        return cohort_distribution(conditional, health.death, entry, life_q)

    def gap(log_scale: float) -> float:
        dist = distribution(float(np.exp(log_scale)))
        return float((counts * (1 - dist[..., INDEPENDENT])).sum() / counts.sum()) - target

    lo, hi = np.log(ONSET_BRACKET)
    if gap(lo) > 0 or gap(hi) < 0:
        raise ValueError(
            f"health.base_prevalence {target} cannot be reached with an onset scale in "
            f"{ONSET_BRACKET}: the prevalence runs from {gap(lo) + target:.4f} "
            f"to {gap(hi) + target:.4f}"
        )
    scale = float(np.exp(brentq(gap, lo, hi, xtol=1e-12)))
    health.onset_scale = scale
    health.base_distribution = distribution(scale)
    return health
