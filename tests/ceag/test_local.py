"""The local synthesizer: relevant, deduplicated, ordered sentences, or nothing when unsure."""

from __future__ import annotations

import pytest

from cacheback import Candidate
from cacheback.ceag import LocalSettings, LocalSynthesizer, SynthesisRequest
from cacheback.embed import Embedder


def source(entry_id: int, similarity: float, query: str, response: str) -> Candidate:
    return Candidate(entry_id=entry_id, query=query, response=response, similarity=similarity)


REFUND = source(
    1, 0.86, "how do I get a refund?",
    "Go to Orders and pick the order. Tap 'Request refund' and choose a reason. "
    "Refunds reach your card within 5 working days.",
)
REFUND_AGAIN = source(
    2, 0.84, "can I have my money back?",
    "Refunds reach your card within 5 working days. You can request one from the Orders page. "
    "Our offices are closed on public holidays.",
)
PASSWORD = source(3, 0.82, "how do I reset my password?",
                  "Tap 'Forgot password' on the sign-in screen and follow the email link.")


@pytest.fixture(scope="module")
def synthesizer(embedder: Embedder) -> LocalSynthesizer:
    return LocalSynthesizer(embedder, LocalSettings(confidence_floor=0.5))


def test_agreeing_sources_give_a_deduplicated_answer_in_source_order(synthesizer: LocalSynthesizer) -> None:
    request = SynthesisRequest("how can I request a refund?", [REFUND, REFUND_AGAIN], (), "gpt-4o")
    result = synthesizer.synthesize(request)
    assert result is not None and result.usable
    text = result.text
    assert text.count("within 5 working days") == 1 and "public holidays" not in text
    assert text.index("Go to Orders") < text.index("Tap 'Request refund'") < text.index("5 working days")
    assert result.source_ids[0] == 1 and result.synthesizer == "local" and result.model is None
    assert result.requested_model == "gpt-4o" and result.cost_usd == 0.0
    assert 0.5 <= result.confidence <= 1.0


def test_sources_that_disagree_fall_through(embedder: Embedder) -> None:
    strict = LocalSynthesizer(embedder, LocalSettings(confidence_floor=0.6))
    assert strict.synthesize(SynthesisRequest("how can I request a refund?", [REFUND, PASSWORD])) is None


def test_confidence_is_closeness_times_agreement(synthesizer: LocalSynthesizer, embedder: Embedder) -> None:
    vectors = embedder.embed_batch(["refunds take five days", "refunds take five days", "reset a password"])
    assert synthesizer.confidence([0.9, 0.8], vectors[:2]) == pytest.approx(0.9, abs=1e-4)
    assert synthesizer.confidence([0.9, 0.8], vectors[[0, 2]]) < 0.5


def test_length_caps_hold(embedder: Embedder) -> None:
    capped = LocalSynthesizer(embedder, LocalSettings(confidence_floor=0.0, max_units=2))
    result = capped.synthesize(SynthesisRequest("how do refunds work?", [REFUND, REFUND_AGAIN]))
    assert result is not None
    assert len(result.text.split(". ")) <= 2
