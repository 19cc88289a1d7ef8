"""Fitting: the logistic solver and the budget table on synthetic data with a known answer."""

from __future__ import annotations

import numpy as np

from cacheback.match._fit import budget_thresholds, fit_logistic, wrong_hit_curve


def test_fit_recovers_the_direction_of_known_weights() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 3))
    p = 1 / (1 + np.exp(-(2.0 * x[:, 0] - 1.0 * x[:, 1] + 0.5)))
    y = rng.random(4000) < p
    weights, bias = fit_logistic(x, y, l2=1e-4)
    assert weights[0] > 1.5 and weights[1] < -0.7 and abs(weights[2]) < 0.2 and 0.3 < bias < 0.7


def test_sign_constraints_zero_a_weight_that_points_the_wrong_way() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2000, 2))
    y = rng.random(2000) < 1 / (1 + np.exp(-(x[:, 0] + x[:, 1])))
    weights, _ = fit_logistic(x, y, signs=[1, -1])
    assert weights[0] > 0.5 and weights[1] == 0.0


def test_wrong_hit_curve_counts_from_the_strict_end() -> None:
    thresholds, rates, hits = wrong_hit_curve(
        np.array([0.9, 0.8, 0.8, 0.1]), np.array([True, False, True, True])
    )
    assert thresholds.tolist() == [0.9, 0.8, 0.1]
    assert hits.tolist() == [1, 3, 4] and rates.tolist() == [0.0, 1 / 3, 0.25]


def test_budget_thresholds_keep_every_group_within_budget() -> None:
    rng = np.random.default_rng(2)
    probability = rng.random(20000)
    correct = rng.random(20000) < probability
    groups = np.array(["a", "b"] * 10000)
    table = budget_thresholds(probability, correct, groups, [0.02, 0.05, 0.2])
    assert [b for b, _ in table] == [0.02, 0.05, 0.2]
    assert table[0][1] >= table[1][1] >= table[2][1]
    for budget, threshold in table:
        for group in "ab":
            served = (probability >= threshold) & (groups == group)
            assert (~correct[served]).mean() <= budget
