"""The two-stage match decision: the text features, then a cross-encoder's second look.

The bi-encoder's cosine compares two texts that were never read together; the verifier
(``cacheback.verify``) reads the new question and a cached one side by side. Only the most
similar candidate (:data:`VERIFY_TOP`) at or above :data:`VERIFY_FLOOR` is verified, and a
logistic model fitted on data the verifier never saw (``benchmarks/verifier_quality.py``)
combines its logit with the features into one calibrated probability, served when it clears
the budget's threshold. A candidate that is not verified is never served.

If the verifier cannot run (model missing, altered or raising), the decision falls back to the
feature-only :class:`CalibratedMatcher` at a stricter budget, and says so in :meth:`status`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ConfigurationError, VerifierError
from .._types import Candidate
from ..verify import OnnxVerifier, Verifier
from ._base import Decision, Matcher
from ._calibrated import CalibratedMatcher
from ._features import FEATURE_NAMES, pair_features
from ._model import threshold_from_table
from ._text import profile

__all__ = ["VERIFIED_MODEL_PATH", "VERIFY_FLOOR", "VERIFY_TOP", "VerifiedMatcher", "VerifiedModel",
           "build_verified", "fallback_budget"]

logger = logging.getLogger("cacheback")

VERIFIED_MODEL_PATH = Path(__file__).parent / "data" / "verified.json"
#: How many of the most similar candidates the verifier reads (one onnxruntime call each).
VERIFY_TOP = 1
#: Candidates less similar than this are never verified, so never served.
VERIFY_FLOOR = 0.5
_NAMES = (*FEATURE_NAMES, "verifier")


def build_verified(budget: float, model: VerifiedModel | None = None) -> VerifiedMatcher:
    """The shipped two-stage matcher at ``budget`` (opt-in: ``SemanticCache(matcher=
    build_verified(0.02))``; the default decision is the feature-only matcher, see
    docs/matching.md for why). A verifier model that is missing or fails its checksum gives the
    stricter feature-only fallback, with the reason in ``status()``; a missing combined model
    raises ``ConfigurationError``."""
    model = model or VerifiedModel.load()
    fallback = CalibratedMatcher(fallback_budget(budget))
    try:
        verifier: Verifier = OnnxVerifier()  # $CACHEBACK_VERIFIER or the shipped json
    except VerifierError as exc:
        matcher = VerifiedMatcher(budget, verifier=_Unavailable(), model=model, fallback=fallback)
        matcher.mark_failed(exc)
        return matcher
    return VerifiedMatcher(budget, verifier=verifier, model=model, fallback=fallback)


class _Unavailable(Verifier):
    """Stands in for a verifier that could not be built."""

    name = "unavailable"

    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        raise VerifierError("no verifier")


def fallback_budget(budget: float) -> float:
    """The stricter budget the feature-only matcher gets while the verifier is unavailable."""
    return max(0.005, budget / 5)


@dataclass(frozen=True)
class VerifiedModel:
    """``P(right) = sigmoid(bias + w . [features, verifier logit])`` and its budget table."""

    weights: tuple[float, ...]
    bias: float
    budgets: tuple[tuple[float, float], ...]
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_features(cls, verifier_weight: float = 1.0) -> VerifiedModel:
        """The shipped feature model with a verifier weight added: a stand-in combined model
        (tests, experiments); a fitted one comes from benchmarks/verifier_quality.py --fit."""
        from ._model import load_default_model

        base = load_default_model()
        return cls((*base.weights, verifier_weight), base.bias, base.budgets,
                   {"stand-in": "feature model + verifier weight"})

    @classmethod
    def load(cls, path: str | Path = VERIFIED_MODEL_PATH) -> VerifiedModel:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if tuple(data["features"]) != _NAMES:
                raise ValueError("fitted on other features; rerun benchmarks/verifier_quality.py --fit")
            model = cls(tuple(float(w) for w in data["weights"]), float(data["bias"]),
                        tuple((float(b), float(t)) for b, t in data["budgets"]),
                        dict(data.get("info", {})))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"cannot read the verified match model {path}: {exc}") from exc
        if len(model.weights) != len(_NAMES) or not model.budgets:
            raise ConfigurationError(f"the verified match model {path} is incomplete")
        return model

    def threshold_for(self, budget: float) -> float:
        """The probability threshold for ``budget``, interpolated in log-budget."""
        return threshold_from_table(self.budgets, budget)

    def probabilities(self, features: np.ndarray, logits: np.ndarray) -> np.ndarray:
        w = np.asarray(self.weights)
        z = self.bias + features @ w[:-1] + logits * w[-1]
        return 1.0 / (1.0 + np.exp(-np.clip(z, -35, 35)))


class VerifiedMatcher(Matcher):
    """Features and verifier combined; falls back to a stricter feature-only decision."""

    def __init__(self, max_wrong_hit_rate: float, *, verifier: Verifier,
                 model: VerifiedModel | None = None,
                 fallback: CalibratedMatcher | None = None) -> None:
        self.model = model or VerifiedModel.load()
        self.threshold = self.model.threshold_for(max_wrong_hit_rate)
        self.max_wrong_hit_rate = max_wrong_hit_rate
        self.verifier = verifier
        self.fallback = fallback or CalibratedMatcher(fallback_budget(max_wrong_hit_rate))
        self._failure: str | None = None
        self._lock = threading.Lock()

    def min_similarity(self) -> float:
        return VERIFY_FLOOR if self._failure is None else self.fallback.min_similarity()

    def status(self) -> dict[str, str] | None:
        """The degraded mode, if the verifier failed (the cache shows it in ``stats()``)."""
        if self._failure is None:
            return None
        return {"verifier": f"off ({self._failure}); feature-only matcher at budget "
                            f"{self.fallback.max_wrong_hit_rate}"}

    def decide(self, query: str, candidates: Sequence[Candidate]) -> Decision:
        if self._failure is not None:
            return self.fallback.decide(query, candidates)
        ranked = sorted(candidates, key=lambda c: -c.similarity)
        chosen = [c for c in ranked[:VERIFY_TOP] if c.similarity >= VERIFY_FLOOR]
        if not chosen:
            return Decision(None, 0.0)
        try:
            logits = self.verifier.score([(query, c.query) for c in chosen])
        except VerifierError as exc:
            return self._degrade(exc, query, candidates)
        except Exception as exc:  # noqa: BLE001 - a verifier fault must never fail the lookup
            return self._degrade(exc, query, candidates)
        asked = profile(query)
        best = ranked[0].similarity
        features = np.array([pair_features(asked, profile(c.query), c.similarity, best)
                             for c in chosen], dtype=np.float64)
        p = self.model.probabilities(features, logits)
        top = int(np.argmax(p))
        probability = float(p[top])
        if probability >= self.threshold:
            return Decision(chosen[top], probability)
        return Decision(None, probability)

    def mark_failed(self, exc: BaseException) -> None:
        """Decide without the verifier from now on (logged once)."""
        with self._lock:
            if self._failure is None:
                logger.warning("cacheback: verifier unavailable, deciding without it at budget "
                               "%s: %r", self.fallback.max_wrong_hit_rate, exc)
            self._failure = f"{type(exc).__name__}: {exc}"[:200]

    def _degrade(self, exc: BaseException, query: str, candidates: Sequence[Candidate]) -> Decision:
        self.mark_failed(exc)
        return self.fallback.decide(query, candidates)

    def __repr__(self) -> str:
        return (f"VerifiedMatcher(max_wrong_hit_rate={self.max_wrong_hit_rate}, "
                f"threshold={self.threshold:.4f}, verifier={self.verifier.name})")

