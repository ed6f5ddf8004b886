"""Designs and sensitivity indices on functions whose answers are known by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from simlib import sensitivity
from simlib.sweep_design import (
    Design,
    GridDesign,
    LatinHypercubeDesign,
    MorrisDesign,
    SobolDesign,
)

NAMES = ["a", "b"]


# --- designs ---------------------------------------------------------------------------


def test_grid_takes_every_combination_of_evenly_spaced_levels():
    x = GridDesign(levels=3).sample(NAMES, np.array([0.0, 10.0]), np.array([1.0, 20.0]))
    # 3 levels each: a in {0, 0.5, 1}, b in {10, 15, 20}; 3 × 3 = 9 points, a slowest
    assert x.shape == (9, 2)
    assert x[:3].tolist() == [[0.0, 10.0], [0.0, 15.0], [0.0, 20.0]]
    assert {tuple(r) for r in x} == {(a, b) for a in (0, 0.5, 1) for b in (10, 15, 20)}


def test_latin_hypercube_uses_each_stratum_of_each_range_once():
    lows, highs = np.array([0.02, 0.8]), np.array([0.05, 1.2])
    x = LatinHypercubeDesign(samples=10, seed=3).sample(NAMES, lows, highs)
    assert x.shape == (10, 2)
    assert np.all(x >= lows) and np.all(x <= highs)
    strata = np.floor((x - lows) / (highs - lows) * 10).astype(int)
    for j in range(2):  # ten strata of width (high - low) / 10, each hit by exactly one point
        assert sorted(strata[:, j]) == list(range(10))
    again = LatinHypercubeDesign(samples=10, seed=3).sample(NAMES, lows, highs)
    assert np.array_equal(x, again)  # reproducible from its seed
    other = LatinHypercubeDesign(samples=10, seed=4).sample(NAMES, lows, highs)
    assert not np.array_equal(x, other)


def test_morris_trajectories_move_one_parameter_at_a_time_on_the_level_grid():
    lows, highs = np.array([0.0, 0.25, 10.0]), np.array([2.0, 0.40, 30.0])
    spec = MorrisDesign(trajectories=5, levels=4, seed=1)
    x = spec.sample(["a", "b", "c"], lows, highs)
    assert x.shape == (5 * 4, 3) == (spec.size(3), 3)  # trajectories × (k + 1)
    # 4 levels: low + j/3 × (high - low), j = 0..3
    levels = (x - lows) / (highs - lows) * 3
    assert np.allclose(levels, np.round(levels))
    for t in range(5):
        path = x[4 * t : 4 * t + 4]
        moved = (np.diff(path, axis=0) != 0).sum(axis=1)
        assert moved.tolist() == [1, 1, 1]  # each step moves exactly one parameter ...
        assert sorted(np.argmax(np.diff(path, axis=0) != 0, axis=1)) == [0, 1, 2]  # ... each once


def test_sobol_design_has_saltelli_size_and_stays_in_bounds():
    lows, highs = np.array([0.0, -1.0, 5.0]), np.array([1.0, 1.0, 6.0])
    x = SobolDesign(base_samples=16).sample(["a", "b", "c"], lows, highs)
    assert x.shape == (16 * (3 + 2), 3)  # N (k + 2) without second order
    assert np.all(x >= lows) and np.all(x <= highs)
    assert SobolDesign(base_samples=8, second_order=True).size(3) == 8 * (2 * 3 + 2)


def test_design_settings_are_checked():
    with pytest.raises(ValidationError, match="power of two"):
        SobolDesign(base_samples=12)
    with pytest.raises(ValidationError, match="even"):
        MorrisDesign(trajectories=4, levels=5)
    with pytest.raises(ValidationError, match="exactly one design"):
        Design(grid=GridDesign(), morris=MorrisDesign(trajectories=2))
    with pytest.raises(ValidationError, match="exactly one design"):
        Design()
    assert Design(latin_hypercube=LatinHypercubeDesign(samples=5)).method == "latin_hypercube"


# --- indices ---------------------------------------------------------------------------


def test_regression_on_a_linear_function_gives_the_variance_shares():
    # y = 3a + b on a 5 × 5 grid over [0, 1]²: a and b have the same variance v and are
    # uncorrelated, so var(y) = 9v + v; SRC_a = 3 sd(a) / sd(y) = 3/√10, SRC_a² = 0.9, SRC_b² = 0.1
    x = GridDesign(levels=5).sample(NAMES, np.zeros(2), np.ones(2))
    t = sensitivity.regression_indices(NAMES, x, 3 * x[:, 0] + x[:, 1]).set_index("parameter")
    assert t.loc["a", "SRC"] == pytest.approx(3 / np.sqrt(10))
    assert t.loc["a", "SRC2"] == pytest.approx(0.9)
    assert t.loc["b", "SRC2"] == pytest.approx(0.1)
    assert t.loc["a", "R2"] == pytest.approx(1.0)
    # a decreasing effect has a negative coefficient
    t = sensitivity.regression_indices(NAMES, x, -3 * x[:, 0] + x[:, 1]).set_index("parameter")
    assert t.loc["a", "SRC"] == pytest.approx(-3 / np.sqrt(10))


def test_rank_regression_sees_a_monotone_non_linear_effect_whole():
    # y = a⁹ (b plays no part): a straight line explains it badly, ranks exactly
    x = LatinHypercubeDesign(samples=50, seed=2).sample(NAMES, np.zeros(2), np.ones(2))
    t = sensitivity.regression_indices(NAMES, x, x[:, 0] ** 9).set_index("parameter")
    assert t.loc["a", "R2"] < 0.75
    assert t.loc["a", "SRRC"] == pytest.approx(1.0)  # rank(y) = rank(a)
    assert t.loc["a", "R2_rank"] == pytest.approx(1.0)
    assert abs(t.loc["b", "SRRC"]) < 1e-9


def test_regression_needs_more_points_than_coefficients():
    with pytest.raises(ValueError, match="cannot fit"):
        sensitivity.regression_indices(NAMES, np.eye(3, 2), np.arange(3.0))


def test_morris_mu_star_of_a_linear_term_is_slope_times_range():
    # y = 3a − 2b with a in [0, 2] and b in [10, 15]: every elementary effect of a is
    # 3 × 2 = 6 and of b −2 × 5 = −10, so mu* = |mu| = 6 and 10, sigma = 0
    lows, highs = [0.0, 10.0], [2.0, 15.0]
    x = MorrisDesign(trajectories=6, levels=4, seed=3).sample(
        NAMES, np.array(lows), np.array(highs)
    )
    y = 3 * x[:, 0] - 2 * x[:, 1]
    t = sensitivity.morris_indices(NAMES, lows, highs, x, y, levels=4).set_index("parameter")
    assert t.loc["a", "mu_star"] == pytest.approx(6.0)
    assert t.loc["a", "mu"] == pytest.approx(6.0)
    assert t.loc["b", "mu_star"] == pytest.approx(10.0)
    assert t.loc["b", "mu"] == pytest.approx(-10.0)
    assert t.sigma.to_numpy() == pytest.approx([0.0, 0.0], abs=1e-9)


def test_morris_sigma_shows_an_interaction():
    # y = a·b on [0, 1]²: the effect of a is b (its range 1 × b), which varies: sigma > 0
    lows, highs = [0.0, 0.0], [1.0, 1.0]
    x = MorrisDesign(trajectories=10, levels=4, seed=5).sample(NAMES, np.zeros(2), np.ones(2))
    t = sensitivity.morris_indices(NAMES, lows, highs, x, x[:, 0] * x[:, 1], levels=4)
    assert (t.sigma > 0.1).all()


def test_sobol_on_the_ishigami_function():
    # Ishigami (a = 7, b = 0.1) on [-π, π]³: S1 = 0.314, 0.442, 0; ST = 0.558, 0.442, 0.244
    # (Saltelli et al. 2008, Global Sensitivity Analysis: The Primer, p. 179)
    names = ["x1", "x2", "x3"]
    lows, highs = [-np.pi] * 3, [np.pi] * 3
    x = SobolDesign(base_samples=1024, seed=1).sample(names, np.array(lows), np.array(highs))
    y = np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])
    t = sensitivity.sobol_indices(names, lows, highs, y).set_index("parameter")
    assert t.S1.to_numpy() == pytest.approx([0.314, 0.442, 0.0], abs=0.05)
    assert t.ST.to_numpy() == pytest.approx([0.558, 0.442, 0.244], abs=0.05)
    assert (t.ST_conf > 0).all()


def test_sobol_of_a_linear_function_has_no_interactions():
    # y = 3a + b, a and b uniform on [0, 1]: S1 = ST = 0.9 and 0.1
    lows, highs = [0.0, 0.0], [1.0, 1.0]
    x = SobolDesign(base_samples=1024, seed=2).sample(NAMES, np.zeros(2), np.ones(2))
    t = sensitivity.sobol_indices(NAMES, lows, highs, 3 * x[:, 0] + x[:, 1]).set_index("parameter")
    assert t.S1.to_numpy() == pytest.approx([0.9, 0.1], abs=0.03)
    assert t.ST.to_numpy() == pytest.approx([0.9, 0.1], abs=0.03)


def test_indices_dispatch_by_design():
    x = GridDesign(levels=3).sample(NAMES, np.zeros(2), np.ones(2))
    t = sensitivity.indices("grid", NAMES, [0, 0], [1, 1], x, x[:, 0])
    assert list(t.columns) == ["parameter", "SRC", "SRC2", "SRRC", "SRRC2", "R2", "R2_rank"]
    with pytest.raises(ValueError, match="unknown design"):
        sensitivity.indices("fast", NAMES, [0, 0], [1, 1], x, x[:, 0])


# --- tornado and ranking -----------------------------------------------------------------


def test_tornado_on_a_hand_made_case():
    # base 10; a: 8 at its low bound, 13 at its high; b: 11 and 9.5; c: 11 and 12 (both above)
    t = sensitivity.tornado_ranges(10.0, {"a": 8, "b": 11, "c": 11}, {"a": 13, "b": 9.5, "c": 12})
    assert t.parameter.tolist() == ["a", "b", "c"]  # swings 5, 1.5, 1: longest first
    a, b, c = (t.iloc[i] for i in range(3))
    assert (a.change_low, a.change_high, a.swing) == (-2.0, 3.0, 5.0)
    assert (a.bar_from, a.bar_to) == (8.0, 13.0)
    assert (b.change_low, b.change_high, b.swing) == (1.0, -0.5, 1.5)
    assert (b.bar_from, b.bar_to) == (9.5, 11.0)
    # a non-monotone or one-sided effect: the bar still starts at the base
    assert (c.bar_from, c.bar_to, c.swing) == (10.0, 12.0, 1.0)
    assert (t.output_base == 10.0).all()


def test_ranking_orders_by_the_design_measure_with_the_tornado_beside_it():
    morris = pd.DataFrame(
        {
            "parameter": ["a", "b", "c"],
            "mu": [0.2, -0.9, 0.5],
            "mu_star": [0.2, 0.9, 0.5],
            "sigma": [0.0, 0.1, 0.3],
            "mu_star_conf": [0.05, 0.2, 0.1],
        }
    )
    tornado = sensitivity.tornado_ranges(
        2.0, {"a": 1.9, "b": 2.8, "c": 1.8}, {"a": 2.1, "b": 1.9, "c": 2.3}
    )
    r = sensitivity.ranking("morris", {"y2030": morris}, {"y2030": tornado})
    assert r.parameter.tolist() == ["b", "c", "a"]
    assert r["rank"].tolist() == [1, 2, 3]
    assert r.value.tolist() == [0.9, 0.5, 0.2]
    assert r.conf.tolist() == [0.2, 0.1, 0.05]
    assert r.tornado_swing.tolist() == pytest.approx([0.9, 0.5, 0.2])
    assert (r.measure == "mu_star").all()
    # a regression is ranked by SRC², a negative coefficient counting by its size
    reg = pd.DataFrame({"parameter": ["a", "b"], "SRC": [-0.9, 0.3], "SRC2": [0.81, 0.09]})
    r = sensitivity.ranking("latin_hypercube", {"y": reg}, {})
    assert r.parameter.tolist() == ["a", "b"] and r.conf.isna().all()
