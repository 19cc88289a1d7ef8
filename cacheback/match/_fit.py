"""Fitting the match model: L2-regularised logistic regression and the budget calibration table.

Used by ``benchmarks/fit_matcher.py`` and the quality benchmark; the cache itself only loads
the result.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["budget_thresholds", "fit_logistic", "wrong_hit_curve"]


def fit_logistic(
    features: np.ndarray,
    labels: np.ndarray,
    sample_weight: np.ndarray | None = None,
    l2: float = 1e-3,
    signs: Sequence[int] | None = None,
) -> tuple[np.ndarray, float]:
    """Weights and bias maximising the weighted log-likelihood minus ``l2/2 * |w|^2``, the
    penalty applied to weights of features scaled to unit variance.

    ``signs`` (+1, -1 or 0 per feature) bound weights to a direction: a weight fitted against
    its sign is fixed at zero and the rest refitted, until none is.
    """
    d = features.shape[1]
    scale = features.std(axis=0)
    scale[scale == 0] = 1.0
    features = features / scale
    allowed = np.ones(d, dtype=bool)
    wanted = np.zeros(d) if signs is None else np.asarray(signs, dtype=np.float64)
    while True:
        weights = np.zeros(d)
        fitted, bias = _newton(features[:, allowed], labels, sample_weight, l2)
        weights[allowed] = fitted
        wrong = weights * wanted < 0
        if not wrong.any():
            return weights / scale, bias
        allowed &= ~wrong


def _newton(
    features: np.ndarray,
    labels: np.ndarray,
    sample_weight: np.ndarray | None,
    l2: float,
    iterations: int = 50,
) -> tuple[np.ndarray, float]:
    n, d = features.shape
    weight = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    weight = weight / weight.sum()
    x = np.hstack([features.astype(np.float64), np.ones((n, 1))])
    y = labels.astype(np.float64)
    beta = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ beta, -35, 35)))
        gradient = x.T @ (weight * (p - y)) + penalty * beta
        hessian = (x * (weight * p * (1 - p))[:, None]).T @ x + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta[:-1], float(beta[-1])


def wrong_hit_curve(
    probability: np.ndarray, correct: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each distinct threshold, strictest first: the wrong-hit rate and the number of hits
    among decisions whose probability is at or above it."""
    order = np.argsort(-probability, kind="stable")
    p = probability[order]
    wrong = np.cumsum(~correct[order].astype(bool))
    hits = np.arange(1, len(p) + 1)
    last = np.r_[p[1:] != p[:-1], True]
    return p[last], wrong[last] / hits[last], hits[last]


def budget_thresholds(
    probability: np.ndarray,
    correct: np.ndarray,
    groups: np.ndarray,
    budgets: Sequence[float],
    evidence: float = 3.0,
    margin: float = 0.8,
    slack: float = 0.0,
) -> list[tuple[float, float]]:
    """For each budget, the smallest threshold within budget on *every* group (data set).

    ``probability``/``correct`` are held-out decisions (one per query: the best candidate's
    probability and whether serving it was right). A threshold is within budget when the
    wrong-hit rate of the hits it serves, and of the hits every stricter threshold serves, is at
    most the budget. A rate is judged only on enough hits to see ``evidence`` wrong ones at that
    budget (300 hits for 1%): fewer cannot tell 1% from 0%. Thresholds are chosen for
    ``margin`` times each budget plus ``slack`` (a share, for data judged with a tolerance),
    so that data unlike the held-out folds keeps some room, and a smaller budget never gets a
    looser threshold than a larger one.
    """
    table: list[tuple[float, float]] = []
    for budget in sorted(budgets):
        strictest = 0.0
        min_hits = int(np.ceil(evidence / budget))
        for group in np.unique(groups):
            mask = groups == group
            thresholds, rates, hits = wrong_hit_curve(probability[mask], correct[mask])
            unsafe = np.flatnonzero((rates > budget * margin + slack) & (hits >= min_hits))
            if len(unsafe):
                strictest = max(strictest, float(np.nextafter(thresholds[unsafe[0]], 1.0)))
        table.append((float(budget), strictest))
    for i in range(len(table) - 2, -1, -1):
        table[i] = (table[i][0], max(table[i][1], table[i + 1][1]))
    return table
