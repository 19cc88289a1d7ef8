"""The calibrated logistic model: weights, and the table from wrong-hit budget to threshold.

The model ships as a small JSON file (``data/matcher.json``) written by
``benchmarks/fit_matcher.py``; nothing here needs more than the standard library.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from .._errors import ConfigurationError
from ._features import (
    FEATURE_NAMES,
    FEATURE_RANGES,
    GATED_FEATURES,
    SIMILARITY_FEATURES,
    similarity_features,
)

__all__ = ["BOUND_SLACK", "DEFAULT_MODEL_PATH", "MatchModel", "load_default_model", "logit", "sigmoid"]

DEFAULT_MODEL_PATH = Path(__file__).parent / "data" / "matcher.json"
FORMAT_VERSION = 1
_BISECTIONS = 60

#: Slack (in logit) that keeps rounding in a bound from ever ruling out a pair that clears it.
BOUND_SLACK = 1e-9


def sigmoid(z: float) -> float:
    """``1 / (1 + e^-z)`` without overflow for large ``|z|``."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def logit(p: float) -> float:
    """The inverse of :func:`sigmoid`: ``-inf`` at 0 and ``inf`` at 1."""
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    return math.log(p / (1.0 - p))


@dataclass(frozen=True)
class MatchModel:
    """``P(right) = sigmoid(bias + weights . features)``, plus the budget -> threshold table.

    ``budgets`` maps a wrong-hit rate (wrong hits / hits) to the smallest probability threshold
    whose hits stayed within it on held-out folds; sorted by budget, thresholds non-increasing.
    """

    weights: tuple[float, ...]
    bias: float
    budgets: tuple[tuple[float, float], ...]
    feature_names: tuple[str, ...] = FEATURE_NAMES
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if tuple(self.feature_names) != FEATURE_NAMES:
            raise ConfigurationError(
                "match model was fitted on other features; refit it with benchmarks/fit_matcher.py"
            )
        if len(self.weights) != len(FEATURE_NAMES):
            raise ConfigurationError("match model has the wrong number of weights")
        if not self.budgets:
            raise ConfigurationError("match model has no budget table")

    def probability(self, features: Sequence[float]) -> float:
        """The calibrated probability that serving the pair described by ``features`` is right."""
        return sigmoid(self.bias + sum(w * x for w, x in zip(self.weights, features)))

    @cached_property
    def _ceilings(self) -> tuple[float, tuple[tuple[float, float], ...]]:
        """The bias plus the largest sum the ungated text features can add (from their declared
        ranges), and each gated feature's largest addition with the similarity it needs."""
        total, gated, first = self.bias, [], len(SIMILARITY_FEATURES)
        for name, w in zip(FEATURE_NAMES[first:], self.weights[first:]):
            low, high = FEATURE_RANGES[name]
            most = 0.0 if not w else w * (high if w > 0 else low)
            if name in GATED_FEATURES:
                gated.append((GATED_FEATURES[name], max(most, 0.0)))
            else:
                total += most
        return total, tuple(gated)

    def max_logit(self, similarity: float, best: float) -> float:
        """An upper bound of the logit of any pair whose candidate has ``similarity`` (and the
        best candidate ``best``), whatever the texts say: the exact similarity terms plus the
        text features' largest possible contribution. ``inf`` when a feature is unbounded upward."""
        total, gated = self._ceilings
        total += sum(most for gate, most in gated if similarity >= gate)
        sims = similarity_features(similarity, best)
        return total + sum(w * x for w, x in zip(self.weights, sims))

    def min_similarity(self, threshold: float) -> float:
        """The lowest cosine a served candidate can have at probability ``threshold``: every
        candidate below it is rejected whatever its text (``-1.0`` when there is no such bound,
        ``inf`` when nothing can be served).

        Needs the similarity weights non-negative (the fit's sign constraints make them so).
        """
        if any(w < 0 for w in self.weights[: len(SIMILARITY_FEATURES)]):
            return -1.0
        floor = logit(threshold) - BOUND_SLACK
        if self.max_logit(-1.0, -1.0) >= floor:
            return -1.0
        if self.max_logit(1.0, 1.0) < floor:
            return math.inf
        low, high = -1.0, 1.0
        for _ in range(_BISECTIONS):
            middle = (low + high) / 2
            if self.max_logit(middle, middle) < floor:
                low = middle
            else:
                high = middle
        return low

    def threshold_for(self, max_wrong_hit_rate: float) -> float:
        """The probability threshold that keeps wrong hits within ``max_wrong_hit_rate`` of hits.

        Interpolated in log-budget between table rows; a budget below the table's smallest row
        gets that row's (strictest) threshold, one above its largest gets the loosest.
        """
        return threshold_from_table(self.budgets, max_wrong_hit_rate)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "features": list(self.feature_names),
            "weights": [round(w, 6) for w in self.weights],
            "bias": round(self.bias, 6),
            "budgets": [[b, round(t, 6)] for b, t in self.budgets],
            "info": self.info,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MatchModel:
        if data.get("format") != FORMAT_VERSION:
            raise ConfigurationError(f"unsupported match model format {data.get('format')!r}")
        return cls(
            weights=tuple(float(w) for w in data["weights"]),
            bias=float(data["bias"]),
            budgets=tuple((float(b), float(t)) for b, t in data["budgets"]),
            feature_names=tuple(data["features"]),
            info=dict(data.get("info", {})),
        )

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> MatchModel:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls.from_json(data)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"cannot read match model {path}: {exc}") from exc


_default: MatchModel | None = None


def threshold_from_table(rows: Sequence[tuple[float, float]], budget: float) -> float:
    """The threshold a budget table (budget -> threshold, sorted by budget) gives ``budget``:
    interpolated in log-budget between rows, clamped to the table's ends."""
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not 0 < budget < 1:
        raise ConfigurationError(f"max_wrong_hit_rate must be in (0, 1), got {budget!r}")
    if budget <= rows[0][0]:
        return rows[0][1]
    if budget >= rows[-1][0]:
        return rows[-1][1]
    for (b0, t0), (b1, t1) in zip(rows, rows[1:]):
        if b0 <= budget <= b1:
            share = (math.log(budget) - math.log(b0)) / (math.log(b1) - math.log(b0))
            return t0 + share * (t1 - t0)
    return rows[-1][1]


def load_default_model() -> MatchModel:
    """The shipped model, read once per process."""
    global _default
    if _default is None:
        _default = MatchModel.load(DEFAULT_MODEL_PATH)
    return _default
