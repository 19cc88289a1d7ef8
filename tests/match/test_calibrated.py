"""The calibrated matcher on its own and as the cache's default, with the real embedder."""

from __future__ import annotations

import logging

import pytest

from cacheback import Candidate, ConfigurationError, SemanticCache
from cacheback.embed import Embedder
from cacheback.match import (
    DEFAULT_MAX_WRONG_HIT_RATE,
    CalibratedMatcher,
    MatchModel,
    ThresholdMatcher,
    build_matcher,
)
from cacheback.match import _model as model_module

TRAPS = [
    ("Is ibuprofen safe to take with alcohol?", "Is ibuprofen unsafe to take with alcohol?"),
    ("Which items can be recycled?", "Which items can't be recycled?"),
    ("Can I open a Lifetime ISA at 39?", "Can I open a Lifetime ISA at 41?"),
    ("What's the baggage allowance on easyJet?", "What's the baggage allowance on Ryanair?"),
    ("How do I convert a Word document to PDF?", "How do I convert a PDF to a Word document?"),
    ("Track order 48213", "Track order 48231"),
    ("How do I lock my debit card in the app?", "How do I unlock my debit card in the app?"),
]
PARAPHRASES = [
    ("How do I reset my password?", "How can I reset my password?"),
    ("How do I cancel my mobile contract?", "How can I cancel my mobile contract?"),
    (
        "Is there a discount for students on train tickets?",
        "On train tickets, is there a discount for students?",
    ),
    ("What is the waiting time for a blood test?", "What's the wait time for a blood test?"),
]


def candidate(entry_id: int, query: str, similarity: float) -> Candidate:
    return Candidate(entry_id=entry_id, query=query, response=f"answer {entry_id}", similarity=similarity)


def test_no_candidates_is_a_miss() -> None:
    decision = CalibratedMatcher().decide("anything", [])
    assert decision.accepted is None and decision.probability == 0.0


def test_the_likeliest_candidate_wins_even_when_it_is_not_the_most_similar() -> None:
    matcher = CalibratedMatcher(0.2)
    trap = candidate(1, "Can I open a Lifetime ISA at 41?", 0.975)
    right = candidate(2, "Could I open a Lifetime ISA at 39?", 0.97)
    probabilities = matcher.probabilities("Can I open a Lifetime ISA at 39?", [trap, right])
    assert probabilities[1] > probabilities[0]
    assert matcher.decide("Can I open a Lifetime ISA at 39?", [trap, right]).accepted == right


def test_budget_knob_is_monotonic() -> None:
    assert (
        CalibratedMatcher(0.005).threshold
        >= CalibratedMatcher(0.05).threshold
        >= CalibratedMatcher(0.2).threshold
    )


def test_build_matcher_follows_the_knobs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert isinstance(
        build_matcher(similarity_threshold=0.9, max_wrong_hit_rate=None, fallback_threshold=0.95),
        ThresholdMatcher,
    )
    default = build_matcher(similarity_threshold=None, max_wrong_hit_rate=None, fallback_threshold=0.95)
    assert isinstance(default, CalibratedMatcher) and default.max_wrong_hit_rate == DEFAULT_MAX_WRONG_HIT_RATE
    with pytest.raises(ConfigurationError):
        build_matcher(similarity_threshold=0.9, max_wrong_hit_rate=0.01, fallback_threshold=0.95)
    with pytest.raises(ConfigurationError):
        build_matcher(similarity_threshold=None, max_wrong_hit_rate=2.0, fallback_threshold=0.95)

    def broken() -> MatchModel:
        raise ConfigurationError("cannot read match model")

    monkeypatch.setattr("cacheback.match._calibrated.load_default_model", broken)
    with caplog.at_level(logging.WARNING, logger="cacheback"):
        fallback = build_matcher(similarity_threshold=None, max_wrong_hit_rate=None, fallback_threshold=0.95)
    assert isinstance(fallback, ThresholdMatcher) and fallback.threshold == 0.95
    assert "match model unavailable" in caplog.text
    assert model_module.DEFAULT_MODEL_PATH.is_file()


def test_cache_rejects_either_knob_with_a_matcher(embedder: Embedder) -> None:
    with pytest.raises(ConfigurationError):
        SemanticCache(":memory:", embedder=embedder, matcher=ThresholdMatcher(0.9), max_wrong_hit_rate=0.01)
    with pytest.raises(ConfigurationError):
        SemanticCache(":memory:", embedder=embedder, similarity_threshold=0.9, max_wrong_hit_rate=0.01)
    with SemanticCache(":memory:", embedder=embedder, max_wrong_hit_rate=0.05) as cache:
        assert isinstance(cache.matcher, CalibratedMatcher) and cache.matcher.max_wrong_hit_rate == 0.05


@pytest.mark.parametrize(("stored", "asked"), TRAPS)
def test_default_cache_refuses_traps(embedder: Embedder, stored: str, asked: str) -> None:
    with SemanticCache(":memory:", embedder=embedder) as cache:
        cache.put(stored, "the stored answer")
        assert cache.get(asked) is None


@pytest.mark.parametrize(("stored", "asked"), PARAPHRASES)
def test_default_cache_serves_paraphrases(embedder: Embedder, stored: str, asked: str) -> None:
    with SemanticCache(":memory:", embedder=embedder) as cache:
        cache.put(stored, "the stored answer")
        hit = cache.get(asked)
        assert hit is not None and hit.tier == "semantic" and hit.response == "the stored answer"
        assert cache.matcher.threshold <= hit.probability <= 1.0  # type: ignore[attr-defined]


def test_plain_cosine_baseline_serves_the_trap_the_matcher_refuses(embedder: Embedder) -> None:
    stored, asked = TRAPS[0]
    with SemanticCache(":memory:", embedder=embedder, similarity_threshold=0.9) as cache:
        cache.put(stored, "the stored answer")
        assert cache.get(asked) is not None
