"""Conversation-aware keys are on by default (issue 16): follow-ups hit where their context
agrees, never across a different detail; a first message is standalone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cacheback import SemanticCache
from cacheback.embed import Embedder
from cacheback.openai import CachedOpenAI, CachePolicy
from cacheback.testing import FakeUpstream

OFFER = "Your Flixora plan renews tomorrow at £12.99. Would you like me to cancel it?"


@pytest.fixture()
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as server:
        yield server


@pytest.fixture()
def cache(embedder: Embedder) -> Iterator[SemanticCache]:
    with SemanticCache(":memory:", embedder=embedder) as c:
        yield c


def _client(upstream: FakeUpstream, cache: SemanticCache, policy: CachePolicy | None = None) -> CachedOpenAI:
    return CachedOpenAI(api_key="sk-test", base_url=upstream.openai_base_url, cache=cache,
                        policy=policy, max_retries=0)


def _ask(client: CachedOpenAI, question: str, *history: tuple[str, str]) -> Any:
    messages: list[dict[str, str]] = []
    for user, assistant in history:
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    messages.append({"role": "user", "content": question})
    return client.chat.completions.create(model="gpt-4o-mini", messages=messages)


def test_the_default_policy_is_conversation_aware() -> None:
    assert CachePolicy().conversation_aware is True


def test_a_follow_up_hits_in_a_compatible_chat_and_misses_after_another_detail(
    upstream: FakeUpstream, cache: SemanticCache
) -> None:
    client = _client(upstream, cache)
    assert _ask(client, "yes please", ("My Flixora renews tomorrow", OFFER)).cacheback.tier == "miss"
    chatty = ("Morning! My Flixora renews tomorrow", "Good morning! " + OFFER)
    assert _ask(client, "yes please", chatty).cacheback.tier == "exact"
    renew = ("My Flixora renews tomorrow", OFFER.replace("cancel", "renew"))
    assert _ask(client, "yes please", renew).cacheback.tier == "miss"
    assert upstream.request_count() == 2


def test_without_the_policy_any_other_history_is_another_cache(
    upstream: FakeUpstream, cache: SemanticCache
) -> None:
    client = _client(upstream, cache, CachePolicy(conversation_aware=False))
    assert _ask(client, "yes please", ("My Flixora renews tomorrow", OFFER)).cacheback.tier == "miss"
    chatty = ("Morning! My Flixora renews tomorrow", "Good morning! " + OFFER)
    assert _ask(client, "yes please", chatty).cacheback.tier == "miss"


def test_a_first_message_is_standalone_and_shared_by_the_same_question_later_in_a_chat(
    upstream: FakeUpstream, cache: SemanticCache
) -> None:
    client = _client(upstream, cache)
    question = "Does Flixora offer a free trial?"
    assert _ask(client, question).cacheback.tier == "miss"
    later = _ask(client, question, ("my screen is cracked", "Book a repair in the app."))
    assert later.cacheback.tier == "exact"
    assert _ask(client, "yes please").cacheback.tier == "miss"
    assert _ask(client, "yes please", ("My Flixora renews tomorrow", OFFER)).cacheback.tier == "miss"
