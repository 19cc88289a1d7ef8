"""The LLM synthesizer end to end against the fake upstream over real HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest

from cacheback import Candidate
from cacheback.ceag import NO_ANSWER, LLMSynthesizer, PromptLimits, SynthesisTier
from cacheback.pricing import PRICES, estimate_cost
from cacheback.providers import AnthropicMessages, AsyncOpenAIChat, OpenAIChat
from cacheback.testing import FakeUpstream, Reply, UpstreamRequest

ANSWER = "Refunds reach your card within 5 working days of the request."


def payload(prompt_tokens: int, completion_tokens: int) -> str:
    return json.dumps({"usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}})


SOURCES = [
    Candidate(entry_id=11, query="how long do refunds take?", response="Refunds take 5 working days.",
              similarity=0.88, payload=payload(1200, 300)),
    Candidate(entry_id=12, query="when will I get my money back?",
              response="Expect the money within five working days.", similarity=0.85,
              payload=payload(1000, 100)),
]
CONTEXT = [("user", "I returned the blue kettle"), ("assistant", "Thanks, the return is logged.")]


def responder(request: UpstreamRequest) -> Reply:
    text = request.last_user_text
    if "sofa" in text:
        return Reply(NO_ANSWER)
    if "essay" in text:
        return Reply("word " * 500)
    return Reply(ANSWER)


@pytest.fixture()
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(responder) as fake:
        yield fake


def openai_tier(upstream: FakeUpstream, **limits: int) -> SynthesisTier:
    client = OpenAIChat(api_key="sk-test", base_url=upstream.openai_base_url, max_retries=0)
    return SynthesisTier(LLMSynthesizer("gpt-4o-mini", client, limits=PromptLimits(**limits)))


def test_openai_synthesis_prompt_cap_and_costs(upstream: FakeUpstream) -> None:
    tier = openai_tier(upstream, max_tokens=200)
    result = tier.try_synthesize("how long until my refund arrives?", SOURCES, context=CONTEXT,
                                 requested_model="gpt-4o", body={"temperature": 0.7})
    assert result is not None and result.text == ANSWER
    assert result.model == "gpt-4o-mini" and result.requested_model == "gpt-4o"
    assert result.source_ids == (11, 12) and result.synthesizer == "llm"

    (sent,) = upstream.requests
    body = sent.body
    assert body["model"] == "gpt-4o-mini" and body["max_completion_tokens"] == 64
    system, user = body["messages"][0]["content"], body["messages"][1]["content"]
    assert NO_ANSWER in system
    for text in ("Refunds take 5 working days.", "when will I get my money back?",
                 "user: I returned the blue kettle", "Question: how long until my refund arrives?"):
        assert text in user

    usage = {"prompt_tokens": result.input_tokens, "completion_tokens": result.output_tokens}
    assert result.input_tokens > 0 and result.output_tokens == len(ANSWER.split())
    assert result.cost_usd == pytest.approx(estimate_cost("gpt-4o-mini", usage))
    books = tier.stats()["tiers"]["synthesized"]
    assert books["replaced_input_tokens"] == 1100 and books["replaced_output_tokens"] == 200
    assert books["replaced_usd"] == pytest.approx(PRICES["gpt-4o"].cost(1100, 200))
    assert books["spent_usd"] == pytest.approx(result.cost_usd)
    assert books["saved_usd"] == pytest.approx(books["replaced_usd"] - result.cost_usd)
    assert books["replaced_usd"] > 10 * books["spent_usd"]


def test_no_answer_and_truncation_are_declined_but_paid_for(upstream: FakeUpstream) -> None:
    tier = openai_tier(upstream, max_tokens=50)
    assert tier.try_synthesize("can I return a sofa?", SOURCES, requested_model="gpt-4o") is None
    assert tier.try_synthesize("write an essay on refunds", SOURCES, requested_model="gpt-4o") is None
    assert upstream.requests[1].body["max_completion_tokens"] == 50
    stats = tier.stats()
    assert stats["counters"]["declined"] == 2
    assert stats["tiers"]["synthesis_declined"]["spent_usd"] > 0
    assert "synthesized" not in stats["tiers"]


def test_anthropic_dialect(upstream: FakeUpstream) -> None:
    client = AnthropicMessages(api_key="sk-ant-test", base_url=upstream.anthropic_base_url, max_retries=0)
    tier = SynthesisTier(LLMSynthesizer("claude-3-5-haiku-latest", client))
    result = tier.try_synthesize("how long until my refund arrives?", SOURCES,
                                 requested_model="claude-sonnet-4-5")
    assert result is not None and result.text == ANSWER and result.model == "claude-3-5-haiku-latest"
    body = upstream.requests[0].body
    assert NO_ANSWER in body["system"] and body["max_tokens"] == 64
    assert body["messages"][0]["role"] == "user" and "Reference answers:" in body["messages"][0]["content"]
    assert result.cost_usd == pytest.approx(PRICES["claude-3-5-haiku"].cost(result.input_tokens,
                                                                            result.output_tokens))


def test_async_client(upstream: FakeUpstream) -> None:
    async def run() -> object:
        client = AsyncOpenAIChat(api_key="sk-test", base_url=upstream.openai_base_url, max_retries=0)
        tier = SynthesisTier(LLMSynthesizer("gpt-4o-mini", async_client=client))
        try:
            return await tier.atry_synthesize("how long until my refund arrives?", SOURCES)
        finally:
            await client.close()

    result = asyncio.run(run())
    assert result is not None and upstream.request_count("openai") == 1


def test_upstream_failure_falls_through(upstream: FakeUpstream) -> None:
    client = OpenAIChat(api_key="sk-test", base_url=upstream.url + "/nowhere", max_retries=0)
    tier = SynthesisTier(LLMSynthesizer("gpt-4o-mini", client))
    assert tier.try_synthesize("how long until my refund arrives?", SOURCES) is None
    assert tier.stats()["counters"]["errors"] == 1
