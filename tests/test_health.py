"""Elders' health: the prior's checks, smoothing, calibration, transitions and mortality."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError
from scipy.stats import chisquare

from simlib import demography, health
from simlib.columns import Columns
from simlib.demography import DemographyParams, death_probabilities
from simlib.health import (
    AGES,
    FULLY,
    INDEPENDENT,
    PARTLY,
    HealthParams,
    TransitionFileError,
    build_health,
    mortality_ratios,
    onset_scaled,
    quasi_stationary,
    read_transitions,
    smooth,
)
from simlib.parameters import load_tree
from simlib.population import City, PopulationParams, build_city
from tests.conftest import AREAS, BASELINE, PARAMS

PRIOR = PARAMS / "data" / "elderly_health_transitions_prior.csv"
TARGET = 0.183


def fact(value, unit="u", **more):
    return {"value": value, "unit": unit, "assumption": "test", **more}


def block(**changes) -> dict:
    out = {
        "transitions_file": str(PRIOR),
        "smoothing": "logit_linear",
        "open_band_age": fact(97.5, "years"),
        "entry": "quasi_stationary",
        "base_prevalence": fact(TARGET, "share of 60+"),
        "onset_multiplier": {"values": {2015: 1.0}, "unit": "x", "assumption": "test"},
    }
    out.update(changes)
    return out


@pytest.fixture(scope="module")
def baseline_blocks():
    """The population and demography blocks of the baseline (read without the whole scenario)."""
    data = load_tree(BASELINE).data
    return PopulationParams.model_validate(data["population"]), DemographyParams.model_validate(
        data["demography"]
    )


@pytest.fixture(scope="module")
def city_and_health(baseline_blocks):
    """The baseline city at a tenth of its size at the end of 2015, and its calibrated health."""
    population, demo = baseline_blocks
    city = build_city(population, AREAS, 2015, 0.1, np.random.default_rng(11))
    params = HealthParams.model_validate(block())
    return city, build_health(params, city, 2015, mortality=demo.mortality)


def hand_city(age, sex, adl=None) -> City:
    """Persons of the given ages, sexes and states, each alone in a household of area 0."""
    n = len(age)
    persons = Columns(
        age=np.asarray(age, dtype=np.int16),
        sex=np.asarray(sex, dtype=np.int8),
        area=np.zeros(n, np.int8),
        stratum=np.zeros(n, np.int8),
        household=np.arange(n, dtype=np.int32),
        disability=np.zeros(n, np.int8),
    )
    if adl is not None:
        persons.add("adl", np.asarray(adl, dtype=np.int8))
    households = Columns(area=np.zeros(n, np.int8), stratum=np.zeros(n, np.int8))
    return City(("a",), persons, households, weight=10.0, year=2015)


# --- the prior file ----------------------------------------------------------------------


def test_prior_reads_as_published():
    prior = read_transitions(PRIOR)
    assert prior.first_ages.tolist() == [65, 70, 75, 80, 85, 90, 95]
    assert prior.open_last
    assert prior.mid_ages(97.5).tolist() == [67.5, 72.5, 77.5, 82.5, 87.5, 92.5, 97.5]
    # men 65-70 from state 1: 0.847, 0.133, 0.001, death 0.019 (sum 1.000, kept as is)
    np.testing.assert_allclose(prior.probabilities[0, 0, 0], [0.847, 0.133, 0.001, 0.019])
    # men 65-70 from state 2 sum to 1.001 in the file: rescaled, 0.211 / 1.001 = 0.210789
    assert prior.probabilities[0, 0, 1, 0] == pytest.approx(0.211 / 1.001)
    np.testing.assert_allclose(prior.probabilities.sum(axis=-1), 1.0, atol=1e-12)


def _rewrite(tmp_path, change) -> str:
    lines = PRIOR.read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path / "prior.csv"
    path.write_text("".join(change(lines)), encoding="utf-8")
    return str(path)


def _set_probability(lines, band, sex, origin, dest, value):
    out = []
    for line in lines:
        if line.startswith(f"{band},{sex},{origin},{dest},"):
            head = f"{band},{sex},{origin},{dest},"
            line = head + str(value) + line[len(head) + line[len(head) :].index(",") :]
        out.append(line)
    return out


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # line 2 is the first data row: 65-70 male 1 -> 1
        (lambda ls: _set_probability(ls, "65-70", "male", 1, 1, 1.2), "line 2: probability 1.2"),
        (lambda ls: _set_probability(ls, "65-70", "male", 1, 1, "x"), "line 2: probability 'x'"),
        # 70-75 female from 2: 0.101 + 0.813 + 0.056 + 0.031 = 1.001; with 0.713: 0.901
        (
            lambda ls: _set_probability(ls, "70-75", "female", 2, 2, 0.713),
            "band 70-75, female, from state 2 (lines 38, 39, 40, 41): probabilities sum to 0.9010",
        ),
        (lambda ls: [x for x in ls if not x.startswith("75-80,")], "band 75-80 is missing"),
        (
            lambda ls: [x for x in ls if not x.startswith("80-85,male,3,death")],
            "band 80-85, male, from state 3: no probability to death",
        ),
        (lambda ls: [*ls, ls[1]], "line 170: 65-70 male 1 -> 1 given twice"),
        (lambda ls: [ls[0], ls[1].replace("65-70", "65-67"), *ls[2:]], "line 2: age band '65-67'"),
        (lambda ls: [ls[0], ls[1].replace(",1,1,", ",4,1,"), *ls[2:]], "line 2: transition '4'"),
    ],
)
def test_bad_prior_is_refused_naming_file_and_place(tmp_path, change, expected):
    path = _rewrite(tmp_path, change)
    with pytest.raises(TransitionFileError) as e:
        read_transitions(path)
    assert str(e.value).startswith(path)
    assert expected in str(e.value)
    with pytest.raises(ValidationError, match="transitions_file"):
        HealthParams.model_validate(block(transitions_file=path))


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("base_prevalence", fact(1.2), "less than 1"),
        ("base_prevalence", fact(0.0), "greater than 0"),
        (
            "onset_multiplier",
            {"values": {2015: 1.0, 2020: -0.3}, "unit": "x", "source": "s"},
            "greater than or equal to 0",
        ),
        ("smoothing", "cubic", "logit_linear"),
        ("entry", "all_dependent", "quasi_stationary"),
        ("open_band_age", fact(50.0), "greater than 60"),
        ("base_prevalence", {"value": 0.2, "unit": "share"}, "source"),
        ("onset", fact(1.0), "Extra inputs"),
    ],
)
def test_bad_values_are_refused(key, value, message):
    with pytest.raises(ValidationError, match=key) as e:
        HealthParams.model_validate(block(**{key: value}))
    assert message in str(e.value)


# --- smoothing -------------------------------------------------------------------------------


def test_smoothed_rows_are_positive_and_sum_to_one_at_every_age_sex_and_origin():
    full = smooth(read_transitions(PRIOR), "logit_linear", 97.5)
    assert full.shape == (2, len(AGES), 3, 4)
    assert (full > 0).all()
    np.testing.assert_allclose(full.sum(axis=-1), 1.0, atol=1e-12)
    for k in (0.0, 0.19, 1.0, 5.0):
        scaled = onset_scaled(health.conditional_on_survival(full), k)
        assert (scaled >= 0).all()
        np.testing.assert_allclose(scaled.sum(axis=-1), 1.0, atol=1e-12)
    # held flat from the open band's mid-point on: ages 97 (97 + 0.5 = 97.5) and older
    np.testing.assert_array_equal(full[:, 97 - 60], full[:, 110 - 60])
    assert not np.allclose(full[:, 96 - 60], full[:, 97 - 60])


def test_logit_fit_recovers_a_prior_that_is_exactly_logit_linear():
    # origin 0: log(p_d / p_0) = a_d + b_d (age - 80) / 10, a = (-1, -3, -4), b = (0.5, 0.8, 1)
    mids = np.array([67.5, 72.5, 77.5, 82.5, 87.5, 92.5, 97.5])
    x = (mids - 80) / 10
    eta = np.c_[np.zeros(7), -1 + 0.5 * x, -3 + 0.8 * x, -4 + 1.0 * x]
    rows = np.exp(eta) / np.exp(eta).sum(axis=1, keepdims=True)
    coef = health.fit_logit_linear(mids, rows, 0)
    np.testing.assert_allclose(coef, [[0, 0], [-1, 0.5], [-3, 0.8], [-4, 1.0]], atol=1e-5)


def test_no_smoothing_keeps_the_bands():
    prior = read_transitions(PRIOR)
    full = smooth(prior, "none", 97.5)
    np.testing.assert_array_equal(full[:, 60 - 60], prior.probabilities[:, 0])  # 60 as 65-69
    np.testing.assert_array_equal(full[:, 69 - 60], prior.probabilities[:, 0])
    np.testing.assert_array_equal(full[:, 70 - 60], prior.probabilities[:, 1])
    np.testing.assert_array_equal(full[:, 101 - 60], prior.probabilities[:, 6])  # 95+


# --- the pieces by hand ------------------------------------------------------------------------


def test_onset_scale_multiplies_the_odds_of_worsening_by_hand():
    rows = np.array([[0.80, 0.15, 0.05], [0.20, 0.70, 0.10], [0.05, 0.25, 0.70]])
    scaled = onset_scaled(rows, 0.5)
    # from 0: (0.80, 0.075, 0.025) / 0.90; from 1: (0.20, 0.70, 0.05) / 0.95; from 2: no worsening
    np.testing.assert_allclose(scaled[0], [0.80 / 0.9, 0.075 / 0.9, 0.025 / 0.9])
    np.testing.assert_allclose(scaled[1], [0.20 / 0.95, 0.70 / 0.95, 0.05 / 0.95])
    np.testing.assert_allclose(scaled[2], rows[2])
    # odds against staying: 0.075 / 0.80 = half of 0.15 / 0.80
    assert scaled[0, 1] / scaled[0, 0] == pytest.approx(0.5 * 0.15 / 0.80)


def test_quasi_stationary_by_hand():
    # states 0 and 1 form a chain with stationary (2/3, 1/3): 0.1 · 2/3 = 0.2 · 1/3; state 2
    # only decays (0.5 < 1), so the cohort of survivors settles on (2/3, 1/3, 0)
    sub = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.0, 0.0, 0.5]])
    np.testing.assert_allclose(quasi_stationary(sub), [2 / 3, 1 / 3, 0.0], atol=1e-12)


def test_mortality_ratios_by_hand():
    dist = np.array([0.5, 0.3, 0.2])
    q = np.array([0.02, 0.04, 0.10])
    # mean q = 0.5·0.02 + 0.3·0.04 + 0.2·0.10 = 0.042; ratios 0.02/0.042, 0.04/0.042, 0.1/0.042
    expected = np.array([0.02, 0.04, 0.10]) / 0.042
    np.testing.assert_allclose(mortality_ratios(dist, q, None), expected)
    np.testing.assert_allclose(mortality_ratios(dist, q, np.array(0.3)), expected)  # 0.3·2.38 < 1
    # life q 0.6: 0.6 · 2.381 > 1, pulled: λ = (1/0.6 - 1) / (2.381 - 1) = 0.4828
    pulled = mortality_ratios(dist, q, np.array(0.6))
    lam = (1 / 0.6 - 1) / (0.10 / 0.042 - 1)
    np.testing.assert_allclose(pulled, 1 + (expected - 1) * lam)
    assert pulled.max() * 0.6 == pytest.approx(1.0)
    assert dist @ pulled == pytest.approx(1.0)  # the mean stays the life table's
    np.testing.assert_allclose(mortality_ratios(dist, q, np.array(1.0)), 1.0)  # all die anyway


# --- calibration against the base-year city -------------------------------------------------


def test_calibrated_base_year_prevalence_equals_the_target(city_and_health):
    city, h = city_and_health
    counts = health.elders_by_age_sex(city)
    shares = h.expected_prevalence(counts)
    assert 1 - shares[INDEPENDENT] == pytest.approx(TARGET, abs=1e-6)
    # the prior is far more dependent than the target: the onset odds come down
    assert 0.05 < h.onset_scale < 0.5
    # fully dependent are a small part; the share rises with age from 61 to 95 (at 60-61 it
    # is about flat, the entry being the age-60 quasi-stationary mix; past 97 the rates are
    # held and the dependent die first, so it may fall)
    assert shares[FULLY] < shares[PARTLY] / 3
    dependent = 1 - h.base_distribution[..., INDEPENDENT]
    assert (np.diff(dependent[:, 61 - 60 : 95 - 60], axis=1) > 0).all()
    h.init_states(city, np.random.default_rng(5))
    assert city.persons.adl.dtype == np.int8
    assert (city.persons.adl[city.persons.age < 60] == 0).all()
    drawn = h.prevalence(city)
    assert drawn["dependent"] == pytest.approx(TARGET, abs=0.005)
    assert drawn["dependent"] == pytest.approx(drawn["partly"] + drawn["fully"])


def test_an_unreachable_target_is_refused(baseline_blocks):
    _, demo = baseline_blocks
    city = hand_city([70] * 10, [0] * 10)
    with pytest.raises(ValueError, match="base_prevalence 1e-06 cannot be reached"):
        build_health(
            HealthParams.model_validate(block(base_prevalence=fact(1e-6))),
            city,
            2015,
            demo.mortality,
        )


def test_entry_independent_starts_everyone_independent(baseline_blocks):
    _, demo = baseline_blocks
    city = hand_city([60, 70, 80] * 100, [0, 1] * 150)
    h = build_health(
        HealthParams.model_validate(block(entry="independent")), city, 2015, demo.mortality
    )
    np.testing.assert_array_equal(h.base_distribution[:, 0], [[1, 0, 0], [1, 0, 0]])
    np.testing.assert_array_equal(h.tables(2016).entry, [[1, 0, 0], [1, 0, 0]])


# --- the year on a hand-made population ------------------------------------------------------


def test_transitions_follow_the_matrix_in_distribution(city_and_health):
    _, h = city_and_health
    # 3,000 persons for each sex × state, aged 71 at the end of the year (70 at its start),
    # 6,000 who turned 60, and 1,000 aged 59 (no state)
    n = 3000
    sex = np.r_[np.repeat([0, 1], 3 * n), [0, 1] * 3000, [0] * 1000]
    state = np.r_[np.tile(np.repeat([0, 1, 2], n), 2), [2] * 6000, [2] * 1000]
    age = np.r_[[71] * 6 * n, [60] * 6000, [59] * 1000]
    city = hand_city(age, sex, state)
    h.transition(city, 2016, np.random.default_rng(3))
    after = city.persons.adl
    probs = np.diff(h.tables(2016).cumulative[:, 70 - 60], prepend=0.0, axis=-1)
    for s in (0, 1):
        for origin in (INDEPENDENT, PARTLY, FULLY):
            rows = (sex == s) & (state == origin) & (age == 71)
            observed = np.bincount(after[rows], minlength=3)
            expected = probs[s, origin] * rows.sum()
            assert chisquare(observed, expected).pvalue > 1e-3, (s, origin, observed, expected)
    for s in (0, 1):
        rows = (age == 60) & (sex == s)
        observed = np.bincount(after[rows], minlength=3)
        assert chisquare(observed, h.tables(2016).entry[s] * rows.sum()).pvalue > 1e-3
    assert (after[age == 59] == 0).all()


def test_dependent_elders_die_faster_and_each_age_sex_keeps_the_life_table(
    city_and_health, baseline_blocks
):
    _, h = city_and_health
    mortality = baseline_blocks[1].mortality
    # per sex at age 80: 30,000 independent, 15,000 partly, 5,000 fully dependent; and 1,000 at 40
    counts = (30_000, 15_000, 5_000)
    state = np.tile(np.repeat([0, 1, 2], counts), 2)
    sex = np.repeat([0, 1], sum(counts))
    city = hand_city(
        np.r_[[80] * len(state), [40] * 1000], np.r_[sex, [0] * 1000], np.r_[state, [0] * 1000]
    )
    mult = h.mortality_multiplier(city, 2016)
    assert (mult[len(state) :] == 1).all()
    q_rel = h.death[:, 80 - 60]
    for s in (0, 1):
        m = mult[: len(state)][sex == s]
        # by hand: π = (0.6, 0.3, 0.1); multiplier_state = q_state / (0.6 q_0 + 0.3 q_1 + 0.1 q_2)
        pi = np.array(counts) / sum(counts)
        np.testing.assert_allclose(np.unique(m), np.sort(q_rel[s] / (pi @ q_rel[s])))
        assert m.mean() == pytest.approx(1.0, abs=1e-12)  # mean death probability = life table
        by_state = [m[state[sex == s] == k][0] for k in range(3)]
        assert by_state[INDEPENDENT] < by_state[PARTLY] < by_state[FULLY]

    # the deaths drawn by demography: per state near life table × multiplier, per sex near the table
    life_q = death_probabilities(mortality, 2016)[:, 80]
    before = city.persons.adl.copy(), city.persons.sex.copy(), city.persons.age.copy()
    city.persons.add("id", np.arange(len(city.persons)))
    report = demography.DemographyReport.empty(2016, 1)
    demography.deaths_and_ageing(city, mortality, 2016, np.random.default_rng(9), mult, report)
    died = np.ones(len(before[0]), dtype=bool)
    died[city.persons.id] = False
    adl, sx, age = before
    for s in (0, 1):
        rows = (sx == s) & (age == 80)
        n = rows.sum()
        se = np.sqrt(life_q[s] * (1 - life_q[s]) / n)
        assert abs(died[rows].mean() - life_q[s]) < 4 * se
        rates = []
        for k in range(3):
            cell = rows & (adl == k)
            p = life_q[s] * mult[cell][0]
            assert abs(died[cell].mean() - p) < 4 * np.sqrt(p * (1 - p) / cell.sum())
            rates.append(died[cell].mean())
        assert rates[INDEPENDENT] < rates[FULLY]


def test_a_higher_onset_multiplier_gives_higher_prevalence_after_ten_years(baseline_blocks):
    _, demo = baseline_blocks
    rng = np.random.default_rng(21)
    n = 20_000
    age, sex = rng.integers(60, 80, n), rng.integers(0, 2, n)
    base = hand_city(age, sex)
    params = HealthParams.model_validate(block())
    h = build_health(params, base, 2015, demo.mortality)
    higher = build_health(
        HealthParams.model_validate(
            block(
                onset_multiplier={"values": {2015: 1.0, 2016: 1.3}, "unit": "x", "assumption": "t"}
            )
        ),
        base,
        2015,
        demo.mortality,
    )
    assert higher.onset_scale == pytest.approx(h.onset_scale)  # the base year is the same
    result = []
    for model in (h, higher):
        city = hand_city(age, sex)
        model.init_states(city, np.random.default_rng(1))
        run_rng = np.random.default_rng(2)
        for year in range(2016, 2026):
            mult = model.mortality_multiplier(city, year)
            report = demography.DemographyReport.empty(year, 1)
            demography.deaths_and_ageing(city, demo.mortality, year, run_rng, mult, report)
            model.transition(city, year, run_rng)
        result.append(model.prevalence(city)["dependent"])
    # about 8,000 survivors: a standard error of about half a point; the gap is several points
    assert result[1] > result[0] + 0.03


def test_adl_is_an_attribute_copied_for_migrants_and_zero_for_newborns(city_and_health):
    _, h = city_and_health
    city = hand_city([85, 85, 30], [1, 1, 0], [FULLY, PARTLY, 0])
    copies = city.persons.copy_rows(np.array([0, 1]))
    np.testing.assert_array_equal(copies["adl"], [FULLY, PARTLY])
    city.persons.append({"age": np.zeros(1, np.int16), "sex": np.zeros(1, np.int8)})
    assert city.persons.adl[-1] == 0
    with pytest.raises(KeyError, match="init_states"):
        h.transition(hand_city([70], [0]), 2016, np.random.default_rng(0))


def test_the_matrix_is_that_of_the_age_at_the_start_of_the_year():
    # a made-up matrix: at 70 every survivor from state 0 becomes partly dependent, at every
    # other age everyone stays; persons aged 71 at the end of the year were 70 at its start
    full = np.zeros((2, len(AGES), 3, 4))
    full[..., [0, 1, 2], [0, 1, 2]] = 0.99
    full[..., 3] = 0.01
    full[:, 70 - 60, INDEPENDENT] = [0.0, 0.99, 0.0, 0.01]
    params = HealthParams.model_validate(block())
    h = health.ElderHealth(params, full, 1.0, None, np.zeros((2, len(AGES), 3)))
    city = hand_city([70, 71, 72, 71], [0, 0, 1, 1], [0, 0, 0, 0])
    h.transition(city, 2016, np.random.default_rng(0))
    assert city.persons.adl.tolist() == [INDEPENDENT, PARTLY, INDEPENDENT, PARTLY]
