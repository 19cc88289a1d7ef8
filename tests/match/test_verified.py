"""The two-stage decision with the shipped verifier and combined model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from cacheback import SemanticCache
from cacheback.match._verified import (
    VERIFY_FLOOR,
    VerifiedMatcher,
    VerifiedModel,
    build_verified,
)
from cacheback.verify import Verifier

STAND_IN = VerifiedModel.from_features(1.0)


class Counting(Verifier):
    """Records what it is asked and answers a fixed logit."""

    name = "counting"

    def __init__(self, logit: float) -> None:
        self.logit = logit
        self.asked: list[tuple[str, str]] = []

    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        self.asked += list(pairs)
        return np.full(len(pairs), self.logit)


def test_the_stand_in_model_table_is_monotone() -> None:
    model = STAND_IN
    thresholds = [t for _, t in model.budgets]
    assert thresholds == sorted(thresholds, reverse=True)
    assert model.weights[-1] > 0


def test_only_the_most_similar_candidate_above_the_floor_is_verified(embedder: object) -> None:
    verifier = Counting(10.0)
    matcher = VerifiedMatcher(0.05, verifier=verifier, model=STAND_IN)
    with SemanticCache(":memory:", embedder=embedder, matcher=matcher) as cache:
        cache.put("How do I reset my password?", "Settings > Security.")
        cache.put("How do I reset my router?", "Hold the button for ten seconds.")
        cache.get("How can I reset my password?")
        assert verifier.asked == [("How can I reset my password?", "How do I reset my password?")]
        verifier.asked.clear()
        cache.get("What is the capital of Peru?")
        assert all(matcher.min_similarity() == VERIFY_FLOOR for _ in [0])


def test_the_verifier_can_refuse_what_cosine_would_serve(embedder: object) -> None:
    with SemanticCache(":memory:", embedder=embedder,
                       matcher=VerifiedMatcher(0.05, verifier=Counting(-10.0), model=STAND_IN)) as cache:
        cache.put("How do I reset my password?", "Settings > Security.")
        assert cache.get("How can I reset my password?") is None
        assert cache.get("How do I reset my password?") is not None  # the exact tier


@pytest.mark.parametrize(("stored", "asked"), [
    ("Is ibuprofen safe to take with alcohol?", "Is ibuprofen unsafe to take with alcohol?"),
    ("Where is the Berlin office?", "Where is the Paris office?"),
    ("How do I convert Word to PDF?", "How do I convert PDF to Word?"),
    ("Can I get a refund after 30 days?", "Can I get a refund after 60 days?"),
])
def test_traps_are_not_served_by_the_shipped_decision(stored: str, asked: str,
                                                      embedder: object) -> None:
    with SemanticCache(":memory:", embedder=embedder, matcher=build_verified(0.02, STAND_IN)) as cache:
        cache.put(stored, "an answer")
        assert cache.get(asked) is None
