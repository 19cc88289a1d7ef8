"""The synthesis tier: policy, band, veto, accounting, fail-open."""

from __future__ import annotations

from typing import Any

import pytest

from cacheback import Candidate
from cacheback.ceag import SynthesisPolicy, SynthesisRequest, SynthesisResult, SynthesisTier, Synthesizer
from cacheback.pricing import Price


class Echo(Synthesizer):
    """Joins its sources' answers; records what it was asked."""

    name = "echo"

    def __init__(self, fail: bool = False) -> None:
        self.requests: list[SynthesisRequest] = []
        self.fail = fail

    def synthesize(self, request: SynthesisRequest) -> SynthesisResult | None:
        if self.fail:
            raise RuntimeError("boom")
        self.requests.append(request)
        return SynthesisResult(" ".join(c.response for c in request.sources),
                               tuple(c.entry_id for c in request.sources), 0.9, self.name,
                               request.requested_model, cost_usd=0.001)


def near(entry_id: int, similarity: float, response: str = "an answer of twenty chars") -> Candidate:
    return Candidate(entry_id=entry_id, query=f"q{entry_id}", response=response, similarity=similarity)


@pytest.mark.parametrize(("body", "reason"), [
    ({"tools": [{"type": "function"}]}, "tools"),
    ({"tool_choice": "required"}, "tools"),
    ({"response_format": {"type": "json_schema"}}, "structured_output"),
    ({"temperature": 0}, "temperature_0"),
    ({"n": 3}, "several_choices_or_logprobs"),
])
def test_requests_the_policy_refuses(body: dict[str, Any], reason: str) -> None:
    synthesizer = Echo()
    tier = SynthesisTier(synthesizer)
    assert tier.try_synthesize("q", [near(1, 0.9), near(2, 0.9)], body=body) is None
    assert synthesizer.requests == []
    assert tier.stats()["counters"][f"skipped.{reason}"] == 1


def test_allow_flags_lift_the_refusals() -> None:
    policy = SynthesisPolicy(allow_tools=True, allow_structured=True, allow_deterministic=True)
    body = {"tools": [{"type": "function"}], "response_format": {"type": "json_object"}, "temperature": 0,
            "tool_choice": {"type": "none"}}
    assert policy.refusal(body) is None
    assert SynthesisPolicy().refusal({"tool_choice": "none", "temperature": 0.3}) is None


def test_band_min_sources_max_sources_and_veto() -> None:
    synthesizer = Echo()
    tier = SynthesisTier(synthesizer, SynthesisPolicy(band_floor=0.8, min_sources=2, max_sources=2))
    assert tier.try_synthesize("q", [near(1, 0.95), near(2, 0.7)]) is None
    result = tier.try_synthesize("q", [near(3, 0.81), near(1, 0.95), near(2, 0.9)], requested_model="m")
    assert result is not None and result.source_ids == (1, 2)
    vetoed = tier.try_synthesize("q", [near(1, 0.95), near(2, 0.9), near(3, 0.85)],
                                 accept=lambda c: c.entry_id != 2)
    assert vetoed is not None and vetoed.source_ids == (1, 3)
    assert tier.stats()["counters"]["skipped.too_few_sources"] == 1


def test_accounting_without_recorded_usage_estimates_from_text() -> None:
    prices = {"big-model": Price(10.0, 30.0)}
    tier = SynthesisTier(Echo(), prices=prices)
    context = [("user", "x" * 400)]
    tier.try_synthesize("y" * 40, [near(1, 0.9, "a" * 80), near(2, 0.9, "b" * 160)], context=context,
                        requested_model="big-model")
    books = tier.stats()["tiers"]["synthesized"]
    assert books["replaced_input_tokens"] == 110 and books["replaced_output_tokens"] == 30
    assert books["replaced_usd"] == pytest.approx(prices["big-model"].cost(110, 30))
    assert books["spent_usd"] == pytest.approx(0.001)


def test_unknown_requested_model_prices_at_zero() -> None:
    tier = SynthesisTier(Echo())
    assert tier.try_synthesize("q", [near(1, 0.9), near(2, 0.9)], requested_model="my-own-model")
    assert tier.stats()["tiers"]["synthesized"]["replaced_usd"] == 0.0


def test_a_failing_synthesizer_is_a_miss() -> None:
    tier = SynthesisTier(Echo(fail=True))
    assert tier.try_synthesize("q", [near(1, 0.9), near(2, 0.9)]) is None
    assert tier.stats()["counters"]["errors"] == 1
