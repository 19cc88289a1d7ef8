"""The synthesis tier and conversation-aware keys inside the drop-in clients, over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from cacheback import SemanticCache
from cacheback.anthropic import CachedAnthropic
from cacheback.ceag import LLMSynthesizer, LocalSynthesizer, SynthesisTier
from cacheback.embed import Embedder
from cacheback.openai import AsyncCachedOpenAI, CachedOpenAI, CachePolicy
from cacheback.providers import OpenAIChat
from cacheback.testing import FakeUpstream, Reply, UpstreamRequest

REFUND = "Refunds reach your card within 5 working days. You will get an email when it is sent."
SEEDS = ("How long does a refund take?", "How many days until my refund arrives?")
NEAR = "how soon is my money refunded"


def answer(request: UpstreamRequest) -> Reply:
    if "Reference answers:" in request.last_user_text:
        return Reply("Your refund arrives within 5 working days.")
    if "refund" in request.last_user_text.lower():
        return Reply(REFUND)
    return Reply(f"Answer to: {request.last_user_text}")


@pytest.fixture()
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(answer) as fake:
        yield fake


@pytest.fixture()
def cache(embedder: Embedder) -> Iterator[SemanticCache]:
    with SemanticCache(":memory:", embedder=embedder) as semantic_cache:
        yield semantic_cache


def openai_client(upstream: FakeUpstream, cache: SemanticCache, policy: CachePolicy) -> CachedOpenAI:
    return CachedOpenAI(api_key="sk-test", base_url=upstream.openai_base_url, cache=cache, policy=policy,
                        max_retries=0)


def ask(client: Any, question: str, history: tuple[str, ...] = (), **extra: Any) -> Any:
    turns = [*history, question]
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(turns)]
    return client.chat.completions.create(model="gpt-4o", messages=messages, **extra)


def test_local_synthesis_serves_a_close_question_without_an_upstream_call(
    upstream: FakeUpstream, cache: SemanticCache, embedder: Embedder
) -> None:
    tier = SynthesisTier(LocalSynthesizer(embedder))
    client = openai_client(upstream, cache, CachePolicy(synthesis=tier))
    for seed in SEEDS:
        assert ask(client, seed).cacheback.tier == "miss"
    calls = upstream.request_count()

    resp = ask(client, NEAR)
    record = resp.cacheback
    assert record.tier == "synthesized" and not resp.cacheback_hit
    assert resp.choices[0].message.content == REFUND
    assert resp.model == "cacheback-local-synthesis" and record.requested_model == "gpt-4o"
    assert record.synthesizer == "local" and len(record.source_ids) >= 1
    assert record.cost_saved_usd > 0
    assert upstream.request_count() == calls

    streamed = "".join(e.choices[0].delta.content or "" for e in ask(client, NEAR, stream=True) if e.choices)
    assert streamed == REFUND
    books = client.stats()["synthesis"]
    assert books["counters"]["served"] == 2 and books["tiers"]["synthesized"]["saved_usd"] > 0


def test_requests_with_tools_go_upstream(
    upstream: FakeUpstream, cache: SemanticCache, embedder: Embedder
) -> None:
    client = openai_client(upstream, cache, CachePolicy(synthesis=SynthesisTier(LocalSynthesizer(embedder))))
    for seed in SEEDS:
        ask(client, seed)
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    assert ask(client, NEAR, tools=tools).cacheback.tier == "miss"
    assert client.stats()["synthesis"]["counters"]["skipped.tools"] == 1


def test_llm_synthesis_through_the_client(upstream: FakeUpstream, cache: SemanticCache) -> None:
    cheap = OpenAIChat(api_key="sk-test", base_url=upstream.openai_base_url, max_retries=0)
    tier = SynthesisTier(LLMSynthesizer("gpt-4o-mini", cheap))
    client = openai_client(upstream, cache, CachePolicy(synthesis=tier))
    for seed in SEEDS:
        ask(client, seed)
    resp = ask(client, NEAR)
    assert resp.cacheback.tier == "synthesized" and resp.cacheback.synthesizer == "llm"
    assert resp.model == "gpt-4o-mini" and resp.cacheback.requested_model == "gpt-4o"
    assert resp.choices[0].message.content == "Your refund arrives within 5 working days."
    sent = upstream.requests[-1].body
    assert sent["model"] == "gpt-4o-mini" and "max_completion_tokens" in sent
    assert REFUND in sent["messages"][1]["content"]


def test_synthesis_is_off_by_default(upstream: FakeUpstream, cache: SemanticCache) -> None:
    client = openai_client(upstream, cache, CachePolicy())
    for seed in SEEDS:
        ask(client, seed)
    assert ask(client, NEAR).cacheback.tier == "miss"
    assert "synthesis" not in client.stats()


def test_async_client_synthesizes(upstream: FakeUpstream, cache: SemanticCache, embedder: Embedder) -> None:
    async def run() -> Any:
        client = AsyncCachedOpenAI(api_key="sk-test", base_url=upstream.openai_base_url, cache=cache,
                                   policy=CachePolicy(synthesis=SynthesisTier(LocalSynthesizer(embedder))))
        try:
            for seed in SEEDS:
                await ask(client, seed)
            return await ask(client, NEAR)
        finally:
            await client.close()

    assert asyncio.run(run()).cacheback.tier == "synthesized"


OFFER = "Your Flixora plan renews tomorrow at £12.99. Would you like me to cancel it?"


def test_conversation_aware_keys(upstream: FakeUpstream, cache: SemanticCache) -> None:
    client = openai_client(upstream, cache, CachePolicy(conversation_aware=True))
    standalone = "Does Flixora offer a free trial?"
    first = ask(client, standalone, ("my screen is cracked", "Book a repair in the app."))
    assert first.cacheback.tier == "miss"
    assert ask(client, standalone, ("how do I check my data?", "Open the app.")).cacheback.tier == "exact"

    assert ask(client, "yes please", ("My Flixora renews tomorrow", OFFER)).cacheback.tier == "miss"
    chatty = ("Morning! My Flixora renews tomorrow", "Good morning! " + OFFER)
    assert ask(client, "yes please", chatty).cacheback.tier == "exact"
    renew = ("My Flixora renews tomorrow", OFFER.replace("cancel", "renew"))
    assert ask(client, "yes please", renew).cacheback.tier == "miss"


def test_conversation_aware_anthropic_keeps_the_system_prompt_in_scope(
    upstream: FakeUpstream, cache: SemanticCache
) -> None:
    client = CachedAnthropic(api_key="sk-ant-test", base_url=upstream.anthropic_base_url, cache=cache,
                             policy=CachePolicy(conversation_aware=True), max_retries=0)

    def ask_with(system: str) -> str:
        question = [{"role": "user", "content": "Does Flixora offer a free trial?"}]
        return client.messages.create(model="claude-3-5-haiku-latest", max_tokens=100, system=system,
                                      messages=question).cacheback.tier

    assert ask_with("Be brief.") == "miss"
    assert ask_with("Be brief.") == "exact"
    assert ask_with("Answer in French.") == "miss"
