"""Medical assistance (医疗救助), with major-disease assistance (重特大疾病医疗救助).

DESIGN §1 and §4; plan 三(一)5: 对发生高额医疗费用、超过家庭承受能力、基本生活出现严重困难的
家庭重病患者实施救助……分类分段设置救助比例和年度最高救助限额……到2020年,重特大疾病医疗救助
人次占直接救助人次比例达到30%.  Once a year, over all persons:

1. **Medical cost.**  A person has a costly episode this year (a stay in hospital or a
   chronic-disease outpatient treatment: the costs medical assistance pays for; small
   outpatient bills are left out) with a probability by age band, raised for partly or
   fully dependent elders (``adl`` 1, 2) by a multiplier (at most 1 in all).  The yearly
   cost given an episode is log-normal (a heavy tail) with a mean by age band times a
   dependency multiplier, grown each year by a medical-cost growth rate.  In each
   household hit by the ``major_illness`` income shock (:mod:`simlib.incomes`) one
   member, drawn at random, is the seriously ill patient (重病患者) and draws instead
   from the much larger serious-illness distribution.
2. **Insurance** (基本医疗保险).  Basic insurance pays a share of the cost by stratum
   (urban: employees' and residents' schemes mixed; rural: the new co-operative scheme,
   merged into the residents' scheme), so out-of-pocket = cost × (1 − share): a
   simplification (deductibles and drug lists are in the effective share).  The
   residents' critical-illness insurance (城乡居民大病保险) then pays a ratio of the
   out-of-pocket cost above its deductible (applied to everyone, another
   simplification).  Assistance pays only the part of out-of-pocket cost within the
   policy scope (政策范围内), ``in_scope_share`` of it.
3. **Premium subsidy** (资助参保).  Destitute persons and members of dibao households
   have a share of the residents' insurance premium paid; a dibao member is in the
   residents' scheme with probability ``coverage`` (the others are insured as
   employees).  It is medical-assistance spending, not a direct person-time.
4. **Ordinary direct assistance** (门诊、住院救助).  Eligible, as the national rules of 2015
   set them (民发〔2015〕30号, 关于进一步完善医疗救助制度全面开展重特大疾病医疗救助工作的意见,
   as recalled: the text is not in the shared data): destitute persons (特困人员) and members
   of dibao households (低保), the core groups, and in low-income households (低收入家庭)
   the elderly, minors, the severely disabled and the seriously ill; a person belongs to
   the first of these groups that applies.  An eligible person claims with probability
   ``take_up`` (destitute and dibao: known to the bureau) or ``take_up_low_income`` (a
   low-income household must be certified first); the group's schedule pays the in-scope
   out-of-pocket cost by segmented ratios (分段比例) above a deductible (起付线) up to a
   yearly cap (年度最高救助限额).
5. **Major-disease assistance** (重特大疾病医疗救助).  A family household whose total
   out-of-pocket cost left after ordinary assistance exceeds ``catastrophic_share`` of
   its yearly income (income_pc × members) is past what it can bear (超过家庭承受能力).
   Its claimants of the groups above, and the other members of family households (not
   destitute, not on dibao, not assisted as low-income) whose household applies as
   impoverished by illness (因病致贫, with probability ``take_up_impoverished``),
   are paid by the group's major schedule on the in-scope cost left after ordinary
   assistance, above a deductible and up to a higher cap.  Destitute persons qualify
   without the household test (they are supported by the state, and many live outside
   family households).  Persons outside family households who are not destitute get
   costs but no assistance (their income is not modelled).

**Person-times** (人次): one per person per year for ordinary assistance paid, one for
major-disease assistance paid (a person with both counts two): the bulletins count
assistance cases, and a yearly model has one claim per kind and person (an assumption).
The plan's target is major person-times / direct person-times (直接救助, premium subsidies
excluded).

Every number is in the ``medical_assistance:`` block of the scenario with its source or
the reason it was chosen; the schedules (ratios, caps) are local policy, which the shared
data does not hold: they are judgements within the ranges local rules use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from pydantic import Field, model_validator

from simlib import draws
from simlib.facts import ByStratum, Fact, NonNegative, Positive, Rate, Share, Strict, Year
from simlib.incomes import SHOCK_CODES
from simlib.metrics import Metric
from simlib.population import City

GROUPS = ("none", "tekun", "dibao", "low_income", "impoverished_by_illness")
NONE, TEKUN, DIBAO, LOW_INCOME, IMPOVERISHED = range(len(GROUPS))

METRICS = [
    Metric(
        "medical_assist_person_times",
        "person-times",
        "sum",
        "Medical assistance, direct person-times (ordinary and major-disease)",
        "医疗救助直接救助人次",
    ),
    Metric(
        "medical_assist_major_person_times",
        "person-times",
        "sum",
        "Major-disease medical assistance, person-times",
        "重特大疾病医疗救助人次",
    ),
    Metric(
        "medical_assist_persons",
        "persons",
        "sum",
        "Persons given direct medical assistance",
        "直接医疗救助人数",
    ),
    Metric(
        "medical_assist_premium_persons",
        "persons",
        "sum",
        "Persons whose insurance premium is subsidised",
        "资助参加基本医疗保险人数",
    ),
    Metric(
        "medical_assist_major_share",
        "share",
        "ratio",
        "Major-disease share of direct medical-assistance person-times",
        "重特大疾病医疗救助人次占直接救助人次比例",
        numerator="medical_assist_major_person_times",
        denominator="medical_assist_person_times",
    ),
]


# --- parameters ------------------------------------------------------------------------


class Segment(Strict):
    """One band of out-of-pocket cost and the ratio paid on it.

    ``up_to`` is the band's upper bound in yuan of the out-of-pocket cost the schedule
    applies to (the bands are written on the whole amount, as local rules write them:
    "1万元以下部分救助50%", and the part below the deductible is paid nothing); ``None``
    for the last, open band.
    """

    up_to: float | None = Field(None, gt=0)
    ratio: Share


def _lists(fact: Fact) -> list:
    return [fact.value] if fact.values is None else list(fact.values.values())


def check_segments(segments: Sequence[Segment]) -> None:
    """Refuse bands that are empty, do not rise, or do not end open."""
    if not segments:
        raise ValueError("give at least one segment")
    bounds = [s.up_to for s in segments]
    if bounds[-1] is not None:
        raise ValueError("the last segment must be open (no `up_to`)")
    if any(b is None for b in bounds[:-1]):
        raise ValueError("only the last segment may be open (no `up_to`)")
    if any(b <= a for a, b in pairwise(bounds[:-1])):
        raise ValueError("segment bounds `up_to` must rise")


class Schedule(Strict):
    """One group's payment rule: deductible (起付线), segmented ratios, yearly cap."""

    deductible: Fact[NonNegative]
    segments: Fact[list[Segment]]
    cap: Fact[NonNegative]

    @model_validator(mode="after")
    def _segments_rise(self) -> Schedule:
        for segments in _lists(self.segments):
            check_segments(segments)
        return self

    def pay(self, oop: np.ndarray, year: int) -> np.ndarray:
        return pay_segmented(
            oop, self.segments.at(year), float(self.cap.at(year)), float(self.deductible.at(year))
        )


class OrdinarySchedules(Strict):
    tekun: Schedule
    dibao: Schedule
    low_income: Schedule

    def for_group(self, group: int) -> Schedule:
        return getattr(self, GROUPS[group])


class MajorSchedules(OrdinarySchedules):
    impoverished_by_illness: Schedule


class Costs(Strict):
    """Yearly medical cost: who has a costly episode, and its log-normal size given one."""

    age_from: list[int] = Field(min_length=1)
    use_rate: Fact[list[Share]]
    mean: Fact[list[Positive]]
    sigma: Fact[Positive]
    dependency_use: Fact[list[Positive]]
    dependency_cost: Fact[list[Positive]]
    growth: Fact[Rate]
    price_year: Year

    @model_validator(mode="after")
    def _bands(self) -> Costs:
        if self.age_from[0] != 0 or any(b <= a for a, b in pairwise(self.age_from)):
            raise ValueError("age_from must start at 0 and rise")
        for fact in (self.use_rate, self.mean):
            for values in _lists(fact):
                if len(values) != len(self.age_from):
                    raise ValueError(f"{len(values)} values for {len(self.age_from)} age bands")
        for fact in (self.dependency_use, self.dependency_cost):
            for values in _lists(fact):
                if len(values) != 2:
                    raise ValueError("give two dependency multipliers: partly, fully dependent")
        return self

    def index(self, year: int) -> float:
        """Medical-cost level of ``year`` relative to ``price_year``."""
        lo, hi = sorted((self.price_year, year))
        factor = float(np.prod([1.0 + float(self.growth.at(y)) for y in range(lo + 1, hi + 1)]))
        return factor if year >= self.price_year else 1.0 / factor


class SeriousIllness(Strict):
    """The cost of the seriously ill patient of a household hit by major illness."""

    mean: Fact[Positive]
    sigma: Fact[Positive]


class CriticalIllnessInsurance(Strict):
    """城乡居民大病保险: pays ``ratio`` of out-of-pocket cost above ``deductible``."""

    deductible: ByStratum[NonNegative]
    ratio: Fact[Share]


class Insurance(Strict):
    reimbursement: ByStratum[Share]
    critical_illness: CriticalIllnessInsurance
    in_scope_share: Fact[Share]


class PremiumSubsidy(Strict):
    resident_premium: Fact[NonNegative]
    tekun_share: Fact[Share]
    dibao_share: Fact[Share]
    coverage: Fact[Share]


class LowIncomeMembers(Strict):
    """Which members of low-income households are eligible (民发〔2015〕30号, recalled):
    the elderly, minors, the severely disabled and the seriously ill."""

    elderly_age: int = Field(60, ge=0, le=120)
    minor_age: int = Field(18, ge=0, le=30)
    severe_disability_grades: tuple[int, ...] = (1, 2)
    seriously_ill: bool = True


class Ordinary(Strict):
    take_up: Fact[Share]
    take_up_low_income: Fact[Share]
    low_income_members: LowIncomeMembers = LowIncomeMembers()
    schedules: OrdinarySchedules


class Major(Strict):
    catastrophic_share: Fact[NonNegative]
    take_up_impoverished: Fact[Share]
    schedules: MajorSchedules


class MedicalAssistanceParams(Strict):
    costs: Costs
    serious_illness: SeriousIllness
    insurance: Insurance
    premium_subsidy: PremiumSubsidy
    ordinary: Ordinary
    major: Major


@dataclass
class MedicalYear:
    """The year's medical assistance, per person (arrays aligned with persons); yuan."""

    cost: np.ndarray
    out_of_pocket: np.ndarray  # after basic and critical-illness insurance, before assistance
    seriously_ill: np.ndarray
    group: np.ndarray  # index into GROUPS: the group whose rules apply to the person
    direct: np.ndarray  # got ordinary direct assistance
    major: np.ndarray  # got major-disease assistance
    premium: np.ndarray  # premium subsidised
    paid_direct: np.ndarray
    paid_major: np.ndarray
    paid_premium: np.ndarray
    spending: np.ndarray
    person_times: np.ndarray  # direct person-times: ordinary + major
    major_person_times: np.ndarray


# --- rules -----------------------------------------------------------------------------


def pay_segmented(
    oop: np.ndarray, segments: Sequence[Segment], cap: float, deductible: float = 0.0
) -> np.ndarray:
    """Assistance on out-of-pocket cost ``oop``: each band's ratio on the part of ``oop``
    in the band and above the deductible, summed, at most ``cap``."""
    oop = np.asarray(oop, dtype=float)
    paid = np.zeros_like(oop)
    lower = 0.0
    for seg in segments:
        upper = np.inf if seg.up_to is None else float(seg.up_to)
        start = max(lower, deductible)
        if upper > start:
            paid += seg.ratio * np.clip(oop - start, 0.0, upper - start)
        lower = upper
    return np.minimum(paid, cap)


def band_of(ages: np.ndarray, age_from: list[int]) -> np.ndarray:
    return np.searchsorted(age_from, ages, side="right") - 1


def _by_band_and_dependency(
    table: np.ndarray, ages: np.ndarray, adl: np.ndarray, age_from: list[int]
) -> np.ndarray:
    """Each person's value in ``table`` (age band × dependency: 0 none, 1 partly, 2 fully
    dependent, ``adl`` clipped to 0-2): the band's value, then the few dependents'."""
    ages, adl = np.asarray(ages), np.asarray(adl)
    values = _by_band(table[:, 0], ages, age_from)
    dependent = np.flatnonzero(adl != 0)
    band = band_of(ages[dependent], age_from)
    values[dependent] = table[band, np.clip(adl[dependent], 0, 2)]
    return values


def _by_band(values: np.ndarray, ages: np.ndarray, age_from: list[int]) -> np.ndarray:
    """Each person's value of the age band, looked up by age when ages are whole (the same
    bands, faster)."""
    whole = ages.size and np.issubdtype(ages.dtype, np.integer)
    if whole and ages.min() >= 0 and ages.max() < 1000:
        by_age = values[band_of(np.arange(int(ages.max()) + 1), age_from)]
        return by_age[ages]
    return values[band_of(ages, age_from)]


def _float32_at_least(x: np.ndarray) -> np.ndarray:
    """The least float32 numbers ≥ ``x``: for a float32 ``u``, ``u < x`` exactly when ``u`` is
    below it, so uniforms are compared in float32, without a cast."""
    rounded = np.asarray(x).astype(np.float32)
    return np.where(rounded < x, np.nextafter(rounded, np.float32(np.inf)), rounded)


def seriously_ill_members(city: City, rng: np.random.Generator) -> np.ndarray:
    """One member, drawn at random, of each household hit by major illness this year
    (rows, ascending)."""
    p = city.persons
    hit = city.households.shock == SHOCK_CODES["major_illness"]
    candidates = np.flatnonzero(city.of_household(hit, False))
    shuffled = candidates[rng.permutation(len(candidates))]
    return np.sort(shuffled[_first_of_each(p.household[shuffled])])


def _first_of_each(values: np.ndarray) -> np.ndarray:
    """The position of the first occurrence of each distinct value (``np.unique``'s
    ``return_index``, sorted by value), by a sort of keys value × length + position."""
    m = len(values)
    keys = np.sort(values.astype(np.int64) * m + np.arange(m))
    value = keys // m
    return keys[np.diff(value, prepend=value[:1] - 1) != 0] % m


def lognormal(mean: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Log-normal draws with the given means: exp(ln mean − σ²/2 + σ·z)."""
    mean = np.asarray(mean, dtype=float)
    return _lognormal(mean, sigma, rng.standard_normal(mean.shape))


def _lognormal(mean: np.ndarray, sigma: float, z: np.ndarray) -> np.ndarray:
    return mean * np.exp(sigma * z - 0.5 * sigma**2)


def draw_costs(
    ages: np.ndarray,
    adl: np.ndarray,
    seriously_ill: np.ndarray,
    costs: Costs,
    serious: SeriousIllness,
    year: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Each person's medical cost of the year (yuan): zero, ordinary, or serious illness
    (``seriously_ill``: rows, ascending)."""
    n = len(ages)
    # use rate and mean cost by age band and dependency (0 none, 1 partly, 2 fully)
    use_mult = np.concatenate([[1.0], costs.dependency_use.at(year)])
    cost_mult = np.concatenate([[1.0], costs.dependency_cost.at(year)])
    use_rate = np.asarray(costs.use_rate.at(year))[:, None] * use_mult[None, :]
    index = costs.index(year)
    mean = np.asarray(costs.mean.at(year))[:, None] * cost_mult[None, :] * index
    # a draw per person for an episode, and one for its cost per person who has one
    # (common random numbers either way: simlib.draws)
    below = _by_band_and_dependency(_float32_at_least(use_rate), ages, adl, costs.age_from)
    users = np.flatnonzero(draws.uniforms(rng, n) < below)
    cost = np.zeros(n)
    sigma = float(costs.sigma.at(year))
    z = draws.normals_for_rows(rng, users)
    users_mean = _by_band_and_dependency(mean, ages[users], adl[users], costs.age_from)
    cost[users] = _lognormal(users_mean, sigma, z)
    severe_mean = np.full(len(seriously_ill), float(serious.mean.at(year)) * index)
    cost[seriously_ill] = lognormal(severe_mean, float(serious.sigma.at(year)), rng)
    return cost


def out_of_pocket(
    cost: np.ndarray, stratum: np.ndarray, insurance: Insurance, year: int
) -> np.ndarray:
    """Cost left to the patient after basic and critical-illness insurance (yuan)."""
    share = insurance.reimbursement.pair(year)[stratum]
    oop = np.asarray(cost, dtype=float) * (1.0 - share)
    ci = insurance.critical_illness
    above = np.maximum(oop - ci.deductible.pair(year)[stratum], 0.0)
    return oop - float(ci.ratio.at(year)) * above


def low_income_member_eligible(
    ages: np.ndarray, disability: np.ndarray, seriously_ill: np.ndarray, rule: LowIncomeMembers
) -> np.ndarray:
    """Persons who would be eligible if their household is low-income."""
    eligible = (ages >= rule.elderly_age) | (ages < rule.minor_age)
    eligible |= np.isin(disability, rule.severe_disability_grades)
    return eligible | (seriously_ill & rule.seriously_ill)


def assistance_group(
    city: City,
    tekun_persons: np.ndarray,
    dibao_households: np.ndarray,
    low_income_households: np.ndarray,
    seriously_ill: np.ndarray,
    rule: LowIncomeMembers,
) -> np.ndarray:
    """The programme group of each person: tekun, else dibao, else an eligible member of a
    low-income household (:func:`low_income_member_eligible`), else none.
    ``tekun_persons`` and ``seriously_ill`` are per person, ``dibao_households`` and
    ``low_income_households`` per household (on dibao this year, below the low-income
    line): persons outside family households are in neither."""
    households = np.asarray(low_income_households, dtype=np.int8) * np.int8(LOW_INCOME)
    households[dibao_households] = DIBAO  # the others: NONE (0)
    group = city.of_household(households, NONE)
    p = city.persons
    low = np.flatnonzero(group == LOW_INCOME)  # only their members are judged
    member = low_income_member_eligible(p.age[low], p.disability[low], seriously_ill[low], rule)
    group[low[~member]] = NONE
    group[tekun_persons] = TEKUN
    return group


def premium_subsidy(
    persons: np.ndarray,
    group: np.ndarray,
    params: PremiumSubsidy,
    year: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """The persons whose premium is paid (rows): destitute persons and insured dibao
    members, and the premium paid for each (yuan).  ``persons``: the rows (ascending) of
    all persons in a group, ``group`` theirs."""
    premium = float(params.resident_premium.at(year))
    on_dibao = persons[group == DIBAO]
    insured = on_dibao[draws.for_rows(rng, on_dibao) < float(params.coverage.at(year))]
    tekun = persons[group == TEKUN]
    dibao_paid = float(params.dibao_share.at(year)) * premium
    tekun_paid = float(params.tekun_share.at(year)) * premium
    paid = np.repeat([dibao_paid, tekun_paid], [len(insured), len(tekun)])
    return np.concatenate([insured, tekun]), paid


def ordinary_assistance(
    in_scope_oop: np.ndarray, group: np.ndarray, schedules: OrdinarySchedules, year: int
) -> np.ndarray:
    """Ordinary direct assistance of claimants, by the schedule of each one's group."""
    return _pay_by_group(in_scope_oop, group, schedules, (TEKUN, DIBAO, LOW_INCOME), year)


def _pay_by_group(
    amount: np.ndarray,
    group: np.ndarray,
    schedules: OrdinarySchedules,
    groups: tuple[int, ...],
    year: int,
) -> np.ndarray:
    """Each ``amount`` paid by the schedule of its person's ``group`` (nothing for a group
    not in ``groups``)."""
    paid = np.zeros(len(amount))
    for g in groups:
        sel = np.flatnonzero(group == g)
        paid[sel] = schedules.for_group(g).pay(amount[sel], year)
    return paid


def catastrophic_households(
    remaining_oop: np.ndarray,
    household: np.ndarray,
    income_pc: np.ndarray,
    members: np.ndarray,
    share: float,
) -> np.ndarray:
    """Households whose out-of-pocket cost exceeds ``share`` of their yearly income."""
    # the same sums over the persons with a cost left (adding 0.0 changes nothing)
    borne = (household >= 0) & (remaining_oop != 0)
    burden = np.bincount(household[borne], weights=remaining_oop[borne], minlength=len(income_pc))
    return burden > share * income_pc * members


def major_assistance(
    remaining_in_scope: np.ndarray, group: np.ndarray, schedules: MajorSchedules, year: int
) -> np.ndarray:
    """Major-disease assistance of eligible persons, by the schedule of each one's group."""
    groups = (TEKUN, DIBAO, LOW_INCOME, IMPOVERISHED)
    return _pay_by_group(remaining_in_scope, group, schedules, groups, year)


def step(
    city: City,
    params: MedicalAssistanceParams,
    year: int,
    rng: np.random.Generator,
    *,
    dibao_households: np.ndarray,
    tekun_persons: np.ndarray,
    low_income_households: np.ndarray,
) -> MedicalYear:
    """One year of medical costs, insurance, premium subsidies and medical assistance.

    ``dibao_households`` and ``low_income_households`` are per household (on dibao this
    year; below the low-income line), ``tekun_persons`` per person (supported destitute).
    Most persons have no cost and are in no group: the rules work on the few who have or are.
    """
    p, h = city.persons, city.households
    n = len(p)

    ill_rows = seriously_ill_members(city, rng)
    cost = draw_costs(p.age, p.adl, ill_rows, params.costs, params.serious_illness, year, rng)
    ill = np.zeros(n, dtype=bool)
    ill[ill_rows] = True
    # most persons cost nothing, and no cost leaves nothing out of pocket or in scope
    patient = cost != 0
    patients = np.flatnonzero(patient)
    oop = np.zeros(n)
    patients_oop = out_of_pocket(cost[patients], p.stratum[patients], params.insurance, year)
    oop[patients] = patients_oop
    in_scope_share = float(params.insurance.in_scope_share.at(year))
    ordinary = params.ordinary
    group = assistance_group(
        city,
        tekun_persons,
        dibao_households,
        low_income_households,
        ill,
        ordinary.low_income_members,
    )
    grouped = np.flatnonzero(group != NONE)  # only they may claim or have a premium paid
    subsidised, premiums = premium_subsidy(
        grouped, group[grouped], params.premium_subsidy, year, rng
    )
    paid_premium = np.zeros(n)
    paid_premium[subsidised] = premiums

    take_up = np.where(
        group[grouped] == LOW_INCOME,
        float(ordinary.take_up_low_income.at(year)),
        float(ordinary.take_up.at(year)),
    )
    claimants = grouped[draws.for_rows(rng, grouped) < take_up]
    claims = np.zeros(n, dtype=bool)
    claims[claimants] = True
    paying = claimants[patient[claimants]]  # the others are paid nothing
    at = np.searchsorted(patients, paying)
    patients_direct = np.zeros(len(patients))
    patients_direct[at] = ordinary_assistance(
        patients_oop[at] * in_scope_share, group[paying], ordinary.schedules, year
    )
    paid_direct = np.zeros(n)
    paid_direct[paying] = patients_direct[at]

    major = params.major
    catastrophic = catastrophic_households(  # the patients: no one else bears a cost
        patients_oop - patients_direct,
        p.household[patients],
        h.income_pc,
        city.members(),
        float(major.catastrophic_share.at(year)),
    )
    applies = np.zeros(len(h), dtype=bool)  # drawn for the catastrophic households
    hit = np.flatnonzero(catastrophic)
    applies[hit] = draws.for_rows(rng, hit) < float(major.take_up_impoverished.at(year))
    applying = np.flatnonzero(city.of_household(applies, False))  # their members
    of_applying = group[applying]
    not_assisted = (of_applying == NONE) | ((of_applying == LOW_INCOME) & ~claims[applying])
    impoverished = applying[not_assisted]
    group[impoverished] = IMPOVERISHED
    in_catastrophic = city.of_household(catastrophic, False, persons=claimants)
    eligible = np.concatenate(
        [claimants[(group[claimants] == TEKUN) | in_catastrophic], impoverished]
    )
    eligible = eligible[patient[eligible]]  # the others are paid nothing
    paid_major = np.zeros(n)
    paid_major[eligible] = major_assistance(
        oop[eligible] * in_scope_share - paid_direct[eligible],
        group[eligible],
        major.schedules,
        year,
    )
    return _medical_year(
        cost, oop, ill, group, paid_direct, paid_major, paid_premium, subsidised, paying, eligible
    )


def _medical_year(
    cost: np.ndarray,
    oop: np.ndarray,
    ill: np.ndarray,
    group: np.ndarray,
    paid_direct: np.ndarray,
    paid_major: np.ndarray,
    paid_premium: np.ndarray,
    subsidised: np.ndarray,
    paying: np.ndarray,
    eligible: np.ndarray,
) -> MedicalYear:
    """The year's record, filled in for the only persons who may have been paid: premiums
    for ``subsidised``, ordinary assistance for ``paying``, major for ``eligible`` (rows)."""
    n = len(cost)
    direct, got_major, premium = (np.zeros(n, dtype=bool) for _ in range(3))
    direct[paying] = paid_direct[paying] > 0
    got_major[eligible] = paid_major[eligible] > 0
    premium[subsidised] = paid_premium[subsidised] > 0
    spending = np.zeros(n)
    spending[subsidised] = paid_premium[subsidised]
    paid = np.concatenate([paying, eligible])
    spending[paid] = paid_direct[paid] + paid_major[paid] + paid_premium[paid]
    person_times, major_person_times = np.zeros(n), np.zeros(n)
    major_person_times[eligible] = got_major[eligible]
    person_times[eligible] = got_major[eligible]
    person_times[paying] += direct[paying]
    return MedicalYear(
        cost=cost,
        out_of_pocket=oop,
        seriously_ill=ill,
        group=group,
        direct=direct,
        major=got_major,
        premium=premium,
        paid_direct=paid_direct,
        paid_major=paid_major,
        paid_premium=paid_premium,
        spending=spending,
        person_times=person_times,
        major_person_times=major_person_times,
    )
