"""The calibrated matcher on its own and as the cache's default, with the real embedder."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from cacheback import Candidate, ConfigurationError, SemanticCache
from cacheback.embed import Embedder
from cacheback.match import (
    DEFAULT_MAX_WRONG_HIT_RATE,
    CalibratedMatcher,
    Decision,
    Matcher,
    MatchModel,
    ThresholdMatcher,
    build_matcher,
)
from cacheback.match import _model as model_module
from cacheback.match._model import load_default_model, logit

TRAPS = [
    ("Is Anna older than Maria?", "Is Maria older than Anna?"),
    ("Can I transfer money from my savings to my checking account?",
     "Can I transfer money from my checking to my savings account?"),
    ("Is ibuprofen safe to take with alcohol?", "Is ibuprofen unsafe to take with alcohol?"),
    ("Which items can be recycled?", "Which items can't be recycled?"),
    ("Can I open a Lifetime ISA at 39?", "Can I open a Lifetime ISA at 41?"),
    ("What's the baggage allowance on easyJet?", "What's the baggage allowance on Ryanair?"),
    ("How do I convert a Word document to PDF?", "How do I convert a PDF to a Word document?"),
    ("Track order 48213", "Track order 48231"),
    ("How do I lock my debit card in the app?", "How do I unlock my debit card in the app?"),
    ("Why did my delivery take 3 weeks?", "Why did my delivery take 3 days?"),
    ("What does the getUser function return?", "What does the getuser function return?"),
    ("Is Hunter2 a strong password?", "Is hunter2 a strong password?"),
    ("What does base64 aGVsbG8= decode to?", "What does base64 AGVSBG8= decode to?"),
    ("Where is MAX_RETRIES set?", "Where is max_retries set?"),
    ("What is -5 squared?", "What is 5 squared?"),
    ("How do I use C# async?", "How do I use C async?"),
    ("What is 1.5 + 2?", "What is 15 + 2?"),
]
PARAPHRASES = [
    ("How do I reset my password?", "How can I reset my password?"),
    ("How do I cancel my mobile contract?", "How can I cancel my mobile contract?"),
    (
        "Is there a discount for students on train tickets?",
        "On train tickets, is there a discount for students?",
    ),
    ("What is the waiting time for a blood test?", "What's the wait time for a blood test?"),
    ("Can I pay by card, or only in cash?", "can i pay by card or only in cash"),
    ("Hello: where is my parcel?", "hello where is my parcel ?!"),
]


def candidate(entry_id: int, query: str, similarity: float) -> Candidate:
    return Candidate(entry_id=entry_id, query=query, response=f"answer {entry_id}", similarity=similarity)


def test_no_candidates_is_a_miss() -> None:
    decision = CalibratedMatcher().decide("anything", [])
    assert decision.accepted is None and decision.probability == 0.0


def test_the_likeliest_candidate_wins_even_when_it_is_not_the_most_similar() -> None:
    shipped = load_default_model()
    loose = MatchModel(weights=shipped.weights, bias=shipped.bias, budgets=((0.2, 0.8),))
    matcher = CalibratedMatcher(0.2, model=loose)
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


def unpruned(matcher: CalibratedMatcher, query: str, candidates: Sequence[Candidate]) -> Candidate | None:
    """The decision from every candidate's probability, none skipped: what pruning must not change."""
    scores = matcher.probabilities(query, candidates)
    chosen = max(range(len(scores)), key=scores.__getitem__)
    return candidates[chosen] if scores[chosen] >= matcher.threshold else None


def assert_pruning_changes_no_decision(questions: list[tuple[str, str]]) -> None:
    """Each question against five stored texts (its own and the next four) at random similarities."""
    rng = random.Random(4)
    pruned = 0
    for budget in (0.005, DEFAULT_MAX_WRONG_HIT_RATE, 0.2):
        matcher = CalibratedMatcher(budget)
        floor = logit(matcher.threshold)
        for i, (_, asked) in enumerate(questions):
            sims = sorted((rng.uniform(0.3, 1.0) for _ in range(5)), reverse=True)
            stored = [questions[(i + n) % len(questions)][0] for n in range(5)]
            rng.shuffle(stored)
            cands = [candidate(n, text, s) for n, (text, s) in enumerate(zip(stored, sims))]
            decision = matcher.decide(asked, cands)
            assert decision.accepted is unpruned(matcher, asked, cands)
            if decision.accepted is not None:
                assert decision.probability == max(matcher.probabilities(asked, cands))
            else:
                assert decision.probability >= max(matcher.probabilities(asked, cands))
            pruned += sum(matcher.model.max_logit(c.similarity, sims[0]) < floor for c in cands)
    assert pruned > 0


def test_pruning_changes_no_decision() -> None:
    assert_pruning_changes_no_decision(TRAPS + PARAPHRASES)


def test_pruning_changes_no_decision_on_the_dev_pairs(shared_data: Path) -> None:
    lines = (shared_data / "fow-cache" / "pairs_dev.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    assert_pruning_changes_no_decision([(row["a"], row["b"]) for row in rows])


def test_min_similarity_is_the_lowest_cosine_ever_served() -> None:
    matcher = CalibratedMatcher()
    lowest = matcher.min_similarity()
    assert 0.0 < lowest < matcher.threshold
    text = "How do I cancel an order I placed this morning?"
    assert matcher.decide(text, [candidate(1, text, lowest)]).accepted is None
    assert ThresholdMatcher(0.9).min_similarity() == 0.9

    class Anything(Matcher):
        def decide(self, query: str, candidates: Sequence[Candidate]) -> Decision:
            return Decision(candidates[0] if candidates else None, 1.0)

    assert Anything().min_similarity() == -1.0


def test_a_budget_above_the_table_gets_its_strictest_loose_row_and_says_so(
        caplog: pytest.LogCaptureFixture) -> None:
    """The shipped table stops at the largest budget kept on data the model never saw (2%):
    asking 5% serves with the 2% threshold, and the log says why (docs/matching.md)."""
    model = load_default_model()
    largest, loosest = model.budgets[-1]
    assert largest == 0.02
    with caplog.at_level("WARNING", logger="cacheback"):
        matcher = CalibratedMatcher(0.05, model=model)
    assert matcher.threshold == loosest == CalibratedMatcher(0.02, model=model).threshold
    assert "above the largest budget" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="cacheback"):
        CalibratedMatcher(0.01, model=model)
    assert "above the largest budget" not in caplog.text
